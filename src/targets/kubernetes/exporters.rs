//! `manifests/exporters/`: the programs compose runs beside the services, as Deployments with a
//! Service each, in the stack's namespace: every service's exporter (`kinds::Exporter`, run as
//! compose runs it: the same image, entrypoint, arguments and environment, its secrets read
//! from the same paths) and the blackbox exporter the probes go through. The chart runs none of
//! them; `scrape` points Prometheus at them.
//!
//! What compose does around an exporter that the cluster does otherwise: a one-shot job it waits
//! for (`<service>-query-stats`) is an init container of its pod, on the service's image with
//! the job's command, variables and secret files, its files from a ConfigMap
//! `<stack>-<job>` (compose's, file for file); the secrets are keys of the stack's
//! Secret, each mounted as a file where compose mounts it; an image compose builds with a shell
//! to read the password's file (`targets::exporter_image`) is the exporter's own here, the
//! program run as it starts it with the password in its own variable from the Secret; the hardening is the pod's security
//! context (nobody, no capability, no privilege escalation, a read-only root with an empty
//! `/tmp`).

use super::{
    MANIFESTS_DIR, file, hardened, labels, limits, literal, mount_secret_file, object, object_name, resources,
    secret_key, secrets_name, secrets_volume,
};
use crate::ir::defaults::{self, Probe};
use crate::ir::{Component, Service, Stack};
use crate::kinds::{Job, Run, Var};
use crate::targets::Artifact;
use crate::targets::paths::BLACKBOX_ADDR;
use serde_json::{Map, Value, json};

pub const EXPORTERS_DIR: &str = "exporters";

/// The port's name on the pods and the Services, which the ServiceMonitors scrape.
pub const METRICS_PORT: &str = "metrics";

/// The user compose runs the exporters as: nobody.
const NOBODY: u64 = 65534;

/// A service's exporter, as the cluster runs it: its component and what it needs from the
/// service. None for a service without one, and for one whose exporter compose builds an image
/// for that the cluster cannot run as compose does and cannot run directly either (none yet:
/// the one built image, mongodb_exporter's with a login, runs directly; SL903 would say so).
pub fn exporter<'a>(stack: &'a Stack, s: &'a Service) -> Option<(&'a Component, &'static crate::kinds::Exporter)> {
    let e = crate::kinds::def(s.kind).exporter.as_ref()?;
    let c = stack.exporter_of(&s.name)?;
    (crate::targets::exporter_image::built(s).is_none() || (e.run)(s).password_var.is_some()).then_some((c, e))
}

/// The labels a component's pods and Service carry, and its ServiceMonitor selects it by.
pub fn selector(stack: &Stack, c: &Component) -> Map<String, Value> {
    let mut l = Map::new();
    l.insert(defaults::KUBERNETES_NAME_LABEL.into(), json!(c.name));
    l.insert("app.kubernetes.io/part-of".into(), json!(stack.name.as_str()));
    l
}

/// The address of the blackbox exporter's Service, which the Probes name as their prober.
pub fn blackbox_address(stack: &Stack) -> String {
    format!(
        "{}.{}.svc:{}",
        object_name(stack, defaults::BLACKBOX_EXPORTER.name),
        stack.kubernetes.namespace,
        BLACKBOX_ADDR.1
    )
}

pub fn lower(stack: &Stack) -> Vec<Artifact> {
    let mut out = Vec::new();
    for s in &stack.services {
        let Some((c, e)) = exporter(stack, s) else { continue };
        let mut r = (e.run)(s);
        if crate::targets::exporter_image::built(s).is_some() {
            // Its image is the program alone, which compose wraps in an image with a shell to
            // read the password's file: here the program runs as its image starts it, the
            // password in its own variable from the stack's Secret (`valueFrom`), which
            // Kubernetes keeps out of the pod's spec.
            r.entrypoint.clear();
        }
        // The one-shot jobs compose runs before it: its pod's init containers, on the
        // service's image, each job's files in a ConfigMap of its own.
        let jobs = before(s, &r);
        let image = s.image.as_ref().map(|i| i.as_str()).unwrap_or_default();
        let mut made = run(stack, c, e.port, e.health_path, &r, &jobs, image);
        made.extend(jobs.iter().filter(|j| !j.files.is_empty()).map(|j| job_files(stack, j)));
        out.extend(made.into_iter().map(|a| a.from_part(crate::targets::service_part(&s.name, &[]))));
    }
    if let Some(c) = stack.component(defaults::BLACKBOX_EXPORTER.name) {
        // Its image's own configuration, whose `http_2xx` module the probes use, as on compose.
        out.extend(run(stack, c, BLACKBOX_ADDR.1, "/-/healthy", &Run::default(), &[], ""));
    }
    out
}

/// The names of the init containers of a service's exporter: the jobs it waits for.
pub fn init_containers(stack: &Stack, s: &Service) -> Vec<String> {
    exporter(stack, s).map(|(_, e)| before(s, &(e.run)(s)).into_iter().map(|j| j.name).collect()).unwrap_or_default()
}

/// The one-shot jobs of a service that its exporter's `r` waits for.
fn before<'a>(s: &'a Service, r: &Run) -> Vec<Job<'a>> {
    (crate::kinds::def(s.kind).jobs)(s).into_iter().filter(|j| r.after.contains(&j.name)).collect()
}

/// The services whose images the tree names: those whose exporters wait for a one-shot job,
/// which runs on the service's image.
pub fn job_images(stack: &Stack) -> Vec<crate::manifest::values::Name> {
    stack.services.iter().filter(|s| !init_containers(stack, s).is_empty()).map(|s| s.name.clone()).collect()
}

/// The ConfigMap of a job's files, each under its file name.
fn job_files(stack: &Stack, j: &Job) -> Artifact {
    let data: Map<String, Value> =
        j.files.iter().map(|(path, _, text)| (file_name(path).to_string(), json!(text))).collect();
    let o = object(
        stack,
        "v1",
        "ConfigMap",
        &object_name(stack, &j.name),
        labels(stack),
        Map::from_iter([("data".to_string(), Value::Object(data))]),
    );
    file(format!("{MANIFESTS_DIR}/{EXPORTERS_DIR}/{}.yaml", j.name), &o)
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// A container running `r` on `image`: its entrypoint, arguments and variables, each secret file
/// mounted where compose mounts it (a `subPath` of the stack's Secret, its key added to `items`,
/// the Secret volume's), and an empty `/tmp`.
fn container(stack: &Stack, name: &str, image: &str, r: &Run, items: &mut Vec<Value>) -> Map<String, Value> {
    let mut container = Map::new();
    container.insert("name".into(), json!(name));
    container.insert("image".into(), json!(image));
    if !r.entrypoint.is_empty() {
        container.insert("command".into(), json!(r.entrypoint.iter().map(|a| literal(a)).collect::<Vec<_>>()));
    }
    if !r.command.is_empty() {
        container.insert("args".into(), json!(r.command.iter().map(|a| literal(a)).collect::<Vec<_>>()));
    }
    let mut mounts = vec![json!({ "name": "tmp", "mountPath": "/tmp" })];
    let mut env = Vec::new();
    // Each secret file where compose mounts it, alone (a `subPath` of the stack's Secret, whose
    // keys are its items): nothing else of the image's directory is hidden.
    for (var, value) in &r.env {
        let value = match value {
            Var::Value(v) => v.clone(),
            // The program itself reads the variable (no wrapper reads the file into it).
            Var::SecretFile(reference) if r.entrypoint.is_empty() && r.password_var.is_some() => {
                let var = r.password_var.as_deref().unwrap_or_default();
                let key = json!({ "name": secrets_name(stack), "key": secret_key(reference) });
                env.push(json!({ "name": var, "valueFrom": { "secretKeyRef": key } }));
                continue;
            }
            Var::SecretFile(reference) => mount_secret_file(reference, &mut mounts, items),
        };
        env.push(json!({ "name": var, "value": literal(&value) }));
    }
    if !env.is_empty() {
        container.insert("env".into(), json!(env));
    }
    container.insert("volumeMounts".into(), json!(mounts));
    container
}

/// A component's Deployment and Service: one replica of `c` running `r`, serving `port`,
/// ready and alive while `health` answers; before it, each of `jobs` on `image`.
fn run(stack: &Stack, c: &Component, port: u16, health: &str, r: &Run, jobs: &[Job], image: &str) -> Vec<Artifact> {
    let name = object_name(stack, &c.name);
    let select = selector(stack, c);
    let mut pod_labels = labels(stack);
    pod_labels.extend(select.clone());
    let mut items: Vec<Value> = Vec::new();
    let mut container = container(stack, &c.name, c.image.as_str(), r, &mut items);
    let mut volumes = vec![json!({ "name": "tmp", "emptyDir": { "medium": "Memory", "sizeLimit": "16Mi" } })];
    let mut inits = Vec::new();
    for (i, j) in jobs.iter().enumerate() {
        let mut init = self::container(stack, &j.name, image, &j.run, &mut items);
        let volume = format!("job-files-{i}");
        if !j.files.is_empty() {
            let mounts = init["volumeMounts"].as_array_mut().expect("a container's mounts");
            for (path, mount, _) in &j.files {
                mounts
                    .push(json!({ "name": volume, "mountPath": mount, "subPath": file_name(path), "readOnly": true }));
            }
            volumes.push(json!({ "name": volume, "configMap": { "name": object_name(stack, &j.name) } }));
        }
        let cpus: f64 = j.cpus.parse().expect("a job's CPUs are a number");
        init.insert("resources".into(), limits(j.memory, cpus));
        init.insert("securityContext".into(), hardened());
        inits.push(Value::Object(init));
    }
    if !items.is_empty() {
        volumes.push(secrets_volume(stack, items));
    }
    container.insert("ports".into(), json!([{ "name": METRICS_PORT, "containerPort": port, "protocol": "TCP" }]));
    // As compose checks it: a GET of its health path; or a connection to its port where a
    // request of any path makes it ask its service (compose's check only connects), or where
    // its health path is its metrics (a FROM-scratch image compose does not check: nginx's).
    let connect_only =
        matches!(c.probe, Probe::Own(argv) if !argv.iter().any(|a| a.contains("{url}"))) || health == "/metrics";
    let mut check = json!({ "periodSeconds": 10, "timeoutSeconds": 5 });
    if connect_only {
        check["tcpSocket"] = json!({ "port": METRICS_PORT });
    } else {
        check["httpGet"] = json!({ "path": health, "port": METRICS_PORT });
    }
    container.insert("readinessProbe".into(), check.clone());
    container.insert("livenessProbe".into(), {
        let mut live = check;
        live["failureThreshold"] = json!(6);
        live
    });
    container.insert("resources".into(), resources(c));
    container.insert("securityContext".into(), hardened());
    // Its mounts last, where they have always been written.
    let mounts = container.shift_remove("volumeMounts").expect("a container's mounts");
    container.insert("volumeMounts".into(), mounts);
    let mut pod = json!({
        "metadata": { "labels": Value::Object(pod_labels) },
        "spec": {
            // It talks to its service and to nothing of the cluster's API.
            "automountServiceAccountToken": false,
            "securityContext": {
                "runAsNonRoot": true,
                "runAsUser": NOBODY,
                "runAsGroup": NOBODY,
                "fsGroup": NOBODY,
                "seccompProfile": { "type": "RuntimeDefault" },
            },
            "containers": [Value::Object(container)],
            "volumes": volumes,
        },
    });
    if !inits.is_empty() {
        pod["spec"]["initContainers"] = json!(inits);
    }
    let deployment = object(
        stack,
        "apps/v1",
        "Deployment",
        &name,
        labels(stack),
        Map::from_iter([(
            "spec".to_string(),
            json!({ "replicas": 1, "selector": { "matchLabels": Value::Object(select.clone()) }, "template": pod }),
        )]),
    );
    let mut service_labels = labels(stack);
    service_labels.extend(select.clone());
    let service = object(
        stack,
        "v1",
        "Service",
        &name,
        service_labels,
        Map::from_iter([(
            "spec".to_string(),
            json!({
                "selector": Value::Object(select),
                "ports": [{ "name": METRICS_PORT, "port": port, "targetPort": METRICS_PORT, "protocol": "TCP" }],
            }),
        )]),
    );
    let dir = format!("{MANIFESTS_DIR}/{EXPORTERS_DIR}");
    vec![
        file(format!("{dir}/{}-deployment.yaml", c.name), &deployment),
        file(format!("{dir}/{}-service.yaml", c.name), &service),
    ]
}

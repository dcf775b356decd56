//! The Kubernetes platform (`sightline build --platform kubernetes`): the same rules, routing
//! and dashboards as on compose, as objects for the Prometheus Operator and kube-prometheus-stack
//! (docs/kubernetes.md). Every object is in `manifests/` (for `kubectl apply -R -f` or a GitOps
//! tool); the values overlay for the chart is in `helm/`.
//!
//! - `rules`: a `PrometheusRule` per rule file, labelled for the chart's `ruleSelector`;
//! - `scrape`: a `ServiceMonitor` or `ScrapeConfig` per service and a `Probe` per probe, each
//!   target labelled as on compose;
//! - `exporters`: the exporters and the blackbox exporter, each a Deployment and a Service;
//! - `alertmanager`: the configuration and its templates as the Secret the operator reads
//!   (`alertmanagerSpec.configSecret`);
//! - `grafana`: each dashboard as a ConfigMap the chart's Grafana sidecar loads, and the
//!   datasources likewise;
//! - `remote_write`: the users of the remote-write receivers' logins, as a Secret;
//! - `alloy`: log collection, Alloy's configuration as a ConfigMap and the overlay for the
//!   `alloy` chart's DaemonSet;
//! - `loki`: the overlay for the `loki` chart, and the log alerts as ConfigMaps its ruler loads;
//! - `pushgateway`: the overlay for the `prometheus-pushgateway` chart the batch jobs push to;
//! - `backups`: the backup jobs and restore tests as CronJobs pushing to it;
//! - `values`: the kube-prometheus-stack overlay that ties them together.
//!
//! A secret is never written here: each is a key of the stack's one Kubernetes Secret
//! (`secrets_name`), which the operator mounts into Alertmanager, the exporters mount as files
//! (or read in a variable, `exporters`), the operator reads the remote-write passwords from,
//! and Loki its bucket's access key.

pub mod alertmanager;
pub mod alloy;
pub mod backups;
pub mod exporters;
pub mod grafana;
pub mod loki;
pub mod pushgateway;
pub mod remote_write;
pub mod rules;
pub mod scrape;
pub mod values;

use super::{Artifact, Input};
use crate::ir::{Component, Stack};
use crate::manifest::values::SecretRef;
use serde_json::{Map, Value, json};

/// Where the objects are, in the output directory.
pub const MANIFESTS_DIR: &str = "manifests";
/// Where the Helm values overlays are.
pub const HELM_DIR: &str = "helm";

/// The parts of the Kubernetes tree, in the order their files are listed.
const PARTS: &[fn(&Input) -> Vec<Artifact>] = &[
    |i| rules::lower(i.stack, i.boards()),
    |i| scrape::lower(i.stack),
    |i| exporters::lower(i.stack),
    |i| alertmanager::lower(i.stack),
    |i| remote_write::lower(i.stack),
    |i| grafana::lower(i.stack, i.boards()),
    |i| alloy::lower(i.stack),
    |i| loki::lower(i.stack, i.boards()),
    |i| pushgateway::lower(i.stack),
    |i| backups::lower(i.stack),
    |i| values::lower(i.stack),
];

/// Every file of the Kubernetes platform, its parts lowered on the machine's cores at once.
pub fn lower(stack: &Stack) -> Vec<Artifact> {
    let input = Input::new(stack);
    crate::parallel::map(PARTS, |part| part(&input)).into_iter().flatten().collect()
}

/// The components whose images the Kubernetes tree names: the chart's three (the overlay pins
/// them), Loki, Alloy and the Pushgateway (their charts' overlays pin them), and those it runs
/// itself (`exporters`; the backup runner's, which the CronJobs run, or with
/// `kubernetes.backup_image` the base of `backup/Dockerfile`, which that image is built from).
pub fn images(stack: &Stack) -> Vec<String> {
    let mut names: Vec<String> = values::CHART_COMPONENTS.iter().map(|n| n.to_string()).collect();
    names.extend([crate::ir::defaults::LOKI.name.to_string(), crate::ir::defaults::ALLOY.name.to_string()]);
    names.extend(stack.services.iter().filter_map(|s| exporters::exporter(stack, s)).map(|(c, _)| c.name.clone()));
    for d in [&crate::ir::defaults::BLACKBOX_EXPORTER, &crate::ir::defaults::PUSHGATEWAY, &crate::ir::defaults::BACKUP]
    {
        names.extend(stack.component(d.name).map(|c| c.name.clone()));
    }
    names
}

/// The name of one of the stack's objects: `<stack>-<what>`. `check::platform` holds the
/// stack's name to what a Kubernetes object name may be (SL901), and `what` is made of names
/// that already are.
pub fn object_name(stack: &Stack, what: &str) -> String {
    format!("{}-{what}", stack.name)
}

/// The labels every object carries: what manages it and the stack it belongs to.
pub fn labels(stack: &Stack) -> Map<String, Value> {
    let mut l = Map::new();
    l.insert("app.kubernetes.io/managed-by".into(), json!("sightline"));
    l.insert("app.kubernetes.io/part-of".into(), json!(stack.name.as_str()));
    l
}

/// An object of `api_version` and `kind`, named `name` in the stack's namespace, with `labels`
/// and the rest of its fields (`spec`, `data`, ...).
pub fn object(
    stack: &Stack,
    api_version: &str,
    kind: &str,
    name: &str,
    labels: Map<String, Value>,
    rest: Map<String, Value>,
) -> Value {
    let mut o = Map::new();
    o.insert("apiVersion".into(), json!(api_version));
    o.insert("kind".into(), json!(kind));
    o.insert(
        "metadata".into(),
        json!({ "name": name, "namespace": stack.kubernetes.namespace, "labels": Value::Object(labels) }),
    );
    o.extend(rest);
    Value::Object(o)
}

/// A container's limits as on compose (what the budget check sized), as Kubernetes
/// quantities (memory in binary units, CPU in thousandths); the requests are the limits, so the
/// scheduler places the pod only where they fit.
pub fn resources(c: &Component) -> Value {
    limits(c.memory.bytes(), c.cpus)
}

/// Those of `memory` bytes and `cpus` CPUs.
pub fn limits(memory: u64, cpus: f64) -> Value {
    let limits = json!({ "memory": values::quantity(memory), "cpu": format!("{}m", (cpus * 1000.0).round() as u64) });
    json!({ "requests": limits.clone(), "limits": limits })
}

/// How every container of the tree runs: no privilege escalation, no capability, a read-only
/// root.
pub fn hardened() -> Value {
    json!({
        "allowPrivilegeEscalation": false,
        "readOnlyRootFilesystem": true,
        "capabilities": { "drop": ["ALL"] },
    })
}

/// Text as a container's command, arguments and environment take it: Kubernetes expands
/// `$(VAR)` there and reads `$$` as `$`.
pub fn literal(s: &str) -> String {
    s.replace('$', "$$")
}

/// An image as Grafana's charts (`loki`, `alloy`) take it: registry, repository, tag, and the
/// digest (`digest`, `sha256:` and all, which they name instead of the tag) when the stack is
/// pinned by digest.
pub fn image_with_digest(c: &Component) -> Value {
    let mut i = values::image_of(c);
    if let Some(d) = c.image.digest() {
        i["digest"] = json!(d);
    }
    i
}

/// The labels of an object kube-prometheus-stack's Prometheus selects (rules, scrape objects):
/// the stack's, and the chart's release (`*SelectorNilUsesHelmValues: true`, its default).
pub fn chart_selected(stack: &Stack) -> Map<String, Value> {
    let mut l = labels(stack);
    l.insert("release".into(), json!(stack.kubernetes.release));
    l
}

/// An object (or a values overlay) as a YAML file.
pub fn file(path: String, object: &Value) -> Artifact {
    Artifact::new(path, serde_saphyr::to_string(object).expect("a Kubernetes object serializes"))
}

/// The secrets the Kubernetes tree reads: the receivers' (Alertmanager's), the services'
/// passwords their exporters and backups log in with, the remote-write receivers' (the operator's), and
/// the access key of Loki's bucket.
/// The others are read by what the platform does not set (SL907: the web logins), by the
/// chart's own settings (Grafana's admin password), or by the
/// application's own containers, which the cluster runs its own way.
pub fn secrets_read(stack: &Stack) -> impl Iterator<Item = &crate::ir::SecretUse> {
    // The passwords the exporters log in with, and the backups' CronJobs.
    let backed_up: Vec<&crate::manifest::values::Name> =
        stack.backups.iter().flat_map(|b| &b.jobs).map(|j| &j.service).collect();
    let exporters: Vec<String> = stack
        .services
        .iter()
        .filter(|s| exporters::exporter(stack, s).is_some() || backed_up.contains(&&s.name))
        .map(|s| format!("services.{}.password", s.name))
        .collect();
    stack.secrets.iter().filter(move |u| {
        u.setting.starts_with("alerting.")
            || u.setting.starts_with("observability.prometheus.remote_write.")
            || u.setting.starts_with("kubernetes.loki_bucket.")
            || exporters.contains(&u.setting)
    })
}

/// Whether Alertmanager reads one of the stack's secrets (a receiver's).
pub fn alertmanager_reads_secrets(stack: &Stack) -> bool {
    stack.secrets.iter().any(|u| u.setting.starts_with("alerting."))
}

/// The Kubernetes Secret every secret the tree reads is a key of.
pub fn secrets_name(stack: &Stack) -> String {
    object_name(stack, "secrets")
}

/// The pod volume of the stack's Secret, whose keys the secret files are.
const SECRETS_VOLUME: &str = "secrets";

/// A secret's file where compose mounts it, alone (a `subPath` of the stack's Secret volume, so
/// nothing else of the image's directory is hidden): its mount added to `mounts` and its key to
/// `items` (the volume's), each once. Returns the file's path.
pub fn mount_secret_file(r: &SecretRef, mounts: &mut Vec<Value>, items: &mut Vec<Value>) -> String {
    let (path, key) = (crate::targets::paths::secret_file(r), secret_key(r));
    let mount = json!({ "name": SECRETS_VOLUME, "mountPath": path, "subPath": key, "readOnly": true });
    if !mounts.contains(&mount) {
        mounts.push(mount);
        let item = json!({ "key": key, "path": key });
        if !items.contains(&item) {
            items.push(item);
        }
    }
    path
}

/// The stack's Secret as a pod volume of `items` (`mount_secret_file`), readable by the pod's
/// group (`fsGroup`) and no one else.
pub fn secrets_volume(stack: &Stack, items: Vec<Value>) -> Value {
    json!({
        "name": SECRETS_VOLUME,
        "secret": { "secretName": secrets_name(stack), "items": items, "defaultMode": 0o440 },
    })
}

/// The key of that Secret a secret reference reads: the variable's name for `{ env }`, the
/// file's name for `{ file }` (`check::platform` holds them to a Secret's keys and unique,
/// SL902).
pub fn secret_key(r: &SecretRef) -> &str {
    match r {
        SecretRef::Env(name) => name,
        SecretRef::File(path) => path.rsplit('/').next().unwrap_or(path),
    }
}

/// kube-prometheus-stack's `fullname` for a release (its `_helpers.tpl`: the release name when
/// it contains the chart's name, else `<release>-kube-prometheus-stack`, cut to 26 characters
/// without a trailing `-`): the prefix of the chart's Services.
pub fn chart_fullname(release: &str) -> String {
    const CHART: &str = "kube-prometheus-stack";
    let full = if release.contains(CHART) { release.to_string() } else { format!("{release}-{CHART}") };
    full.chars().take(26).collect::<String>().trim_end_matches('-').to_string()
}

/// The in-cluster address of one of the chart's Services (`prometheus` on 9090,
/// `alertmanager` on 9093): `<fullname>-<component>`, the fullname the manifest's
/// `kubernetes.fullname` (the chart's `fullnameOverride`, cut as the chart cuts it) or the
/// release's.
pub fn chart_service_url(stack: &Stack, component: &str, port: u16) -> String {
    let fullname = match &stack.kubernetes.fullname {
        Some(f) => f.chars().take(26).collect::<String>().trim_end_matches('-').to_string(),
        None => chart_fullname(&stack.kubernetes.release),
    };
    format!("http://{fullname}-{component}.{}.svc:{port}", stack.kubernetes.namespace)
}

#[cfg(test)]
mod tests {
    use super::chart_fullname;

    #[test]
    fn the_chart_names_its_services_as_its_helpers_do() {
        // `_helpers.tpl`: the release when it contains the chart's name, else
        // `<release>-kube-prometheus-stack`, cut to 26 characters, no trailing `-`.
        assert_eq!(chart_fullname("kube-prometheus-stack"), "kube-prometheus-stack");
        assert_eq!(chart_fullname("prometheus"), "prometheus-kube-prometheus");
        assert_eq!(chart_fullname("monitoring"), "monitoring-kube-prometheus");
        assert_eq!(chart_fullname("kps"), "kps-kube-prometheus-stack");
        assert_eq!(chart_fullname("observability"), "observability-kube-prometh");
        assert_eq!(chart_fullname("my-kube-prometheus-stack-prod"), "my-kube-prometheus-stack-p");
        assert_eq!(chart_fullname("abcdefghij-kube-prometheus"), "abcdefghij-kube-prometheus");
        assert_eq!(chart_fullname("abcdefghijk"), "abcdefghijk-kube-prometheu");
        assert_eq!(chart_fullname("abcdefghi"), "abcdefghi-kube-prometheus");
        assert_eq!(chart_fullname("abcdefghijklm"), "abcdefghijklm-kube-prometh");
        assert_eq!(chart_fullname("abcdefghijklmnopqrstuvw"), "abcdefghijklmnopqrstuvw-ku");
        assert_eq!(chart_fullname("abcdefghijklmnopqrstuvwxy"), "abcdefghijklmnopqrstuvwxy");
    }
}

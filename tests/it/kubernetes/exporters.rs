//! The exporters run as compose runs them, their secrets from the stack's Secret, and the
//! one-shot jobs before them as init containers.

use super::*;

/// A compose service's container as the values the Kubernetes container must have: its image,
/// entrypoint, command and environment (compose's `$$` is Kubernetes' too).
fn container_of_compose(service: &Value) -> (Value, Value, Value, BTreeMap<String, String>) {
    let env = service["environment"]
        .as_object()
        .map(|e| e.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string())).collect())
        .unwrap_or_default();
    (service["image"].clone(), service["entrypoint"].clone(), service["command"].clone(), env)
}

#[test]
fn the_exporters_run_as_compose_runs_them_with_their_secrets_from_the_stacks_secret() {
    for (m, k8s, compose) in built() {
        let services = yaml_to_json(&compose["compose.yaml"])["services"].clone();
        let mut seen = 0;
        for (path, o) in objects(k8s).into_iter().filter(|(_, o)| o["kind"] == "Deployment") {
            let pod = &o["spec"]["template"]["spec"];
            let c = &pod["containers"][0];
            let name = c["name"].as_str().unwrap();
            let theirs = &services[name];
            assert!(theirs.is_object(), "{}: {path}: compose runs no {name}", m.display());
            let (image, entrypoint, command, mut env) = container_of_compose(theirs);
            let svc = format!(".{}.svc", o["metadata"]["namespace"].as_str().unwrap());
            let placed = |v: &Value| serde_json::from_str::<Value>(&v.to_string().replace(&svc, "")).unwrap();
            assert_eq!(placed(&c["args"]), command, "{}: {name}: command", m.display());
            let value_of = |v: &Value| match v.get("value") {
                Some(value) => value.as_str().unwrap().replace(&svc, ""),
                // From the stack's Secret: `secret:<key>`.
                None => format!("secret:{}", v["valueFrom"]["secretKeyRef"]["key"].as_str().unwrap()),
            };
            let ours: BTreeMap<String, String> = c["env"]
                .as_array()
                .map(|e| e.iter().map(|v| (v["name"].as_str().unwrap().into(), value_of(v))).collect())
                .unwrap_or_default();
            match theirs.get("build") {
                None => {
                    assert_eq!(c["image"], image, "{name}");
                    assert_eq!(placed(&c["command"]), entrypoint, "{}: {name}: entrypoint", m.display());
                }
                // Compose builds the program onto a shell to read the password's file; the
                // cluster runs the program as its own image starts it, the password in the
                // variable the shell would have read the file into.
                Some(build) => {
                    let dir = build["context"].as_str().unwrap().trim_start_matches("./");
                    let dockerfile = &compose[&format!("{dir}/Dockerfile")];
                    let from = format!("ARG EXPORTER_IMAGE={}", c["image"].as_str().unwrap());
                    assert!(dockerfile.contains(&from), "{name}: {from}");
                    assert!(c.get("command").is_none(), "{name}: the image's own entrypoint");
                    let script = entrypoint.to_string();
                    let (file_var, file) = env.iter().find(|(k, _)| k.ends_with("_FILE")).unwrap();
                    let (file_var, file) = (file_var.clone(), file.clone());
                    let var = file_var.trim_end_matches("_FILE").to_string();
                    assert!(script.contains(&format!("export {var}")), "{name}: compose reads {file_var} into {var}");
                    env.remove(&file_var);
                    env.insert(var, format!("secret:{}", file.rsplit('/').next().unwrap()));
                }
            }
            assert_eq!(ours, env, "{}: {name}: environment", m.display());
            // Every file a `*_FILE` variable names is a key of the stack's Secret, mounted there.
            for (var, file) in ours.iter().filter(|(k, _)| k.ends_with("_FILE")) {
                // The file alone, at its path: its directory's other files stay the image's.
                let mount = c["volumeMounts"].as_array().unwrap().iter().find(|v| v["mountPath"] == file.as_str());
                let mount = mount.unwrap_or_else(|| panic!("{name}: {var}: nothing mounted at {file}"));
                let volume = pod["volumes"].as_array().unwrap().iter().find(|v| v["name"] == mount["name"]).unwrap();
                assert!(volume["secret"]["secretName"].as_str().unwrap().ends_with("-secrets"), "{name}: {var}");
                let items = volume["secret"]["items"].as_array().unwrap();
                assert!(items.iter().any(|i| i["path"] == mount["subPath"]), "{name}: {var}: {mount}");
            }
            // The one-shot jobs compose runs before it (but the secrets' seeding, which the
            // stack's Secret replaces): its init containers, as compose runs each.
            let waits: Vec<&String> = theirs["depends_on"]
                .as_object()
                .into_iter()
                .flatten()
                .filter(|(n, d)| d["condition"] == "service_completed_successfully" && *n != "sightline-secrets")
                .map(|(n, _)| n)
                .collect();
            let inits = pod["initContainers"].as_array().cloned().unwrap_or_default();
            assert_eq!(inits.len(), waits.len(), "{}: {name}: {waits:?}", m.display());
            for job in waits {
                let init = inits.iter().find(|i| i["name"] == job.as_str()).unwrap();
                let (image, entrypoint, command, env) = container_of_compose(&services[job]);
                assert_eq!(init["image"], image, "{}: {job}", m.display());
                assert_eq!(placed(&init["command"]), entrypoint, "{}: {job}", m.display());
                assert_eq!(placed(&init["args"]), command, "{}: {job}", m.display());
                let ours: BTreeMap<String, String> = init["env"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| (v["name"].as_str().unwrap().into(), value_of(v)))
                    .collect();
                assert_eq!(ours, env, "{}: {job}: environment", m.display());
                let mounted = |path: &str| {
                    let mount = init["volumeMounts"].as_array().unwrap().iter().find(|v| v["mountPath"] == path);
                    let mount = mount.unwrap_or_else(|| panic!("{job}: nothing at {path}"));
                    (
                        mount.clone(),
                        pod["volumes"].as_array().unwrap().iter().find(|v| v["name"] == mount["name"]).unwrap().clone(),
                    )
                };
                for (_, file) in ours.iter().filter(|(k, _)| k.ends_with("_FILE")) {
                    let (_, volume) = mounted(file);
                    assert!(volume["secret"]["secretName"].as_str().unwrap().ends_with("-secrets"), "{job}: {file}");
                }
                // Each file compose mounts from the tree (its directory), from a ConfigMap with
                // the same text, where the job reads it.
                for bind in services[job]["volumes"].as_array().into_iter().flatten().filter_map(|v| v.as_str()) {
                    let Some(dir) = bind.strip_prefix("./") else { continue };
                    let (from, rest) = dir.split_once(':').unwrap();
                    let to = rest.trim_end_matches(":ro");
                    for (path, text) in compose.iter().filter(|(p, _)| p.starts_with(&format!("{from}/"))) {
                        let at = format!("{to}/{}", &path[from.len() + 1..]);
                        if !entrypoint.to_string().contains(&at) {
                            continue;
                        }
                        let (mount, volume) = mounted(&at);
                        let map = objects(k8s)
                            .into_iter()
                            .find(|(_, o)| {
                                o["kind"] == "ConfigMap" && o["metadata"]["name"] == volume["configMap"]["name"]
                            })
                            .unwrap()
                            .1;
                        // (But for the header compose's file has, which the ConfigMap's file has.)
                        let text: String = text
                            .lines()
                            .filter(|l| !l.starts_with("# Generated by sightline"))
                            .map(|l| format!("{l}\n"))
                            .collect();
                        assert_eq!(
                            map["data"][mount["subPath"].as_str().unwrap()],
                            text.as_str(),
                            "{}: {job}: {at}",
                            m.display()
                        );
                    }
                }
                assert_eq!(init["securityContext"], c["securityContext"], "{job}: hardened as the exporter");
            }
            let paths: Vec<&str> =
                c["volumeMounts"].as_array().unwrap().iter().map(|v| v["mountPath"].as_str().unwrap()).collect();
            let unique: std::collections::BTreeSet<&&str> = paths.iter().collect();
            assert!(paths.iter().all(|p| p.len() > 1) && unique.len() == paths.len(), "{name}: mount paths {paths:?}");
            // Its health, as compose checks it where its image can: a GET of the same path, or
            // a connection where compose only connects.
            let test = theirs.get("healthcheck").map(|h| h["test"].to_string());
            match c["readinessProbe"]["httpGet"]["path"].as_str() {
                // Never its metrics: each would make it ask its service.
                Some("/metrics") => panic!("{}: {name}: its health check asks for its metrics", m.display()),
                Some(path) => {
                    let port = &c["ports"][0]["containerPort"];
                    if let Some(test) = test {
                        let asked =
                            test.contains(&format!(":{port}{path}\"")) || test.contains(&format!("GET {path} HTTP"));
                        assert!(asked, "{}: {name}: compose checks {test}, the cluster {path}", m.display());
                    }
                }
                // A connection: where compose's check only connects too, or checks nothing.
                None => {
                    assert_eq!(c["readinessProbe"]["tcpSocket"]["port"], "metrics", "{name}");
                    if let Some(test) = test {
                        assert!(test.contains("create_connection") && !test.contains("http"), "{name}: {test}");
                    }
                }
            }
            seen += 1;
        }
        // Every exporter compose runs, and the blackbox exporter.
        let expected =
            services.as_object().unwrap().keys().filter(|n| n.ends_with("-exporter") && *n != "node-exporter");
        assert_eq!(seen, expected.count(), "{}: every exporter compose runs", m.display());
    }
}

#[test]
fn the_query_stats_init_container_creates_the_extension_as_the_pod_runs_it() {
    // The db exporter's init container of faceless-staging, run here as its pod runs it: as the
    // pod's user and group (as root; otherwise as this unprivileged user), its script the
    // ConfigMap's text, its variables, the password's file the pod group's to read (the Secret
    // volume's mode, its group the pod's `fsGroup`), against a server started with the options
    // compose gives the database (which preload the library).
    use std::os::unix::fs::PermissionsExt;
    let m = crate::support::root().join("examples/faceless-staging.yaml");
    let k8s = kubernetes_plan(&m);
    let deployment = objects(&k8s).into_iter().find(|(p, _)| p.ends_with("/db-exporter-deployment.yaml")).unwrap().1;
    let pod = &deployment["spec"]["template"]["spec"];
    let init = &pod["initContainers"][0];
    let user = pod["securityContext"]["runAsUser"].as_u64().unwrap();
    let group = pod["securityContext"]["fsGroup"].as_u64().unwrap();
    let secret = pod["volumes"].as_array().unwrap().iter().find(|v| v["secret"].is_object()).unwrap();
    let mode = secret["secret"]["defaultMode"].as_u64().unwrap() as u32;
    let command: Vec<&str> = init["command"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
    let mount = init["volumeMounts"].as_array().unwrap().iter().find(|v| v["mountPath"] == command[1]).unwrap();
    let map = objects(&k8s).into_iter().find(|(p, _)| p.ends_with("/db-query-stats.yaml")).unwrap().1;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), PermissionsExt::from_mode(0o755)).unwrap();
    let script = dir.path().join("enable-query-stats.sh");
    std::fs::write(&script, map["data"][mount["subPath"].as_str().unwrap()].as_str().unwrap()).unwrap();
    std::fs::set_permissions(&script, PermissionsExt::from_mode(0o444)).unwrap();
    let password = dir.path().join("password");
    std::fs::write(&password, "unused-on-a-trusting-socket").unwrap();
    let root = crate::pg_server::is_root();
    if root {
        std::os::unix::fs::chown(&password, Some(0), Some(group as u32)).unwrap();
    }
    std::fs::set_permissions(&password, PermissionsExt::from_mode(mode)).unwrap();

    let compose_tree = crate::support::build_into_tempdir(&m);
    let setup = crate::pg_server::compose_setup(compose_tree.path(), "db");
    let server = crate::pg_server::Server::start(&setup.options);
    server.psql("postgres", "CREATE DATABASE faceless");
    let mut cmd = if root {
        let mut c = server.cmd("setpriv");
        c.args(["--reuid", &user.to_string(), "--regid", &group.to_string(), "--clear-groups", "--", command[0]]);
        c
    } else {
        server.cmd(command[0])
    };
    cmd.arg(&script);
    for v in init["env"].as_array().unwrap() {
        let (k, value) = (v["name"].as_str().unwrap(), v["value"].as_str().unwrap());
        match k {
            // The connection is this server's (a socket, its superuser).
            "PGHOST" | "PGPORT" | "PGUSER" => {}
            "PGPASSWORD_FILE" => {
                cmd.env(k, &password);
            }
            _ => {
                cmd.env(k, value);
            }
        }
    }
    cmd.env_remove("HOME");
    let (ok, out) = run(&mut cmd);
    assert!(ok && out.contains("pg_stat_statements is installed"), "{out}");
    assert_eq!(
        server.psql("faceless", "SELECT extname FROM pg_extension WHERE extname = 'pg_stat_statements'"),
        "pg_stat_statements"
    );
}

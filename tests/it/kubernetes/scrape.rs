//! Scrape configuration: every service scraped and probed with compose's labels, where its
//! `kubernetes:` places it, as the operator's configuration generator makes the targets; and
//! remote write on both platforms.

use super::*;

/// The labels a compose job gives its targets, by job name, for every job of a service (one
/// with a `service` label), and of the blackbox exporter, which the Kubernetes tree scrapes
/// itself too (its `instance` its compose address): what the rules select.
fn compose_targets(compose: &Plan) -> BTreeMap<String, (Value, Value)> {
    let config = yaml_to_json(&compose["prometheus/prometheus.yml"]);
    config["scrape_configs"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|j| {
            let mut labels = j["static_configs"][0]["labels"].clone();
            if !labels["service"].is_string() {
                if j["job_name"] != sightline::targets::paths::BLACKBOX_JOB {
                    return None;
                }
                labels = serde_json::json!({ "instance": j["static_configs"][0]["targets"][0] });
            }
            Some((j["job_name"].as_str().unwrap().to_string(), (labels, j.clone())))
        })
        .collect()
}

/// The labels each scrape object of the Kubernetes tree gives its targets, by the job compose
/// would name it (`<service>`, `<service>-<probe>`), with the object.
fn kubernetes_targets(k8s: &Plan) -> BTreeMap<String, (Value, Value)> {
    let mut out = BTreeMap::new();
    for (path, o) in objects(k8s) {
        let labels = match o["kind"].as_str().unwrap() {
            "ServiceMonitor" => {
                let endpoints = o["spec"]["endpoints"].as_array().unwrap();
                assert_eq!(endpoints.len(), 1, "{path}");
                let mut l = serde_json::Map::new();
                for r in endpoints[0]["relabelings"].as_array().unwrap() {
                    if r["action"] == "labeldrop" {
                        continue;
                    }
                    assert_eq!(r["action"], "replace", "{path}");
                    l.insert(r["targetLabel"].as_str().unwrap().into(), r["replacement"].clone());
                }
                Value::Object(l)
            }
            "ScrapeConfig" => o["spec"]["staticConfigs"][0]["labels"].clone(),
            "Probe" => o["spec"]["targets"]["staticConfig"]["labels"].clone(),
            _ => continue,
        };
        let mut labels = labels;
        // The job, as compose names it: set by a relabeling, or the object's `jobName`.
        let job = match labels.as_object_mut().unwrap().remove("job") {
            Some(job) => job.as_str().unwrap().to_string(),
            None => o["spec"]["jobName"].as_str().unwrap_or_else(|| panic!("{path}: no job")).to_string(),
        };
        assert!(out.insert(job.clone(), (labels, o)).is_none(), "{path}: {job} twice");
    }
    out
}

#[test]
fn every_service_is_scraped_and_probed_with_the_labels_compose_gives_it() {
    for (m, k8s, compose) in built() {
        let (ours, theirs) = (kubernetes_targets(k8s), compose_targets(compose));
        assert_eq!(
            ours.keys().collect::<Vec<_>>(),
            theirs.keys().collect::<Vec<_>>(),
            "{}: the same targets as compose's prometheus.yml",
            m.display()
        );
        for (job, (labels, o)) in &ours {
            let (their_labels, j) = &theirs[job];
            assert_eq!(labels, their_labels, "{}: {job}: the labels the rules select", m.display());
            let spec = &o["spec"];
            // The stack's namespace, where the services are by default.
            let svc = format!(".{}.svc", o["metadata"]["namespace"].as_str().unwrap());
            match o["kind"].as_str().unwrap() {
                "Probe" => {
                    assert_eq!(spec["module"], j["params"]["module"][0], "{job}");
                    assert_eq!(
                        spec["prober"]["url"],
                        format!(
                            "{}-blackbox-exporter{svc}:9115",
                            o["metadata"]["labels"]["app.kubernetes.io/part-of"].as_str().unwrap()
                        )
                    );
                    // The same URL, the service reached at its Service.
                    let (target, theirs) = (
                        spec["targets"]["staticConfig"]["static"][0].as_str().unwrap(),
                        j["static_configs"][0]["targets"][0].as_str().unwrap(),
                    );
                    assert_eq!(target.replace(&svc, ""), theirs, "{job}");
                }
                "ServiceMonitor" => {
                    let endpoint = &spec["endpoints"][0];
                    let target = j["static_configs"][0]["targets"][0].as_str().unwrap();
                    let port: u64 = target.rsplit(':').next().unwrap().parse().unwrap();
                    let exporter = target.contains("-exporter:");
                    if exporter {
                        // The exporter's Service, which `exporters` generates, on its metrics port.
                        assert_eq!(endpoint["port"], "metrics", "{job}");
                        let name = spec["selector"]["matchLabels"]["app.kubernetes.io/name"].as_str().unwrap();
                        let service = objects(k8s).into_iter().find(|(_, s)| {
                            s["kind"] == "Service" && s["metadata"]["labels"]["app.kubernetes.io/name"] == name
                        });
                        let (_, service) = service.unwrap_or_else(|| panic!("{job}: no Service {name}"));
                        assert_eq!(service["spec"]["ports"][0]["name"], "metrics");
                        assert_eq!(service["spec"]["ports"][0]["port"], port, "{job}: the exporter's port");
                    } else {
                        assert_eq!(endpoint["targetPort"], port, "{job}");
                        assert_eq!(
                            endpoint["path"],
                            j.get("metrics_path").cloned().unwrap_or(Value::from("/metrics")),
                            "{job}"
                        );
                        assert_eq!(spec["fallbackScrapeProtocol"], j["fallback_scrape_protocol"], "{job}");
                    }
                }
                "ScrapeConfig" => {
                    // Outside the cluster: at the same address as on compose.
                    assert_eq!(spec["staticConfigs"][0]["targets"], j["static_configs"][0]["targets"], "{job}");
                    let path = j.get("metrics_path").cloned().unwrap_or(Value::from("/metrics"));
                    assert_eq!(spec["metricsPath"], path, "{job}");
                    assert_eq!(spec["fallbackScrapeProtocol"], j["fallback_scrape_protocol"], "{job}");
                }
                other => panic!("{job}: {other}"),
            }
        }
    }
}

#[test]
fn a_service_is_scraped_where_its_kubernetes_settings_place_it() {
    let manifest = "version: 1\nstack: shop\nenvironment: prod\nplatform: kubernetes\nservices:\n  api:\n    kind: http\n    port: 8000\n    metrics_port: 9100\n    health: { live: /healthz }\n    kubernetes: { namespace: shop, selector: { app: api, tier: web } }\n  db:\n    kind: postgres\n    port: 5432\n    database: shop\n    user: shop\n    password: { env: DB_PASSWORD }\n    kubernetes: { namespace: data, service: shop-postgresql }\n  legacy:\n    kind: generic\n    port: 9000\n    host: legacy.internal.example.com\n  cache:\n    kind: redis\n    port: 6379\n    kubernetes: { address: 10.0.0.7 }\n";
    let checked = sightline::check_for("stack.yaml", manifest.as_bytes(), None);
    assert!(!checked.has_errors(), "{:?}", checked.diagnostics);
    let plan = sightline::plan_pinned(&checked, &BTreeMap::new(), None).unwrap().unwrap().files;
    let get = |p: &str| yaml_to_json(&plan[p]);
    let api = get("manifests/scrape/api.yaml");
    assert_eq!(api["kind"], "ServiceMonitor");
    assert_eq!(api["spec"]["selector"]["matchLabels"], serde_json::json!({ "app": "api", "tier": "web" }));
    assert_eq!(api["spec"]["namespaceSelector"]["matchNames"], serde_json::json!(["shop"]));
    assert_eq!(api["spec"]["endpoints"][0]["targetPort"], 9100);
    let health = get("manifests/scrape/api-health.yaml");
    assert_eq!(health["spec"]["targets"]["staticConfig"]["static"][0], "http://api.shop.svc:8000/healthz");
    // The exporter, in the stack's namespace, reaches db at its Service in its own.
    let exporter = get("manifests/exporters/db-exporter-deployment.yaml");
    let env = exporter["spec"]["template"]["spec"]["containers"][0]["env"].as_array().unwrap().clone();
    assert!(env.iter().any(|e| e["value"] == "shop-postgresql.data.svc:5432/shop?sslmode=disable"), "{env:?}");
    assert_eq!(
        get("manifests/scrape/db.yaml")["spec"]["namespaceSelector"]["matchNames"],
        serde_json::json!(["monitoring"])
    );
    // Outside the cluster: a host with a dot, or an address.
    let legacy = get("manifests/scrape/legacy.yaml");
    assert_eq!(legacy["kind"], "ScrapeConfig");
    assert_eq!(legacy["spec"]["staticConfigs"][0]["targets"][0], "legacy.internal.example.com:9000");
    assert_eq!(
        legacy["spec"]["staticConfigs"][0]["labels"],
        serde_json::json!({ "service": "legacy", "service_kind": "generic" })
    );
    let cache = get("manifests/exporters/cache-exporter-deployment.yaml");
    let env = cache["spec"]["template"]["spec"]["containers"][0]["env"].to_string();
    assert!(env.contains("redis://10.0.0.7:6379"), "{env}");
    // Compose ignores `kubernetes:`: what would be SL904 there is not an error.
    let everything = manifest.replace("{ namespace: shop, selector: { app: api, tier: web } }", "{ selector: {} }");
    let on = |p| sightline::check_for("stack.yaml", everything.as_bytes(), Some(p)).diagnostics;
    assert!(on(Platform::Kubernetes).iter().any(|d| d.code == sightline::code::Code::ServicePlace));
    assert!(!on(Platform::Compose).iter().any(|d| d.code == sightline::code::Code::ServicePlace));
    // A secret file anywhere: mounted alone, where compose mounts it.
    let elsewhere =
        manifest.replace("password: { env: DB_PASSWORD }", "password: { file: /etc/postgres-exporter/db-password }");
    let checked = sightline::check_for("stack.yaml", elsewhere.as_bytes(), None);
    assert!(!checked.has_errors(), "{:?}", checked.diagnostics);
    let plan = sightline::plan_pinned(&checked, &BTreeMap::new(), None).unwrap().unwrap().files;
    let pod =
        yaml_to_json(&plan["manifests/exporters/db-exporter-deployment.yaml"])["spec"]["template"]["spec"].clone();
    let mounts = pod["containers"][0]["volumeMounts"].as_array().unwrap().clone();
    let mount = mounts.iter().find(|m| m["name"] == "secrets").unwrap();
    assert_eq!(mount["mountPath"], "/etc/postgres-exporter/db-password");
    assert_eq!(mount["subPath"], "db-password");
    assert!(pod["volumes"].to_string().contains("\"key\":\"db-password\""), "{}", pod["volumes"]);
    // The exporter's password is a key of the stack's Secret, checked as the receivers' are.
    let clash = manifest.replace("password: { env: DB_PASSWORD }", "password: { file: /run/secrets/DB_PASSWORD }").replace("    kubernetes: { address: 10.0.0.7 }\n", "    kubernetes: { address: 10.0.0.7 }\n  other:\n    kind: mysql\n    port: 3306\n    database: o\n    user: o\n    password: { env: DB_PASSWORD }\n");
    let checked = sightline::check_for("stack.yaml", clash.as_bytes(), None);
    assert!(
        checked.diagnostics.iter().any(|d| d.code == sightline::code::Code::SecretKeyClash),
        "{:?}",
        checked.diagnostics
    );
}

#[test]
fn the_operator_makes_of_the_scrape_objects_the_targets_compose_scrapes() {
    // The Prometheus Operator's own code at the CRDs' release selects the objects as the
    // chart's Prometheus does (`release`, every namespace), validates them and writes its
    // prometheus.yml, which promtool accepts. Service discovery then finds the exporters'
    // Services and pods as generated, and each service scraped on its own metrics as
    // docs/kubernetes.md tells the team to run it (a Service named after its host in the stack's
    // namespace, labelled `app.kubernetes.io/name: <host>`, its pods declaring the metrics
    // port); and Prometheus's own target labelling gives each target the labels compose's
    // prometheus.yml gives it (tools/operator_config).
    let (operator, promtool) = (require_tool("operator-config"), require_tool("promtool"));
    for (m, k8s, compose) in built() {
        let dir = tempfile::tempdir().unwrap();
        let mut files = Vec::new();
        let read = |p: &&String| {
            ["scrape", "exporters", "prometheus"].iter().any(|d| p.starts_with(&format!("manifests/{d}/")))
        };
        // (Not the ConfigMaps of the one-shot jobs' files, which the operator has no use for.)
        for (path, text) in k8s.iter().filter(|(p, t)| read(p) && !t.contains("\nkind: ConfigMap\n")) {
            let file = dir.path().join(path.rsplit('/').next().unwrap());
            std::fs::write(&file, text).unwrap();
            files.push(file);
        }
        let rule = objects(k8s).into_iter().find(|(_, o)| o["kind"] == "PrometheusRule").unwrap().1;
        let namespace = rule["metadata"]["namespace"].as_str().unwrap();
        // The stack's Secret, as the team creates it, with every key the overlay names.
        let stack_name = rule["metadata"]["labels"]["app.kubernetes.io/part-of"].as_str().unwrap();
        let overlay_values = yaml_to_json(&k8s["helm/kube-prometheus-stack.values.yaml"]);
        let keys: serde_json::Map<String, Value> = overlay_values["prometheus"]["prometheusSpec"]["remoteWrite"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|w| w["basicAuth"]["password"]["key"].as_str())
            .map(|k| (k.to_string(), Value::from("a-password")))
            .collect();
        let team = serde_json::json!({ "apiVersion": "v1", "kind": "Secret", "metadata": { "name": format!("{stack_name}-secrets"), "namespace": namespace }, "stringData": keys });
        let secret = dir.path().join("team-secret.json");
        std::fs::write(&secret, team.to_string()).unwrap();
        files.push(secret);
        // The application's Services and pods, as the documentation says to run them.
        for (job, (_, j)) in compose_targets(compose) {
            let target = j["static_configs"][0]["targets"][0].as_str().unwrap();
            let (host, port) = target.rsplit_once(':').unwrap();
            if j.get("params").is_some() || host.ends_with("-exporter") || host.contains('.') {
                continue;
            }
            let labels = serde_json::json!({ "app.kubernetes.io/name": host });
            let meta = serde_json::json!({ "name": host, "namespace": namespace, "labels": labels });
            let port: u64 = port.parse().unwrap();
            let service = serde_json::json!({
                "apiVersion": "v1", "kind": "Service", "metadata": meta,
                "spec": { "selector": labels, "ports": [{ "name": "http", "port": port, "targetPort": port }] },
            });
            let pod = serde_json::json!({ "metadata": { "labels": labels }, "spec": { "containers": [
                { "name": "app", "image": "app", "ports": [{ "name": "http", "containerPort": port }] }
            ] } });
            let deployment = serde_json::json!({
                "apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta,
                "spec": { "selector": { "matchLabels": labels }, "template": pod },
            });
            for (what, o) in [("service", service), ("deployment", deployment)] {
                let file = dir.path().join(format!("app-{job}-{what}.json"));
                std::fs::write(&file, o.to_string()).unwrap();
                files.push(file);
            }
        }
        let overlay = dir.path().join("values.yaml");
        std::fs::write(&overlay, &k8s["helm/kube-prometheus-stack.values.yaml"]).unwrap();
        let args = [
            "-namespace".to_string(),
            namespace.into(),
            "-release".into(),
            rule["metadata"]["labels"]["release"].as_str().unwrap().into(),
            "-values".into(),
            overlay.to_string_lossy().into_owned(),
        ];
        let out = Command::new(&operator).args(&args).args(&files).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{}: the operator refuses:\n{stderr}", m.display());
        let config = dir.path().join("prometheus.yml");
        std::fs::write(&config, &out.stdout).unwrap();
        let (ok, text) = run(Command::new(&promtool).args(["check", "config"]).arg(&config));
        assert!(ok, "{}: promtool check config of the operator's configuration:\n{text}", m.display());
        // Its intervals and timeout are compose's.
        let made = yaml_to_json(&std::fs::read_to_string(&config).unwrap());
        let compose_global = yaml_to_json(&compose["prometheus/prometheus.yml"])["global"].clone();
        for key in ["scrape_interval", "scrape_timeout", "evaluation_interval"] {
            assert_eq!(made["global"][key], compose_global[key], "{}: global {key}", m.display());
        }
        let out = Command::new(&operator).arg("-targets").args(&args).args(&files).output().unwrap();
        assert!(out.status.success(), "{}: {}", m.display(), String::from_utf8_lossy(&out.stderr));
        let mut found: BTreeMap<String, Value> = BTreeMap::new();
        for line in String::from_utf8(out.stdout).unwrap().lines() {
            let t: Value = serde_json::from_str(line).unwrap();
            let labels = t["labels"].clone();
            let job = labels["job"].as_str().unwrap().to_string();
            assert!(found.insert(job.clone(), labels).is_none(), "{}: two targets of job {job}", m.display());
        }
        let theirs = compose_targets(compose);
        assert_eq!(found.keys().collect::<Vec<_>>(), theirs.keys().collect::<Vec<_>>(), "{}", m.display());
        for (job, labels) in &found {
            let (their_labels, j) = &theirs[job];
            for (k, v) in their_labels.as_object().unwrap() {
                assert_eq!(&labels[k], v, "{}: {job}: {k}", m.display());
            }
            let path = j.get("metrics_path").and_then(Value::as_str).unwrap_or("/metrics");
            match j["params"]["module"][0].as_str() {
                // A probe: the blackbox exporter asked for the module and the target, which is
                // the target's `instance`.
                Some(module) => {
                    assert_eq!(labels["__param_module"], module, "{job}");
                    assert_eq!(labels["__metrics_path__"], "/probe", "{job}");
                    assert_eq!(labels["instance"], labels["__param_target"], "{job}");
                }
                None => assert_eq!(labels["__metrics_path__"], path, "{}: {job}", m.display()),
            }
        }
    }
}

#[test]
fn remote_write_reaches_the_receivers_on_both_platforms() {
    // Long-term storage: on compose in prometheus.yml (promtool accepts it; Prometheus on the
    // way out, its password's file mounted), on Kubernetes in the overlay, which the operator's
    // own code turns into the same receivers with their logins read from the Secrets (the
    // generated users' and the team's), and the cluster's label.
    let manifest = "version: 1\nstack: shop\nenvironment: prod\nkubernetes: { cluster: eu-west-1 }\nservices:\n  api: { kind: http, port: 8000 }\nobservability:\n  prometheus:\n    remote_write:\n      - url: https://mimir.example.com/api/v1/push\n        name: mimir\n        headers: { X-Scope-OrgID: shop }\n        basic_auth: { user: shop-writer, password: { env: MIMIR_PASSWORD } }\n      - url: http://thanos-receive.monitoring.svc:19291/api/v1/receive\n";
    let (promtool, operator) = (require_tool("promtool"), require_tool("operator-config"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stack.yaml");
    std::fs::write(&path, manifest).unwrap();
    // Compose.
    let compose = plan_of(&path);
    let config = yaml_to_json(&compose["prometheus/prometheus.yml"]);
    let writes = config["remote_write"].as_array().unwrap();
    assert_eq!(writes.len(), 2);
    assert_eq!(writes[0]["headers"]["X-Scope-OrgID"], "shop");
    assert_eq!(writes[0]["basic_auth"]["username"], "shop-writer");
    let password_file = writes[0]["basic_auth"]["password_file"].as_str().unwrap();
    let services = yaml_to_json(&compose["compose.yaml"])["services"].clone();
    let prometheus = &services["prometheus"];
    assert!(prometheus["networks"].as_array().unwrap().iter().any(|n| n == "egress"), "{prometheus}");
    // The password's file, in the volume the seeding job writes it into.
    let (dir_of, name) = password_file.rsplit_once('/').unwrap();
    let volumes = prometheus["volumes"].as_array().unwrap();
    let mounted = volumes.iter().any(|v| v.as_str().unwrap().contains(&format!(":{dir_of}:")));
    assert!(mounted && services["sightline-secrets"].to_string().contains(name), "{password_file}: {prometheus}");
    let file = dir.path().join("prometheus.yml");
    std::fs::write(&file, &compose["prometheus/prometheus.yml"]).unwrap();
    let (ok, out) = run(Command::new(&promtool).args(["check", "config", "--syntax-only"]).arg(&file));
    assert!(ok, "{out}");
    // The alerts on the receivers' queues, with their unit tests (each fires and keeps quiet).
    let monitoring = &compose["prometheus/rules/monitoring.yml"];
    assert!(monitoring.contains("PrometheusRemoteWriteFailing") && monitoring.contains("PrometheusRemoteWriteBehind"));
    for (path, text) in
        compose.iter().filter(|(p, _)| p.starts_with("prometheus/rules/") || p.starts_with("prometheus/tests/"))
    {
        let at = dir.path().join(path);
        std::fs::create_dir_all(at.parent().unwrap()).unwrap();
        std::fs::write(&at, text).unwrap();
    }
    let (ok, out) = run(Command::new(&promtool)
        .args(["test", "rules", "monitoring.yml"])
        .current_dir(dir.path().join("prometheus/tests")));
    assert!(ok, "{out}");
    let tests = &compose["prometheus/tests/monitoring.yml"];
    assert!(tests.matches("alertname: PrometheusRemoteWrite").count() >= 4, "each fires and keeps quiet:\n{tests}");
    // Kubernetes.
    let checked = sightline::check_for("stack.yaml", manifest.as_bytes(), Some(Platform::Kubernetes));
    assert!(!checked.has_errors(), "{:?}", checked.diagnostics);
    let k8s = sightline::plan_pinned(&checked, &BTreeMap::new(), Some(Platform::Kubernetes)).unwrap().unwrap().files;
    let values = yaml_to_json(&k8s["helm/kube-prometheus-stack.values.yaml"]);
    let spec = &values["prometheus"]["prometheusSpec"];
    assert_eq!(spec["externalLabels"]["cluster"], "eu-west-1");
    let overlay = dir.path().join("values.yaml");
    std::fs::write(&overlay, &k8s["helm/kube-prometheus-stack.values.yaml"]).unwrap();
    let users = dir.path().join("users.yaml");
    std::fs::write(&users, &k8s["manifests/prometheus/remote-write-users.yaml"]).unwrap();
    // The stack's Secret, as the team creates it.
    let secret = dir.path().join("secret.json");
    let team = serde_json::json!({ "apiVersion": "v1", "kind": "Secret", "metadata": { "name": "shop-secrets", "namespace": "monitoring" }, "stringData": { "MIMIR_PASSWORD": "s3cret" } });
    std::fs::write(&secret, team.to_string()).unwrap();
    let out = Command::new(&operator)
        .args(["-namespace", "monitoring", "-values"])
        .arg(&overlay)
        .args([&users, &secret])
        .output()
        .unwrap();
    assert!(out.status.success(), "the operator refuses: {}", String::from_utf8_lossy(&out.stderr));
    let generated = yaml_to_json(&String::from_utf8(out.stdout.clone()).unwrap());
    let theirs = generated["remote_write"].as_array().unwrap();
    assert_eq!(theirs.len(), 2);
    assert_eq!(theirs[0]["url"], writes[0]["url"]);
    assert_eq!(theirs[0]["name"], "mimir");
    assert_eq!(theirs[0]["headers"]["X-Scope-OrgID"], "shop");
    assert_eq!(theirs[0]["basic_auth"]["username"], "shop-writer", "the user from the generated Secret");
    assert_eq!(theirs[0]["basic_auth"]["password"], "s3cret", "the password from the team's Secret, by its key");
    assert_eq!(theirs[1]["url"], writes[1]["url"]);
    assert_eq!(generated["global"]["external_labels"]["cluster"], "eu-west-1");
    assert_eq!(generated["global"]["external_labels"]["stack"], "shop");
    let file = dir.path().join("operator.yml");
    std::fs::write(&file, &out.stdout).unwrap();
    let (ok, out) = run(Command::new(&promtool).args(["check", "config", "--syntax-only"]).arg(&file));
    assert!(ok, "{out}");
    // Without the team's Secret, the operator cannot read the password: its key is what
    // docs/kubernetes.md says to create.
    let out = Command::new(&operator)
        .args(["-namespace", "monitoring", "-values"])
        .arg(&overlay)
        .arg(&users)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("shop-secrets"), "{stderr}");
}

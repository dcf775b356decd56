//! Logs: the Loki chart running compose's configuration with the log alerts, its bucket, Alloy's
//! DaemonSet reading each service's pods, and the chart's scrape of Loki.

use super::*;

#[test]
fn the_loki_chart_runs_the_compose_configuration_with_the_log_alerts() {
    let schema = crate::support::schema_validator("schemastore/loki.json");
    let mut renders = Vec::new();
    for (m, k8s, compose) in built() {
        let values = yaml_to_json(&k8s["helm/loki.values.yaml"]);
        let namespace = objects(k8s)[0].1["metadata"]["namespace"].as_str().unwrap().to_string();
        let objs = helm_template("loki-chart", "loki", &namespace, &k8s["helm/loki.values.yaml"]);
        renders.push((m.file_stem().unwrap().to_string_lossy().into_owned(), objs.clone()));
        // The gateway Grafana reads from and Alloy pushes to.
        let gateway = rendered(&objs, "Service", "loki-gateway");
        assert_eq!(gateway["spec"]["ports"][0]["port"], 80);
        let datasources = yaml_to_json(&k8s["manifests/grafana/datasources.yaml"]).to_string();
        assert!(datasources.contains(&format!("http://loki-gateway.{namespace}.svc")), "{}", m.display());
        // Loki's configuration as the chart writes it: valid, and compose's where it matters.
        let config = rendered(&objs, "ConfigMap", "loki")["data"]["config.yaml"].as_str().unwrap();
        let config = yaml_to_json(config);
        let errors = schema_errors(&schema, &loki_sections(&config));
        assert!(errors.is_empty(), "{}: {errors:#?}", m.display());
        let on_compose = yaml_to_json(&compose["loki/loki-config.yml"]);
        assert_eq!(config["auth_enabled"], false);
        assert_eq!(config["schema_config"], on_compose["schema_config"], "{}", m.display());
        for key in ["retention_period", "allow_structured_metadata", "reject_old_samples", "reject_old_samples_max_age"]
        {
            assert_eq!(config["limits_config"][key], on_compose["limits_config"][key], "{}: {key}", m.display());
        }
        for key in ["retention_enabled", "retention_delete_delay", "compaction_interval", "delete_request_store"] {
            assert_eq!(config["compactor"][key], on_compose["compactor"][key], "{}: {key}", m.display());
        }
        assert!(config["compactor"]["working_directory"].as_str().unwrap().starts_with("/var/loki/"));
        assert_eq!(
            config["ruler"]["alertmanager_url"],
            values_alertmanager_url(k8s),
            "{}: the ruler sends to the chart's Alertmanager",
            m.display()
        );
        // One replica on the pod's volume, kept when the release goes.
        let sts = rendered(&objs, "StatefulSet", "loki");
        assert_eq!(sts["spec"]["replicas"], 1);
        // No scalable targets, no caches, no canary: Loki and its gateway are all that run.
        let mut workloads: Vec<String> = objs
            .iter()
            .filter(|o| ["StatefulSet", "Deployment", "DaemonSet"].contains(&o["kind"].as_str().unwrap()))
            .map(|o| format!("{} {}", o["kind"].as_str().unwrap(), o["metadata"]["name"].as_str().unwrap()))
            .collect();
        workloads.sort();
        assert_eq!(workloads, ["Deployment loki-gateway", "StatefulSet loki"], "{}", m.display());
        assert_eq!(
            sts["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"],
            values["singleBinary"]["persistence"]["size"]
        );
        let pod = &sts["spec"]["template"];
        let loki = container(pod, "loki");
        let image = &values["loki"]["image"];
        let want = match image["digest"].as_str() {
            Some(d) => format!("docker.io/{}@{d}", image["repository"].as_str().unwrap()),
            None => format!("docker.io/{}:{}", image["repository"].as_str().unwrap(), image["tag"].as_str().unwrap()),
        };
        assert_eq!(loki["image"], want.as_str(), "{}", m.display());
        let tag = compose_image(compose, "loki");
        assert!(want.ends_with(&tag) || want.contains(&tag), "{}: Loki is compose's {tag}: {want}", m.display());
        // The ruler reads the tenant's rule files where the sidecar writes every ConfigMap
        // labelled as the rules are: `<directory>/fake/`.
        let dir = config["ruler"]["storage"]["local"]["directory"].as_str().unwrap();
        let sidecar = container(pod, "loki-sc-rules");
        let env = |c: &Value, n: &str| {
            c["env"]
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["name"] == n)
                .map(|e| e["value"].as_str().unwrap().to_string())
        };
        assert_eq!(env(sidecar, "FOLDER").as_deref(), Some(format!("{dir}/fake").as_str()), "{}", m.display());
        let mounted =
            |c: &Value| c["volumeMounts"].as_array().unwrap().iter().any(|v| v["mountPath"] == format!("{dir}/fake"));
        assert!(mounted(loki) && mounted(sidecar), "{}: Loki reads what the sidecar writes", m.display());
        let label = env(sidecar, "LABEL").unwrap();
        assert_eq!(env(sidecar, "RESOURCE").as_deref(), Some("configmap"));
        // Its rights are in the namespace: nothing cluster-wide (the chart's default ClusterRole
        // reads every Secret of the cluster).
        assert!(
            !objs.iter().any(|o| o["kind"].as_str().unwrap().starts_with("Cluster")),
            "{}: the loki chart makes cluster-wide RBAC",
            m.display()
        );
        // The chart's Role for the sidecar names Secrets too (its `templates/role.yaml`), in
        // the stack's namespace: what docs/kubernetes.md says.
        let role = objs.iter().find(|o| o["kind"] == "Role").expect("the sidecar's Role").to_string();
        assert!(role.contains("\"configmaps\"") && role.contains("\"secrets\""), "{role}");
        // The log alerts: compose's rule files, each a ConfigMap the sidecar loads; but for
        // the services whose logs the cluster does not collect (outside it).
        let on_compose: BTreeMap<String, Value> = compose
            .iter()
            .filter(|(p, _)| p.starts_with("loki/rules/fake/"))
            .map(|(p, t)| (p.rsplit('/').next().unwrap().trim_end_matches(".yml").to_string(), yaml_to_json(t)))
            .collect();
        let mut on_k8s = BTreeMap::new();
        for (path, o) in objects(k8s).into_iter().filter(|(p, _)| p.starts_with("manifests/logs/loki-rules-")) {
            assert_eq!(o["kind"], "ConfigMap");
            assert!(o["metadata"]["labels"].get(&label).is_some(), "{path}: not labelled {label}");
            let data = o["data"].as_object().unwrap();
            assert_eq!(data.len(), 1);
            let (key, text) = data.iter().next().unwrap();
            assert!(key.ends_with(".yaml") && key.starts_with(o["metadata"]["name"].as_str().unwrap()), "{key}");
            let name = path.trim_start_matches("manifests/logs/loki-rules-").trim_end_matches(".yaml").to_string();
            on_k8s.insert(name, yaml_to_json(text.as_str().unwrap()));
        }
        let checked =
            sightline::check_for(&m.to_string_lossy(), &std::fs::read(m).unwrap(), Some(Platform::Kubernetes));
        let stack = sightline::ir::lower_for(checked.manifest.as_ref().unwrap(), "m", Some(Platform::Kubernetes));
        let outside: Vec<&str> = stack
            .services
            .iter()
            .filter(|s| matches!(s.place, sightline::ir::Place::Outside { .. }))
            .map(|s| s.name.as_str())
            .collect();
        if outside.is_empty() {
            assert_eq!(on_k8s, on_compose, "{}: the log alerts are compose's", m.display());
        } else {
            let text = serde_json::to_string(&on_k8s).unwrap();
            for o in &outside {
                let named =
                    [format!("service=\\\"{o}\\\""), format!("\\\"{o}|"), format!("|{o}\\\""), format!("|{o}|")];
                assert!(
                    !named.iter().any(|n| text.contains(n.as_str())),
                    "{}: a log alert about {o}, outside the cluster: {text}",
                    m.display()
                );
            }
            assert!(on_k8s.len() <= on_compose.len());
        }
    }
    let scratch = tempfile::tempdir().unwrap();
    validate_renders(scratch.path(), &renders);
}

/// A Loki configuration without the section SchemaStore's schema (of April 2024) predates:
/// `bloom_build` (Loki 3.3), which the chart writes turned off.
fn loki_sections(config: &Value) -> Value {
    let mut c = config.clone();
    assert_eq!(c["bloom_build"]["enabled"], false);
    c.as_object_mut().unwrap().remove("bloom_build");
    c
}

/// The URL of the chart's Alertmanager, as the Grafana datasource names it.
fn values_alertmanager_url(k8s: &Plan) -> Value {
    let ds = yaml_to_json(&k8s["manifests/grafana/datasources.yaml"]);
    let text = ds["data"].as_object().unwrap().values().next().unwrap().as_str().unwrap().to_string();
    let ds = yaml_to_json(&text);
    let am = ds["datasources"].as_array().unwrap().iter().find(|d| d["type"] == "alertmanager").unwrap().clone();
    am["url"].clone()
}

/// The image compose runs a component at: `<repository>:<tag>` or `@<digest>`, without the
/// registry.
fn compose_image(compose: &Plan, service: &str) -> String {
    let c = yaml_to_json(&compose["compose.yaml"]);
    let image = c["services"][service]["image"].as_str().unwrap().to_string();
    image.rsplit_once('@').map(|(_, d)| d.to_string()).unwrap_or_else(|| image.rsplit_once(':').unwrap().1.to_string())
}

#[test]
fn the_loki_chart_keeps_the_chunks_in_the_manifests_bucket_with_its_key_from_the_secret() {
    let manifest = "version: 1\nstack: shop\nenvironment: prod\nplatform: kubernetes\nkubernetes:\n  namespace: observability\n  loki_bucket:\n    name: shop-logs\n    endpoint: minio.storage.svc:9000\n    region: us-east-1\n    path_style: true\n    insecure: true\n    credentials: { access_key_id: { env: LOKI_KEY_ID }, secret_access_key: { file: /run/secrets/loki_secret } }\nservices:\n  api: { kind: http, port: 8000 }\n";
    let checked = sightline::check_for("stack.yaml", manifest.as_bytes(), None);
    assert!(!checked.has_errors(), "{:?}", checked.diagnostics);
    let plan = sightline::plan_pinned(&checked, &BTreeMap::new(), None).unwrap().unwrap().files;
    let values = &plan["helm/loki.values.yaml"];
    let objs = helm_template("loki-chart", "loki", "observability", values);
    let config = yaml_to_json(rendered(&objs, "ConfigMap", "loki")["data"]["config.yaml"].as_str().unwrap());
    let errors = schema_errors(&crate::support::schema_validator("schemastore/loki.json"), &loki_sections(&config));
    assert!(errors.is_empty(), "{errors:#?}");
    let s3 = &config["common"]["storage"]["s3"];
    assert_eq!(s3["bucketnames"], "shop-logs");
    assert_eq!(s3["endpoint"], "minio.storage.svc:9000");
    assert_eq!(s3["s3forcepathstyle"], true);
    assert_eq!(s3["insecure"], true);
    assert_eq!(config["schema_config"]["configs"][0]["object_store"], "s3");
    assert_eq!(config["compactor"]["delete_request_store"], "s3");
    let sts = rendered(&objs, "StatefulSet", "loki");
    let loki = container(&sts["spec"]["template"], "loki");
    assert_eq!(s3["region"], "us-east-1");
    // The key is in no file: the configuration names none, and Loki's S3 client (the AWS
    // SDK's default credentials) reads it from the AWS SDK's variables, set from the Secret.
    assert!(s3.get("access_key_id").is_none() && s3.get("secret_access_key").is_none(), "{s3}");
    for (name, key) in [("AWS_ACCESS_KEY_ID", "LOKI_KEY_ID"), ("AWS_SECRET_ACCESS_KEY", "loki_secret")] {
        let env = loki["env"].as_array().unwrap().iter().find(|e| e["name"] == name).unwrap();
        assert_eq!(env["valueFrom"]["secretKeyRef"], serde_json::json!({ "name": "shop-secrets", "key": key }));
    }
}

#[test]
fn alloy_runs_on_every_node_reading_each_services_pods() {
    let parser = require_tool("alloy-syntax");
    let names = regex::Regex::new(r#"names = \["([^"]+)"\]"#).unwrap();
    let mut renders = Vec::new();
    for (m, k8s, compose) in built() {
        let map = yaml_to_json(&k8s["manifests/logs/alloy.yaml"]);
        let name = map["metadata"]["name"].as_str().unwrap();
        let namespace = map["metadata"]["namespace"].as_str().unwrap();
        let config = map["data"]["config.alloy"].as_str().unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.alloy"), config).unwrap();
        let (ok, out) = run(Command::new(&parser).arg(dir.path().join("config.alloy")));
        assert!(ok, "{}: Alloy's parser refuses the ConfigMap's config:\n{out}", m.display());
        // Pushed to the Loki Grafana reads.
        assert!(config.contains(&format!("url = \"http://loki-gateway.{namespace}.svc/loki/api/v1/push\"")));
        // Each service in the cluster: its pods, in its namespace, on this node only.
        let checked =
            sightline::check_for(&m.to_string_lossy(), &std::fs::read(m).unwrap(), Some(Platform::Kubernetes));
        let stack = sightline::ir::lower_for(checked.manifest.as_ref().unwrap(), "m", Some(Platform::Kubernetes));
        for s in &stack.services {
            let id = format!("pods_{}", s.name.as_str().replace('-', "_"));
            match &s.place {
                sightline::ir::Place::Cluster { namespace, pods, .. } => {
                    let start = config
                        .find(&format!("discovery.kubernetes \"{id}\" {{"))
                        .unwrap_or_else(|| panic!("{}: {} not discovered", m.display(), s.name));
                    let block = &config[start..start + config[start..].find("\n}\n").unwrap()];
                    let selector: Vec<String> = pods.iter().map(|(k, v)| format!("{k}={v}")).collect();
                    assert!(block.contains(&format!("names = [\"{namespace}\"]")), "{block}");
                    assert!(block.contains(&format!("label = \"{}\"", selector.join(","))), "{block}");
                    assert!(
                        block.contains(
                            "field = \"spec.nodeName=\" + coalesce(sys.env(\"HOSTNAME\"), constants.hostname)"
                        )
                    );
                    assert!(
                        config.contains(&format!("replacement  = \"{}\"", s.name)),
                        "{}: {} unlabelled",
                        m.display(),
                        s.name
                    );
                    assert!(config.contains(&format!("discovery.relabel.{id}.output,")));
                }
                sightline::ir::Place::Outside { .. } => assert!(!config.contains(&format!("\"{id}\""))),
            }
        }
        // The same parsing and redaction as on compose, after the CRI lines are undone.
        if let Some(on_compose) = compose.get("alloy/config.alloy") {
            // The redaction (from the first `stage.replace`), then each service's stages.
            let stages = |text: &str| -> Vec<String> {
                let p = &text[text.find("loki.process \"").unwrap()..];
                let p = &p[..p.find("\n  forward_to").unwrap()];
                let p = &p[p.find("  stage.replace").or_else(|| p.find("\n  stage.match")).unwrap_or(p.len())..];
                p.split("\n  stage.match").map(|b| b.trim().to_string()).collect()
            };
            let in_cluster = |block: &String| {
                !block.starts_with('{')
                    || stack.services.iter().any(|s| {
                        matches!(s.place, sightline::ir::Place::Cluster { .. })
                            && block.contains(&format!("{{service=\\\"{}\\\"}}", s.name))
                    })
            };
            if on_compose.contains("loki.process \"containers\"") {
                let want: Vec<String> = stages(on_compose).into_iter().filter(in_cluster).collect();
                assert_eq!(stages(config), want, "{}", m.display());
            }
        }
        assert!(config.find("stage.cri").unwrap() < config.find("stage.label_drop").unwrap());
        kubelet_files_match(config);
        // The chart runs it as a DaemonSet with that ConfigMap, the nodes' logs mounted.
        let objs = helm_template("alloy-chart", "alloy", namespace, &k8s["helm/alloy.values.yaml"]);
        renders.push((m.file_stem().unwrap().to_string_lossy().into_owned(), objs.clone()));
        let ds = rendered(&objs, "DaemonSet", "alloy");
        let pod = &ds["spec"]["template"]["spec"];
        let volumes = pod["volumes"].as_array().unwrap();
        assert!(volumes.iter().any(|v| v["configMap"]["name"] == name), "{}: {volumes:?}", m.display());
        assert!(volumes.iter().any(|v| v["hostPath"]["path"] == "/var/log"));
        let alloy = pod["containers"].as_array().unwrap().iter().find(|c| c["name"] == "alloy").unwrap();
        let args = alloy["args"].to_string();
        assert!(args.contains("/etc/alloy/config.alloy"), "{args}");
        assert!(alloy["volumeMounts"].to_string().contains("\"mountPath\":\"/var/log\""));
        let storage =
            yaml_to_json(&k8s["helm/alloy.values.yaml"])["alloy"]["storagePath"].as_str().unwrap().to_string();
        assert!(
            args.contains(&storage) && alloy["volumeMounts"].to_string().contains(&storage),
            "positions kept on the node"
        );
        let tag = compose_image(&alloy_compose(compose), "alloy");
        assert!(alloy["image"].as_str().unwrap().contains(&tag), "{}: {} is not {tag}", m.display(), alloy["image"]);
        // It may list and watch pods, nothing else, in each namespace it discovers pods in.
        let pods_only =
            serde_json::json!([{ "apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"] }]);
        let mut roles: Vec<String> = objs
            .iter()
            .filter(|o| o["kind"] == "Role" || o["kind"] == "ClusterRole")
            .map(|o| {
                assert_eq!(o["kind"], "Role", "{}: Alloy's rights are cluster-wide", m.display());
                assert_eq!(o["rules"], pods_only, "{}", m.display());
                o["metadata"]["namespace"].as_str().unwrap().to_string()
            })
            .collect();
        roles.sort();
        let mut discovered: Vec<String> = names.captures_iter(config).map(|c| c[1].to_string()).collect();
        discovered.sort();
        discovered.dedup();
        assert!(!discovered.is_empty(), "{}", m.display());
        assert_eq!(roles, discovered, "{}: a Role in each namespace Alloy discovers pods in", m.display());
        // On every Linux node, tainted ones too; no usage reports.
        assert_eq!(pod["tolerations"], serde_json::json!([{ "operator": "Exists" }]));
        assert_eq!(pod["nodeSelector"]["kubernetes.io/os"], "linux");
        assert!(args.contains("--disable-reporting"), "{args}");
    }
    let scratch = tempfile::tempdir().unwrap();
    validate_renders(scratch.path(), &renders);
}

/// The `__path__` Alloy makes of a pod's target (its relabel rule: source labels joined by the
/// separator, `$1` of the whole) finds, as a glob (`local.file_match`: `*` within a path
/// element), the files the kubelet writes a container's output to,
/// `/var/log/pods/<namespace>_<pod>_<uid>/<container>/<restarts>.log` (Kubernetes'
/// `BuildPodLogsDirectory` and `BuildContainerLogsDirectory`), and not another container's.
fn kubelet_files_match(config: &str) {
    let at = config.find("target_label  = \"__path__\"").expect("a __path__ rule");
    let rule = &config[config[..at].rfind("rule {").unwrap()..at + config[at..].find('}').unwrap()];
    let field = |name: &str| {
        let line = rule.lines().find(|l| l.trim_start().starts_with(name)).unwrap();
        line.split_once('=').unwrap().1.trim().to_string()
    };
    let labels: Vec<String> = field("source_labels")
        .trim_matches(['[', ']'])
        .split(',')
        .map(|l| l.trim().trim_matches('"').to_string())
        .collect();
    assert_eq!(labels, ["__meta_kubernetes_pod_uid", "__meta_kubernetes_pod_container_name"]);
    let separator = field("separator").trim_matches('"').to_string();
    let uid = "5f3c2a1e-9b7d-4e2f-8a6c-1d2e3f4a5b6c";
    let joined = [uid, "api"].join(&separator);
    let path = field("replacement").trim_matches('"').replace("$1", &joined);
    let glob = regex::Regex::new(&format!("^{}$", regex::escape(&path).replace("\\*", "[^/]*"))).unwrap();
    assert!(glob.is_match(&format!("/var/log/pods/shop_api-7d9f8c6b5-x2k4q_{uid}/api/0.log")), "{path}");
    assert!(glob.is_match(&format!("/var/log/pods/shop_api-7d9f8c6b5-x2k4q_{uid}/api/3.log")), "{path}");
    assert!(!glob.is_match(&format!("/var/log/pods/shop_api-7d9f8c6b5-x2k4q_{uid}/istio-proxy/0.log")), "{path}");
    assert!(!glob.is_match("/var/log/pods/shop_web-1_00000000-0000-0000-0000-000000000000/api/0.log"), "{path}");
}

#[test]
fn celery_workers_and_shared_pods_are_placed_by_their_pods() {
    use sightline::code::Code;
    let manifest = "version: 1\nstack: shop\nenvironment: prod\nplatform: kubernetes\nservices:\n  cache: { kind: redis, port: 6379 }\n  worker:\n    kind: celery\n    broker: { service: cache }\n    kubernetes: { namespace: jobs, pods: { app: worker } }\n";
    let checked = sightline::check_for("stack.yaml", manifest.as_bytes(), None);
    assert!(!checked.has_errors(), "{:?}", checked.diagnostics);
    let plan = sightline::plan_pinned(&checked, &BTreeMap::new(), None).unwrap().unwrap().files;
    let config = yaml_to_json(&plan["manifests/logs/alloy.yaml"])["data"]["config.alloy"].as_str().unwrap().to_string();
    let at = config.find("discovery.kubernetes \"pods_worker\"").unwrap();
    let block = &config[at..at + config[at..].find("\n}\n").unwrap()];
    assert!(block.contains("names = [\"jobs\"]") && block.contains("label = \"app=worker\""), "{block}");
    let codes = |text: &str| -> Vec<Code> {
        sightline::check_for("stack.yaml", text.as_bytes(), None).diagnostics.into_iter().map(|d| d.code).collect()
    };
    // A worker is behind no Service.
    assert!(codes(&manifest.replace("namespace: jobs,", "service: worker,")).contains(&Code::ServicePlace));
    // Two services whose pods are one service's: every line would be shipped twice.
    let shared = manifest.replace(
        "  cache: { kind: redis, port: 6379 }\n",
        "  cache: { kind: redis, port: 6379, kubernetes: { namespace: jobs, selector: { app: worker, role: cache } } }\n",
    );
    assert!(codes(&shared).contains(&Code::ServicePlace), "{:?}", codes(&shared));
    let apart = shared.replace("pods: { app: worker }", "pods: { app: worker, role: worker }");
    assert!(!codes(&apart).contains(&Code::ServicePlace), "{:?}", codes(&apart));
    // Or one pod, two containers: each service its own.
    let sidecar = shared
        .replace("pods: { app: worker }", "pods: { app: worker }, container: celery")
        .replace("role: cache } }", "role: cache }, container: redis }");
    assert!(!codes(&sidecar).contains(&Code::ServicePlace), "{:?}", codes(&sidecar));
    let one = sidecar.replace(", container: redis", "");
    assert!(codes(&one).contains(&Code::ServicePlace), "a container of its pods reads the other's too");
    let checked = sightline::check_for("stack.yaml", sidecar.as_bytes(), None);
    let plan = sightline::plan_pinned(&checked, &BTreeMap::new(), None).unwrap().unwrap().files;
    let config = yaml_to_json(&plan["manifests/logs/alloy.yaml"])["data"]["config.alloy"].as_str().unwrap().to_string();
    let at = config.find("discovery.relabel \"pods_worker\"").unwrap();
    let block = &config[at..at + config[at..].find("\n}\n").unwrap()];
    assert!(
        block.contains("source_labels = [\"__meta_kubernetes_pod_container_name\"]")
            && block.contains("regex         = \"celery\"")
            && block.contains("action        = \"keep\""),
        "{block}"
    );
}

#[test]
fn the_chart_scrapes_loki_as_the_kept_monitoring_rules_select_it() {
    // The loki chart's ServiceMonitor, selected and turned into targets by the Prometheus
    // Operator's own code (tools/operator_config) over the chart's Services and the pods of its
    // StatefulSet: Loki is one target of job `loki` on its metrics port, the job the kept
    // monitoring rules select.
    let operator = require_tool("operator-config");
    let (m, k8s, _) = &built()[0];
    let namespace = objects(k8s)[0].1["metadata"]["namespace"].as_str().unwrap().to_string();
    let mut objs = helm_template("loki-chart", "loki", &namespace, &k8s["helm/loki.values.yaml"]);
    // And the Pushgateway's, when the stack runs one (its job is kept too).
    if let Some(values) = k8s.get("helm/pushgateway.values.yaml") {
        objs.extend(helm_template("pushgateway-chart", "pushgateway", &namespace, values));
    }
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (i, o) in objs.iter().enumerate() {
        let mut o = o.clone();
        match o["kind"].as_str().unwrap() {
            "ServiceMonitor" | "Service" | "Deployment" => {}
            // Its pods are its template's, as a Deployment's (what the simulation reads).
            "StatefulSet" => {
                o["kind"] = "Deployment".into();
                o["spec"] = serde_json::json!({ "selector": o["spec"]["selector"], "template": o["spec"]["template"] });
            }
            _ => continue,
        }
        let file = dir.path().join(format!("{i}.json"));
        std::fs::write(&file, o.to_string()).unwrap();
        files.push(file);
    }
    // And the blackbox exporter the tree runs and scrapes itself (its job is kept too).
    for (path, o) in objects(k8s) {
        if path.contains("/blackbox-exporter") && o["kind"] != "ConfigMap" {
            let file = dir.path().join(path.replace('/', "_") + ".json");
            std::fs::write(&file, o.to_string()).unwrap();
            files.push(file);
        }
    }
    let rule = objects(k8s).into_iter().find(|(p, _)| p.ends_with("prometheus-rules/monitoring.yaml")).unwrap().1;
    let chart_release = rule["metadata"]["labels"]["release"].as_str().unwrap().to_string();
    let overlay = dir.path().join("values.yaml");
    std::fs::write(&overlay, &k8s["helm/kube-prometheus-stack.values.yaml"]).unwrap();
    let out = Command::new(&operator)
        .args(["-targets", "-namespace", &namespace, "-release", &chart_release, "-values"])
        .arg(&overlay)
        .args(&files)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}: {}", m.display(), String::from_utf8_lossy(&out.stderr));
    let targets: Vec<Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let loki: Vec<&Value> = targets.iter().filter(|t| t["labels"]["job"] == "loki").collect();
    assert_eq!(loki.len(), 1, "{}: {targets:#?}", m.display());
    assert!(loki[0]["labels"]["__address__"].as_str().unwrap().ends_with(":3100"), "{:?}", loki[0]);
    assert_eq!(loki[0]["labels"]["__metrics_path__"], "/metrics");
    // Every job the kept monitoring rules select has a target.
    let text = rule.to_string();
    for job in regex::Regex::new(r#"job=\\"([^\\"]+)\\""#).unwrap().captures_iter(&text) {
        assert!(targets.iter().any(|t| t["labels"]["job"] == job[1]), "{}: no target of job {}", m.display(), &job[1]);
    }
    assert!(text.contains("LokiRuleFailures") && text.contains("MonitoringTargetDown"), "{text}");
}

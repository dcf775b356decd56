//! The batch jobs' Pushgateway: the chart's, scraped as compose's, its series feeding the rules.

use super::*;

#[test]
fn batch_jobs_push_to_the_chart_s_pushgateway_and_its_scrape_feeds_the_rules() {
    // The prometheus-pushgateway chart's render of the overlay, valid Kubernetes, running
    // compose's Pushgateway with its results on a volume; its ServiceMonitor turned into
    // Prometheus's configuration and targets by the operator's own code (tools/operator_config);
    // then, for real, a Pushgateway given each job's result as docs/manifest.md's line pushes
    // it, scraped by Prometheus as that configuration scrapes it, and the batch job rules of
    // the PrometheusRule evaluated over what it stored.
    let operator = require_tool("operator-config");
    let mut seen = 0;
    for (m, k8s, compose) in built() {
        let compose_doc = yaml_to_json(&compose["compose.yaml"]);
        let Some(values) = k8s.get("helm/pushgateway.values.yaml") else {
            assert!(compose_doc["services"]["pushgateway"].is_null(), "{}: no Pushgateway on kubernetes", m.display());
            continue;
        };
        seen += 1;
        let namespace = objects(k8s)[0].1["metadata"]["namespace"].as_str().unwrap().to_string();
        let objs = helm_template("pushgateway-chart", "pushgateway", &namespace, values);
        let scratch = tempfile::tempdir().unwrap();
        validate_renders(scratch.path(), &[("pushgateway".into(), objs.clone())]);
        let monitor = rendered(&objs, "ServiceMonitor", "pushgateway");
        let errors = schema_errors(&crd_schema("servicemonitors-crd.json", "v1"), monitor);
        assert!(errors.is_empty(), "{}: the chart's ServiceMonitor: {errors:?}", m.display());
        assert_eq!(monitor["metadata"]["namespace"], namespace.as_str(), "{}", m.display());

        // Compose's Pushgateway: its image, its persistence on the pod's volume.
        let deployment = rendered(&objs, "Deployment", "pushgateway");
        let pod = &deployment["spec"]["template"];
        let c = container(pod, "pushgateway");
        // (Compose runs one for batch jobs only; the cluster's backups report to one too.)
        let theirs = compose_doc["services"].get("pushgateway").cloned();
        if let Some(theirs) = &theirs {
            let image = theirs["image"].as_str().unwrap();
            assert_eq!(c["image"].as_str().unwrap().trim_start_matches("docker.io/"), image, "{}", m.display());
        }
        let args: Vec<&str> = c["args"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
        let file = args.iter().find_map(|a| a.strip_prefix("--persistence.file=")).unwrap();
        let mount =
            c["volumeMounts"].as_array().unwrap().iter().find(|v| file.starts_with(v["mountPath"].as_str().unwrap()));
        let volume = pod["spec"]["volumes"].as_array().unwrap().iter().find(|v| v["name"] == mount.unwrap()["name"]);
        let claim = volume.unwrap()["persistentVolumeClaim"]["claimName"].as_str().unwrap();
        assert!(rendered(&objs, "PersistentVolumeClaim", claim)["spec"]["accessModes"][0] == "ReadWriteOnce");
        if let Some(theirs) = &theirs {
            let compose_args = theirs["command"].as_array().unwrap();
            let interval =
                |args: Vec<&str>| args.into_iter().find(|a| a.starts_with("--persistence.interval")).map(String::from);
            assert_eq!(
                interval(args.clone()),
                interval(compose_args.iter().map(|a| a.as_str().unwrap()).collect()),
                "{}",
                m.display()
            );
        }

        // Hardened as the exporters are; reached only from the stack's namespace and the jobs'.
        let hardened = serde_json::json!({
            "allowPrivilegeEscalation": false,
            "readOnlyRootFilesystem": true,
            "capabilities": { "drop": ["ALL"] },
        });
        assert_eq!(c["securityContext"], hardened, "{}", m.display());
        assert_eq!(pod["spec"]["securityContext"]["seccompProfile"]["type"], "RuntimeDefault");
        assert_eq!(pod["spec"]["securityContext"]["runAsNonRoot"], true);
        let policy = objs.iter().find(|o| o["kind"] == "NetworkPolicy").expect("a NetworkPolicy");
        let from: Vec<&str> = policy["spec"]["ingress"][0]["from"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"].as_str().unwrap())
            .collect();
        assert!(from.contains(&namespace.as_str()), "{}: {from:?}", m.display());
        assert_eq!(policy["spec"]["ingress"].as_array().unwrap().len(), 1);

        // Where the jobs push, as the rules' advice says: the chart's Service.
        let service = rendered(&objs, "Service", "pushgateway");
        let url = format!("http://pushgateway.{namespace}.svc:{}", service["spec"]["ports"][0]["port"]);

        // The operator's configuration and targets of the chart's ServiceMonitor.
        let mut files = Vec::new();
        for (i, o) in objs
            .iter()
            .filter(|o| ["ServiceMonitor", "Service", "Deployment"].contains(&o["kind"].as_str().unwrap()))
            .enumerate()
        {
            let f = scratch.path().join(format!("object-{i}.json"));
            std::fs::write(&f, o.to_string()).unwrap();
            files.push(f);
        }
        // The chart's overlay but for its remote-write receivers (whose logins are the stack's
        // Secret's, not this scrape's).
        let mut chart_values = yaml_to_json(&k8s["helm/kube-prometheus-stack.values.yaml"]);
        chart_values["prometheus"]["prometheusSpec"].as_object_mut().unwrap().remove("remoteWrite");
        let overlay = scratch.path().join("values.yaml");
        std::fs::write(&overlay, chart_values.to_string()).unwrap();
        let release = monitor["metadata"]["labels"]["release"].as_str().unwrap().to_string();
        let operate = |targets: bool| {
            let mut cmd = Command::new(&operator);
            if targets {
                cmd.arg("-targets");
            }
            let out = cmd
                .args(["-namespace", &namespace, "-release", &release, "-values"])
                .arg(&overlay)
                .args(&files)
                .output()
                .unwrap();
            assert!(out.status.success(), "{}: {}", m.display(), String::from_utf8_lossy(&out.stderr));
            String::from_utf8(out.stdout).unwrap()
        };
        let targets: Vec<Value> = operate(true).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(targets.len(), 1, "{}: {targets:#?}", m.display());
        let labels = &targets[0]["labels"];
        assert_eq!(labels["job"], "pushgateway", "{}: the job the kept monitoring rules select", m.display());
        assert!(labels["__address__"].as_str().unwrap().ends_with(":9091"), "{labels}");
        let config = yaml_to_json(&operate(false));
        let job = config["scrape_configs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|j| j["job_name"].as_str().unwrap().contains("/pushgateway/"))
            .unwrap()
            .clone();
        assert_eq!(job["honor_labels"], false, "{}: a pushed `job` must not replace the target's", m.display());

        // With batch jobs (not only backups, which have their own test): where they push, as
        // the rules' advice says, is the chart's Service.
        let Some(jobs_yml) = compose.get("prometheus/rules/jobs.yml") else { continue };
        let jobs = objects(k8s).into_iter().find(|(p, _)| p.ends_with("prometheus-rules/jobs.yaml")).unwrap().1;
        assert!(jobs.to_string().contains(&format!("cannot reach {url},")), "{}: {url}", m.display());

        // For real: the Pushgateway given a success of the first job and a failure of the
        // second, scraped as that job scrapes it (its target's labels, its metric relabelling).
        let names: Vec<String> = yaml_to_json(jobs_yml)["groups"][0]["rules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["labels"]["batch_job"].as_str().unwrap().to_string())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        assert!(names.len() >= 2, "{}: two jobs at least", m.display());
        // With the chart's arguments, its volume a directory here.
        let data = scratch.path().join("data");
        std::fs::create_dir(&data).unwrap();
        let mount = mount.unwrap()["mountPath"].as_str().unwrap();
        let chart_args: Vec<String> =
            args.iter().map(|a| a.replace(&format!("={mount}/"), &format!("={}/", data.display()))).collect();
        let (_gateway, gw_port) = crate::support::pushgateway(&chart_args, &scratch.path().join("pushgateway.log"));
        let prom_port = crate::support::free_port();
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        for (name, metric) in [(&names[0], "success"), (&names[1], "failure")] {
            let body = format!("sightline_job_last_{metric}_timestamp_seconds {now}\n");
            let answer = crate::support::http(gw_port, "POST", &format!("/metrics/job/{name}"), &body).unwrap();
            assert!(answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200"), "{answer}");
        }
        let mut static_labels = serde_json::Map::new();
        for (k, v) in labels.as_object().unwrap().iter().filter(|(k, _)| !k.starts_with("__")) {
            static_labels.insert(k.clone(), v.clone());
        }
        let prometheus_yml = serde_json::json!({
            "global": { "scrape_interval": "1s", "evaluation_interval": "1s" },
            "scrape_configs": [{
                "job_name": "pushgateway",
                "honor_labels": job["honor_labels"],
                "metric_relabel_configs": job["metric_relabel_configs"],
                "static_configs": [{ "targets": [format!("127.0.0.1:{gw_port}")], "labels": static_labels }],
            }],
        });
        let config_file = scratch.path().join("prometheus.yml");
        std::fs::write(&config_file, prometheus_yml.to_string()).unwrap();
        let _prometheus = crate::support::Running::listening(
            Command::new(require_tool("prometheus"))
                .arg(format!("--config.file={}", config_file.display()))
                .arg(format!("--storage.tsdb.path={}", scratch.path().join("tsdb").display()))
                .arg(format!("--web.listen-address=127.0.0.1:{prom_port}")),
            prom_port,
            &scratch.path().join("prometheus.log"),
        );
        // Its API answers 503 until its storage is open: wait until it is ready.
        let ready = (0..200).any(|_| {
            let up = crate::support::http_get(prom_port, "/-/ready").is_some_and(|a| a.contains(" 200 "));
            if !up {
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            up
        });
        assert!(ready, "{}: Prometheus is not ready", m.display());
        let mut stored = Vec::new();
        for _ in 0..100 {
            stored = query(prom_port, "{__name__=~\"sightline_job_.*\"}");
            if stored.len() == 2 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        assert_eq!(stored.len(), 2, "{}: {stored:#?}", m.display());
        // The series compose's Prometheus stores (the rules' tests' series), in the namespace.
        for s in &stored {
            let mut l = s["metric"].as_object().unwrap().clone();
            assert_eq!(l.remove("namespace"), Some(Value::from(namespace.as_str())), "{l:?}");
            let name = l.remove("__name__").unwrap();
            let job = l.remove("batch_job").unwrap();
            assert!(names[..2].contains(&job.as_str().unwrap().to_string()), "{job}");
            let expected = serde_json::json!({ "job": "pushgateway", "instance": "pushgateway:9091" });
            assert_eq!(Value::Object(l), expected, "{}: {name} of {job}", m.display());
        }
        // Each alert's expression over it, as the PrometheusRule has it: the first job fine, the
        // second failed and never succeeded.
        for rule in jobs["spec"]["groups"][0]["rules"].as_array().unwrap() {
            let (alert, job) = (rule["alert"].as_str().unwrap(), rule["labels"]["batch_job"].as_str().unwrap());
            let fires = !query(prom_port, rule["expr"].as_str().unwrap()).is_empty();
            let expected = job == names[1] && alert != "BatchJobLate"
                || !names[..2].contains(&job.to_string()) && alert == "BatchJobNeverSucceeded";
            assert_eq!(fires, expected, "{}: {alert} of {job}: {}", m.display(), rule["expr"]);
        }
    }
    assert!(seen > 0, "a manifest with batch jobs");
}

#[test]
fn batch_jobs_outside_the_cluster_are_left_out_with_their_alerts() {
    // A job of a service outside the cluster cannot reach the cluster's Pushgateway: no rules
    // for it (they would fire for results that cannot arrive), SL903 names it; with no job
    // left, no Pushgateway, and no rule about one.
    let build = |jobs: &str| {
        let text = format!(
            "version: 1\nstack: shop\nenvironment: prod\nservices:\n  api: {{ kind: http, port: 8000, kubernetes: {{ namespace: shop }} }}\n  legacy: {{ kind: generic, port: 9000, kubernetes: {{ address: legacy.example.com }} }}\njobs:\n{jobs}"
        );
        let checked = sightline::check_for("stack.yaml", text.as_bytes(), Some(Platform::Kubernetes));
        assert!(!checked.has_errors(), "{:?}", checked.diagnostics);
        let note =
            checked.diagnostics.iter().find(|d| d.code == sightline::code::Code::NotLowered).map(|d| d.message.clone());
        let files =
            sightline::plan_pinned(&checked, &BTreeMap::new(), Some(Platform::Kubernetes)).unwrap().unwrap().files;
        (note.unwrap_or_default(), files)
    };
    let (note, files) = build(
        "  - { name: cleanup, service: api, schedule: \"0 3 * * *\" }\n  - { name: reconcile, service: legacy, schedule: \"0 * * * *\" }\n",
    );
    assert!(note.contains("(`reconcile`)") && !note.contains("cleanup"), "{note}");
    let jobs = &files["manifests/prometheus-rules/jobs.yaml"];
    assert!(jobs.contains("batch_job: cleanup") && !jobs.contains("reconcile"), "{jobs}");
    let values = yaml_to_json(&files["helm/pushgateway.values.yaml"]);
    let from = values["networkPolicy"]["customSelectors"].to_string();
    assert!(from.contains("\"monitoring\"") && from.contains("\"shop\""), "{from}");
    assert!(files["manifests/prometheus-rules/monitoring.yaml"].contains("up{job=\"pushgateway\"}"));

    let (note, files) = build("  - { name: reconcile, service: legacy, schedule: \"0 * * * *\" }\n");
    assert!(note.contains("(`reconcile`)"), "{note}");
    assert!(!files.contains_key("helm/pushgateway.values.yaml"));
    assert!(!files.contains_key("manifests/prometheus-rules/jobs.yaml"));
    assert!(!files.values().any(|f| f.contains("job=\"pushgateway\"")));
}

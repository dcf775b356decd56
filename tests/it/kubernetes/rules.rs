//! The rules, Alertmanager's configuration and the dashboards the same as compose's, checked by
//! promtool and amtool, and the routing checks reading the Kubernetes tree's rules.

use super::*;

#[test]
fn rules_are_the_compose_rules_and_promtool_accepts_them() {
    let promtool = require_tool("promtool");
    for (m, k8s, compose) in built() {
        let dir = tempfile::tempdir().unwrap();
        let mut files = Vec::new();
        let found = groups(k8s, compose);
        for (name, ours, mut theirs) in found.iter().cloned() {
            let mut compared = ours.clone();
            if name == "monitoring" {
                // The heartbeat's Watchdog, Loki's and the Pushgateway's (their charts'
                // ServiceMonitors scrape them as jobs `loki` and `pushgateway`) and the blackbox
                // exporter's (the tree's own ServiceMonitor, job `blackbox`, which the operator
                // test sees the operator make): the rest select compose's own jobs.
                theirs["rules"].as_array_mut().unwrap().retain(|r| {
                    r["alert"] == "Watchdog"
                        || ["loki", "pushgateway", "blackbox"].contains(&r["labels"]["job"].as_str().unwrap_or(""))
                });
                // The cluster's backups report to a Pushgateway, which compose runs for batch
                // jobs only: its rule is the one compose has with batch jobs.
                let compose_has =
                    theirs["rules"].as_array().unwrap().iter().any(|r| r["labels"]["job"] == "pushgateway");
                compared["rules"]
                    .as_array_mut()
                    .unwrap()
                    .retain(|r| compose_has || r["labels"]["job"] != "pushgateway");
                assert!(
                    theirs["rules"].as_array().unwrap().iter().any(|r| r["alert"] == "LokiRuleFailures"),
                    "{}",
                    m.display()
                );
            }
            if name == "backups" {
                // The jobs the cluster runs (SL903 names the others), without the textfile
                // collector's alert (the results are pushed there).
                let run: Vec<Value> =
                    ours["rules"].as_array().unwrap().iter().map(|r| r["labels"]["backup_job"].clone()).collect();
                theirs["rules"]
                    .as_array_mut()
                    .unwrap()
                    .retain(|r| r["alert"] != "BackupMetricsUnreadable" && run.contains(&r["labels"]["backup_job"]));
            }
            // But for the advice on an undelivered log alert, a batch job's and a backup's
            // missing results and a restore test that no longer runs, which names each
            // platform's own setting, address or object.
            for rules in [&mut theirs["rules"], &mut compared["rules"]] {
                for r in rules.as_array_mut().unwrap() {
                    let advice = [
                        "LokiNotificationsFailing",
                        "BatchJobNeverSucceeded",
                        "BackupMetricsMissing",
                        "BackupFailed",
                        "RestoreTestStale",
                        "RestoreTestMetricsMissing",
                    ];
                    if advice.iter().any(|a| r["alert"] == *a) {
                        r["annotations"]["description"] = Value::Null;
                    }
                }
            }
            assert_eq!(compared, theirs, "{}: {name}: the rules differ from compose's", m.display());
            let file = dir.path().join(format!("{name}.yml"));
            std::fs::write(&file, serde_json::to_string(&serde_json::json!({ "groups": [ours] })).unwrap()).unwrap();
            files.push(file);
        }
        // Every compose rule file is there but those the platform leaves out, on purpose.
        for path in compose.keys().filter_map(|p| p.strip_prefix("prometheus/rules/")) {
            let name = path.trim_end_matches(".yml");
            let kept = found.iter().any(|(n, _, _)| n == name);
            let expected = match name {
                "host" => false,
                // Kept for the backup jobs the cluster runs, if any.
                "backups" => k8s.keys().any(|p| p.starts_with("manifests/backups/")),
                // Kept for its Watchdog and Loki's rules.
                "monitoring" => true,
                _ => true,
            };
            assert_eq!(kept, expected, "{}: {name}", m.display());
        }
        let (ok, out) = run(Command::new(&promtool).args(["check", "rules", "--lint-fatal"]).args(&files));
        assert!(ok, "{}: promtool check rules:\n{out}", m.display());
        // The unit tests, as on compose, over the rule files written again beside them, which
        // are the PrometheusRules' groups.
        let tree = tempfile::tempdir().unwrap();
        let mut tests = Vec::new();
        for (path, text) in k8s.iter().filter(|(p, _)| p.starts_with("promtool/")) {
            let at = tree.path().join(path);
            std::fs::create_dir_all(at.parent().unwrap()).unwrap();
            std::fs::write(&at, text).unwrap();
            if let Some(name) = path.strip_prefix("promtool/rules/") {
                let (_, ours, _) = found.iter().find(|(n, _, _)| format!("{n}.yml") == name).expect("a PrometheusRule");
                assert_eq!(&yaml_to_json(text)["groups"][0], ours, "{}: {path}", m.display());
            } else {
                tests.push(path.strip_prefix("promtool/tests/").unwrap().to_string());
            }
        }
        let whole = found.iter().filter(|(n, _, _)| compose.contains_key(&format!("prometheus/tests/{n}.yml")));
        assert_eq!(whole.count(), tests.len(), "{}: every tested file kept whole has its tests", m.display());
        if !tests.is_empty() {
            let (ok, out) = run(Command::new(&promtool)
                .arg("test")
                .arg("rules")
                .args(&tests)
                .current_dir(tree.path().join("promtool/tests")));
            assert!(ok, "{}: promtool test rules:\n{out}", m.display());
        }
    }
}

/// Every `*_file` value replaced by the secret's key (the file's name), and the templates by
/// a marker: what is left is what must not differ between the platforms.
fn placeless(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for (k, v) in m.iter_mut() {
                if k.ends_with("_file") {
                    let key = v.as_str().unwrap().rsplit('/').next().unwrap().to_string();
                    *v = Value::String(format!("<secret {key}>"));
                } else {
                    placeless(v);
                }
            }
            if m.contains_key("templates") {
                m.insert("templates".into(), "<templates>".into());
            }
        }
        Value::Array(a) => a.iter_mut().for_each(placeless),
        _ => {}
    }
}

#[test]
fn alertmanager_is_the_compose_configuration_and_amtool_accepts_it() {
    let amtool = require_tool("amtool");
    for (m, k8s, compose) in built() {
        let (_, secret) = objects(k8s).into_iter().find(|(_, o)| o["kind"] == "Secret").expect("the config Secret");
        let data = secret["stringData"].as_object().unwrap();
        let config = data["alertmanager.yaml"].as_str().unwrap();
        let template = data["sightline.tmpl"].as_str().unwrap();
        // The same configuration but for where it reads templates and secrets.
        let mut ours = yaml_to_json(config);
        let mut theirs = yaml_to_json(&compose["alertmanager/alertmanager.yml"]);
        assert_eq!(ours["templates"], serde_json::json!(["/etc/alertmanager/config/*.tmpl"]));
        let secrets = format!(
            "/etc/alertmanager/secrets/{}-secrets/",
            secret["metadata"]["labels"]["app.kubernetes.io/part-of"].as_str().unwrap()
        );
        assert!(
            !config.contains("_file:") || config.lines().filter(|l| l.contains("_file:")).all(|l| l.contains(&secrets)),
            "{}: every secret is read from the stack's Secret:\n{config}",
            m.display()
        );
        placeless(&mut ours);
        placeless(&mut theirs);
        assert_eq!(ours, theirs, "{}: the configuration differs from compose's", m.display());
        // The templates too (compose's carries the generated-file header).
        let compose_template = &compose["alertmanager/templates/sightline.tmpl"];
        assert!(compose_template.ends_with(template), "{}: the templates differ", m.display());
        // amtool, with the Secret's keys where the operator mounts them (here: beside it).
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("sightline.tmpl"), template).unwrap();
        let local = config.replace("/etc/alertmanager/config/*.tmpl", &format!("{}/*.tmpl", dir.path().display()));
        std::fs::write(dir.path().join("alertmanager.yml"), local).unwrap();
        let (ok, out) = run(Command::new(&amtool)
            .args(["--enable-feature=utf8-strict-mode", "check-config", "alertmanager.yml"])
            .current_dir(dir.path()));
        assert!(ok && out.contains("1 templates"), "{}: amtool check-config:\n{out}", m.display());
    }
}

#[test]
fn dashboards_are_the_compose_dashboards_where_the_chart_finds_them() {
    for (m, k8s, compose) in built() {
        // (But the backups', when the cluster runs none of the manifest's backup jobs: SL903.)
        let backups = k8s.keys().any(|p| p.starts_with("manifests/backups/"));
        let boards: Vec<&String> = compose
            .keys()
            .filter(|p| p.starts_with("grafana/dashboards/") && (backups || !p.ends_with("/backups.json")))
            .collect();
        let maps: Vec<Value> = objects(k8s)
            .into_iter()
            .map(|(_, o)| o)
            .filter(|o| o["metadata"]["labels"]["grafana_dashboard"] == "1")
            .collect();
        assert_eq!(maps.len(), boards.len(), "{}: one ConfigMap per dashboard", m.display());
        for path in boards {
            let key = path.rsplit('/').next().unwrap();
            let map = maps.iter().find(|o| o["data"].get(key).is_some()).unwrap_or_else(|| panic!("{key}"));
            assert_eq!(map["kind"], "ConfigMap");
            assert_eq!(
                map["data"][key].as_str().unwrap().trim_end(),
                compose[path].trim_end(),
                "{}: {key}",
                m.display()
            );
        }
        // The datasources, with the UIDs the dashboards use, at the chart's Services.
        let ds = objects(k8s)
            .into_iter()
            .map(|(_, o)| o)
            .find(|o| o["metadata"]["labels"]["grafana_datasource"] == "1")
            .expect("the datasources ConfigMap");
        let k8s_sources = yaml_to_json(ds["data"]["sightline-datasources.yaml"].as_str().unwrap());
        let compose_sources = yaml_to_json(&compose["grafana/provisioning/datasources/datasources.yml"]);
        let uids =
            |v: &Value| v["datasources"].as_array().unwrap().iter().map(|d| d["uid"].clone()).collect::<Vec<_>>();
        assert_eq!(uids(&k8s_sources), uids(&compose_sources));
        let urls: Vec<&str> =
            k8s_sources["datasources"].as_array().unwrap().iter().map(|d| d["url"].as_str().unwrap()).collect();
        assert_eq!(
            urls,
            [
                "http://kube-prometheus-stack-prometheus.monitoring.svc:9090",
                "http://loki-gateway.monitoring.svc",
                "http://kube-prometheus-stack-alertmanager.monitoring.svc:9093"
            ],
            "{}",
            m.display()
        );
        // No login on the cluster's Prometheus and Alertmanager (SL907): the datasources send
        // none, where compose's send the logins `auth` gives (metrics-options, logs-alloy).
        for d in k8s_sources["datasources"].as_array().unwrap() {
            assert!(d.get("basicAuth").is_none() && d.get("basicAuthUser").is_none(), "{}: {d}", m.display());
        }
        let text = std::fs::read(m).unwrap();
        let checked = sightline::check_for(&m.to_string_lossy(), &text, Some(Platform::Kubernetes));
        let logins = checked.diagnostics.iter().filter(|d| d.code == sightline::code::Code::WebAuthNotSet).count();
        let compose_logins =
            compose_sources["datasources"].as_array().unwrap().iter().filter(|d| d["basicAuth"] == true).count();
        assert_eq!(logins, compose_logins, "{}: SL907 at each login compose sets", m.display());
        // Nor does the tree read their secrets: they are no keys of the stack's Secret.
        if let Some(obs) = checked.manifest.as_ref().and_then(|x| x.observability.as_ref()) {
            let secrets = obs.prometheus.iter().filter_map(|p| p.auth.as_ref()).map(|a| &a.password).chain(
                obs.alertmanager.iter().filter_map(|a| a.auth.as_ref()).flat_map(|a| [&a.password, &a.credentials]),
            );
            for r in secrets {
                let key = sightline::targets::kubernetes::secret_key(r);
                assert!(!k8s.values().any(|t| t.contains(key)), "{}: {key} read on the cluster", m.display());
            }
        }
    }
}

#[test]
fn the_routing_checks_read_the_rules_the_kubernetes_tree_has() {
    use sightline::code::Code;
    // Criticals routed by service: on compose, the host's and the stack's own programs' name
    // none and reach only the default receiver (SL216). The Kubernetes tree has none of them,
    // and still has db's when `db` is not routed.
    let manifest = |routed: &str| {
        format!(
            "version: 1\nstack: shop\nenvironment: prod\nnetwork: shop_default\nservices:\n  api: {{ kind: http, framework: fastify, port: 3000 }}\n  db: {{ kind: postgres, port: 5432, database: shop, user: shop, password: {{ env: DB_PASSWORD }} }}\n  web: {{ kind: nginx, port: 8080 }}\nalerting:\n  receivers:\n    pager: {{ webhook: {{ url: \"http://pager.internal/hook\" }} }}\n    team: {{ webhook: {{ url: \"http://team.internal/hook\" }} }}\n  routes:\n    - match: {{ severity: critical, service: [{routed}] }}\n      to: pager\n  default: team\n"
        )
    };
    let sl216 = |text: &str, platform| {
        let checked = sightline::check_for("stack.yaml", text.as_bytes(), platform);
        assert!(!checked.has_errors(), "{:?}", checked.diagnostics);
        checked.diagnostics.into_iter().find(|d| d.code == Code::CriticalToDefault).map(|d| d.message)
    };
    let compose = sl216(&manifest("api, db, web"), None).expect("SL216 on compose");
    assert!(compose.contains("HostDown") && compose.contains("PrometheusRuleFailures"), "{compose}");
    // On Kubernetes, of the stack's own programs' criticals only Loki's are in the tree.
    let all = sl216(&manifest("api, db, web"), Some(Platform::Kubernetes)).expect("Loki's criticals");
    assert!(
        all.contains("LokiRuleFailures") && !all.contains("PrometheusRuleFailures") && !all.contains("HostDown"),
        "{all}"
    );
    assert!(!all.contains("PostgresDown"), "{all}");
    let kept = sl216(&manifest("api, web"), Some(Platform::Kubernetes)).expect("db's criticals reach the default");
    assert!(kept.contains("PostgresDown") && !kept.contains("HostDown"), "{kept}");
    // Loki's alerts are in both trees, the host's only in compose's: `sightline route --all`
    // lists what each tree has.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("stack.yaml"), manifest("api, db, web")).unwrap();
    let route = |extra: &[&str]| {
        let (ok, out) = run(Command::new(env!("CARGO_BIN_EXE_sightline"))
            .args(["route", "--all"])
            .args(extra)
            .current_dir(dir.path()));
        assert!(ok, "{out}");
        out
    };
    let (on_compose, on_kubernetes) = (route(&[]), route(&["--platform", "kubernetes"]));
    for loki in ["NginxHighErrorRate{", "PostgresFatalErrors{", "ErrorLogSpike{"] {
        assert!(on_compose.contains(loki) && on_kubernetes.contains(loki), "{loki}:\n{on_kubernetes}");
    }
    assert!(on_compose.contains("HostDown{") && !on_kubernetes.contains("HostDown{"), "{on_kubernetes}");
    assert!(on_kubernetes.contains("NginxDown{") && on_kubernetes.contains("PostgresDown{"), "{on_kubernetes}");
}

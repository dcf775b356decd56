//! The kubernetes platform (`--platform kubernetes`), for every example and every manifest
//! under `tests/fixtures/ok/` (and the every-kind fixture): each custom resource valid against
//! the Prometheus Operator's CRD (`../shared/schemas/prometheus-operator/`, closed: a field the
//! CRD does not have is an error), each built-in object valid for kubernetes-validate at two
//! current releases, every name and label valid for Kubernetes; the rules checked by promtool
//! and the Alertmanager configuration by amtool; and the rules, the Alertmanager configuration,
//! its templates and the dashboards the same as on compose.

use crate::prometheus::{manifests, yaml_to_json};
use crate::support::{plan_of, require_tool, run, schema_errors, shared};
use serde_json::Value;
use sightline::manifest::model::Platform;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The kubernetes plan of a manifest: path → contents.
fn kubernetes_plan(path: &Path) -> BTreeMap<String, String> {
    let bytes = std::fs::read(path).unwrap();
    let checked = sightline::check_for(&path.to_string_lossy(), &bytes, Some(Platform::Kubernetes));
    assert!(!checked.has_errors(), "{}: errors on kubernetes", path.display());
    // The platform's checks ran: a login the operator cannot set is a note (SL907) exactly where
    // the manifest gives one.
    let obs = checked.manifest.as_ref().and_then(|m| m.observability.as_ref());
    let logins = obs.iter().flat_map(|o| o.prometheus.iter()).filter(|p| p.auth.is_some()).count()
        + obs.iter().flat_map(|o| o.alertmanager.iter()).filter(|a| a.auth.is_some()).count();
    let notes: Vec<_> = checked.diagnostics.iter().filter(|d| d.code == sightline::code::Code::WebAuthNotSet).collect();
    assert_eq!(notes.len(), logins, "{}", path.display());
    assert!(notes.iter().all(|d| d.severity == sightline::diagnostic::Severity::Note), "{}", path.display());
    let plan = sightline::plan_pinned(&checked, &BTreeMap::new(), Some(Platform::Kubernetes))
        .and_then(Result::ok)
        .unwrap_or_else(|| panic!("{} does not build for kubernetes", path.display()));
    plan.files
}

/// A plan's files: path → contents.
type Plan = BTreeMap<String, String>;

/// Every manifest of `manifests()` with its kubernetes plan and its compose plan, built once
/// for all the tests here.
fn built() -> &'static [(PathBuf, Plan, Plan)] {
    static BUILT: std::sync::OnceLock<Vec<(PathBuf, Plan, Plan)>> = std::sync::OnceLock::new();
    BUILT.get_or_init(|| {
        manifests()
            .into_iter()
            .map(|m| {
                let (k8s, compose) = (kubernetes_plan(&m), plan_of(&m));
                (m, k8s, compose)
            })
            .collect()
    })
}

/// The objects of a plan (every file under `manifests/`), as JSON, by path.
fn objects(plan: &BTreeMap<String, String>) -> Vec<(String, Value)> {
    plan.iter()
        .filter(|(p, _)| p.starts_with("manifests/"))
        .map(|(p, text)| {
            assert!(p.ends_with(".yaml"), "{p}: objects are .yaml files");
            (p.clone(), yaml_to_json(text))
        })
        .collect()
}

/// A CRD's schema for a version, closed: every object schema with `properties` and no
/// `additionalProperties` refuses other fields (the API server prunes them; a generated field
/// it would drop is a bug).
fn crd_schema(file: &str, version: &str) -> jsonschema::Validator {
    fn close(v: &mut Value) {
        match v {
            Value::Object(m) => {
                if m.contains_key("properties") && !m.contains_key("additionalProperties") {
                    m.insert("additionalProperties".into(), Value::Bool(false));
                }
                m.values_mut().for_each(close);
            }
            Value::Array(a) => a.iter_mut().for_each(close),
            _ => {}
        }
    }
    let crd: Value = serde_json::from_str(
        &std::fs::read_to_string(shared().join("schemas/prometheus-operator").join(file)).unwrap(),
    )
    .unwrap();
    let mut schema = crd["spec"]["versions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == version)
        .unwrap_or_else(|| panic!("{file} serves {version}"))["schema"]["openAPIV3Schema"]
        .clone();
    close(&mut schema);
    // `metadata` is the API server's own (ObjectMeta): the CRD leaves it open.
    schema["properties"]["metadata"] = serde_json::json!({ "type": "object" });
    jsonschema::validator_for(&schema).expect("the CRD schema compiles")
}

/// An RFC 1123 subdomain (an object's name).
fn is_subdomain(s: &str) -> bool {
    s.len() <= 253
        && s.split('.').all(|l| {
            !l.is_empty()
                && l.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
}

/// A label key (`[prefix/]name`) and value as Kubernetes takes them.
fn is_label(key: &str, value: &str) -> bool {
    let name_ok = |n: &str| {
        !n.is_empty()
            && n.len() <= 63
            && n.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
            && n.starts_with(|c: char| c.is_ascii_alphanumeric())
            && n.ends_with(|c: char| c.is_ascii_alphanumeric())
    };
    let key_ok = match key.split_once('/') {
        Some((prefix, name)) => is_subdomain(prefix) && name_ok(name),
        None => name_ok(key),
    };
    key_ok && (value.is_empty() || name_ok(value))
}

#[test]
fn every_object_validates_against_its_schema_and_names_are_valid() {
    let crds = [
        ("PrometheusRule", "monitoring.coreos.com/v1", crd_schema("prometheusrules-crd.json", "v1")),
        ("ServiceMonitor", "monitoring.coreos.com/v1", crd_schema("servicemonitors-crd.json", "v1")),
        ("Probe", "monitoring.coreos.com/v1", crd_schema("probes-crd.json", "v1")),
        ("ScrapeConfig", "monitoring.coreos.com/v1alpha1", crd_schema("scrapeconfigs-crd.json", "v1alpha1")),
    ];
    let validate = require_tool("kubernetes-validate");
    for (m, plan, _) in built() {
        let scratch = tempfile::tempdir().unwrap();
        let mut builtin = Vec::new();
        let objs = objects(plan);
        assert!(objs.iter().any(|(_, o)| o["kind"] == "PrometheusRule"), "{}: no rules", m.display());
        for (path, o) in &objs {
            let meta = &o["metadata"];
            let name = meta["name"].as_str().unwrap();
            assert!(is_subdomain(name), "{}: {path}: `{name}` is not a valid object name", m.display());
            assert!(meta["namespace"].as_str().is_some_and(|n| is_subdomain(n) && !n.contains('.')));
            for (k, v) in meta["labels"].as_object().unwrap() {
                assert!(is_label(k, v.as_str().unwrap()), "{}: {path}: label {k}={v}", m.display());
            }
            match o["kind"].as_str().unwrap() {
                kind if crds.iter().any(|(k, _, _)| *k == kind) => {
                    let (_, api_version, schema) = crds.iter().find(|(k, _, _)| *k == kind).unwrap();
                    assert_eq!(o["apiVersion"], *api_version, "{path}");
                    let errors = schema_errors(schema, o);
                    assert!(errors.is_empty(), "{}: {path}: {errors:#?}", m.display());
                }
                "ConfigMap" | "Secret" | "Deployment" | "Service" | "CronJob" | "PersistentVolumeClaim" => {
                    let file = scratch.path().join(path.replace('/', "_"));
                    std::fs::write(&file, &plan[path]).unwrap();
                    builtin.push(file);
                }
                other => panic!("{}: {path}: unexpected kind {other}", m.display()),
            }
        }
        // Two current releases; strict: a field the API does not have is an error.
        for version in ["1.35", "1.37"] {
            let (ok, out) = run(Command::new(&validate).args(["--strict", "--quiet", "-k", version]).args(&builtin));
            assert!(ok && !out.contains("ERROR"), "{}: kubernetes-validate {version}:\n{out}", m.display());
        }
    }
}

#[test]
fn the_closed_crd_schema_refuses_what_the_operator_would_drop() {
    // The check above can fail: a field the CRD does not have, and a name that is not one.
    let rules = crd_schema("prometheusrules-crd.json", "v1");
    let plan = kubernetes_plan(&crate::support::root().join("examples/minimal.yaml"));
    let (_, mut o) = objects(&plan).into_iter().find(|(_, o)| o["kind"] == "PrometheusRule").unwrap();
    assert!(schema_errors(&rules, &o).is_empty());
    o["spec"]["groups"][0]["rules"][0]["severity"] = "page".into();
    assert!(!schema_errors(&rules, &o).is_empty(), "an unknown field is refused");
    assert!(!is_subdomain("hello_world-rules") && !is_label("part-of", "-x"));
}

/// A PrometheusRule's one group, and the compose rule file's.
fn groups(k8s: &BTreeMap<String, String>, compose: &BTreeMap<String, String>) -> Vec<(String, Value, Value)> {
    objects(k8s)
        .into_iter()
        .filter(|(_, o)| o["kind"] == "PrometheusRule")
        .map(|(path, o)| {
            let name = path.rsplit('/').next().unwrap().trim_end_matches(".yaml").to_string();
            let spec = o["spec"]["groups"].as_array().unwrap();
            assert_eq!(spec.len(), 1, "{path}: one group per rule file");
            let file = compose
                .get(&format!("prometheus/rules/{name}.yml"))
                .unwrap_or_else(|| panic!("{name}: no compose file"));
            let theirs = yaml_to_json(file)["groups"][0].clone();
            (name, spec[0].clone(), theirs)
        })
        .collect()
}

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
                // ServiceMonitors scrape them as jobs `loki` and `pushgateway`): the rest select
                // compose's own jobs.
                theirs["rules"].as_array_mut().unwrap().retain(|r| {
                    r["alert"] == "Watchdog"
                        || ["loki", "pushgateway"].contains(&r["labels"]["job"].as_str().unwrap_or(""))
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
fn the_values_overlay_pins_the_releases_compose_runs() {
    for (m, k8s, compose_plan) in built() {
        let compose = yaml_to_json(&compose_plan["compose.yaml"]);
        let values = yaml_to_json(&k8s["helm/kube-prometheus-stack.values.yaml"]);
        for (service, at) in [
            ("prometheus", &values["prometheus"]["prometheusSpec"]["image"]),
            ("alertmanager", &values["alertmanager"]["alertmanagerSpec"]["image"]),
            ("grafana", &values["grafana"]["image"]),
        ] {
            let image = compose["services"][service]["image"].as_str().unwrap();
            let registry = at["registry"].as_str().unwrap();
            let named = format!("{}:{}", at["repository"].as_str().unwrap(), at["tag"].as_str().unwrap());
            assert!(registry == "docker.io" && image == named, "{}: {service}: {image} vs {at}", m.display());
        }
        // The labels compose's Prometheus puts on every alert.
        let compose_prometheus = yaml_to_json(&compose_plan["prometheus/prometheus.yml"]);
        assert_eq!(
            values["prometheus"]["prometheusSpec"]["externalLabels"],
            compose_prometheus["global"]["external_labels"],
            "{}",
            m.display()
        );
        for (field, global) in [("scrapeInterval", "scrape_interval"), ("evaluationInterval", "evaluation_interval")] {
            assert_eq!(values["prometheus"]["prometheusSpec"][field], compose_prometheus["global"][global]);
        }
        let config = &values["alertmanager"]["alertmanagerSpec"]["configSecret"];
        let secret = objects(k8s).into_iter().find(|(_, o)| o["kind"] == "Secret").unwrap().1;
        assert_eq!(config, &secret["metadata"]["name"], "{}: the overlay names the config Secret", m.display());
    }
}

#[test]
fn pinned_by_digest_the_overlay_names_the_digests_of_the_images_it_pins() {
    let text = std::fs::read_to_string(crate::support::root().join("examples/faceless-staging.yaml")).unwrap();
    // With a batch job, whose Pushgateway the chart runs too.
    let text = format!("{text}pin: digest\njobs:\n  - {{ name: nightly, service: api, schedule: \"0 2 * * *\" }}\n");
    let checked = sightline::check_for("stack.yaml", text.as_bytes(), Some(Platform::Kubernetes));
    assert!(!checked.has_errors());
    // Only the images the tree names: the chart's programs and the exporters, at compose's
    // releases.
    let wanted = sightline::unpinned_images(&checked, Some(Platform::Kubernetes)).unwrap();
    let compose = yaml_to_json(
        &sightline::plan_pinned(
            &sightline::check("stack.yaml", text.replace("pin: digest\n", "").as_bytes()),
            &BTreeMap::new(),
            None,
        )
        .unwrap()
        .unwrap()
        .files["compose.yaml"],
    );
    // The host's node-exporter is the chart's own.
    let exporters = compose["services"]
        .as_object()
        .unwrap()
        .keys()
        .filter(|s| s.ends_with("-exporter") && *s != "node-exporter")
        .cloned();
    let compose =
        yaml_to_json(&alloy_compose(&BTreeMap::from([("compose.yaml".into(), compose.to_string())]))["compose.yaml"]);
    let jobs: Vec<String> = compose["services"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(n, _)| n.ends_with("-query-stats"))
        .map(|(_, s)| s["image"].as_str().unwrap().to_string())
        .collect();
    assert!(!jobs.is_empty(), "faceless runs a query-statistics job");
    let expected: Vec<String> = ["prometheus", "alertmanager", "grafana", "loki", "alloy", "pushgateway"]
        .map(String::from)
        .into_iter()
        .chain(exporters)
        .map(|s| compose["services"][&s]["image"].as_str().unwrap().to_string())
        // And the database's, whose query-statistics job runs before its exporter.
        .chain(jobs)
        .collect();
    assert!(expected.len() > 5, "faceless has exporters");
    let mut sorted = wanted.clone();
    sorted.sort();
    let mut exp = expected.clone();
    exp.sort();
    assert_eq!(sorted, exp);
    assert!(sightline::plan_pinned(&checked, &BTreeMap::new(), Some(Platform::Kubernetes)).unwrap().is_err());
    let recorded: BTreeMap<String, String> = wanted
        .iter()
        .enumerate()
        .map(|(i, w)| (w.clone(), format!("sha256:{}", format!("{i:x}").repeat(64))))
        .collect();
    let plan = sightline::plan_pinned(&checked, &recorded, Some(Platform::Kubernetes)).unwrap().unwrap();
    let values = yaml_to_json(&plan.files["helm/kube-prometheus-stack.values.yaml"]);
    for image in [
        &values["prometheus"]["prometheusSpec"]["image"],
        &values["alertmanager"]["alertmanagerSpec"]["image"],
        &values["grafana"]["image"],
    ] {
        let named = format!("{}:{}", image["repository"].as_str().unwrap(), image["tag"].as_str().unwrap());
        let digest = &recorded[&named];
        assert_eq!(image["sha"], digest.trim_start_matches("sha256:"), "{named}");
        let lock = &plan.files["sightline.lock"];
        assert!(lock.contains(&format!("\"{named}\" = \"{digest}\"")), "the lock records {named}'s digest:\n{lock}");
    }
    // So do the Loki and Alloy charts' overlays (`digest`, which they name instead of the tag).
    for (file, image) in [("loki", "/loki/image"), ("alloy", "/image")] {
        let values = yaml_to_json(&plan.files[&format!("helm/{file}.values.yaml")]);
        let image = values.pointer(image).unwrap();
        let named = format!("{}:{}", image["repository"].as_str().unwrap(), image["tag"].as_str().unwrap());
        assert_eq!(image["digest"], recorded[&named].as_str(), "{named}");
    }
    // And the Pushgateway's (its chart writes `<repository>:<tag>`: the digest after the tag).
    let image = &yaml_to_json(&plan.files["helm/pushgateway.values.yaml"])["image"];
    let (tag, digest) = image["tag"].as_str().unwrap().split_once('@').unwrap();
    assert_eq!(recorded[&format!("{}:{tag}", image["repository"].as_str().unwrap())], digest);
    // The exporters' Deployments name their images by digest.
    // (And the init containers of the jobs before them, the database's.)
    for (path, o) in objects(&plan.files).into_iter().filter(|(_, o)| o["kind"] == "Deployment") {
        let spec = &o["spec"]["template"]["spec"];
        let inits = spec["initContainers"].as_array().cloned().unwrap_or_default();
        for c in spec["containers"].as_array().unwrap().iter().chain(&inits) {
            let image = c["image"].as_str().unwrap();
            let (named, digest) = image.split_once('@').unwrap_or_else(|| panic!("{path}: {image} has no digest"));
            assert_eq!(recorded[named], digest, "{path}");
        }
    }
}

#[test]
fn the_namespace_release_and_fullname_reach_every_object() {
    let base = std::fs::read_to_string(crate::support::root().join("examples/minimal.yaml")).unwrap();
    let build = |extra: &str| {
        let checked =
            sightline::check_for("stack.yaml", format!("{base}{extra}").as_bytes(), Some(Platform::Kubernetes));
        assert!(!checked.has_errors(), "{:?}", checked.diagnostics);
        sightline::plan_pinned(&checked, &BTreeMap::new(), Some(Platform::Kubernetes)).unwrap().unwrap().files
    };
    let urls = |plan: &BTreeMap<String, String>| {
        let ds = yaml_to_json(&plan["manifests/grafana/datasources.yaml"]);
        let sources = yaml_to_json(ds["data"]["sightline-datasources.yaml"].as_str().unwrap());
        sources["datasources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["url"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let plan = build("kubernetes: { namespace: observability, release: prometheus }\n");
    assert_eq!(
        urls(&plan),
        [
            "http://prometheus-kube-prometheus-prometheus.observability.svc:9090",
            "http://loki-gateway.observability.svc",
            "http://prometheus-kube-prometheus-alertmanager.observability.svc:9093"
        ]
    );
    for (path, o) in objects(&plan) {
        assert_eq!(o["metadata"]["namespace"], "observability", "{path}");
        if o["kind"] == "PrometheusRule" {
            assert_eq!(o["metadata"]["labels"]["release"], "prometheus", "{path}");
        }
    }
    let plan = build("kubernetes: { release: prometheus, fullname: monitoring-stack }\n");
    assert_eq!(urls(&plan)[0], "http://monitoring-stack-prometheus.monitoring.svc:9090");
    assert_eq!(urls(&plan)[2], "http://monitoring-stack-alertmanager.monitoring.svc:9093");
    // Cut to 26 characters as the chart cuts it, without the `-` the cut leaves at the end.
    let plan = build("kubernetes: { fullname: observability-platform-ab-cluster }\n");
    assert_eq!(urls(&plan)[0], "http://observability-platform-ab-prometheus.monitoring.svc:9090");
    assert_eq!(urls(&plan)[2], "http://observability-platform-ab-alertmanager.monitoring.svc:9093");
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

/// The labels a compose job gives its targets, by job name, for every job of a service (one
/// with a `service` label): what the rules select.
fn compose_targets(compose: &Plan) -> BTreeMap<String, (Value, Value)> {
    let config = yaml_to_json(&compose["prometheus/prometheus.yml"]);
    config["scrape_configs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| j["static_configs"][0]["labels"]["service"].is_string())
        .map(|j| (j["job_name"].as_str().unwrap().to_string(), (j["static_configs"][0]["labels"].clone(), j.clone())))
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

/// The objects a chart makes of an overlay: `helm template` of the chart `scripts/tools`
/// fetched (`tools/<name>/chart`), as release `release` in `namespace`, at a current
/// Kubernetes release. The chart's own checks (its `fail`s) fail the render.
fn helm_template(chart: &str, release: &str, namespace: &str, values: &str) -> Vec<Value> {
    let helm = require_tool("helm");
    let chart_dir = crate::support::upstream_bin().join(chart);
    assert!(chart_dir.join("Chart.yaml").is_file(), "the chart {chart} is fetched by scripts/tools");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("values.yaml"), values).unwrap();
    let out = Command::new(&helm)
        .args(["template", release])
        .arg(&chart_dir)
        .args(["--namespace", namespace, "--kube-version", "1.35.0", "-f"])
        .arg(dir.path().join("values.yaml"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "helm template {chart}:\n{}", String::from_utf8_lossy(&out.stderr));
    // Every document parses; only those with nothing but comments are empty.
    text.split("\n---")
        .filter(|d| d.lines().any(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#')))
        .map(|d| serde_saphyr::from_str::<Value>(d).unwrap_or_else(|e| panic!("{chart}: {e}:\n{d}")))
        .collect()
}

/// What our values make of a chart's objects is valid Kubernetes: every object of the renders
/// (`tolerations`, volumes, environment, resources come from the overlays), but the custom
/// resources, written to `dir` and checked at once with `kubernetes-validate --strict`.
fn validate_renders(dir: &Path, renders: &[(String, Vec<Value>)]) {
    let validate = require_tool("kubernetes-validate");
    let mut files = Vec::new();
    for (what, objs) in renders {
        for (i, o) in objs.iter().enumerate() {
            if o["apiVersion"].as_str().unwrap().contains("monitoring.coreos.com") {
                continue;
            }
            let file = dir.join(format!("{what}-{i}.yaml"));
            std::fs::write(&file, serde_json::to_string(o).unwrap()).unwrap();
            files.push(file);
        }
    }
    assert!(!files.is_empty());
    let (ok, out) = run(Command::new(&validate).args(["--strict", "--quiet", "-k", "1.35"]).args(&files));
    assert!(ok && !out.contains("ERROR"), "kubernetes-validate of the charts' renders:\n{out}");
}

/// The one object of `kind` named `name` of a render.
fn rendered<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name} rendered"))
}

/// A pod template's container by name.
fn container<'a>(pod: &'a Value, name: &str) -> &'a Value {
    pod["spec"]["containers"].as_array().unwrap().iter().find(|c| c["name"] == name).unwrap()
}

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

/// A compose plan's compose file, Alloy's image in it (a Promtail stack's is Alloy's default,
/// which the Kubernetes tree runs).
fn alloy_compose(compose: &Plan) -> Plan {
    let mut c = yaml_to_json(&compose["compose.yaml"]);
    if c["services"].get("alloy").is_none() {
        let d = &sightline::ir::defaults::ALLOY;
        c["services"]["alloy"] = serde_json::json!({ "image": format!("{}:{}", d.repository, d.version) });
    }
    BTreeMap::from([("compose.yaml".to_string(), serde_json::to_string(&c).unwrap())])
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

/// A PromQL expression as a query string's value.
fn url_encoded(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The series an instant query of a running Prometheus returns.
fn query(port: u16, expr: &str) -> Vec<Value> {
    let answer = crate::support::http_get(port, &format!("/api/v1/query?query={}", url_encoded(expr))).unwrap();
    let body = answer.split_once("\r\n\r\n").unwrap().1;
    let v: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{expr}: {e}: {body}"));
    assert_eq!(v["status"], "success", "{expr}: {v}");
    v["data"]["result"].as_array().unwrap().clone()
}

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

/// A crontab line's schedule, its variables and its command's words (the values are names the
/// manifest restricts, single-quoted at most).
fn crontab_line(line: &str) -> (String, BTreeMap<String, String>, Vec<String>) {
    let words: Vec<String> = line.split_whitespace().map(|w| w.replace('\'', "")).collect();
    let schedule = words[..5].join(" ");
    let vars = words[5..].iter().take_while(|w| w.contains('=')).map(|w| {
        let (k, v) = w.split_once('=').unwrap();
        (k.to_string(), v.to_string())
    });
    let vars: BTreeMap<String, String> = vars.collect();
    let command = words[5 + vars.len()..].to_vec();
    (schedule, vars, command)
}

/// A container's mounts: volume name → where.
fn mount_paths(c: &Value) -> BTreeMap<&str, &str> {
    c["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["name"].as_str().unwrap(), v["mountPath"].as_str().unwrap()))
        .collect()
}

#[test]
fn backups_are_cronjobs_running_compose_s_scripts_with_compose_s_arguments() {
    // Every line of compose's crontab that the cluster can run (all of them on the image
    // `kubernetes.backup_image` names; on the stock PostgreSQL image, PostgreSQL's jobs, neither
    // encrypted nor zstd) is a CronJob with its schedule in UTC, its script, its arguments (its
    // results pushed to the Pushgateway rather than written for node-exporter) and its
    // connection, the password from the stack's Secret (in a variable, or its file mounted from
    // the Secret where compose has it); the scripts and the Dockerfile are compose's; the others
    // are named by SL903, and have no alerts on the cluster.
    let mut seen = 0;
    for (m, k8s, compose) in built() {
        let Some(crontab) = compose.get("backup/crontab") else {
            assert!(!k8s.keys().any(|p| p.starts_with("manifests/backups/")), "{}", m.display());
            continue;
        };
        let cronjobs: Vec<Value> =
            objects(k8s).into_iter().filter(|(_, o)| o["kind"] == "CronJob").map(|(_, o)| o).collect();
        let namespace = format!(".{}.svc", objects(k8s)[0].1["metadata"]["namespace"].as_str().unwrap());
        // The image the manifest names for the CronJobs, built from compose's Dockerfile, which
        // the tree has too.
        let manifest: Value = yaml_to_json(&std::fs::read_to_string(m).unwrap());
        let built_image = manifest["kubernetes"]["backup_image"].as_str();
        assert_eq!(k8s.get("backup/Dockerfile").is_some(), built_image.is_some(), "{}", m.display());
        if let Some(file) = k8s.get("backup/Dockerfile") {
            assert_eq!(file, &compose["backup/Dockerfile"], "{}", m.display());
        }
        let mut run = Vec::new();
        // The backup jobs the cluster runs, then their restore tests.
        let mut kept: Vec<String> = Vec::new();
        let mut lines: Vec<&str> =
            crontab.lines().filter(|l| !l.starts_with('#') && !l.starts_with("CRON_TZ")).collect();
        lines.sort_by_key(|l| l.contains("/restore-"));
        for line in lines {
            let (schedule, vars, mut command) = crontab_line(line);
            let job = command[command.iter().position(|w| w == "--job").unwrap() + 1].clone();
            // A backup the image runs (the runner's, built, runs all; the stock PostgreSQL image
            // runs PostgreSQL's, neither encrypted nor zstd); a restore test of one.
            let runs = if command[0].contains("/restore-") {
                kept.contains(&job)
            } else {
                built_image.is_some()
                    || command[0].contains("-postgres.sh")
                        && !command.iter().any(|w| w == "--age-recipient" || w == "zstd")
            };
            let Some(cj) = cronjobs.iter().find(|c| {
                let args = c["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["command"].to_string();
                args.contains(&format!("\"--job\",\"{job}\""))
                    && args.contains(&command[0].rsplit('/').next().unwrap().to_string())
            }) else {
                assert!(!runs, "{}: no CronJob for `{line}`", m.display());
                continue;
            };
            assert!(runs, "{}: a CronJob for `{line}`, which its image cannot run", m.display());
            if !command[0].contains("/restore-") {
                kept.push(job.clone());
            }
            run.push(job.clone());
            assert_eq!(cj["spec"]["schedule"], schedule.as_str());
            assert_eq!(cj["spec"]["timeZone"], "Etc/UTC");
            assert_eq!(cj["spec"]["concurrencyPolicy"], "Forbid");
            let pod = &cj["spec"]["jobTemplate"]["spec"]["template"]["spec"];
            let c = &pod["containers"][0];
            // compose's command, but where the results go.
            let i = command.iter().position(|w| w == "--textfile-dir").unwrap();
            command.drain(i..i + 2);
            command.extend(["--pushgateway".to_string(), "http://pushgateway:9091".to_string()]);
            let ours: Vec<String> =
                c["command"].as_array().unwrap().iter().map(|w| w.as_str().unwrap().to_string()).collect();
            assert_eq!(ours[0], "bash");
            assert_eq!(ours[1..], command[..], "{}: {job}", m.display());
            // compose's connection, the password from the Secret.
            let env: BTreeMap<String, Value> = c["env"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| (e["name"].as_str().unwrap().to_string(), e.clone()))
                .collect();
            for (k, v) in vars.iter().filter(|(k, _)| *k != "PGPASSFILE") {
                assert_eq!(
                    env[k]["value"].as_str().unwrap().replace(&namespace, ""),
                    *v,
                    "{}: {job}: {k}",
                    m.display()
                );
            }
            // The scripts and the dumps where compose has them; the password's file too
            // (MySQL's), from the stack's Secret, or PostgreSQL's in its variable.
            let mounts = mount_paths(c);
            match vars.get("PGPASSFILE") {
                Some(_) => assert!(
                    env["PGPASSWORD"]["valueFrom"]["secretKeyRef"]["name"].as_str().unwrap().ends_with("-secrets")
                ),
                None => {
                    // The file alone, its key an item of the Secret's volume, readable by the
                    // pod's group only.
                    assert_eq!(mounts["secrets"], vars["MYSQL_PASSWORD_FILE"], "{}: {job}", m.display());
                    let mount = c["volumeMounts"].as_array().unwrap().iter().find(|v| v["name"] == "secrets").unwrap();
                    let volume = pod["volumes"].as_array().unwrap().iter().find(|v| v["name"] == "secrets").unwrap();
                    assert!(volume["secret"]["secretName"].as_str().unwrap().ends_with("-secrets"), "{volume}");
                    let items = volume["secret"]["items"].as_array().unwrap();
                    assert!(
                        items.iter().any(|i| i["key"] == mount["subPath"] && i["path"] == mount["subPath"]),
                        "{volume}"
                    );
                    assert_eq!(volume["secret"]["defaultMode"], 0o440);
                }
            }
            let image = c["image"].as_str().unwrap();
            match built_image {
                Some(i) => assert_eq!(image, i),
                None => assert!(image.starts_with("postgres:"), "{image}"),
            }
            assert_eq!(Path::new(&ours[1]).parent().unwrap(), Path::new(mounts["scripts"]));
            let dest = &command[command.iter().position(|w| w == "--dest").unwrap() + 1];
            assert_eq!(mounts["backups"], dest.as_str());
            assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
            seen += 1;
        }
        // The scripts are compose's (but for the header compose's files have).
        let scripts = objects(k8s).into_iter().find(|(p, _)| p.ends_with("manifests/backups/scripts.yaml"));
        if let Some((_, map)) = scripts {
            for (name, text) in map["data"].as_object().unwrap() {
                let theirs: String = compose[&format!("backup/{name}")]
                    .lines()
                    .filter(|l| !l.starts_with("# Generated by sightline"))
                    .map(|l| format!("{l}\n"))
                    .collect();
                assert_eq!(text.as_str().unwrap(), theirs, "{}: {name}", m.display());
            }
        }
        // The jobs the cluster does not run: no alerts, and SL903 names them.
        let text = std::fs::read(m).unwrap();
        let checked = sightline::check_for(&m.to_string_lossy(), &text, Some(Platform::Kubernetes));
        let note = checked.diagnostics.iter().find(|d| d.code == sightline::code::Code::NotLowered);
        let note = note.map(|d| d.message.as_str()).unwrap_or_default();
        let rules = k8s.get("manifests/prometheus-rules/backups.yaml").cloned().unwrap_or_default();
        for line in crontab.lines().filter(|l| l.contains("backup-")) {
            let (_, _, command) = crontab_line(line);
            let job = &command[command.iter().position(|w| w == "--job").unwrap() + 1];
            let named = note.contains(&format!("`{job}`"));
            assert_eq!(named, !run.contains(job), "{}: {job}: {note}", m.display());
            assert_eq!(rules.contains(&format!("backup_job: {job}\n")), run.contains(job), "{}: {job}", m.display());
        }
        assert!(!rules.contains("BackupMetricsUnreadable"), "{}: no textfile collector there", m.display());
    }
    assert!(seen >= 3, "the examples' backups and restore test: {seen}");
}

/// Where a CronJob's pod runs here: the scripts of the backups' ConfigMap in a directory,
/// the dumps' volume a directory of the pod's group (`fsGroup`) when root, an open `/tmp`.
struct PodDirs {
    work: tempfile::TempDir,
    scripts: PathBuf,
    dumps: PathBuf,
}

impl PodDirs {
    fn new(k8s: &Plan) -> PodDirs {
        use std::os::unix::fs::PermissionsExt;
        let work = tempfile::tempdir().unwrap();
        std::fs::set_permissions(work.path(), PermissionsExt::from_mode(0o755)).unwrap();
        let scripts = work.path().join("scripts");
        std::fs::create_dir(&scripts).unwrap();
        let map = objects(k8s).into_iter().find(|(p, _)| p.ends_with("backups/scripts.yaml")).unwrap().1;
        for (name, text) in map["data"].as_object().unwrap() {
            std::fs::write(scripts.join(name), text.as_str().unwrap()).unwrap();
            std::fs::set_permissions(scripts.join(name), PermissionsExt::from_mode(0o555)).unwrap();
        }
        let dumps = work.path().join("dumps");
        std::fs::create_dir(&dumps).unwrap();
        let tmp = work.path().join("tmp");
        std::fs::create_dir_all(&tmp).unwrap();
        std::fs::set_permissions(&tmp, PermissionsExt::from_mode(0o1777)).unwrap();
        PodDirs { work, scripts, dumps }
    }

    /// Run the container of the CronJob in `manifests/backups/<file>` as its pod runs it: as
    /// the pod's user when root, its command with the Pushgateway at `port` here, its
    /// variables but those `own` names (`server` sets them: the connection is a test server's)
    /// and a secret's file, mounted from the stack's Secret, as `secret` here (readable by the
    /// pod's group, as Kubernetes mounts it) or a secret variable as a dummy.
    fn run(
        &self,
        k8s: &Plan,
        file: &str,
        port: u16,
        server: &dyn Fn(&str) -> Command,
        own: &[&str],
        secret: &Path,
    ) -> (bool, String) {
        use std::os::unix::fs::PermissionsExt;
        let cj = objects(k8s).into_iter().find(|(p, _)| p.ends_with(&format!("backups/{file}"))).unwrap().1;
        let pod = &cj["spec"]["jobTemplate"]["spec"]["template"]["spec"];
        let c = &pod["containers"][0];
        let (uid, gid) = (
            pod["securityContext"]["runAsUser"].as_u64().unwrap(),
            pod["securityContext"]["fsGroup"].as_u64().unwrap(),
        );
        let root = crate::pg_server::is_root();
        if root {
            // The volumes as Kubernetes gives them to the pod: the group's, set-group-ID.
            std::os::unix::fs::chown(&self.dumps, Some(0), Some(gid as u32)).unwrap();
            std::fs::set_permissions(&self.dumps, PermissionsExt::from_mode(0o2775)).unwrap();
            // The Secret's files as the volume mounts them: the pod's group's, its mode.
            let mode = pod["volumes"]
                .as_array()
                .unwrap()
                .iter()
                .find(|v| v["name"] == "secrets")
                .map_or(0o440, |v| v["secret"]["defaultMode"].as_u64().unwrap() as u32);
            std::os::unix::fs::chown(secret, Some(0), Some(gid as u32)).unwrap();
            std::fs::set_permissions(secret, PermissionsExt::from_mode(mode)).unwrap();
        }
        let mounts = mount_paths(c);
        let args: Vec<String> = c["command"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w.as_str().unwrap().replace("$$", "$"))
            .map(|w| match w.as_str() {
                "http://pushgateway:9091" => format!("http://127.0.0.1:{port}"),
                _ if w == mounts["backups"] => self.dumps.display().to_string(),
                _ => w.replace(mounts["scripts"], &self.scripts.display().to_string()),
            })
            .collect();
        let mut cmd = if root {
            let mut c = server("setpriv");
            c.args(["--reuid", &uid.to_string(), "--regid", &gid.to_string(), "--clear-groups", "--"]);
            c
        } else {
            server(&args[0])
        };
        cmd.args(if root { &args[..] } else { &args[1..] });
        for e in c["env"].as_array().unwrap() {
            let name = e["name"].as_str().unwrap();
            // Kubernetes reads `$$` in a value as `$`, as in the command.
            match e["value"].as_str().map(|v| v.replace("$$", "$")).as_deref() {
                _ if own.contains(&name) => {}
                // A secret's file, where the pod has it mounted.
                Some(v) if mounts.get("secrets") == Some(&v) => {
                    cmd.env(name, secret);
                }
                Some(v) => {
                    cmd.env(name, v);
                }
                None => {
                    cmd.env(name, "unused-on-a-trusting-socket");
                }
            }
        }
        cmd.env_remove("HOME").env("TMPDIR", self.work.path().join("tmp"));
        run(&mut cmd)
    }
}

#[test]
fn the_backup_image_runs_mysql_zstd_and_encrypted_cronjobs_as_their_pods_run_them() {
    // workers' CronJobs on the image `kubernetes.backup_image` names (built from compose's
    // Dockerfile: MariaDB's client, zstd and age, all here): its MySQL job compressed with
    // zstd, its weekly job encrypted to an age key, and the restore test of the first, run
    // here as their pods run them (`PodDirs::run`) against a real MariaDB server, the password
    // read from the Secret's file where the pod has it. Each pushes its result.
    crate::support::require_tool("age");
    crate::support::require_tool("zstd");
    let m = crate::support::root().join("tests/fixtures/ok/workers.yaml");
    let k8s = kubernetes_plan(&m);
    let pod = PodDirs::new(&k8s);
    let server = crate::mysql_server::Server::start();
    let password = "pa'ss\"w\\ord $x";
    let secret = pod.work.path().join("SHOP_DB_PASSWORD");
    std::fs::write(&secret, password).unwrap();
    server
        .root_sql(&format!(
            "CREATE DATABASE shop; CREATE USER 'shop'@'%' IDENTIFIED BY '{}'; GRANT ALL ON shop.* TO 'shop'@'%'; {}",
            password.replace('\\', "\\\\").replace('\'', "''"),
            crate::backups::documented_restore_grant("shop")
        ))
        .unwrap();
    server.sql(
        "shop",
        password,
        "shop",
        "CREATE TABLE items (id int PRIMARY KEY); INSERT INTO items SELECT seq FROM seq_1_to_300;",
    );
    let (_gateway, port) = crate::support::pushgateway(&[], &pod.work.path().join("pushgateway.log"));
    let own = ["MYSQL_HOST", "MYSQL_TCP_PORT"];
    for name in ["backup-shop-nightly.yaml", "backup-shop-weekly.yaml", "restore-test-shop-nightly.yaml"] {
        let (ok, out) = pod.run(&k8s, name, port, &|p| server.cmd(p, "shop", Path::new("/nonexistent")), &own, &secret);
        assert!(ok, "{name}:\n{out}");
    }
    // The dumps, in the formats their jobs ask for.
    let names = |job: &str| -> Vec<String> {
        std::fs::read_dir(pod.dumps.join(job))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    };
    assert!(names("shop-nightly").iter().any(|n| n.ends_with(".sql.zst")), "{:?}", names("shop-nightly"));
    assert!(names("shop-weekly").iter().any(|n| n.ends_with(".age")), "{:?}", names("shop-weekly"));
    let answer = crate::support::http_get(port, "/metrics").unwrap();
    for (metric, group, job) in [
        ("sightline_backup_last_result", "sightline_backup", "shop-nightly"),
        ("sightline_backup_last_result", "sightline_backup", "shop-weekly"),
        ("sightline_restore_test_last_result", "sightline_restore_test", "shop-nightly"),
    ] {
        let line = format!("{metric}{{backup_job=\"{job}\",instance=\"\",job=\"{group}\",service=\"db\"}} 1");
        assert!(answer.lines().any(|l| l == line), "{line}:\n{answer}");
    }
}

#[test]
fn the_backup_cronjobs_run_here_as_their_pods_run_them_and_push_their_results() {
    // faceless-staging's backup and restore-test CronJobs, their containers' commands run here
    // as their pods run them (`PodDirs::run`), against a real PostgreSQL server as compose sets
    // it up and the stack's Pushgateway. Each result lands in the Pushgateway with the labels
    // the backup rules select.
    let m = crate::support::root().join("examples/faceless-staging.yaml");
    let k8s = kubernetes_plan(&m);
    let pod = PodDirs::new(&k8s);
    let compose_tree = crate::support::build_into_tempdir(&m);
    let setup = crate::pg_server::compose_setup(compose_tree.path(), "db");
    let server = crate::pg_server::Server::start(&setup.options);
    server.create_database("faceless", &setup);
    server.psql("faceless", "CREATE TABLE orders (id int); INSERT INTO orders SELECT generate_series(1, 250);");
    let (_gateway, port) = crate::support::pushgateway(&[], &pod.work.path().join("pushgateway.log"));
    let unused = pod.work.path().join("no-secret-file");
    std::fs::write(&unused, "").unwrap();
    let mut ran = 0;
    for name in ["backup-daily.yaml", "restore-test-daily.yaml"] {
        let own = ["PGHOST", "PGPORT", "PGUSER"];
        let (ok, out) = pod.run(&k8s, name, port, &|p| server.cmd(p), &own, &unused);
        assert!(ok, "{name}:\n{out}");
        ran += 1;
    }
    assert_eq!(ran, 2);
    let answer = crate::support::http_get(port, "/metrics").unwrap();
    for (metric, group) in [
        ("sightline_backup_last_result", "sightline_backup"),
        ("sightline_backup_last_success_timestamp_seconds", "sightline_backup"),
        ("sightline_restore_test_last_result", "sightline_restore_test"),
    ] {
        let line = answer
            .lines()
            .find(|l| l.starts_with(&format!("{metric}{{")))
            .unwrap_or_else(|| panic!("{metric}:\n{answer}"));
        assert!(
            line.starts_with(&format!(
                "{metric}{{backup_job=\"daily\",instance=\"\",job=\"{group}\",service=\"db\"}} "
            )),
            "{line}"
        );
        if metric.ends_with("_result") {
            assert!(line.ends_with(" 1"), "{line}");
        }
    }
    // The rules select what was pushed: the job, by its `backup_job`.
    let rules = &k8s["manifests/prometheus-rules/backups.yaml"];
    assert!(rules.contains("sightline_backup_last_result{backup_job=\"daily\"}"), "{rules}");
}

//! prometheus.yml, the rule files and their generated unit tests, checked by promtool of the
//! release the stack runs (scripts/tools) and by the SchemaStore schemas, for every example and every manifest under
//! `tests/fixtures/ok/`.

use crate::support::{build_into_tempdir, examples, require_tool, root, run, shared};
use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

pub fn manifests() -> Vec<PathBuf> {
    let mut v = examples();
    let mut ok: Vec<PathBuf> =
        std::fs::read_dir(root().join("tests/fixtures/ok")).unwrap().map(|e| e.unwrap().path()).collect();
    ok.sort();
    v.extend(ok);
    // One service of each kind, an http one of each framework.
    v.push(root().join("tests/fixtures/every-kind.yaml"));
    v
}

pub fn yaml_to_json(text: &str) -> Value {
    serde_saphyr::from_str::<Value>(text).expect("generated YAML parses")
}

#[test]
fn promtool_accepts_the_config_and_rules_and_every_alert_test_passes() {
    let promtool = require_tool("promtool");
    for m in manifests() {
        let dir = build_into_tempdir(&m);
        let prom = dir.path().join("prometheus");
        let (ok, out) = run(Command::new(&promtool).args(["check", "config", "prometheus.yml"]).current_dir(&prom));
        assert!(ok, "{}: promtool check config:\n{out}", m.display());
        if prom.join("web.yml").exists() {
            let (ok, out) = run(Command::new(&promtool).args(["check", "web-config", "web.yml"]).current_dir(&prom));
            assert!(ok, "{}: promtool check web-config:\n{out}", m.display());
        }
        let rules: Vec<String> = std::fs::read_dir(prom.join("rules"))
            .unwrap()
            .map(|e| format!("rules/{}", e.unwrap().file_name().to_string_lossy()))
            .collect();
        // With its lint fatal: no two rules of a file share an alert name and labels.
        let (ok, out) =
            run(Command::new(&promtool).args(["check", "rules", "--lint-fatal"]).args(&rules).current_dir(&prom));
        assert!(ok, "{}: promtool check rules:\n{out}", m.display());
        let tests: Vec<String> = std::fs::read_dir(prom.join("tests"))
            .unwrap()
            .map(|e| format!("tests/{}", e.unwrap().file_name().to_string_lossy()))
            .collect();
        assert!(!tests.is_empty());
        let (ok, out) = run(Command::new(&promtool).arg("test").arg("rules").args(&tests).current_dir(&prom));
        assert!(ok, "{}: promtool test rules:\n{out}", m.display());
    }
}

/// An exporter that cannot be scraped is `ExporterDown`, not the service's Down alert: the
/// service may be fine (issue 12: killing db-exporter while the database answered paged "db
/// down"), and ExporterDown inhibits nothing. A failing TLS probe of the same service is not its
/// exporter.
#[test]
fn an_exporter_outage_is_exporter_down_not_the_service_down() {
    let promtool = require_tool("promtool");
    let dir = build_into_tempdir(&root().join("examples/faceless-staging.yaml"));
    let prom = dir.path().join("prometheus");
    for (service, kind, down) in
        [("db", "postgres", "PostgresDown"), ("cache", "redis", "RedisDown"), ("proxy", "nginx", "NginxDown")]
    {
        // ExporterDown as the generated firing test expects it, labels and annotations.
        let generated =
            yaml_to_json(&std::fs::read_to_string(prom.join(format!("tests/services-{kind}.yml"))).unwrap());
        let fires = generated["tests"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == format!("ExporterDown fires ({service})").as_str())
            .unwrap_or_else(|| panic!("{service}: ExporterDown has a firing test"));
        let expected = fires["alert_rule_test"][0]["exp_alerts"].clone();
        assert_eq!(expected.as_array().map(Vec::len), Some(1));
        // The exporter's `up` only; its `pg_up` went stale with it.
        let case = |up: u32| {
            serde_json::json!({
                "interval": "1m",
                "input_series": [
                    { "series": format!("up{{job=\"{service}\",instance=\"{service}-exporter:9\",service_kind=\"{kind}\",service=\"{service}\"}}"), "values": format!("{up}x60") },
                    // Another job about the same service (a TLS probe) that fails: not the exporter.
                    { "series": format!("up{{job=\"{service}-tls\",instance=\"https://example.org\",service_kind=\"{kind}\",probe=\"tls\",service=\"{service}\"}}"), "values": "0x60" },
                ],
                "alert_rule_test": [
                    { "eval_time": "11m", "alertname": "ExporterDown", "exp_alerts": if up == 0 { expected.clone() } else { serde_json::json!([]) } },
                    { "eval_time": "11m", "alertname": down, "exp_alerts": [] },
                ],
            })
        };
        let tests = serde_json::json!({
            "rule_files": [format!("rules/services-{kind}.yml")],
            "evaluation_interval": "1m",
            "tests": [case(0), case(1)],
        });
        let file = format!("scrape-failure-{service}.yml");
        std::fs::write(prom.join(&file), serde_json::to_string(&tests).unwrap()).unwrap();
        let (ok, out) = run(Command::new(&promtool).args(["test", "rules", &file]).current_dir(&prom));
        assert!(ok, "{service}: promtool test rules:\n{out}");
    }
    let am = yaml_to_json(&std::fs::read_to_string(dir.path().join("alertmanager/alertmanager.yml")).unwrap());
    for rule in am["inhibit_rules"].as_array().unwrap() {
        assert!(!rule["source_matchers"].to_string().contains("ExporterDown"), "ExporterDown inhibits: {rule}");
    }
}

#[test]
fn every_generated_alert_has_a_firing_and_a_silent_test() {
    for m in manifests() {
        let dir = build_into_tempdir(&m);
        let prom = dir.path().join("prometheus");
        for entry in std::fs::read_dir(prom.join("rules")).unwrap() {
            let path = entry.unwrap().path();
            let file = path.file_name().unwrap().to_string_lossy().into_owned();
            let rules = yaml_to_json(&std::fs::read_to_string(&path).unwrap());
            let alerts: Vec<String> = rules["groups"][0]["rules"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|r| r["alert"].as_str().map(String::from))
                .collect();
            if file == "user.yml" {
                continue; // the user's own expressions: no series to synthesise
            }
            let tests = yaml_to_json(&std::fs::read_to_string(prom.join("tests").join(&file)).unwrap());
            for alert in alerts {
                let cases: Vec<&Value> = tests["tests"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .flat_map(|t| t["alert_rule_test"].as_array().unwrap())
                    .filter(|c| c["alertname"] == alert.as_str())
                    .collect();
                assert!(
                    cases.iter().any(|c| !c["exp_alerts"].as_array().unwrap().is_empty()),
                    "{}: {alert} has no firing test",
                    m.display()
                );
                // The dead man's switch always fires.
                assert!(
                    alert == "Watchdog" || cases.iter().any(|c| c["exp_alerts"].as_array().unwrap().is_empty()),
                    "{}: {alert} has no silent test",
                    m.display()
                );
            }
        }
    }
}

#[test]
fn every_alert_carries_the_labels_and_annotations_routes_rely_on() {
    for m in manifests() {
        let dir = build_into_tempdir(&m);
        for entry in std::fs::read_dir(dir.path().join("prometheus/rules")).unwrap() {
            let rules = yaml_to_json(&std::fs::read_to_string(entry.unwrap().path()).unwrap());
            for r in rules["groups"][0]["rules"].as_array().unwrap().iter().filter(|r| r.get("alert").is_some()) {
                for l in ["severity", "category", "stack", "env"] {
                    assert!(r["labels"][l].is_string(), "{}: {} lacks label {l}", m.display(), r["alert"]);
                }
                assert!(r["annotations"]["summary"].is_string(), "{}: {} lacks a summary", m.display(), r["alert"]);
            }
        }
    }
}

fn validator(path: &str) -> jsonschema::Validator {
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(shared().join("schemas/schemastore").join(path)).unwrap())
            .unwrap();
    jsonschema::validator_for(&schema).expect("schema compiles")
}

#[test]
fn generated_files_match_the_schemastore_schemas() {
    let config = validator("prometheus.json");
    let rules = validator("prometheus.rules.json");
    let tests = validator("prometheus.rules.test.json");
    for m in manifests() {
        let dir = build_into_tempdir(&m);
        let prom = dir.path().join("prometheus");
        let check = |v: &jsonschema::Validator, path: PathBuf| {
            let doc = yaml_to_json(&std::fs::read_to_string(&path).unwrap());
            let errors: Vec<String> = v.iter_errors(&doc).map(|e| format!("{} at {}", e, e.instance_path())).collect();
            assert!(errors.is_empty(), "{}: {}:\n{}", m.display(), path.display(), errors.join("\n"));
        };
        check(&config, prom.join("prometheus.yml"));
        for e in std::fs::read_dir(prom.join("rules")).unwrap() {
            check(&rules, e.unwrap().path());
        }
        for e in std::fs::read_dir(prom.join("tests")).unwrap() {
            check(&tests, e.unwrap().path());
        }
    }
}

/// `docs/alerts.md` is the rule library's own description; regenerate it with
/// `UPDATE_DOCS=1 cargo test --test it alerts_doc`.
#[test]
fn alerts_doc_is_current() {
    let path = root().join("tests/fixtures/alerts-reference.yaml");
    let checked = sightline::check("alerts-reference.yaml", &std::fs::read(&path).unwrap());
    let manifest = checked.manifest.expect("reference manifest decodes");
    let stack = sightline::ir::lower(&manifest, "alerts-reference.yaml");
    let doc = sightline::targets::rules::doc::render(&stack);
    let file = root().join("docs/alerts.md");
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&file, &doc).unwrap();
    }
    let committed = std::fs::read_to_string(&file).unwrap_or_default();
    assert!(
        committed == doc,
        "docs/alerts.md is stale: run `UPDATE_DOCS=1 cargo test --test it alerts_doc` and commit it"
    );
}

/// Every selector of every generated rule and Prometheus panel is proved against what the stack
/// scrapes: its metric is one a target exposes (`ir::metrics`), every label it matches on or an
/// aggregation groups by is one that metric carries (the exporters' and frameworks' label
/// catalogues, read from their sources; the rehearsal checks them on the running programs).
#[test]
fn every_selector_matches_labels_its_metric_carries() {
    use promql_parser::parser::{Expr, parse};
    use promql_parser::util::{ExprVisitor, walk_expr};
    // Labels every target has: the scrape's own, those the scrape configs add to a service's
    // targets (`probe` only on its blackbox probes: `probe=""` is every other target), and those
    // the recording rules and `label_replace` keep.
    const ANY: [&str; 6] = ["__name__", "job", "instance", "service", "service_kind", "probe"];

    struct Check<'a> {
        stack: &'a sightline::ir::Stack,
        problems: Vec<String>,
    }
    /// Whether a selector reads a service's series: its `service` and `service_kind` matchers (a
    /// kind's rule reads every service of the kind but those with a rule of their own).
    fn covers(matchers: &promql_parser::label::Matchers, s: &sightline::ir::Service) -> bool {
        matchers.matchers.iter().all(|m| match m.name.as_str() {
            "service" => m.is_match(s.name.as_str()),
            "service_kind" => m.is_match(s.kind.as_str()),
            _ => true,
        })
    }
    /// The vector selectors of an expression (a range's too).
    fn selectors(e: &Expr) -> Vec<promql_parser::parser::VectorSelector> {
        struct All(Vec<promql_parser::parser::VectorSelector>);
        impl ExprVisitor for All {
            type Error = ();
            fn pre_visit(&mut self, e: &Expr) -> Result<bool, ()> {
                match e {
                    Expr::VectorSelector(v) => self.0.push(v.clone()),
                    Expr::MatrixSelector(m) => self.0.push(m.vs.clone()),
                    _ => {}
                }
                Ok(true)
            }
        }
        let mut all = All(Vec::new());
        walk_expr(&mut all, e).unwrap();
        all.0
    }
    use sightline::ir::metrics::selected as metrics_in;
    impl ExprVisitor for Check<'_> {
        type Error = ();
        fn pre_visit(&mut self, e: &Expr) -> Result<bool, ()> {
            match e {
                Expr::VectorSelector(_) | Expr::MatrixSelector(_) => {
                    let v = match e {
                        Expr::VectorSelector(v) => v,
                        Expr::MatrixSelector(m) => &m.vs,
                        _ => unreachable!(),
                    };
                    let Some(metric) = metrics_in(e).into_iter().next() else { return Ok(true) };
                    match sightline::ir::metrics::labels_of(self.stack, &metric, &|s| covers(&v.matchers, s)) {
                        None => self.problems.push(format!("`{metric}`: no target of the stack exposes it")),
                        Some(labels) => {
                            for m in &v.matchers.matchers {
                                if !ANY.contains(&m.name.as_str()) && !labels.contains(&m.name) {
                                    self.problems.push(format!("`{metric}` has no label `{}` ({labels:?})", m.name));
                                }
                            }
                        }
                    }
                }
                Expr::Aggregate(a) => {
                    if let Some(modifier) = &a.modifier {
                        let inner: Vec<String> = selectors(&a.expr)
                            .iter()
                            .flat_map(|v| {
                                let metric = metrics_in(&Expr::VectorSelector(v.clone())).into_iter().next();
                                metric
                                    .and_then(|m| {
                                        sightline::ir::metrics::labels_of(self.stack, &m, &|s| covers(&v.matchers, s))
                                    })
                                    .unwrap_or_default()
                            })
                            .collect();
                        for l in &modifier.labels().labels {
                            if !ANY.contains(&l.as_str()) && !inner.contains(l) {
                                self.problems.push(format!(
                                    "grouping by `{l}`, which none of {:?} carries",
                                    metrics_in(&a.expr)
                                ));
                            }
                        }
                    }
                }
                _ => {}
            }
            Ok(true)
        }
    }
    for m in manifests() {
        let checked = sightline::check(&m.to_string_lossy(), &std::fs::read(&m).unwrap());
        let stack = sightline::ir::lower(checked.manifest.as_ref().unwrap(), "m");
        let dir = build_into_tempdir(&m);
        let mut exprs: Vec<(String, String)> = Vec::new();
        for entry in std::fs::read_dir(dir.path().join("prometheus/rules")).unwrap() {
            let path = entry.unwrap().path();
            if path.ends_with("user.yml") {
                continue; // the user's own metrics
            }
            let rules = yaml_to_json(&std::fs::read_to_string(&path).unwrap());
            for r in rules["groups"][0]["rules"].as_array().unwrap() {
                let name = r["alert"].as_str().or(r["record"].as_str()).unwrap_or("?");
                exprs.push((format!("{} {name}", path.display()), r["expr"].as_str().unwrap().to_string()));
            }
        }
        for entry in std::fs::read_dir(dir.path().join("grafana/dashboards")).unwrap() {
            let path = entry.unwrap().path();
            let d: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            // A kind's board: its `service` variable's services, which its panels select.
            let chosen = d["templating"]["list"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|v| v["name"] == "service")
                .map(|v| v["query"].as_str().unwrap().split(',').map(str::trim).collect::<Vec<_>>().join("|"));
            for p in d["panels"].as_array().into_iter().flatten() {
                for t in p["targets"].as_array().into_iter().flatten() {
                    if t["datasource"]["type"] == "prometheus" {
                        let mut expr =
                            t["expr"].as_str().unwrap().replace("$__rate_interval", "5m").replace("$__range", "1h");
                        if let Some(services) = &chosen {
                            expr = expr
                                .replace("service=\"$service\"", &format!("service=~\"{services}\""))
                                .replace("service=~\"$service\"", &format!("service=~\"{services}\""));
                        }
                        exprs.push((format!("{} {}", path.display(), p["title"]), expr));
                    }
                }
            }
        }
        for (what, expr) in exprs {
            let Ok(parsed) = parse(&expr) else { panic!("{what}: does not parse: {expr}") };
            let mut check = Check { stack: &stack, problems: Vec::new() };
            walk_expr(&mut check, &parsed).unwrap();
            assert!(check.problems.is_empty(), "{what}: {expr}\n{}", check.problems.join("\n"));
        }
    }
}

/// A health path with a quote or a backslash still gives promtool tests it can read (the path
/// is a label value in the generated series).
#[test]
fn a_health_path_with_quotes_gives_valid_tests() {
    let promtool = require_tool("promtool");
    let out = crate::support::build_yaml(
        "version: 1\nstack: shop\nenvironment: prod\nnetwork: n1\nservices:\n  web: { kind: http, port: 8080, health: { ready: '/a\"b\\c' } }\n",
    );
    let (ok, text) = run(Command::new(&promtool)
        .args(["test", "rules", "tests/services-http.yml"])
        .current_dir(out.path().join("prometheus")));
    assert!(ok, "{text}");
}

/// A service named like a scrape job sightline derives is refused (SL102) exactly where
/// Prometheus would refuse the configuration: what the check lets through, promtool accepts.
#[test]
fn names_like_a_generated_scrape_job_are_refused_where_they_collide() {
    use sightline::code::Code;
    use sightline::manifest::model::Platform;
    let promtool = require_tool("promtool");
    let manifest = |services: &str, extra: &str| {
        format!("version: 1\nstack: shop\nenvironment: prod\nnetwork: n1\n{extra}services:\n{services}")
    };
    let refused = |text: &str, platform: Option<Platform>| {
        let checked = sightline::check_for("stack.yaml", text.as_bytes(), platform);
        checked.diagnostics.iter().filter(|d| d.code == Code::ReservedName).count()
    };
    // Collisions: node-exporter's job, the blackbox exporter's job and container, a probe's job.
    let probed = "  api: { kind: http, port: 8001, health: { live: /live } }\n";
    for (services, n) in [
        ("  node: { kind: http, port: 8000 }\n".to_string(), 1),
        (format!("{probed}  blackbox: {{ kind: http, port: 8002 }}\n"), 1),
        // (Its exporter would be the blackbox exporter's container, refused before the jobs.)
        (format!("{probed}  blackbox: {{ kind: redis, port: 6379 }}\n"), 1),
        (format!("{probed}  api-health: {{ kind: http, port: 8002 }}\n"), 1),
    ] {
        assert_eq!(refused(&manifest(&services, ""), None), n, "{services}");
    }
    // No collision: no node-exporter, a probe of another kind, and on Kubernetes, where the
    // chart's node-exporter has jobs and objects of its own names. Each builds a configuration
    // promtool accepts.
    for (services, extra) in [
        ("  node: { kind: http, port: 8000 }\n".to_string(), "observability: { node_exporter: false }\n"),
        ("  api: { kind: http, port: 8001, tls: { domain: api.example.com } }\n  api-health: { kind: http, port: 8002 }\n".to_string(), ""),
    ] {
        let text = manifest(&services, extra);
        assert_eq!(refused(&text, None), 0, "{text}");
        let out = crate::support::build_yaml(&text);
        let (ok, log) = run(Command::new(&promtool)
            .args(["check", "config", "--syntax-only", "prometheus.yml"])
            .current_dir(out.path().join("prometheus")));
        assert!(ok, "{text}\n{log}");
    }
    assert_eq!(refused(&manifest("  node: { kind: http, port: 8000 }\n", ""), Some(Platform::Kubernetes)), 0);
    // An exporter named like one of sightline's own programs, on either platform.
    assert_eq!(refused(&manifest("  node: { kind: redis, port: 6379 }\n", ""), Some(Platform::Kubernetes)), 1);
    // And on Kubernetes the blackbox exporter's job is the tree's too.
    let blackbox = manifest(&format!("{probed}  blackbox: {{ kind: http, port: 8002 }}\n"), "");
    assert_eq!(refused(&blackbox, Some(Platform::Kubernetes)), 1);
}

/// SL510 agrees with Prometheus: every annotation the check accepts, promtool (Prometheus's
/// own template parser, at the stack's release) accepts, and every one it refuses, promtool
/// refuses. The corpus mixes what users write with what breaks.
#[test]
fn annotation_templates_are_judged_as_promtool_judges_them() {
    let promtool = require_tool("promtool");
    let corpus = [
        "plain text, no action",
        "{{ $labels.instance }} is down",
        "{{ $value | humanize }} requests per second on {{ $labels.service }}",
        "{{- $labels.job -}} at {{ printf \"%.2f\" $value }}",
        "{{ if gt $value 1.0 }}high{{ else }}low{{ end }}",
        "{{ if gt $value 1.0 }}high{{ else if lt $value 0.5 }}low{{ end }}",
        "{{ range $i, $l := $labels }}{{ $i }}={{ $l }}{{ end }}",
        "{{ $x := 5 }}{{ $x }}",
        "{{/* a comment }} */}}",
        "{{ \"}}\" }} and {{ `{{` }}",
        "{{ with query \"up\" }}{{ . | first | value | humanize }}{{ end }}",
        "{{ $externalURL }}/graph {{ .Labels.job }} {{ -1 }}",
        "{{ humanizeDuration $value }} {{ humanizePercentage $value }} {{ toUpper \"a\" }}",
        "{{ $labels.instance }} is {{ down",
        "{{ down }}",
        "{{ $labelz.instance }}",
        "{{ if $value }}x",
        "x {{ end }}",
        "{{ else }}",
        "{{ \"unclosed }}",
        "{{ }}",
        "{{ $value ; }}",
        "{{/* open }}",
        "{{ humanise $value }}",
        "{{ range $labels }}{{ . }}",
        "{{ $value | nope }}",
        "50% of {{ $labels.job }} }} stray",
    ];
    let dir = tempfile::tempdir().unwrap();
    let mut disagreements = Vec::new();
    for (i, text) in corpus.iter().enumerate() {
        let file = dir.path().join(format!("r{i}.yml"));
        let rules = serde_json::json!({ "groups": [{ "name": "g", "rules": [{
            "alert": "A", "expr": "up == 0", "annotations": { "summary": text }
        }] }] });
        std::fs::write(&file, serde_json::to_string(&rules).unwrap()).unwrap();
        let (promtool_ok, said) = run(std::process::Command::new(&promtool).arg("check").arg("rules").arg(&file));
        let ours = sightline::check::templates::parse(text);
        if promtool_ok != ours.is_ok() {
            disagreements.push(format!("{text:?}: promtool {promtool_ok} ({}), sightline {ours:?}", said.trim()));
        }
    }
    assert!(disagreements.is_empty(), "SL510 disagrees with promtool:\n{}", disagreements.join("\n"));
}

/// The alert rules of a build, Prometheus's and Loki's: (file, alert, expression).
fn alert_rules(dir: &std::path::Path) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for sub in ["prometheus/rules", "loki/rules/fake"] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join(sub)).unwrap().map(|e| e.unwrap().path()).collect();
        files.sort();
        for path in files {
            let rules = yaml_to_json(&std::fs::read_to_string(&path).unwrap());
            for r in rules["groups"][0]["rules"].as_array().unwrap() {
                if let Some(alert) = r["alert"].as_str() {
                    let file = path.file_name().unwrap().to_string_lossy().into_owned();
                    out.push((file, alert.to_string(), r["expr"].as_str().unwrap().to_string()));
                }
            }
        }
    }
    out
}

/// A fleet of `n` services of four kinds in turn, as the benchmark's, with `extra` appended to
/// the first http service's entry.
fn fleet(n: usize, extra: &str) -> String {
    let mut out = String::from("version: 1\nstack: fleet\nenvironment: prod\nnetwork: fleet_default\nservices:\n");
    for i in 0..n {
        out.push_str(&match i % 4 {
            0 => format!(
                "  api{i}: {{ kind: http, framework: fastapi, port: {}, health: {{ ready: /ready }}, logs: {{ format: json }}, slo: {{ availability: 99.9%, latency: {{ p95: 500ms }} }}{} }}\n",
                8000 + i,
                if i == 0 { extra } else { "" }
            ),
            1 => format!(
                "  db{i}: {{ kind: postgres, port: 5432, database: app{i}, user: app{i}, password: {{ env: PG{i} }}, logs: {{ format: postgres }} }}\n"
            ),
            2 => format!("  cache{i}: {{ kind: redis, port: 6379 }}\n"),
            _ => format!("  proxy{i}: {{ kind: nginx, port: {}, logs: {{ format: nginx }} }}\n", 10000 + i),
        });
    }
    out
}

/// Rules grow with the kinds, not with the services (issue 14): a fleet of 200 services has
/// exactly the alert rules of one of 8 with the same kinds, and an override adds one rule.
#[test]
fn alert_rules_grow_with_the_kinds_not_the_services() {
    let small = alert_rules(crate::support::build_yaml(&fleet(8, "")).path());
    let large = alert_rules(crate::support::build_yaml(&fleet(200, "")).path());
    let names = |rules: &[(String, String, String)]| -> Vec<(String, String)> {
        rules.iter().map(|(f, a, _)| (f.clone(), a.clone())).collect()
    };
    assert_eq!(names(&small), names(&large), "the rules of 8 and of 200 services differ");
    assert!(large.len() > 20, "{large:?}");
    let overridden =
        alert_rules(crate::support::build_yaml(&fleet(200, ", alerts: { HighErrorRate: { threshold: 10% } }")).path());
    assert_eq!(overridden.len(), large.len() + 1);
    let error_rules: Vec<&String> =
        overridden.iter().filter(|(_, a, _)| a == "HighErrorRate").map(|(_, _, e)| e).collect();
    assert_eq!(error_rules.len(), 2, "{error_rules:?}");
    // The override's rule names its service; the kind's rule leaves it out.
    assert!(error_rules.iter().any(|e| e.contains("service_kind=\"http\",service=\"api0\"")), "{error_rules:?}");
    assert!(error_rules.iter().any(|e| e.contains("service_kind=\"http\",service!=\"api0\"")), "{error_rules:?}");
}

/// A fleet of `rounds` services of every kind, one of each a round (a celery service's broker the
/// round's redis service, a database of its own).
fn every_kind(rounds: usize) -> String {
    use sightline::manifest::model::Kind;
    let mut out = String::from("version: 1\nstack: fleet\nenvironment: prod\nnetwork: fleet_default\nservices:\n");
    for r in 0..rounds {
        for k in Kind::ALL {
            let kind = k.as_str();
            out.push_str(&match k {
                Kind::Postgres | Kind::Mysql => format!(
                    "  {kind}{r}: {{ kind: {kind}, port: 5432, database: d{r}, user: u{r}, password: {{ env: P{r} }} }}\n"
                ),
                Kind::Celery => format!("  {kind}{r}: {{ kind: celery, broker: {{ service: redis{r}, database: {r} }} }}\n"),
                _ => format!("  {kind}{r}: {{ kind: {kind}, port: {} }}\n", 10000 + r),
            });
        }
    }
    out
}

/// The same of every kind: 20 of each have the alert rules of one of each.
#[test]
fn alert_rules_of_every_kind_grow_with_the_kinds_not_the_services() {
    let one = alert_rules(crate::support::build_yaml(&every_kind(1)).path());
    let many = alert_rules(crate::support::build_yaml(&every_kind(20)).path());
    let names = |rules: &[(String, String, String)]| -> Vec<(String, String)> {
        rules.iter().map(|(f, a, _)| (f.clone(), a.clone())).collect()
    };
    assert_eq!(names(&one), names(&many), "the rules of one service of each kind and of 20 differ");
    for k in sightline::manifest::model::Kind::ALL {
        let down = sightline::kinds::def(k).exporter.as_ref().map_or("TargetDown", |e| e.down_alert);
        assert!(
            many.iter().any(|(_, a, e)| a == down && e.contains(&format!("service_kind=\"{}\"", k.as_str()))),
            "{}: no kind-wide {down} rule",
            k.as_str()
        );
    }
}

/// An override is its own rule and the kind's rule leaves its service out; an alert switched
/// off is raised by no rule: promtool evaluates the generated rules on three services with the
/// same error ratio, between the default threshold (5%) and the override (50%), then above both.
#[test]
fn an_override_takes_its_service_out_of_the_kinds_rule() {
    let promtool = require_tool("promtool");
    let out = crate::support::build_yaml(
        "version: 1\nstack: shop\nenvironment: prod\nnetwork: n1\nservices:\n  \
         a: { kind: http, framework: fastapi, port: 8080 }\n  \
         b: { kind: http, framework: fastapi, port: 8081, alerts: { HighErrorRate: { threshold: 50% } } }\n  \
         c: { kind: http, framework: fastapi, port: 8082, alerts: { HighErrorRate: off } }\n",
    );
    let prom = out.path().join("prometheus");
    let series = |service: &str, errors: u32| {
        let labels = format!("job=\"{service}\",instance=\"{service}:1\",service_kind=\"http\",service=\"{service}\"");
        [
            serde_json::json!({ "series": format!("http_requests_total{{{labels},status=\"5xx\"}}"), "values": format!("0+{errors}x30") }),
            serde_json::json!({ "series": format!("http_requests_total{{{labels},status=\"2xx\"}}"), "values": format!("0+{}x30", 100 - errors) }),
        ]
    };
    // Each alert as the generated firing test of its service's rule expects it. The override's
    // rule is in a file of its own (`services-http-2.yml`): one file holds no two rules of an
    // alert with the same labels.
    let files = ["services-http.yml", "services-http-2.yml"];
    let generated: Vec<Value> =
        files.iter().map(|f| yaml_to_json(&std::fs::read_to_string(prom.join("tests").join(f)).unwrap())).collect();
    let expected = |service: &str| -> Option<Value> {
        let name = format!("HighErrorRate fires ({service})");
        let t = generated.iter().flat_map(|g| g["tests"].as_array().unwrap()).find(|t| t["name"] == name.as_str())?;
        Some(t["alert_rule_test"][0]["exp_alerts"][0].clone())
    };
    assert!(expected("c").is_none(), "an alert switched off has no rule");
    let case = |errors: u32, firing: &[&str]| {
        let input: Vec<Value> = ["a", "b", "c"].iter().flat_map(|s| series(s, errors)).collect();
        let alerts: Vec<Value> = firing.iter().map(|s| expected(s).unwrap()).collect();
        serde_json::json!({
            "interval": "1m",
            "input_series": input,
            "alert_rule_test": [{ "eval_time": "20m", "alertname": "HighErrorRate", "exp_alerts": alerts }],
        })
    };
    let tests = serde_json::json!({
        "rule_files": files.map(|f| format!("rules/{f}")),
        "evaluation_interval": "1m",
        "tests": [case(10, &["a"]), case(60, &["a", "b"])],
    });
    std::fs::write(prom.join("override.yml"), serde_json::to_string(&tests).unwrap()).unwrap();
    let (ok, text) = run(Command::new(&promtool).args(["test", "rules", "override.yml"]).current_dir(&prom));
    assert!(ok, "{text}");
}

/// A rule is about exactly the services it lists: a service without the alert's series (here
/// not scraped) is left out of the kind's rule by name, so the rule cannot fire for it should
/// such a series appear, and routing and the rehearsal agree on whom it concerns.
#[test]
fn a_kinds_rule_leaves_out_the_services_without_its_series() {
    let out = crate::support::build_yaml(
        "version: 1\nstack: shop\nenvironment: prod\nnetwork: n1\nservices:\n  \
         a: { kind: generic, port: 9000 }\n  b: { kind: generic, port: 9001 }\n  c: { kind: generic, port: 9002, metrics: false }\n  \
         d: { kind: http, port: 8000, runtime: go }\n  e: { kind: http, port: 8001 }\n  f: { kind: http, port: 8002 }\n",
    );
    let rules = alert_rules(out.path());
    let expr = |file: &str, alert: &str| {
        rules.iter().find(|(f, a, _)| f == file && a == alert).map(|(_, _, e)| e.clone()).unwrap()
    };
    assert!(expr("services-generic.yml", "TargetDown").contains("service_kind=\"generic\",service!=\"c\""));
    // One service of three has a runtime: the rule names it rather than excluding two.
    assert!(expr("services-http.yml", "FileDescriptorsNearLimit").contains("service_kind=\"http\",service=\"d\""));
}

/// An objective with neither availability nor latency set is no objective: no SLO rules and no
/// SLO dashboard, and no failure.
#[test]
fn an_empty_objective_gives_no_slo_output() {
    let out = crate::support::build_yaml(
        "version: 1\nstack: shop\nenvironment: prod\nnetwork: n1\nservices:\n  a: { kind: http, port: 8000, slo: { latency: {} } }\n",
    );
    assert!(!out.path().join("prometheus/rules/slo.yml").exists());
    assert!(!out.path().join("grafana/dashboards/slo.json").exists());
}

/// With `observability.prometheus.auth`, everything that talks to Prometheus logs in, with the
/// password's one file: Prometheus's scrape of itself, its healthcheck (promtool with
/// client.yml), and Grafana's data source; compose mounts that file in both containers and
/// starts Prometheus with web.yml. Without it, none of that is generated.
#[test]
fn every_client_of_an_authenticated_prometheus_logs_in_with_the_one_password_file() {
    let mut seen = 0;
    let mut trees: Vec<crate::support::Built> = manifests().iter().map(|m| crate::support::built(m)).collect();
    trees.push(crate::support::web_auth_from_env());
    for t in &trees {
        let (stack, dir, m) = (&t.stack, &t.dir, &t.name);
        let prom = dir.path().join("prometheus");
        let compose = yaml_to_json(&std::fs::read_to_string(dir.path().join("compose.yaml")).unwrap());
        let p = &compose["services"]["prometheus"];
        let datasources = yaml_to_json(
            &std::fs::read_to_string(dir.path().join("grafana/provisioning/datasources/datasources.yml")).unwrap(),
        );
        let grafana = &datasources["datasources"][0];
        let Some(auth) = &stack.prometheus_auth else {
            assert!(!prom.join("web.yml").exists() && !prom.join("client.yml").exists(), "{}", m);
            assert!(p["healthcheck"]["test"].as_array().unwrap().iter().any(|a| a == "wget"));
            assert!(grafana.get("basicAuth").is_none());
            continue;
        };
        seen += 1;
        let file = &sightline::targets::paths::secret_file(&auth.password);
        let config = yaml_to_json(&std::fs::read_to_string(prom.join("prometheus.yml")).unwrap());
        let own = config["scrape_configs"].as_array().unwrap().iter().find(|j| j["job_name"] == "prometheus").unwrap();
        assert_eq!(own["basic_auth"]["username"], auth.user.as_str());
        assert_eq!(own["basic_auth"]["password_file"], file.as_str());
        let client = yaml_to_json(&std::fs::read_to_string(prom.join("client.yml")).unwrap());
        assert_eq!(client["basic_auth"]["password_file"], file.as_str());
        let web = yaml_to_json(&std::fs::read_to_string(prom.join("web.yml")).unwrap());
        assert_eq!(web["basic_auth_users"][auth.user.as_str()], auth.password_hash.as_str());
        let command: Vec<&str> = p["command"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
        assert!(command.contains(&"--web.config.file=/etc/prometheus/web.yml"), "{command:?}");
        let test: Vec<&str> =
            p["healthcheck"]["test"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
        assert_eq!(test[..4], ["CMD", "/bin/promtool", "check", "ready"]);
        assert!(test.contains(&"--http.config.file=/etc/prometheus/client.yml"));
        for service in ["prometheus", "grafana"] {
            crate::support::assert_reads_secret(&compose, service, &auth.password, m);
        }
        assert_eq!(grafana["basicAuth"], true);
        assert_eq!(grafana["basicAuthUser"], auth.user.as_str());
        assert_eq!(grafana["secureJsonData"]["basicAuthPassword"], format!("$__file{{{file}}}"));
    }
    assert!(seen >= 1, "no manifest puts Prometheus behind authentication");
}

/// An alert marked `state` fires on a state and reads no threshold, so an override of its
/// threshold is a warning (SL205); every other alert's expression changes with its threshold.
/// Rendered for each service of the reference manifest (one of each kind) at two thresholds.
#[test]
fn state_alerts_are_exactly_those_whose_expression_ignores_the_threshold() {
    use sightline::kinds::alert::ServiceAlert;
    let path = root().join("tests/fixtures/alerts-reference.yaml");
    let checked = sightline::check("alerts-reference.yaml", &std::fs::read(&path).unwrap());
    let stack = sightline::ir::lower(&checked.manifest.expect("reference manifest decodes"), "alerts-reference.yaml");
    let (mut seen, mut wrong) = (0, Vec::new());
    for s in &stack.services {
        let def = sightline::kinds::def(s.kind);
        for b in def.alerts.iter().filter(|b| !b.logs && (b.when)(s)) {
            let expr = |t: f64| {
                let r = ServiceAlert { def: b, s, t, for_: b.for_, tt: String::new() };
                (def.rule)(&r).expr
            };
            let (low, high) = (expr(b.threshold), expr(b.threshold * 2.0 + 0.37));
            if (low == high) != b.state {
                let reads = if low == high { "ignores the threshold" } else { "reads it" };
                wrong.push(format!(
                    "{} ({}): state is {}, but its expression {reads}",
                    b.name,
                    s.kind.as_str(),
                    b.state
                ));
            }
            seen += 1;
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert!(seen > 40, "every metric alert of every kind rendered ({seen})");
}

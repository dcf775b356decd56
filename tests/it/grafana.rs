//! Grafana provisioning and dashboards, for every example and every manifest under
//! `tests/fixtures/ok/`: dashboards valid against Grafana's own dashboard schema (from
//! grafana-foundation-sdk) and their panel options against the panel plugins' schemas; UIDs
//! unique and short; every datasource a panel uses provisioned; every PromQL query accepted by
//! promtool; and every metric a panel or a generated alert queries exposed by a target of the
//! stack (`ir::metrics`), so no panel is empty for want of a metric nobody scrapes. The
//! query-time panels are also evaluated by promtool on exporter-shaped series.

use crate::prometheus::manifests;
use crate::support::{build_into_tempdir, require_tool, run, shared};
use promql_parser::parser::{self, Expr};
use serde_json::Value;
use std::collections::BTreeSet;
use std::process::Command;

fn schema(file: &str, definition: &str) -> jsonschema::Validator {
    let mut s: Value = serde_json::from_str(
        &std::fs::read_to_string(shared().join("schemas/grafana-foundation-sdk").join(file)).unwrap(),
    )
    .unwrap();
    s["$ref"] = Value::String(format!("#/definitions/{definition}"));
    jsonschema::validator_for(&s).unwrap()
}

fn dashboards(dir: &std::path::Path) -> Vec<(String, Value)> {
    let d = dir.join("grafana/dashboards");
    let mut v: Vec<(String, Value)> = std::fs::read_dir(&d)
        .map(|r| {
            r.map(|e| e.unwrap().path())
                .map(|p| {
                    (
                        p.file_name().unwrap().to_string_lossy().into_owned(),
                        serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

/// Grafana's interval variables, replaced for checking.
fn concrete(expr: &str) -> String {
    expr.replace("$__rate_interval", "5m").replace("$__interval", "1m").replace("$__range", "6h")
}

/// The metric names a PromQL expression selects.
fn metric_names(e: &Expr, out: &mut BTreeSet<String>) {
    match e {
        Expr::Aggregate(a) => {
            metric_names(&a.expr, out);
            if let Some(p) = &a.param {
                metric_names(p, out);
            }
        }
        Expr::Unary(u) => metric_names(&u.expr, out),
        Expr::Binary(b) => {
            metric_names(&b.lhs, out);
            metric_names(&b.rhs, out);
        }
        Expr::Paren(p) => metric_names(&p.expr, out),
        Expr::Subquery(s) => metric_names(&s.expr, out),
        Expr::VectorSelector(v) => {
            out.extend(v.name.clone());
        }
        Expr::MatrixSelector(m) => {
            out.extend(m.vs.name.clone());
        }
        Expr::Call(c) => c.args.args.iter().for_each(|a| metric_names(a, out)),
        _ => {}
    }
}

#[test]
fn dashboards_validate_against_grafanas_schemas() {
    let dashboard = schema("dashboard.jsonschema.json", "Dashboard");
    let timeseries = schema("timeseries.jsonschema.json", "Options");
    let stat = schema("stat.jsonschema.json", "Options");
    let table = schema("table.jsonschema.json", "Options");
    // The plugins' own field options: `fieldConfig.defaults.custom`.
    let timeseries_custom = schema("timeseries.jsonschema.json", "FieldConfig");
    let table_custom = schema("table.jsonschema.json", "FieldConfig");
    let prometheus_query: Value = serde_json::from_str(
        &std::fs::read_to_string(shared().join("schemas/grafana-foundation-sdk/prometheus.jsonschema.json")).unwrap(),
    )
    .unwrap();
    let prometheus_query = jsonschema::validator_for(&prometheus_query).unwrap();
    let mut count = 0;
    for m in manifests() {
        let dir = build_into_tempdir(&m);
        for (name, d) in dashboards(dir.path()) {
            count += 1;
            let errors: Vec<String> =
                dashboard.iter_errors(&d).map(|e| format!("{e} at {}", e.instance_path())).collect();
            assert!(errors.is_empty(), "{} {name}:\n{}", m.display(), errors.join("\n"));
            for p in d["panels"].as_array().unwrap() {
                let v = match p["type"].as_str().unwrap() {
                    "timeseries" => Some(&timeseries),
                    "stat" => Some(&stat),
                    "table" => Some(&table),
                    _ => None,
                };
                if let Some(v) = v {
                    let errors: Vec<String> =
                        v.iter_errors(&p["options"]).map(|e| format!("{e} at {}", e.instance_path())).collect();
                    assert!(errors.is_empty(), "{} {name} panel {}:\n{}", m.display(), p["title"], errors.join("\n"));
                }
                let custom = match p["type"].as_str().unwrap() {
                    "timeseries" => Some(&timeseries_custom),
                    "table" => Some(&table_custom),
                    _ => None,
                };
                if let Some(v) = custom {
                    let c = &p["fieldConfig"]["defaults"]["custom"];
                    let errors: Vec<String> =
                        v.iter_errors(c).map(|e| format!("{e} at {}", e.instance_path())).collect();
                    assert!(
                        errors.is_empty(),
                        "{} {name} panel {} custom:\n{}",
                        m.display(),
                        p["title"],
                        errors.join("\n")
                    );
                }
                for t in p["targets"].as_array().unwrap().iter().filter(|t| t["datasource"]["type"] == "prometheus") {
                    let errors: Vec<String> =
                        prometheus_query.iter_errors(t).map(|e| format!("{e} at {}", e.instance_path())).collect();
                    assert!(errors.is_empty(), "{} {name} target:\n{}", m.display(), errors.join("\n"));
                }
            }
        }
    }
    assert!(count >= 20, "only {count} dashboards");
}

#[test]
fn uids_are_unique_short_and_datasources_provisioned() {
    for m in manifests() {
        let dir = build_into_tempdir(&m);
        let ds: Value = serde_saphyr::from_str(
            &std::fs::read_to_string(dir.path().join("grafana/provisioning/datasources/datasources.yml")).unwrap(),
        )
        .unwrap();
        let provisioned: BTreeSet<String> =
            ds["datasources"].as_array().unwrap().iter().map(|d| d["uid"].as_str().unwrap().to_string()).collect();
        assert_eq!(ds["datasources"].as_array().unwrap().iter().filter(|d| d["isDefault"] == true).count(), 1);
        let providers: Value = serde_saphyr::from_str(
            &std::fs::read_to_string(dir.path().join("grafana/provisioning/dashboards/dashboards.yml")).unwrap(),
        )
        .unwrap();
        assert_eq!(providers["providers"][0]["allowUiUpdates"], false);
        let mut uids = BTreeSet::new();
        for (name, d) in dashboards(dir.path()) {
            let uid = d["uid"].as_str().unwrap().to_string();
            assert!(uid.len() <= 40, "{name}: {uid}");
            assert!(uids.insert(uid), "{}: duplicate uid in {name}", m.display());
            assert!(d.get("id").is_none() && d.get("version").is_none(), "no id/version noise");
            assert!(d["description"].as_str().unwrap().contains("Generated by sightline"));
            for p in d["panels"].as_array().unwrap() {
                for ds in std::iter::once(&p["datasource"])
                    .chain(p["targets"].as_array().unwrap().iter().map(|t| &t["datasource"]))
                {
                    assert!(
                        provisioned.contains(ds["uid"].as_str().unwrap()),
                        "{} {name}: datasource {ds} is not provisioned",
                        m.display()
                    );
                }
            }
        }
    }
}

#[test]
fn every_panel_query_is_valid_promql_on_exposed_metrics() {
    let promtool = require_tool("promtool");
    for m in manifests() {
        let checked = sightline::check(&m.to_string_lossy(), &std::fs::read(&m).unwrap());
        let stack = sightline::ir::lower(checked.manifest.as_ref().unwrap(), "m");
        let exposed: BTreeSet<String> = sightline::ir::metrics::exposed(&stack).into_iter().collect();
        let dir = build_into_tempdir(&m);
        let mut exprs: Vec<(String, String)> = Vec::new();
        for (name, d) in dashboards(dir.path()) {
            for p in d["panels"].as_array().unwrap() {
                for t in p["targets"].as_array().unwrap().iter().filter(|t| t["datasource"]["type"] == "prometheus") {
                    exprs.push((format!("{name}: {}", p["title"]), concrete(t["expr"].as_str().unwrap())));
                }
            }
        }
        // The generated alerts are held to the same catalogue.
        for e in std::fs::read_dir(dir.path().join("prometheus/rules")).unwrap() {
            let path = e.unwrap().path();
            if path.ends_with("user.yml") {
                continue;
            }
            let rules: Value = serde_saphyr::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            for r in rules["groups"][0]["rules"].as_array().unwrap() {
                exprs.push((
                    format!("{}: {}", path.display(), r.get("alert").or(r.get("record")).unwrap()),
                    r["expr"].as_str().unwrap().to_string(),
                ));
            }
        }
        for (what, expr) in &exprs {
            let ast = parser::parse(expr).unwrap_or_else(|e| panic!("{} {what}: {expr}: {e}", m.display()));
            let mut names = BTreeSet::new();
            metric_names(&ast, &mut names);
            for n in names {
                assert!(exposed.contains(&n), "{} {what}: `{n}` is exposed by no target of this stack", m.display());
            }
        }
        // promtool reads each panel query as a recording rule.
        let rules = serde_json::json!({ "groups": [ { "name": "panels", "rules": exprs.iter().enumerate().filter(|(_, (w, _))| !w.contains("prometheus/rules")).map(|(i, (_, e))| serde_json::json!({ "record": format!("panel:query:{i}"), "expr": e })).collect::<Vec<_>>() } ] });
        let file = dir.path().join("panels.yml");
        std::fs::write(&file, serde_saphyr::to_string(&rules).unwrap()).unwrap();
        let (ok, out) = run(Command::new(&promtool).args(["check", "rules"]).arg(&file));
        assert!(ok, "{}: promtool rejects a panel query:\n{out}", m.display());
    }
}

/// Dashboards against the types of the Grafana release the stack runs (`@grafana/schema` from
/// npm, tests/upstream/): every field known, every value of its declared type.
#[test]
fn dashboards_type_check_against_grafanas_own_types() {
    let node = require_tool("node");
    let upstream = crate::support::root().join("tests/upstream");
    let schema_version = std::fs::read_to_string(upstream.join("node_modules/@grafana/schema/package.json"))
        .expect("tests/upstream is installed (scripts/test runs `npm ci` there)");
    let schema_version: Value = serde_json::from_str(&schema_version).unwrap();
    assert_eq!(
        schema_version["version"],
        sightline::ir::defaults::GRAFANA.version,
        "tests/upstream pins @grafana/schema at the Grafana release the stack runs"
    );
    // The schema version Grafana's own default dashboard has: one Grafana does not migrate.
    let defaults =
        std::fs::read_to_string(upstream.join("node_modules/@grafana/schema/dist/esm/raw/dashboard/x/types.gen.mjs"))
            .unwrap();
    let current: u64 =
        regex::Regex::new(r"schemaVersion: (\d+)").unwrap().captures(&defaults).expect("a default schemaVersion")[1]
            .parse()
            .unwrap();
    for m in manifests() {
        let dir = build_into_tempdir(&m);
        for (name, d) in dashboards(dir.path()) {
            assert_eq!(d["schemaVersion"], current, "{}: {name} would be migrated on load", m.display());
        }
        let files: Vec<_> = std::fs::read_dir(dir.path().join("grafana/dashboards"))
            .into_iter()
            .flatten()
            .map(|e| e.unwrap().path())
            .collect();
        if files.is_empty() {
            continue;
        }
        let (ok, out) =
            run(Command::new(&node).arg(upstream.join("dashboard-types.mjs")).args(&files).current_dir(&upstream));
        assert!(ok, "{}: dashboards do not type-check against @grafana/schema:\n{out}", m.display());
    }
    // The check can fail: an unknown field is reported.
    let bad = tempfile::tempdir().unwrap();
    let file = bad.path().join("bad.json");
    std::fs::write(&file, r#"{"title": "x", "schemaVersion": 42, "editable": false, "graphTooltip": 0, "bogus": 1}"#)
        .unwrap();
    let (ok, out) =
        run(Command::new(&node).arg(upstream.join("dashboard-types.mjs")).arg(&file).current_dir(&upstream));
    assert!(!ok && out.contains("bogus"), "{out}");
}

/// Every `job="…"` a panel or an alert selects is a job prometheus.yml scrapes: a service
/// Prometheus does not scrape (`metrics: false`) has no `up` or scrape series to show.
#[test]
fn every_job_a_query_names_is_scraped() {
    let job = regex::Regex::new(r#"\bjob=~?"([^"]+)""#).unwrap();
    for m in manifests() {
        let dir = build_into_tempdir(&m);
        let prom: Value =
            serde_saphyr::from_str(&std::fs::read_to_string(dir.path().join("prometheus/prometheus.yml")).unwrap())
                .unwrap();
        let jobs: BTreeSet<&str> =
            prom["scrape_configs"].as_array().unwrap().iter().map(|j| j["job_name"].as_str().unwrap()).collect();
        let mut texts: Vec<(String, String)> =
            dashboards(dir.path()).into_iter().map(|(name, d)| (name, d.to_string())).collect();
        for e in std::fs::read_dir(dir.path().join("prometheus/rules")).unwrap() {
            let path = e.unwrap().path();
            texts.push((path.display().to_string(), std::fs::read_to_string(&path).unwrap()));
        }
        for (name, text) in texts {
            for c in job.captures_iter(&text.replace("\\\"", "\"")) {
                // A regex matcher names its jobs as alternatives.
                for j in c[1].split('|') {
                    assert!(jobs.contains(j), "{}: {name} selects job {j}, which nothing scrapes", m.display());
                }
            }
        }
    }
}

#[test]
fn a_query_on_an_unscraped_metric_is_caught() {
    let ast = parser::parse("sum(rate(nginx_http_requests_total[5m]))").unwrap();
    let mut names = BTreeSet::new();
    metric_names(&ast, &mut names);
    let checked =
        sightline::check("minimal.yaml", &std::fs::read(crate::support::root().join("examples/minimal.yaml")).unwrap());
    let stack = sightline::ir::lower(checked.manifest.as_ref().unwrap(), "m");
    let exposed = sightline::ir::metrics::exposed(&stack);
    assert!(names.iter().any(|n| !exposed.contains(n)), "the minimal stack has no nginx: the check must flag this");
}

#[test]
fn stack_md_draws_the_stack_and_lists_every_file() {
    for m in manifests() {
        let dir = build_into_tempdir(&m);
        let md = std::fs::read_to_string(dir.path().join("STACK.md")).unwrap();
        assert!(md.contains("```mermaid\nflowchart LR\n"), "{}", m.display());
        let lock = std::fs::read_to_string(dir.path().join("sightline.lock")).unwrap();
        for line in lock.lines().filter(|l| l.starts_with('"')) {
            let path = line.split('"').nth(1).unwrap();
            if path != "STACK.md" {
                assert!(md.contains(&format!("| `{path}` |")), "{}: STACK.md does not list {path}", m.display());
            }
        }
        let checked = sightline::check(&m.to_string_lossy(), &std::fs::read(&m).unwrap());
        let stack = sightline::ir::lower(checked.manifest.as_ref().unwrap(), "m");
        for s in &stack.services {
            assert!(md.contains(&format!("[\"service {}\"]", s.name)), "{}: {} not drawn", m.display(), s.name);
        }
        for r in stack.alerting.receivers.keys() {
            if stack.alerting.routes.iter().any(|x| x.to.as_slice().contains(r))
                || stack.alerting.default.as_ref() == Some(r)
            {
                assert!(md.contains(&format!("[\"receiver {r}\"]")), "{}: receiver {r} not drawn", m.display());
            }
        }
    }
}

#[test]
fn graph_prints_mermaid_and_dot() {
    let m = crate::support::root().join("examples/faceless-staging.yaml");
    let out = Command::new(env!("CARGO_BIN_EXE_sightline")).args(["graph", "-f"]).arg(&m).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("flowchart LR\n")
            && text.contains("-->|\"category=security severity=critical\"| receiver_pager"),
        "{text}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_sightline"))
        .args(["--format", "dot", "graph", "-f"])
        .arg(&m)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("digraph \"faceless\" {") && text.trim_end().ends_with('}'), "{text}");
}

/// The postgres query panels compute what their titles say, evaluated by promtool on series
/// shaped like postgres_exporter's stat_statements collector: the table ranks statements by the
/// time spent in them, leaves out idle ones, and its second column is the mean time of one call
/// of the same statements; the time series is the mean per call over all statements.
#[test]
fn query_panels_rank_by_time_spent() {
    let promtool = require_tool("promtool");
    let dir = build_into_tempdir(&crate::support::root().join("examples/faceless-staging.yaml"));
    let (_, d) = dashboards(dir.path()).into_iter().find(|(n, _)| n == "services-postgres.json").unwrap();
    let panel = |title: &str| {
        d["panels"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["title"] == title)
            .unwrap_or_else(|| panic!("{title}"))
            .clone()
    };
    let table = panel("Top queries by time");
    let mean = panel("Mean query time");
    // The dashboard's `service` variable set to db.
    let expr = |p: &Value, i: usize| {
        concrete(p["targets"][i]["expr"].as_str().unwrap()).replace("[6h]", "[1h]").replace("$service", "db")
    };
    let rules = serde_json::json!({ "groups": [{ "name": "panels", "rules": [
        { "record": "panel:top", "expr": expr(&table, 0) },
        { "record": "panel:per_call", "expr": expr(&table, 1) },
        { "record": "panel:mean", "expr": expr(&mean, 0).replace("[5m]", "[1h]") },
    ]}]});
    // Per minute: q1 10 calls taking 1 s in all (0.1 s each), q2 1 call of 2 s, q3 idle, and q4
    // one 30 s call in the hour (the slowest call, but the least time in all).
    let series = |metric: &str, q: &str, values: String| {
        serde_json::json!({
            "series": format!("{metric}{{service=\"db\",datname=\"faceless\",queryid=\"{q}\",user=\"faceless\"}}"),
            "values": values,
        })
    };
    let steady = |per_minute: u32| format!("0+{per_minute}x60");
    let input = vec![
        series("pg_stat_statements_calls_total", "1", steady(10)),
        series("pg_stat_statements_seconds_total", "1", steady(1)),
        series("pg_stat_statements_calls_total", "2", steady(1)),
        series("pg_stat_statements_seconds_total", "2", steady(2)),
        series("pg_stat_statements_calls_total", "3", steady(0)),
        series("pg_stat_statements_seconds_total", "3", steady(0)),
        series("pg_stat_statements_calls_total", "4", "0x30 1x30".to_string()),
        series("pg_stat_statements_seconds_total", "4", "0x30 30x30".to_string()),
    ];
    let row = |name: &str, q: &str, v: f64| serde_json::json!({ "labels": format!("{name}{{datname=\"faceless\",queryid=\"{q}\"}}"), "value": v });
    let tests = serde_json::json!({
        "rule_files": ["panels.yml"],
        "evaluation_interval": "1m",
        "tests": [{
            "interval": "1m",
            "input_series": input,
            "promql_expr_test": [
                { "expr": "panel:top", "eval_time": "60m", "exp_samples": [row("panel:top", "1", 60.0), row("panel:top", "2", 120.0), row("panel:top", "4", 30.0)] },
                // Rounded: Prometheus 3's rate gives 0.09999999999999999 for 0.1.
                { "expr": "round(panel:per_call, 0.001)", "eval_time": "60m", "exp_samples": [row("", "1", 0.1), row("", "2", 2.0), row("", "4", 30.0)] },
                // 210 s over 661 calls.
                { "expr": "abs(panel:mean - 210 / 661) < bool 1e-9", "eval_time": "60m", "exp_samples": [{ "labels": "{service=\"db\"}", "value": 1 }] },
            ],
        }],
    });
    let work = tempfile::tempdir().unwrap();
    std::fs::write(work.path().join("panels.yml"), serde_json::to_string(&rules).unwrap()).unwrap();
    std::fs::write(work.path().join("tests.yml"), serde_json::to_string(&tests).unwrap()).unwrap();
    let (ok, out) = run(Command::new(&promtool).args(["test", "rules", "tests.yml"]).current_dir(work.path()));
    assert!(ok, "promtool test rules:\n{out}\n{}", serde_json::to_string_pretty(&rules).unwrap());
}

/// A route value with a Markdown fence, a quote, a backslash and a line break stays inside its
/// label: STACK.md's Mermaid block is not broken out of, and every DOT statement is a
/// well-formed edge with its strings escaped.
#[test]
fn graph_labels_are_escaped_for_mermaid_and_dot() {
    let value = "```\n\"x\\y`\u{1b}]0;t\u{7}";
    let manifest = format!(
        "version: 1\nstack: shop\nenvironment: prod\nnetwork: n\nservices:\n  api: {{ kind: http, port: 8080 }}\nalerting:\n  receivers:\n    a: {{ webhook: {{ url: \"http://x.example/hook\" }} }}\n  default: a\n  routes:\n    - match: {{ service: {} }}\n      to: a\n",
        serde_json::to_string(value).unwrap()
    );
    let dir = crate::support::build_yaml(&manifest);
    let md = std::fs::read_to_string(dir.path().join("STACK.md")).unwrap();
    let fences: Vec<&str> = md.lines().filter(|l| l.starts_with("```")).collect();
    assert_eq!(fences, ["```mermaid", "```"], "the chart's fence is intact:\n{md}");
    let chart = md.split("```mermaid\n").nth(1).unwrap().split("\n```").next().unwrap();
    for line in chart.lines().skip(1) {
        assert!(line.starts_with("  ") && !line.contains('`'), "a chart line broken by the value: {line:?}");
    }
    assert!(chart.contains("service=#96;#96;#96;#10;#34;x#92;y#96;#27;#93;0#59;t#7;"), "{chart}");
    let scratch = tempfile::tempdir().unwrap();
    std::fs::write(scratch.path().join("stack.yaml"), &manifest).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sightline"))
        .args(["--format", "dot", "graph", "-f", "stack.yaml"])
        .current_dir(scratch.path())
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let quoted = r#""(?:[^"\\\n]|\\.)*""#;
    let edge = regex::Regex::new(&format!(r"^  {quoted} -> {quoted} \[label={quoted}\];$")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    for line in &lines[3..lines.len() - 1] {
        assert!(edge.is_match(line), "not a well-formed DOT edge: {line:?}");
    }
    // On the terminal, the escape sequence's control characters are `?`.
    assert!(text.contains(r#"[label="service=```\n\"x\\y`?]0;t?"]"#), "{text}");
}

//! Every LogQL expression sightline writes (the Loki ruler's alerts and the dashboards' log
//! panels), for every example and every manifest under `tests/fixtures/ok/`, parses with
//! Grafana's own LogQL grammar (`@grafana/lezer-logql`, tests/upstream/). Alerts must be metric
//! queries; Grafana's variables are interpolated first, as Grafana does before it sends a query.

use crate::prometheus::manifests;
use crate::support::{plan_of, require_tool, root};
use serde_json::Value;
use std::io::Write;
use std::process::{Command, Stdio};

/// (where, expression, must be a metric query).
fn expressions(files: &std::collections::BTreeMap<String, String>) -> Vec<(String, String, bool)> {
    let mut out = Vec::new();
    for (path, text) in files {
        if path.starts_with("loki/rules/") {
            let doc: Value = serde_saphyr::from_str(text).expect("loki rules parse");
            for g in doc["groups"].as_array().into_iter().flatten() {
                for r in g["rules"].as_array().into_iter().flatten() {
                    out.push((format!("{path}: {}", r["alert"]), r["expr"].as_str().unwrap().to_string(), true));
                }
            }
        } else if path.starts_with("grafana/dashboards/") {
            let doc: Value = serde_json::from_str(text).expect("dashboard parses");
            let mut panels: Vec<&Value> = doc["panels"].as_array().into_iter().flatten().collect();
            while let Some(p) = panels.pop() {
                panels.extend(p["panels"].as_array().into_iter().flatten());
                for t in p["targets"].as_array().into_iter().flatten() {
                    let ds = if t["datasource"].is_object() { &t["datasource"] } else { &p["datasource"] };
                    if ds["type"] == "loki" {
                        let expr = t["expr"].as_str().expect("a loki target has an expr");
                        out.push((format!("{path}: {}", p["title"]), expr.to_string(), p["type"] != "logs"));
                    }
                }
            }
        }
    }
    out
}

/// Grafana's built-in variables as Grafana interpolates them; dashboard variables by a value.
fn interpolate(expr: &str) -> String {
    expr.replace("$__interval", "1m").replace("$__auto", "1m").replace("$__range", "1h").replace("$service", "api")
}

#[test]
fn every_logql_expression_parses_with_grafanas_grammar() {
    let node = require_tool("node");
    let script = root().join("tests/upstream/logql.mjs");
    assert!(
        root().join("tests/upstream/node_modules/@grafana/lezer-logql").is_dir(),
        "tests/upstream is not installed; run `scripts/test`, which runs `npm ci` there"
    );
    let mut total = 0;
    for m in manifests() {
        let exprs = expressions(&plan_of(&m));
        let input: Vec<String> = exprs.iter().map(|(_, e, _)| interpolate(e)).collect();
        let mut child = Command::new(&node)
            .arg(&script)
            .current_dir(root().join("tests/upstream"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("node runs");
        child.stdin.take().unwrap().write_all(serde_json::to_string(&input).unwrap().as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "logql.mjs: {}", String::from_utf8_lossy(&out.stderr));
        let results: Vec<Value> =
            String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(results.len(), exprs.len());
        for ((at, expr, metric), r) in exprs.iter().zip(&results) {
            assert!(r["error"].is_null(), "{}: {at}: LogQL does not parse {}:\n{expr}", m.display(), r["error"]);
            if *metric {
                assert_eq!(r["kind"], "MetricExpr", "{}: {at}: not a metric query:\n{expr}", m.display());
            }
        }
        total += exprs.len();
    }
    assert!(total > 20, "the examples hold LogQL expressions ({total} found)");
}

#[test]
fn the_grammar_refuses_a_broken_expression() {
    // The check can fail: a broken expression is reported, so a pass above means something.
    let node = require_tool("node");
    let out = Command::new(node)
        .arg(root().join("tests/upstream/logql.mjs"))
        .current_dir(root().join("tests/upstream"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            c.stdin.take().unwrap().write_all(br#"["sum(rate({service=\"api\"} |= \"x\" [5m]) >"]"#)?;
            c.wait_with_output()
        })
        .unwrap();
    let r: Value = serde_json::from_str(String::from_utf8(out.stdout).unwrap().trim()).unwrap();
    assert!(r["error"].is_string(), "{r}");
}

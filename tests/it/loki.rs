//! loki-config.yml and the Loki rule files, for every example and every manifest under
//! `tests/fixtures/ok/`: the config validates against SchemaStore's Loki schema and keeps the
//! retention rules; the rule files are Loki rule groups with well-formed LogQL.

use crate::prometheus::manifests;
use crate::support::{build_into_tempdir, schema_errors, schema_validator};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// Loki's rule-group format (the Prometheus one, LogQL in `expr`), with nothing else allowed.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    groups: Vec<Group>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Group {
    name: String,
    rules: Vec<AlertRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AlertRule {
    alert: String,
    expr: String,
    #[serde(rename = "for")]
    _for: Option<String>,
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
}

fn yaml(text: &str) -> Value {
    serde_saphyr::from_str(text).unwrap()
}

#[test]
fn loki_config_validates_and_retention_really_deletes() {
    let v = schema_validator("schemastore/loki.json");
    for m in manifests() {
        let checked = sightline::check(&m.to_string_lossy(), &std::fs::read(&m).unwrap());
        let stack = sightline::ir::lower(checked.manifest.as_ref().unwrap(), "m");
        let dir = build_into_tempdir(&m);
        let doc = yaml(&std::fs::read_to_string(dir.path().join("loki/loki-config.yml")).unwrap());
        let errors = schema_errors(&v, &doc);
        assert!(errors.is_empty(), "{}: {}", m.display(), errors.join("\n"));
        let c = &doc["compactor"];
        assert_eq!(c["retention_enabled"], true, "{}", m.display());
        assert!(c["delete_request_store"].is_string(), "Loki refuses retention without a delete-request store");
        assert!(c["working_directory"].as_str().unwrap().starts_with("/loki/"), "the compactor works on the volume");
        let schema_cfg = &doc["schema_config"]["configs"][0];
        assert_eq!(schema_cfg["store"], "tsdb");
        assert_eq!(schema_cfg["schema"], "v13");
        assert_eq!(schema_cfg["index"]["period"], "24h", "retention needs the 24h index period");
        let retention =
            sightline::manifest::values::Duration::parse(doc["limits_config"]["retention_period"].as_str().unwrap())
                .unwrap();
        assert_eq!(retention.millis(), stack.logs.retention.millis(), "{}", m.display());
        assert_eq!(retention.millis() % 86_400_000, 0);
        assert_eq!(doc["auth_enabled"], false);
        assert_eq!(doc["ruler"]["alertmanager_url"], "http://alertmanager:9093");
    }
}

/// Brackets balance outside strings, and every query has a stream selector.
fn assert_well_formed_logql(expr: &str) {
    let mut stack = Vec::new();
    let mut chars = expr.chars();
    while let Some(c) = chars.next() {
        match c {
            '`' => {
                assert!(chars.by_ref().any(|c| c == '`'), "unterminated raw string in {expr}");
            }
            '"' => loop {
                match chars.next() {
                    Some('\\') => {
                        chars.next();
                    }
                    Some('"') => break,
                    Some(_) => {}
                    None => panic!("unterminated string in {expr}"),
                }
            },
            '(' | '[' | '{' => stack.push(c),
            ')' | ']' | '}' => {
                let open = stack.pop().unwrap_or_else(|| panic!("unbalanced {c} in {expr}"));
                assert_eq!(
                    (open, c).0,
                    match c {
                        ')' => '(',
                        ']' => '[',
                        _ => '{',
                    },
                    "mismatched {c} in {expr}"
                );
            }
            _ => {}
        }
    }
    assert!(stack.is_empty(), "unclosed {stack:?} in {expr}");
    assert!(expr.contains("{service=\"") || expr.contains("{service=~\""), "no stream selector in {expr}");
}

#[test]
fn loki_rules_are_rule_groups_with_the_alert_labels() {
    use sightline::manifest::model::Kind;
    for m in manifests() {
        let checked = sightline::check(&m.to_string_lossy(), &std::fs::read(&m).unwrap());
        let stack = sightline::ir::lower(checked.manifest.as_ref().unwrap(), "m");
        let boards = sightline::targets::grafana::dashboards::ServiceBoards::new(&stack);
        let dir = build_into_tempdir(&m);
        let mut covered: Vec<(String, String)> = Vec::new();
        for kind in Kind::ALL.into_iter().filter(|k| stack.services.iter().any(|s| s.kind == *k)) {
            let path = dir.path().join(format!("loki/rules/fake/services-{}.yml", kind.as_str()));
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|_| panic!("{}: no log rules for the {} services", m.display(), kind.as_str()));
            let file: RuleFile = serde_saphyr::from_str(&text)
                .unwrap_or_else(|e| panic!("{}: not a Loki rule file: {e}", path.display()));
            let expected = sightline::targets::loki::rules::kind_rules(&stack, &boards, kind);
            assert_eq!(file.groups.len(), 1);
            assert_eq!(file.groups[0].name, format!("services-{}", kind.as_str()));
            assert_eq!(file.groups[0].rules.len(), expected.len());
            for (r, e) in file.groups[0].rules.iter().zip(&expected) {
                assert_eq!(r.expr, e.expr, "the YAML must round-trip the LogQL exactly");
                assert_well_formed_logql(&r.expr);
                // The rule's services are in its stream selector; the alert's `service` label
                // comes from `by (service)`.
                assert!(r.expr.contains("by (service)"), "{}", r.expr);
                for svc in &e.services {
                    assert!(r.expr.contains(svc.as_str()), "{} does not select {svc}", r.expr);
                    covered.push((svc.clone(), r.alert.clone()));
                }
                for l in ["severity", "category", "stack", "env"] {
                    assert!(r.labels.contains_key(l), "{} lacks {l}", r.alert);
                }
                assert!(r.annotations.contains_key("summary") && r.annotations.contains_key("description"));
            }
        }
        for s in &stack.services {
            assert!(
                covered.contains(&(s.name.to_string(), "ErrorLogSpike".into()))
                    || s.alerts.contains_key("ErrorLogSpike"),
                "{}: no ErrorLogSpike for {}",
                m.display(),
                s.name
            );
        }
    }
}

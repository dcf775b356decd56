//! The documentation states the defaults that `ir::defaults` applies.

use crate::support::root;
use sightline::ir::defaults as d;

#[test]
fn docs_state_the_defaults() {
    let doc = std::fs::read_to_string(root().join("docs/manifest.md")).unwrap();
    let mut expected = vec![
        format!("| `scrape_interval` | `{}` |", d::SCRAPE_INTERVAL),
        format!("`{}`, capped at the scrape interval", d::SCRAPE_TIMEOUT),
        format!("| `retention` | `{}` |", d::LOG_RETENTION),
        format!("`window: {}`", d::SLO_WINDOW),
        format!("| `refresh` | `{}` |", d::DASHBOARD_REFRESH),
        format!("| `time` | `{}` |", d::DASHBOARD_TIME),
        format!("`port: {}`, `bind: {}`", d::GRAFANA_PORT, d::GRAFANA_BIND),
        format!("`admin_password: {{ env: {} }}`", d::GRAFANA_ADMIN_PASSWORD_ENV),
        format!("| `destination` | `{}` |", d::BACKUP_DESTINATION),
        format!("`[{}]`", d::GROUP_BY.join(", ")),
        format!("`[{}]`", d::REDACT.join(", ")),
        format!("`retention: {}`", d::PROMETHEUS_RETENTION),
    ];
    for c in [d::PROMETHEUS, d::ALERTMANAGER, d::LOKI, d::PROMTAIL, d::ALLOY, d::GRAFANA] {
        expected.push(format!("| `{}` | `version: {}`", c.name, c.version));
        expected.push(format!("`memory: {}`, `cpus: {}`", c.memory, c.cpus));
    }
    for c in [d::NODE_EXPORTER, d::CADVISOR, d::BLACKBOX_EXPORTER] {
        expected.push(format!("{} ({}, {}", c.name, c.memory, c.cpus));
    }
    for e in expected {
        assert!(doc.contains(&e), "docs/manifest.md does not state the default {e:?}");
    }
}

/// What users read stands on its own: no page points at a file outside the repository (the
/// language's design notes are not shipped), and every relative link leads to a file that is
/// there.
#[test]
fn docs_link_only_to_what_the_repository_has() {
    let pages = ["README.md", "ARCHITECTURE.md", "CHANGELOG.md"]
        .into_iter()
        .map(|p| root().join(p))
        .chain(std::fs::read_dir(root().join("docs")).unwrap().map(|e| e.unwrap().path()));
    for page in pages {
        let text = std::fs::read_to_string(&page).unwrap();
        let name = page.strip_prefix(root()).unwrap().display().to_string();
        for outside in ["shared/spec", "spec/manifest.md"] {
            assert!(!text.contains(outside), "{name} refers to `{outside}`, outside the repository");
        }
        // Markdown links `](target)` that are not URLs or anchors.
        for (i, _) in text.match_indices("](") {
            let rest = &text[i + 2..];
            let target = &rest[..rest.find(')').unwrap_or(0)];
            if target.is_empty() || target.contains("://") || target.starts_with('#') || target.starts_with("mailto:") {
                continue;
            }
            let file = target.split('#').next().unwrap();
            let at = page.parent().unwrap().join(file);
            assert!(at.exists(), "{name} links to {target}, which is not in the repository");
        }
    }
}

/// The example that opens the language reference checks clean, as the page says.
#[test]
fn the_reference_example_checks_clean() {
    let doc = std::fs::read_to_string(root().join("docs/manifest.md")).unwrap();
    let start = doc.find("```yaml\n").expect("a yaml example") + "```yaml\n".len();
    let example = &doc[start..start + doc[start..].find("```").unwrap()];
    let checked = sightline::check("stack.yaml", example.as_bytes());
    assert!(checked.diagnostics.is_empty(), "{:?}", checked.diagnostics);
    assert!(sightline::plan(&checked).is_some());
}

/// The service fields table of docs/manifest.md gives each field the kinds that take it, as each
/// kind's module says (`KindDef::fields`; every kind takes `kinds::COMMON_FIELDS`).
#[test]
fn docs_give_each_field_the_kinds_that_take_it() {
    use sightline::manifest::model::Kind;
    use std::collections::{BTreeMap, BTreeSet};
    let doc = std::fs::read_to_string(root().join("docs/manifest.md")).unwrap();
    let table = doc.split("| field | kinds | default | notes |").nth(1).expect("the services fields table");
    let mut documented: BTreeMap<String, BTreeSet<&str>> = BTreeMap::new();
    for row in table.lines().skip(2).take_while(|l| l.starts_with('|')) {
        let cells: Vec<&str> = row.trim_matches('|').split(" | ").map(str::trim).collect();
        let kinds: BTreeSet<&str> = match cells[1] {
            "all" | "all, with `image`" => Kind::ALL.iter().map(|k| k.as_str()).collect(),
            other => match other.strip_prefix("all but ") {
                Some(but) => {
                    Kind::ALL.iter().map(|k| k.as_str()).filter(|k| !but.split(", ").any(|b| b == *k)).collect()
                }
                None => other.split(", ").collect(),
            },
        };
        for field in cells[0].split(", ") {
            documented.entry(field.trim_matches('`').to_string()).or_default().extend(&kinds);
        }
    }
    let mut taken: BTreeMap<String, BTreeSet<&str>> = BTreeMap::new();
    for k in Kind::ALL {
        for f in sightline::kinds::COMMON_FIELDS.iter().chain(sightline::kinds::def(k).fields) {
            taken.entry(f.to_string()).or_default().insert(k.as_str());
        }
    }
    assert_eq!(documented, taken, "docs/manifest.md's services table against the kinds' fields");
}

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

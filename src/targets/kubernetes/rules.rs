//! `manifests/prometheus-rules/<file>.yaml`: each rule file of `targets::rules` as a
//! `PrometheusRule` (monitoring.coreos.com/v1), its one group as written for compose, labelled
//! `release: <release>` so kube-prometheus-stack's Prometheus selects it (the chart's default
//! `ruleSelectorNilUsesHelmValues: true`); and `promtool/`, the rule files again with the unit
//! tests of what each keeps, as on compose.

use super::{MANIFESTS_DIR, chart_selected, file, object, object_name};
use crate::ir::Stack;
use crate::targets::Artifact;
use crate::targets::alertmanager::routing::WATCHDOG;
use crate::targets::paths::{BLACKBOX_JOB, LOKI_ADDR, PUSHGATEWAY_ADDR};
use crate::targets::rules::File;
use serde_json::{Map, json};

pub const RULES_DIR: &str = "prometheus-rules";

/// The rule files left out on Kubernetes: the compose host's (`host`, node_exporter on the
/// host), which kube-prometheus-stack's default rules cover for the cluster's nodes.
pub const LEFT_OUT: [&str; 1] = ["host"];

/// The file of sightline's own programs' rules, of which the heartbeat's `Watchdog` is kept,
/// and the rules of the programs the Kubernetes tree's charts run and have scraped under
/// compose's job names (`KEPT_JOBS`): the others select the compose jobs of Prometheus,
/// Alertmanager and cAdvisor, which the chart's default rules (`defaultRules`) cover under its
/// own job names.
const MONITORING: &str = "monitoring";
/// The jobs scraped on both platforms under one name: Loki (the `loki` chart's ServiceMonitor,
/// `loki`), the Pushgateway (`pushgateway`'s) and the blackbox exporter (its ServiceMonitor,
/// `scrape::lower`, `blackbox`).
pub const KEPT_JOBS: [&str; 3] = [LOKI_ADDR.0, PUSHGATEWAY_ADDR.0, BLACKBOX_JOB];

/// Where the rule files are written again with their promtool unit tests, as on compose
/// (`promtool test rules` reads plain rule files, not PrometheusRules).
pub const PROMTOOL_RULES_DIR: &str = "promtool/rules";
pub const PROMTOOL_TESTS_DIR: &str = "promtool/tests";

/// The rule files of the Kubernetes tree, out of the compose ones, each with the unit tests of
/// what it keeps. What reads the rules' labels on Kubernetes (the routing checks) reads these.
pub fn kept(files: Vec<File>) -> Vec<File> {
    files
        .into_iter()
        .filter(|f| !LEFT_OUT.contains(&f.name.as_str()))
        .filter_map(|mut f| {
            if f.name == MONITORING {
                f.retain_alerts(|a| {
                    a.alert == WATCHDOG || a.labels.get("job").is_some_and(|j| KEPT_JOBS.contains(&j.as_str()))
                });
            }
            (!f.group.rules.is_empty()).then_some(f)
        })
        .collect()
}

pub fn lower(stack: &Stack, boards: &crate::targets::grafana::dashboards::ServiceBoards) -> Vec<Artifact> {
    let mut out = Vec::new();
    for f in kept(crate::targets::rules::files(stack, boards, true)) {
        out.extend(crate::targets::rules::render(&f, PROMTOOL_RULES_DIR, PROMTOOL_TESTS_DIR));
        let l = chart_selected(stack);
        let spec = Map::from_iter([(
            "spec".to_string(),
            json!({ "groups": [serde_json::to_value(&f.group).expect("a rule group serializes")] }),
        )]);
        let o = object(stack, "monitoring.coreos.com/v1", "PrometheusRule", &object_name(stack, &f.name), l, spec);
        out.push(file(format!("{MANIFESTS_DIR}/{RULES_DIR}/{}.yaml", f.name), &o).from_part(&f.origin));
    }
    out
}

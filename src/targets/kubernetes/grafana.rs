//! `manifests/grafana/`: every dashboard as a ConfigMap labelled `grafana_dashboard: "1"`, and
//! the datasources as one labelled `grafana_datasource: "1"`: the labels kube-prometheus-stack's
//! Grafana sidecars load by default (`grafana.sidecar.dashboards.label`,
//! `grafana.sidecar.datasources.label`, value `"1"`). The dashboards are the compose ones; the
//! datasources point at the chart's Prometheus and Alertmanager Services and at Loki's chart.

use super::{MANIFESTS_DIR, chart_service_url, file, labels, object, object_name};
use crate::ir::Stack;
use crate::targets::Artifact;
use crate::targets::grafana::{Upstreams, dashboards, datasources};
use serde_json::{Map, json};

/// The label the chart's sidecar finds dashboards by, and its value.
pub const DASHBOARD_LABEL: (&str, &str) = ("grafana_dashboard", "1");
/// The label the chart's sidecar finds datasources by, and its value.
pub const DATASOURCE_LABEL: (&str, &str) = ("grafana_datasource", "1");

pub fn lower(stack: &Stack, boards: &dashboards::ServiceBoards) -> Vec<Artifact> {
    let at = Upstreams {
        prometheus: chart_service_url(stack, "prometheus", 9090),
        loki: super::loki::url(stack),
        alertmanager: chart_service_url(stack, "alertmanager", 9093),
        log_in: false,
    };
    let text = serde_saphyr::to_string(&datasources(stack, &at)).expect("datasources serialize");
    let mut out = vec![config_map(stack, "datasources", DATASOURCE_LABEL, "sightline-datasources.yaml", text)];
    for d in dashboards::lower(stack, boards) {
        let name = d.path.rsplit('/').next().unwrap_or(&d.path).trim_end_matches(".json").to_string();
        let origin = d.origin.clone();
        let mut a =
            config_map(stack, &format!("dashboard-{name}"), DASHBOARD_LABEL, &format!("{name}.json"), d.contents);
        a.origin = origin;
        out.push(a);
    }
    out
}

/// A ConfigMap `<stack>-<what>` with the sidecar's `label` and one key.
fn config_map(stack: &Stack, what: &str, label: (&str, &str), key: &str, text: String) -> Artifact {
    let mut l = labels(stack);
    l.insert(label.0.into(), json!(label.1));
    let data = Map::from_iter([("data".to_string(), json!({ key: text }))]);
    let o = object(stack, "v1", "ConfigMap", &object_name(stack, what), l, data);
    file(format!("{MANIFESTS_DIR}/grafana/{what}.yaml"), &o)
}

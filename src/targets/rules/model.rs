//! The Prometheus rule-file format (also read by Loki's ruler) and promtool's unit-test format,
//! as serde types, and the label set every generated alert carries.

use crate::ir::Stack;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Clone, Debug, Serialize)]
pub struct RuleFile {
    pub groups: Vec<Group>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Group {
    pub name: String,
    pub rules: Vec<Rule>,
}

/// An alerting rule or a recording rule.
#[derive(Clone, Debug, Serialize)]
#[serde(untagged)]
pub enum Rule {
    Alert(AlertRule),
    Record(RecordRule),
}

#[derive(Clone, Debug, Serialize)]
pub struct AlertRule {
    pub alert: String,
    pub expr: String,
    #[serde(rename = "for", skip_serializing_if = "Option::is_none")]
    pub for_: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct RecordRule {
    pub record: String,
    pub expr: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

/// The labels of every generated alert: severity, category, service (when it concerns one),
/// stack and env. Routes and inhibitions match on these.
pub fn alert_labels(stack: &Stack, severity: &str, category: &str, service: Option<&str>) -> BTreeMap<String, String> {
    let mut l = BTreeMap::new();
    l.insert("severity".to_string(), severity.to_string());
    l.insert("category".to_string(), category.to_string());
    if let Some(s) = service {
        l.insert("service".to_string(), s.to_string());
    }
    l.insert("stack".to_string(), stack.name.to_string());
    l.insert("env".to_string(), stack.env.to_string());
    l
}

/// The annotations of every generated alert: summary, description and, when the manifest sets
/// `alerting.runbook_url`, the runbook with `{alert}` and `{service}` substituted.
pub fn alert_annotations(
    stack: &Stack,
    alert: &str,
    service: Option<&str>,
    summary: &str,
    description: &str,
) -> BTreeMap<String, String> {
    let mut a = BTreeMap::new();
    a.insert("summary".to_string(), summary.to_string());
    a.insert("description".to_string(), description.to_string());
    if let Some(url) = &stack.alerting.runbook_url {
        a.insert("runbook_url".to_string(), url.replace("{alert}", alert).replace("{service}", service.unwrap_or("")));
    }
    if let Some(d) = dashboard_url(stack, service) {
        a.insert("dashboard".to_string(), d);
    }
    a
}

/// The dashboard an alert links to: its service's, or the system dashboard for host alerts.
fn dashboard_url(stack: &Stack, service: Option<&str>) -> Option<String> {
    use crate::manifest::model::DashboardKind;
    let name = match service {
        Some(s) if stack.dashboards.include.contains(&DashboardKind::Services) => format!("service-{s}"),
        None if stack.dashboards.include.contains(&DashboardKind::System)
            && stack.component(crate::ir::defaults::NODE_EXPORTER.name).is_some() =>
        {
            "system".to_string()
        }
        _ => return None,
    };
    let base = stack
        .grafana
        .root_url
        .clone()
        .unwrap_or_else(|| format!("http://{}:{}", stack.grafana.bind, stack.grafana.port));
    Some(format!("{}/d/{}", base.trim_end_matches('/'), crate::targets::grafana::uid(stack, &name)))
}

// --- promtool test files ---------------------------------------------------------------------

#[derive(Clone, Debug, Serialize)]
pub struct TestFile {
    pub rule_files: Vec<String>,
    pub evaluation_interval: String,
    pub tests: Vec<TestGroup>,
}

#[derive(Clone, Debug, Serialize)]
pub struct TestGroup {
    pub name: String,
    pub interval: String,
    pub input_series: Vec<InputSeries>,
    pub alert_rule_test: Vec<AlertTest>,
}

#[derive(Clone, Debug, Serialize)]
pub struct InputSeries {
    pub series: String,
    pub values: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct AlertTest {
    pub eval_time: String,
    pub alertname: String,
    pub exp_alerts: Vec<ExpAlert>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ExpAlert {
    pub exp_labels: BTreeMap<String, String>,
    pub exp_annotations: BTreeMap<String, String>,
}

/// An alert with what its tests need: the labels its expression keeps, and the input series
/// that make it fire and keep it silent.
pub struct Tested {
    pub rule: AlertRule,
    pub kept: Vec<(String, String)>,
    pub firing: Vec<InputSeries>,
    pub silent: Vec<InputSeries>,
}

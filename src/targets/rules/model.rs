//! The Prometheus rule-file format (also read by Loki's ruler) and promtool's unit-test format,
//! as serde types, and the label set every generated alert carries.

use crate::ir::Stack;
use crate::targets::grafana::dashboards::ServiceBoards;
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
    /// The services whose alerts the rule raises when its `service` label comes from its
    /// expression (a built-in rule over the services of a kind), in manifest order; empty when
    /// the label is static or absent.
    #[serde(skip)]
    pub services: Vec<String>,
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
/// `alerting.runbook_url`, the runbook with `{alert}` and `{service}` substituted (`service` is
/// a name, or the template of the alert's `service` label for a rule over several services).
/// The dashboard link is added by `link_dashboards`.
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
    a
}

/// The template of an alert's `service` label, for the text of a rule over several services.
pub const SERVICE_LABEL: &str = "{{ $labels.service }}";

/// The `dashboard` annotation of an alert: its service's dashboard with that service chosen (for
/// a rule over several services, the one its `service` label names), or the system dashboard
/// for the host's alerts.
pub fn dashboard_url(stack: &Stack, boards: &ServiceBoards, rule: &AlertRule) -> Option<String> {
    use crate::manifest::model::DashboardKind;
    let jobs_board = crate::targets::grafana::dashboards::kinds(stack).contains(&DashboardKind::Jobs);
    let path = match (rule.services.first(), rule.labels.get("service")) {
        // A batch job's alert: the batch jobs' dashboard.
        _ if jobs_board && rule.labels.contains_key(crate::targets::rules::jobs::LABEL) => {
            format!("/d/{}", crate::targets::grafana::uid(stack, "jobs"))
        }
        (Some(first), _) => boards.url(stack, first, SERVICE_LABEL)?,
        (None, Some(name)) => boards.url(stack, name, name)?,
        (None, None)
            if stack.dashboards.include.contains(&DashboardKind::System)
                && stack.component(crate::ir::defaults::NODE_EXPORTER.name).is_some() =>
        {
            format!("/d/{}", crate::targets::grafana::uid(stack, "system"))
        }
        _ => return None,
    };
    let base = stack
        .grafana
        .root_url
        .clone()
        .unwrap_or_else(|| format!("http://{}:{}", stack.grafana.bind, stack.grafana.port));
    Some(format!("{}{path}", base.trim_end_matches('/')))
}

/// Adds each alert's `dashboard` annotation (`dashboard_url`).
pub fn link_dashboards<'r>(stack: &Stack, boards: &ServiceBoards, rules: impl IntoIterator<Item = &'r mut AlertRule>) {
    for rule in rules {
        if let Some(url) = dashboard_url(stack, boards, rule) {
            rule.annotations.insert("dashboard".to_string(), url);
        }
    }
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

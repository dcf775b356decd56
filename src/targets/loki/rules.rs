//! `loki/rules/fake/*.yml`: log-based alerts in LogQL, evaluated by Loki's ruler and sent to the
//! same Alertmanager as the metric alerts, with the same labels and annotations, so routes and
//! inhibitions apply unchanged.
//!
//! For every service: `ErrorLogSpike` (error, critical or fatal lines, parsed by the service's
//! log format); for `nginx`, `NginxHighErrorRate` (5xx share of the access log); for
//! `postgres`, `PostgresConnectionFailures` (refused connections: the "database connection
//! failures" security alert) and `PostgresFatalErrors`.
//!
//! As for the metric alerts, rules grow with the kinds, not the services: one file per kind
//! (`services-<kind>.yml`), and in it one rule per alert and set of services whose rule reads
//! the same (threshold, `for`, severity, log format, dashboard), naming its services in its
//! stream selector (`{service=~"api|web"}`). A service whose alert is off is in none.

use super::TENANT;
use crate::ir::{Service, Stack};
use crate::kinds::alert::{LogText, SELECTOR, ServiceAlert, threshold_text};
use crate::manifest::model::Kind;
use crate::targets::Artifact;
use crate::targets::alertmanager::routing::Matcher;
use crate::targets::grafana::dashboards::ServiceBoards;
use crate::targets::paths::LOKI_RULES_DIR;
use crate::targets::rules::builtin::resolve;
use crate::targets::rules::model::{
    AlertRule, Group, Rule, RuleFile, SERVICE_LABEL, alert_annotations, alert_labels, link_dashboards,
};

/// What a log rule's text is made of: its expression, `for`, severity, summary, description
/// and dashboard.
type Text<'a> = (String, Option<String>, String, String, String, Option<&'a str>);

/// The log-based alerts of the services of `kind`, overrides applied: one rule per alert and
/// set of services whose rule reads the same.
pub fn kind_rules(stack: &Stack, boards: &ServiceBoards, kind: Kind) -> Vec<AlertRule> {
    let services: Vec<&Service> =
        stack.services.iter().filter(|s| s.kind == kind && logs_collected(stack, s)).collect();
    let mut out: Vec<AlertRule> = Vec::new();
    for def in crate::kinds::def(kind).alerts.iter().filter(|d| d.logs) {
        let mut rules: Vec<AlertRule> = Vec::new();
        // What each rule's text is made of (its labels and annotations follow from it), so a
        // service joins a rule without building labels and annotations of its own.
        let mut texts: Vec<Text> = Vec::new();
        for s in &services {
            let Some((t, for_, severity)) = resolve(def, s) else { continue };
            let rule = ServiceAlert { def, s, t, for_: &for_, tt: threshold_text(def.unit, t) };
            let LogText { expr, summary, description } = (crate::kinds::def(kind).log_rule)(&rule);
            let for_ = (for_ != "0m" && for_ != "0s").then_some(for_);
            let board = boards.of(s.name.as_str()).map(|b| b.name.as_str());
            let text = (expr, for_, severity, summary, description, board);
            if let Some(i) = texts.iter().position(|x| *x == text) {
                rules[i].services.push(s.name.to_string());
                continue;
            }
            let (expr, for_, severity, summary, description, _) = text.clone();
            let description = format!("{description} Threshold: {} ({}).", threshold_text(def.unit, t), def.source);
            rules.push(AlertRule {
                services: vec![s.name.to_string()],
                alert: def.name.to_string(),
                expr,
                for_,
                labels: alert_labels(stack, &severity, def.category, None),
                annotations: alert_annotations(stack, def.name, Some(SERVICE_LABEL), &summary, &description),
            });
            texts.push(text);
        }
        for mut r in rules {
            let m = Matcher { name: "service".into(), values: r.services.clone() };
            r.expr = r.expr.replace(SELECTOR, &format!("{{{}}}", m.render()));
            out.push(r);
        }
    }
    out
}

/// Whether the stack collects a service's logs: always on compose; on Kubernetes, from its pods
/// in the cluster, not from a service outside it (a rule about it would never fire).
fn logs_collected(stack: &Stack, s: &Service) -> bool {
    stack.platform != crate::manifest::model::Platform::Kubernetes || s.place.in_cluster()
}

pub fn lower(stack: &Stack, boards: &ServiceBoards) -> Vec<Artifact> {
    kind_groups(stack, boards)
        .into_iter()
        .map(|(origin, g)| {
            Artifact::new(
                format!("{LOKI_RULES_DIR}/{TENANT}/{}.yml", g.name),
                serde_saphyr::to_string(&RuleFile { groups: vec![g] }).expect("rule files serialize"),
            )
            .from_part(origin)
        })
        .collect()
}

/// The rule group of each kind of service with log alerts (`services-<kind>`, one file each).
pub fn groups(stack: &Stack, boards: &ServiceBoards) -> Vec<Group> {
    kind_groups(stack, boards).into_iter().map(|(_, g)| g).collect()
}

/// Each kind's group of log alerts, with the part of the manifest it comes from (its one
/// service's `logs`, or all the services).
pub fn kind_groups(stack: &Stack, boards: &ServiceBoards) -> Vec<(String, Group)> {
    let mut out = Vec::new();
    for kind in Kind::ALL {
        let mut rules = kind_rules(stack, boards, kind);
        if rules.is_empty() {
            continue;
        }
        link_dashboards(stack, boards, &mut rules);
        let of_kind = stack.services.iter().filter(|s| s.kind == kind).map(|s| s.name.as_str());
        let origin = crate::targets::services_part(of_kind, &["logs"]);
        let name = format!("services-{}", kind.as_str());
        out.push((origin, Group { name, rules: rules.into_iter().map(Rule::Alert).collect() }));
    }
    out
}

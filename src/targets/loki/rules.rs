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
use crate::ir::catalog::Builtin;
use crate::ir::{Service, Stack};
use crate::manifest::model::{Kind, LogFormat};
use crate::targets::Artifact;
use crate::targets::alertmanager::routing::Matcher;
use crate::targets::grafana::dashboards::ServiceBoards;
use crate::targets::paths::LOKI_RULES_DIR;
use crate::targets::rules::builtin::{num, resolve, threshold_text};
use crate::targets::rules::model::{
    AlertRule, Group, Rule, RuleFile, SERVICE_LABEL, alert_annotations, alert_labels, link_dashboards,
};

/// Where the stream selector of a rule's services goes while services are grouped.
const SELECTOR: &str = "\u{0}";

/// Lines at error level or worse from the streams `sel` selects, in the service's log format.
fn error_lines(sel: &str, s: &Service) -> String {
    let levels = "(?i)(err|error|crit|critical|fatal|panic|emerg|alert)";
    match s.log_format {
        LogFormat::Json => format!("{sel} | json | level=~`{levels}`"),
        LogFormat::Logfmt => format!("{sel} | logfmt | level=~`{levels}`"),
        LogFormat::Postgres => format!("{sel} |~ `(ERROR|FATAL|PANIC):`"),
        LogFormat::Nginx => format!("{sel} |~ `\\[(error|crit|alert|emerg)\\]`"),
        LogFormat::Syslog | LogFormat::Plain => format!("{sel} |~ `(?i)\\b(error|critical|fatal|panic)\\b`"),
    }
}

/// The combined access-log format, as a LogQL pattern.
pub const NGINX_ACCESS_PATTERN: &str = "<_> - <_> [<_>] \"<method> <_> <_>\" <status> <_>";

/// Refused connections in PostgreSQL's log.
const PG_REFUSED: &str = "FATAL:\\s+(password authentication failed|no pg_hba\\.conf entry|role \"[^\"]*\" does not exist|database \"[^\"]*\" does not exist|sorry, too many clients)";

/// A log alert's expression (selecting `SELECTOR`), summary and description.
fn expr(def: &Builtin, s: &Service, t: f64) -> (String, String, String) {
    let (name, sel) = (SERVICE_LABEL, SELECTOR);
    let tt = threshold_text(def.unit, t);
    match def.name {
        "ErrorLogSpike" => (
            format!("sum by (service) (rate({} [5m])) > {}", error_lines(sel, s), num(t)),
            format!("{name}: error log lines above {tt}"),
            format!("{name} has logged more than {tt} lines at error level or worse for 5 minutes."),
        ),
        "NginxHighErrorRate" => {
            let parsed = format!("{sel} | pattern `{NGINX_ACCESS_PATTERN}` | status != \"\"");
            (
                format!(
                    "sum by (service) (rate({parsed} | status >= 500 [5m])) / sum by (service) (rate({parsed} [5m])) > {}",
                    num(t)
                ),
                format!("{name}: more than {tt} of responses are 5xx"),
                format!("More than {tt} of the requests in {name}'s access log were answered with 5xx over 5 minutes."),
            )
        }
        "PostgresConnectionFailures" => (
            format!("sum by (service) (count_over_time({sel} |~ `{PG_REFUSED}` [5m])) > {}", num(t)),
            format!("{name}: connections refused"),
            format!(
                "{name} refused more than {tt} connections in 5 minutes (wrong password, no pg_hba.conf entry, unknown role or database, or no free connection slot)."
            ),
        ),
        "PostgresFatalErrors" => (
            format!(
                "sum by (service) (count_over_time({sel} |~ `(FATAL|PANIC):` !~ `{PG_REFUSED}` [5m])) > {}",
                num(t)
            ),
            format!("{name}: FATAL or PANIC in the log"),
            format!("{name} logged a PANIC, or a FATAL error other than a refused connection, in the last 5 minutes."),
        ),
        other => unreachable!("no LogQL for {other}"),
    }
}

/// What a log rule's text is made of: its expression, `for`, severity, summary, description
/// and dashboard.
type Text<'a> = (String, Option<String>, String, String, String, Option<&'a str>);

/// The log-based alerts of the services of `kind`, overrides applied: one rule per alert and
/// set of services whose rule reads the same.
pub fn kind_rules(stack: &Stack, boards: &ServiceBoards, kind: Kind) -> Vec<AlertRule> {
    let services: Vec<&Service> = stack.services.iter().filter(|s| s.kind == kind).collect();
    let mut out: Vec<AlertRule> = Vec::new();
    for def in crate::ir::catalog::builtins(kind).iter().filter(|d| d.logs) {
        let mut rules: Vec<AlertRule> = Vec::new();
        // What each rule's text is made of (its labels and annotations follow from it), so a
        // service joins a rule without building labels and annotations of its own.
        let mut texts: Vec<Text> = Vec::new();
        for s in &services {
            let Some((t, for_, severity)) = resolve(def, s) else { continue };
            let for_ = (for_ != "0m" && for_ != "0s").then_some(for_);
            let (expr, summary, description) = expr(def, s, t);
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

pub fn lower(stack: &Stack) -> Vec<Artifact> {
    kind_groups(stack, &ServiceBoards::new(stack))
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
fn kind_groups(stack: &Stack, boards: &ServiceBoards) -> Vec<(String, Group)> {
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

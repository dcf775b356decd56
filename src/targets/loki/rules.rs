//! `loki/rules/fake/*.yml`: log-based alerts in LogQL, evaluated by Loki's ruler and sent to the
//! same Alertmanager as the metric alerts, with the same labels and annotations, so routes and
//! inhibitions apply unchanged.
//!
//! Per service: `ErrorLogSpike` (error, critical or fatal lines, parsed by the service's log
//! format); for `nginx`, `NginxHighErrorRate` (5xx share of the access log); for `postgres`,
//! `PostgresConnectionFailures` (refused connections: the "database connection failures"
//! security alert) and `PostgresFatalErrors`.

use super::TENANT;
use crate::ir::catalog::Builtin;
use crate::ir::{Service, Stack};
use crate::manifest::model::LogFormat;
use crate::targets::Artifact;
use crate::targets::paths::LOKI_RULES_DIR;
use crate::targets::rules::builtin::{num, resolve, threshold_text};
use crate::targets::rules::model::{AlertRule, Group, Rule, RuleFile, alert_annotations, alert_labels};

/// Lines at error level or worse, in the service's log format.
pub fn error_lines(s: &Service) -> String {
    let sel = format!("{{service=\"{}\"}}", s.name);
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

fn expr(def: &Builtin, s: &Service, t: f64) -> (String, String, String) {
    let name = s.name.as_str();
    let sel = format!("{{service=\"{name}\"}}");
    let tt = threshold_text(def.unit, t);
    match def.name {
        "ErrorLogSpike" => (
            format!("sum by (service) (rate({} [5m])) > {}", error_lines(s), num(t)),
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

/// The log-based alerts of one service, overrides applied.
pub fn service_rules(stack: &Stack, s: &Service) -> Vec<AlertRule> {
    crate::ir::catalog::builtins(s.kind)
        .iter()
        .filter(|d| d.logs)
        .filter_map(|def| {
            let (t, for_, severity) = resolve(def, s)?;
            let (expr, summary, description) = expr(def, s, t);
            let description = format!("{description} Threshold: {} ({}).", threshold_text(def.unit, t), def.source);
            Some(AlertRule {
                alert: def.name.to_string(),
                expr,
                for_: (for_ != "0m" && for_ != "0s").then_some(for_),
                labels: alert_labels(stack, &severity, def.category, Some(s.name.as_str())),
                annotations: alert_annotations(stack, def.name, Some(s.name.as_str()), &summary, &description),
            })
        })
        .collect()
}

pub fn lower(stack: &Stack) -> Vec<Artifact> {
    service_groups(stack)
        .map(|(service, g)| {
            Artifact::new(
                format!("{LOKI_RULES_DIR}/{TENANT}/{}.yml", g.name),
                serde_saphyr::to_string(&RuleFile { groups: vec![g] }).expect("rule files serialize"),
            )
            .from_part(crate::targets::service_part(service, &["logs"]))
        })
        .collect()
}

/// The rule group of each service with log alerts (`logs-<service>`, one file each).
pub fn groups(stack: &Stack) -> Vec<Group> {
    service_groups(stack).map(|(_, g)| g).collect()
}

/// Each service with log alerts, by name, with its group.
fn service_groups(stack: &Stack) -> impl Iterator<Item = (&str, Group)> {
    stack.services.iter().filter_map(|s| {
        let rules = service_rules(stack, s);
        (!rules.is_empty()).then(|| {
            (
                s.name.as_str(),
                Group { name: format!("logs-{}", s.name), rules: rules.into_iter().map(Rule::Alert).collect() },
            )
        })
    })
}

//! Kinds: fields that only mean something for one kind of service, the fields a kind requires,
//! and receivers that must be exactly one kind.

use super::Ctx;
use crate::code::Code;
use crate::diagnostic::{Diagnostic, Sink};
use crate::manifest::model::{Kind, Service};

fn not_for_kind(field: &str, kind: Kind, for_kinds: &str, at: crate::source::Span) -> Diagnostic {
    Diagnostic::warning(Code::NotForKind, format!("`{field}` has no effect on a {} service", kind.as_str()))
        .at(at)
        .label("ignored for this kind")
        .help(format!("`{field}` applies to {for_kinds} services; remove it or change `kind`"))
}

/// (field, is set, kinds it applies to, in words)
fn kind_fields(s: &Service) -> [(&'static str, bool, &'static [Kind], &'static str); 11] {
    [
        ("framework", s.framework.is_some(), &[Kind::Http], "http"),
        ("runtime", s.runtime.is_some(), &[Kind::Http], "http"),
        (
            "metrics_port",
            s.metrics_port.is_some(),
            &[Kind::Http, Kind::Generic, Kind::Haproxy],
            "http, generic and haproxy",
        ),
        ("metric_names", s.metric_names.is_some(), &[Kind::Http], "http"),
        ("health", s.health.is_some(), &[Kind::Http], "http"),
        ("slo", s.slo.is_some(), &[Kind::Http], "http"),
        ("tls", s.tls.is_some(), &[Kind::Http, Kind::Nginx, Kind::Haproxy], "http, nginx and haproxy"),
        ("database", s.database.is_some(), &[Kind::Postgres], "postgres"),
        ("user", s.user.is_some(), &[Kind::Postgres], "postgres"),
        ("password", s.password.is_some(), &[Kind::Postgres], "postgres"),
        ("query_stats", s.query_stats.is_some(), &[Kind::Postgres], "postgres"),
    ]
}

pub fn check(ctx: &Ctx, sink: &mut Sink) {
    for (name, s) in &ctx.manifest.services {
        for (field, set, kinds, words) in kind_fields(s) {
            if set && !kinds.contains(&s.kind) {
                sink.push(not_for_kind(field, s.kind, words, ctx.key(["services", name.as_str(), field])));
            }
        }
        if s.kind == Kind::Postgres {
            let missing: Vec<&str> =
                [("database", s.database.is_some()), ("user", s.user.is_some()), ("password", s.password.is_some())]
                    .into_iter()
                    .filter(|(_, set)| !set)
                    .map(|(f, _)| f)
                    .collect();
            if !missing.is_empty() {
                sink.push(
                    Diagnostic::error(
                        Code::MissingServiceField,
                        format!("postgres service `{name}` needs {}", missing.join(", ")),
                    )
                    .at(ctx.value(["services", name.as_str()]))
                    .label("missing connection settings")
                    .help("the exporter and the backups connect with `database`, `user` and `password: { env: … }`"),
                );
            }
        }
    }
    if let Some(a) = &ctx.manifest.alerting {
        for (name, r) in &a.receivers {
            let kinds = [
                r.email.is_some(),
                r.slack.is_some(),
                r.pagerduty.is_some(),
                r.opsgenie.is_some(),
                r.webhook.is_some(),
            ];
            let n = kinds.iter().filter(|k| **k).count();
            if n != 1 {
                let msg = if n == 0 {
                    format!("receiver `{name}` has no kind")
                } else {
                    format!("receiver `{name}` has {n} kinds")
                };
                sink.push(
                    Diagnostic::error(Code::ReceiverKind, msg)
                        .at(ctx.value(["alerting", "receivers", name.as_str()]))
                        .label("one kind per receiver")
                        .help("give each receiver exactly one of email, slack, pagerduty, opsgenie, webhook; to notify two places, list two receivers in the route's `to`"),
                );
            }
        }
    }
}

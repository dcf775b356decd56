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

/// The kinds scraped on their own metrics, where `metrics_port` applies: those without an
/// exporter (`http`, `generic`, and those with a metrics port of their own: `haproxy`, …).
fn scraped_itself(k: Kind) -> bool {
    crate::kinds::def(k).exporter.is_none()
}

/// The kinds with a certificate to probe: `http` and the front doors.
fn serves_tls(k: Kind) -> bool {
    k == Kind::Http || crate::kinds::def(k).front_door
}

/// Kinds in words: `http, nginx, haproxy, caddy and traefik`.
fn in_words(kinds: &[Kind]) -> String {
    let names: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
    match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => names.join(""),
    }
}

/// The kinds with a login (`database`, `user`, `password`), which they require.
fn databases() -> Vec<Kind> {
    Kind::ALL.into_iter().filter(|k| crate::kinds::def(*k).login.is_some()).collect()
}

/// The kinds that take a `user` and `password`: the databases, and those whose exporter logs in
/// with them when given.
fn logins() -> Vec<Kind> {
    Kind::ALL
        .into_iter()
        .filter(|k| crate::kinds::def(*k).login.is_some() || crate::kinds::def(*k).basic_login)
        .collect()
}

/// (field, is set, kinds it applies to)
fn kind_fields(s: &Service) -> [(&'static str, bool, Vec<Kind>); 11] {
    let only = |k: Kind| vec![k];
    let which = |f: fn(Kind) -> bool| Kind::ALL.into_iter().filter(|k| f(*k)).collect::<Vec<_>>();
    [
        ("framework", s.framework.is_some(), only(Kind::Http)),
        ("runtime", s.runtime.is_some(), only(Kind::Http)),
        ("metrics_port", s.metrics_port.is_some(), which(scraped_itself)),
        ("metric_names", s.metric_names.is_some(), only(Kind::Http)),
        ("health", s.health.is_some(), only(Kind::Http)),
        ("slo", s.slo.is_some(), only(Kind::Http)),
        ("tls", s.tls.is_some(), which(serves_tls)),
        ("database", s.database.is_some(), databases()),
        ("user", s.user.is_some(), logins()),
        ("password", s.password.is_some(), logins()),
        ("query_stats", s.query_stats.is_some(), only(Kind::Postgres)),
    ]
}

pub fn check(ctx: &Ctx, sink: &mut Sink) {
    for (name, s) in &ctx.manifest.services {
        for (field, set, kinds) in kind_fields(s) {
            if set && !kinds.contains(&s.kind) {
                sink.push(not_for_kind(field, s.kind, &in_words(&kinds), ctx.key(["services", name.as_str(), field])));
            }
        }
        if let Some(help) = crate::kinds::def(s.kind).login {
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
                        format!("{} service `{name}` needs {}", s.kind.as_str(), missing.join(", ")),
                    )
                    .at(ctx.value(["services", name.as_str()]))
                    .label("missing connection settings")
                    .help(help),
                );
            }
        }
        if crate::kinds::def(s.kind).basic_login && s.user.is_some() != s.password.is_some() {
            let (given, missing) = if s.user.is_some() { ("user", "password") } else { ("password", "user") };
            sink.push(
                Diagnostic::error(
                    Code::MissingServiceField,
                    format!("{} service `{name}` has `{given}` without `{missing}`", s.kind.as_str()),
                )
                .at(ctx.key(["services", name.as_str(), given]))
                .label(format!("no `{missing}` beside it"))
                .help("the exporter logs in with both, `password` as a secret (`{ env: … }` or `{ file: … }`); give both, or neither where the exporter needs no login"),
            );
        }
        if let Some(lack) = (crate::kinds::def(s.kind).lacks)(s) {
            sink.push(
                Diagnostic::error(
                    Code::MissingServiceField,
                    format!("{} service `{name}` {}", s.kind.as_str(), lack.what),
                )
                .at(ctx.key(["services", name.as_str(), "image"]))
                .label(lack.why)
                .help(lack.help),
            );
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

//! Kinds: fields a kind does not take (each kind's `KindDef::fields`; the fields it requires
//! are its `requires`, which the schema enforces), the login a kind requires, and receivers that
//! must be exactly one kind.

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

/// Kinds in words: `http, nginx, haproxy, caddy and traefik`.
fn in_words(kinds: &[Kind]) -> String {
    let names: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
    match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => names.join(""),
    }
}

/// Whether each field some kinds take and others do not is given: every field of a kind's
/// `KindDef::fields` is here (a test holds it so).
fn given(s: &Service) -> [(&'static str, bool); 17] {
    [
        ("port", s.port.is_some()),
        ("host", s.host.is_some()),
        ("kubernetes", s.kubernetes.is_some()),
        ("framework", s.framework.is_some()),
        ("runtime", s.runtime.is_some()),
        ("metrics", s.metrics.is_some()),
        ("metrics_port", s.metrics_port.is_some()),
        ("metric_names", s.metric_names.is_some()),
        ("health", s.health.is_some()),
        ("tls", s.tls.is_some()),
        ("slo", s.slo.is_some()),
        ("database", s.database.is_some()),
        ("user", s.user.is_some()),
        ("password", s.password.is_some()),
        ("query_stats", s.query_stats.is_some()),
        ("broker", s.broker.is_some()),
        ("queues", !s.queues.is_empty()),
    ]
}

/// The kinds that take `field`.
fn taking(field: &str) -> Vec<Kind> {
    Kind::ALL.into_iter().filter(|k| crate::kinds::def(*k).fields.contains(&field)).collect()
}

pub fn check(ctx: &Ctx, sink: &mut Sink) {
    for (name, s) in &ctx.manifest.services {
        for (field, _) in given(s).into_iter().filter(|(f, set)| *set && !crate::kinds::def(s.kind).fields.contains(f))
        {
            sink.push(not_for_kind(
                field,
                s.kind,
                &in_words(&taking(field)),
                ctx.key(["services", name.as_str(), field]),
            ));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::{COMMON_FIELDS, def};

    /// The fields the kinds name are the manifest's: `given` knows each, and with the common
    /// ones they are every property of a service in the schema.
    #[test]
    fn the_kinds_fields_are_the_manifests() {
        let service: Service = serde_json::from_value(serde_json::json!({ "kind": "http" })).unwrap();
        let known: Vec<&str> = given(&service).iter().map(|(f, _)| *f).collect();
        for k in Kind::ALL {
            for f in def(k).fields {
                assert!(known.contains(f), "{}: `{f}` is not in `given`", k.as_str());
            }
            for r in def(k).requires {
                assert!(def(k).fields.contains(r), "{}: requires `{r}`, which it does not take", k.as_str());
            }
        }
        let schema = crate::manifest::schema::schema();
        let mut properties: Vec<&str> =
            schema["$defs"]["Service"]["properties"].as_object().unwrap().keys().map(String::as_str).collect();
        let mut ours: Vec<&str> = known.iter().chain(COMMON_FIELDS).copied().collect();
        properties.sort();
        ours.sort();
        assert_eq!(properties, ours);
    }

    /// What a kind takes agrees with what it brings: a login's fields with its login, a metrics
    /// port with being scraped itself, a certificate with being `http` or a front door.
    #[test]
    fn the_kinds_fields_agree_with_what_they_bring() {
        for k in Kind::ALL {
            let (d, takes) = (def(k), |f: &str| def(k).fields.contains(&f));
            let name = k.as_str();
            assert_eq!(takes("database"), d.login.is_some(), "{name}: database");
            assert_eq!(
                takes("user") && takes("password"),
                d.login.is_some() || d.basic_login,
                "{name}: user, password"
            );
            assert_eq!(takes("user"), takes("password"), "{name}: user and password together");
            assert_eq!(takes("metrics_port"), d.exporter.is_none(), "{name}: metrics_port where scraped itself");
            assert_eq!(takes("metrics"), d.exporter.is_none(), "{name}: metrics where scraped itself");
            assert_eq!(takes("tls"), k == Kind::Http || d.front_door, "{name}: tls");
            assert_eq!(takes("port"), takes("host"), "{name}: port and host together");
        }
    }
}

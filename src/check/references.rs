//! References: every name used to point at something (a receiver, a service, a built-in alert)
//! names a thing that exists, of the right kind.

use super::Ctx;
use crate::code::Code;
use crate::diagnostic::{Diagnostic, Sink};
use crate::kinds::builtin_alerts;
use crate::manifest::model::Kind;
use crate::source::Span;

fn unknown_receiver(name: &str, at: Span, known: &[String]) -> Diagnostic {
    let otherwise = if known.is_empty() {
        "define it under `alerting.receivers`".to_string()
    } else {
        format!("defined receivers: {}", known.join(", "))
    };
    Diagnostic::error(Code::UnknownReceiver, format!("no receiver is named `{name}`"))
        .at(at)
        .label("unknown receiver")
        .help_suggesting(name, known, otherwise)
}

fn unknown_service(name: &str, at: Span, known: &[String]) -> Diagnostic {
    Diagnostic::error(Code::UnknownService, format!("no service is named `{name}`"))
        .at(at)
        .label("unknown service")
        .help_suggesting(name, known, format!("defined services: {}", known.join(", ")))
}

/// What a reference to a service of a kind it cannot take is told: its code, what the setting
/// takes, the label and the help.
struct WrongKind {
    code: Code,
    takes: &'static str,
    label: &'static str,
    help: &'static str,
}

/// A reference (at `at`) to a service that must exist (SL201) and be of a kind `fits` takes
/// (`wrong` otherwise, pointing at the service's kind too).
fn of_kind(
    ctx: &Ctx,
    sink: &mut Sink,
    services: &[String],
    name: &str,
    at: Span,
    fits: impl Fn(Kind) -> bool,
    wrong: WrongKind,
) {
    match ctx.manifest.services.get(name) {
        None => sink.push(unknown_service(name, at, services)),
        Some(s) if !fits(s.kind) => sink.push(
            Diagnostic::error(wrong.code, format!("`{name}` is a {} service; {}", s.kind.as_str(), wrong.takes))
                .at(at)
                .label(wrong.label)
                .related(ctx.value(["services", name, "kind"]), "its kind")
                .help(wrong.help),
        ),
        Some(_) => {}
    }
}

pub fn check(ctx: &Ctx, sink: &mut Sink) {
    let m = ctx.manifest;
    let services: Vec<String> = m.services.keys().map(|k| k.to_string()).collect();
    if let Some(a) = &m.alerting {
        let receivers: Vec<String> = a.receivers.keys().map(|k| k.to_string()).collect();
        for (i, r) in a.routes.iter().enumerate() {
            let many = matches!(r.to, crate::manifest::model::OneOrMany::Many(_));
            for (j, to) in r.to.as_slice().iter().enumerate() {
                if !a.receivers.contains_key(to.as_str()) {
                    let at = if many {
                        ctx.value(["alerting", "routes", &i.to_string(), "to", &j.to_string()])
                    } else {
                        ctx.value(["alerting", "routes", &i.to_string(), "to"])
                    };
                    sink.push(unknown_receiver(to.as_str(), at, &receivers));
                }
            }
        }
        if let Some(d) = &a.default
            && !a.receivers.contains_key(d.as_str())
        {
            sink.push(unknown_receiver(d.as_str(), ctx.value(["alerting", "default"]), &receivers));
        }
        if let Some(h) = &a.heartbeat
            && !a.receivers.contains_key(h.as_str())
        {
            sink.push(unknown_receiver(h.as_str(), ctx.value(["alerting", "heartbeat"]), &receivers));
        }
        if !a.routes.is_empty() && a.default.is_none() {
            sink.push(
                Diagnostic::error(Code::MissingDefault, "routes are given but no default receiver")
                    .at(ctx.key(["alerting", "routes"]))
                    .label("alerts no route matches would go nowhere")
                    .help("add `default: <receiver>` under `alerting`"),
            );
        }
        for (i, r) in a.rules.iter().enumerate() {
            if let Some(s) = &r.service
                && !m.services.contains_key(s.as_str())
            {
                sink.push(unknown_service(
                    s.as_str(),
                    ctx.value(["alerting", "rules", &i.to_string(), "service"]),
                    &services,
                ));
            }
        }
    }
    if let Some(b) = &m.backups {
        for (i, j) in b.jobs.iter().enumerate() {
            let at = ctx.value(["backups", "jobs", &i.to_string(), "service"]);
            let wrong = WrongKind {
                code: Code::BackupNotPostgres,
                takes: "backups dump PostgreSQL and MySQL (or MariaDB)",
                label: "not a database sightline dumps",
                help: "point the job at a service of `kind: postgres` or `kind: mysql`",
            };
            of_kind(ctx, sink, &services, j.service.as_str(), at, |k| crate::kinds::def(k).backup.is_some(), wrong);
        }
    }
    for (i, j) in m.jobs.iter().enumerate() {
        if !m.services.contains_key(j.service.as_str()) {
            sink.push(unknown_service(j.service.as_str(), ctx.value(["jobs", &i.to_string(), "service"]), &services));
        }
    }
    for (name, s) in &m.services {
        if let Some(b) = s.broker.as_ref().filter(|_| s.kind == Kind::Celery) {
            let at = ctx.value(["services", name.as_str(), "broker", "service"]);
            let wrong = WrongKind {
                code: Code::NotABroker,
                takes: "a Celery broker is a redis or rabbitmq service",
                label: "not a broker celery-exporter reads",
                help: "point `broker.service` at a service of `kind: redis` or `kind: rabbitmq`",
            };
            of_kind(ctx, sink, &services, b.service.as_str(), at, |k| matches!(k, Kind::Redis | Kind::Rabbitmq), wrong);
        }
        let known: Vec<String> = builtin_alerts(s.kind).into_iter().map(String::from).collect();
        for alert in s.alerts.keys() {
            if !known.iter().any(|k| k == alert) {
                let d = Diagnostic::error(
                    Code::UnknownAlert,
                    format!("`{}` services have no built-in alert `{alert}`", s.kind.as_str()),
                )
                .at(ctx.key(["services", name.as_str(), "alerts", alert.as_str()]))
                .label("unknown alert")
                .help_suggesting(
                    alert,
                    &known,
                    format!("built-in alerts of `{}`: {}", s.kind.as_str(), known.join(", ")),
                );
                sink.push(d);
            }
        }
    }
}

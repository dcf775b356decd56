//! Brokers: what a celery service needs of the broker it names (`references` checks that it
//! names a redis or rabbitmq service): a login where the broker has no guest, only the broker's
//! own URL settings, and no other celery service reading the same events.

use super::Ctx;
use crate::code::Code;
use crate::diagnostic::{Diagnostic, Sink};
use crate::manifest::model::Kind;

pub fn check(ctx: &Ctx, sink: &mut Sink) {
    let m = ctx.manifest;
    // The celery services by the events they read: (broker, its database or virtual host).
    let mut readers: Vec<((&str, String), &str)> = Vec::new();
    for (name, s) in m.services.iter().filter(|(_, s)| s.kind == Kind::Celery) {
        let Some(b) = &s.broker else { continue };
        let Some(of) = m.services.get(b.service.as_str()).filter(|of| matches!(of.kind, Kind::Redis | Kind::Rabbitmq))
        else {
            continue;
        };
        let place = match of.kind {
            Kind::Redis => b.database.unwrap_or(0).to_string(),
            _ => b.vhost.clone().unwrap_or_else(|| "/".into()),
        };
        readers.push(((b.service.as_str(), place), name.as_str()));
        // The official image, run by the stack, creates no guest user once
        // `RABBITMQ_DEFAULT_USER` is set (docker-library/rabbitmq's entrypoint): without a login
        // of its own the exporter is refused.
        let official = of.image.as_ref().is_some_and(|i| i.is_official("rabbitmq"));
        let default_user =
            official && of.compose.as_ref().is_some_and(|c| c.environment.contains_key("RABBITMQ_DEFAULT_USER"));
        if of.kind == Kind::Rabbitmq && default_user && s.user.is_none() && s.password.is_none() {
            sink.push(
                Diagnostic::error(
                    Code::MissingServiceField,
                    format!("celery service `{name}` needs `user` and `password` to read broker `{}`", b.service),
                )
                .at(ctx.key(["services", name.as_str()]))
                .label("no login for its broker")
                .related(
                    ctx.key(["services", b.service.as_str(), "compose", "environment", "RABBITMQ_DEFAULT_USER"]),
                    "so the broker has no guest user",
                )
                .help("give the service the `user` and `password` of a RabbitMQ user with access to its virtual host; the exporter logs in as guest without them"),
            );
        }
        // A setting of the other broker's URL has no effect.
        let other = match of.kind {
            Kind::Redis => b.vhost.as_ref().map(|_| ("vhost", "rabbitmq")),
            _ => b.database.map(|_| ("database", "redis")),
        };
        if let Some((field, for_kind)) = other {
            sink.push(
                Diagnostic::warning(
                    Code::NotForKind,
                    format!("`broker.{field}` has no effect with a {} broker", of.kind.as_str()),
                )
                .at(ctx.key(["services", name.as_str(), "broker", field]))
                .label("ignored for this broker")
                .help(format!("`broker.{field}` applies to a {for_kind} broker; remove it")),
            );
        }
    }
    for (i, (place, name)) in readers.iter().enumerate() {
        if let Some((_, first)) = readers[..i].iter().find(|(p, _)| p == place) {
            sink.push(
                Diagnostic::warning(
                    Code::SharedBroker,
                    format!("celery services `{first}` and `{name}` read the same broker `{}`", place.0),
                )
                .at(ctx.value(["services", name, "broker"]))
                .label("the same database or virtual host")
                .related(ctx.value(["services", first, "broker"]), "read here too")
                .help("each exporter counts the other's workers and tasks: give each a `broker.database` (redis) or `broker.vhost` (rabbitmq) of its own, or make them one service"),
            );
        }
    }
}

//! Values that parse but cannot work: a Loki retention that is not whole days, a scrape
//! timeout above the interval, rules evaluated faster than series are scraped, objectives at or
//! beyond 0 and 100 %, two backups of one database on the same schedule, and remote-write
//! receivers Prometheus would refuse (a header it sets itself, a name or a header twice).

use super::Ctx;
use crate::code::Code;
use crate::diagnostic::{Diagnostic, Sink};
use crate::ir::defaults;
use crate::manifest::values::Duration;
use std::collections::HashMap;

const DAY_MS: u64 = 86_400_000;

/// The headers Prometheus sets itself on a remote write, which its configuration refuses
/// (Prometheus 3.13's `config.reservedHeaders`), and `Authorization` (a login: `basic_auth`).
const RESERVED_HEADERS: &[&str] = &[
    "authorization",
    "host",
    "content-encoding",
    "content-length",
    "content-type",
    "user-agent",
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "www-authenticate",
    "accept-encoding",
    "x-prometheus-remote-write-version",
    "x-prometheus-remote-read-version",
    "x-amz-date",
    "x-amz-security-token",
    "x-amz-content-sha256",
];

pub fn check(ctx: &Ctx, sink: &mut Sink) {
    let m = ctx.manifest;
    remote_write(ctx, sink);
    if let Some(r) = m.logs.as_ref().and_then(|l| l.retention.as_ref())
        && (r.millis() < DAY_MS || r.millis() % DAY_MS != 0)
    {
        let days = (r.millis() as f64 / DAY_MS as f64).ceil().max(1.0) as u64;
        sink.push(
            Diagnostic::error(Code::Retention, "`logs.retention` must be a whole number of days, at least 24h")
                .at(ctx.value(["logs", "retention"]))
                .label("Loki deletes in whole days")
                .help(format!("write e.g. `{days}d`")),
        );
    }
    let obs = m.observability.clone().unwrap_or_default();
    let scrape =
        obs.scrape_interval.clone().unwrap_or_else(|| Duration::parse(defaults::SCRAPE_INTERVAL).expect("default"));
    if let Some(t) = &obs.scrape_timeout
        && t.millis() > scrape.millis()
    {
        sink.push(
            Diagnostic::error(
                Code::ScrapeTimeout,
                format!("the scrape timeout ({t}) is longer than the scrape interval ({scrape})"),
            )
            .at(ctx.value(["observability", "scrape_timeout"]))
            .label("Prometheus refuses this")
            .help(format!("use at most `{scrape}`, or raise `scrape_interval`")),
        );
    }
    if let Some(e) = &obs.evaluation_interval
        && e.millis() < scrape.millis()
    {
        sink.push(
            Diagnostic::error(
                Code::EvaluationInterval,
                format!("rules are evaluated every {e} but series are scraped every {scrape}"),
            )
            .at(ctx.value(["observability", "evaluation_interval"]))
            .label("below the scrape interval")
            .help(format!("use at least `{scrape}`")),
        );
    }
    for (name, s) in &m.services {
        if let Some(a) = s.slo.as_ref().and_then(|o| o.availability.as_ref())
            && !(a.value() > 0.0 && a.value() < 100.0)
        {
            sink.push(
                Diagnostic::error(
                    Code::Objective,
                    format!("an availability objective of {a} leaves no error budget to measure"),
                )
                .at(ctx.value(["services", name.as_str(), "slo", "availability"]))
                .label("must be strictly between 0% and 100%")
                .help("use e.g. `99.9%`"),
            );
        }
    }
    if let Some(b) = &m.backups {
        let mut seen: HashMap<(String, String), usize> = HashMap::new();
        for (i, j) in b.jobs.iter().enumerate() {
            let database = m
                .services
                .get(j.service.as_str())
                .and_then(|s| s.database.clone())
                .unwrap_or_else(|| j.service.to_string());
            let key = (format!("{}/{database}", j.service), j.schedule.normalized().to_ascii_lowercase());
            match seen.get(&key) {
                Some(&first) => sink.push(
                    Diagnostic::error(
                        Code::DuplicateSchedule,
                        format!(
                            "jobs `{}` and `{}` dump the same database at the same time",
                            b.jobs[first].name, j.name
                        ),
                    )
                    .at(ctx.value(["backups", "jobs", &i.to_string(), "schedule"]))
                    .label("same schedule")
                    .related(ctx.value(["backups", "jobs", &first.to_string(), "schedule"]), "first job")
                    .help("give the jobs different schedules, or merge them"),
                ),
                None => {
                    seen.insert(key, i);
                }
            }
        }
    }
}

/// No remote_write header Prometheus sets itself (SL222); each receiver's name once, and each
/// header once whatever its case (SL223).
fn remote_write(ctx: &Ctx, sink: &mut Sink) {
    let writes = ctx.manifest.observability.as_ref().and_then(|o| o.prometheus.as_ref()).map(|p| &p.remote_write);
    let mut names: Vec<String> = Vec::new();
    for (i, w) in writes.into_iter().flatten().enumerate() {
        let name = w.name.as_ref().map_or_else(|| defaults::remote_write_name(i), |n| n.to_string());
        if names.contains(&name) {
            let at = match w.name {
                Some(_) => ctx.value(["observability", "prometheus", "remote_write", &i.to_string(), "name"]),
                None => ctx.value(["observability", "prometheus", "remote_write", &i.to_string()]),
            };
            sink.push(
                Diagnostic::error(Code::RemoteWriteDuplicate, format!("two remote_write receivers named `{name}`"))
                    .at(at)
                    .label(if w.name.is_some() { "named again" } else { "its default name, taken" })
                    .help("give each receiver a name of its own"),
            );
        }
        names.push(name);
        let mut seen: Vec<String> = Vec::new();
        for h in w.headers.keys() {
            let lower = h.0.to_ascii_lowercase();
            if seen.contains(&lower) {
                sink.push(
                    Diagnostic::error(Code::RemoteWriteDuplicate, format!("the header `{}` is given twice", h.0))
                        .at(ctx.key(["observability", "prometheus", "remote_write", &i.to_string(), "headers", &h.0]))
                        .label("a header's name is one whatever its case")
                        .help("give it once"),
                );
            }
            seen.push(lower);
        }
        for name in w.headers.keys().filter(|h| RESERVED_HEADERS.contains(&h.0.to_ascii_lowercase().as_str())) {
            let login = name.0.eq_ignore_ascii_case("authorization");
            sink.push(
                Diagnostic::error(
                    Code::ReservedHeader,
                    if login {
                        format!("Prometheus takes a login only as `basic_auth`, not as the `{}` header", name.0)
                    } else {
                        format!("Prometheus sets the `{}` header itself", name.0)
                    },
                )
                .at(ctx.key(["observability", "prometheus", "remote_write", &i.to_string(), "headers", &name.0]))
                .label(if login { "a login" } else { "reserved by Prometheus" })
                .help(if login {
                    "give the login as `basic_auth: { user, password }`, the password a secret reference"
                } else {
                    "drop it: Prometheus would refuse the configuration"
                }),
            );
        }
    }
}

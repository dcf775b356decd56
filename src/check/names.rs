//! Names: unique within their kind, and not one of the names sightline's own services take
//! nor make an exporter of such a name (`check`, on the manifest); and one scrape job per name
//! of the jobs sightline derives from them (`derived`, on the lowered stack). (The name pattern
//! itself is checked when the value is parsed.)

use super::Ctx;
use crate::code::Code;
use crate::diagnostic::{Diagnostic, Sink};
use crate::ir::defaults::RESERVED_NAMES;
use crate::source::Span;
use std::collections::HashMap;

fn duplicate(what: &str, name: &str, at: Span, first: Span) -> Diagnostic {
    Diagnostic::error(Code::DuplicateName, format!("two {what} are named `{name}`"))
        .at(at)
        .label("second definition")
        .related(first, "first defined here")
        .help(format!("{what} are referred to by name; rename one of them"))
}

fn reserved(name: &str, at: Span) -> Diagnostic {
    Diagnostic::error(Code::ReservedName, format!("`{name}` is the name of a service sightline generates"))
        .at(at)
        .label("reserved name")
        .help(format!("rename the service, e.g. `app-{name}`"))
}

pub fn check(ctx: &Ctx, sink: &mut Sink) {
    let m = ctx.manifest;
    // sightline's own networks: `network:` names an external one, never one of these.
    if let Some(n) = &m.network
        && crate::targets::compose::NETWORKS.contains(&n.as_str())
    {
        sink.push(
            Diagnostic::error(Code::ReservedName, format!("`{n}` is the name of a network sightline generates"))
                .at(ctx.value(["network"]))
                .label("reserved network name")
                .help("name the Docker network your services run on (e.g. `myapp_default`); sightline's own `monitoring` network is internal and stays so"),
        );
    }
    for name in m.services.keys() {
        // The names sightline derives from another service: its exporter, and its kind's jobs
        // (a postgres service's query-stats job).
        let derived = |suffix: &str, takes: &dyn Fn(&crate::manifest::model::Service) -> bool| {
            name.as_str().strip_suffix(suffix).and_then(|base| m.services.get(base)).is_some_and(takes)
        };
        let is_exporter = derived(crate::ir::EXPORTER_SUFFIX, &|s| crate::kinds::def(s.kind).exporter.is_some());
        let is_job = crate::manifest::model::Kind::ALL
            .into_iter()
            .any(|k| crate::kinds::def(k).job_suffixes.iter().any(|suffix| derived(suffix, &|s| s.kind == k)));
        if RESERVED_NAMES.contains(&name.as_str()) || is_exporter || is_job {
            sink.push(reserved(name.as_str(), ctx.key(["services", name.as_str()])));
        }
        // Its exporter's name one of sightline's own (`node`'s would be `node-exporter`): one
        // container, one Service, for two programs.
        let exporter = format!("{name}{}", crate::ir::EXPORTER_SUFFIX);
        let s = &m.services[name];
        if crate::kinds::def(s.kind).exporter.is_some() && RESERVED_NAMES.contains(&exporter.as_str()) {
            sink.push(
                Diagnostic::error(
                    Code::ReservedName,
                    format!("service `{name}`'s exporter would be `{exporter}`, a container sightline runs"),
                )
                .at(ctx.key(["services", name.as_str()]))
                .label("its exporter's name")
                .help(format!(
                    "a service's exporter is named `<service>-exporter`; rename the service, e.g. `app-{name}`"
                )),
            );
        }
    }
    if let Some(a) = &m.alerting {
        unique(
            ctx,
            sink,
            "rules",
            a.rules.iter().map(|r| r.alert.as_str()),
            &["alerting", "rules"],
            "alert",
            "user rules",
        );
    }
    if let Some(b) = &m.backups {
        unique(
            ctx,
            sink,
            "backup jobs",
            b.jobs.iter().map(|j| j.name.as_str()),
            &["backups", "jobs"],
            "name",
            "backup jobs",
        );
    }
    unique(ctx, sink, "batch jobs", m.jobs.iter().map(|j| j.name.as_str()), &["jobs"], "name", "batch jobs");
    if let Some(l) = &m.logs {
        unique(
            ctx,
            sink,
            "log sources",
            l.sources.iter().map(|s| s.name.as_str()),
            &["logs", "sources"],
            "name",
            "log sources",
        );
    }
    // Log files become Alloy components named after their service or source, and Alloy
    // identifiers have no `-`: `app-log` and `app_log` would be one component.
    let mut files: Vec<(String, Span)> = m
        .services
        .iter()
        .filter(|(_, s)| s.logs.as_ref().is_some_and(|l| l.path.is_some()))
        .map(|(n, _)| (n.to_string(), ctx.key(["services", n.as_str()])))
        .collect();
    if let Some(l) = &m.logs {
        for (i, src) in l.sources.iter().enumerate() {
            files.push((src.name.to_string(), ctx.value(["logs", "sources", &i.to_string(), "name"])));
        }
    }
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, (name, at)) in files.iter().enumerate() {
        match seen.get(&name.replace('-', "_")) {
            Some(&first) if files[first].0 != *name => sink.push(
                Diagnostic::error(
                    Code::DuplicateName,
                    format!("`{name}` and `{}` name the same log file component", files[first].0),
                )
                .at(*at)
                .label("second definition")
                .related(files[first].1, "first defined here")
                .help("the log collector's component names cannot tell `-` from `_`; rename one of them"),
            ),
            Some(_) => {}
            None => {
                seen.insert(name.replace('-', "_"), i);
            }
        }
    }
    // Services and receivers are mapping keys: YAML and TOML parsers refuse duplicate keys, so
    // the remaining collision is a receiver named like a service, which is fine, and a log source
    // named like a service, which is not (both become the `service` label in Loki).
    if let Some(l) = &m.logs {
        for (i, s) in l.sources.iter().enumerate() {
            if m.services.contains_key(s.name.as_str()) {
                sink.push(
                    Diagnostic::error(
                        Code::DuplicateName,
                        format!("a log source and a service are both named `{}`", s.name),
                    )
                    .at(ctx.value(["logs", "sources", &i.to_string(), "name"]))
                    .related(ctx.key(["services", s.name.as_str()]), "the service")
                    .help("log sources and services share the `service` label in Loki; rename the source"),
                );
            }
        }
    }
}

fn unique<'a>(
    ctx: &Ctx,
    sink: &mut Sink,
    _what: &str,
    names: impl Iterator<Item = &'a str>,
    list: &[&str],
    field: &str,
    plural: &str,
) {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, n) in names.enumerate() {
        let here = |i: usize| {
            let mut p: Vec<String> = list.iter().map(|s| s.to_string()).collect();
            p.push(i.to_string());
            p.push(field.to_string());
            ctx.value(p)
        };
        match seen.get(n) {
            Some(&first) => sink.push(duplicate(plural, n, here(i), here(first))),
            None => {
                seen.insert(n, i);
            }
        }
    }
}

/// The scrape jobs sightline derives from the services' names, one per name: Prometheus refuses
/// two of one name (a service named like the job of one of the stack's own programs, `node`
/// or `blackbox`, or like another service's probe, `api-health`). Said at the service whose
/// name makes the second one. On Kubernetes, of the stack's own programs only those the tree
/// has scraped under compose's job names count (`kubernetes::rules::KEPT_JOBS`): the chart's
/// Prometheus, Alertmanager and node-exporter have jobs of their own names. (A service whose
/// exporter would take one of sightline's own names is refused by `check`.)
pub fn derived(ctx: &Ctx, stack: &crate::ir::Stack, sink: &mut Sink) {
    use crate::targets::prometheus::JobOf;
    let kubernetes = ctx.platform == crate::manifest::model::Platform::Kubernetes;
    let mut jobs: HashMap<String, JobOf> = HashMap::new();
    for (name, of) in crate::targets::prometheus::job_names(stack) {
        if kubernetes
            && matches!(of, JobOf::Own)
            && !crate::targets::kubernetes::rules::KEPT_JOBS.contains(&name.as_str())
        {
            continue;
        }
        let Some(first) = jobs.get(&name).copied() else {
            jobs.insert(name, of);
            continue;
        };
        let whose = |of: JobOf| match of {
            JobOf::Own => "one of sightline's own programs".to_string(),
            JobOf::Service(s) => format!("service `{}`", s.name),
            JobOf::Probe(s, probe) => format!("the {probe} probe of `{}`", s.name),
        };
        // The service named like the job is the one to rename.
        let named = [of, first].into_iter().find(|o| matches!(o, JobOf::Service(s) if s.name.as_str() == name));
        let Some(blamed) = named.and_then(JobOf::service).or_else(|| of.service()) else { continue };
        sink.push(
            Diagnostic::error(
                Code::ReservedName,
                format!("`{name}` names the scrape jobs of {} and of {}", whose(first), whose(of)),
            )
            .at(ctx.key(["services", blamed.name.as_str()]))
            .label("its scrape job's name")
            .help(format!(
                "Prometheus refuses two scrape jobs of one name; rename the service, e.g. `app-{}`",
                blamed.name
            )),
        );
    }
}

//! The dashboard set: overview, security, performance, system, one per kind of service (with a
//! `service` variable: `ServiceBoards`; its panels are its kind's, `crate::kinds`), logs, slo
//! and backups, as `dashboards.include` selects and the stack has data for. Queries use only the
//! metrics `ir::metrics` says some target of this stack exposes (a test holds them to it).

use super::model::*;
use super::panels::*;
use super::{loki_uid, prometheus_uid, uid};
use crate::emit::header;
use crate::ir::{Service, Stack, defaults};
use crate::manifest::model::{DashboardKind, Kind};
use crate::targets::Artifact;
use crate::targets::paths::GRAFANA_DASHBOARDS_DIR;

fn of(stack: &Stack, kind: Kind) -> impl Iterator<Item = &Service> {
    stack.services.iter().filter(move |s| s.kind == kind)
}

fn overview(stack: &Stack, boards: &ServiceBoards) -> Vec<Spec> {
    let mut v = Vec::new();
    let scraped: Vec<&Service> = stack.services.iter().filter(|s| s.scraped()).collect();
    // A service behind an exporter is up when its exporter reaches it (`pg_up`); its `up` (the
    // exporter's) counts only when that series is missing because the exporter is down.
    let mut parts: Vec<String> = Vec::new();
    for kind in Kind::ALL {
        let names: Vec<&str> = scraped.iter().filter(|s| s.kind == kind).map(|s| s.name.as_str()).collect();
        if let (Some(e), false) = (crate::kinds::def(kind).exporter.as_ref(), names.is_empty()) {
            parts.push(e.up(&format!("service=~\"{}\"", names.join("|"))));
        }
    }
    let jobs: Vec<&str> = scraped.iter().map(|s| s.name.as_str()).collect();
    parts.push(format!("min by (service) (up{{job=~\"{}\"}})", jobs.join("|")));
    let mut up = spec(
        Viz::Stat,
        "Services up",
        "short",
        "1 when the service answers (for a database, cache or proxy: when its exporter reaches it), 0 when it \
         does not or cannot be scraped.",
        vec![q(parts.join(" or "), "{{service}}")],
    );
    up.links = stack
        .services
        .iter()
        .filter_map(|s| {
            Some(Link::to(format!("{} dashboard", s.name), boards.url(stack, s.name.as_str(), s.name.as_str())?))
        })
        .collect();
    v.push(up);
    v.push(spec(
        Viz::Stat,
        "Firing alerts",
        "short",
        "Alerts firing now, by severity (0 when none fires).",
        // `or on() vector(0)`: a 0 when nothing fires (no series at all otherwise, and the stat
        // shows "No data"), and nothing added once something does.
        vec![q("sum by (severity) (ALERTS{alertstate=\"firing\"}) or on() vector(0)", "{{severity}}")],
    ));
    v.extend(kinds_panels(stack, |k| k.overview));
    // Each kind's open connections, for the kinds the stack has.
    let conns: Vec<Query> = Kind::ALL
        .into_iter()
        .filter(|k| of(stack, *k).next().is_some())
        .filter_map(|k| crate::kinds::def(k).connections)
        .map(|m| q(format!("sum by (service) ({m})"), "{{service}}"))
        .collect();
    if !conns.is_empty() {
        v.push(spec(
            Viz::TimeSeries,
            "Active connections",
            "short",
            "Connections to databases, caches and proxies.",
            conns,
        ));
    }
    v.push(spec(
        Viz::Logs,
        "Recent errors",
        "short",
        "Log lines at error level or worse, from every service.",
        vec![q(format!("{{stack=\"{}\"}} |~ `(?i)(error|fatal|panic|critical)`", stack.name), "")],
    ));
    v
}

fn security(stack: &Stack) -> Vec<Spec> {
    let mut v = vec![spec(
        Viz::Stat,
        "Security alerts firing",
        "short",
        "Alerts of category security firing now.",
        vec![q("sum(ALERTS{alertstate=\"firing\",category=\"security\"}) or vector(0)", "firing")],
    )];
    v.extend(kinds_panels(stack, |k| k.security));
    if stack.services.iter().any(|s| s.tls_domain.is_some()) {
        v.push(spec(
            Viz::Stat,
            "TLS certificate days left",
            "d",
            "Days until the probed certificate expires.",
            vec![q("min by (service) (probe_ssl_earliest_cert_expiry - time()) / 86400", "{{service}}")],
        ));
    }
    v
}

/// Each kind's panels on a shared dashboard (`crate::kinds`), for the services of that kind, in
/// the order of the kinds.
fn kinds_panels(stack: &Stack, panels: fn(&crate::kinds::KindDef) -> crate::kinds::SharedPanels) -> Vec<Spec> {
    Kind::ALL
        .into_iter()
        .flat_map(|k| {
            let services: Vec<&Service> = of(stack, k).collect();
            if services.is_empty() { Vec::new() } else { panels(crate::kinds::def(k))(&services) }
        })
        .collect()
}

fn performance(stack: &Stack) -> Vec<Spec> {
    let mut v = kinds_panels(stack, |k| k.performance);
    if stack.component(defaults::CADVISOR.name).is_some() {
        let project = format!("container_label_com_docker_compose_project=\"{}\"", stack.name);
        v.push(spec(Viz::TimeSeries, "CPU by container", "short", "CPU used by each container of the stack (cAdvisor), in cores.", vec![q(format!("sum by (container_label_com_docker_compose_service) (rate(container_cpu_usage_seconds_total{{{project}}}[{RATE}]))"), "{{container_label_com_docker_compose_service}}")]));
        v.push(spec(Viz::TimeSeries, "Memory by container", "bytes", "Working-set memory of each container of the stack (cAdvisor).", vec![q(format!("sum by (container_label_com_docker_compose_service) (container_memory_working_set_bytes{{{project}}})"), "{{container_label_com_docker_compose_service}}")]));
    }
    if stack.component(defaults::NODE_EXPORTER.name).is_some() {
        v.push(spec(
            Viz::TimeSeries,
            "Host CPU",
            "percentunit",
            "Share of CPU time not idle.",
            vec![q(format!("1 - avg(rate(node_cpu_seconds_total{{mode=\"idle\"}}[{RATE}]))"), "busy")],
        ));
        v.push(spec(
            Viz::TimeSeries,
            "Host memory",
            "percentunit",
            "Share of memory in use.",
            vec![q("1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes", "used")],
        ));
    }
    v
}

fn system(_stack: &Stack) -> Vec<Spec> {
    let fs = "fstype!~\"tmpfs|overlay|squashfs|ramfs|nsfs\"";
    vec![
        spec(
            Viz::TimeSeries,
            "CPU busy",
            "percentunit",
            "Share of CPU time not idle.",
            vec![q(
                format!("1 - avg by (instance) (rate(node_cpu_seconds_total{{mode=\"idle\"}}[{RATE}]))"),
                "{{instance}}",
            )],
        ),
        spec(
            Viz::TimeSeries,
            "Memory used",
            "percentunit",
            "Share of memory in use.",
            vec![q("1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes", "{{instance}}")],
        ),
        spec(
            Viz::TimeSeries,
            "Disk free",
            "percentunit",
            "Free share of each filesystem.",
            vec![q(
                format!("node_filesystem_avail_bytes{{{fs}}} / node_filesystem_size_bytes{{{fs}}}"),
                "{{mountpoint}}",
            )],
        ),
        spec(
            Viz::TimeSeries,
            "Disk free in 24h (predicted)",
            "bytes",
            "Free bytes in 24 hours at the rate of the last 6.",
            vec![q(format!("predict_linear(node_filesystem_avail_bytes{{{fs}}}[6h], 86400)"), "{{mountpoint}}")],
        ),
        spec(
            Viz::TimeSeries,
            "Network",
            "Bps",
            "Bytes received and sent.",
            vec![
                q(
                    format!("sum by (instance) (rate(node_network_receive_bytes_total{{device!=\"lo\"}}[{RATE}]))"),
                    "received",
                ),
                q(
                    format!("sum by (instance) (rate(node_network_transmit_bytes_total{{device!=\"lo\"}}[{RATE}]))"),
                    "sent",
                ),
            ],
        ),
        spec(
            Viz::TimeSeries,
            "Load",
            "short",
            "Load averages.",
            vec![q("node_load1", "1m"), q("node_load5", "5m"), q("node_load15", "15m")],
        ),
    ]
}

/// The panels of a service kind's dashboard (its kind's, `crate::kinds`), for `s` and the
/// services whose panels are the same: queries select the dashboard's `service` variable; the
/// logs panel ends it.
fn service(stack: &Stack, s: &Service) -> Vec<Spec> {
    // A service Prometheus does not scrape (`metrics: false`) has only its logs to show.
    let panels = if s.scraped() { (crate::kinds::def(s.kind).panels)(s) } else { Vec::new() };
    panels
        .into_iter()
        .chain(std::iter::once(spec(
            Viz::Logs,
            "Logs",
            "short",
            "The service's logs.",
            vec![q(format!("{{service=\"{SERVICE}\"}}"), "")],
        )))
        .map(|mut p| {
            if p.links.is_empty() && stack.dashboards.include.contains(&DashboardKind::Overview) {
                p.links.push(Link::to("Overview", format!("/d/{}", uid(stack, "overview"))));
            }
            p
        })
        .collect()
}

/// A dashboard of one kind of service with a `service` variable over the services it shows.
/// The services of a kind whose panels are the same (the same metric names, the same optional
/// panels) share one, so the dashboards grow with the kinds, not with the services.
pub struct ServiceBoard<'a> {
    /// Its file and UID name: `services-<kind>`, then `services-<kind>-2`, ... for services of
    /// the kind whose panels differ from the first's.
    pub name: String,
    pub services: Vec<&'a Service>,
    specs: Vec<Spec>,
}

/// Every service dashboard of the stack (none unless `dashboards.include` has `services`), and
/// which one shows each service.
pub struct ServiceBoards<'a> {
    pub boards: Vec<ServiceBoard<'a>>,
    of: std::collections::HashMap<&'a str, usize>,
}

impl<'a> ServiceBoards<'a> {
    pub fn new(stack: &'a Stack) -> Self {
        let mut boards: Vec<ServiceBoard<'a>> = Vec::new();
        let mut of = std::collections::HashMap::new();
        if !stack.dashboards.include.contains(&DashboardKind::Services) {
            return ServiceBoards { boards, of };
        }
        for kind in Kind::ALL {
            let of_kind = stack.services.iter().filter(|s| s.kind == kind);
            for (n, (services, specs)) in by_panels(of_kind, |s| service(stack, s)).into_iter().enumerate() {
                let name = numbered(&format!("services-{}", kind.as_str()), n);
                for s in &services {
                    of.insert(s.name.as_str(), boards.len());
                }
                boards.push(ServiceBoard { name, services, specs });
            }
        }
        ServiceBoards { boards, of }
    }

    /// No dashboards: for what reads the rules' labels only.
    pub fn none() -> Self {
        ServiceBoards { boards: Vec::new(), of: std::collections::HashMap::new() }
    }

    /// The dashboard that shows `service`, by name.
    pub fn of(&self, service: &str) -> Option<&ServiceBoard<'a>> {
        self.of.get(service).map(|i| &self.boards[*i])
    }

    /// The path of `service`'s dashboard with `chosen` as its `service` variable (a service's
    /// name, or an alert template that gives one).
    pub fn url(&self, stack: &Stack, service: &str, chosen: &str) -> Option<String> {
        self.of(service).map(|b| format!("/d/{}?var-service={chosen}", uid(stack, &b.name)))
    }
}

/// Services grouped by their panels: those whose panels are the same share a dashboard, in the
/// order of their first service. Services without panels are in none.
fn by_panels<'a>(
    services: impl Iterator<Item = &'a Service>,
    panels: impl Fn(&Service) -> Vec<Spec>,
) -> Vec<(Vec<&'a Service>, Vec<Spec>)> {
    let mut out: Vec<(Vec<&'a Service>, Vec<Spec>)> = Vec::new();
    for s in services {
        let specs = panels(s);
        if specs.is_empty() {
            continue;
        }
        match out.iter_mut().find(|(_, p)| *p == specs) {
            Some((group, _)) => group.push(s),
            None => out.push((vec![s], specs)),
        }
    }
    out
}

/// The name of the `n`th (from 0) dashboard of a family: `base`, `base-2`, `base-3`, ...
fn numbered(base: &str, n: usize) -> String {
    if n == 0 { base.to_string() } else { format!("{base}-{}", n + 1) }
}

/// The `service` variable of a dashboard of several services (a kind's, the objectives'): one
/// of them, the first chosen; hidden when there is only one, so the dashboard looks like that
/// service's.
fn chosen_variable(services: &[&Service]) -> serde_json::Value {
    let names: Vec<&str> = services.iter().map(|s| s.name.as_str()).collect();
    serde_json::json!({
        "type": "custom", "name": "service", "label": "Service", "query": names.join(","),
        "multi": false, "includeAll": false, "hide": if names.len() == 1 { 2 } else { 0 },
        "current": { "text": names[0], "value": names[0] }, "options": [],
    })
}

fn logs(stack: &Stack) -> Vec<Spec> {
    let sel = format!("{{stack=\"{}\", service=~\"$service\"}}", stack.name);
    vec![
        loki_series(
            "Log volume by service and level",
            "Lines per interval.",
            vec![q(format!("sum by (service, level) (count_over_time({sel} [$__interval]))"), "{{service}} {{level}}")],
        ),
        spec(Viz::Logs, "Logs", "short", "The chosen services' logs, newest first.", vec![q(sel, "")]),
    ]
}

/// The `service` variable of the logs dashboard: every service and log source.
fn service_variable(stack: &Stack) -> serde_json::Value {
    let names: Vec<String> = stack
        .services
        .iter()
        .map(|s| s.name.to_string())
        .chain(stack.logs.sources.iter().map(|s| s.name.to_string()))
        .collect();
    serde_json::json!({
        "type": "custom", "name": "service", "label": "Service", "query": names.join(","),
        "multi": true, "includeAll": true, "allValue": ".+",
        "current": { "text": "All", "value": "$__all" }, "options": [],
    })
}

/// A service's objectives, for the service the dashboard's `service` variable names: services
/// whose objectives read the same (kinds, targets, windows) share an SLO dashboard.
fn slo(s: &Service) -> Vec<Spec> {
    let mut v = Vec::new();
    for o in crate::targets::rules::slo::objectives(s) {
        let budget = crate::kinds::alert::num(1.0 - o.target);
        let rec = &o.record;
        v.push(spec(
            Viz::Stat,
            &format!("$service {} ({}) budget left (3d)", o.kind, o.target_text),
            "percentunit",
            "Share of the error budget not spent over the last 3 days.",
            vec![q(format!("1 - {rec}3d{{{CHOSEN}}} / {budget}"), "budget left")],
        ));
        v.push(spec(
            Viz::TimeSeries,
            &format!("$service {} burn rate", o.kind),
            "short",
            "How many times faster than sustainable the budget burns, per window.",
            ["5m", "1h", "6h", "1d", "3d"].iter().map(|w| q(format!("{rec}{w}{{{CHOSEN}}} / {budget}"), *w)).collect(),
        ));
    }
    v
}

fn backups(_stack: &Stack) -> Vec<Spec> {
    vec![
        spec(
            Viz::Stat,
            "Age of the last good backup",
            "s",
            "Time since each job's last verified dump.",
            vec![q("time() - max by (backup_job) (sightline_backup_last_success_timestamp_seconds)", "{{backup_job}}")],
        ),
        spec(
            Viz::Stat,
            "Last run result",
            "short",
            "1 when each job's last run succeeded.",
            vec![q("min by (backup_job) (sightline_backup_last_result)", "{{backup_job}}")],
        ),
        spec(
            Viz::TimeSeries,
            "Duration",
            "s",
            "How long each job's last run took.",
            vec![q("max by (backup_job) (sightline_backup_last_duration_seconds)", "{{backup_job}}")],
        ),
        spec(
            Viz::TimeSeries,
            "Dump size",
            "bytes",
            "Size of each job's last good dump.",
            vec![q("max by (backup_job) (sightline_backup_last_size_bytes)", "{{backup_job}}")],
        ),
        spec(
            Viz::TimeSeries,
            "Failures",
            "short",
            "Runs that failed (last result 0).",
            vec![q("count by (backup_job) (sightline_backup_last_result == 0) or vector(0)", "{{backup_job}}")],
        ),
    ]
}

/// The batch jobs, from what they push (`targets/rules/jobs.rs`).
fn jobs(_stack: &Stack) -> Vec<Spec> {
    use crate::targets::rules::jobs::{FAILURE, SUCCESS};
    let by = |m: &str| format!("max by (batch_job) ({m})");
    vec![
        spec(
            Viz::Stat,
            "Time since the last success",
            "s",
            "Time since each job last reported a successful run.",
            vec![q(format!("time() - {}", by(SUCCESS)), "{{batch_job}}")],
        ),
        spec(
            Viz::Stat,
            "Last run failed",
            "short",
            "1 when each job's last reported run failed, 0 when it succeeded.",
            vec![q(
                format!("({f} > bool ({s} or {f} * 0)) or {s} * 0", f = by(FAILURE), s = by(SUCCESS)),
                "{{batch_job}}",
            )],
        ),
        spec(
            Viz::TimeSeries,
            "Time since the last success, over time",
            "s",
            "Falls to zero at each success; a job is late when it climbs past its schedule's longest gap plus its longest run.",
            vec![q(format!("time() - {}", by(SUCCESS)), "{{batch_job}}")],
        ),
        spec(
            Viz::TimeSeries,
            "Time since the last report",
            "s",
            "Time since each job last pushed a result, success or failure (the Pushgateway's push_time_seconds).",
            vec![q("time() - max by (batch_job) (push_time_seconds)", "{{batch_job}}")],
        ),
    ]
}

fn dashboard(stack: &Stack, name: &str, title: &str, variables: Vec<serde_json::Value>, specs: Vec<Spec>) -> Artifact {
    let d = Dashboard {
        uid: uid(stack, name),
        title: format!("{} / {title}", stack.name),
        description: header::text(&stack.manifest_name),
        tags: vec!["sightline".into(), stack.name.to_string(), stack.env.to_string()],
        timezone: "browser",
        editable: false,
        graph_tooltip: 1,
        refresh: stack.dashboards.refresh.canonical(),
        time: Time { from: format!("now-{}", stack.dashboards.time.canonical()), to: "now".into() },
        // Grafana 13.2's current dashboard schema (its `@grafana/schema` default): a dashboard
        // at this version loads without migration. Migrations 40–42 touch nothing these
        // dashboards have (a non-string `refresh`, `timepicker.time_options`, `hideFrom`).
        schema_version: 42,
        templating: List { list: variables },
        annotations: List::default(),
        links: vec![Link::dashboards(
            format!("{} dashboards", stack.name),
            vec!["sightline".into(), stack.name.to_string()],
        )],
        panels: layout(specs, &prometheus_uid(stack), &loki_uid(stack)),
    };
    let mut text = serde_json::to_string_pretty(&d).expect("dashboards serialize");
    text.push('\n');
    Artifact::new(format!("{GRAFANA_DASHBOARDS_DIR}/{name}.json"), text)
}

/// The dashboards the stack gets: those `dashboards.include` names that have something to
/// show (System and Backups need node-exporter, SLOs an objective, Jobs a batch job).
pub fn kinds(stack: &Stack) -> Vec<DashboardKind> {
    let node = stack.component(defaults::NODE_EXPORTER.name).is_some();
    DashboardKind::ALL
        .into_iter()
        .filter(|k| stack.dashboards.include.contains(k))
        .filter(|k| match k {
            DashboardKind::System => node,
            DashboardKind::Slo => stack.services.iter().any(|s| !crate::targets::rules::slo::objectives(s).is_empty()),
            DashboardKind::Backups => stack.backup_results_read(),
            DashboardKind::Jobs => !stack.jobs.is_empty(),
            _ => true,
        })
        .collect()
}

pub fn lower(stack: &Stack, boards: &ServiceBoards) -> Vec<Artifact> {
    let mut out = Vec::new();
    for kind in kinds(stack) {
        let plain = |name: &str, title: &str, specs| dashboard(stack, name, title, Vec::new(), specs);
        match kind {
            DashboardKind::Overview => out.push(plain("overview", "Overview", overview(stack, boards))),
            DashboardKind::Security => out.push(plain("security", "Security", security(stack))),
            DashboardKind::Performance => out.push(plain("performance", "Performance", performance(stack))),
            DashboardKind::System => out.push(plain("system", "System", system(stack))),
            DashboardKind::Services => {
                for b in &boards.boards {
                    let title = match b.services.as_slice() {
                        [one] => format!("Service {}", one.name),
                        _ => format!("{} services", b.services[0].kind.as_str()),
                    };
                    let origin = super::super::services_part(b.services.iter().map(|s| s.name.as_str()), &[]);
                    let variables = vec![chosen_variable(&b.services)];
                    out.push(dashboard(stack, &b.name, &title, variables, b.specs.clone()).from_part(origin));
                }
            }
            DashboardKind::Logs => {
                out.push(dashboard(stack, "logs", "Logs", vec![service_variable(stack)], logs(stack)))
            }
            DashboardKind::Slo => {
                for (n, (services, specs)) in by_panels(stack.services.iter(), slo).into_iter().enumerate() {
                    let title = if n == 0 { "SLOs".to_string() } else { format!("SLOs ({})", n + 1) };
                    let variables = vec![chosen_variable(&services)];
                    out.push(dashboard(stack, &numbered("slo", n), &title, variables, specs));
                }
            }
            DashboardKind::Backups => out.push(plain("backups", "Backups", backups(stack))),
            DashboardKind::Jobs => out.push(plain("jobs", "Batch jobs", jobs(stack)).from_part("/jobs")),
        }
    }
    out
}

//! The built-in alerts as PromQL: for each alert of `ir::catalog`, one rule over the services
//! of a kind (or one for the host) with the threshold resolved, and the synthetic series that
//! make it fire and keep it silent, for the generated promtool tests.
//!
//! Rules grow with the kinds, not the services, as the monitoring mixins write them: the
//! services of a kind whose rule would read the same (the same threshold, `for`, severity,
//! metric names and dashboard) share one, which selects the kind (`service_kind="postgres"`, a target
//! label `prometheus.yml` gives every target of a service). The largest such set gets the
//! kind-wide rule, which excludes by name every other service of the kind (an override, an
//! alert switched off, other metric names, none of the alert's series: a rule is about exactly
//! the services it lists), or names its own when they are fewer; each other set gets its own
//! rule, which names its services.
//!
//! Every service alert aggregates `by (service)`, so the alert's labels are exactly the label
//! set of `model::alert_labels` with the service's name, and routes can rely on them.

use super::model::{InputSeries, SERVICE_LABEL};
use crate::ir::catalog::{Builtin, Unit, threshold_value};
use crate::ir::{Service, Stack};
use crate::manifest::model::{AlertOverride, Kind, StatusCodes};
use crate::targets::alertmanager::routing::Matcher;
use crate::targets::grafana::dashboards::ServiceBoards;
use crate::targets::prometheus::SERVICE_KIND;

/// One alert made concrete for the services it selects, or the host.
pub struct Concrete {
    pub def: &'static Builtin,
    /// The services the rule selects, in manifest order (empty for the host). The generated
    /// tests use the first.
    pub services: Vec<String>,
    /// The dashboard of the services (the same for all of them), when there is one.
    pub board: Option<String>,
    pub expr: String,
    pub for_: String,
    pub severity: String,
    /// The threshold in the alert's unit, as it appears to a reader (`5%`, `500ms`, `14 days`).
    pub threshold_text: String,
    pub summary: String,
    pub description: String,
    /// Labels the expression keeps besides the alert's own (for the tests' expectations).
    pub kept: Vec<(String, String)>,
    pub firing: Vec<InputSeries>,
    pub silent: Vec<InputSeries>,
}

impl Concrete {
    /// Whether two services' alerts read the same, selector aside: then one rule serves both.
    fn same_rule(&self, other: &Concrete) -> bool {
        (&self.expr, &self.for_, &self.severity, &self.summary, &self.description, &self.board)
            == (&other.expr, &other.for_, &other.severity, &other.summary, &other.description, &other.board)
    }
}

/// Where the selector of a rule's services goes in an expression while services are grouped.
const SELECTOR: &str = "\u{0}";

/// The built-in alerts of the services of `kind`: one rule per alert and set of services whose
/// rule reads the same (see the module's documentation).
pub fn kind_alerts(stack: &Stack, boards: &ServiceBoards, kind: Kind) -> Vec<Concrete> {
    let services: Vec<&Service> = stack.services.iter().filter(|s| s.kind == kind).collect();
    let mut out = Vec::new();
    for def in crate::ir::catalog::builtins(kind).iter().filter(|d| !d.logs) {
        let mut rules: Vec<Concrete> = Vec::new();
        // The inputs of a rule's text (which names no service) already made concrete, and the
        // rule they went to: a service with the same inputs joins that rule without its alert
        // being made concrete again (at a fleet's size, most services).
        let mut known: Vec<(Inputs, usize)> = Vec::new();
        for s in &services {
            // A service the alert is off for, or that has none of its series, is in no rule.
            let Some(inputs) = admit(def, s, boards) else { continue };
            if let Some((_, i)) = known.iter().find(|(k, _)| *k == inputs) {
                rules[*i].services.push(s.name.to_string());
                continue;
            }
            let mut c = concrete(def, s, inputs.threshold, inputs.for_.clone(), inputs.severity.clone());
            c.board = inputs.board.clone();
            let i = match rules.iter().position(|r| r.same_rule(&c)) {
                Some(i) => {
                    rules[i].services.push(s.name.to_string());
                    i
                }
                None => {
                    rules.push(c);
                    rules.len() - 1
                }
            };
            known.push((inputs, i));
        }
        // The largest set is kind-wide; on a tie, the first.
        let Some(wide) = (0..rules.len()).max_by_key(|i| (rules[*i].services.len(), std::cmp::Reverse(*i))) else {
            continue;
        };
        let kind_label = format!("{SERVICE_KIND}=\"{}\"", kind.as_str());
        // The kind-wide rule selects the kind but every service of it that is not its own (in
        // another rule, off, or without the alert's series, whose series a library may still
        // export): by name, or, when those are more than its own, its own by name.
        let own: std::collections::HashSet<&str> = rules[wide].services.iter().map(String::as_str).collect();
        let others: Vec<String> =
            services.iter().map(|s| s.name.to_string()).filter(|n| !own.contains(n.as_str())).collect();
        let selectors: Vec<String> = rules
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let (names, negated) = match i == wide && others.len() <= r.services.len() {
                    true => (&others, true),
                    false => (&r.services, false),
                };
                if names.is_empty() {
                    return kind_label.clone();
                }
                let m = Matcher { name: "service".into(), values: names.clone() };
                format!("{kind_label},{}", if negated { m.render_negated() } else { m.render() })
            })
            .collect();
        for (mut r, selector) in rules.into_iter().zip(selectors) {
            r.expr = r.expr.replace(SELECTOR, &selector);
            out.push(r);
        }
    }
    out
}

fn series(s: &str, values: &str) -> InputSeries {
    InputSeries { series: s.to_string(), values: values.to_string() }
}

/// Resolve overrides: `None` when the alert is switched off.
pub fn resolve(def: &'static Builtin, service: &Service) -> Option<(f64, String, String)> {
    let mut threshold = def.threshold;
    let mut for_ = def.for_.to_string();
    let mut severity = def.severity.as_str().to_string();
    if is_off(service, def.name) {
        return None;
    }
    match service.alerts.get(def.name) {
        Some(AlertOverride::Off(_)) | None => {}
        Some(AlertOverride::Settings(s)) => {
            if let Some(t) = &s.threshold {
                threshold = threshold_value(def.unit, t)?;
            }
            if let Some(f) = &s.for_ {
                for_ = f.canonical();
            }
            if let Some(sev) = s.severity {
                severity = sev.as_str().to_string();
            }
        }
    }
    Some((threshold, for_, severity))
}

/// Whether the manifest switches a built-in alert of a service off.
pub fn is_off(s: &Service, alert: &str) -> bool {
    s.alerts.get(alert).is_some_and(AlertOverride::is_off)
}

/// A number as PromQL and people read it: no trailing zeros.
pub fn num(x: f64) -> String {
    let s = format!("{:.6}", x);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() || s == "-0" { "0".into() } else { s.to_string() }
}

pub fn threshold_text(unit: Unit, t: f64) -> String {
    match unit {
        Unit::Ratio => format!("{}%", num(t * 100.0)),
        Unit::Seconds => crate::manifest::values::format_duration((t * 1000.0).round() as u64),
        Unit::PerSecond => format!("{}/s", num(t)),
        Unit::Count => num(t),
        Unit::Days => format!("{} days", num(t)),
    }
}

/// What the text of a service's built-in alert is made of besides the alert and the kind: its
/// threshold, `for` and severity (overrides applied), its metric names and its dashboard. Two
/// services with the same inputs have the same rule text; two with different inputs may still
/// have (a metric name the alert does not read), which `Concrete::same_rule` finds.
#[derive(PartialEq)]
struct Inputs<'a> {
    threshold: f64,
    for_: String,
    severity: String,
    names: &'a crate::ir::frameworks::MetricNames,
    board: Option<String>,
}

/// The inputs of a built-in alert for one service, overrides applied; `None` when the alert is
/// off for the service or the service has none of its series (no TLS domain, not scraped, ...).
fn admit<'a>(def: &'static Builtin, s: &'a Service, boards: &ServiceBoards) -> Option<Inputs<'a>> {
    if def.name == "TlsCertificateExpiring" && s.tls_domain.is_none() {
        return None;
    }
    if def.name == "HealthCheckFailed" && health_path(s).is_none() {
        return None;
    }
    // The process metrics come with a runtime's library (`ir::runtimes`).
    if def.name == "FileDescriptorsNearLimit" && s.runtime.is_none() {
        return None;
    }
    // A service Prometheus does not scrape (`metrics: false`) has none of its own series:
    // only the probes of its certificate and health can alert.
    if !s.scraped() && !matches!(def.name, "TlsCertificateExpiring" | "HealthCheckFailed") {
        return None;
    }
    if def.name == "HighLatency" && s.metric_names.duration_scale().is_none() {
        return None;
    }
    // Grouped status codes (`4xx`) cannot tell a 401 from a 404 (refused by the checks when
    // asked for explicitly).
    if matches!(def.name, "AuthFailures" | "RateLimited") && s.metric_names.status_codes == StatusCodes::Grouped {
        return None;
    }
    let (threshold, for_, severity) = resolve(def, s)?;
    let board = boards.of(s.name.as_str()).map(|b| b.name.clone());
    Some(Inputs { threshold, for_, severity, names: &s.metric_names, board })
}

fn concrete(def: &'static Builtin, s: &Service, t: f64, for_: String, severity: String) -> Concrete {
    // The series of the tests are `s`'s; the rule's text names no service.
    let name = s.name.as_str();
    let kind = s.kind.as_str();
    let sel = SELECTOR;
    let who = SERVICE_LABEL;
    let m = &s.metric_names;
    let (r, st) = (m.requests.as_str(), m.status_label.as_str());
    let (e5, ok) = (m.status_value(500), m.status_value(200));
    let tt = threshold_text(def.unit, t);
    let svc = |metric: &str, extra: &str| {
        format!(
            "{metric}{{job=\"{name}\",instance=\"{name}:{}\",service_kind=\"{kind}\",service=\"{name}\"{extra}}}",
            s.metrics_port
        )
    };
    let exp = |metric: &str, extra: &str| {
        let exporter = crate::ir::exporter_name(&s.name);
        format!("{metric}{{job=\"{name}\",instance=\"{exporter}\",service_kind=\"{kind}\",service=\"{name}\"{extra}}}")
    };
    let mut kept = Vec::new();
    let (expr, summary, description, firing, silent): (String, String, String, Vec<InputSeries>, Vec<InputSeries>) =
        match def.name {
            "TargetDown" => (
                format!("min by (service) (up{{{sel},probe=\"\"}}) == 0"),
                format!("{who} is down"),
                format!("Prometheus cannot scrape {who}: the service or its metrics endpoint is not answering."),
                vec![series(&svc("up", ""), "0x60")],
                vec![series(&svc("up", ""), "1x60")],
            ),
            "HighErrorRate" => (
                format!(
                    "sum by (service) (rate({r}{{{sel},{st}=~\"5..\"}}[5m])) / sum by (service) (rate({r}{{{sel}}}[5m])) > {}",
                    num(t)
                ),
                format!("{who}: more than {tt} of responses are errors"),
                format!("More than {tt} of {who}'s responses were 5xx over 5 minutes."),
                ratio_series(&svc(r, &format!(",{st}=\"{e5}\"")), &svc(r, &format!(",{st}=\"{ok}\"")), above(t)),
                ratio_series(&svc(r, &format!(",{st}=\"{e5}\"")), &svc(r, &format!(",{st}=\"{ok}\"")), t / 2.0),
            ),
            "HighLatency" => {
                let scale = m.duration_scale().unwrap_or(1.0);
                let d = m.duration.as_str();
                let limit = t * scale;
                (
                    format!(
                        "histogram_quantile(0.95, sum by (service, le) (rate({d}_bucket{{{sel}}}[5m]))) > {}",
                        num(limit)
                    ),
                    format!("{who}: p95 latency above {tt}"),
                    format!("The 95th percentile of {who}'s request duration has been above {tt} for {for_}."),
                    latency_series(&svc(&format!("{d}_bucket"), ""), limit, true),
                    latency_series(&svc(&format!("{d}_bucket"), ""), limit, false),
                )
            }
            "AuthFailures" | "RateLimited" => {
                let (codes, what) = if def.name == "AuthFailures" { ("401|403", "401/403") } else { ("429", "429") };
                let code = codes.split('|').next().unwrap_or(codes);
                (
                    format!("sum by (service) (rate({r}{{{sel},{st}=~\"{codes}\"}}[5m])) > {}", num(t)),
                    format!("{who}: more than {tt} {what} responses"),
                    format!("{who} has answered more than {tt} requests with {what} for {for_}."),
                    vec![series(
                        &svc(r, &format!(",{st}=\"{code}\"")),
                        &format!("0+{}x60", num((t * 60.0 * 2.0).max(120.0))),
                    )],
                    vec![series(&svc(r, &format!(",{st}=\"{code}\"")), &format!("0+{}x60", num(t * 60.0 / 4.0)))],
                )
            }
            "FileDescriptorsNearLimit" => (
                format!("max by (service) (process_open_fds{{{sel}}} / process_max_fds{{{sel}}}) > {}", num(t)),
                format!("{who}: more than {tt} of its file descriptors open"),
                format!(
                    "{who} has had more than {tt} of its file descriptors open for {for_}; at the limit it can accept no connection and open no file."
                ),
                share_series(&svc("process_open_fds", ""), &svc("process_max_fds", ""), above(t)),
                share_series(&svc("process_open_fds", ""), &svc("process_max_fds", ""), t / 2.0),
            ),
            "PostgresDown" | "RedisDown" | "MemcachedDown" | "NginxDown" => {
                let metric = crate::ir::catalog::service_up_metric(s.kind).unwrap_or("up");
                // Only the service's own state: when the exporter cannot be scraped, `{metric}`
                // goes stale and ExporterDown says so, without muting the service's alerts.
                (
                    format!("min by (service) ({metric}{{{sel}}}) == 0"),
                    format!("{who} is down"),
                    format!("The exporter of {who} answers but cannot reach {who} ({metric} is 0)."),
                    vec![series(&exp(metric, ""), "0x60")],
                    vec![series(&exp(metric, ""), "1x60")],
                )
            }
            "ExporterDown" => (
                // `up` of the exporter's job only: a TLS probe of the same service has its own.
                format!("min by (service) (up{{{sel},probe=\"\"}}) == 0"),
                format!("The exporter of {who} is down"),
                format!(
                    "Prometheus cannot scrape the exporter of {who}; {who} may be fine, but its metric alerts cannot fire until the exporter is back."
                ),
                vec![series(&exp("up", ""), "0x60")],
                vec![series(&exp("up", ""), "1x60")],
            ),
            "HealthCheckFailed" => {
                let path = health_path(s).unwrap_or("/");
                // The path as a PromQL string value (a `"` or `\\` in it escaped).
                let instance = format!("http://{}:{}{path}", s.host, s.port).replace('\\', "\\\\").replace('"', "\\\"");
                let probe = format!(
                    "probe_success{{job=\"{name}-health\",instance=\"{instance}\",service_kind=\"{kind}\",probe=\"health\",service=\"{name}\"}}"
                );
                kept.push(("instance".to_string(), format!("http://{}:{}{path}", s.host, s.port)));
                (
                    format!("min by (service, instance) (probe_success{{{sel},probe=\"health\"}}) == 0"),
                    format!("{who} fails its health check"),
                    format!("The probe of {{{{ $labels.instance }}}} has failed for {for_}: it does not answer 2xx."),
                    vec![series(&probe, "0x60")],
                    vec![series(&probe, "1x60")],
                )
            }
            "PostgresTooManyConnections" => (
                format!(
                    "sum by (service) (pg_stat_activity_count{{{sel}}}) > on (service) {} * sum by (service) (pg_settings_max_connections{{{sel}}})",
                    num(t)
                ),
                format!("{who}: connections above {tt} of max_connections"),
                format!("{who} uses more than {tt} of its max_connections; new connections will soon be refused."),
                share_series(
                    &exp("pg_stat_activity_count", ",datname=\"app\",state=\"active\""),
                    &exp("pg_settings_max_connections", ""),
                    above(t),
                ),
                share_series(
                    &exp("pg_stat_activity_count", ",datname=\"app\",state=\"active\""),
                    &exp("pg_settings_max_connections", ""),
                    t / 2.0,
                ),
            ),
            "PostgresLowCacheHitRatio" => (
                format!(
                    "sum by (service) (rate(pg_stat_database_blks_hit{{{sel}}}[5m])) / (sum by (service) (rate(pg_stat_database_blks_hit{{{sel}}}[5m])) + sum by (service) (rate(pg_stat_database_blks_read{{{sel}}}[5m]))) < {}",
                    num(t)
                ),
                format!("{who}: cache hit ratio below {tt}"),
                format!("Fewer than {tt} of {who}'s block reads are served from shared buffers; queries go to disk."),
                // The hit counter's share of all block reads: half the threshold, then above it.
                ratio_series(
                    &exp("pg_stat_database_blks_hit", ",datname=\"app\""),
                    &exp("pg_stat_database_blks_read", ",datname=\"app\""),
                    t / 2.0,
                ),
                ratio_series(
                    &exp("pg_stat_database_blks_hit", ",datname=\"app\""),
                    &exp("pg_stat_database_blks_read", ",datname=\"app\""),
                    above(t),
                ),
            ),
            "PostgresDeadlocks" => (
                format!("sum by (service) (rate(pg_stat_database_deadlocks{{{sel}}}[5m])) * 60 > {}", num(t)),
                format!("{who}: more than {tt} deadlocks per minute"),
                format!("{who} is resolving more than {tt} deadlocks per minute."),
                vec![series(
                    &exp("pg_stat_database_deadlocks", ",datname=\"app\""),
                    &format!("0+{}x60", num(t * 2.0 + 2.0)),
                )],
                vec![series(&exp("pg_stat_database_deadlocks", ",datname=\"app\""), "0+0x60")],
            ),
            "PostgresLongTransactions" => (
                format!("max by (service) (pg_stat_activity_max_tx_duration{{{sel}}}) > {}", num(t)),
                format!("{who}: a transaction has been open longer than {tt}"),
                format!("A transaction on {who} has been open for more than {tt}; it holds locks and blocks vacuum."),
                vec![series(
                    &exp("pg_stat_activity_max_tx_duration", ",datname=\"app\",state=\"active\""),
                    &format!("{}x60", num(t * 2.0)),
                )],
                vec![series(
                    &exp("pg_stat_activity_max_tx_duration", ",datname=\"app\",state=\"active\""),
                    &format!("{}x60", num(t / 4.0)),
                )],
            ),
            "RedisMemoryHigh" => (
                format!(
                    "sum by (service) (redis_memory_used_bytes{{{sel}}}) / sum by (service) (redis_memory_max_bytes{{{sel}}}) > {} and on (service) sum by (service) (redis_memory_max_bytes{{{sel}}}) > 0",
                    num(t)
                ),
                format!("{who}: memory above {tt} of maxmemory"),
                format!("{who} uses more than {tt} of its maxmemory; it will start evicting or refusing writes."),
                share_series(&exp("redis_memory_used_bytes", ""), &exp("redis_memory_max_bytes", ""), above(t)),
                share_series(&exp("redis_memory_used_bytes", ""), &exp("redis_memory_max_bytes", ""), t / 2.0),
            ),
            "RedisEvictions" | "RedisRejectedConnections" => {
                let (metric, what) = if def.name == "RedisEvictions" {
                    ("redis_evicted_keys_total", "evicted keys")
                } else {
                    ("redis_rejected_connections_total", "rejected connections")
                };
                (
                    format!("sum by (service) (increase({metric}{{{sel}}}[5m])) > {}", num(t)),
                    format!("{who}: {what}"),
                    format!("{who} has {what} in the last 5 minutes (more than {tt})."),
                    vec![series(&exp(metric, ""), &format!("0+{}x60", num(t + 10.0)))],
                    vec![series(&exp(metric, ""), "0+0x60")],
                )
            }
            "MemcachedConnectionLimitApproaching" => (
                format!(
                    "sum by (service) (memcached_current_connections{{{sel}}}) / sum by (service) (memcached_max_connections{{{sel}}}) > {}",
                    num(t)
                ),
                format!("{who}: connections above {tt} of its limit"),
                format!(
                    "{who} has had more than {tt} of its connection limit (-c) open for {for_}; at the limit it refuses new clients."
                ),
                share_series(
                    &exp("memcached_current_connections", ""),
                    &exp("memcached_max_connections", ""),
                    above(t),
                ),
                share_series(&exp("memcached_current_connections", ""), &exp("memcached_max_connections", ""), t / 2.0),
            ),
            "MemcachedOutOfMemoryErrors" => (
                format!("sum by (service) (rate(memcached_slab_items_outofmemory_total{{{sel}}}[5m])) > {}", num(t)),
                format!("{who}: stores refused for lack of memory"),
                format!(
                    "{who} has refused stores for lack of memory (more than {tt}) for {for_}; its memory limit (-m) is too small for what it is asked to keep."
                ),
                vec![series(
                    &exp("memcached_slab_items_outofmemory_total", ",slab=\"1\""),
                    &format!("0+{}x60", num((t * 60.0 * 2.0).max(10.0))),
                )],
                vec![series(&exp("memcached_slab_items_outofmemory_total", ",slab=\"1\""), "0+0x60")],
            ),
            "TlsCertificateExpiring" => {
                let instance = format!("https://{}", s.tls_domain.as_deref().unwrap_or(name));
                let probe = format!(
                    "probe_ssl_earliest_cert_expiry{{job=\"{name}-tls\",instance=\"{instance}\",service_kind=\"{kind}\",probe=\"tls\",service=\"{name}\"}}"
                );
                kept.push(("instance".to_string(), instance));
                // The expiry is a timestamp; the tests evaluate at `for` + 10m, where `time()` is that.
                let eval = crate::manifest::values::Duration::parse(&for_).map_or(0, |d| d.millis() / 1000) + 600;
                let at = |days: f64| num(eval as f64 + days * 86_400.0);
                (
                    format!(
                        "min by (service, instance) (probe_ssl_earliest_cert_expiry{{{sel},probe=\"tls\"}} - time()) / 86400 < {}",
                        num(t)
                    ),
                    format!("{who}: TLS certificate expires within {tt}"),
                    format!("The certificate of {{{{ $labels.instance }}}} expires in less than {tt}; renew it."),
                    vec![series(&probe, &format!("{}x60", at(t / 2.0)))],
                    vec![series(&probe, &format!("{}x60", at(t * 2.0 + 1.0)))],
                )
            }
            other => unreachable!("no expression for built-in alert {other}"),
        };
    Concrete {
        def,
        services: vec![name.to_string()],
        board: None,
        expr,
        for_,
        severity,
        threshold_text: tt,
        summary,
        description: format!("{description} Threshold: {} ({}).", threshold_text(def.unit, t), def.source),
        kept,
        firing,
        silent,
    }
}

/// The path the blackbox probe of a service's health checks: `ready`, else `live`.
pub fn health_path(s: &Service) -> Option<&str> {
    if s.kind != crate::manifest::model::Kind::Http {
        return None;
    }
    s.health.as_ref().and_then(|h| h.ready.as_deref().or(h.live.as_deref()))
}

/// Halfway between a ratio threshold and 1: safely above it.
fn above(t: f64) -> f64 {
    t + (1.0 - t) / 2.0
}

/// A gauge and its limit, the gauge at `share` of it (of 1000).
fn share_series(used: &str, limit: &str, share: f64) -> Vec<InputSeries> {
    vec![series(used, &format!("{}x60", num(1000.0 * share))), series(limit, "1000x60")]
}

/// Two counters, the first with `share` of their sum (100 events a minute in all).
fn ratio_series(first: &str, second: &str, share: f64) -> Vec<InputSeries> {
    vec![
        series(first, &format!("0+{}x60", num(100.0 * share))),
        series(second, &format!("0+{}x60", num(100.0 * (1.0 - share)))),
    ]
}

/// Histogram buckets whose p95 lies well above (`slow`) or well below the limit.
fn latency_series(bucket: &str, limit: f64, slow: bool) -> Vec<InputSeries> {
    let low = limit / 2.0;
    let high = limit * 2.0;
    let with_le = |le: &str| bucket.replacen('}', &format!(",le=\"{le}\"}}"), 1);
    let (in_low, in_high) = if slow { (0.0, 100.0) } else { (100.0, 100.0) };
    vec![
        series(&with_le(&num(low)), &format!("0+{}x60", num(in_low))),
        series(&with_le(&num(high)), &format!("0+{}x60", num(in_high))),
        series(&with_le("+Inf"), "0+100x60"),
    ]
}

/// The host alerts, with node-exporter.
pub fn host_alerts(stack: &Stack) -> Vec<Concrete> {
    let _ = stack;
    let fs = "fstype!~\"tmpfs|overlay|squashfs|ramfs|nsfs\"";
    let inst = format!(
        "instance=\"{}:{}\"",
        crate::targets::paths::NODE_EXPORTER_ADDR.0,
        crate::targets::paths::NODE_EXPORTER_ADDR.1
    );
    let fs_labels = format!("job=\"node\",{inst},device=\"/dev/vda1\",fstype=\"ext4\",mountpoint=\"/\"");
    let fs_kept: Vec<(String, String)> = vec![
        ("device".into(), "/dev/vda1".into()),
        ("fstype".into(), "ext4".into()),
        (
            "instance".into(),
            format!("{}:{}", crate::targets::paths::NODE_EXPORTER_ADDR.0, crate::targets::paths::NODE_EXPORTER_ADDR.1),
        ),
        ("job".into(), "node".into()),
        ("mountpoint".into(), "/".into()),
    ];
    let inst_only: Vec<(String, String)> = fs_kept.iter().filter(|(k, _)| k == "instance").cloned().collect();
    let mut out = Vec::new();
    for def in crate::ir::catalog::HOST {
        let t = def.threshold;
        let tt = threshold_text(def.unit, t);
        let (expr, summary, description, kept, firing, silent) = match def.name {
            "HostDown" => (
                "min by (instance) (up{job=\"node\"}) == 0".to_string(),
                "The host is down".to_string(),
                "Prometheus cannot scrape node-exporter: the host or the exporter is down.".to_string(),
                inst_only.clone(),
                vec![series(&format!("up{{job=\"node\",{inst}}}"), "0x60")],
                vec![series(&format!("up{{job=\"node\",{inst}}}"), "1x60")],
            ),
            "HostDiskSpaceLow" => (
                format!(
                    "node_filesystem_avail_bytes{{{fs}}} / node_filesystem_size_bytes{{{fs}}} < {} and on (instance, device, mountpoint) node_filesystem_readonly{{{fs}}} == 0",
                    num(t)
                ),
                format!("Less than {tt} disk space left"),
                format!("A filesystem of the host has less than {tt} free."),
                fs_kept.clone(),
                disk_series(&fs_labels, "50x60", "1000x60"),
                disk_series(&fs_labels, "500x60", "1000x60"),
            ),
            "HostDiskWillFillIn24h" => (
                format!(
                    "node_filesystem_avail_bytes{{{fs}}} / node_filesystem_size_bytes{{{fs}}} < {} and on (instance, device, mountpoint) predict_linear(node_filesystem_avail_bytes{{{fs}}}[6h], 86400) < 0 and on (instance, device, mountpoint) node_filesystem_readonly{{{fs}}} == 0",
                    num(t)
                ),
                "Disk predicted to fill within 24h".to_string(),
                format!(
                    "A filesystem has less than {tt} free and, at the rate of the last 6 hours, fills within 24 hours."
                ),
                fs_kept.clone(),
                disk_series(&fs_labels, "95-1x60", "1000x60"),
                disk_series(&fs_labels, "95x60", "1000x60"),
            ),
            "HostMemoryHigh" => (
                format!("1 - (node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes) > {}", num(t)),
                format!("Memory use above {tt}"),
                format!("More than {tt} of the host's memory is in use."),
                vec![("instance".into(), inst_only[0].1.clone()), ("job".into(), "node".into())],
                vec![
                    series(&format!("node_memory_MemAvailable_bytes{{job=\"node\",{inst}}}"), "50x60"),
                    series(&format!("node_memory_MemTotal_bytes{{job=\"node\",{inst}}}"), "1000x60"),
                ],
                vec![
                    series(&format!("node_memory_MemAvailable_bytes{{job=\"node\",{inst}}}"), "500x60"),
                    series(&format!("node_memory_MemTotal_bytes{{job=\"node\",{inst}}}"), "1000x60"),
                ],
            ),
            "HostCpuHigh" => (
                format!("1 - avg by (instance) (rate(node_cpu_seconds_total{{mode=\"idle\"}}[5m])) > {}", num(t)),
                format!("CPU use above {tt}"),
                format!("The host's CPUs have been more than {tt} busy for {}.", def.for_),
                inst_only.clone(),
                vec![series(
                    &format!("node_cpu_seconds_total{{job=\"node\",{inst},cpu=\"0\",mode=\"idle\"}}"),
                    "0+3x60",
                )],
                vec![series(
                    &format!("node_cpu_seconds_total{{job=\"node\",{inst},cpu=\"0\",mode=\"idle\"}}"),
                    "0+60x60",
                )],
            ),
            other => unreachable!("no expression for host alert {other}"),
        };
        out.push(Concrete {
            def,
            services: Vec::new(),
            board: None,
            expr,
            for_: def.for_.to_string(),
            severity: def.severity.as_str().to_string(),
            threshold_text: tt.clone(),
            summary,
            description: format!("{description} Threshold: {tt} ({}).", def.source),
            kept,
            firing,
            silent,
        });
    }
    out
}

fn disk_series(labels: &str, avail: &str, size: &str) -> Vec<InputSeries> {
    vec![
        series(&format!("node_filesystem_avail_bytes{{{labels}}}"), avail),
        series(&format!("node_filesystem_size_bytes{{{labels}}}"), size),
        series(&format!("node_filesystem_readonly{{{labels}}}"), "0x60"),
    ]
}

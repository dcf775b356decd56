//! `kind: memcached`: memcached, read through memcached_exporter.

use super::alert::*;
use super::{Catalogue, Exporter, KindDef, Run, common};
use crate::ir::Service;
use crate::ir::defaults;
use crate::manifest::model::LogFormat;
use crate::manifest::model::Severity::{Critical, Warning};
use crate::targets::grafana::panels::*;

pub const DEF: KindDef = KindDef {
    fields: &["port", "host", "kubernetes"],
    requires: &["port"],
    exporter: Some(EXPORTER),
    catalogue: Some(CATALOGUE),
    alerts: ALERTS,
    rule,
    log_rule: common::error_log_spike,
    exposed: |_| CATALOGUE.exposed(false),
    log_format: |_| LogFormat::Plain,
    metrics_port: None,
    front_door: false,
    panels,
    connections: Some("memcached_current_connections"),
    // Its data lives in memory only: no volume. The official image carries no client to ask it
    // with (docker-library's `1/debian/Dockerfile` purges its build tools, wget among them,
    // and keeps memcached and its libraries): no healthcheck.
    app: |_| Run::default(),
    jobs: super::no_jobs,
    job_suffixes: &[],
    backup: None,
    overview: common::no_panels,
    security: common::no_panels,
    performance: |_| {
        vec![spec(
            Viz::TimeSeries,
            "Memcached hit ratio",
            "percentunit",
            "Memcached gets that found their key, over all gets.",
            vec![q(
                format!(
                    "sum by (service) (rate(memcached_commands_total{{command=\"get\",status=\"hit\"}}[{RATE}])) / sum by (service) (rate(memcached_commands_total{{command=\"get\"}}[{RATE}]))"
                ),
                "{{service}}",
            )],
        )]
    },
    refused_env: None,
    login: None,
    basic_login: false,
    own_env: super::no_own_env,
    own_env_why: super::NO_OWN_ENV,
    lacks: super::lacks_nothing,
};

/// Its exporter, as the compose file runs it.
const EXPORTER: Exporter = Exporter {
    image: &defaults::MEMCACHED_EXPORTER,
    port: 9150,
    up_metric: "memcached_up",
    up_expr: None,
    down_alert: "MemcachedDown",
    // Its landing page, which does not ask memcached (v0.14.4's cmd/memcached_exporter/main.go).
    health_path: "/",
    run: |s| Run { command: vec![format!("--memcached.address={}:{}", s.host, s.port)], ..Default::default() },
    program_alone: None,
};

/// memcached_exporter v0.14.4, `pkg/exporter/exporter.go`: `command` and `status` on the
/// commands, `slab` on the slab counters.
const CATALOGUE: Catalogue = Catalogue {
    program: "memcached_exporter",
    prefix: "memcached_",
    metrics: METRICS,
    optional: &[],
    labels: &[
        ("memcached_commands_total", &["command", "status"]),
        ("memcached_slab_items_outofmemory_total", &["slab"]),
    ],
};

/// memcached_exporter v0.14.4 (`pkg/exporter/exporter.go`), read live by the rehearsal.
const METRICS: &[&str] = &[
    "memcached_up",
    "memcached_current_connections",
    "memcached_max_connections",
    "memcached_connections_rejected_total",
    "memcached_commands_total",
    "memcached_current_bytes",
    "memcached_limit_bytes",
    "memcached_current_items",
    "memcached_items_evicted_total",
    "memcached_slab_items_outofmemory_total",
];

/// From grafana/jsonnet-libs memcached-mixin (alerts.libsonnet), over memcached_exporter's
/// series (v0.14.4, pkg/exporter/exporter.go). The mixin's second, critical
/// MemcachedConnectionLimitApproaching (above 95%) is not a rule of its own: one alert name
/// has one severity here; an override raises the threshold or the severity.
#[rustfmt::skip]
const ALERTS: &[Builtin] = &[
    state(b("MemcachedDown", "operational", Critical, "15m", 0.0, Unit::Count, "memcached_up == 0 for 15m: memcached-mixin MemcachedDown (the exporter answers, memcached does not)")),
    common::EXPORTER_DOWN,
    b("MemcachedConnectionLimitApproaching", "performance", Warning, "15m", 0.8, Unit::Ratio, "connections above 80% of the connection limit (-c) for 15m: memcached-mixin MemcachedConnectionLimitApproaching"),
    b("MemcachedOutOfMemoryErrors", "operational", Warning, "15m", 0.0, Unit::PerSecond, "any store refused for lack of memory over 5m, for 15m: memcached-mixin MemcachedOutOfMemoryErrors (memcached run with -M refuses instead of evicting)"),
    common::ERROR_LOG_SPIKE,
];

fn rule(r: &ServiceAlert) -> AlertText {
    let (sel, who, tt, t, for_) = (SELECTOR, WHO, r.tt.as_str(), r.t, r.for_);
    match r.def.name {
        "MemcachedDown" => common::down(r, EXPORTER.up_metric),
        "ExporterDown" => common::exporter_down(r),
        "MemcachedConnectionLimitApproaching" => AlertText::new(
            format!(
                "sum by (service) (memcached_current_connections{{{sel}}}) / sum by (service) (memcached_max_connections{{{sel}}}) > {}",
                num(t)
            ),
            format!("{who}: connections above {tt} of its limit"),
            format!(
                "{who} has had more than {tt} of its connection limit (-c) open for {for_}; at the limit it refuses new clients."
            ),
            share_series(
                &r.exp("memcached_current_connections", ""),
                &r.exp("memcached_max_connections", ""),
                above(t),
            ),
            share_series(&r.exp("memcached_current_connections", ""), &r.exp("memcached_max_connections", ""), t / 2.0),
        ),
        "MemcachedOutOfMemoryErrors" => AlertText::new(
            format!("sum by (service) (rate(memcached_slab_items_outofmemory_total{{{sel}}}[5m])) > {}", num(t)),
            format!("{who}: stores refused for lack of memory"),
            format!(
                "{who} has refused stores for lack of memory (more than {tt}) for {for_}; its memory limit (-m) is too small for what it is asked to keep."
            ),
            vec![series(
                &r.exp("memcached_slab_items_outofmemory_total", ",slab=\"1\""),
                &format!("0+{}x60", num((t * 60.0 * 2.0).max(10.0))),
            )],
            vec![series(&r.exp("memcached_slab_items_outofmemory_total", ",slab=\"1\""), "0+0x60")],
        ),
        other => unreachable!("no expression for built-in alert {other}"),
    }
}

/// Its dashboard's panels, for the service the dashboard's `service` variable chooses
/// (`targets::grafana::panels` is the kit; the logs panel follows them).
#[rustfmt::skip]
fn panels(_: &Service) -> Vec<Spec> {
    let (n, sl) = (SERVICE, CHOSEN);
    vec![
        spec(Viz::Stat, "Up", "short", "memcached_up from the exporter.", vec![q(format!("min(memcached_up{{{sl}}})"), n)]),
        spec(Viz::TimeSeries, "Commands", "ops", "Commands per second, by command.", vec![q(format!("sum by (command) (rate(memcached_commands_total{{{sl}}}[{RATE}]))"), "{{command}}")]),
        spec(Viz::TimeSeries, "Hit rate", "percentunit", "Gets that found their key, over all gets.", vec![q(format!("sum(rate(memcached_commands_total{{{sl},command=\"get\",status=\"hit\"}}[{RATE}])) / sum(rate(memcached_commands_total{{{sl},command=\"get\"}}[{RATE}]))"), "hit rate")]),
        spec(Viz::TimeSeries, "Memory", "bytes", "Bytes stored and the memory limit (-m).", vec![q(format!("sum(memcached_current_bytes{{{sl}}})"), "used"), q(format!("sum(memcached_limit_bytes{{{sl}}})"), "limit")]),
        spec(Viz::TimeSeries, "Connections", "short", "Open connections and the connection limit (-c).", vec![q(format!("sum(memcached_current_connections{{{sl}}})"), "open"), q(format!("sum(memcached_max_connections{{{sl}}})"), "limit")]),
        spec(Viz::TimeSeries, "Evictions and refused stores", "short", "Items evicted, and stores refused for lack of memory, per second.", vec![q(format!("sum(rate(memcached_items_evicted_total{{{sl}}}[{RATE}]))"), "evictions/s"), q(format!("sum(rate(memcached_slab_items_outofmemory_total{{{sl}}}[{RATE}]))"), "out of memory/s")]),
    ]
}

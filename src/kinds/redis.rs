//! `kind: redis`: Redis, read through redis_exporter.

use super::alert::*;
use super::{Catalogue, Exporter, KindDef, Run, Var, common};
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
    connections: Some("redis_connected_clients"),
    app: |_| Run {
        // The official image keeps its data (RDB snapshots, the AOF) in /data: a named volume
        // keeps it across `down` and `up`.
        data: Some("/data"),
        healthcheck: Some(["CMD", "redis-cli", "ping"].map(String::from).to_vec()),
        ..Default::default()
    },
    jobs: super::no_jobs,
    job_suffixes: &[],
    backup: None,
    overview: common::no_panels,
    security: common::no_panels,
    performance: |_| {
        vec![spec(
            Viz::TimeSeries,
            "Cache hit ratio",
            "percentunit",
            "Redis keyspace hits over lookups.",
            vec![q(
                format!(
                    "sum by (service) (rate(redis_keyspace_hits_total[{RATE}])) / (sum by (service) (rate(redis_keyspace_hits_total[{RATE}])) + sum by (service) (rate(redis_keyspace_misses_total[{RATE}])))"
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
    image: &defaults::REDIS_EXPORTER,
    port: 9121,
    up_metric: "redis_up",
    up_expr: None,
    down_alert: "RedisDown",
    // Answered without touching Redis.
    health_path: "/health",
    run: |s| Run {
        env: vec![("REDIS_ADDR", Var::Value(format!("redis://{}:{}", s.host, s.port)))],
        ..Default::default()
    },
    program_alone: None,
};

/// redis_exporter's INFO metrics.
const CATALOGUE: Catalogue =
    Catalogue { program: "redis_exporter", prefix: "redis_", metrics: METRICS, optional: &[], labels: &[] };

const METRICS: &[&str] = &[
    "redis_up",
    "redis_commands_processed_total",
    "redis_keyspace_hits_total",
    "redis_keyspace_misses_total",
    "redis_memory_used_bytes",
    "redis_memory_max_bytes",
    "redis_evicted_keys_total",
    "redis_connected_clients",
    "redis_rejected_connections_total",
];

#[rustfmt::skip]
const ALERTS: &[Builtin] = &[
    state(b("RedisDown", "operational", Critical, "1m", 0.0, Unit::Count, "redis_up == 0: APA RedisDown (the exporter answers, Redis does not)")),
    common::EXPORTER_DOWN,
    b("RedisMemoryHigh", "performance", Warning, "5m", 0.9, Unit::Ratio, "memory above 90% of maxmemory: APA RedisOutOfConfiguredMaxmemory"),
    b("RedisEvictions", "performance", Warning, "5m", 0.0, Unit::Count, "any key evicted in 5m: APA RedisEvictedKeys (evictions mean the cache is too small)"),
    b("RedisRejectedConnections", "operational", Critical, "0m", 0.0, Unit::Count, "any connection rejected in 1m: APA RedisRejectedConnections"),
    common::ERROR_LOG_SPIKE,
];

fn rule(r: &ServiceAlert) -> AlertText {
    let (sel, who, tt, t) = (SELECTOR, WHO, r.tt.as_str(), r.t);
    match r.def.name {
        "RedisDown" => common::down(r, EXPORTER.up_metric),
        "ExporterDown" => common::exporter_down(r),
        "RedisMemoryHigh" => AlertText::new(
            format!(
                "sum by (service) (redis_memory_used_bytes{{{sel}}}) / sum by (service) (redis_memory_max_bytes{{{sel}}}) > {} and on (service) sum by (service) (redis_memory_max_bytes{{{sel}}}) > 0",
                num(t)
            ),
            format!("{who}: memory above {tt} of maxmemory"),
            format!("{who} uses more than {tt} of its maxmemory; it will start evicting or refusing writes."),
            share_series(&r.exp("redis_memory_used_bytes", ""), &r.exp("redis_memory_max_bytes", ""), above(t)),
            share_series(&r.exp("redis_memory_used_bytes", ""), &r.exp("redis_memory_max_bytes", ""), t / 2.0),
        ),
        "RedisEvictions" | "RedisRejectedConnections" => {
            let (metric, what) = if r.def.name == "RedisEvictions" {
                ("redis_evicted_keys_total", "evicted keys")
            } else {
                ("redis_rejected_connections_total", "rejected connections")
            };
            AlertText::new(
                format!("sum by (service) (increase({metric}{{{sel}}}[5m])) > {}", num(t)),
                format!("{who}: {what}"),
                format!("{who} has {what} in the last 5 minutes (more than {tt})."),
                vec![series(&r.exp(metric, ""), &format!("0+{}x60", num(t + 10.0)))],
                vec![series(&r.exp(metric, ""), "0+0x60")],
            )
        }
        other => unreachable!("no expression for built-in alert {other}"),
    }
}

/// Its dashboard's panels, for the service the dashboard's `service` variable chooses
/// (`targets::grafana::panels` is the kit; the logs panel follows them).
#[rustfmt::skip]
fn panels(_: &Service) -> Vec<Spec> {
    let (n, sl) = (SERVICE, CHOSEN);
    vec![
        spec(Viz::Stat, "Up", "short", "redis_up from the exporter.", vec![q(format!("min(redis_up{{{sl}}})"), n)]),
        spec(Viz::TimeSeries, "Operations", "ops", "Commands processed per second.", vec![q(format!("sum(rate(redis_commands_processed_total{{{sl}}}[{RATE}]))"), "ops")]),
        spec(Viz::TimeSeries, "Hit rate", "percentunit", "Keyspace hits over lookups.", vec![q(format!("sum(rate(redis_keyspace_hits_total{{{sl}}}[{RATE}])) / (sum(rate(redis_keyspace_hits_total{{{sl}}}[{RATE}])) + sum(rate(redis_keyspace_misses_total{{{sl}}}[{RATE}])))"), "hit rate")]),
        spec(Viz::TimeSeries, "Memory", "bytes", "Used memory and the configured maximum.", vec![q(format!("sum(redis_memory_used_bytes{{{sl}}})"), "used"), q(format!("sum(redis_memory_max_bytes{{{sl}}})"), "max")]),
        spec(Viz::TimeSeries, "Evictions and clients", "short", "Keys evicted per second, and connected clients.", vec![q(format!("sum(rate(redis_evicted_keys_total{{{sl}}}[{RATE}]))"), "evictions/s"), q(format!("sum(redis_connected_clients{{{sl}}})"), "clients")]),
    ]
}

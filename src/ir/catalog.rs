//! What each kind of service brings: its exporter and its built-in alerts.
//!
//! The alerts are facts here (name, category, default severity, `for`, threshold and where the
//! threshold comes from); `targets/rules` turns them into PromQL. Checks read this table to
//! validate `alerts:` overrides, and `docs/alerts.md` is generated from it.

use super::defaults::{self, ComponentDefault};
use crate::manifest::model::{Kind, Severity, Threshold};

/// What a threshold measures, and so which manifest value type overrides it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// A fraction, written as a percent (`5%`).
    Ratio,
    /// A duration (`1s`), compared in the metric's own unit.
    Seconds,
    /// Events per second, a plain number.
    PerSecond,
    /// A count of events within the alert's window, a plain number.
    Count,
    /// Days, written as a duration (`14d`).
    Days,
}

impl Unit {
    /// How to write an override, for help lines.
    pub fn example(self) -> &'static str {
        match self {
            Unit::Ratio => "a percent, e.g. `5%`",
            Unit::Seconds => "a duration, e.g. `1s`",
            Unit::PerSecond => "a number of events per second, e.g. `2`",
            Unit::Count => "a number, e.g. `3`",
            Unit::Days => "a duration in days, e.g. `14d`",
        }
    }
}

/// A built-in alert.
#[derive(Clone, Copy, Debug)]
pub struct Builtin {
    pub name: &'static str,
    pub category: &'static str,
    pub severity: Severity,
    /// How long the condition must hold.
    pub for_: &'static str,
    /// The default threshold, in `unit` (ratios as fractions, seconds, per second, days).
    pub threshold: f64,
    pub unit: Unit,
    /// Where the threshold comes from.
    pub source: &'static str,
    /// Evaluated by Loki's ruler on the service's logs rather than by Prometheus.
    pub logs: bool,
}

const APA: &str = "awesome-prometheus-alerts (samber/awesome-prometheus-alerts)";

const fn b(
    name: &'static str,
    category: &'static str,
    severity: Severity,
    for_: &'static str,
    threshold: f64,
    unit: Unit,
    source: &'static str,
) -> Builtin {
    Builtin { name, category, severity, for_, threshold, unit, source, logs: false }
}

/// A log-based alert (LogQL, evaluated by Loki's ruler).
const fn log(
    name: &'static str,
    category: &'static str,
    severity: Severity,
    for_: &'static str,
    threshold: f64,
    unit: Unit,
    source: &'static str,
) -> Builtin {
    Builtin { name, category, severity, for_, threshold, unit, source, logs: true }
}

use Severity::{Critical, Warning};

const HTTP: &[Builtin] = &[
    b(
        "TargetDown",
        "operational",
        Critical,
        "2m",
        0.0,
        Unit::Count,
        "up == 0; the `for` of APA PrometheusTargetMissing, raised to 2m to ride out one restart",
    ),
    b(
        "HighErrorRate",
        "operational",
        Critical,
        "5m",
        0.05,
        Unit::Ratio,
        "5% of responses 5xx: APA \"HTTP 5xx error rate\" family and the Google SRE workbook's example availability alert",
    ),
    b(
        "HighLatency",
        "performance",
        Warning,
        "10m",
        0.5,
        Unit::Seconds,
        "p95 above 500ms: the spec's example latency objective",
    ),
    b(
        "AuthFailures",
        "security",
        Warning,
        "10m",
        1.0,
        Unit::PerSecond,
        "more than 1 response/s of 401 or 403 sustained 10m: a credential-stuffing or broken-client signal",
    ),
    b("RateLimited", "security", Warning, "10m", 1.0, Unit::PerSecond, "more than 1 response/s of 429 sustained 10m"),
    HEALTH_CHECK_FAILED,
    TLS_EXPIRING,
    FDS_NEAR_LIMIT,
    ERROR_LOG_SPIKE,
];

/// With a `runtime` (http): the process has used most of its file descriptors; past the limit
/// it can accept no connection and open no file.
const FDS_NEAR_LIMIT: Builtin = b(
    "FileDescriptorsNearLimit",
    "operational",
    Warning,
    "15m",
    0.7,
    Unit::Ratio,
    "more than 70% of the process's file descriptors open for 15m: node-mixin NodeFileDescriptorLimit (70%, 15m, warning), for the process's own limit (process_open_fds / process_max_fds, which the runtimes' libraries export)",
);

/// With `health:` (http): the blackbox probe of the health endpoint fails.
const HEALTH_CHECK_FAILED: Builtin = b(
    "HealthCheckFailed",
    "operational",
    Critical,
    "2m",
    0.0,
    Unit::Count,
    "probe_success == 0 for the probe of `health.ready` (else `live`): the service runs but says it cannot serve; the `for` of TargetDown",
);

/// Services scraped through an exporter: the exporter cannot be scraped. The service may be
/// fine, but none of its metric alerts can fire until the exporter is back; it inhibits nothing.
const EXPORTER_DOWN: Builtin = b(
    "ExporterDown",
    "operational",
    Warning,
    "2m",
    0.0,
    Unit::Count,
    "up == 0 for the service's exporter: APA PrometheusTargetMissing, for the exporter alone (the service's own state is the kind's Down alert)",
);

/// With `tls: { domain }` (nginx, http): the probed certificate expires soon.
const TLS_EXPIRING: Builtin = b(
    "TlsCertificateExpiring",
    "security",
    Warning,
    "0m",
    14.0,
    Unit::Days,
    "certificate expires within 14 days: APA BlackboxSslCertificateWillExpireSoon (20d there; 14d still leaves two weekly renewal attempts)",
);

/// Every service's logs: a spike of error lines.
const ERROR_LOG_SPIKE: Builtin = log(
    "ErrorLogSpike",
    "operational",
    Warning,
    "5m",
    0.1,
    Unit::PerSecond,
    "more than 0.1 error, critical or fatal lines per second (6 a minute) for 5m: a quiet service logs errors rarely",
);

#[rustfmt::skip]
const POSTGRES: &[Builtin] = &[
    b("PostgresDown", "operational", Critical, "1m", 0.0, Unit::Count, "pg_up == 0: APA PostgresqlDown (the exporter answers, the database does not)"),
    EXPORTER_DOWN,
    b("PostgresTooManyConnections", "performance", Warning, "2m", 0.8, Unit::Ratio, "connections above 80% of max_connections: postgres_exporter mixin PostgreSQLHighConnections, APA PostgresqlTooManyConnections"),
    b("PostgresLowCacheHitRatio", "performance", Warning, "10m", 0.98, Unit::Ratio, "buffer cache hit ratio below 98%: postgres_exporter mixin PostgreSQLCacheHitRatio"),
    b("PostgresDeadlocks", "operational", Warning, "0m", 5.0, Unit::Count, "more than 5 deadlocks per minute: APA PostgresqlTooManyDeadlocks"),
    b("PostgresLongTransactions", "performance", Warning, "2m", 300.0, Unit::Seconds, "a transaction open longer than 5m holds back vacuum (PostgreSQL docs, Routine Vacuuming); max tx duration from postgres_exporter pg_stat_activity"),
    log("PostgresConnectionFailures", "security", Warning, "0m", 5.0, Unit::Count, "more than 5 refused connections (failed password, no pg_hba.conf entry, unknown role or database, too many clients) in 5m: a brute-force or misconfigured-client signal"),
    log("PostgresFatalErrors", "operational", Critical, "0m", 0.0, Unit::Count, "any PANIC, or FATAL other than a refused connection, in 5m: PostgreSQL logs these only when a backend dies"),
    ERROR_LOG_SPIKE,
];

#[rustfmt::skip]
const REDIS: &[Builtin] = &[
    b("RedisDown", "operational", Critical, "1m", 0.0, Unit::Count, "redis_up == 0: APA RedisDown (the exporter answers, Redis does not)"),
    EXPORTER_DOWN,
    b("RedisMemoryHigh", "performance", Warning, "5m", 0.9, Unit::Ratio, "memory above 90% of maxmemory: APA RedisOutOfConfiguredMaxmemory"),
    b("RedisEvictions", "performance", Warning, "5m", 0.0, Unit::Count, "any key evicted in 5m: APA RedisEvictedKeys (evictions mean the cache is too small)"),
    b("RedisRejectedConnections", "operational", Critical, "0m", 0.0, Unit::Count, "any connection rejected in 1m: APA RedisRejectedConnections"),
    ERROR_LOG_SPIKE,
];

/// From grafana/jsonnet-libs memcached-mixin (alerts.libsonnet), over memcached_exporter's
/// series (v0.14.4, pkg/exporter/exporter.go). The mixin's second, critical
/// MemcachedConnectionLimitApproaching (above 95%) is not a rule of its own: one alert name
/// has one severity here; an override raises the threshold or the severity.
#[rustfmt::skip]
const MEMCACHED: &[Builtin] = &[
    b("MemcachedDown", "operational", Critical, "15m", 0.0, Unit::Count, "memcached_up == 0 for 15m: memcached-mixin MemcachedDown (the exporter answers, memcached does not)"),
    EXPORTER_DOWN,
    b("MemcachedConnectionLimitApproaching", "performance", Warning, "15m", 0.8, Unit::Ratio, "connections above 80% of the connection limit (-c) for 15m: memcached-mixin MemcachedConnectionLimitApproaching"),
    b("MemcachedOutOfMemoryErrors", "operational", Warning, "15m", 0.0, Unit::PerSecond, "any store refused for lack of memory over 5m, for 15m: memcached-mixin MemcachedOutOfMemoryErrors (memcached run with -M refuses instead of evicting)"),
    ERROR_LOG_SPIKE,
];

const NGINX: &[Builtin] = &[
    b(
        "NginxDown",
        "operational",
        Critical,
        "1m",
        0.0,
        Unit::Count,
        "nginx_up == 0 from nginx-prometheus-exporter (the exporter answers, stub_status does not)",
    ),
    EXPORTER_DOWN,
    log(
        "NginxHighErrorRate",
        "operational",
        Critical,
        "5m",
        0.05,
        Unit::Ratio,
        "5% of access-log responses 5xx, as HighErrorRate for applications",
    ),
    TLS_EXPIRING,
    ERROR_LOG_SPIKE,
];

const GENERIC: &[Builtin] = &[HTTP[0], ERROR_LOG_SPIKE];

/// Host alerts, with node-exporter.
pub const HOST: &[Builtin] = &[
    b("HostDown", "operational", Critical, "2m", 0.0, Unit::Count, "node-exporter unreachable"),
    b(
        "HostDiskSpaceLow",
        "operational",
        Warning,
        "2m",
        0.10,
        Unit::Ratio,
        "less than 10% free: APA HostOutOfDiskSpace",
    ),
    b(
        "HostDiskWillFillIn24h",
        "operational",
        Warning,
        "2m",
        0.10,
        Unit::Ratio,
        "below 10% free and the 6h trend reaches 0 within 24h: APA HostDiskWillFillIn24Hours",
    ),
    b(
        "HostMemoryHigh",
        "performance",
        Warning,
        "2m",
        0.90,
        Unit::Ratio,
        "more than 90% used: APA HostOutOfMemory (less than 10% available)",
    ),
    b(
        "HostCpuHigh",
        "performance",
        Warning,
        "10m",
        0.80,
        Unit::Ratio,
        "more than 80% busy for 10m: APA HostHighCpuLoad",
    ),
];

/// The built-in alerts of a service kind.
pub fn builtins(kind: Kind) -> &'static [Builtin] {
    match kind {
        Kind::Http => HTTP,
        Kind::Postgres => POSTGRES,
        Kind::Redis => REDIS,
        Kind::Memcached => MEMCACHED,
        Kind::Nginx => NGINX,
        Kind::Generic => GENERIC,
    }
}

/// The names of the built-in alerts of a service kind.
pub fn builtin_alerts(kind: Kind) -> Vec<&'static str> {
    builtins(kind).iter().map(|b| b.name).collect()
}

/// The built-in alert of a kind by name.
pub fn builtin(kind: Kind, name: &str) -> Option<&'static Builtin> {
    builtins(kind).iter().find(|b| b.name == name)
}

/// Host alerts (with node-exporter) and backup alerts (with backups).
pub const HOST_ALERTS: [&str; 5] =
    ["HostDown", "HostDiskSpaceLow", "HostDiskWillFillIn24h", "HostMemoryHigh", "HostCpuHigh"];
pub const BACKUP_ALERTS: [&str; 5] =
    ["BackupFailed", "BackupStale", "RestoreTestFailed", "BackupMetricsMissing", "BackupMetricsUnreadable"];

/// The stack watching itself (`prometheus/rules/monitoring.yml`).
pub const MONITORING_ALERTS: [&str; 1] = ["MonitoringTargetDown"];

/// The labels sightline's alerts carry, for route and inhibition matchers: those of every
/// alert, `slo` on burn alerts, `backup_job` on backup alerts, and what host, monitoring and
/// backup expressions keep (`job`, `instance`, a failing notifier's `integration`, and a
/// filesystem's `device`, `fstype`,
/// `mountpoint`).
pub const ALERT_LABELS: [&str; 14] = [
    "alertname",
    "severity",
    "category",
    "service",
    "stack",
    "env",
    "slo",
    "backup_job",
    "job",
    "instance",
    "integration",
    "device",
    "fstype",
    "mountpoint",
];

/// The alert categories the built-in library uses.
/// (SLO burn alerts are `operational` and carry `slo: availability|latency`; a user rule may
/// still use the category `slo`.)
pub const CATEGORIES: [&str; 3] = ["security", "performance", "operational"];

/// The source cited for thresholds from awesome-prometheus-alerts.
pub const APA_NAME: &str = APA;

/// The exporter a kind of service is scraped through, if any.
pub fn exporter(kind: Kind) -> Option<&'static ComponentDefault> {
    match kind {
        Kind::Postgres => Some(&defaults::POSTGRES_EXPORTER),
        Kind::Redis => Some(&defaults::REDIS_EXPORTER),
        Kind::Memcached => Some(&defaults::MEMCACHED_EXPORTER),
        Kind::Nginx => Some(&defaults::NGINX_EXPORTER),
        Kind::Http | Kind::Generic => None,
    }
}

/// The series an exporter sets to 1 while it reaches its service (`pg_up`), by kind.
pub fn service_up_metric(kind: Kind) -> Option<&'static str> {
    match kind {
        Kind::Postgres => Some("pg_up"),
        Kind::Redis => Some("redis_up"),
        Kind::Memcached => Some("memcached_up"),
        Kind::Nginx => Some("nginx_up"),
        Kind::Http | Kind::Generic => None,
    }
}

/// The port an exporter of a kind listens on.
pub fn exporter_port(kind: Kind) -> Option<u16> {
    match kind {
        Kind::Postgres => Some(9187),
        Kind::Redis => Some(9121),
        Kind::Memcached => Some(9150),
        Kind::Nginx => Some(9113),
        Kind::Http | Kind::Generic => None,
    }
}

/// An override's value in the alert's unit; `None` for the wrong kind (refused by the checks).
pub fn threshold_value(unit: Unit, t: &Threshold) -> Option<f64> {
    match (unit, t) {
        (Unit::Ratio, Threshold::Percent(p)) => Some(p.ratio()),
        (Unit::Seconds, Threshold::Duration(d)) => Some(d.seconds()),
        (Unit::Days, Threshold::Duration(d)) => Some(d.millis() as f64 / 86_400_000.0),
        (Unit::PerSecond | Unit::Count, Threshold::Number(n)) => Some(*n),
        _ => None,
    }
}

/// The SLO burn-rate windows of the Google SRE workbook ("Alerting on SLOs"):
/// (long window, short window, budget share, severity, `for`) — the workbook's table.
pub const SLO_WINDOWS: [(&str, &str, f64, &str, &str); 4] = [
    ("1h", "5m", 0.02, "critical", "2m"),
    ("6h", "30m", 0.05, "critical", "15m"),
    ("1d", "2h", 0.10, "warning", "1h"),
    ("3d", "6h", 0.10, "warning", "3h"),
];

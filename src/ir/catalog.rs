//! The alerts of the stack itself, beside the kinds' own (`crate::kinds`): the host's (with
//! node-exporter), the names of the backup and monitoring alerts, the labels every alert
//! carries, the categories, and the SLO burn-rate windows.

use crate::kinds::alert::{APA, Builtin, Unit, b, state};
use crate::manifest::model::Severity::{Critical, Warning};

/// Host alerts, with node-exporter.
pub const HOST: &[Builtin] = &[
    state(b("HostDown", "operational", Critical, "2m", 0.0, Unit::Count, "node-exporter unreachable")),
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

/// Host alerts (with node-exporter) and backup alerts (with backups).
pub const HOST_ALERTS: [&str; 5] =
    ["HostDown", "HostDiskSpaceLow", "HostDiskWillFillIn24h", "HostMemoryHigh", "HostCpuHigh"];
pub const BACKUP_ALERTS: [&str; 7] = [
    "BackupFailed",
    "BackupStale",
    "RestoreTestFailed",
    "RestoreTestStale",
    "RestoreTestMetricsMissing",
    "BackupMetricsMissing",
    "BackupMetricsUnreadable",
];

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

/// The SLO burn-rate windows of the Google SRE workbook ("Alerting on SLOs"):
/// (long window, short window, budget share, severity, `for`) — the workbook's table.
pub const SLO_WINDOWS: [(&str, &str, f64, &str, &str); 4] = [
    ("1h", "5m", 0.02, "critical", "2m"),
    ("6h", "30m", 0.05, "critical", "15m"),
    ("1d", "2h", 0.10, "warning", "1h"),
    ("3d", "6h", 0.10, "warning", "3h"),
];

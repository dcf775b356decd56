//! What each kind of service brings: its exporter and the names of its built-in alerts.
//!
//! The alert names are stable (they appear in `alerts:` overrides and runbook URLs). The rule
//! library in `targets/rules` defines an alert for every name listed here; checks use this list
//! to validate overrides.

use super::defaults::{self, ComponentDefault};
use crate::manifest::model::Kind;

/// The built-in alerts of a service kind.
pub fn builtin_alerts(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Http => &["TargetDown", "HighErrorRate", "HighLatency", "AuthFailures", "RateLimited"],
        Kind::Postgres => &[
            "PostgresDown",
            "PostgresTooManyConnections",
            "PostgresLowCacheHitRatio",
            "PostgresDeadlocks",
            "PostgresLongTransactions",
            "PostgresConnectionFailures",
        ],
        Kind::Redis => &["RedisDown", "RedisMemoryHigh", "RedisEvictions", "RedisRejectedConnections"],
        Kind::Nginx => &["NginxDown", "NginxHighErrorRate", "TlsCertificateExpiring"],
        Kind::Generic => &["TargetDown"],
    }
}

/// Host alerts (with node-exporter) and backup alerts (with backups).
pub const HOST_ALERTS: [&str; 5] =
    ["HostDown", "HostDiskSpaceLow", "HostDiskWillFillIn24h", "HostMemoryHigh", "HostCpuHigh"];
pub const BACKUP_ALERTS: [&str; 3] = ["BackupFailed", "BackupStale", "RestoreTestFailed"];

/// The alert categories the built-in library uses.
pub const CATEGORIES: [&str; 4] = ["security", "performance", "operational", "slo"];

/// The exporter a kind of service is scraped through, if any.
pub fn exporter(kind: Kind) -> Option<&'static ComponentDefault> {
    match kind {
        Kind::Postgres => Some(&defaults::POSTGRES_EXPORTER),
        Kind::Redis => Some(&defaults::REDIS_EXPORTER),
        Kind::Nginx => Some(&defaults::NGINX_EXPORTER),
        Kind::Http | Kind::Generic => None,
    }
}

//! Every default of the manifest language, in one place. `docs/manifest.md` lists the same
//! values; a test keeps the two in step.

/// Default scrape interval.
pub const SCRAPE_INTERVAL: &str = "15s";
/// Prometheus's own default scrape timeout; capped at the scrape interval.
pub const SCRAPE_TIMEOUT: &str = "10s";
pub const PROMETHEUS_RETENTION: &str = "30d";
pub const LOG_RETENTION: &str = "30d";
pub const SLO_WINDOW: &str = "30d";
pub const DASHBOARD_REFRESH: &str = "30s";
pub const DASHBOARD_TIME: &str = "6h";
pub const GRAFANA_PORT: u16 = 3001;
pub const GRAFANA_BIND: &str = "127.0.0.1";
pub const GRAFANA_ADMIN_PASSWORD_ENV: &str = "GRAFANA_ADMIN_PASSWORD";
pub const BACKUP_DESTINATION: &str = "/backups";
pub const GROUP_BY: [&str; 2] = ["alertname", "service"];
pub const REDACT: [&str; 4] = ["password", "token", "api_key", "authorization"];

/// An image sightline runs, with its default version and resources.
#[derive(Clone, Copy, Debug)]
pub struct ComponentDefault {
    /// The compose service name (reserved: no user service may take it).
    pub name: &'static str,
    pub repository: &'static str,
    pub version: &'static str,
    pub memory: &'static str,
    pub cpus: f64,
    /// Disk reserved for its volume, where it keeps data that grows.
    pub disk: Option<&'static str>,
}

pub const PROMETHEUS: ComponentDefault = ComponentDefault {
    name: "prometheus",
    repository: "prom/prometheus",
    version: "v2.53.2",
    memory: "512MiB",
    cpus: 0.5,
    disk: Some("10GiB"),
};
pub const ALERTMANAGER: ComponentDefault = ComponentDefault {
    name: "alertmanager",
    repository: "prom/alertmanager",
    version: "v0.27.0",
    memory: "256MiB",
    cpus: 0.25,
    disk: None,
};
pub const LOKI: ComponentDefault = ComponentDefault {
    name: "loki",
    repository: "grafana/loki",
    version: "3.2.1",
    memory: "256MiB",
    cpus: 0.5,
    disk: Some("5GiB"),
};
pub const PROMTAIL: ComponentDefault = ComponentDefault {
    name: "promtail",
    repository: "grafana/promtail",
    version: "3.2.1",
    memory: "128MiB",
    cpus: 0.25,
    disk: None,
};
pub const ALLOY: ComponentDefault = ComponentDefault {
    name: "alloy",
    repository: "grafana/alloy",
    version: "v1.4.3",
    memory: "256MiB",
    cpus: 0.25,
    disk: None,
};
pub const GRAFANA: ComponentDefault = ComponentDefault {
    name: "grafana",
    repository: "grafana/grafana",
    version: "11.3.0",
    memory: "512MiB",
    cpus: 0.5,
    disk: None,
};
pub const NODE_EXPORTER: ComponentDefault = ComponentDefault {
    name: "node-exporter",
    repository: "prom/node-exporter",
    version: "v1.8.2",
    memory: "64MiB",
    cpus: 0.1,
    disk: None,
};
pub const CADVISOR: ComponentDefault = ComponentDefault {
    name: "cadvisor",
    repository: "gcr.io/cadvisor/cadvisor",
    version: "v0.49.1",
    memory: "128MiB",
    cpus: 0.2,
    disk: None,
};
pub const BLACKBOX_EXPORTER: ComponentDefault = ComponentDefault {
    name: "blackbox-exporter",
    repository: "prom/blackbox-exporter",
    version: "v0.25.0",
    memory: "64MiB",
    cpus: 0.1,
    disk: None,
};
pub const POSTGRES_EXPORTER: ComponentDefault = ComponentDefault {
    name: "postgres-exporter",
    repository: "quay.io/prometheuscommunity/postgres-exporter",
    version: "v0.20.1",
    memory: "64MiB",
    cpus: 0.1,
    disk: None,
};
pub const REDIS_EXPORTER: ComponentDefault = ComponentDefault {
    name: "redis-exporter",
    repository: "oliver006/redis_exporter",
    version: "v1.66.0",
    memory: "64MiB",
    cpus: 0.1,
    disk: None,
};
pub const NGINX_EXPORTER: ComponentDefault = ComponentDefault {
    name: "nginx-exporter",
    repository: "nginx/nginx-prometheus-exporter",
    version: "1.3.0",
    memory: "64MiB",
    cpus: 0.1,
    disk: None,
};
pub const BACKUP: ComponentDefault = ComponentDefault {
    name: "backup",
    repository: "postgres",
    version: "16.4-alpine",
    memory: "256MiB",
    cpus: 0.25,
    disk: None,
};

/// Names taken by the services sightline generates. (Exporters are named after their service,
/// `<service>-exporter`; `check::names` refuses a service of that name too.)
pub const RESERVED_NAMES: [&str; 11] = [
    CADVISOR.name,
    PROMETHEUS.name,
    ALERTMANAGER.name,
    LOKI.name,
    PROMTAIL.name,
    ALLOY.name,
    GRAFANA.name,
    NODE_EXPORTER.name,
    BLACKBOX_EXPORTER.name,
    BACKUP.name,
    "sightline",
];

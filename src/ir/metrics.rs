//! The metric catalogue: what each kind of scrape target exposes, by metric name. A dashboard
//! panel or an alert that queries a metric no target of the stack exposes is a bug that would
//! show as an empty panel or a silent alert; the tests hold every generated query to this list.
//!
//! Sources: node_exporter's default collectors (cpu, meminfo, filesystem, loadavg, netdev,
//! diskstats); postgres_exporter's pg_up, stat_database, stat_activity, settings and database
//! collectors; redis_exporter's INFO metrics; nginx-prometheus-exporter's stub_status metrics;
//! blackbox_exporter's probe metrics; cAdvisor's container CPU and memory; the framework libraries of `ir::frameworks`
//! and the runtimes of `ir::runtimes`;
//! the backup scripts' textfile metrics; what batch jobs push to the Pushgateway; Prometheus's own `up`, `scrape_*` and `ALERTS`.

use super::{Service, Stack};
use crate::manifest::model::Kind;

pub const SCRAPE: &[&str] = &["up", "scrape_duration_seconds", "scrape_samples_scraped", "ALERTS", "ALERTS_FOR_STATE"];
/// The stack's own programs (`targets/rules/monitoring.rs` names the source of each).
pub const SELF: &[&str] = &[
    "prometheus_rule_evaluation_failures_total",
    "prometheus_config_last_reload_successful",
    "prometheus_tsdb_compactions_failed_total",
    "prometheus_tsdb_wal_corruptions_total",
    "alertmanager_notifications_failed_total",
    "alertmanager_config_last_reload_successful",
    "loki_prometheus_rule_evaluation_failures_total",
    "loki_prometheus_notifications_errors_total",
];
pub const NODE: &[&str] = &[
    "node_cpu_seconds_total",
    "node_memory_MemAvailable_bytes",
    "node_memory_MemTotal_bytes",
    "node_filesystem_avail_bytes",
    "node_filesystem_size_bytes",
    "node_filesystem_readonly",
    "node_load1",
    "node_load5",
    "node_load15",
    "node_network_receive_bytes_total",
    "node_network_transmit_bytes_total",
    "node_disk_read_bytes_total",
    "node_disk_written_bytes_total",
    "node_textfile_scrape_error",
];
pub const POSTGRES: &[&str] = &[
    "pg_up",
    "pg_stat_activity_count",
    "pg_stat_activity_max_tx_duration",
    "pg_settings_max_connections",
    "pg_stat_database_blks_hit",
    "pg_stat_database_blks_read",
    "pg_stat_database_xact_commit",
    "pg_stat_database_xact_rollback",
    "pg_stat_database_deadlocks",
    "pg_stat_database_numbackends",
    "pg_database_size_bytes",
    "pg_scrape_collector_success",
];
/// postgres_exporter's stat_statements collector (`--collector.stat_statements`).
pub const POSTGRES_QUERY_STATS: &[&str] = &[
    "pg_stat_statements_calls_total",
    "pg_stat_statements_seconds_total",
    "pg_stat_statements_rows_total",
    "pg_stat_statements_block_read_seconds_total",
    "pg_stat_statements_block_write_seconds_total",
];
pub const REDIS: &[&str] = &[
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
/// memcached_exporter v0.14.4 (`pkg/exporter/exporter.go`), read live by the rehearsal.
pub const MEMCACHED: &[&str] = &[
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
pub const NGINX: &[&str] = &[
    "nginx_up",
    "nginx_http_requests_total",
    "nginx_connections_active",
    "nginx_connections_accepted",
    "nginx_connections_handled",
];
pub const CADVISOR: &[&str] = &["container_cpu_usage_seconds_total", "container_memory_working_set_bytes"];
pub const BLACKBOX: &[&str] =
    &["probe_success", "probe_duration_seconds", "probe_http_status_code", "probe_ssl_earliest_cert_expiry"];
pub const BACKUP: &[&str] = &[
    "sightline_backup_last_result",
    "sightline_backup_last_run_timestamp_seconds",
    "sightline_backup_last_duration_seconds",
    "sightline_backup_last_size_bytes",
    "sightline_backup_last_success_timestamp_seconds",
    "sightline_restore_test_last_result",
    "sightline_restore_test_last_success_timestamp_seconds",
];
/// What a batch job pushes (`targets/rules/jobs.rs`), and what the Pushgateway adds to every
/// group: the time of its last successful and failed push (its README, "About timestamps").
pub const JOBS: &[&str] = &[
    "sightline_job_last_success_timestamp_seconds",
    "sightline_job_last_failure_timestamp_seconds",
    "push_time_seconds",
    "push_failure_time_seconds",
];

/// The metrics an http service's framework instrumentation exposes.
pub fn framework(s: &Service) -> Vec<String> {
    let d = &s.metric_names.duration;
    vec![s.metric_names.requests.clone(), format!("{d}_bucket"), format!("{d}_count"), format!("{d}_sum")]
}

/// Every metric name some target of this stack exposes (recording rules included).
pub fn exposed(stack: &Stack) -> Vec<String> {
    let mut out: Vec<String> = SCRAPE.iter().chain(SELF).map(|s| s.to_string()).collect();
    if stack.component(super::defaults::NODE_EXPORTER.name).is_some() {
        out.extend(NODE.iter().map(|s| s.to_string()));
        if stack.backups.is_some() {
            out.extend(BACKUP.iter().map(|s| s.to_string()));
        }
    }
    if stack.component(super::defaults::PUSHGATEWAY.name).is_some() {
        out.extend(JOBS.iter().map(|s| s.to_string()));
    }
    if stack.component(super::defaults::CADVISOR.name).is_some() {
        out.extend(CADVISOR.iter().map(|s| s.to_string()));
    }
    if stack.component(super::defaults::BLACKBOX_EXPORTER.name).is_some() {
        out.extend(BLACKBOX.iter().map(|s| s.to_string()));
    }
    for s in &stack.services {
        match s.kind {
            Kind::Http => {
                out.extend(framework(s));
                if let Some(r) = s.runtime.filter(|_| s.scraped()) {
                    out.extend(super::runtimes::metrics(r).map(|(m, _)| m.to_string()));
                }
            }
            Kind::Postgres => {
                out.extend(POSTGRES.iter().map(|m| m.to_string()));
                if s.query_stats() {
                    out.extend(POSTGRES_QUERY_STATS.iter().map(|m| m.to_string()));
                }
            }
            Kind::Redis => out.extend(REDIS.iter().map(|m| m.to_string())),
            Kind::Memcached => out.extend(MEMCACHED.iter().map(|m| m.to_string())),
            Kind::Nginx => out.extend(NGINX.iter().map(|m| m.to_string())),
            Kind::Generic => {}
        }
        if s.slo.is_some() {
            for kind in ["availability", "latency"] {
                for w in ["5m", "30m", "1h", "2h", "6h", "1d", "3d"] {
                    out.push(format!("sightline_slo:{kind}_errors:ratio_rate{w}"));
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The exporter a metric name's prefix belongs to, with every metric sightline knows it to
/// expose; `None` for a name no exporter of the catalogue claims (the application's own).
pub fn by_prefix(metric: &str) -> Option<(&'static str, Vec<&'static str>)> {
    let families: [(&str, &str, Vec<&'static str>); 6] = [
        ("pg_", "postgres_exporter", [POSTGRES, POSTGRES_QUERY_STATS].concat()),
        ("redis_", "redis_exporter", REDIS.to_vec()),
        ("memcached_", "memcached_exporter", MEMCACHED.to_vec()),
        ("nginx_", "nginx-prometheus-exporter", NGINX.to_vec()),
        ("node_", "node_exporter", NODE.to_vec()),
        ("probe_", "blackbox_exporter", BLACKBOX.to_vec()),
    ];
    families.into_iter().find(|(p, ..)| metric.starts_with(p)).map(|(_, e, known)| (e, known))
}

/// The labels of the exporters' metrics that sightline's rules and panels select or group by,
/// besides `job` and `instance` (every target) and `service`, `service_kind` and `probe` (the scrape
/// configs add them to a service's targets, `probe` to its blackbox probes only), read
/// from the exporters' sources at the pinned releases: node_exporter v1.12.1
/// `collector/{cpu_linux,filesystem_common,netdev_common,diskstats_linux}.go`; postgres_exporter
/// v0.19.1 `exporter/postgres_exporter.go` (`pg_stat_activity`), `collector/{pg_database,
/// pg_stat_database,pg_stat_statements,collector}.go`; memcached_exporter v0.14.4
/// `pkg/exporter/exporter.go` (`command`, `status` on the commands, `slab` on the slab counter);
/// cAdvisor's container labels (compose's
/// project label among them); the backup scripts' own textfile metrics.
const EXPORTER_LABELS: &[(&str, &[&str])] = &[
    ("node_cpu_seconds_total", &["cpu", "mode"]),
    ("node_filesystem_", &["device", "mountpoint", "fstype", "device_error"]),
    ("node_network_", &["device"]),
    ("node_disk_", &["device"]),
    (
        "pg_stat_activity_",
        &["datname", "state", "usename", "application_name", "backend_type", "wait_event_type", "wait_event"],
    ),
    ("pg_stat_database_", &["datid", "datname"]),
    ("pg_database_size_bytes", &["datname"]),
    ("pg_stat_statements_", &["user", "datname", "queryid"]),
    ("pg_scrape_collector_success", &["collector"]),
    ("memcached_commands_total", &["command", "status"]),
    ("memcached_slab_items_outofmemory_total", &["slab"]),
    (
        "container_",
        &[
            "id",
            "name",
            "image",
            "container_label_com_docker_compose_project",
            "container_label_com_docker_compose_service",
        ],
    ),
    ("sightline_backup_", &["backup_job", "service"]),
    ("sightline_restore_test_", &["backup_job", "service"]),
    ("sightline_job_", &["batch_job"]),
    ("push_time_seconds", &["batch_job"]),
    ("push_failure_time_seconds", &["batch_job"]),
    ("prometheus_rule_evaluation_failures_total", &["rule_group"]),
    ("loki_prometheus_rule_evaluation_failures_total", &["rule_group", "user"]),
    // Prometheus's notifier (`notifier/metric.go`: the `alertmanager` label), which Loki's
    // ruler runs under the `loki_` prefix and a registerer labelled with the tenant, `user`
    // (`pkg/ruler/base/manager.go`).
    ("loki_prometheus_notifications_errors_total", &["alertmanager", "user"]),
    ("alertmanager_notifications_failed_total", &["integration", "receiver_name", "reason"]),
];

/// The labels a metric of this stack carries besides `job`, `instance` and `service`; `None`
/// for a metric the catalogue does not know. An application's metrics carry what its
/// framework's instrumentation writes (`ir::frameworks`), and `le` on a histogram's buckets;
/// `ALERTS` carries every label an alert can have.
pub fn labels(stack: &Stack, metric: &str) -> Option<Vec<String>> {
    if metric == "ALERTS" || metric == "ALERTS_FOR_STATE" {
        let mut l: Vec<String> = crate::ir::catalog::ALERT_LABELS.iter().map(|s| s.to_string()).collect();
        l.push("alertstate".into());
        return Some(l);
    }
    for s in stack.services.iter().filter(|s| s.kind == Kind::Http) {
        let m = &s.metric_names;
        let d = &m.duration;
        if metric == m.requests {
            return Some(m.request_labels.clone());
        }
        if metric == format!("{d}_bucket") {
            return Some(m.duration_labels.iter().cloned().chain(["le".to_string()]).collect());
        }
        if metric == format!("{d}_count") || metric == format!("{d}_sum") {
            return Some(m.duration_labels.clone());
        }
    }
    for r in stack.services.iter().filter_map(|s| s.runtime) {
        if let Some((_, labels)) = super::runtimes::metrics(r).find(|(m, _)| *m == metric) {
            return Some(labels.iter().map(|s| s.to_string()).collect());
        }
    }
    if exposed(stack).iter().any(|m| m == metric) {
        let known = EXPORTER_LABELS.iter().find(|(p, _)| metric.starts_with(p)).map_or(&[][..], |(_, l)| *l);
        return Some(known.iter().map(|s| s.to_string()).collect());
    }
    None
}

/// The metric names an expression selects (by name or by a `__name__` matcher), each once.
pub fn selected(expr: &promql_parser::parser::Expr) -> Vec<String> {
    use promql_parser::parser::Expr;
    struct Names(Vec<String>);
    impl promql_parser::util::ExprVisitor for Names {
        type Error = ();
        fn pre_visit(&mut self, e: &Expr) -> Result<bool, ()> {
            let vs = match e {
                Expr::VectorSelector(vs) => Some(vs),
                Expr::MatrixSelector(ms) => Some(&ms.vs),
                _ => None,
            };
            let name = vs.and_then(|v| {
                v.name
                    .clone()
                    .or_else(|| v.matchers.matchers.iter().find(|m| m.name == "__name__").map(|m| m.value.clone()))
            });
            if let Some(name) = name
                && !self.0.contains(&name)
            {
                self.0.push(name);
            }
            Ok(true)
        }
    }
    let mut names = Names(Vec::new());
    let _ = promql_parser::util::walk_expr(&mut names, expr);
    names.0
}

//! The metric catalogue: what each kind of scrape target exposes, by metric name. A dashboard
//! panel or an alert that queries a metric no target of the stack exposes is a bug that would
//! show as an empty panel or a silent alert; the tests hold every generated query to this list.
//!
//! Sources: node_exporter's default collectors (cpu, meminfo, filesystem, loadavg, netdev,
//! diskstats); each kind's exporter's, in the kind's module (`crate::kinds`);
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
/// Prometheus's remote storage, with `observability.prometheus.remote_write` (Prometheus
/// 3.13.5 `storage/remote/write.go`, `storage/remote/queue_manager.go`; the rehearsal of
/// tests/fixtures/ok/metrics-options.yaml finds them on the running Prometheus).
pub const REMOTE_WRITE: &[&str] = &[
    "prometheus_remote_storage_highest_timestamp_in_seconds",
    "prometheus_remote_storage_samples_failed_total",
    "prometheus_remote_storage_queue_highest_sent_timestamp_seconds",
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
    "sightline_restore_test_last_run_timestamp_seconds",
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
    let node = stack.component(super::defaults::NODE_EXPORTER.name).is_some();
    if node {
        out.extend(NODE.iter().map(|s| s.to_string()));
    }
    if stack.backup_results_read() {
        out.extend(BACKUP.iter().map(|s| s.to_string()));
    }
    if !stack.jobs.is_empty() {
        out.extend(JOBS.iter().map(|s| s.to_string()));
    }
    if !stack.remote_write.is_empty() {
        out.extend(REMOTE_WRITE.iter().map(|s| s.to_string()));
    }
    if stack.component(super::defaults::CADVISOR.name).is_some() {
        out.extend(CADVISOR.iter().map(|s| s.to_string()));
    }
    if stack.component(super::defaults::BLACKBOX_EXPORTER.name).is_some() {
        out.extend(BLACKBOX.iter().map(|s| s.to_string()));
    }
    for s in &stack.services {
        out.extend((crate::kinds::def(s.kind).exposed)(s));
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
    let kinds = crate::manifest::model::Kind::ALL.iter().filter_map(|k| crate::kinds::def(*k).catalogue.as_ref());
    let families: Vec<(&str, &str, Vec<&'static str>)> = kinds
        .map(|e| (e.prefix, e.program, [e.metrics, e.optional].concat()))
        .chain([("node_", "node_exporter", NODE.to_vec()), ("probe_", "blackbox_exporter", BLACKBOX.to_vec())])
        .collect();
    families.into_iter().find(|(p, ..)| metric.starts_with(p)).map(|(_, e, known)| (e, known))
}

/// The labels of the exporters' metrics that sightline's rules and panels select or group by,
/// besides `job` and `instance` (every target) and `service`, `service_kind` and `probe` (the scrape
/// configs add them to a service's targets, `probe` to its blackbox probes only), the kinds'
/// exporters' in their modules (`crate::kinds`), read
/// from the exporters' sources at the pinned releases: node_exporter v1.12.1
/// `collector/{cpu_linux,filesystem_common,netdev_common,diskstats_linux}.go`; cAdvisor's
/// container labels (compose's
/// project label among them); the backup scripts' own textfile metrics.
const EXPORTER_LABELS: &[(&str, &[&str])] = &[
    ("node_cpu_seconds_total", &["cpu", "mode"]),
    ("node_filesystem_", &["device", "mountpoint", "fstype", "device_error"]),
    ("node_network_", &["device"]),
    ("node_disk_", &["device"]),
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
    // Each remote-write queue's (`storage/remote/queue_manager.go`: constant labels
    // `remote_name` and `url`).
    ("prometheus_remote_storage_samples_failed_total", &["remote_name", "url"]),
    ("prometheus_remote_storage_queue_highest_sent_timestamp_seconds", &["remote_name", "url"]),
];

/// The labels a metric of this stack carries besides `job`, `instance` and `service`, on the
/// series of the services `covered` says; `None` for a metric the catalogue does not know. An
/// application's metrics carry what its framework's instrumentation writes
/// (`ir::frameworks`), and `le` on a histogram's buckets: a metric two frameworks name alike and
/// label differently (`http_requests_total`: `status` from FastAPI's instrumentator, `code` from
/// client_golang) carries, over those services, the labels every one of them gives it. `ALERTS`
/// carries every label an alert can have.
pub fn labels_of(stack: &Stack, metric: &str, covered: &dyn Fn(&super::Service) -> bool) -> Option<Vec<String>> {
    if metric == "ALERTS" || metric == "ALERTS_FOR_STATE" {
        let mut l: Vec<String> = crate::ir::catalog::ALERT_LABELS.iter().map(|s| s.to_string()).collect();
        l.push("alertstate".into());
        return Some(l);
    }
    let mut app: Option<Vec<String>> = None;
    for s in stack.services.iter().filter(|s| s.kind == Kind::Http && covered(s)) {
        let m = &s.metric_names;
        let d = &m.duration;
        let labels = if metric == m.requests {
            m.request_labels.clone()
        } else if metric == format!("{d}_bucket") {
            m.duration_labels.iter().cloned().chain(["le".to_string()]).collect()
        } else if metric == format!("{d}_count") || metric == format!("{d}_sum") {
            m.duration_labels.clone()
        } else {
            continue;
        };
        match &mut app {
            None => app = Some(labels),
            Some(every) => every.retain(|l| labels.contains(l)),
        }
    }
    if app.is_some() {
        return app;
    }
    for r in stack.services.iter().filter_map(|s| s.runtime) {
        if let Some((_, labels)) = super::runtimes::metrics(r).find(|(m, _)| *m == metric) {
            return Some(labels.iter().map(|s| s.to_string()).collect());
        }
    }
    if exposed(stack).iter().any(|m| m == metric) {
        let kinds = crate::manifest::model::Kind::ALL.iter().filter_map(|k| crate::kinds::def(*k).catalogue.as_ref());
        let known = kinds
            .flat_map(|e| e.labels.iter())
            .chain(EXPORTER_LABELS)
            .find(|(p, _)| metric.starts_with(p))
            .map_or(&[][..], |(_, l)| *l);
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

//! The stack watching itself (`prometheus/rules/monitoring.yml`):
//! - `MonitoringTargetDown`, one rule per program with its `job` label, when Prometheus cannot
//!   scrape one of the stack's own programs (Prometheus, Alertmanager, Loki, cAdvisor, the
//!   blackbox exporter, the Pushgateway); node-exporter has `HostDown`;
//! - the pipeline failing while it runs: rule evaluations failing (Prometheus's and Loki's
//!   ruler), notifications failing (Alertmanager's, and Loki's ruler's to Alertmanager), a
//!   configuration reload refused, TSDB compactions failing
//!   or its write-ahead log corrupted;
//! - `CadvisorWatchesNoContainer`, when cAdvisor is up and reports no container;
//! - with remote storage, `PrometheusRemoteWriteFailing` and `PrometheusRemoteWriteBehind`;
//! - `Watchdog`, always firing, for the heartbeat receiver (`alerting.heartbeat`): the dead
//!   man's switch that says the whole path from rule evaluation to a receiver works.
//!
//! Metric names are read from the sources of the pinned releases (Prometheus `rules/group.go`,
//! `cmd/prometheus/main.go`, `tsdb/db.go`, `tsdb/head.go`; Alertmanager `notify/metrics.go`,
//! `config/coordinator.go`; the notifier's `notifier/metric.go`; Loki `pkg/ruler/base/manager.go`, which prefixes the rule
//! manager's metrics with `loki_`, its notifier's `prometheus_notifications_*` among them), and
//! the rehearsal finds them on the running programs (Loki's excepted: it does not run there).

use super::model::{AlertRule, InputSeries, Tested, alert_annotations, alert_labels};
use crate::ir::{Stack, defaults};
use crate::targets::alertmanager::routing::WATCHDOG;
use crate::targets::paths::{
    ALERTMANAGER_ADDR, BLACKBOX_ADDR, BLACKBOX_JOB, CADVISOR_ADDR, LOKI_ADDR, PROMETHEUS_ADDR, PUSHGATEWAY_ADDR,
};

/// The scrape jobs of the stack's own programs, with their target. Loki's and the
/// Pushgateway's are named as their hosts, which the Kubernetes tree's charts name their
/// Services and jobs too (`kubernetes::rules::KEPT_JOBS`).
pub fn jobs(stack: &Stack) -> Vec<(&'static str, (&'static str, u16))> {
    let mut out = vec![("prometheus", PROMETHEUS_ADDR), ("alertmanager", ALERTMANAGER_ADDR), (LOKI_ADDR.0, LOKI_ADDR)];
    if stack.component(defaults::CADVISOR.name).is_some() {
        out.push(("cadvisor", CADVISOR_ADDR));
    }
    if stack.component(defaults::BLACKBOX_EXPORTER.name).is_some() {
        out.push((BLACKBOX_JOB, BLACKBOX_ADDR));
    }
    if stack.component(defaults::PUSHGATEWAY.name).is_some() {
        out.push((PUSHGATEWAY_ADDR.0, PUSHGATEWAY_ADDR));
    }
    out
}

fn series(s: String, values: &str) -> InputSeries {
    InputSeries { series: s, values: values.into() }
}

/// One of the pipeline's own alerts on a program's metric.
struct Meta {
    alert: &'static str,
    job: &'static str,
    severity: &'static str,
    for_: Option<&'static str>,
    expr: String,
    summary: &'static str,
    description: &'static str,
    /// The series of its tests, and its values that make it fire and keep it quiet.
    series: String,
    firing: &'static str,
    silent: &'static str,
    /// Labels the expression keeps besides `job`.
    kept: Vec<(&'static str, &'static str)>,
}

fn meta(stack: &Stack) -> Vec<Meta> {
    let at = |job: &str| {
        let (_, (host, port)) = jobs(stack).into_iter().find(|(j, _)| *j == job).expect("a job of the stack");
        format!("job=\"{job}\",instance=\"{host}:{port}\"")
    };
    let (p, am, loki) = (at("prometheus"), at("alertmanager"), at("loki"));
    vec![
        Meta {
            alert: "PrometheusRuleFailures",
            job: "prometheus",
            severity: "critical",
            for_: None,
            expr: "sum by (job) (increase(prometheus_rule_evaluation_failures_total{job=\"prometheus\"}[5m])) > 0"
                .into(),
            summary: "Prometheus fails to evaluate rules",
            description: "Rule evaluations failed in the last 5 minutes: the alerts of the failing group cannot fire. The rule group and the error are on Prometheus's /rules page.",
            series: format!("prometheus_rule_evaluation_failures_total{{{p},rule_group=\"g\"}}"),
            firing: "0+1x60",
            silent: "0+0x60",
            kept: vec![],
        },
        Meta {
            alert: "LokiRuleFailures",
            job: "loki",
            severity: "critical",
            for_: None,
            expr: "sum by (job) (increase(loki_prometheus_rule_evaluation_failures_total{job=\"loki\"}[5m])) > 0".into(),
            summary: "Loki's ruler fails to evaluate log alerts",
            description: "Loki's ruler failed to evaluate log rules in the last 5 minutes: the log-based alerts of the failing group cannot fire. See Loki's log for the rule group.",
            series: format!("loki_prometheus_rule_evaluation_failures_total{{{loki},rule_group=\"g\",user=\"fake\"}}"),
            firing: "0+1x60",
            silent: "0+0x60",
            kept: vec![],
        },
        Meta {
            alert: "LokiNotificationsFailing",
            job: "loki",
            severity: "critical",
            for_: Some("5m"),
            expr: "sum by (job) (rate(loki_prometheus_notifications_errors_total{job=\"loki\"}[5m])) > 0".into(),
            summary: "Loki's ruler cannot deliver log alerts to Alertmanager",
            description: super::advice::Advice::of(stack).loki_notifications_failing(),
            series: format!(
                "loki_prometheus_notifications_errors_total{{{loki},alertmanager=\"http://alertmanager:9093/api/v2/alerts\"}}"
            ),
            firing: "0+5x60",
            silent: "0+0x60",
            kept: vec![],
        },
        Meta {
            alert: "AlertmanagerNotificationsFailing",
            job: "alertmanager",
            severity: "critical",
            for_: Some("5m"),
            expr: "sum by (job, integration) (rate(alertmanager_notifications_failed_total{job=\"alertmanager\"}[5m])) > 0".into(),
            summary: "Alertmanager cannot deliver notifications",
            description: "Notifications through one integration (the `integration` label: email, slack, pagerduty, ...) have been failing for 5 minutes: its receivers hear nothing. Alertmanager's log names the error.",
            series: format!("alertmanager_notifications_failed_total{{{am},integration=\"slack\"}}"),
            firing: "0+5x60",
            silent: "0+0x60",
            kept: vec![("integration", "slack")],
        },
        Meta {
            alert: "PrometheusConfigReloadFailed",
            job: "prometheus",
            severity: "warning",
            for_: None,
            expr: "max by (job) (prometheus_config_last_reload_successful{job=\"prometheus\"}) == 0".into(),
            summary: "Prometheus refused its new configuration",
            description: "The last reload of prometheus.yml or its rules failed; Prometheus runs the previous configuration. `promtool check config` names the problem.",
            series: format!("prometheus_config_last_reload_successful{{{p}}}"),
            firing: "0x60",
            silent: "1x60",
            kept: vec![],
        },
        Meta {
            alert: "AlertmanagerConfigReloadFailed",
            job: "alertmanager",
            severity: "warning",
            for_: None,
            expr: "max by (job) (alertmanager_config_last_reload_successful{job=\"alertmanager\"}) == 0".into(),
            summary: "Alertmanager refused its new configuration",
            description: "The last reload of alertmanager.yml failed; Alertmanager routes with the previous configuration. `amtool check-config` names the problem.",
            series: format!("alertmanager_config_last_reload_successful{{{am}}}"),
            firing: "0x60",
            silent: "1x60",
            kept: vec![],
        },
        Meta {
            alert: "PrometheusTsdbCompactionsFailed",
            job: "prometheus",
            severity: "critical",
            for_: None,
            expr: "sum by (job) (increase(prometheus_tsdb_compactions_failed_total{job=\"prometheus\"}[3h])) > 0".into(),
            summary: "Prometheus fails to compact its storage",
            description: "A TSDB compaction failed in the last 3 hours: the disk fills and queries slow down. Prometheus's log names the block.",
            series: format!("prometheus_tsdb_compactions_failed_total{{{p}}}"),
            firing: "0+1x60",
            silent: "0+0x60",
            kept: vec![],
        },
        Meta {
            alert: "PrometheusTsdbWalCorrupted",
            job: "prometheus",
            severity: "critical",
            for_: None,
            expr: "sum by (job) (increase(prometheus_tsdb_wal_corruptions_total{job=\"prometheus\"}[3h])) > 0".into(),
            summary: "Prometheus found its write-ahead log corrupted",
            description: "The TSDB write-ahead log was corrupted in the last 3 hours (a full disk or an unclean shutdown): recent samples may be lost.",
            series: format!("prometheus_tsdb_wal_corruptions_total{{{p}}}"),
            firing: "0+1x60",
            silent: "0+0x60",
            kept: vec![],
        },
    ]
}

/// Every alert of the group, with its tests.
pub fn alerts(stack: &Stack) -> Vec<Tested> {
    let mut out: Vec<Tested> = jobs(stack)
        .into_iter()
        .map(|(job, (host, port))| {
            let up = |v: &str| series(format!("up{{job=\"{job}\",instance=\"{host}:{port}\"}}"), v);
            let mut labels = alert_labels(stack, "warning", "operational", None);
            labels.insert("job".into(), job.into());
            Tested {
                rule: AlertRule {
                    services: Vec::new(),
                    alert: "MonitoringTargetDown".into(),
                    expr: format!("min by (job) (up{{job=\"{job}\"}}) == 0"),
                    for_: Some("2m".into()),
                    labels,
                    annotations: alert_annotations(
                        stack,
                        "MonitoringTargetDown",
                        None,
                        &format!("{job} of the monitoring stack is down"),
                        &format!(
                            "Prometheus cannot scrape {job}. While it is down, {}. Threshold: up == 0 for 2m, as TargetDown.",
                            match job {
                                "blackbox" => "every probe fails and the probe alerts (health, certificate) cannot be trusted",
                                "cadvisor" => "the container panels are empty",
                                "alertmanager" => "no notification goes out",
                                "loki" => "logs are not stored and log alerts cannot fire",
                                "pushgateway" => "the results pushed to it are not read, and the alerts on them see none newer than its last scrape",
                                _ => "rules may not be evaluated",
                            }
                        ),
                    ),
                },
                kept: Vec::new(),
                firing: vec![up("0x60")],
                silent: vec![up("1x60")],
            }
        })
        .collect();
    for m in meta(stack) {
        let mut labels = alert_labels(stack, m.severity, "operational", None);
        labels.insert("job".into(), m.job.into());
        out.push(Tested {
            rule: AlertRule {
                services: Vec::new(),
                alert: m.alert.into(),
                expr: m.expr,
                for_: m.for_.map(String::from),
                labels,
                annotations: alert_annotations(stack, m.alert, None, m.summary, m.description),
            },
            kept: m.kept.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            firing: vec![series(m.series.clone(), m.firing)],
            silent: vec![series(m.series, m.silent)],
        });
    }
    out.extend(remote_write(stack));
    // cAdvisor asks Docker and containerd once, at start, whether it can watch Docker's
    // containers (`container/docker/factory.go`: `Register`, no retry): started before its
    // socket proxies answer (a host's reboot starts containers in no compose order), or with
    // containerd's socket elsewhere, it runs on, healthy, and reports none.
    if let Some((host, port)) = jobs(stack).into_iter().find(|(j, _)| *j == "cadvisor").map(|(_, a)| a) {
        let at = format!("job=\"cadvisor\",instance=\"{host}:{port}\"");
        let up = series(format!("up{{{at}}}"), "1x60");
        let container = series(
            format!("container_memory_working_set_bytes{{{at},id=\"/docker/0123456789ab\",name=\"web\"}}"),
            "1x60",
        );
        let mut labels = alert_labels(stack, "warning", "operational", None);
        labels.insert("job".into(), "cadvisor".into());
        out.push(Tested {
            rule: AlertRule {
                services: Vec::new(),
                alert: "CadvisorWatchesNoContainer".into(),
                expr: "absent(container_memory_working_set_bytes{job=\"cadvisor\",name!=\"\"}) and on () (up{job=\"cadvisor\"} == 1)".into(),
                for_: Some("15m".into()),
                labels,
                annotations: alert_annotations(
                    stack,
                    "CadvisorWatchesNoContainer",
                    None,
                    "cAdvisor reports no container",
                    "cAdvisor is up but has reported no Docker container for 15 minutes, so the container panels are empty. It asks Docker and containerd through their socket proxies once, when it starts: started before them, or with containerd's socket not at /run/containerd/containerd.sock, it watches none. Its log names the error; restart it once both proxies answer (docker compose restart cadvisor).",
                ),
            },
            kept: Vec::new(),
            firing: vec![up.clone()],
            silent: vec![up, container],
        });
    }
    if stack.alerting.heartbeat.is_some() {
        out.push(Tested {
            rule: AlertRule {
                services: Vec::new(),
                alert: WATCHDOG.into(),
                expr: "vector(1)".into(),
                for_: None,
                labels: alert_labels(stack, "info", "operational", None),
                annotations: alert_annotations(
                    stack,
                    WATCHDOG,
                    None,
                    "The alerting pipeline works",
                    "Always firing, and sent to the heartbeat receiver every 5 minutes: the heartbeat service pages when it stops hearing it, because then rules are not evaluated or notifications do not go out.",
                ),
            },
            kept: Vec::new(),
            firing: Vec::new(),
            // Nothing keeps it quiet: its silent case is left out of the tests.
            silent: Vec::new(),
        });
    }
    out
}

/// With remote storage (`observability.prometheus.remote_write`), each receiver's queue, by
/// `remote_name`: samples it refused (a 4xx other than 429: a wrong login, a tenant it does not
/// know; Prometheus drops them), and sending that has fallen behind (a receiver that is down or
/// answers 5xx, which Prometheus retries without end). Metric names from Prometheus 3.13.5's
/// `storage/remote/queue_manager.go` (`samples_failed_total`,
/// `queue_highest_sent_timestamp_seconds`, labelled `remote_name` and `url`) and
/// `storage/remote/write.go` (`highest_timestamp_in_seconds`, for the whole storage); as
/// kube-prometheus's `PrometheusRemoteStorageFailures` and `PrometheusRemoteWriteBehind`, which
/// the chart's own rules carry on Kubernetes.
fn remote_write(stack: &Stack) -> Vec<Tested> {
    let Some(first) = stack.remote_write.first() else { return Vec::new() };
    let name = first.name.as_ref().map_or_else(|| defaults::remote_write_name(0), |n| n.to_string());
    let (host, port) = PROMETHEUS_ADDR;
    let at = format!("job=\"prometheus\",instance=\"{host}:{port}\"");
    let queue = format!("{at},remote_name=\"{name}\",url=\"{}\"", first.url);
    let tested = |alert: &str, expr: &str, summary: &str, description: &str, firing, silent| {
        let mut labels = alert_labels(stack, "warning", "operational", None);
        labels.insert("job".into(), "prometheus".into());
        Tested {
            rule: AlertRule {
                services: Vec::new(),
                alert: alert.into(),
                expr: expr.into(),
                for_: Some("15m".into()),
                labels,
                annotations: alert_annotations(stack, alert, None, summary, description),
            },
            kept: vec![("remote_name".to_string(), name.clone())],
            firing,
            silent,
        }
    };
    let failed = format!("prometheus_remote_storage_samples_failed_total{{{queue}}}");
    let newest = format!("prometheus_remote_storage_highest_timestamp_in_seconds{{{at}}}");
    let sent = format!("prometheus_remote_storage_queue_highest_sent_timestamp_seconds{{{queue}}}");
    vec![
        tested(
            "PrometheusRemoteWriteFailing",
            "sum by (job, remote_name) (rate(prometheus_remote_storage_samples_failed_total{job=\"prometheus\"}[5m])) > 0",
            "Remote storage refuses samples",
            "The remote-write receiver the `remote_name` label names has refused samples for 15 minutes (a 4xx answer: a wrong login or tenant, or samples it will not take); Prometheus drops them, so long-term storage has gaps. Prometheus's log names the receiver's answer.",
            vec![series(failed.clone(), "0+10x60")],
            vec![series(failed, "0+0x60")],
        ),
        tested(
            "PrometheusRemoteWriteBehind",
            "max by (job, remote_name) (prometheus_remote_storage_highest_timestamp_in_seconds{job=\"prometheus\"} - ignoring (remote_name, url) group_right prometheus_remote_storage_queue_highest_sent_timestamp_seconds{job=\"prometheus\"}) > 120",
            "Remote storage falls behind",
            "The newest sample sent to the remote-write receiver the `remote_name` label names has been more than 2 minutes older than the newest one scraped for 15 minutes: the receiver is down or slow, and Prometheus keeps retrying. Past its write-ahead log's retention the oldest samples are lost.",
            vec![series(newest.clone(), "0+60x60"), series(sent.clone(), "0+0x60")],
            vec![series(newest, "0+60x60"), series(sent, "0+60x60")],
        ),
    ]
}

//! `kind: rabbitmq`: RabbitMQ, scraped on its built-in Prometheus plugin (`rabbitmq_prometheus`,
//! enabled in the official image: `metrics_port`, default 15692) and read in its logs.

use super::alert::*;
use super::{Catalogue, KindDef, Run, common};
use crate::ir::Service;
use crate::manifest::model::LogFormat;
use crate::manifest::model::Severity::{Critical, Warning};
use crate::targets::grafana::panels::*;

pub const DEF: KindDef = KindDef {
    fields: &["port", "host", "kubernetes", "metrics", "metrics_port"],
    requires: &["port"],
    exporter: None,
    catalogue: Some(CATALOGUE),
    alerts: ALERTS,
    rule,
    log_rule: common::error_log_spike,
    exposed: |_| CATALOGUE.exposed(false),
    log_format: |_| LogFormat::Rabbitmq,
    metrics_port: Some(METRICS_PORT),
    front_door: false,
    panels,
    connections: Some("rabbitmq_connections"),
    // The official image (docker-library/rabbitmq `4.2/ubuntu/Dockerfile`) keeps its data in
    // /var/lib/rabbitmq under the node's name, `rabbit@<hostname>`: a container recreated with
    // another hostname starts empty beside the old data, so the hostname is the service's
    // name (the image's README). `rabbitmq-diagnostics -q ping` is the check RabbitMQ's
    // monitoring guide gives for a container.
    app: |s| Run {
        data: Some("/var/lib/rabbitmq"),
        hostname: Some(s.name.to_string()),
        healthcheck: Some(["CMD", "rabbitmq-diagnostics", "-q", "ping"].map(String::from).to_vec()),
        ..Default::default()
    },
    jobs: super::no_jobs,
    job_suffixes: &[],
    backup: None,
    overview: common::no_panels,
    security: common::no_panels,
    performance: common::no_panels,
    // docker-library/rabbitmq's `docker-entrypoint.sh` (from 3.9 on; 4.2's read) exits when one
    // of these is set and not empty.
    refused_env: Some(super::RefusedEnv {
        image: "rabbitmq",
        since: (3, 9),
        vars: &[
            "RABBITMQ_DEFAULT_PASS_FILE",
            "RABBITMQ_DEFAULT_USER_FILE",
            "RABBITMQ_MANAGEMENT_SSL_CACERTFILE",
            "RABBITMQ_MANAGEMENT_SSL_CERTFILE",
            "RABBITMQ_MANAGEMENT_SSL_DEPTH",
            "RABBITMQ_MANAGEMENT_SSL_FAIL_IF_NO_PEER_CERT",
            "RABBITMQ_MANAGEMENT_SSL_KEYFILE",
            "RABBITMQ_MANAGEMENT_SSL_VERIFY",
            "RABBITMQ_SSL_CACERTFILE",
            "RABBITMQ_SSL_CERTFILE",
            "RABBITMQ_SSL_DEPTH",
            "RABBITMQ_SSL_FAIL_IF_NO_PEER_CERT",
            "RABBITMQ_SSL_KEYFILE",
            "RABBITMQ_SSL_VERIFY",
            "RABBITMQ_VM_MEMORY_HIGH_WATERMARK",
        ],
    }),
    login: None,
    basic_login: false,
    own_env: super::no_own_env,
    own_env_why: super::NO_OWN_ENV,
    lacks: super::lacks_nothing,
};

/// The port of the plugin's listener (`prometheus.tcp.port`), which the official image
/// exposes.
pub const METRICS_PORT: u16 = 15692;

/// rabbitmq_prometheus's aggregated endpoint (`/metrics`), read live off RabbitMQ 3.10.8
/// (Debian bookworm's) and checked against the 4.2 source
/// (`deps/rabbitmq_prometheus/src/collectors/prometheus_rabbitmq_core_metrics_collector.erl`,
/// `deps/rabbit/src/rabbit_global_counters.erl`), the same names from 3.10.0 to 4.3.5. The
/// queue metrics are summed over every queue there, without labels (with
/// `prometheus.return_per_object_metrics = true` they are per queue, with `vhost` and `queue`,
/// under the same names: the rules and panels sum them by service, so they read the same). The
/// global counters carry `protocol` (and the delivery ones `queue_type`).
const CATALOGUE: Catalogue = Catalogue {
    program: "RabbitMQ's Prometheus plugin",
    prefix: "rabbitmq_",
    metrics: METRICS,
    optional: &[],
    labels: &[
        ("rabbitmq_global_messages_delivered_total", &["protocol", "queue_type"]),
        ("rabbitmq_global_", &["protocol"]),
    ],
};

const METRICS: &[&str] = &[
    "rabbitmq_alarms_memory_used_watermark",
    "rabbitmq_alarms_free_disk_space_watermark",
    "rabbitmq_process_resident_memory_bytes",
    "rabbitmq_resident_memory_limit_bytes",
    "rabbitmq_disk_space_available_bytes",
    "rabbitmq_disk_space_available_limit_bytes",
    "rabbitmq_process_open_fds",
    "rabbitmq_process_max_fds",
    "rabbitmq_queue_messages_ready",
    "rabbitmq_queue_messages_unacked",
    "rabbitmq_queue_consumers",
    "rabbitmq_connections",
    "rabbitmq_channels",
    "rabbitmq_consumers",
    "rabbitmq_queues",
    "rabbitmq_global_messages_received_total",
    "rabbitmq_global_messages_delivered_total",
    "rabbitmq_global_messages_unroutable_dropped_total",
    "rabbitmq_global_messages_unroutable_returned_total",
];

/// After awesome-prometheus-alerts' "RabbitMQ: Embedded exporter" rules and RabbitMQ's
/// "Memory and Disk Alarms" guide (an alarm blocks every publishing connection).
#[rustfmt::skip]
const ALERTS: &[Builtin] = &[
    common::TARGET_DOWN,
    state(b("RabbitmqMemoryAlarm", "operational", Critical, "1m", 0.0, Unit::Count, "the memory alarm raised: RabbitMQ blocks every publisher until it clears (its Memory and Disk Alarms guide); `for` 1m rides out a spike the garbage collector frees")),
    state(b("RabbitmqDiskAlarm", "operational", Critical, "1m", 0.0, Unit::Count, "the free disk space alarm raised: RabbitMQ blocks every publisher until it clears (its Memory and Disk Alarms guide)")),
    b("RabbitmqMemoryHigh", "performance", Warning, "2m", 0.9, Unit::Ratio, "resident memory above 90% of the high watermark for 2m: APA RabbitmqMemoryHigh"),
    b("RabbitmqTooManyReadyMessages", "performance", Warning, "1m", 1000.0, Unit::Count, "more than 1,000 messages ready for 1m: APA RabbitmqTooManyReadyMessages (there by queue; here the node's, as the plugin's `/metrics` sums them)"),
    b("RabbitmqNoQueueConsumer", "operational", Warning, "1m", 0.0, Unit::Count, "messages ready and no consumer on the node for 1m: APA RabbitmqNoQueueConsumer (there any queue without a consumer; here a node with messages waiting and no consumer at all, as a worker pool that stopped leaves it)"),
    b("RabbitmqUnroutableMessages", "operational", Warning, "2m", 0.0, Unit::Count, "any message dropped or returned unroutable in 5m: APA RabbitmqUnroutableMessages (there the channels' counters, which a closed channel takes with it; here the node's global ones)"),
    common::ERROR_LOG_SPIKE,
];

fn rule(r: &ServiceAlert) -> AlertText {
    let (sel, who, tt, t, for_) = (SELECTOR, WHO, r.tt.as_str(), r.t, r.for_);
    let gauge = |m: &str, v: &str| vec![series(&r.svc(m, ""), v)];
    match r.def.name {
        "TargetDown" => common::target_down(r),
        "RabbitmqMemoryAlarm" => AlertText::new(
            format!("max by (service) (rabbitmq_alarms_memory_used_watermark{{{sel}}}) == 1"),
            format!("{who}: memory alarm, publishers blocked"),
            format!(
                "RabbitMQ {who} has used more memory than its high watermark for {for_}: it blocks every connection that publishes until memory falls below it."
            ),
            gauge("rabbitmq_alarms_memory_used_watermark", "1x60"),
            gauge("rabbitmq_alarms_memory_used_watermark", "0x60"),
        ),
        "RabbitmqDiskAlarm" => AlertText::new(
            format!("max by (service) (rabbitmq_alarms_free_disk_space_watermark{{{sel}}}) == 1"),
            format!("{who}: disk alarm, publishers blocked"),
            format!(
                "RabbitMQ {who} has had less free disk space than its limit for {for_}: it blocks every connection that publishes until space is freed."
            ),
            gauge("rabbitmq_alarms_free_disk_space_watermark", "1x60"),
            gauge("rabbitmq_alarms_free_disk_space_watermark", "0x60"),
        ),
        "RabbitmqMemoryHigh" => AlertText::new(
            format!(
                "sum by (service) (rabbitmq_process_resident_memory_bytes{{{sel}}}) / sum by (service) (rabbitmq_resident_memory_limit_bytes{{{sel}}}) > {}",
                num(t)
            ),
            format!("{who}: memory above {tt} of its high watermark"),
            format!(
                "RabbitMQ {who} has used more than {tt} of its memory high watermark for {for_}; at the watermark it blocks publishers."
            ),
            share_series(
                &r.svc("rabbitmq_process_resident_memory_bytes", ""),
                &r.svc("rabbitmq_resident_memory_limit_bytes", ""),
                above(t),
            ),
            share_series(
                &r.svc("rabbitmq_process_resident_memory_bytes", ""),
                &r.svc("rabbitmq_resident_memory_limit_bytes", ""),
                t / 2.0,
            ),
        ),
        "RabbitmqTooManyReadyMessages" => AlertText::new(
            format!("sum by (service) (rabbitmq_queue_messages_ready{{{sel}}}) > {}", num(t)),
            format!("{who}: more than {tt} messages ready"),
            format!(
                "More than {tt} messages have waited in the queues of RabbitMQ {who} for a consumer for {for_}: its consumers do not keep up."
            ),
            gauge("rabbitmq_queue_messages_ready", &format!("{}x60", num(t + 1.0))),
            gauge("rabbitmq_queue_messages_ready", &format!("{}x60", num(t))),
        ),
        "RabbitmqNoQueueConsumer" => {
            let (ready, consumers) =
                (r.svc("rabbitmq_queue_messages_ready", ""), r.svc("rabbitmq_queue_consumers", ""));
            AlertText::new(
                format!(
                    "sum by (service) (rabbitmq_queue_consumers{{{sel}}}) == 0 and sum by (service) (rabbitmq_queue_messages_ready{{{sel}}}) > {}",
                    num(t)
                ),
                format!("{who}: messages waiting with no consumer"),
                format!(
                    "Messages have waited in the queues of RabbitMQ {who} for {for_} with no consumer on any queue to take them: its workers are gone."
                ),
                vec![series(&consumers, "0x60"), series(&ready, &format!("{}x60", num(t + 5.0)))],
                vec![series(&consumers, "1x60"), series(&ready, &format!("{}x60", num(t + 5.0)))],
            )
        }
        "RabbitmqUnroutableMessages" => {
            let counter = |m: &str| r.svc(m, ",protocol=\"amqp091\"");
            let (dropped, returned) = (
                counter("rabbitmq_global_messages_unroutable_dropped_total"),
                counter("rabbitmq_global_messages_unroutable_returned_total"),
            );
            AlertText::new(
                format!(
                    "sum by (service) (increase(rabbitmq_global_messages_unroutable_dropped_total{{{sel}}}[5m])) + sum by (service) (increase(rabbitmq_global_messages_unroutable_returned_total{{{sel}}}[5m])) > {}",
                    num(t)
                ),
                format!("{who}: messages published that no queue takes"),
                format!(
                    "RabbitMQ {who} has dropped or returned messages no binding routes to a queue in the last 5 minutes, for {for_}: a publisher uses an exchange or routing key no queue is bound to."
                ),
                // Over 5m, more than the threshold dropped.
                vec![series(&dropped, &format!("0+{}x60", num(t + 5.0))), series(&returned, "0x60")],
                vec![series(&dropped, "0x60"), series(&returned, "0x60")],
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
        spec(Viz::Stat, "Up", "short", "1 when Prometheus can scrape RabbitMQ's Prometheus plugin.", vec![q(format!("min(up{{{sl}}})"), n)]),
        spec(Viz::Stat, "Alarms", "short", "Resource alarms raised (memory, free disk space): while one is, every publisher is blocked.", vec![q(format!("max(rabbitmq_alarms_memory_used_watermark{{{sl}}}) + max(rabbitmq_alarms_free_disk_space_watermark{{{sl}}})"), n)]),
        spec(Viz::TimeSeries, "Messages", "short", "Messages ready for a consumer, and delivered but not yet acknowledged, in all queues.", vec![q(format!("sum(rabbitmq_queue_messages_ready{{{sl}}})"), "ready"), q(format!("sum(rabbitmq_queue_messages_unacked{{{sl}}})"), "unacked")]),
        spec(Viz::TimeSeries, "Message rates", "ops", "Messages published, delivered to consumers, and dropped or returned unroutable, per second.", vec![q(format!("sum(rate(rabbitmq_global_messages_received_total{{{sl}}}[{RATE}]))"), "published"), q(format!("sum(rate(rabbitmq_global_messages_delivered_total{{{sl}}}[{RATE}]))"), "delivered"), q(format!("sum(rate(rabbitmq_global_messages_unroutable_dropped_total{{{sl}}}[{RATE}])) + sum(rate(rabbitmq_global_messages_unroutable_returned_total{{{sl}}}[{RATE}]))"), "unroutable")]),
        spec(Viz::TimeSeries, "Connections, channels, consumers", "short", "Open client connections, channels and consumers; queues.", vec![q(format!("sum(rabbitmq_connections{{{sl}}})"), "connections"), q(format!("sum(rabbitmq_channels{{{sl}}})"), "channels"), q(format!("sum(rabbitmq_consumers{{{sl}}})"), "consumers"), q(format!("sum(rabbitmq_queues{{{sl}}})"), "queues")]),
        spec(Viz::TimeSeries, "Memory", "bytes", "Resident memory and the high watermark that raises the memory alarm.", vec![q(format!("sum(rabbitmq_process_resident_memory_bytes{{{sl}}})"), "used"), q(format!("sum(rabbitmq_resident_memory_limit_bytes{{{sl}}})"), "watermark")]),
        spec(Viz::TimeSeries, "Free disk space", "bytes", "Free disk space of the data directory, and the limit below which the disk alarm is raised.", vec![q(format!("sum(rabbitmq_disk_space_available_bytes{{{sl}}})"), "free"), q(format!("sum(rabbitmq_disk_space_available_limit_bytes{{{sl}}})"), "limit")]),
        spec(Viz::TimeSeries, "File descriptors", "short", "Open file descriptors (each connection holds one) and the limit.", vec![q(format!("sum(rabbitmq_process_open_fds{{{sl}}})"), "open"), q(format!("sum(rabbitmq_process_max_fds{{{sl}}})"), "limit")]),
    ]
}

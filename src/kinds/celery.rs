//! `kind: celery`: Celery workers, read through celery-exporter, which listens to the events
//! the workers send to their broker (`broker`: a redis or rabbitmq service) and asks the broker
//! for its queues' lengths.
//!
//! The workers listen on no port, and have nothing of their own to scrape: every series comes
//! from the exporter. A worker that sends no task events is seen only by its heartbeats (and
//! `celery_worker_up`): on a container the stack runs, sightline turns its task events on.
//!
//! Up is "some worker sends heartbeats" (`up`): CeleryWorkersDown says when none does, and
//! inhibits the rest.

use super::alert::*;
use super::{Catalogue, Exporter, KindDef, Run, Var, common};
use crate::ir::Service;
use crate::ir::defaults;
use crate::manifest::model::LogFormat;
use crate::manifest::model::Severity::{Critical, Warning};
use crate::targets::grafana::panels::*;

/// The variable the workers' container gets: `celery worker` reads its options from
/// `CELERY_WORKER_<OPTION>` (celery 5: `celery(auto_envvar_prefix="CELERY")` in
/// `celery/bin/celery.py`, click's automatic variables), and this one is `-E`/`--task-events`:
/// the task events the exporter counts. Without them only heartbeats arrive (read live in the
/// rehearsal: celery 5.5.2's worker banner says `task events: ON` with it and no `-E`).
const TASK_EVENTS: &str = "CELERY_WORKER_TASK_EVENTS";

pub const DEF: KindDef = KindDef {
    fields: &["broker", "queues", "user", "password", "kubernetes"],
    requires: &["broker"],
    exporter: Some(EXPORTER),
    catalogue: Some(CATALOGUE),
    alerts: ALERTS,
    rule,
    log_rule: common::error_log_spike,
    exposed: |_| CATALOGUE.exposed(false),
    log_format: |_| LogFormat::Celery,
    metrics_port: None,
    front_door: false,
    panels,
    connections: None,
    // The workers' image is the application's, with its own command (`compose.command`, e.g.
    // `celery -A shop worker`): sightline adds their task events. It has no healthcheck: `celery
    // inspect ping` needs the application's module or the broker's login, neither of which the
    // image is known to take on a command line.
    app: |_| Run { env: vec![(TASK_EVENTS, Var::Value("1".into()))], ..Default::default() },
    jobs: super::no_jobs,
    job_suffixes: &[],
    backup: None,
    overview: common::no_panels,
    security: common::no_panels,
    performance: |_| {
        vec![spec(
            Viz::TimeSeries,
            "Celery task runtime (p95)",
            "s",
            "95th percentile of the time a task took to run, by service.",
            vec![q(
                format!("histogram_quantile(0.95, sum by (service, le) (rate(celery_task_runtime_bucket[{RATE}])))"),
                "{{service}}",
            )],
        )]
    },
    refused_env: None,
    login: None,
    basic_login: true,
    own_env: |_| &[TASK_EVENTS],
    own_env_why: (
        "set by its kind: the workers' task events",
        "leave it out: sightline sets it to 1, which `celery worker` reads as `-E`, so the exporter sees every task",
    ),
    lacks: super::lacks_nothing,
};

/// Its exporter, as the compose file runs it.
const EXPORTER: Exporter = Exporter {
    image: &defaults::CELERY_EXPORTER,
    // Its default `--port` (v0.11.2 `src/cli.py`; the Dockerfile's EXPOSE 9808).
    port: 9808,
    // 1 while a worker sends heartbeats, 0 once it says it goes offline or is silent for
    // `--worker-timeout` (300 s), and gone `--purge-offline-worker-metrics` (600 s) after its
    // last heartbeat (v0.11.2 `src/exporter.py`): `up` counts the workers that are gone.
    up_metric: "celery_worker_up",
    up_expr: Some(up),
    down_alert: "CeleryWorkersDown",
    // Its landing page, which asks the broker nothing (v0.11.2 `src/http_server.py`); `/health`
    // asks the broker, `/metrics` every worker.
    health_path: "/",
    run: exporter_run,
    program_alone: None,
};

/// The image's entrypoint (v0.11.2's Dockerfile: `ENTRYPOINT ["python", "/app/cli.py"]`, which
/// reads `CE_`-prefixed variables).
const PROGRAM: &str = "python /app/cli.py";

/// The exporter, given the broker's URL, the queues to read from the start, and a retry
/// interval: with the default (0) it exits when the broker goes away, and compose restarts it
/// with a growing delay; with one, it stays up and reconnects (read live: `/metrics` answers 500
/// while the broker is down, and the events come back with it). With a login, the URL holds the
/// password: the image's `sh` reads the password's file, its Python percent-encodes it, and the
/// URL goes to the exporter in `CE_BROKER_URL`, never on its command line, nor in its log.
fn exporter_run(s: &Service) -> Run<'_> {
    // None only where the checks refused the manifest (SL005, SL202, SL220): nothing is built.
    let Some(broker) = s.broker.as_ref() else { return Run::default() };
    let mut run = match s.login.as_ref() {
        None => Run { command: vec![format!("--broker-url={}", broker.url(""))], ..Default::default() },
        Some(login) => {
            let url = broker.url(&format!("{}:${{password}}@", crate::ir::percent_encode(&login.user)));
            common::password_then(
                ("password", "CE_BROKER_PASSWORD_FILE"),
                common::PasswordAs::UrlEncoded,
                ("celery-exporter", PROGRAM),
                &format!("CE_BROKER_URL=\"{url}\"; export CE_BROKER_URL"),
                &login.password,
            )
        }
    };
    run.command.extend([format!("--queues={}", broker.queues.join(",")), "--retry-interval=5".into()]);
    // Its logger (loguru, at its defaults: `diagnose` and `backtrace` on) prints the variables of
    // every frame of a logged exception, its callers' too: with a broker error, click's
    // parameters, the broker's URL and its password among them (read live: 3 lines of a
    // 12-second run against an absent broker, none with these).
    run.env.extend([("LOGURU_DIAGNOSE", Var::Value("NO".into())), ("LOGURU_BACKTRACE", Var::Value("NO".into()))]);
    run
}

/// 1 when a worker of the service sends heartbeats, 0 when the exporter answers and none does
/// (every worker offline, or gone from its series), by service.
fn up(sel: &str) -> String {
    format!("(max by (service) (celery_worker_up{{{sel}}}) or 0 * min by (service) (up{{{sel},probe=\"\"}} == 1))")
}

/// celery-exporter v0.11.2 (`src/exporter.py`), read live by the rehearsal: the task counters
/// by task (`name`), the worker's host (`hostname`: what follows `@` in its node name) and
/// queue; `task_failed` with the exception's class too; the workers by host, the queues by
/// name; task runtimes in prometheus_client's default buckets (5 ms to 10 s).
const CATALOGUE: Catalogue = Catalogue {
    program: "celery-exporter",
    prefix: "celery_",
    metrics: METRICS,
    optional: &[],
    labels: &[
        ("celery_task_failed_total", &["name", "hostname", "queue_name", "exception"]),
        ("celery_task_runtime_bucket", &["name", "hostname", "queue_name", "le"]),
        ("celery_task_", &["name", "hostname", "queue_name"]),
        ("celery_worker_", &["hostname"]),
        ("celery_queue_length", &["queue_name"]),
        ("celery_active_", &["queue_name"]),
    ],
};

const METRICS: &[&str] = &[
    "celery_task_sent_total",
    "celery_task_received_total",
    "celery_task_started_total",
    "celery_task_succeeded_total",
    "celery_task_failed_total",
    "celery_task_rejected_total",
    "celery_task_revoked_total",
    "celery_task_retried_total",
    "celery_task_runtime_bucket",
    "celery_worker_up",
    "celery_worker_tasks_active",
    "celery_queue_length",
    "celery_active_worker_count",
    "celery_active_process_count",
];

/// From celery-mixin (danihodovic/celery-exporter `celery-mixin/alerts/alerts.libsonnet` and
/// `config.libsonnet`, the same at v0.11.2 and v0.12.2), over celery-exporter's series. The
/// mixin's CeleryWorkerDown (`celery_worker_up == 0` for 15m, per worker) cannot fire with the
/// exporter's defaults: a worker's series is set to 0 after 5m of silence and removed 10m after
/// its last heartbeat, so it is never 0 for 15m. CeleryWorkersDown keeps the mixin's 15m over
/// what stays true: no worker of the service sends heartbeats, its series 0 or gone.
#[rustfmt::skip]
const ALERTS: &[Builtin] = &[
    state(b("CeleryWorkersDown", "operational", Critical, "15m", 0.0, Unit::Count, "no worker sends heartbeats (each 0 or gone) while the exporter answers, for 15m: celery-mixin CeleryWorkerDown's interval, over all the service's workers (the mixin's per-worker `celery_worker_up == 0` never lasts 15m: the exporter drops a worker's series 10m after its last heartbeat)")),
    common::EXPORTER_DOWN,
    b("CeleryTaskHighFailRate", "operational", Warning, "1m", 0.05, Unit::Ratio, "more than 5% of a task's runs failed over 10m, by task and queue, for 1m: celery-mixin CeleryTaskHighFailRate"),
    b("CeleryHighQueueLength", "performance", Warning, "20m", 100.0, Unit::Count, "more than 100 messages waiting in a queue for 20m: celery-mixin CeleryHighQueueLength"),
    common::ERROR_LOG_SPIKE,
];

fn rule(r: &ServiceAlert) -> AlertText {
    let (sel, who, tt, t, for_) = (SELECTOR, WHO, r.tt.as_str(), r.t, r.for_);
    let task = ",name=\"tasks.send_email\",hostname=\"worker-1\",queue_name=\"celery\"";
    match r.def.name {
        // Fed the way the mixin's alert misses: the exporter answers and no worker's series is
        // left.
        "CeleryWorkersDown" => AlertText::new(
            format!("{} == 0", up(sel)),
            format!("{who}: no Celery worker is up"),
            format!(
                "No worker of {who} has been up for {for_} (each said it went offline, or has sent no heartbeat for 5 minutes): nothing runs its tasks."
            ),
            vec![series(&r.exp("up", ""), "1x60")],
            vec![
                series(&r.exp("up", ""), "1x60"),
                series(&r.exp("celery_worker_up", ",hostname=\"worker-1\""), "1x60"),
            ],
        ),
        "ExporterDown" => common::exporter_down(r),
        "CeleryTaskHighFailRate" => {
            let by = "service, queue_name, name";
            let increase = |m: &str| format!("sum by ({by}) (increase({m}{{{sel}}}[10m]))");
            let (failed, succeeded) = (increase("celery_task_failed_total"), increase("celery_task_succeeded_total"));
            let failed_series = r.exp("celery_task_failed_total", &format!("{task},exception=\"SMTPException\""));
            let succeeded_series = r.exp("celery_task_succeeded_total", task);
            let mut text = AlertText::new(
                format!("{failed} / ({failed} + {succeeded}) > {}", num(t)),
                format!("{who}: more than {tt} of task {{{{ $labels.name }}}} failed"),
                format!(
                    "More than {tt} of the runs of task {{{{ $labels.name }}}} of {who} failed over the last 10 minutes (its `queue_name` is `celery` unless the clients send task-sent events)."
                ),
                ratio_series(&failed_series, &succeeded_series, above(t)),
                ratio_series(&failed_series, &succeeded_series, t / 2.0),
            );
            text.kept.extend([("queue_name".into(), "celery".into()), ("name".into(), "tasks.send_email".into())]);
            text
        }
        "CeleryHighQueueLength" => {
            let queue = r.exp("celery_queue_length", ",queue_name=\"celery\"");
            let mut text = AlertText::new(
                format!("sum by (service, queue_name) (celery_queue_length{{{sel}}}) > {}", num(t)),
                format!("{who}: queue {{{{ $labels.queue_name }}}} holds more than {tt} messages"),
                format!(
                    "Queue {{{{ $labels.queue_name }}}} of {who} has held more than {tt} waiting messages for {for_}: its workers do not keep up, or none consumes it."
                ),
                vec![series(&queue, &format!("{}x60", num(t * 2.0 + 10.0)))],
                vec![series(&queue, &format!("{}x60", num((t / 2.0).floor())))],
            );
            text.kept.push(("queue_name".into(), "celery".into()));
            text
        }
        other => unreachable!("no expression for built-in alert {other}"),
    }
}

/// Its dashboard's panels, for the service the dashboard's `service` variable chooses
/// (`targets::grafana::panels` is the kit; the logs panel follows them).
#[rustfmt::skip]
fn panels(_: &Service) -> Vec<Spec> {
    let (n, sl) = (SERVICE, CHOSEN);
    let rate = |m: &str| format!("sum(rate(celery_task_{m}_total{{{sl}}}[{RATE}]))");
    let by_task = |m: &str| format!("sum by (name) (rate(celery_task_{m}_total{{{sl}}}[{RATE}]))");
    vec![
        spec(Viz::Stat, "Workers up", "short", "Workers sending heartbeats to the broker.", vec![q(format!("sum(celery_worker_up{{{sl}}})"), n)]),
        spec(Viz::TimeSeries, "Tasks", "ops", "Tasks per second, by outcome.", ["succeeded", "failed", "retried", "rejected", "revoked"].iter().map(|m| q(rate(m), *m)).collect()),
        spec(Viz::TimeSeries, "Failure ratio", "percentunit", "Failed runs over finished runs, by task.", vec![q(format!("{} / ({} + {})", by_task("failed"), by_task("failed"), by_task("succeeded")), "{{name}}")]),
        spec(Viz::TimeSeries, "Task runtime (p95)", "s", "95th percentile of the time a task took to run, by task.", vec![q(format!("histogram_quantile(0.95, sum by (name, le) (rate(celery_task_runtime_bucket{{{sl}}}[{RATE}])))"), "{{name}}")]),
        spec(Viz::TimeSeries, "Queue length", "short", "Messages waiting in each queue.", vec![q(format!("sum by (queue_name) (celery_queue_length{{{sl}}})"), "{{queue_name}}")]),
        spec(Viz::TimeSeries, "Workers and processes per queue", "short", "Workers consuming each queue, and their pool processes.", vec![q(format!("sum by (queue_name) (celery_active_worker_count{{{sl}}})"), "{{queue_name}} workers"), q(format!("sum by (queue_name) (celery_active_process_count{{{sl}}})"), "{{queue_name}} processes")]),
        spec(Viz::TimeSeries, "Active tasks", "short", "Tasks running now, by worker host.", vec![q(format!("sum by (hostname) (celery_worker_tasks_active{{{sl}}})"), "{{hostname}}")]),
    ]
}

//! `kind: mongodb`: a MongoDB server (mongod), read through Percona's mongodb_exporter.
//!
//! The exporter runs with its diagnostic-data collector (`--collector.diagnosticdata`): at its
//! defaults it writes `mongodb_up` and nothing about the server (v0.51.0 `main.go`: every
//! collector is off unless named, or `--collect-all`, which also runs the per-collection ones).
//! That collector reads `getDiagnosticData` on every scrape and writes `serverStatus` as
//! `mongodb_ss_*`, each document path a metric and some paths a label
//! (`exporter/metrics.go`: `connections.current` is `mongodb_ss_connections{conn_type="current"}`).
//!
//! `mongodb_up` is 0 when the server does not answer a `ping` (or the exporter's login fails:
//! the driver logs in as it connects), but 1 when authorization is on and the exporter has no
//! login: a `ping` needs none (mongod's `PingCommand::requiresAuth` is false,
//! `src/mongo/db/commands/generic.cpp`), `getDiagnosticData` does, and its series are then not
//! written (`general_collector.go`, `diagnostic_data_collector.go`). So the server is up for
//! sightline when `mongodb_up` is 1 and its uptime is there (`up`): MongodbDown says when it is
//! not, and inhibits the rest.

use super::alert::*;
use super::{Catalogue, Exporter, KindDef, Run, common};
use crate::ir::Service;
use crate::ir::defaults;
use crate::manifest::model::LogFormat;
use crate::manifest::model::Severity::{Critical, Warning};
use crate::targets::grafana::panels::*;

pub const DEF: KindDef = KindDef {
    fields: &["port", "host", "kubernetes", "user", "password"],
    requires: &["port"],
    exporter: Some(EXPORTER),
    catalogue: Some(CATALOGUE),
    alerts: ALERTS,
    rule,
    log_rule: common::error_log_spike,
    exposed: |_| CATALOGUE.exposed(false),
    log_format: |_| LogFormat::Mongodb,
    metrics_port: None,
    front_door: false,
    panels,
    connections: Some("mongodb_ss_connections{conn_type=\"current\"}"),
    app,
    jobs: super::no_jobs,
    job_suffixes: &[],
    backup: None,
    overview: common::no_panels,
    security: common::no_panels,
    performance: |_| {
        vec![spec(
            Viz::TimeSeries,
            "MongoDB operation latency",
            "s",
            "Average time a read and a write took on the server over the interval, by service.",
            vec![
                q(latency("reads", "", "service"), "{{service}} reads"),
                q(latency("writes", "", "service"), "{{service}} writes"),
            ],
        )]
    },
    refused_env: None,
    login: None,
    basic_login: true,
    own_env: super::no_own_env,
    own_env_why: super::NO_OWN_ENV,
    lacks: super::lacks_nothing,
};

/// Its exporter, as the compose file runs it.
const EXPORTER: Exporter = Exporter {
    image: &defaults::MONGODB_EXPORTER,
    // Its default `--web.listen-address` (v0.51.0 `main.go`; the Dockerfile's EXPOSE 9216).
    port: 9216,
    // 1 when the server answers a `ping` (but also when it refuses the exporter: `up`).
    up_metric: "mongodb_up",
    up_expr: Some(up),
    down_alert: "MongodbDown",
    // Its landing page, which does not ask the server (v0.51.0 `exporter/server.go`). Its own
    // image is FROM scratch, with nothing to ask it with; the image built with a shell for a
    // login asks with the Prometheus image's `wget`.
    health_path: "/",
    run: exporter_run,
    // Its Dockerfile at v0.51.0: `COPY ./mongodb_exporter /` onto scratch.
    program_alone: Some("/mongodb_exporter"),
};

/// The exporter, pointed at the server, with its diagnostic-data collector, and the service's
/// login when it has one: mongodb_exporter reads a login only from `MONGODB_USER` and
/// `MONGODB_PASSWORD` (or the URI; v0.51.0 `main.go`), and puts it into the connection URI
/// encoded (Go's `url.UserPassword`), so any character is safe. Its image has no shell to read
/// the password's file with: with a login it is built with one (`targets::exporter_image`),
/// whose `sh` reads it first. It logs in on `admin` (the URI names no database).
fn exporter_run(s: &Service) -> Run<'_> {
    let mut run = common::exporter_login(
        s.login.as_ref(),
        "MONGODB_USER",
        ("MONGODB_PASSWORD", "MONGODB_PASSWORD_FILE"),
        common::PasswordAs::Raw,
        &crate::targets::exporter_image::program(s),
    );
    run.command = vec![format!("--mongodb.uri=mongodb://{}:{}", s.host, s.port), "--collector.diagnosticdata".into()];
    run
}

/// 1 when the exporter reads the server: it answers a `ping` and its `serverStatus` is there (a
/// server whose authorization refuses the exporter answers the first and not the second), 0
/// when the exporter answers and does not; by service.
fn up(sel: &str) -> String {
    common::up_when_read(&format!("min by (service) (mongodb_up{{{sel}}})"), &format!("mongodb_ss_uptime{{{sel}}}"))
}

/// The average seconds an operation of `op_type` took over the interval, by `by`: MongoDB
/// counts latencies in microseconds (`serverStatus.opLatencies`).
fn latency(op_type: &str, sel: &str, by: &str) -> String {
    let (sep, rate) = (if sel.is_empty() { "" } else { "," }, RATE);
    format!(
        "sum by ({by}) (rate(mongodb_ss_opLatencies_latency{{{sel}{sep}op_type=\"{op_type}\"}}[{rate}])) / sum by ({by}) (rate(mongodb_ss_opLatencies_ops{{{sel}{sep}op_type=\"{op_type}\"}}[{rate}])) / 1e6"
    )
}

/// mongodb_exporter v0.51.0: `exporter/general_collector.go` (`mongodb_up{cluster_role}`),
/// `exporter/metrics.go` (the label each `serverStatus` path gives its values:
/// `connections.*` `conn_type`, `metrics.cursor.open.*` `csr_type`, `opcounters.*`
/// `legacy_op_type`, `metrics.document.*` `doc_op_type`, `opLatencies.*` `op_type`), and read off
/// the exporter in the rehearsal, reading a MongoDB server's `getDiagnosticData`.
const CATALOGUE: Catalogue = Catalogue {
    program: "mongodb_exporter",
    prefix: "mongodb_",
    metrics: METRICS,
    optional: &[],
    labels: &[
        ("mongodb_up", &["cluster_role"]),
        ("mongodb_ss_connections", &["conn_type"]),
        ("mongodb_ss_metrics_cursor_open", &["csr_type"]),
        ("mongodb_ss_opcounters", &["legacy_op_type"]),
        ("mongodb_ss_metrics_document", &["doc_op_type"]),
        ("mongodb_ss_opLatencies_", &["op_type"]),
    ],
};

const METRICS: &[&str] = &[
    "mongodb_up",
    "mongodb_ss_uptime",
    "mongodb_ss_connections",
    "mongodb_ss_metrics_cursor_open",
    "mongodb_ss_metrics_cursor_timedOut",
    "mongodb_ss_opcounters",
    "mongodb_ss_metrics_document",
    "mongodb_ss_opLatencies_latency",
    "mongodb_ss_opLatencies_ops",
    "mongodb_ss_mem_resident",
    "mongodb_ss_wt_cache_bytes_currently_in_the_cache",
    "mongodb_ss_wt_cache_maximum_bytes_configured",
    "mongodb_ss_network_bytesIn",
    "mongodb_ss_network_bytesOut",
];

/// After awesome-prometheus-alerts' rules for Percona's mongodb_exporter (read at a853318,
/// 2026-08-01). Left out: the replica set's (one host runs a standalone server), the
/// WiredTiger ticket alerts (they select `txn_rw_type`, where v0.51.0 labels the tickets
/// `txn_rw`, read off the exporter: they cannot fire; and MongoDB 7.0 and later size the ticket
/// pool dynamically, so few available tickets is no alarm there), and the recent-restart one
/// (uptime under 5 minutes, at `info`: it fires whenever the stack starts, and a restart long
/// enough to matter is MongodbDown).
#[rustfmt::skip]
const ALERTS: &[Builtin] = &[
    state(b("MongodbDown", "operational", Critical, "1m", 0.0, Unit::Count, "the exporter cannot read the server: it does not answer a ping, or answers and refuses the exporter (authorization on: the exporter has no login): APA MongodbDown (mongodb_up == 0, `for` 1m to ride out a restart)")),
    common::EXPORTER_DOWN,
    b("MongodbTooManyConnections", "performance", Warning, "2m", 0.8, Unit::Ratio, "connections above 80% of the server's limit (current plus available: net.maxIncomingConnections, or what the process's file limit allows) for 2m: APA MongodbTooManyConnections (Percona)"),
    b("MongodbNumberCursorsOpen", "performance", Warning, "2m", 10000.0, Unit::Count, "more than 10k cursors open for 2m: APA MongodbNumberCursorsOpen (Percona), a rough default that scales with the clients' load"),
    b("MongodbCursorsTimeouts", "performance", Warning, "2m", 100.0, Unit::Count, "more than 100 cursors timed out a minute (idle for 10m: the clients left them open), over 5m, for 2m: APA MongodbCursorsTimeouts (Percona; over 1m there)"),
    common::ERROR_LOG_SPIKE,
];

fn rule(r: &ServiceAlert) -> AlertText {
    let (sel, who, tt, t, for_) = (SELECTOR, WHO, r.tt.as_str(), r.t, r.for_);
    let uptime = |values: &str| series(&r.exp("mongodb_ss_uptime", ""), values);
    let connections = |share: f64| {
        let current = (1000.0 * share).round();
        vec![
            series(&r.exp("mongodb_ss_connections", ",conn_type=\"current\""), &format!("{}x60", num(current))),
            series(
                &r.exp("mongodb_ss_connections", ",conn_type=\"available\""),
                &format!("{}x60", num(1000.0 - current)),
            ),
        ]
    };
    match r.def.name {
        // Fed the subtler way down: the server answers the ping and refuses the rest, so
        // `mongodb_up` is 1 and `serverStatus` is missing (the rehearsal stops a server, and
        // turns one's authorization on).
        "MongodbDown" => AlertText::new(
            format!("{} == 0", up(sel)),
            format!("{who} is down"),
            format!(
                "The exporter of {who} answers but cannot read the server: {who} does not answer, or refuses the exporter (authorization on: the exporter has no login, or a wrong one)."
            ),
            vec![series(&r.exp("mongodb_up", ",cluster_role=\"mongod\""), "1x60")],
            vec![series(&r.exp("mongodb_up", ",cluster_role=\"mongod\""), "1x60"), uptime("100+15x60")],
        ),
        "ExporterDown" => common::exporter_down(r),
        "MongodbTooManyConnections" => AlertText::new(
            format!(
                "sum by (service) (mongodb_ss_connections{{{sel},conn_type=\"current\"}}) / sum by (service) (mongodb_ss_connections{{{sel},conn_type=~\"current|available\"}}) > {}",
                num(t)
            ),
            format!("{who}: connections above {tt} of its limit"),
            format!(
                "{who} has had more than {tt} of its connection limit open for {for_}; at the limit it refuses new clients."
            ),
            connections(above(t)),
            connections(t / 2.0),
        ),
        "MongodbNumberCursorsOpen" => AlertText::new(
            format!("max by (service) (mongodb_ss_metrics_cursor_open{{{sel},csr_type=\"total\"}}) > {}", num(t)),
            format!("{who}: more than {tt} cursors open"),
            format!(
                "{who} has had more than {tt} cursors open for {for_}: clients open cursors and do not exhaust or close them, and each holds memory on the server."
            ),
            vec![series(
                &r.exp("mongodb_ss_metrics_cursor_open", ",csr_type=\"total\""),
                &format!("{}x60", num(t + 100.0)),
            )],
            vec![series(
                &r.exp("mongodb_ss_metrics_cursor_open", ",csr_type=\"total\""),
                &format!("{}x60", num(t / 2.0)),
            )],
        ),
        "MongodbCursorsTimeouts" => AlertText::new(
            // Per minute over 5m, as the other kinds' windows: APA's `[1m]` holds a single sample
            // at a one-minute scrape interval (Prometheus 3's windows are open at the start).
            format!("sum by (service) (increase(mongodb_ss_metrics_cursor_timedOut{{{sel}}}[5m])) / 5 > {}", num(t)),
            format!("{who}: cursors timing out"),
            format!(
                "More than {tt} cursors a minute of {who} have timed out for {for_}: clients leave them idle for 10 minutes, and the server closes them under them."
            ),
            // Scraped every minute in the tests: twice the threshold a minute, and half of it.
            vec![series(&r.exp("mongodb_ss_metrics_cursor_timedOut", ""), &format!("0+{}x60", num(t * 2.0)))],
            vec![series(&r.exp("mongodb_ss_metrics_cursor_timedOut", ""), &format!("0+{}x60", num(t / 2.0)))],
        ),
        other => unreachable!("no expression for built-in alert {other}"),
    }
}

/// Its dashboard's panels, for the service the dashboard's `service` variable chooses
/// (`targets::grafana::panels` is the kit; the logs panel follows them).
#[rustfmt::skip]
fn panels(_: &Service) -> Vec<Spec> {
    let (n, sl) = (SERVICE, CHOSEN);
    vec![
        spec(Viz::Stat, "Up", "short", "Whether the exporter reads the server: it answers a ping and its serverStatus is there (a server that refuses the exporter has none).", vec![q(format!("min({})", up(sl)), n)]),
        spec(Viz::TimeSeries, "Operations", "ops", "Operations per second, by type (serverStatus.opcounters).", vec![q(format!("sum by (legacy_op_type) (rate(mongodb_ss_opcounters{{{sl}}}[{RATE}]))"), "{{legacy_op_type}}")]),
        spec(Viz::TimeSeries, "Latency", "s", "Average time a read, a write and a command took.", ["reads", "writes", "commands"].map(|op| q(latency(op, sl, "op_type"), "{{op_type}}")).to_vec()),
        spec(Viz::TimeSeries, "Connections", "short", "Open connections, and the limit (open plus available).", vec![q(format!("sum(mongodb_ss_connections{{{sl},conn_type=\"current\"}})"), "open"), q(format!("sum(mongodb_ss_connections{{{sl},conn_type=~\"current|available\"}})"), "limit")]),
        spec(Viz::TimeSeries, "Cursors", "short", "Cursors open, and cursors timed out per minute.", vec![q(format!("sum(mongodb_ss_metrics_cursor_open{{{sl},csr_type=\"total\"}})"), "open"), q(format!("sum(rate(mongodb_ss_metrics_cursor_timedOut{{{sl}}}[{RATE}])) * 60"), "timed out/min")]),
        spec(Viz::TimeSeries, "Documents", "ops", "Documents returned, inserted, updated and deleted per second.", vec![q(format!("sum by (doc_op_type) (rate(mongodb_ss_metrics_document{{{sl}}}[{RATE}]))"), "{{doc_op_type}}")]),
        spec(Viz::TimeSeries, "Memory and cache", "bytes", "Resident memory (MongoDB reports it in MiB), and the WiredTiger cache's use and size.", vec![q(format!("sum(mongodb_ss_mem_resident{{{sl}}}) * 1048576"), "resident"), q(format!("sum(mongodb_ss_wt_cache_bytes_currently_in_the_cache{{{sl}}})"), "cache used"), q(format!("sum(mongodb_ss_wt_cache_maximum_bytes_configured{{{sl}}})"), "cache size")]),
        spec(Viz::TimeSeries, "Network", "Bps", "Bytes received and sent per second.", vec![q(format!("sum(rate(mongodb_ss_network_bytesIn{{{sl}}}[{RATE}]))"), "in"), q(format!("sum(rate(mongodb_ss_network_bytesOut{{{sl}}}[{RATE}]))"), "out")]),
    ]
}

/// Its own container, the official image (docker-library/mongo `8.0/Dockerfile`): its data in
/// a volume at `/data/db` (the image's VOLUME), and a healthcheck that the server answers a
/// `ping` (which needs no login) through the image's `mongosh`, each try within 3 s of
/// compose's 5 (mongosh, a Node.js program, takes a second to start). mongosh writes a log file
/// of each run under its `HOME`, which the image sets to the data directory: `/tmp` instead.
fn app(s: &Service) -> Run<'_> {
    let check =
        format!("mongosh --quiet --norc --port {} --eval 'quit(db.adminCommand({{ ping: 1 }}).ok ? 0 : 1)'", s.port);
    Run {
        data: Some("/data/db"),
        healthcheck: Some(vec!["CMD-SHELL".into(), format!("HOME=/tmp timeout 3 {check}")]),
        ..Default::default()
    }
}

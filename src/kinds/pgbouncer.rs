//! `kind: pgbouncer`: PgBouncer, read through prometheus-pgbouncer-exporter (spreaker's).
//!
//! The exporter logs in to PgBouncer's admin console (the `pgbouncer` database) as a user of its
//! `stats_users` and reads `SHOW STATS`, `SHOW POOLS`, `SHOW DATABASES` and `SHOW CONFIG` on
//! every scrape (2.1.1 `collector.py`). `pgbouncer_up` is 1 only when all four answered: 0 when
//! PgBouncer does not answer or refuses the login, and then the other series are not written.
//! Pools appear once a client has used them; the admin console's own (`database="pgbouncer"`)
//! is always there, holding the exporter's connection.
//!
//! Prometheus's Python client (0.8.0, which the exporter pins) names every counter `…_total`:
//! `pgbouncer_stats_queries_duration_microseconds_total`, where the exporter's README writes
//! `pgbouncer_stats_queries_duration_microseconds` (read off the exporter in the rehearsal).

use super::alert::*;
use super::common::{self, PasswordAs};
use super::{Catalogue, Exporter, KindDef, Run, Var};
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
    log_format: |_| LogFormat::Pgbouncer,
    metrics_port: None,
    front_door: false,
    panels,
    // Clients logged in, idle or busy (PgBouncer counts an idle client as active: linked or
    // ready to be linked to a server connection), and those waiting: all of them, a full pool
    // included.
    connections: Some("pgbouncer_pools_client_active_connections + pgbouncer_pools_client_waiting_connections"),
    // PgBouncer has no official image; those in use (edoburu/pgbouncer, bitnami/pgbouncer) set
    // it up from variables of their own, given in `compose.environment`. It keeps no data.
    app: |_| Run::default(),
    jobs: super::no_jobs,
    job_suffixes: &[],
    backup: None,
    overview: common::no_panels,
    security: common::no_panels,
    performance: |_| {
        vec![spec(
            Viz::TimeSeries,
            "PgBouncer client wait",
            "s",
            "Average time a client waited for a server connection, per transaction, by service.",
            vec![q(wait_per_transaction("", "service"), "{{service}}")],
        )]
    },
    refused_env: None,
    login: None,
    basic_login: true,
    own_env: super::no_own_env,
    own_env_why: super::NO_OWN_ENV,
    lacks: super::lacks_nothing,
};

/// The average seconds a client waited for a server connection, per transaction, by `by`, over
/// the series `sel` matches. PgBouncer adds to its wait time each time it gives a client a
/// server connection (1.18 `objects.c`), once a transaction in transaction pooling: per
/// transaction, not per query.
fn wait_per_transaction(sel: &str, by: &str) -> String {
    format!(
        "sum by ({by}) (rate(pgbouncer_stats_waiting_duration_microseconds_total{{{sel}}}[{RATE}])) / 1e6 / sum by ({by}) (rate(pgbouncer_stats_transactions_total{{{sel}}}[{RATE}]))"
    )
}

/// Its exporter, as the compose file runs it.
const EXPORTER: Exporter = Exporter {
    image: &defaults::PGBOUNCER_EXPORTER,
    // The image's `PGBOUNCER_EXPORTER_PORT` (its Dockerfile's ENV, commit 9f6c5b5).
    port: 9127,
    up_metric: "pgbouncer_up",
    up_expr: None,
    down_alert: "PgbouncerDown",
    // Prometheus's Python client serves the metrics for any request (0.8.0's wsgi server,
    // whatever the method and path): each asks PgBouncer and waits for it up to the image's
    // `connect_timeout` (5 s, as long as compose's healthcheck), so the image's probe only
    // connects (`defaults::PGBOUNCER_EXPORTER`); no path is asked for.
    health_path: "/",
    run: exporter_run,
    program_alone: None,
};

/// The image's configuration (`/etc/pgbouncer-exporter/config.yml`, its repository's
/// `config.docker.yml`) reads the exporter's address and PgBouncer's from variables, and puts
/// `PGBOUNCER_PASS` into a connection URL as it is: the image's `sh` reads the password from
/// its secret's file percent-encoded, with the image's `python3`. Without a login the image's
/// own (user `pgbouncer`, no password) is left.
fn exporter_run(s: &Service) -> Run<'_> {
    let mut run = common::exporter_login(
        s.login.as_ref(),
        "PGBOUNCER_USER",
        ("PGBOUNCER_PASS", "PGBOUNCER_PASS_FILE"),
        PasswordAs::UrlEncoded,
        "pgbouncer-exporter",
    );
    if s.login.is_some() {
        // An entrypoint set in compose drops the image's command: given again.
        run.command = ["--config", "/etc/pgbouncer-exporter/config.yml"].map(String::from).to_vec();
    }
    // The image listens on 127.0.0.1 unless told otherwise.
    let env = [
        ("PGBOUNCER_EXPORTER_HOST", "0.0.0.0".to_string()),
        ("PGBOUNCER_HOST", s.host.clone()),
        ("PGBOUNCER_PORT", s.port.to_string()),
    ];
    for (i, (k, v)) in env.into_iter().enumerate() {
        run.env.insert(i, (k, Var::Value(v)));
    }
    run
}

/// prometheus-pgbouncer-exporter 2.1.1 `collector.py`: `SHOW POOLS` by `database` and `user`,
/// `SHOW STATS` by `database`, `SHOW DATABASES` by `database` and `backend_database`, `SHOW
/// CONFIG` and `pgbouncer_up` without labels; read off the exporter in the rehearsal.
const CATALOGUE: Catalogue = Catalogue {
    program: "prometheus-pgbouncer-exporter",
    prefix: "pgbouncer_",
    metrics: METRICS,
    optional: &[],
    labels: &[
        ("pgbouncer_pools_", &["database", "user"]),
        ("pgbouncer_stats_", &["database"]),
        ("pgbouncer_databases_", &["database", "backend_database"]),
    ],
};

const METRICS: &[&str] = &[
    "pgbouncer_up",
    "pgbouncer_pools_client_active_connections",
    "pgbouncer_pools_client_waiting_connections",
    "pgbouncer_pools_client_maxwait_seconds",
    "pgbouncer_pools_server_active_connections",
    "pgbouncer_pools_server_idle_connections",
    "pgbouncer_pools_server_used_connections",
    "pgbouncer_pools_server_testing_connections",
    "pgbouncer_pools_server_login_connections",
    "pgbouncer_stats_queries_total",
    "pgbouncer_stats_transactions_total",
    "pgbouncer_stats_queries_duration_microseconds_total",
    "pgbouncer_stats_waiting_duration_microseconds_total",
    "pgbouncer_stats_received_bytes_total",
    "pgbouncer_stats_sent_bytes_total",
    "pgbouncer_databases_database_pool_size",
    "pgbouncer_databases_database_current_connections",
    "pgbouncer_config_max_client_conn",
];

/// From grafana/jsonnet-libs pgbouncer-mixin (alerts.libsonnet, config.libsonnet), over the
/// exporter's series. The mixin's PGBouncerHighServerConnectionSaturation (server connections
/// over `max_user_connections`) is left out: that limit is 0, unlimited, unless set, and the
/// mixin's `clamp_min(…, 1)` then fires on the first server connection; a full pool shows as
/// clients waiting. In its place, clients near `max_client_conn`, past which PgBouncer refuses
/// them (APA's PgbouncerMaxConnections, which reads a log-derived error count this exporter
/// does not have).
#[rustfmt::skip]
const ALERTS: &[Builtin] = &[
    state(b("PgbouncerDown", "operational", Critical, "1m", 0.0, Unit::Count, "pgbouncer_up == 0 (the exporter answers; PgBouncer does not, or refuses its login) for 1m, as the other databases")),
    common::EXPORTER_DOWN,
    b("PgbouncerClientsWaiting", "performance", Warning, "5m", 20.0, Unit::Count, "more than 20 clients of a pool waiting for a server connection for 5m: pgbouncer-mixin PGBouncerHighNumberClientWaitingConnections"),
    b("PgbouncerClientWaitTooLong", "performance", Warning, "5m", 15.0, Unit::Seconds, "a pool's oldest waiting client has waited more than 15s, for 5m: pgbouncer-mixin PGBouncerHighClientWaitTime (PgBouncer drops a client that waits longer than query_wait_timeout, 120s by default: a threshold above it cannot fire)"),
    b("PgbouncerClientConnectionsNearLimit", "operational", Warning, "5m", 0.8, Unit::Ratio, "clients above 80% of max_client_conn for 5m (the mixin's saturation warning at 80%; past the limit PgBouncer refuses clients: APA PgbouncerMaxConnections)"),
    common::ERROR_LOG_SPIKE,
];

fn rule(r: &ServiceAlert) -> AlertText {
    let (sel, who, tt, t, for_) = (SELECTOR, WHO, r.tt.as_str(), r.t, r.for_);
    let pool = |metric: &str| r.exp(metric, ",database=\"app\",user=\"app\"");
    let per_pool = |mut text: AlertText| {
        text.kept.push(("database".into(), "app".into()));
        text.kept.push(("user".into(), "app".into()));
        text
    };
    match r.def.name {
        "PgbouncerDown" => common::down(r, EXPORTER.up_metric),
        "ExporterDown" => common::exporter_down(r),
        "PgbouncerClientsWaiting" => per_pool(AlertText::new(
            format!(
                "max by (service, database, user) (pgbouncer_pools_client_waiting_connections{{{sel}}}) > {}",
                num(t)
            ),
            format!("{who}: clients waiting for pool {{{{ $labels.database }}}}/{{{{ $labels.user }}}}"),
            format!(
                "More than {tt} clients of pool {{{{ $labels.database }}}}/{{{{ $labels.user }}}} of {who} have waited for a server connection for {for_}: the pool is full (its pool_size), or the server is slow to answer."
            ),
            vec![series(&pool("pgbouncer_pools_client_waiting_connections"), &format!("{}x60", num(t + 5.0)))],
            vec![series(&pool("pgbouncer_pools_client_waiting_connections"), &format!("{}x60", num(t)))],
        )),
        "PgbouncerClientWaitTooLong" => per_pool(AlertText::new(
            format!("max by (service, database, user) (pgbouncer_pools_client_maxwait_seconds{{{sel}}}) > {}", num(t)),
            format!("{who}: clients of pool {{{{ $labels.database }}}}/{{{{ $labels.user }}}} wait more than {tt}"),
            format!(
                "The oldest waiting client of pool {{{{ $labels.database }}}}/{{{{ $labels.user }}}} of {who} has waited more than {tt} for a server connection, for {for_}: queries queue behind a full pool."
            ),
            vec![series(&pool("pgbouncer_pools_client_maxwait_seconds"), &format!("{}x60", num(t * 2.0)))],
            vec![series(&pool("pgbouncer_pools_client_maxwait_seconds"), &format!("{}x60", num(t / 2.0)))],
        )),
        "PgbouncerClientConnectionsNearLimit" => {
            // 1000 clients allowed; `share` of them connected, over two pools, half of each
            // pool's active and half waiting.
            let clients = |share: f64| {
                let each = num(1000.0 * share / 4.0);
                let mut v: Vec<_> = ["app", "reports"]
                    .iter()
                    .flat_map(|db| {
                        let labels = format!(",database=\"{db}\",user=\"{db}\"");
                        ["pgbouncer_pools_client_active_connections", "pgbouncer_pools_client_waiting_connections"]
                            .map(|m| series(&r.exp(m, &labels), &format!("{each}x60")))
                    })
                    .collect();
                v.push(series(&r.exp("pgbouncer_config_max_client_conn", ""), "1000x60"));
                v
            };
            AlertText::new(
                format!(
                    "sum by (service) (pgbouncer_pools_client_active_connections{{{sel}}} + pgbouncer_pools_client_waiting_connections{{{sel}}}) / max by (service) (pgbouncer_config_max_client_conn{{{sel}}}) > {}",
                    num(t)
                ),
                format!("{who}: clients above {tt} of max_client_conn"),
                format!(
                    "{who} has had more than {tt} of its max_client_conn clients connected for {for_}; past the limit it refuses new clients (no more connections allowed)."
                ),
                clients(above(t)),
                clients(t / 2.0),
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
        spec(Viz::Stat, "Up", "short", "pgbouncer_up from the exporter: 1 when PgBouncer answered all its admin commands.", vec![q(format!("min(pgbouncer_up{{{sl}}})"), n)]),
        spec(Viz::TimeSeries, "Clients", "short", "Clients logged in (active: idle or linked to a server connection), those waiting for one, and max_client_conn.", vec![q(format!("sum(pgbouncer_pools_client_active_connections{{{sl}}})"), "active"), q(format!("sum(pgbouncer_pools_client_waiting_connections{{{sl}}})"), "waiting"), q(format!("max(pgbouncer_config_max_client_conn{{{sl}}})"), "max_client_conn")]),
        spec(Viz::TimeSeries, "Clients waiting, by pool", "short", "Clients waiting for a server connection, by database and user.", vec![q(format!("sum by (database, user) (pgbouncer_pools_client_waiting_connections{{{sl}}})"), "{{database}}/{{user}}")]),
        spec(Viz::TimeSeries, "Longest wait", "s", "How long each pool's oldest waiting client has waited.", vec![q(format!("max by (database, user) (pgbouncer_pools_client_maxwait_seconds{{{sl}}})"), "{{database}}/{{user}}")]),
        spec(Viz::TimeSeries, "Server connections", "short", "Connections to the database servers: linked to a client, idle, idle past server_check_delay, being tested, logging in.", vec![q(format!("sum(pgbouncer_pools_server_active_connections{{{sl}}})"), "active"), q(format!("sum(pgbouncer_pools_server_idle_connections{{{sl}}})"), "idle"), q(format!("sum(pgbouncer_pools_server_used_connections{{{sl}}})"), "used"), q(format!("sum(pgbouncer_pools_server_testing_connections{{{sl}}})"), "testing"), q(format!("sum(pgbouncer_pools_server_login_connections{{{sl}}})"), "login")]),
        spec(Viz::TimeSeries, "Pool use", "short", "Server connections of each database, and its pool_size.", vec![q(format!("sum by (database) (pgbouncer_databases_database_current_connections{{{sl}}})"), "{{database}}"), q(format!("max by (database) (pgbouncer_databases_database_pool_size{{{sl}}})"), "{{database}} pool_size")]),
        spec(Viz::TimeSeries, "Queries and transactions", "ops", "Queries and transactions pooled per second.", vec![q(format!("sum(rate(pgbouncer_stats_queries_total{{{sl}}}[{RATE}]))"), "queries/s"), q(format!("sum(rate(pgbouncer_stats_transactions_total{{{sl}}}[{RATE}]))"), "transactions/s")]),
        spec(Viz::TimeSeries, "Query and wait time", "s", "Average time a query ran on its server, and average time a client waited for a server connection, per transaction.", vec![q(format!("sum(rate(pgbouncer_stats_queries_duration_microseconds_total{{{sl}}}[{RATE}])) / 1e6 / sum(rate(pgbouncer_stats_queries_total{{{sl}}}[{RATE}]))"), "query"), q(wait_per_transaction(sl, "service"), "waiting")]),
        spec(Viz::TimeSeries, "Traffic", "Bps", "Bytes of network traffic PgBouncer received and sent, per second.", vec![q(format!("sum(rate(pgbouncer_stats_received_bytes_total{{{sl}}}[{RATE}]))"), "received"), q(format!("sum(rate(pgbouncer_stats_sent_bytes_total{{{sl}}}[{RATE}]))"), "sent")]),
    ]
}

//! `kind: postgres`: PostgreSQL, read through postgres_exporter; its log alerts read
//! PostgreSQL's own log lines.

use super::alert::*;
use super::{Catalogue, Exporter, Job, KindDef, Run, Var, common};
use crate::ir::Service;
use crate::ir::defaults;
use crate::manifest::model::LogFormat;
use crate::manifest::model::Severity::{Critical, Warning};
use crate::targets::grafana::panels::*;

pub const DEF: KindDef = KindDef {
    fields: &["port", "host", "kubernetes", "database", "user", "password", "query_stats"],
    requires: &["port"],
    exporter: Some(EXPORTER),
    catalogue: Some(CATALOGUE),
    alerts: ALERTS,
    rule,
    log_rule,
    exposed: |s| CATALOGUE.exposed(s.query_stats()),
    log_format: |_| LogFormat::Postgres,
    metrics_port: None,
    front_door: false,
    panels,
    connections: Some("pg_stat_activity_count"),
    app,
    jobs: |s| query_stats_job(s).into_iter().collect(),
    job_suffixes: &[crate::ir::QUERY_STATS_JOB_SUFFIX],
    backup: Some(&BACKUP),
    overview: common::no_panels,
    security,
    performance,
    refused_env: None,
    login: Some("the exporter and the backups connect with `database`, `user` and `password: { env: … }`"),
    basic_login: false,
    own_env: own_variables,
    own_env_why: super::LOGIN_ENV,
    lacks: super::lacks_nothing,
};

/// The variables `app` sets on the official image's container from the service's login.
fn own_variables(s: &crate::manifest::model::Service) -> &'static [&'static str] {
    if s.password.is_none() {
        return &[];
    }
    &["POSTGRES_DB", "POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_PASSWORD_FILE"]
}

/// Its dumps (`pg_dump`) and restores: libpq's variables, the password from the pgpass file the
/// runner's entrypoint writes from the service's secret.
const BACKUP: super::Backup = super::Backup {
    name: "postgres",
    scripts: [
        ("backup-postgres.sh", include_str!("../../templates/backup/backup-postgres.sh")),
        ("restore-postgres.sh", include_str!("../../templates/backup/restore-postgres.sh")),
    ],
    // The runner's image is PostgreSQL's: its client is there.
    packages: "",
    connection: |s, db| {
        vec![
            ("PGHOST", s.host.clone(), true),
            ("PGPORT", s.port.to_string(), false),
            ("PGDATABASE", db.database.clone(), true),
            ("PGUSER", db.user.clone(), true),
        ]
    },
    password: super::PasswordVia::Pgpass,
    // Read apart from the call: `set -e` stops on a failed substitution in an assignment, not
    // in a command's arguments.
    prepare: |s, db, file| {
        use crate::targets::backup::sh_quote;
        format!(
            "password=$(readable {file})\nentry {} {} {} \"$password\"\n",
            sh_quote(&s.host),
            s.port,
            sh_quote(&db.user)
        )
    },
};

/// Its exporter, as the compose file runs it.
const EXPORTER: Exporter = Exporter {
    image: &defaults::POSTGRES_EXPORTER,
    port: 9187,
    up_metric: "pg_up",
    up_expr: None,
    down_alert: "PostgresDown",
    // Its landing page: every `/metrics` queries the database.
    health_path: "/",
    run: exporter_run,
    program_alone: None,
};

/// postgres_exporter reaches the database at its host, port and database as its user, the
/// password from its file; with query statistics, its stat_statements collector, after the job
/// that creates the extension when sightline sets the server up.
fn exporter_run(s: &Service) -> Run<'_> {
    let mut run = Run::default();
    if let Some(pg) = &s.db {
        run.env = vec![
            ("DATA_SOURCE_PASS_FILE", Var::SecretFile(&pg.password)),
            ("DATA_SOURCE_URI", Var::Value(format!("{}:{}/{}?sslmode=disable", s.host, s.port, pg.database))),
            ("DATA_SOURCE_USER", Var::Value(pg.user.clone())),
        ];
    }
    if s.query_stats() {
        run.command.push(crate::targets::postgres::EXPORTER_FLAG.to_string());
    }
    // After the job that creates the extension, when there is one.
    run.after.extend(query_stats_job(s).map(|j| j.name));
    run
}

/// postgres_exporter's pg_up, stat_database, stat_activity, settings and database collectors;
/// the labels from its source at v0.19.1: `exporter/postgres_exporter.go` (`pg_stat_activity`),
/// `collector/{pg_database,pg_stat_database,pg_stat_statements,collector}.go`.
const CATALOGUE: Catalogue = Catalogue {
    program: "postgres_exporter",
    prefix: "pg_",
    metrics: METRICS,
    optional: QUERY_STATS,
    labels: &[
        (
            "pg_stat_activity_",
            &["datname", "state", "usename", "application_name", "backend_type", "wait_event_type", "wait_event"],
        ),
        ("pg_stat_database_", &["datid", "datname"]),
        ("pg_database_size_bytes", &["datname"]),
        ("pg_stat_statements_", &["user", "datname", "queryid"]),
        ("pg_scrape_collector_success", &["collector"]),
    ],
};

const METRICS: &[&str] = &[
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
const QUERY_STATS: &[&str] = &[
    "pg_stat_statements_calls_total",
    "pg_stat_statements_seconds_total",
    "pg_stat_statements_rows_total",
    "pg_stat_statements_block_read_seconds_total",
    "pg_stat_statements_block_write_seconds_total",
];

#[rustfmt::skip]
const ALERTS: &[Builtin] = &[
    state(b("PostgresDown", "operational", Critical, "1m", 0.0, Unit::Count, "pg_up == 0: APA PostgresqlDown (the exporter answers, the database does not)")),
    common::EXPORTER_DOWN,
    b("PostgresTooManyConnections", "performance", Warning, "2m", 0.8, Unit::Ratio, "connections above 80% of max_connections: postgres_exporter mixin PostgreSQLHighConnections, APA PostgresqlTooManyConnections"),
    b("PostgresLowCacheHitRatio", "performance", Warning, "10m", 0.98, Unit::Ratio, "buffer cache hit ratio below 98%: postgres_exporter mixin PostgreSQLCacheHitRatio"),
    b("PostgresDeadlocks", "operational", Warning, "0m", 5.0, Unit::Count, "more than 5 deadlocks per minute: APA PostgresqlTooManyDeadlocks"),
    b("PostgresLongTransactions", "performance", Warning, "2m", 300.0, Unit::Seconds, "a transaction open longer than 5m holds back vacuum (PostgreSQL docs, Routine Vacuuming); max tx duration from postgres_exporter pg_stat_activity"),
    log(b("PostgresConnectionFailures", "security", Warning, "0m", 5.0, Unit::Count, "more than 5 refused connections (failed password, no pg_hba.conf entry, unknown role or database, too many clients) in 5m: a brute-force or misconfigured-client signal")),
    log(b("PostgresFatalErrors", "operational", Critical, "0m", 0.0, Unit::Count, "any PANIC, or FATAL other than a refused connection, in 5m: PostgreSQL logs these only when a backend dies")),
    common::ERROR_LOG_SPIKE,
];

/// Refused connections in PostgreSQL's log.
const PG_REFUSED: &str = "FATAL:\\s+(password authentication failed|no pg_hba\\.conf entry|role \"[^\"]*\" does not exist|database \"[^\"]*\" does not exist|sorry, too many clients)";

fn rule(r: &ServiceAlert) -> AlertText {
    let (sel, who, tt, t) = (SELECTOR, WHO, r.tt.as_str(), r.t);
    match r.def.name {
        "PostgresDown" => common::down(r, EXPORTER.up_metric),
        "ExporterDown" => common::exporter_down(r),
        "PostgresTooManyConnections" => AlertText::new(
            format!(
                "sum by (service) (pg_stat_activity_count{{{sel}}}) > on (service) {} * sum by (service) (pg_settings_max_connections{{{sel}}})",
                num(t)
            ),
            format!("{who}: connections above {tt} of max_connections"),
            format!("{who} uses more than {tt} of its max_connections; new connections will soon be refused."),
            share_series(
                &r.exp("pg_stat_activity_count", ",datname=\"app\",state=\"active\""),
                &r.exp("pg_settings_max_connections", ""),
                above(t),
            ),
            share_series(
                &r.exp("pg_stat_activity_count", ",datname=\"app\",state=\"active\""),
                &r.exp("pg_settings_max_connections", ""),
                t / 2.0,
            ),
        ),
        "PostgresLowCacheHitRatio" => AlertText::new(
            format!(
                "sum by (service) (rate(pg_stat_database_blks_hit{{{sel}}}[5m])) / (sum by (service) (rate(pg_stat_database_blks_hit{{{sel}}}[5m])) + sum by (service) (rate(pg_stat_database_blks_read{{{sel}}}[5m]))) < {}",
                num(t)
            ),
            format!("{who}: cache hit ratio below {tt}"),
            format!("Fewer than {tt} of {who}'s block reads are served from shared buffers; queries go to disk."),
            // The hit counter's share of all block reads: half the threshold, then above it.
            ratio_series(
                &r.exp("pg_stat_database_blks_hit", ",datname=\"app\""),
                &r.exp("pg_stat_database_blks_read", ",datname=\"app\""),
                t / 2.0,
            ),
            ratio_series(
                &r.exp("pg_stat_database_blks_hit", ",datname=\"app\""),
                &r.exp("pg_stat_database_blks_read", ",datname=\"app\""),
                above(t),
            ),
        ),
        "PostgresDeadlocks" => AlertText::new(
            format!("sum by (service) (rate(pg_stat_database_deadlocks{{{sel}}}[5m])) * 60 > {}", num(t)),
            format!("{who}: more than {tt} deadlocks per minute"),
            format!("{who} is resolving more than {tt} deadlocks per minute."),
            vec![series(
                &r.exp("pg_stat_database_deadlocks", ",datname=\"app\""),
                &format!("0+{}x60", num(t * 2.0 + 2.0)),
            )],
            vec![series(&r.exp("pg_stat_database_deadlocks", ",datname=\"app\""), "0+0x60")],
        ),
        "PostgresLongTransactions" => AlertText::new(
            format!("max by (service) (pg_stat_activity_max_tx_duration{{{sel}}}) > {}", num(t)),
            format!("{who}: a transaction has been open longer than {tt}"),
            format!("A transaction on {who} has been open for more than {tt}; it holds locks and blocks vacuum."),
            vec![series(
                &r.exp("pg_stat_activity_max_tx_duration", ",datname=\"app\",state=\"active\""),
                &format!("{}x60", num(t * 2.0)),
            )],
            vec![series(
                &r.exp("pg_stat_activity_max_tx_duration", ",datname=\"app\",state=\"active\""),
                &format!("{}x60", num(t / 4.0)),
            )],
        ),
        other => unreachable!("no expression for built-in alert {other}"),
    }
}

fn log_rule(r: &ServiceAlert) -> LogText {
    let (sel, who, tt, t) = (SELECTOR, WHO, r.tt.as_str(), r.t);
    match r.def.name {
        "PostgresConnectionFailures" => LogText {
            expr: format!("sum by (service) (count_over_time({sel} |~ `{PG_REFUSED}` [5m])) > {}", num(t)),
            summary: format!("{who}: connections refused"),
            description: format!(
                "{who} refused more than {tt} connections in 5 minutes (wrong password, no pg_hba.conf entry, unknown role or database, or no free connection slot)."
            ),
        },
        "PostgresFatalErrors" => LogText {
            expr: format!(
                "sum by (service) (count_over_time({sel} |~ `(FATAL|PANIC):` !~ `{PG_REFUSED}` [5m])) > {}",
                num(t)
            ),
            summary: format!("{who}: FATAL or PANIC in the log"),
            description: format!(
                "{who} logged a PANIC, or a FATAL error other than a refused connection, in the last 5 minutes."
            ),
        },
        "ErrorLogSpike" => common::error_log_spike(r),
        other => unreachable!("no LogQL for built-in alert {other}"),
    }
}

/// Its dashboard's panels, for the service the dashboard's `service` variable chooses
/// (`targets::grafana::panels` is the kit; the logs panel follows them).
#[rustfmt::skip]
fn panels(s: &Service) -> Vec<Spec> {
    let (n, sl) = (SERVICE, CHOSEN);
    let mut v = vec![
        spec(Viz::Stat, "Up", "short", "pg_up from the exporter.", vec![q(format!("min(pg_up{{{sl}}})"), n)]),
        spec(Viz::TimeSeries, "Connections", "short", "Connections by state, and the limit.", vec![q(format!("sum by (state) (pg_stat_activity_count{{{sl}}})"), "{{state}}"), q(format!("max(pg_settings_max_connections{{{sl}}})"), "max_connections")]),
        spec(Viz::TimeSeries, "Cache hit ratio", "percentunit", "Block reads served from shared buffers.", vec![q(format!("sum(rate(pg_stat_database_blks_hit{{{sl}}}[{RATE}])) / (sum(rate(pg_stat_database_blks_hit{{{sl}}}[{RATE}])) + sum(rate(pg_stat_database_blks_read{{{sl}}}[{RATE}])))"), "hit ratio")]),
        spec(Viz::TimeSeries, "Transactions", "ops", "Commits and rollbacks per second.", vec![q(format!("sum(rate(pg_stat_database_xact_commit{{{sl}}}[{RATE}]))"), "commit"), q(format!("sum(rate(pg_stat_database_xact_rollback{{{sl}}}[{RATE}]))"), "rollback")]),
        spec(Viz::TimeSeries, "Database size", "bytes", "Size of each database.", vec![q(format!("sum by (datname) (pg_database_size_bytes{{{sl}}})"), "{{datname}}")]),
        spec(Viz::TimeSeries, "Longest transaction", "s", "The oldest open transaction: long statements and blocked vacuum show here.", vec![q(format!("max(pg_stat_activity_max_tx_duration{{{sl}}})"), "max")]),
    ];
    if s.query_stats() {
        v.insert(1, query_stats_status(s, sl));
        v.extend(query_stats(sl));
    }
    v
}

/// Whether a postgres service's exporter can read pg_stat_statements.
fn query_stats_status(s: &Service, sl: &str) -> Spec {
    let setup = if crate::targets::postgres::sets_up_server(s) {
        format!(
            "sightline starts the server with the module and its `${{service}}{}` job creates the extension: see that job's logs.",
            crate::ir::QUERY_STATS_JOB_SUFFIX
        )
    } else {
        "The server must load the module at start (shared_preload_libraries = 'pg_stat_statements') and a \
         superuser must run `CREATE EXTENSION pg_stat_statements;` once in the database."
            .to_string()
    };
    spec(
        Viz::Stat,
        "Query statistics",
        "short",
        &format!("Whether the exporter can read pg_stat_statements. {setup}"),
        vec![q(format!("min(pg_scrape_collector_success{{{sl},collector=\"stat_statements\"}})"), "stat_statements")],
    )
    .mapped(vec![("1", "collecting", "green"), ("0", "not readable", "red")])
}

/// A postgres service's query time and the statements that take the most of it, from
/// pg_stat_statements.
fn query_stats(sl: &str) -> Vec<Spec> {
    let top = format!(
        "topk(10, sum by (datname, queryid) (increase(pg_stat_statements_seconds_total{{{sl}}}[$__range])) > 0)"
    );
    let mean = format!("{} and on (datname, queryid) {top}", mean_query_time(sl, "datname, queryid", "$__range"));
    vec![
        spec(
            Viz::TimeSeries,
            "Mean query time",
            "s",
            "Execution time per call, over the calls of all the statements the exporter reports (pg_stat_statements).",
            vec![q(mean_query_time(sl, "service", RATE), "mean")],
        ),
        spec(
            Viz::Table,
            "Top queries by time",
            "s",
            "The ten statements that took the most execution time over the dashboard's time range, and the mean time \
             of one call. It ranks by total time, so a frequent fast query can outrank a rare slow one (a nightly dump). \
             The exporter reports the statements that take the most total time. Read a statement's text with \
             `SELECT query FROM pg_stat_statements WHERE queryid = <queryid>;`.",
            vec![q(top, "time in range"), q(mean, "mean per call")],
        ),
    ]
}

/// Its own container, the official image set up from its variables (the database, its owner,
/// the password's file), its data in a volume, started with the options query statistics need
/// when sightline sets the server up; `pg_isready` checks it.
fn app(s: &Service) -> Run<'_> {
    let Some(pg) = &s.db else {
        return Run { healthcheck: Some(vec!["CMD".into(), "pg_isready".into()]), ..Default::default() };
    };
    let mut command = Vec::new();
    if crate::targets::postgres::sets_up_server(s) {
        command.push("postgres".to_string());
        command.extend(crate::targets::postgres::SERVER_ARGS.map(String::from));
    }
    Run {
        env: vec![
            ("POSTGRES_DB", Var::Value(pg.database.clone())),
            ("POSTGRES_USER", Var::Value(pg.user.clone())),
            ("POSTGRES_PASSWORD_FILE", Var::SecretFile(&pg.password)),
        ],
        data: Some(crate::targets::postgres::data_mount(s)),
        command,
        healthcheck: Some(["CMD", "pg_isready", "-U", &pg.user, "-d", &pg.database].map(String::from).to_vec()),
        ..Default::default()
    }
}

/// The one-shot job that creates pg_stat_statements in the service's database when sightline
/// sets the server up (`targets::postgres`): the image's psql, with the service's credentials,
/// reaching the server the way the exporter does (at the service's `host`). It runs as uid and
/// gid 999 (the Debian image's `postgres`; the Alpine image's is 70, and psql runs as any
/// user), which reads the password's file through its group, as the backup runner does.
fn query_stats_job(s: &Service) -> Option<Job<'_>> {
    use crate::targets::{paths, postgres};
    let pg = s.db.as_ref().filter(|_| postgres::sets_up_server(s))?;
    Some(Job {
        name: crate::ir::query_stats_job_name(&s.name),
        run: Run {
            entrypoint: vec!["sh".into(), postgres::SCRIPT_MOUNT.into()],
            env: vec![
                ("PGHOST", Var::Value(s.host.clone())),
                ("PGPORT", Var::Value(s.port.to_string())),
                ("PGUSER", Var::Value(pg.user.clone())),
                ("PGDATABASE", Var::Value(pg.database.clone())),
                // Each attempt gives up on a server that does not answer after 5 s (libpq waits
                // for the system's TCP timeout otherwise): the script's 30 attempts end.
                ("PGCONNECT_TIMEOUT", Var::Value("5".into())),
                ("PGPASSWORD_FILE", Var::SecretFile(&pg.password)),
            ],
            ..Default::default()
        },
        user: defaults::POSTGRES_USER,
        files: vec![(paths::POSTGRES_QUERY_STATS_SCRIPT, postgres::SCRIPT_MOUNT, postgres::SCRIPT)],
        memory: postgres::JOB_MEMORY,
        cpus: postgres::JOB_CPUS,
        pids: postgres::JOB_PIDS,
    })
}

/// Its panel on the security dashboard: refused connections in its services' logs.
fn security(services: &[&Service]) -> Vec<Spec> {
    let refused = services
        .iter()
        .map(|s| q(format!("sum by (service) (count_over_time({{service=\"{}\"}} |~ `FATAL:\\s+(password authentication failed|no pg_hba\\.conf entry)` [$__interval]))", s.name), "{{service}}"))
        .collect();
    vec![loki_series("Database connection failures", "Refused connections in the PostgreSQL logs.", refused)]
}

/// Its panels on the performance dashboard, over its services: transactions, the mean query
/// time of those with query statistics, the buffer cache's hit ratio.
#[rustfmt::skip]
fn performance(services: &[&Service]) -> Vec<Spec> {
    let mut v = vec![spec(
        Viz::TimeSeries,
        "Database transactions",
        "ops",
        "Commits and rollbacks per second.",
        vec![
            q(format!("sum by (service) (rate(pg_stat_database_xact_commit[{RATE}]))"), "{{service}} commit"),
            q(format!("sum by (service) (rate(pg_stat_database_xact_rollback[{RATE}]))"), "{{service}} rollback"),
        ],
    )];
    let timed: Vec<Query> = services
        .iter()
        .filter(|s| s.query_stats())
        .map(|s| q(mean_query_time(&sel(s), "service", RATE), "{{service}}"))
        .collect();
    if !timed.is_empty() {
        v.push(spec(Viz::TimeSeries, "Database query time", "s", "Mean execution time per call (pg_stat_statements).", timed));
    }
    v.push(spec(Viz::TimeSeries, "Database cache hit ratio", "percentunit", "Block reads served from shared buffers.", vec![q(format!("sum by (service) (rate(pg_stat_database_blks_hit[{RATE}])) / (sum by (service) (rate(pg_stat_database_blks_hit[{RATE}])) + sum by (service) (rate(pg_stat_database_blks_read[{RATE}])))"), "{{service}}")]));
    v
}

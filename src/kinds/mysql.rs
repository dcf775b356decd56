//! `kind: mysql`: MySQL or MariaDB, read through mysqld_exporter.

use super::alert::*;
use super::{Catalogue, Exporter, KindDef, Run, Var, common};
use crate::ir::Service;
use crate::ir::defaults;
use crate::manifest::model::LogFormat;
use crate::manifest::model::Severity::{Critical, Warning};
use crate::targets::grafana::panels::*;

pub const DEF: KindDef = KindDef {
    fields: &["port", "host", "kubernetes", "database", "user", "password"],
    requires: &["port"],
    exporter: Some(EXPORTER),
    catalogue: Some(CATALOGUE),
    alerts: ALERTS,
    rule,
    log_rule: common::error_log_spike,
    exposed: |_| CATALOGUE.exposed(false),
    log_format: |_| LogFormat::Mysql,
    metrics_port: None,
    front_door: false,
    panels,
    connections: Some("mysql_global_status_threads_connected"),
    app,
    jobs: super::no_jobs,
    job_suffixes: &[],
    backup: Some(&BACKUP),
    overview: common::no_panels,
    security,
    performance: |_| {
        vec![
            spec(
                Viz::TimeSeries,
                "MySQL queries",
                "ops",
                "Statements per second, the server's `Queries` status counter.",
                vec![q(format!("sum by (service) (rate(mysql_global_status_queries[{RATE}]))"), "{{service}}")],
            ),
            spec(
                Viz::TimeSeries,
                "MySQL buffer pool hit ratio",
                "percentunit",
                BUFFER_POOL_HELP,
                vec![q(buffer_pool_hit("", "service"), "{{service}}")],
            ),
        ]
    },
    refused_env: None,
    login: Some(
        "the exporter connects with `user` and `password: { env: … }`, and with an `image` the server is set up with `database`, `user` and `password`",
    ),
    basic_login: false,
    own_env: own_variables,
    own_env_why: super::LOGIN_ENV,
    lacks: root_password_problem,
};

/// Its dumps (`mariadb-dump`) and restores: the `MYSQL_*` variables its scripts read, the
/// password from its secret's file, which the runner's entrypoint checks it can read.
const BACKUP: super::Backup = super::Backup {
    name: "mysql",
    scripts: [
        ("backup-mysql.sh", include_str!("../../templates/backup/backup-mysql.sh")),
        ("restore-mysql.sh", include_str!("../../templates/backup/restore-mysql.sh")),
    ],
    // mariadb-dump and the mariadb client (mariadb-client-core has no dump).
    packages: "mariadb-client",
    connection: |s, db| {
        vec![
            ("MYSQL_HOST", s.host.clone(), true),
            ("MYSQL_TCP_PORT", s.port.to_string(), false),
            ("MYSQL_DATABASE", db.database.clone(), true),
            ("MYSQL_USER", db.user.clone(), true),
        ]
    },
    password: super::PasswordVia::File("MYSQL_PASSWORD_FILE"),
    prepare: |_, _, file| format!("readable {file} >/dev/null\n"),
};

/// Its exporter, as the compose file runs it.
const EXPORTER: Exporter = Exporter {
    image: &defaults::MYSQLD_EXPORTER,
    port: 9104,
    up_metric: "mysql_up",
    up_expr: None,
    down_alert: "MysqlDown",
    // Its landing page (exporter-toolkit's), which does not ask the server; every `/metrics`
    // does.
    health_path: "/",
    run: exporter_run,
    program_alone: None,
};

/// The collectors on by default that need a privilege beyond the application's user (PROCESS
/// for InnoDB's compression tables, REPLICATION CLIENT or MariaDB's SLAVE MONITOR for the
/// replica status) or a MariaDB/Percona plugin (query response time): off, so every scrape
/// succeeds with the manifest's user (v0.16.0 `mysqld_exporter.go`, the `scrapers` table).
pub const COLLECTORS_OFF: [&str; 4] = [
    "--no-collect.slave_status",
    "--no-collect.info_schema.innodb_cmp",
    "--no-collect.info_schema.innodb_cmpmem",
    "--no-collect.info_schema.query_response_time",
];

/// mysqld_exporter reads the password only from `MYSQLD_EXPORTER_PASSWORD` or a `.my.cnf`
/// holding it (v0.16.0 `config/config.go`): its image's busybox `sh` reads it from the file of
/// the password's secret first.
fn exporter_run(s: &Service) -> Run<'_> {
    let Some(db) = &s.db else { return Run::default() };
    let mut run = common::password_from_file(
        ("MYSQLD_EXPORTER_PASSWORD", "MYSQLD_EXPORTER_PASSWORD_FILE"),
        common::PasswordAs::Raw,
        "/bin/mysqld_exporter",
        &db.password,
    );
    run.command = vec![format!("--mysqld.address={}:{}", s.host, s.port), format!("--mysqld.username={}", db.user)];
    run.command.extend(COLLECTORS_OFF.map(String::from));
    run
}

/// mysqld_exporter v0.16.0: `collector/exporter.go` (`mysql_up`, the collectors' success),
/// `collector/global_status.go` (every `SHOW GLOBAL STATUS` counter as
/// `mysql_global_status_<name>`, `Com_*` as `commands_total{command}`) and
/// `collector/global_variables.go` (`mysql_global_variables_<name>`); the names are the
/// server's, the same on MySQL 8 and MariaDB (both read live by the rehearsal).
const CATALOGUE: Catalogue = Catalogue {
    program: "mysqld_exporter",
    prefix: "mysql_",
    metrics: METRICS,
    optional: &[],
    labels: &[
        ("mysql_global_status_commands_total", &["command"]),
        ("mysql_exporter_collector_success", &["collector"]),
    ],
};

const METRICS: &[&str] = &[
    "mysql_up",
    "mysql_exporter_collector_success",
    "mysql_global_status_threads_connected",
    "mysql_global_status_threads_running",
    "mysql_global_status_queries",
    "mysql_global_status_slow_queries",
    "mysql_global_status_aborted_connects",
    "mysql_global_status_commands_total",
    "mysql_global_status_innodb_buffer_pool_reads",
    "mysql_global_status_innodb_buffer_pool_read_requests",
    "mysql_global_status_innodb_log_waits",
    "mysql_global_status_bytes_received",
    "mysql_global_status_bytes_sent",
    "mysql_global_variables_max_connections",
];

/// After awesome-prometheus-alerts' mysqld-exporter rules and the exporter's own mixin
/// (`mysqld-mixin/alerts/general.yaml` at v0.16.0: MySQLDown).
#[rustfmt::skip]
const ALERTS: &[Builtin] = &[
    state(b("MysqlDown", "operational", Critical, "1m", 0.0, Unit::Count, "mysql_up == 0: APA MysqlDown and mysqld-mixin MySQLDown (the exporter answers, the server does not); `for` 1m as the other databases")),
    common::EXPORTER_DOWN,
    b("MysqlTooManyConnections", "performance", Warning, "2m", 0.8, Unit::Ratio, "connections above 80% of max_connections for 2m: APA MysqlTooManyConnections(>80%)"),
    b("MysqlHighThreadsRunning", "performance", Warning, "2m", 0.6, Unit::Ratio, "threads running above 60% of max_connections for 2m: APA MysqlHighThreadsRunning"),
    b("MysqlSlowQueries", "performance", Warning, "2m", 0.0, Unit::Count, "any query slower than long_query_time (10s by default), for 2m: APA MysqlSlowQueries (there increase over 1m, which at a 1m scrape interval holds one sample; here the rate over 5m, per minute)"),
    b("MysqlInnodbLogWaits", "performance", Warning, "0m", 10.0, Unit::PerSecond, "more than 10 waits a second for the InnoDB log buffer to be flushed: APA MysqlInnodbLogWaits (innodb_log_buffer_size too small)"),
    b("MysqlConnectionFailures", "security", Warning, "0m", 5.0, Unit::Count, "more than 5 failed connection attempts (wrong password, unknown user or database, no privilege) in 5m: the server's Aborted_connects counter (MySQL and MariaDB server status variables), after PostgresConnectionFailures"),
    common::ERROR_LOG_SPIKE,
];

fn rule(r: &ServiceAlert) -> AlertText {
    let (sel, who, tt, t, for_) = (SELECTOR, WHO, r.tt.as_str(), r.t, r.for_);
    // A gauge at a share of max_connections.
    let used = |metric: &str, share: f64| {
        share_series(&r.exp(metric, ""), &r.exp("mysql_global_variables_max_connections", ""), share)
    };
    match r.def.name {
        "MysqlDown" => common::down(r, EXPORTER.up_metric),
        "ExporterDown" => common::exporter_down(r),
        "MysqlTooManyConnections" => AlertText::new(
            format!(
                "sum by (service) (mysql_global_status_threads_connected{{{sel}}}) / sum by (service) (mysql_global_variables_max_connections{{{sel}}}) > {}",
                num(t)
            ),
            format!("{who}: connections above {tt} of max_connections"),
            format!("{who} has more than {tt} of its max_connections open; new connections will soon be refused."),
            used("mysql_global_status_threads_connected", above(t)),
            used("mysql_global_status_threads_connected", t / 2.0),
        ),
        "MysqlHighThreadsRunning" => AlertText::new(
            format!(
                "sum by (service) (mysql_global_status_threads_running{{{sel}}}) / sum by (service) (mysql_global_variables_max_connections{{{sel}}}) > {}",
                num(t)
            ),
            format!("{who}: threads running above {tt} of max_connections"),
            format!(
                "More than {tt} of {who}'s max_connections have been executing at once for {for_}: queries pile up (locks, slow queries, too little CPU or I/O)."
            ),
            used("mysql_global_status_threads_running", above(t)),
            used("mysql_global_status_threads_running", t / 2.0),
        ),
        "MysqlSlowQueries" => AlertText::new(
            format!("sum by (service) (rate(mysql_global_status_slow_queries{{{sel}}}[5m])) * 60 > {}", num(t)),
            format!("{who}: slow queries"),
            format!(
                "{who} has run more than {tt} queries a minute slower than its long_query_time for {for_}; its slow query log names them."
            ),
            vec![series(&r.exp("mysql_global_status_slow_queries", ""), &format!("0+{}x60", num(t * 2.0 + 2.0)))],
            vec![series(&r.exp("mysql_global_status_slow_queries", ""), "0+0x60")],
        ),
        "MysqlInnodbLogWaits" => AlertText::new(
            format!("sum by (service) (rate(mysql_global_status_innodb_log_waits{{{sel}}}[15m])) > {}", num(t)),
            format!("{who}: InnoDB log waits above {tt}"),
            format!(
                "Writes on {who} wait for the InnoDB log buffer to be flushed more than {tt}: innodb_log_buffer_size is too small for the write load."
            ),
            vec![series(
                &r.exp("mysql_global_status_innodb_log_waits", ""),
                &format!("0+{}x60", num(t * 60.0 * 2.0 + 60.0)),
            )],
            vec![series(&r.exp("mysql_global_status_innodb_log_waits", ""), "0+0x60")],
        ),
        "MysqlConnectionFailures" => AlertText::new(
            format!("sum by (service) (increase(mysql_global_status_aborted_connects{{{sel}}}[5m])) > {}", num(t)),
            format!("{who}: connections refused"),
            format!(
                "{who} refused more than {tt} connection attempts in 5 minutes (wrong password, unknown user or database, or no privilege): a brute-force or misconfigured-client signal."
            ),
            vec![series(&r.exp("mysql_global_status_aborted_connects", ""), &format!("0+{}x60", num(t + 1.0)))],
            vec![series(&r.exp("mysql_global_status_aborted_connects", ""), "0+0x60")],
        ),
        other => unreachable!("no expression for built-in alert {other}"),
    }
}

/// Its panel on the security dashboard: the logins its services refused (`Aborted_connects`).
fn security(_: &[&Service]) -> Vec<Spec> {
    vec![spec(
        Viz::TimeSeries,
        "MySQL connection failures",
        "short",
        "Failed connection attempts per minute (wrong password, unknown user or database, no privilege): the server's Aborted_connects.",
        vec![q(format!("sum by (service) (rate(mysql_global_status_aborted_connects[{RATE}])) * 60"), "{{service}}")],
    )]
}

const BUFFER_POOL_HELP: &str = "Reads from the InnoDB buffer pool that did not go to disk (1 − Innodb_buffer_pool_reads / Innodb_buffer_pool_read_requests).";

/// The InnoDB buffer pool's hit ratio, by `by`.
fn buffer_pool_hit(sl: &str, by: &str) -> String {
    format!(
        "1 - sum by ({by}) (rate(mysql_global_status_innodb_buffer_pool_reads{{{sl}}}[{RATE}])) / sum by ({by}) (rate(mysql_global_status_innodb_buffer_pool_read_requests{{{sl}}}[{RATE}]))"
    )
}

/// Its dashboard's panels, for the service the dashboard's `service` variable chooses
/// (`targets::grafana::panels` is the kit; the logs panel follows them).
#[rustfmt::skip]
fn panels(_: &Service) -> Vec<Spec> {
    let (n, sl) = (SERVICE, CHOSEN);
    vec![
        spec(Viz::Stat, "Up", "short", "mysql_up from the exporter.", vec![q(format!("min(mysql_up{{{sl}}})"), n)]),
        spec(Viz::TimeSeries, "Connections", "short", "Connected and running threads, and max_connections.", vec![q(format!("sum(mysql_global_status_threads_connected{{{sl}}})"), "connected"), q(format!("sum(mysql_global_status_threads_running{{{sl}}})"), "running"), q(format!("max(mysql_global_variables_max_connections{{{sl}}})"), "max_connections")]),
        spec(Viz::TimeSeries, "Queries", "ops", "Statements per second, and the busiest commands.", vec![q(format!("sum(rate(mysql_global_status_queries{{{sl}}}[{RATE}]))"), "all"), q(format!("topk(5, sum by (command) (rate(mysql_global_status_commands_total{{{sl}}}[{RATE}])))"), "{{command}}")]),
        spec(Viz::TimeSeries, "Slow queries and refused connections", "short", "Queries slower than long_query_time, and failed connection attempts, per minute.", vec![q(format!("sum(rate(mysql_global_status_slow_queries{{{sl}}}[{RATE}])) * 60"), "slow/min"), q(format!("sum(rate(mysql_global_status_aborted_connects{{{sl}}}[{RATE}])) * 60"), "refused/min")]),
        spec(Viz::TimeSeries, "Buffer pool hit ratio", "percentunit", BUFFER_POOL_HELP, vec![q(buffer_pool_hit(sl, "service"), "hit ratio")]),
        spec(Viz::TimeSeries, "Network", "Bps", "Bytes received from and sent to clients.", vec![q(format!("sum(rate(mysql_global_status_bytes_received{{{sl}}}[{RATE}]))"), "received"), q(format!("sum(rate(mysql_global_status_bytes_sent{{{sl}}}[{RATE}]))"), "sent")]),
    ]
}

/// The variables of `compose.environment` that give the root account's password (a `{ file }`
/// secret becomes the `_FILE` form), by the image that reads them: the official `mysql` image
/// reads the `MYSQL_*` ones only, the `mariadb` image its own too; another image, any.
fn root_password_vars(image: Option<&crate::manifest::values::ImageRef>) -> &'static [&'static str] {
    const MYSQL: &[&str] = &["MYSQL_ROOT_PASSWORD", "MYSQL_ROOT_PASSWORD_FILE"];
    const ANY: &[&str] = &[
        "MYSQL_ROOT_PASSWORD",
        "MYSQL_ROOT_PASSWORD_FILE",
        "MARIADB_ROOT_PASSWORD",
        "MARIADB_ROOT_PASSWORD_FILE",
        "MARIADB_ROOT_PASSWORD_HASH",
        "MARIADB_ROOT_PASSWORD_HASH_FILE",
    ];
    if image.is_some_and(|i| i.is_official("mysql")) { MYSQL } else { ANY }
}

/// The variables that make the images generate a random root password, which they print to the
/// container's log (`GENERATED ROOT PASSWORD: …`), even beside a given one.
const RANDOM_ROOT_PASSWORD: &[&str] = &["MYSQL_RANDOM_ROOT_PASSWORD", "MARIADB_RANDOM_ROOT_PASSWORD"];

/// What is wrong with the root password of a service run from an image whose user is not root
/// (SL208): a random one asked for, or none given that its image reads.
fn root_password_problem(s: &crate::manifest::model::Service) -> Option<super::Lack> {
    let (Some(image), Some(user)) = (&s.image, s.user.as_deref()) else { return None };
    if user == "root" {
        return None;
    }
    let help = "give it in `compose.environment`: `MYSQL_ROOT_PASSWORD: { file: /run/secrets/… }` (or `{ env: … }`); \
                not a random one (`MYSQL_RANDOM_ROOT_PASSWORD`): the image prints it to the container's log, which the stack ships to Loki";
    let env: Vec<&str> = s.compose.iter().flat_map(|c| c.environment.keys()).map(String::as_str).collect();
    if let Some(random) = env.iter().find(|k| RANDOM_ROOT_PASSWORD.contains(k)) {
        let why = format!("`{random}` makes the image print it to its log");
        return Some(super::Lack { what: "asks for a random root password", why, help });
    }
    let vars = root_password_vars(Some(image));
    let named = vars.iter().map(|v| format!("`{v}`")).collect::<Vec<_>>().join(", ");
    (!env.iter().any(|k| vars.contains(k))).then(|| super::Lack {
        what: "needs a root password",
        why: format!("none of {named} is in `compose.environment`"),
        help,
    })
}

/// The variables sightline sets on the service's own container, with their `_FILE` forms and
/// the `MARIADB_*` names the `mariadb` image prefers to them (the images refuse a variable
/// given with its `_FILE` form too): the database, and the user's login, or root's password
/// when the manifest's user is root.
fn own_variables(s: &crate::manifest::model::Service) -> &'static [&'static str] {
    if s.password.is_none() {
        &[]
    } else if s.user.as_deref() == Some("root") {
        &[
            "MYSQL_DATABASE",
            "MYSQL_DATABASE_FILE",
            "MARIADB_DATABASE",
            "MARIADB_DATABASE_FILE",
            "MYSQL_ROOT_PASSWORD",
            "MYSQL_ROOT_PASSWORD_FILE",
            "MARIADB_ROOT_PASSWORD",
            "MARIADB_ROOT_PASSWORD_FILE",
            "MARIADB_ROOT_PASSWORD_HASH",
            "MARIADB_ROOT_PASSWORD_HASH_FILE",
            "MYSQL_ALLOW_EMPTY_PASSWORD",
            "MARIADB_ALLOW_EMPTY_ROOT_PASSWORD",
            "MYSQL_RANDOM_ROOT_PASSWORD",
            "MARIADB_RANDOM_ROOT_PASSWORD",
        ]
    } else {
        &[
            "MYSQL_DATABASE",
            "MYSQL_DATABASE_FILE",
            "MARIADB_DATABASE",
            "MARIADB_DATABASE_FILE",
            "MYSQL_USER",
            "MYSQL_USER_FILE",
            "MARIADB_USER",
            "MARIADB_USER_FILE",
            "MYSQL_PASSWORD",
            "MYSQL_PASSWORD_FILE",
            "MARIADB_PASSWORD",
            "MARIADB_PASSWORD_FILE",
            "MARIADB_PASSWORD_HASH",
            "MARIADB_PASSWORD_HASH_FILE",
        ]
    }
}

/// Its own container: the official `mysql` and `mariadb` images (and those that follow their
/// variables) set up from the `MYSQL_*` variables both read (with their `_FILE` forms: the
/// images' `docker-entrypoint.sh`), the database, its user and that user's password; `root` as
/// the manifest's user is the root account's password (the images refuse `MYSQL_USER=root`),
/// any other user needs root's from `compose.environment` (SL208). Its data in a volume at
/// `/var/lib/mysql`.
fn app(s: &Service) -> Run<'_> {
    let mut run = Run { data: Some("/var/lib/mysql"), ..Default::default() };
    let Some(db) = &s.db else { return run };
    run.env.push(("MYSQL_DATABASE", Var::Value(db.database.clone())));
    if db.user == "root" {
        run.env.push(("MYSQL_ROOT_PASSWORD_FILE", Var::SecretFile(&db.password)));
    } else {
        run.env.push(("MYSQL_USER", Var::Value(db.user.clone())));
        run.env.push(("MYSQL_PASSWORD_FILE", Var::SecretFile(&db.password)));
    }
    run.healthcheck = Some(healthcheck(s, db));
    run
}

/// A ping over TCP, so the server the entrypoint runs without networking while it sets up does
/// not count, logged in as the manifest's user: a client without a login would count as a
/// failed connection every time (`Aborted_connects`, which MysqlConnectionFailures reads).
/// `MYSQL_PWD` carries the password to the client, off its command line; the client is
/// `mariadb-admin` where the image has it (MariaDB's; 11.x ships no `mysqladmin`), else
/// `mysqladmin` (MySQL's).
fn healthcheck(s: &Service, db: &crate::ir::DbLogin) -> Vec<String> {
    let q = crate::targets::backup::sh_quote;
    let file = q(&crate::targets::paths::secret_file(&db.password));
    vec![
        "CMD-SHELL".to_string(),
        format!(
            "MYSQL_PWD=\"$(cat {file})\" \"$(command -v mariadb-admin || echo mysqladmin)\" ping --protocol=tcp -h 127.0.0.1 -P {} -u {} --silent",
            s.port,
            q(&db.user)
        ),
    ]
}

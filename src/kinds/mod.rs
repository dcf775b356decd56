//! What each kind of service brings, one module per kind, the way a monitoring mixin bundles
//! them: its exporter (image, port, the metric that says the service is up, what its
//! container needs from the service, its cheapest endpoint for a healthcheck), the catalogue of
//! the metrics and labels the rules and panels read, with where they were read (its exporter's,
//! or the service's own: HAProxy serves its metrics itself), its built-in
//! alerts with their thresholds and where each comes from, and each alert's expression: PromQL
//! with the series that make it fire and keep it silent, or LogQL for Loki's ruler, its
//! dashboard's panels, the metric of its connections on the overview and its panels on the
//! overview, security and performance dashboards. `ir` reads the exporter, `check` validates `alerts:` overrides against
//! the alerts, `targets::rules` and `targets::loki` write the rules, `targets::grafana` lays
//! the panels out, `docs/alerts.md` lists the alerts and catalogues.
//!
//! What its containers need, its exporter's and its own when the stack runs it (`Run`), is
//! said here and lowered by `targets::compose`.
//!
//! An alert says which services have its series (`alert::Builtin::when`: a TLS domain, a
//! health path, a runtime, exact status codes) and whether it reads a probe.
//!
//! A one-shot job its own container needs beside it (postgres's, which creates
//! pg_stat_statements) is said here too (`Job`); the files such a job reads are a target's
//! (`targets::postgres` writes the script).
//!
//! A new kind is a module here, registered in [`def`].

pub mod alert;
mod caddy;
mod celery;
pub mod common;
mod elasticsearch;
mod generic;
mod haproxy;
pub mod http;
mod memcached;
mod mongodb;
pub mod mysql;
pub mod nginx;
mod pgbouncer;
mod postgres;
mod rabbitmq;
mod redis;
mod traefik;

use crate::ir::Service;
use crate::ir::defaults::ComponentDefault;
use crate::manifest::model::{Framework, Kind, LogFormat};
use crate::manifest::values::SecretRef;
use crate::targets::grafana::panels::Spec;
use alert::{AlertText, Builtin, LogText, ServiceAlert};

/// A kind's panels on a shared dashboard, for its services in the stack (one at least).
pub type SharedPanels = fn(&[&Service]) -> Vec<Spec>;

/// The manifest fields every kind takes.
pub const COMMON_FIELDS: &[&str] = &["kind", "image", "logs", "alerts", "compose"];

/// Everything a kind brings.
pub struct KindDef {
    /// The manifest fields a service of the kind takes besides [`COMMON_FIELDS`]: another is
    /// a warning (SL205: it has no effect), and the JSON Schema lists these per kind.
    pub fields: &'static [&'static str],
    /// Those of its fields it requires (the JSON Schema's `required` for the kind: SL005).
    pub requires: &'static [&'static str],
    /// The exporter Prometheus reads the service through, when it is not scraped itself.
    pub exporter: Option<Exporter>,
    /// What serves its metrics (the exporter, or the service itself), with the metrics it
    /// exposes; `None` where they are the application's own (`http`, `generic`).
    pub catalogue: Option<Catalogue>,
    /// Its built-in alerts: metric alerts for Prometheus, log alerts (`logs`) for Loki.
    pub alerts: &'static [Builtin],
    /// The text of one of its metric alerts for a service.
    pub rule: fn(&ServiceAlert) -> AlertText,
    /// The text of one of its log alerts for a service.
    pub log_rule: fn(&ServiceAlert) -> LogText,
    /// The metric names a service of the kind exposes, itself or through its exporter.
    pub exposed: fn(&Service) -> Vec<String>,
    /// The format its logs are in unless `logs.format` says otherwise (by framework: `http`).
    pub log_format: fn(Framework) -> LogFormat,
    /// Scraped itself: the port its metrics are on unless `metrics_port` says otherwise; `None`
    /// for its `port`.
    pub metrics_port: Option<u16>,
    /// A reverse proxy: with an image, the application's front door, its `port` published on
    /// the host.
    pub front_door: bool,
    /// The panels of its dashboard for a service Prometheus scrapes.
    pub panels: fn(&Service) -> Vec<Spec>,
    /// The metric of its open connections (or sessions), or an expression of its metrics that
    /// gives them, which the overview sums by service.
    pub connections: Option<&'static str>,
    /// What its own container needs when the stack runs it (`image`): its variables, data,
    /// command and healthcheck; the manifest's `compose:` comes after.
    pub app: fn(&Service) -> Run<'_>,
    /// The one-shot jobs its own container needs beside it when the stack runs it (postgres:
    /// creating pg_stat_statements in its database).
    pub jobs: fn(&Service) -> Vec<Job<'_>>,
    /// What its jobs' names append to the service's (`<service><suffix>`): names no service
    /// may take (SL102), whether or not the job runs.
    pub job_suffixes: &'static [&'static str],
    /// How the backup runner dumps and restores a database of the kind, where it can
    /// (`backups.jobs` may name only such a service: SL203).
    pub backup: Option<&'static Backup>,
    /// Its panels on the overview dashboard.
    pub overview: SharedPanels,
    /// Its panels on the security dashboard.
    pub security: SharedPanels,
    /// Its panels on the performance dashboard.
    pub performance: SharedPanels,
    /// Variables its official image refuses to start with (SL219).
    pub refused_env: Option<RefusedEnv>,
    /// A database with a login (`database`, `user`, `password`), which it requires (SL208): what
    /// connects with it, as SL208's help says when one is missing.
    pub login: Option<&'static str>,
    /// An optional login of its own (`user` and `password`, both or neither: SL208), which its
    /// exporter logs in with.
    pub basic_login: bool,
    /// The variables `app` sets on its own container from the service's fields, which
    /// `compose.environment` may not set again (SL101).
    pub own_env: fn(&crate::manifest::model::Service) -> &'static [&'static str],
    /// Why those variables are sightline's, as SL101 says when `compose.environment` sets one
    /// again: (label, help).
    pub own_env_why: (&'static str, &'static str),
    /// What the service's own container lacks that its image needs to start as the stack runs
    /// it (SL208, at `image`).
    pub lacks: fn(&crate::manifest::model::Service) -> Option<Lack>,
}

/// A one-shot job beside a service's own container: on the service's image, once the service is
/// healthy, as `user` without any capability, on a read-only root, with the generated files it
/// reads mounted read-only; done when it exits (it always exits 0, reporting any failure in its
/// log, so it never holds back what waits for it).
pub struct Job<'a> {
    /// Its compose service name.
    pub name: String,
    /// Its entrypoint and variables (secrets as files).
    pub run: Run<'a>,
    pub user: &'static str,
    /// The generated files it reads: (path in the output directory, where the job sees it, its
    /// text).
    pub files: Vec<(&'static str, &'static str, &'static str)>,
    /// Its limits: memory in bytes, CPUs, processes and threads.
    pub memory: u64,
    pub cpus: &'static str,
    pub pids: u32,
}

/// How the backup runner (`targets::backup`) dumps and restores a database of a kind.
pub struct Backup {
    /// Its name in the runner's scripts (`backup-<name>.sh`, `restore-<name>.sh`).
    pub name: &'static str,
    /// Those scripts, from `templates/backup/`: (file name, text) of the dump and the restore.
    pub scripts: [(&'static str, &'static str); 2],
    /// The Debian packages its client comes in, added to the runner's image (PostgreSQL's, whose
    /// client it has).
    pub packages: &'static str,
    /// The variables a job's scripts connect with, for the service and its login, but the
    /// password's.
    pub connection: fn(&Service, &crate::ir::DbLogin) -> Vec<ScriptVar>,
    /// How its scripts get the password.
    pub password: PasswordVia,
    /// What the runner's entrypoint does for the service before cron starts, given the
    /// password's file as a shell word (its `readable` and `entry` functions).
    pub prepare: fn(&Service, &crate::ir::DbLogin, &str) -> String,
}

/// A variable a script reads: its name, its value, and whether the value is a word the
/// manifest gave (quoted for a shell).
pub type ScriptVar = (&'static str, String, bool);

/// How a backup job's scripts get its database's password.
pub enum PasswordVia {
    /// libpq's password file (`PGPASSFILE`), which compose's runner writes from the secret at
    /// start; on Kubernetes, where nothing runs before a job, `PGPASSWORD` from the Secret.
    Pgpass,
    /// The secret's file, as compose mounts it, its path in this variable (on Kubernetes, the
    /// Secret's key mounted there).
    File(&'static str),
}

/// A kind whose own container needs no job beside it.
pub fn no_jobs(_: &Service) -> Vec<Job<'_>> {
    Vec::new()
}

/// Something a service's own container lacks (`KindDef::lacks`): what (after "… service
/// `name`"), why (the label at `image`), and the help line.
pub struct Lack {
    pub what: &'static str,
    pub why: String,
    pub help: &'static str,
}

/// A kind whose own container needs nothing beyond what the manifest says.
pub fn lacks_nothing(_: &crate::manifest::model::Service) -> Option<Lack> {
    None
}

/// Why a database's own variables are sightline's.
pub const LOGIN_ENV: (&str, &str) =
    ("set from the service's own fields", "leave it out: sightline sets it from `database`, `user` and `password`");

/// A kind that sets no variable of its own.
pub const NO_OWN_ENV: (&str, &str) = ("", "");

/// A kind whose container gets no variables from the service's fields.
pub fn no_own_env(_: &crate::manifest::model::Service) -> &'static [&'static str] {
    &[]
}

/// Variables an official image's entrypoint refuses to start with (set and not empty).
pub struct RefusedEnv {
    /// The official image (`rabbitmq`).
    pub image: &'static str,
    /// The first release (major, minor) that refuses them.
    pub since: (u32, u32),
    pub vars: &'static [&'static str],
}

impl RefusedEnv {
    /// Whether `image` is the official image at a release that refuses them (a tag without a
    /// release number, `latest` or `management`, is taken as a current one).
    pub fn applies_to(&self, image: &crate::manifest::values::ImageRef) -> bool {
        if !image.is_official(self.image) {
            return false;
        }
        let tag = image.tag().unwrap_or("latest");
        let number: String = tag.chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
        let mut parts = number.split('.').map(|p| p.parse::<u32>().ok());
        match (parts.next().flatten(), parts.next().flatten()) {
            (Some(major), minor) => (major, minor.unwrap_or(u32::MAX)) >= self.since,
            (None, _) => true,
        }
    }
}

/// A kind's exporter.
pub struct Exporter {
    /// Its image and release, limits and healthcheck (`ir::defaults`).
    pub image: &'static ComponentDefault,
    /// The port its metrics are served on.
    pub port: u16,
    /// Its metric that is 1 when it reaches the service.
    pub up_metric: &'static str,
    /// Where `up_metric` alone does not say it (elasticsearch_exporter's success stays 1 when
    /// the node refuses it): the expression that does, by service, for a matcher; see `up`.
    pub up_expr: Option<fn(&str) -> String>,
    /// The kind's alert that the service is down (`up_metric` at 0), which inhibits the
    /// service's other alerts (`inhibit: auto`).
    pub down_alert: &'static str,
    /// Its cheapest endpoint, which its compose healthcheck asks for (some exporters query the
    /// service on every `/metrics`).
    pub health_path: &'static str,
    /// What its container needs from the service.
    pub run: fn(&Service) -> Run<'_>,
    /// Where its image keeps the program, when the image is that program alone (FROM scratch):
    /// for a service with a login, whose password's file nothing in it can read, sightline
    /// builds it with a shell (`targets::exporter_image`). `None`: its image has a shell.
    pub program_alone: Option<&'static str>,
}

impl Exporter {
    /// 1 when the exporter reaches the service, 0 when it does not, by service, over the series
    /// `sel` matches (no series when the exporter itself is not scraped).
    pub fn up(&self, sel: &str) -> String {
        match self.up_expr {
            Some(f) => f(sel),
            None => format!("min by (service) ({}{{{sel}}})", self.up_metric),
        }
    }
}

/// What a container needs, as `targets::compose` lowers it: a kind's exporter's, or the
/// service's own when the stack runs it (`image`). Text is as the program reads it; compose
/// doubles `$` for its interpolation.
#[derive(Default)]
pub struct Run<'a> {
    /// Its entrypoint (none: the image's own).
    pub entrypoint: Vec<String>,
    /// Its arguments, after the entrypoint (none: the image's own).
    pub command: Vec<String>,
    /// Environment variables, in order.
    pub env: Vec<(&'static str, Var<'a>)>,
    /// The one-shot jobs it waits for to complete. An exporter's only (the service's own
    /// container waits for what its `compose.depends_on` names).
    pub after: Vec<String>,
    /// Where it keeps its data, in a named volume `<service>-data` unless the service's
    /// `compose.volumes` or `compose.tmpfs` mount something there. The service's own container
    /// only.
    pub data: Option<&'static str>,
    /// Its healthcheck's test (`CMD` or `CMD-SHELL` first); none when its image has nothing to
    /// check it with. The service's own container only (an exporter's is its `health_path`).
    pub healthcheck: Option<Vec<String>>,
    /// Its host name, where the program keeps its data under it (RabbitMQ's node name). The
    /// service's own container only.
    pub hostname: Option<String>,
    /// Where the entrypoint is a wrapper that reads the password's file into the program's own
    /// variable and starts the program (`common::password_from_file`): that variable. A
    /// platform that can pass a secret in a variable from its own store may run the program
    /// directly with it instead (Kubernetes, for an exporter whose image has nothing to run
    /// the wrapper with: `targets::kubernetes::exporters`).
    pub password_var: Option<String>,
}

/// An environment variable's value.
pub enum Var<'a> {
    Value(String),
    /// The path of the file a secret is read from (the `<VAR>_FILE` convention).
    SecretFile(&'a SecretRef),
}

/// The metrics a kind's exporter, or the service itself, exposes.
pub struct Catalogue {
    /// The program, as diagnostics name it (`postgres_exporter`).
    pub program: &'static str,
    /// The prefix of its metrics' names (`pg_`).
    pub prefix: &'static str,
    /// The metrics it exposes that the rules and panels read, from its source at the pinned
    /// release (the kind's module names it).
    pub metrics: &'static [&'static str],
    /// Those it exposes only with an option (postgres: `query_stats`).
    pub optional: &'static [&'static str],
    /// The labels of its metrics that the rules and panels select or group by, besides `job`,
    /// `instance`, `service` and `service_kind`: by metric name or name prefix.
    pub labels: &'static [(&'static str, &'static [&'static str])],
}

impl Catalogue {
    /// Its metrics, as `exposed` gives them: those behind an option with `optional`.
    pub fn exposed(&self, optional: bool) -> Vec<String> {
        let extra = if optional { self.optional } else { &[] };
        self.metrics.iter().chain(extra).map(|m| m.to_string()).collect()
    }

    /// The labels `metric` carries that the rules and panels read (by the first entry of
    /// `labels` naming it or a prefix of it).
    pub fn labels_of(&self, metric: &str) -> &'static [&'static str] {
        self.labels.iter().find(|(p, _)| metric.starts_with(p)).map_or(&[], |(_, l)| *l)
    }
}

/// What `kind` brings.
pub fn def(kind: Kind) -> &'static KindDef {
    match kind {
        Kind::Http => &http::DEF,
        Kind::Postgres => &postgres::DEF,
        Kind::Mysql => &mysql::DEF,
        Kind::Redis => &redis::DEF,
        Kind::Memcached => &memcached::DEF,
        Kind::Nginx => &nginx::DEF,
        Kind::Haproxy => &haproxy::DEF,
        Kind::Caddy => &caddy::DEF,
        Kind::Traefik => &traefik::DEF,
        Kind::Rabbitmq => &rabbitmq::DEF,
        Kind::Elasticsearch => &elasticsearch::DEF,
        Kind::Pgbouncer => &pgbouncer::DEF,
        Kind::Mongodb => &mongodb::DEF,
        Kind::Celery => &celery::DEF,
        Kind::Generic => &generic::DEF,
    }
}

/// A built-in alert of a kind, by name.
pub fn builtin(kind: Kind, name: &str) -> Option<&'static Builtin> {
    def(kind).alerts.iter().find(|b| b.name == name)
}

/// The names of the built-in alerts of a kind.
pub fn builtin_alerts(kind: Kind) -> Vec<&'static str> {
    def(kind).alerts.iter().map(|b| b.name).collect()
}

#[cfg(test)]
mod tests {
    use crate::manifest::values::ImageRef;

    #[test]
    fn refused_variables_apply_to_the_official_image_from_its_release_on() {
        let refused = super::rabbitmq::DEF.refused_env.as_ref().unwrap();
        let image = |s: &str| ImageRef::parse(s).unwrap();
        for yes in [
            "rabbitmq:4.2.8",
            "rabbitmq:3.9",
            "docker.io/library/rabbitmq:4.2-management",
            "rabbitmq:management",
            "rabbitmq",
        ] {
            assert!(refused.applies_to(&image(yes)), "{yes}");
        }
        for no in ["rabbitmq:3.8.34", "bitnami/rabbitmq:4.2.8", "ghcr.io/acme/rabbitmq:4.2"] {
            assert!(!refused.applies_to(&image(no)), "{no}");
        }
    }
}

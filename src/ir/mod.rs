//! Lower: the checked `Manifest` becomes the resolved `Stack` that every target reads.
//!
//! Defaults are applied here and nowhere else. Lowering cannot fail: it runs only on a manifest
//! that passed the checks, and every lookup it does (a receiver by name, a service by name) was
//! proved by them.

pub mod catalog;
pub mod defaults;
pub mod frameworks;
pub mod metrics;
pub mod runtimes;

use crate::manifest::model::{self as m, Collector, DashboardKind, Framework, Kind, LogFormat, Manifest};
use crate::manifest::values::{Cron, Duration, ImageRef, Name, Percent, SecretRef, Size};
use defaults::ComponentDefault;
use indexmap::IndexMap;
use std::collections::BTreeMap;

/// The resolved stack.
#[derive(Clone, Debug)]
pub struct Stack {
    /// The manifest file name as given (for generated-file headers); never an absolute path.
    pub manifest_name: String,
    pub name: Name,
    pub env: Name,
    pub host: Option<m::Host>,
    pub network: Option<String>,
    pub services: Vec<Service>,
    pub scrape_interval: Duration,
    pub scrape_timeout: Duration,
    pub evaluation_interval: Duration,
    pub prometheus_retention: Duration,
    /// Every container sightline runs, with image and limits, in start order.
    pub components: Vec<Component>,
    pub grafana: Grafana,
    /// Basic authentication on Prometheus's endpoints, when the manifest asks for it.
    pub prometheus_auth: Option<WebAuth>,
    /// Where Prometheus also writes every sample (`observability.prometheus.remote_write`).
    pub remote_write: Vec<m::RemoteWrite>,
    /// Basic authentication on Alertmanager's endpoints, when the manifest asks for it.
    pub alertmanager_auth: Option<AlertmanagerAuth>,
    pub alerting: Alerting,
    pub logs: Logs,
    pub dashboards: Dashboards,
    pub backups: Option<Backups>,
    /// The application's batch jobs, which report to the Pushgateway.
    pub jobs: Vec<BatchJob>,
    /// Every secret the stack reads, with the setting that reads it, in manifest order.
    pub secrets: Vec<SecretUse>,
    /// Host ports bound by the stack.
    pub published: Vec<Published>,
    /// How the generated files name images (`pin`): by tag, or by digest too once `pin` ran.
    pub pin: m::Pin,
    /// Where the stack runs: the manifest's `platform`; the command line may choose another.
    pub platform: m::Platform,
    /// Where the stack goes on Kubernetes (used by `--platform kubernetes`).
    pub kubernetes: Kubernetes,
}

/// The Kubernetes platform's settings, defaults applied.
#[derive(Clone, Debug)]
pub struct Kubernetes {
    pub namespace: String,
    pub release: String,
    /// The chart's `fullnameOverride`, when the manifest gives it.
    pub fullname: Option<String>,
    /// The cluster's name, an external label, when the manifest gives it.
    pub cluster: Option<String>,
    /// Where Loki keeps its chunks: an S3-compatible bucket, or its pod's volume (`None`).
    pub loki_bucket: Option<m::LokiBucket>,
    /// The image the backup CronJobs run, when the manifest names one (built from
    /// `backup/Dockerfile`); else they run the runner's base, PostgreSQL's stock image.
    pub backup_image: Option<ImageRef>,
}

/// A container sightline runs (not the application's own).
#[derive(Clone, Debug)]
pub struct Component {
    /// The compose service name.
    pub name: String,
    /// The application service it exports or probes, if any.
    pub for_service: Option<Name>,
    pub image: ImageRef,
    pub memory: Size,
    pub cpus: f64,
    /// Its `pids_limit`.
    pub pids: u32,
    pub disk: Option<Size>,
    /// The manifest setting that sizes it, for budget messages.
    pub setting: String,
    /// What its image offers a healthcheck.
    pub probe: defaults::Probe,
}

#[derive(Clone, Debug)]
pub struct Service {
    pub name: Name,
    pub kind: Kind,
    pub framework: Framework,
    /// The runtime whose default metrics the service exports (`http` only).
    pub runtime: Option<m::Runtime>,
    pub image: Option<ImageRef>,
    pub host: String,
    pub port: u16,
    /// The port Prometheus scrapes the service on (`metrics_port`, else `port`).
    pub metrics_port: u16,
    /// The scrape path, `None` when the service is not scraped directly.
    pub metrics_path: Option<String>,
    pub metric_names: MetricNames,
    pub health: Option<m::Health>,
    pub tls_domain: Option<String>,
    pub log_format: LogFormat,
    pub log_labels: Vec<String>,
    pub log_path: Option<String>,
    pub slo: Option<Slo>,
    pub alerts: IndexMap<String, m::AlertOverride>,
    /// The login of a database service (`postgres`, `mysql`): what its exporter, its backups and
    /// its own container connect or start with.
    pub db: Option<DbLogin>,
    /// The login its exporter logs in with, where its kind takes one apart from a database's
    /// (`KindDef::basic_login`: elasticsearch, pgbouncer, mongodb).
    pub login: Option<Login>,
    /// How compose runs it (`compose:`; only on a service with an image).
    pub compose: m::ServiceCompose,
    /// A `celery` service's broker, with the queues its exporter reads from the start.
    pub broker: Option<Broker>,
    /// Where it is on Kubernetes. On that platform, `host` is its address there.
    pub place: Place,
}

/// Where a service is on Kubernetes (`kubernetes:` of the service, defaults applied).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Place {
    /// In the cluster: its Service, by name (what its exporter and probes reach) and by labels
    /// (what a ServiceMonitor selects), and its pods by labels, and the one container of theirs
    /// that is the service when they run others (whose logs Alloy collects).
    Cluster {
        namespace: String,
        service: String,
        selector: Vec<(String, String)>,
        pods: Vec<(String, String)>,
        container: Option<String>,
    },
    /// Outside it: the address Prometheus, its exporter and its probes reach.
    Outside { address: String },
}

impl Place {
    /// The host name the service is reached at from the cluster: its Service's, qualified by
    /// its namespace, or its address outside.
    pub fn address(&self) -> String {
        match self {
            Place::Cluster { namespace, service, .. } => format!("{service}.{namespace}.svc"),
            Place::Outside { address } => address.clone(),
        }
    }

    /// Whether it is in the cluster (where Alloy reads its pods' logs).
    pub fn in_cluster(&self) -> bool {
        matches!(self, Place::Cluster { .. })
    }

    /// Its namespace, in the cluster.
    pub fn namespace(&self) -> Option<&str> {
        match self {
            Place::Cluster { namespace, .. } => Some(namespace),
            Place::Outside { .. } => None,
        }
    }

    /// Where a service is, from its `kubernetes:` and its `host`: `address`, else the Service
    /// it names, else a `host` with a dot (a name outside the cluster: the cluster's own are
    /// single labels, qualified here), else the Service named after its host or its name in
    /// the stack's namespace, selected by `app.kubernetes.io/name`.
    fn of(name: &Name, s: &m::Service, namespace: &str) -> Place {
        let k = s.kubernetes.clone().unwrap_or_default();
        if let Some(address) = k.address {
            return Place::Outside { address };
        }
        let in_cluster = k.namespace.is_some()
            || k.service.is_some()
            || k.selector.is_some()
            || k.pods.is_some()
            || k.container.is_some();
        if let Some(host) = s.host.as_ref().filter(|h| h.contains('.') && !in_cluster) {
            return Place::Outside { address: host.clone() };
        }
        let service = k.service.or_else(|| s.host.clone()).unwrap_or_else(|| name.as_str().to_string());
        let selector: Vec<(String, String)> = match k.selector {
            Some(labels) => labels.into_iter().collect(),
            None => vec![(defaults::KUBERNETES_NAME_LABEL.to_string(), service.clone())],
        };
        Place::Cluster {
            namespace: k.namespace.unwrap_or_else(|| namespace.to_string()),
            pods: k.pods.map_or_else(|| selector.clone(), |labels| labels.into_iter().collect()),
            container: k.container,
            selector,
            service,
        }
    }
}

/// The broker of a `celery` service: the redis or rabbitmq service its `broker` names, where
/// that service is reached.
#[derive(Clone, Debug)]
pub struct Broker {
    /// The service it is.
    pub service: Name,
    pub kind: Kind,
    pub host: String,
    pub port: u16,
    /// A redis broker's database number.
    pub database: Option<u32>,
    /// A rabbitmq broker's virtual host.
    pub vhost: Option<String>,
    /// The queues whose length is read from the start (`queues`, default `[celery]`).
    pub queues: Vec<String>,
}

impl Broker {
    /// Its URL as Celery (kombu) reads it, with `userinfo` (`user:password@`, already
    /// percent-encoded) after the scheme: `redis://host:port[/database]` or
    /// `amqp://host:port[/vhost]`, the vhost percent-encoded (`/` as `%2F`).
    pub fn url(&self, userinfo: &str) -> String {
        let (scheme, path) = match self.kind {
            Kind::Rabbitmq => ("amqp", self.vhost.as_deref().map(|v| format!("/{}", percent_encode(v)))),
            _ => ("redis", self.database.map(|d| format!("/{d}"))),
        };
        format!("{scheme}://{userinfo}{}:{}{}", self.host, self.port, path.unwrap_or_default())
    }
}

/// `s` with every byte but RFC 3986's unreserved characters percent-encoded.
pub fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

impl Service {
    /// Whether Prometheus scrapes the service, itself or through its exporter: a service
    /// scraped itself (`http`, `generic`, `haproxy`, `caddy`, `traefik`, `rabbitmq`) with
    /// `metrics: false` has no series.
    pub fn scraped(&self) -> bool {
        self.metrics_path.is_some() || crate::kinds::def(self.kind).exporter.is_some()
    }

    /// A postgres service whose exporter reads pg_stat_statements.
    pub fn query_stats(&self) -> bool {
        self.db.as_ref().is_some_and(|p| p.query_stats)
    }
}

pub use frameworks::{MetricNames, duration_scale};

#[derive(Clone, Debug)]
pub struct Slo {
    pub availability: Option<Percent>,
    /// (quantile label such as `p95`, the quantile as a number, the threshold)
    pub latency: Option<(String, f64, Duration)>,
    pub window: Duration,
}

#[derive(Clone, Debug)]
pub struct DbLogin {
    pub database: String,
    pub user: String,
    pub password: SecretRef,
    /// postgres: read pg_stat_statements (`query_stats`, default true).
    pub query_stats: bool,
}

/// A service's login for its exporter (`user` and `password`).
#[derive(Clone, Debug)]
pub struct Login {
    pub user: String,
    pub password: SecretRef,
}

/// Basic authentication on a component's endpoints (Prometheus's or Alertmanager's).
#[derive(Clone, Debug)]
pub struct WebAuth {
    pub user: String,
    pub password: SecretRef,
    pub password_hash: String,
}

impl WebAuth {
    fn new(user: Option<&String>, password: &SecretRef, password_hash: &str) -> Self {
        WebAuth {
            user: user.cloned().unwrap_or_else(|| defaults::WEB_AUTH_USER.into()),
            password: password.clone(),
            password_hash: password_hash.to_string(),
        }
    }
}

impl Stack {
    /// The logins behind basic authentication (Prometheus's, Alertmanager's): what a client of
    /// both, Grafana or Prometheus itself, reads a password file for.
    pub fn web_logins(&self) -> impl Iterator<Item = &WebAuth> {
        self.prometheus_auth.iter().chain(self.alertmanager_auth.iter().map(|a| &a.web))
    }
}

/// Alertmanager's basic authentication, and the same login encoded as Loki's ruler sends it.
#[derive(Clone, Debug)]
pub struct AlertmanagerAuth {
    pub web: WebAuth,
    /// A file holding base64 of `user:password`.
    pub credentials: SecretRef,
}

#[derive(Clone, Debug)]
pub struct Grafana {
    pub port: u16,
    pub bind: String,
    pub root_url: Option<String>,
    pub admin_password: SecretRef,
}

#[derive(Clone, Debug)]
pub struct Alerting {
    pub runbook_url: Option<String>,
    pub group_by: Vec<String>,
    pub receivers: IndexMap<Name, m::Receiver>,
    pub routes: Vec<m::Route>,
    pub default: Option<Name>,
    pub inhibit: Inhibit,
    /// The receiver of the always-firing `Watchdog` alert.
    pub heartbeat: Option<Name>,
    pub rules: Vec<m::UserRule>,
}

#[derive(Clone, Debug)]
pub enum Inhibit {
    Auto,
    Off,
    Rules(Vec<m::InhibitRule>),
}

#[derive(Clone, Debug)]
pub struct Logs {
    pub collector: Collector,
    pub retention: Duration,
    pub redact: Vec<String>,
    pub sources: Vec<m::LogSource>,
}

#[derive(Clone, Debug)]
pub struct Dashboards {
    pub refresh: Duration,
    pub time: Duration,
    pub include: Vec<DashboardKind>,
}

#[derive(Clone, Debug)]
pub struct Backups {
    /// The Go image supercronic is built in, the runner's first stage.
    pub builder: ImageRef,
    pub destination: String,
    pub jobs: Vec<BackupJob>,
    pub verify: bool,
    pub restore_test: Option<Cron>,
}

#[derive(Clone, Debug)]
pub struct BackupJob {
    pub name: Name,
    pub service: Name,
    pub schedule: Cron,
    /// The longest time between two runs of the schedule (a day for `0 2 * * *`).
    pub interval: Duration,
    pub keep: u32,
    pub compress: m::Compress,
    pub age_recipient: Option<String>,
}

#[derive(Clone, Debug)]
pub struct BatchJob {
    pub name: Name,
    pub service: Name,
    pub schedule: Cron,
    /// The longest time between two runs of the schedule.
    pub interval: Duration,
    pub max_duration: Duration,
}

impl BatchJob {
    /// How long after its last success the job is late: the schedule's longest gap plus the
    /// longest a run may take.
    pub fn late_after(&self) -> Duration {
        Duration::from_millis(self.interval.millis() + self.max_duration.millis())
    }
}

/// A secret and the manifest setting that reads it (e.g. `services.db.password`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretUse {
    pub reference: SecretRef,
    pub setting: String,
}

/// A host port the stack binds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Published {
    pub bind: String,
    pub port: u16,
    /// What binds it (a component or service name).
    pub owner: String,
    /// The manifest pointer of the setting, for diagnostics.
    pub pointer: String,
}

fn dur(s: &str) -> Duration {
    Duration::parse(s).expect("defaults are valid durations")
}

fn size(s: &str) -> Size {
    Size::parse(s).expect("defaults are valid sizes")
}

/// Lower a checked manifest for `platform` (`--platform`), or, without one, for the platform
/// the manifest names.
pub fn lower_for(manifest: &Manifest, manifest_name: &str, platform: Option<m::Platform>) -> Stack {
    let mut stack = lower_here(manifest, manifest_name);
    stack.platform = m::Platform::chosen(platform, manifest.platform);
    if stack.platform == m::Platform::Kubernetes {
        // What reaches a service (its exporter, its probes) reaches it where it is there.
        let addresses: Vec<(Name, String)> =
            stack.services.iter().map(|s| (s.name.clone(), s.place.address())).collect();
        let address = |n: &Name| addresses.iter().find(|(o, _)| o == n).map(|(_, a)| a.clone());
        for s in &mut stack.services {
            s.host = s.place.address();
            if let Some(b) = &mut s.broker {
                b.host = address(&b.service).unwrap_or_else(|| b.host.clone());
            }
        }
        if let Some(c) = stack.kubernetes.loki_bucket.as_ref().and_then(|b| b.credentials.clone()) {
            for (r, half) in [(c.access_key_id, "access_key_id"), (c.secret_access_key, "secret_access_key")] {
                stack
                    .secrets
                    .push(SecretUse { reference: r, setting: format!("kubernetes.loki_bucket.credentials.{half}") });
            }
        }
        // A batch job of a service outside the cluster has no way in to the cluster's
        // Pushgateway (SL903): it is not watched there, rather than alerted on for results that
        // cannot arrive; without a job left, there is no Pushgateway.
        let outside: Vec<Name> =
            stack.services.iter().filter(|s| !s.place.in_cluster()).map(|s| s.name.clone()).collect();
        stack.jobs.retain(|j| !outside.contains(&j.service));
        // The backup jobs run as CronJobs and push their results to the Pushgateway: on the
        // image `kubernetes.backup_image` names, built from the runner's Dockerfile, every one;
        // else on the stock image of the runner's base, PostgreSQL's, which has pg_dump, bash
        // and gzip but neither age nor zstd: a job it cannot run is left out with its alerts
        // (SL903 names it).
        let kinds: Vec<(Name, Kind)> = stack.services.iter().map(|s| (s.name.clone(), s.kind)).collect();
        if let Some(b) = stack.backups.as_mut().filter(|_| stack.kubernetes.backup_image.is_none()) {
            b.jobs.retain(|j| runs_on_stock_image(j, &kinds));
        }
        if stack.backups.as_ref().is_some_and(|b| b.jobs.is_empty()) {
            stack.backups = None;
            stack.components.retain(|c| c.name != defaults::BACKUP.name);
        }
        let pushgateway = stack.component(defaults::PUSHGATEWAY.name).is_some();
        if stack.jobs.is_empty() && stack.backups.is_none() {
            stack.components.retain(|c| c.name != defaults::PUSHGATEWAY.name);
        } else if !pushgateway {
            let p = manifest.observability.as_ref().and_then(|o| o.pushgateway.clone()).unwrap_or_default();
            stack.components.push(pushgateway_component(&p));
        }
        // Alloy collects the logs there whatever `logs.collector` says: Promtail, past its end
        // of life, has no DaemonSet of ours (docs/kubernetes.md).
        if stack.logs.collector == Collector::Promtail {
            stack.logs.collector = Collector::Alloy;
            stack.components.retain(|c| c.name != defaults::PROMTAIL.name);
            stack.components.push(alloy(manifest));
        }
    }
    stack
}

/// Whether a backup job runs on the stock PostgreSQL image (`lower_for`): PostgreSQL's,
/// unencrypted, gzip or no compression.
fn runs_on_stock_image(j: &BackupJob, kinds: &[(Name, Kind)]) -> bool {
    kinds.iter().any(|(n, k)| *n == j.service && *k == Kind::Postgres)
        && j.age_recipient.is_none()
        && j.compress != m::Compress::Zstd
}

/// Lower a checked manifest for the platform it names. `manifest_name` is the file name shown
/// in generated headers.
pub fn lower(manifest: &Manifest, manifest_name: &str) -> Stack {
    lower_for(manifest, manifest_name, None)
}

/// Lower a checked manifest, every service at its compose host.
fn lower_here(manifest: &Manifest, manifest_name: &str) -> Stack {
    let obs = manifest.observability.clone().unwrap_or_default();
    let scrape_interval = obs.scrape_interval.clone().unwrap_or_else(|| dur(defaults::SCRAPE_INTERVAL));
    let scrape_timeout = obs.scrape_timeout.clone().unwrap_or_else(|| {
        let d = dur(defaults::SCRAPE_TIMEOUT);
        if d.millis() > scrape_interval.millis() { scrape_interval.clone() } else { d }
    });
    let evaluation_interval = obs.evaluation_interval.clone().unwrap_or_else(|| scrape_interval.clone());
    let prometheus_retention = obs
        .prometheus
        .as_ref()
        .and_then(|p| p.retention.clone())
        .unwrap_or_else(|| dur(defaults::PROMETHEUS_RETENTION));
    let namespace = manifest.kubernetes.as_ref().and_then(|k| k.namespace.clone());
    let namespace = namespace.as_deref().unwrap_or(defaults::KUBERNETES_NAMESPACE);
    let services: Vec<Service> =
        manifest.services.iter().map(|(n, s)| lower_service(n, s, &manifest.services, namespace)).collect();
    let logs = manifest.logs.clone().unwrap_or_default();
    let collector = logs.collector.unwrap_or_default();
    let grafana_settings = obs.grafana.clone().unwrap_or_default();
    let grafana = Grafana {
        port: grafana_settings.port.map_or(defaults::GRAFANA_PORT, |p| p as u16),
        bind: grafana_settings.bind.clone().unwrap_or_else(|| defaults::GRAFANA_BIND.into()),
        root_url: grafana_settings.root_url.clone(),
        admin_password: grafana_settings
            .admin_password
            .clone()
            .unwrap_or_else(|| SecretRef::Env(defaults::GRAFANA_ADMIN_PASSWORD_ENV.into())),
    };
    let alerting = manifest.alerting.clone().unwrap_or_default();
    let backups = manifest.backups.as_ref().filter(|b| !b.jobs.is_empty()).map(|b| Backups {
        builder: ImageRef::parse(defaults::SUPERCRONIC.builder).expect("the builder image is a reference"),
        destination: b.destination.clone().unwrap_or_else(|| defaults::BACKUP_DESTINATION.into()),
        jobs: b
            .jobs
            .iter()
            .map(|j| BackupJob {
                name: j.name.clone(),
                service: j.service.clone(),
                schedule: j.schedule.clone(),
                interval: longest_gap(&j.schedule),
                keep: j.keep,
                compress: j.compress.unwrap_or_default(),
                age_recipient: j.encrypt.as_ref().map(|e| e.age_recipient.clone()),
            })
            .collect(),
        verify: b.verify.unwrap_or(true),
        restore_test: b.restore_test.clone(),
    });
    let jobs: Vec<BatchJob> = manifest
        .jobs
        .iter()
        .map(|j| BatchJob {
            name: j.name.clone(),
            service: j.service.clone(),
            schedule: j.schedule.clone(),
            interval: longest_gap(&j.schedule),
            max_duration: j.max_duration.clone().unwrap_or_else(|| dur(defaults::JOB_MAX_DURATION)),
        })
        .collect();
    let dashboards = manifest.dashboards.clone().unwrap_or_default();
    let mut stack = Stack {
        manifest_name: manifest_name.to_string(),
        name: manifest.stack.clone(),
        env: manifest.environment.clone(),
        host: manifest.host.clone(),
        network: manifest.network.clone(),
        components: components(manifest, &services, collector, backups.is_some(), !jobs.is_empty()),
        services,
        scrape_interval,
        scrape_timeout,
        evaluation_interval,
        prometheus_retention,
        grafana,
        remote_write: obs
            .prometheus
            .as_ref()
            .map(|p| {
                // Each named, so every platform names its queue alike (`remote_name`): by its
                // place when the manifest gives no name (`check` holds the names unique).
                let mut writes = p.remote_write.clone();
                for (i, w) in writes.iter_mut().enumerate() {
                    w.name = w.name.take().or_else(|| Name::parse(&defaults::remote_write_name(i)).ok());
                }
                writes
            })
            .unwrap_or_default(),
        prometheus_auth: obs
            .prometheus
            .as_ref()
            .and_then(|p| p.auth.as_ref())
            .map(|a| WebAuth::new(a.user.as_ref(), &a.password, &a.password_hash)),
        alertmanager_auth: obs.alertmanager.as_ref().and_then(|a| a.auth.as_ref()).map(|a| AlertmanagerAuth {
            web: WebAuth::new(a.user.as_ref(), &a.password, &a.password_hash),
            credentials: a.credentials.clone(),
        }),
        alerting: Alerting {
            runbook_url: alerting.runbook_url.clone(),
            group_by: alerting
                .group_by
                .clone()
                .map(|g| g.into_iter().map(|l| l.0).collect())
                .unwrap_or_else(|| defaults::GROUP_BY.iter().map(|s| s.to_string()).collect()),
            receivers: alerting.receivers.clone(),
            routes: alerting.routes.clone(),
            default: alerting.default.clone(),
            inhibit: match &alerting.inhibit {
                None | Some(m::Inhibit::Mode(m::InhibitMode::Auto)) => Inhibit::Auto,
                Some(m::Inhibit::Mode(m::InhibitMode::Off)) | Some(m::Inhibit::Off(_)) => Inhibit::Off,
                Some(m::Inhibit::Rules(r)) => Inhibit::Rules(r.clone()),
            },
            heartbeat: alerting.heartbeat.clone(),
            rules: alerting.rules.clone(),
        },
        logs: Logs {
            collector,
            retention: logs.retention.clone().unwrap_or_else(|| dur(defaults::LOG_RETENTION)),
            redact: logs
                .redact
                .clone()
                .map(|r| r.into_iter().map(|k| k.0).collect())
                .unwrap_or_else(|| defaults::REDACT.iter().map(|s| s.to_string()).collect()),
            sources: logs.sources.clone(),
        },
        dashboards: Dashboards {
            refresh: dashboards.refresh.clone().unwrap_or_else(|| dur(defaults::DASHBOARD_REFRESH)),
            time: dashboards.time.clone().unwrap_or_else(|| dur(defaults::DASHBOARD_TIME)),
            include: dashboards.include.clone().unwrap_or_else(|| DashboardKind::ALL.to_vec()),
        },
        backups,
        jobs,
        secrets: Vec::new(),
        published: Vec::new(),
        pin: manifest.pin.unwrap_or_default(),
        platform: manifest.platform.unwrap_or_default(),
        kubernetes: {
            let k = manifest.kubernetes.clone().unwrap_or_default();
            Kubernetes {
                namespace: k.namespace.unwrap_or_else(|| defaults::KUBERNETES_NAMESPACE.into()),
                release: k.release.unwrap_or_else(|| defaults::KUBERNETES_RELEASE.into()),
                fullname: k.fullname,
                cluster: k.cluster,
                loki_bucket: k.loki_bucket,
                backup_image: k.backup_image,
            }
        },
    };
    stack.secrets = secrets(&stack);
    stack.published = published(manifest, &stack);
    stack
}

/// The image the backup runner is built on: the official Debian-based `postgres` image of the
/// newest database's release, whose client dumps every database of the stack (pg_dump reads
/// servers of its own major version and older) and whose `apt-get` installs zstd and age. An
/// Alpine or third-party database image gives its version, never its base: the Dockerfile needs
/// Debian's packages.
pub fn runner_base(services: &[Service], default: &ImageRef) -> ImageRef {
    let newest = services
        .iter()
        .filter(|s| s.kind == Kind::Postgres)
        .filter_map(|s| s.image.as_ref())
        .max_by_key(|i| i.major_version().unwrap_or(0));
    let Some(i) = newest else { return default.clone() };
    let official = matches!(i.repository(), "postgres" | "library/postgres" | "docker.io/library/postgres");
    match (official, i.tag(), i.major_version()) {
        // `16.4-alpine3.20` → `16.4`; `16.4-bookworm` stays.
        (true, Some(tag), _) if !tag.starts_with("alpine") => {
            ImageRef::pinned("postgres", tag.split("-alpine").next().unwrap_or(tag))
        }
        (_, _, Some(major)) => ImageRef::pinned("postgres", &major.to_string()),
        _ => default.clone(),
    }
}

/// `pin: digest`: every image the stack runs that names no digest takes the one `recorded` for
/// it (the lock's, by the image as written). Returns the digests used, for the new lock, or the
/// images that have none recorded. With `pin: tag`, nothing changes and nothing is used.
pub fn pin(
    stack: &mut std::borrow::Cow<'_, Stack>,
    recorded: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, Vec<String>> {
    let mut used = BTreeMap::new();
    if stack.pin == m::Pin::Tag {
        return Ok(used);
    }
    // A `pin: digest` stack is copied, to set its digests; a `pin: tag` one (the default) is
    // built from as it is.
    let stack = stack.to_mut();
    let missing: Vec<String> = unpinned(stack).into_iter().filter(|i| !recorded.contains_key(i)).collect();
    if !missing.is_empty() {
        return Err(missing);
    }
    for image in stack.images_mut().filter(|i| i.digest().is_none()) {
        let d = &recorded[image.as_str()];
        used.insert(image.as_str().to_string(), d.clone());
        *image = image.with_digest(d);
    }
    Ok(used)
}

/// The images the generated files name without a digest, each once, in the order
/// `Stack::images_mut` gives them: what `pin` needs a digest for.
pub fn unpinned(stack: &mut Stack) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for i in stack.images_mut().filter(|i| i.digest().is_none()) {
        if !out.iter().any(|o| o == i.as_str()) {
            out.push(i.as_str().to_string());
        }
    }
    out
}

fn lower_service(name: &Name, s: &m::Service, all: &IndexMap<Name, m::Service>, namespace: &str) -> Service {
    let framework = s.framework.unwrap_or(Framework::Generic);
    let metric_names = MetricNames::resolve(framework, s.metric_names.as_ref());
    let kind = crate::kinds::def(s.kind);
    let scraped_directly = kind.exporter.is_none();
    let metrics_path = match (&s.metrics, scraped_directly) {
        (_, false) => None,
        (Some(m::MetricsPath::Enabled(false)), _) => None,
        (Some(m::MetricsPath::Path(p)), _) => Some(p.clone()),
        // Spring Boot's actuator serves its Prometheus endpoint under `/actuator`.
        (Some(m::MetricsPath::Enabled(true)) | None, _) if s.kind == Kind::Http && framework == Framework::Spring => {
            Some("/actuator/prometheus".into())
        }
        (Some(m::MetricsPath::Enabled(true)) | None, _) => Some("/metrics".into()),
    };
    let default_format = (kind.log_format)(framework);
    let logs = s.logs.clone();
    Service {
        name: name.clone(),
        kind: s.kind,
        framework,
        runtime: match (s.kind, s.runtime, framework) {
            (Kind::Http, Some(r), _) => Some(r),
            // Their libraries export the runtime's metrics at their defaults (`ir::frameworks`).
            (Kind::Http, None, Framework::Fastapi | Framework::Flask | Framework::Django) => Some(m::Runtime::Python),
            (Kind::Http, None, Framework::Fastify) => Some(m::Runtime::Node),
            (Kind::Http, None, Framework::Spring) => Some(m::Runtime::Jvm),
            _ => None,
        },
        image: s.image.clone(),
        host: s.host.clone().unwrap_or_else(|| name.as_str().to_string()),
        // None only on a celery service, whose workers listen on no port (`check` requires one of
        // every other kind).
        port: s.port.unwrap_or(0) as u16,
        metrics_port: s.metrics_port.map_or(kind.metrics_port.unwrap_or(s.port.unwrap_or(0) as u16), |p| p as u16),
        metrics_path,
        metric_names,
        health: s.health.clone(),
        tls_domain: s.tls.as_ref().map(|t| t.domain.clone()),
        log_format: logs.as_ref().and_then(|l| l.format).unwrap_or(default_format),
        log_labels: logs.as_ref().map(|l| l.labels.iter().map(|x| x.0.clone()).collect()).unwrap_or_default(),
        log_path: logs.as_ref().and_then(|l| l.path.clone()),
        slo: s.slo.as_ref().filter(|o| o.availability.is_some() || o.latency.is_some()).map(|o| Slo {
            availability: o.availability.clone(),
            latency: o.latency.as_ref().and_then(|l| {
                [("p99", 0.99, &l.p99), ("p95", 0.95, &l.p95), ("p90", 0.90, &l.p90), ("p50", 0.50, &l.p50)]
                    .into_iter()
                    .find_map(|(n, q, d)| d.clone().map(|d| (n.to_string(), q, d)))
            }),
            window: o.window.clone().unwrap_or_else(|| dur(defaults::SLO_WINDOW)),
        }),
        alerts: s.alerts.clone(),
        db: match (&s.database, &s.user, &s.password) {
            (Some(d), Some(u), Some(p)) if crate::kinds::def(s.kind).login.is_some() => Some(DbLogin {
                database: d.clone(),
                user: u.clone(),
                password: p.clone(),
                query_stats: s.kind == Kind::Postgres && s.query_stats.unwrap_or(true),
            }),
            _ => None,
        },
        login: match (&s.user, &s.password) {
            (Some(u), Some(p)) if crate::kinds::def(s.kind).basic_login => {
                Some(Login { user: u.clone(), password: p.clone() })
            }
            _ => None,
        },
        compose: s.compose.clone().unwrap_or_default(),
        place: Place::of(name, s, namespace),
        broker: s.broker.as_ref().filter(|_| s.kind == Kind::Celery).and_then(|b| {
            // `check` refuses a broker that is not a redis or rabbitmq service of the manifest.
            let of = all.get(&b.service)?;
            Some(Broker {
                service: b.service.clone(),
                kind: of.kind,
                host: of.host.clone().unwrap_or_else(|| b.service.as_str().to_string()),
                port: of.port.unwrap_or(0) as u16,
                database: b.database,
                vhost: b.vhost.clone(),
                queues: if s.queues.is_empty() {
                    vec![defaults::CELERY_QUEUE.to_string()]
                } else {
                    s.queues.iter().map(|q| q.0.clone()).collect()
                },
            })
        }),
    }
}

/// The Pushgateway, with the manifest's settings.
fn pushgateway_component(p: &m::ComponentSettings) -> Component {
    component(&defaults::PUSHGATEWAY, "observability.pushgateway", p.version.as_ref(), p.memory.as_ref(), p.cpus, None)
}

fn component(
    d: &ComponentDefault,
    setting: &str,
    version: Option<&m::Version>,
    memory: Option<&Size>,
    cpus: Option<f64>,
    disk: Option<&Size>,
) -> Component {
    Component {
        name: d.name.to_string(),
        for_service: None,
        image: ImageRef::pinned(d.repository, version.map_or(d.version, |v| v.0.as_str())),
        memory: memory.cloned().unwrap_or_else(|| size(d.memory)),
        cpus: cpus.unwrap_or(d.cpus),
        pids: d.pids,
        disk: disk.cloned().or_else(|| d.disk.map(size)),
        setting: setting.to_string(),
        probe: d.probe,
    }
}

/// Alloy, as `observability.alloy` sizes it.
fn alloy(manifest: &Manifest) -> Component {
    let c = manifest.observability.as_ref().and_then(|o| o.alloy.clone()).unwrap_or_default();
    component(&defaults::ALLOY, "observability.alloy", c.version.as_ref(), c.memory.as_ref(), c.cpus, None)
}

fn components(
    manifest: &Manifest,
    services: &[Service],
    collector: Collector,
    backups: bool,
    jobs: bool,
) -> Vec<Component> {
    let obs = manifest.observability.clone().unwrap_or_default();
    let mut out = Vec::new();
    let p = obs.prometheus.unwrap_or_default();
    out.push(component(
        &defaults::PROMETHEUS,
        "observability.prometheus",
        p.version.as_ref(),
        p.memory.as_ref(),
        p.cpus,
        p.disk.as_ref(),
    ));
    let a = obs.alertmanager.unwrap_or_default();
    out.push(component(
        &defaults::ALERTMANAGER,
        "observability.alertmanager",
        a.version.as_ref(),
        a.memory.as_ref(),
        a.cpus,
        None,
    ));
    let l = obs.loki.unwrap_or_default();
    out.push(component(
        &defaults::LOKI,
        "observability.loki",
        l.version.as_ref(),
        l.memory.as_ref(),
        l.cpus,
        l.disk.as_ref(),
    ));
    match collector {
        Collector::Promtail => {
            let c = obs.promtail.unwrap_or_default();
            out.push(component(
                &defaults::PROMTAIL,
                "observability.promtail",
                c.version.as_ref(),
                c.memory.as_ref(),
                c.cpus,
                None,
            ));
        }
        Collector::Alloy => out.push(alloy(manifest)),
    }
    // Either collector reads containers' logs through the proxy, never the socket itself; so
    // does cAdvisor read their names and labels.
    let cadvisor = obs.cadvisor.unwrap_or(true);
    if services.iter().any(|s| s.log_path.is_none()) {
        out.push(component(&defaults::DOCKER_SOCKET_PROXY, "logs.collector", None, None, None, None));
    } else if cadvisor {
        out.push(component(&defaults::DOCKER_SOCKET_PROXY, "observability.cadvisor", None, None, None, None));
    }
    let g = obs.grafana.unwrap_or_default();
    out.push(component(
        &defaults::GRAFANA,
        "observability.grafana",
        g.version.as_ref(),
        g.memory.as_ref(),
        g.cpus,
        None,
    ));
    if obs.node_exporter.unwrap_or(true) {
        out.push(component(&defaults::NODE_EXPORTER, "observability.node_exporter", None, None, None, None));
    }
    if cadvisor {
        out.push(component(&defaults::CONTAINERD_SOCKET_PROXY, "observability.cadvisor", None, None, None, None));
        out.push(component(&defaults::CADVISOR, "observability.cadvisor", None, None, None, None));
    }
    // One exporter per service that needs one, named after it.
    for s in services {
        if let Some(d) = crate::kinds::def(s.kind).exporter.as_ref().map(|e| e.image) {
            let mut c = component(d, &format!("services.{}", s.name), None, None, None, None);
            c.name = exporter_name(&s.name);
            c.for_service = Some(s.name.clone());
            out.push(c);
        }
    }
    let probes = services.iter().any(|s| {
        (crate::kinds::def(s.kind).front_door && s.tls_domain.is_some())
            || (s.kind == Kind::Http && (s.health.is_some() || s.tls_domain.is_some()))
    });
    if probes {
        out.push(component(&defaults::BLACKBOX_EXPORTER, "services (probes)", None, None, None, None));
    }
    if backups {
        let b = manifest.backups.clone().unwrap_or_default();
        let mut runner = component(&defaults::BACKUP, "backups", None, b.memory.as_ref(), b.cpus, b.disk.as_ref());
        runner.image = runner_base(services, &runner.image);
        out.push(runner);
    }
    if jobs {
        out.push(pushgateway_component(&obs.pushgateway.clone().unwrap_or_default()));
    }
    out
}

/// The longest gap between consecutive runs of a schedule over a year, from a fixed date so the
/// result (and the output) never depends on when sightline runs.
///
/// Two walks, cheap for any schedule: every gap among the first runs (the gaps within a day of
/// a schedule that runs often), and, at each midnight of 400 days, the gap between the run
/// before it and the run after it, which finds exactly every gap that spans a midnight (the
/// weekend of a weekday schedule, the month of a monthly one), however many runs lie between.
pub fn longest_gap(cron: &Cron) -> Duration {
    use chrono::TimeZone;
    let start = chrono::Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).single().expect("a valid date");
    let schedule = cron.schedule();
    let mut longest = 0i64;
    let mut previous: Option<chrono::DateTime<chrono::Utc>> = None;
    for t in schedule.iter_after(start).take(1200) {
        // Within the year the midnights below cover.
        if (t - start).num_days() > 400 {
            break;
        }
        if let Some(p) = previous {
            longest = longest.max((t - p).num_seconds());
        }
        previous = Some(t);
    }
    for day in 0..=400 {
        let midnight = start + chrono::Duration::days(day);
        if let (Ok(before), Ok(after)) =
            (schedule.find_previous_occurrence(&midnight, false), schedule.find_next_occurrence(&midnight, true))
        {
            longest = longest.max((after - before).num_seconds());
        }
    }
    Duration::from_millis(longest.max(60) as u64 * 1000)
}

/// What sightline appends to a service's name for the compose services it derives from it.
pub const EXPORTER_SUFFIX: &str = "-exporter";
pub const QUERY_STATS_JOB_SUFFIX: &str = "-query-stats";

/// The compose service name of a service's exporter, e.g. `db-exporter`.
pub fn exporter_name(service: &Name) -> String {
    format!("{service}{EXPORTER_SUFFIX}")
}

/// The compose service name of a postgres service's query-stats job, e.g. `db-query-stats`.
pub fn query_stats_job_name(service: &Name) -> String {
    format!("{service}{QUERY_STATS_JOB_SUFFIX}")
}

impl Stack {
    /// The exporter component of a service, if its kind has one.
    pub fn exporter_of(&self, service: &Name) -> Option<&Component> {
        self.components.iter().find(|c| c.for_service.as_ref() == Some(service))
    }

    /// Every service's exporter component, by service name: what a loop over the services
    /// looks each one up in (`exporter_of` in a loop is quadratic in a fleet of services).
    pub fn exporters(&self) -> std::collections::HashMap<&Name, &Component> {
        self.components.iter().filter_map(|c| Some((c.for_service.as_ref()?, c))).collect()
    }

    /// Whether the backups' results reach Prometheus: read by node-exporter from the runner's
    /// files (compose), or pushed to the Pushgateway (Kubernetes).
    pub fn backup_results_read(&self) -> bool {
        self.backups.is_some()
            && (self.component(defaults::NODE_EXPORTER.name).is_some()
                || self.component(defaults::PUSHGATEWAY.name).is_some())
    }

    /// The image the backup CronJobs run when the Kubernetes tree has them on the runner's own
    /// image (`kubernetes.backup_image`): the tree then writes `backup/Dockerfile`, whose images
    /// are pinned with it.
    pub fn built_backup_image(&self) -> Option<&ImageRef> {
        let kubernetes = self.platform == m::Platform::Kubernetes;
        self.kubernetes.backup_image.as_ref().filter(|_| kubernetes && self.backups.is_some())
    }

    /// A component by compose service name.
    pub fn component(&self, name: &str) -> Option<&Component> {
        self.components.iter().find(|c| c.name == name)
    }

    /// Every image the generated files name: the components' (the backup runner's is the base
    /// its Dockerfile builds on), the application's, and the image supercronic is built in; on
    /// Kubernetes, the backup CronJobs' image the manifest names (`kubernetes.backup_image`),
    /// with the Dockerfile's images, which that tree then writes.
    pub fn images_mut(&mut self) -> impl Iterator<Item = &mut ImageRef> {
        // On Kubernetes the tree names the images of the chart's programs (the values
        // overlay's) and of those it runs itself (the exporters, and the one-shot jobs before
        // them); the application runs as the cluster runs it.
        let kubernetes = self.platform == m::Platform::Kubernetes;
        let named = kubernetes.then(|| crate::targets::kubernetes::images(self));
        // And the images of the services whose one-shot jobs it runs.
        let jobs = crate::targets::kubernetes::exporters::job_images(self);
        let built_backups = self.built_backup_image().is_some();
        self.components
            .iter_mut()
            .filter(move |c| named.as_ref().is_none_or(|n| n.contains(&c.name)))
            .map(|c| &mut c.image)
            .chain(
                self.services
                    .iter_mut()
                    .filter(move |s| !kubernetes || jobs.contains(&s.name))
                    .filter_map(|s| s.image.as_mut()),
            )
            // The runner's Dockerfile builds in the Go image: on compose, and on Kubernetes for
            // the backup image the manifest names, which is pinned with it.
            .chain(self.backups.iter_mut().filter(move |_| !kubernetes || built_backups).map(|b| &mut b.builder))
            .chain(self.kubernetes.backup_image.iter_mut().filter(move |_| built_backups))
    }
}

fn secrets(stack: &Stack) -> Vec<SecretUse> {
    let mut out = Vec::new();
    let mut add = |r: &SecretRef, setting: String| {
        out.push(SecretUse { reference: r.clone(), setting });
    };
    for s in &stack.services {
        if let Some(p) = s.db.as_ref().map(|d| &d.password).or(s.login.as_ref().map(|l| &l.password)) {
            add(p, format!("services.{}.password", s.name));
        }
        for (var, v) in &s.compose.environment {
            if let m::EnvValue::Secret(r) = v {
                add(r, format!("services.{}.compose.environment.{var}", s.name));
            }
        }
    }
    add(&stack.grafana.admin_password, "observability.grafana.admin_password".into());
    if let Some(a) = &stack.prometheus_auth {
        add(&a.password, "observability.prometheus.auth.password".into());
    }
    for (i, w) in stack.remote_write.iter().enumerate() {
        if let Some(l) = &w.basic_auth {
            add(&l.password, format!("observability.prometheus.remote_write.{i}.basic_auth.password"));
        }
    }
    if let Some(a) = &stack.alertmanager_auth {
        add(&a.web.password, "observability.alertmanager.auth.password".into());
        add(&a.credentials, "observability.alertmanager.auth.credentials".into());
    }
    for (name, r) in &stack.alerting.receivers {
        if let Some(e) = &r.email
            && let Some(p) = &e.password
        {
            add(p, format!("alerting.receivers.{name}.email.password"));
        }
        if let Some(s) = &r.slack {
            add(&s.webhook_url, format!("alerting.receivers.{name}.slack.webhook_url"));
        }
        if let Some(p) = &r.pagerduty {
            add(&p.routing_key, format!("alerting.receivers.{name}.pagerduty.routing_key"));
        }
        if let Some(o) = &r.opsgenie {
            add(&o.api_key, format!("alerting.receivers.{name}.opsgenie.api_key"));
        }
    }
    out
}

fn published(manifest: &Manifest, stack: &Stack) -> Vec<Published> {
    let mut out = vec![Published {
        bind: stack.grafana.bind.clone(),
        port: stack.grafana.port,
        owner: "grafana".into(),
        pointer: if manifest.observability.as_ref().and_then(|o| o.grafana.as_ref()).and_then(|g| g.port).is_some() {
            "/observability/grafana/port".into()
        } else {
            // The default port: nothing in the manifest to point at.
            String::new()
        },
    }];
    // Of the application's own containers, only a reverse proxy (nginx, haproxy, caddy, traefik: its
    // kind's `front_door`) is the front
    // door and is published; databases, caches and APIs stay on the internal network.
    for s in &stack.services {
        // Port 0: its `port` was refused (the budget checks lower a manifest with errors too).
        if s.image.is_some() && crate::kinds::def(s.kind).front_door && s.port != 0 {
            out.push(Published {
                bind: "0.0.0.0".into(),
                port: s.port,
                owner: s.name.to_string(),
                pointer: format!("/services/{}/port", s.name),
            });
        }
    }
    // The further ports of the application's own containers.
    for s in stack.services.iter().filter(|s| s.image.is_some()) {
        for (i, p) in s.compose.ports.iter().enumerate() {
            if let Some((bind, port, _)) = p.parts() {
                out.push(Published {
                    bind,
                    port,
                    owner: s.name.to_string(),
                    pointer: format!("/services/{}/compose/ports/{i}", s.name),
                });
            }
        }
    }
    // A batch job of a service that runs outside the compose project reports from the host:
    // the Pushgateway is published there, on loopback only (it has no authentication).
    let from_host =
        stack.jobs.iter().position(|j| stack.services.iter().any(|s| s.name == j.service && s.image.is_none()));
    if let Some(i) = from_host {
        out.push(Published {
            bind: "127.0.0.1".into(),
            port: crate::targets::paths::PUSHGATEWAY_ADDR.1,
            owner: defaults::PUSHGATEWAY.name.into(),
            pointer: format!("/jobs/{i}/service"),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::longest_gap;
    use crate::manifest::values::Cron;

    fn gap(schedule: &str) -> String {
        longest_gap(&Cron::parse(schedule).unwrap()).canonical()
    }

    #[test]
    fn the_longest_gap_spans_weekends_months_and_leap_years() {
        assert_eq!(gap("0 2 * * *"), "1d");
        assert_eq!(gap("*/20 * * * *"), "20m");
        assert_eq!(gap("5,55 * * * *"), "50m");
        assert_eq!(gap("0 9,17 * * *"), "16h");
        // Every minute on weekdays: from Friday 23:59 to Monday 00:00.
        assert_eq!(gap("* * * * 1-5"), "2d1m");
        // Office hours on weekdays: from Friday 18:59 to Monday 08:00.
        assert_eq!(gap("* 8-18 * * 1-5"), "2d13h1m");
        assert_eq!(gap("0 3 * * sun"), "1w");
        // The first of the month: 31 days at most.
        assert_eq!(gap("0 4 1 * *"), "31d");
        assert_eq!(gap("0 0 29 2 *"), "4y1d");
    }
}

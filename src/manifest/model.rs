//! The typed manifest, format version 1: serde decodes it, schemars derives
//! `schema/stack.schema.json` from it. Field docs become the schema's descriptions, which
//! editors show on hover.
//!
//! The model keeps what the user wrote: optional fields stay `Option` and defaults are applied
//! once, in `ir`. Every struct refuses unknown fields.

use super::values::{Cron, Duration, ImageRef, Name, Percent, SecretRef, Size};
use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A sightline stack manifest.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "sightline stack manifest")]
pub struct Manifest {
    /// The manifest format version. This sightline reads version 1.
    pub version: u32,
    /// The stack's name: prefix of the compose project, dashboard UIDs and the `stack` label.
    pub stack: Name,
    /// The environment: the `env` label on every series and alert.
    pub environment: Name,
    /// The host the stack runs on; with it, the resource budget is checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<Host>,
    /// An existing external docker network the application runs on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$"))]
    pub network: Option<String>,
    /// The application's services, by name.
    #[schemars(extend("propertyNames" = { "pattern": super::values::NAME_PATTERN, "x-sightline-type": "name" }), length(min = 1))]
    pub services: IndexMap<Name, Service>,
    /// Versions, sizes and retention of the observability stack itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observability: Option<Observability>,
    /// Receivers, routes and extra alert rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alerting: Option<Alerting>,
    /// Log collection, retention and redaction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logs: Option<Logs>,
    /// Dashboard settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dashboards: Option<Dashboards>,
    /// PostgreSQL backups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backups: Option<Backups>,
    /// The application's batch jobs (cron jobs, scheduled tasks): each reports its result to the
    /// stack's Pushgateway, and an alert fires when one fails or has not succeeded in time.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub jobs: Vec<BatchJob>,
    /// Count every warning as an error, as `--deny-warnings` does (for a CI gate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deny_warnings: Option<bool>,
    /// How the generated files name every image the stack runs: by `tag` (the default), or by
    /// `digest`, the tag with the digest `sightline pin` resolved and recorded in
    /// `sightline.lock` (`build` stays offline and reads the lock).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin: Option<Pin>,
    /// Where the stack runs: `compose` (the default) or `kubernetes`; `--platform` builds for
    /// the other one beside it (docs/kubernetes.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    /// Where the stack goes on Kubernetes (`sightline build --platform kubernetes`): the
    /// namespace of the generated objects and the kube-prometheus-stack release they are for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes: Option<Kubernetes>,
}

/// The Kubernetes platform's settings (docs/kubernetes.md).
#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Kubernetes {
    /// The namespace of every generated object, where kube-prometheus-stack runs (default
    /// `monitoring`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"))]
    pub namespace: Option<String>,
    /// The kube-prometheus-stack Helm release: its `release` label is what the chart's
    /// Prometheus selects rules by (default `kube-prometheus-stack`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"))]
    pub release: Option<String>,
    /// The chart's `fullnameOverride`, when it is installed with one: the prefix of its
    /// Services, which the datasources point at (default: what the chart makes of the release).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"))]
    pub fullname: Option<String>,
    /// The cluster's name: the `cluster` label on every sample and alert that leaves
    /// Prometheus (its external labels), which tells clusters apart in shared long-term
    /// storage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"))]
    pub cluster: Option<String>,
    /// The S3-compatible bucket Loki keeps its chunks and index in (default: the Loki pod's
    /// own volume).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loki_bucket: Option<LokiBucket>,
    /// The image the backup CronJobs run, built from the tree's `backup/Dockerfile` (compose's
    /// backup runner) and pushed where the cluster pulls from: it has what the stock PostgreSQL
    /// image lacks (age, zstd, MariaDB's client), so every backup job runs (default: the stock
    /// image, which runs PostgreSQL's unencrypted gzip or uncompressed jobs only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_image: Option<ImageRef>,
}

/// An S3-compatible bucket (AWS S3, MinIO, Ceph, Cloudflare R2, ...) for Loki's chunks and index.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LokiBucket {
    /// The bucket's name.
    #[schemars(regex(pattern = r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"))]
    pub name: String,
    /// The region (for AWS S3, where the endpoint follows from it; for MinIO, its
    /// `MINIO_REGION`, by default `us-east-1`).
    #[schemars(regex(pattern = r"^[a-z0-9-]{1,64}$"))]
    pub region: String,
    /// The endpoint of storage other than AWS S3: a host name, with a port when it has one
    /// (default: AWS S3's for the region).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?(:[0-9]{1,5})?$"))]
    pub endpoint: Option<String>,
    /// Address the bucket in the path (`https://endpoint/bucket`), as MinIO and Ceph want,
    /// not in the host name (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_style: Option<bool>,
    /// Reach the endpoint over plain HTTP, not HTTPS (a MinIO inside the cluster without TLS;
    /// default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insecure: Option<bool>,
    /// The access key, both halves secrets (default: none, for the node's or the service
    /// account's role, e.g. IRSA on EKS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<BucketCredentials>,
}

/// An S3 access key.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BucketCredentials {
    pub access_key_id: SecretRef,
    pub secret_access_key: SecretRef,
}

/// Where the stack runs: one host with compose (the default), or Kubernetes with the
/// Prometheus Operator and kube-prometheus-stack.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    /// One host: compose.yaml and the files it mounts.
    #[default]
    Compose,
    /// Kubernetes: Prometheus Operator objects and a kube-prometheus-stack values overlay.
    Kubernetes,
}

impl Platform {
    /// The platform a stack is checked and built for: the one asked for (`--platform`), else the
    /// manifest's own `platform:`, else compose. Checking, lowering and the output directory all
    /// settle it here, so the stack a check lowered is the one a build for it would.
    pub fn chosen(asked: Option<Platform>, own: Option<Platform>) -> Platform {
        asked.or(own).unwrap_or_default()
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Compose => "compose",
            Platform::Kubernetes => "kubernetes",
        }
    }
}

/// How images are named in the generated files.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Pin {
    /// `repository:tag`: a tag can be moved to other content by whoever publishes it.
    #[default]
    Tag,
    /// `repository:tag@sha256:…`: the content the lock records, whatever the tag says later.
    Digest,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Host {
    /// CPUs available to containers.
    #[schemars(range(min = 0.01))]
    pub cpus: f64,
    /// Memory available to containers.
    pub memory: Size,
    /// Disk available to volumes.
    pub disk: Size,
}

/// The kind of a service: selects exporters, log parsing, built-in alerts and dashboards.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Http,
    Postgres,
    // MySQL or MariaDB, read through mysqld_exporter.
    Mysql,
    Redis,
    Memcached,
    Nginx,
    // HAProxy, scraped on its built-in Prometheus exporter. (No doc comment on a variant: it
    // would make the schema's enum a oneOf, and SL006 a generic SL004.)
    Haproxy,
    // Caddy, scraped on its own metrics.
    Caddy,
    // Traefik, scraped on its own metrics.
    Traefik,
    // RabbitMQ, scraped on its built-in Prometheus plugin.
    Rabbitmq,
    // Elasticsearch or OpenSearch, read through elasticsearch_exporter.
    Elasticsearch,
    // PgBouncer, read through prometheus-pgbouncer-exporter.
    Pgbouncer,
    // MongoDB, read through Percona's mongodb_exporter.
    Mongodb,
    // Celery workers, read through celery-exporter from the events they send to their broker.
    Celery,
    Generic,
}

impl Kind {
    pub const ALL: [Kind; 15] = [
        Kind::Http,
        Kind::Postgres,
        Kind::Mysql,
        Kind::Redis,
        Kind::Memcached,
        Kind::Nginx,
        Kind::Haproxy,
        Kind::Caddy,
        Kind::Traefik,
        Kind::Rabbitmq,
        Kind::Elasticsearch,
        Kind::Pgbouncer,
        Kind::Mongodb,
        Kind::Celery,
        Kind::Generic,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Http => "http",
            Kind::Postgres => "postgres",
            Kind::Mysql => "mysql",
            Kind::Redis => "redis",
            Kind::Memcached => "memcached",
            Kind::Nginx => "nginx",
            Kind::Haproxy => "haproxy",
            Kind::Caddy => "caddy",
            Kind::Traefik => "traefik",
            Kind::Rabbitmq => "rabbitmq",
            Kind::Elasticsearch => "elasticsearch",
            Kind::Pgbouncer => "pgbouncer",
            Kind::Mongodb => "mongodb",
            Kind::Celery => "celery",
            Kind::Generic => "generic",
        }
    }
}

/// The web framework of an `http` service: sets metric and log defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Framework {
    Fastapi,
    Express,
    Fastify,
    /// Flask with prometheus-flask-exporter (`PrometheusMetrics(app)`).
    Flask,
    /// Django with django-prometheus (its two middlewares).
    Django,
    /// Spring Boot with its actuator and Micrometer's Prometheus registry.
    Spring,
    Generic,
}

impl Framework {
    pub const ALL: [Framework; 7] = [
        Framework::Fastapi,
        Framework::Express,
        Framework::Fastify,
        Framework::Flask,
        Framework::Django,
        Framework::Spring,
        Framework::Generic,
    ];
}

/// The language runtime of an `http` service, whose instrumentation library exports the
/// process's and the runtime's own metrics (open file descriptors, memory, garbage collection,
/// the event loop) beside the application's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Runtime {
    /// client_golang's default registry (its Go and process collectors).
    Go,
    /// prom-client's default metrics (`collectDefaultMetrics`).
    Node,
    /// prometheus_client's default registry (its process, platform and GC collectors).
    Python,
    /// Micrometer's JVM and process binders, as Spring Boot's actuator registers them.
    Jvm,
}

impl Runtime {
    pub const ALL: [Runtime; 4] = [Runtime::Go, Runtime::Node, Runtime::Python, Runtime::Jvm];

    pub fn as_str(self) -> &'static str {
        match self {
            Runtime::Go => "go",
            Runtime::Node => "node",
            Runtime::Python => "python",
            Runtime::Jvm => "jvm",
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Service {
    pub kind: Kind,
    /// http only: the framework, for metric and log defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub framework: Option<Framework>,
    /// http only: the language runtime, whose default process and runtime metrics get panels and
    /// alerts (default: python for fastapi, flask and django, node for fastify, jvm for spring, whose libraries
    /// export them at their defaults; none otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime: Option<Runtime>,
    /// The image; with it, the service is part of the generated compose file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageRef>,
    /// The host name the service is reached at (default: the service name); not on `celery`,
    /// whose workers are reached at none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$"))]
    pub host: Option<String>,
    /// The port the service listens on; every kind but `celery` (whose workers listen on none)
    /// requires it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "u32", range(min = 1, max = 65535))]
    pub port: Option<u32>,
    /// The metrics path, or false for no scrape (http, generic and the kinds scraped on their
    /// own metrics: haproxy, caddy, traefik, rabbitmq).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<MetricsPath>,
    /// http, generic and the kinds scraped on their own metrics: the port the metrics are served
    /// on, when it is not `port` (a separate admin or management port; by default haproxy 8405,
    /// caddy 9180, traefik 8080, rabbitmq 15692: see docs/manifest.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 65535))]
    pub metrics_port: Option<u32>,
    /// http only: metric names, overriding the framework defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric_names: Option<MetricNames>,
    /// http only: health endpoints, used for the compose healthcheck and the blackbox probe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<Health>,
    /// http and the front doors (nginx, haproxy, caddy, traefik): probe this domain's
    /// certificate expiry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<Tls>,
    /// How the service logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logs: Option<ServiceLogs>,
    /// http only: service level objectives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slo: Option<Slo>,
    /// Per built-in alert: override or switch off.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub alerts: IndexMap<String, AlertOverride>,
    /// postgres and mysql: the database name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[A-Za-z_][A-Za-z0-9_$-]{0,62}$"))]
    pub database: Option<String>,
    /// postgres and mysql: the user the exporter and the backups connect as; elasticsearch,
    /// pgbouncer and mongodb: the user the exporter logs in as (with `password`; both or
    /// neither).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[A-Za-z_][A-Za-z0-9_$-]{0,62}$"))]
    pub user: Option<String>,
    /// postgres, mysql, elasticsearch, pgbouncer and mongodb: that user's password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<SecretRef>,
    /// postgres only: per-query statistics from pg_stat_statements (default true): the exporter's
    /// stat_statements collector, the query-time panels, and, for a service on the official
    /// postgres image, the server preloading the module and a job creating the extension.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_stats: Option<bool>,
    /// celery only (and required there): the broker its workers take their tasks from, a redis or
    /// rabbitmq service of this manifest, which its exporter reads their events and queues from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Broker")]
    pub broker: Option<Broker>,
    /// celery only: the queues whose length is read from the start (default `[celery]`, Celery's
    /// default queue); a queue a worker consumes from is read once a worker has said so.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub queues: Vec<QueueName>,
    /// With `image`: how compose runs the service (its environment, command, volumes, further
    /// ports, the services it waits for, and its hardening: user, capabilities, read-only root,
    /// tmpfs, limits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compose: Option<ServiceCompose>,
    /// Where the service is on Kubernetes (the kubernetes platform; every kind but `celery`):
    /// its Service in the cluster, or an address outside it (docs/kubernetes.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes: Option<ServiceKubernetes>,
}

/// Where a service is on Kubernetes: its Service in the cluster (`namespace`, `service`,
/// `selector`), or `address`, outside it. Without either, a service is in the cluster, its
/// Service named after its `host` (or its name) in the stack's namespace; a `host` with a dot
/// is an address outside it.
#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceKubernetes {
    /// The namespace of its Service (default: the stack's `kubernetes.namespace`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"))]
    pub namespace: Option<String>,
    /// The name of its Service, which its exporter and probes reach it at (default: its `host`,
    /// else its name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$"))]
    pub service: Option<String>,
    /// The labels of its Service, which the ServiceMonitor of a service scraped directly
    /// selects it by (default: `app.kubernetes.io/name: <its Service's name>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<IndexMap<String, String>>,
    /// The labels of its pods, whose logs Alloy collects on the nodes (default: `selector`'s,
    /// the labels a Service and its pods usually share).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pods: Option<IndexMap<String, String>>,
    /// The container of its pods whose logs are its own, when its pods run others beside it
    /// (default: every container of its pods).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"))]
    pub container: Option<String>,
    /// A host name or address outside the cluster, which Prometheus, the exporter and the probes
    /// reach it at instead of a Service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$"))]
    pub address: Option<String>,
}

/// The broker of a `celery` service.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Broker {
    /// The redis or rabbitmq service of this manifest.
    pub service: Name,
    /// A redis broker: the database number (default 0), as in `redis://host:port/<database>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(max = 65535))]
    pub database: Option<u32>,
    /// A rabbitmq broker: the virtual host (default `/`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[^\x00-\x1f\x7f]{1,255}$"))]
    pub vhost: Option<String>,
}

/// A Celery queue name, as celery-exporter's `--queues` takes it (a comma-separated list).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct QueueName(#[schemars(regex(pattern = r"^[A-Za-z0-9_.:@-]{1,255}$"))] pub String);

/// Whether a container's `user` (`uid[:gid]` or names) is root: uid 0 or the name `root`.
pub fn is_root_user(user: &str) -> bool {
    matches!(user.split(':').next(), Some("0" | "root"))
}

/// How compose runs one of the application's services: what sightline cannot infer from its
/// kind. Checked like the rest: secrets only as references, ports not clashing, volumes inside
/// the project.
#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceCompose {
    /// Environment variables: a value, or a secret reference. `{ env: NAME }` passes `NAME` from
    /// the environment compose runs in (compose fails when it is unset); `{ file: /path }`
    /// mounts the file and sets `<VARIABLE>_FILE` to its path, the convention of the official
    /// images (postgres, mysql, mariadb, mongo, rabbitmq). A name may have dots: the
    /// Elasticsearch and OpenSearch images read `discovery.type` and the like as settings.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    #[schemars(extend("propertyNames" = { "pattern": super::values::CONTAINER_ENV_PATTERN }))]
    pub environment: IndexMap<String, EnvValue>,
    /// The command, in exec form (one string per argument).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// Volumes, `<source>:<path in the container>[:ro]`: the source a named volume (`media`), or a
    /// path inside the project, relative to the generated compose file (`./static`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<VolumeMount>,
    /// Host ports to publish, `[<ip>:]<host port>:<container port>` (all addresses when no IP is
    /// given, as compose does).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<PortMapping>,
    /// Services of this compose file to start first: compose waits for their healthcheck where
    /// they have one, for their start otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<Name>,
    /// The user the container runs as, `uid[:gid]` or a name its image knows (default: the
    /// image's own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,31})?$"))]
    pub user: Option<String>,
    /// The only Linux capabilities the container keeps: every other is dropped
    /// (`cap_drop: [ALL]`), `[]` keeps none (default: Docker's default set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<Vec<Capability>>,
    /// A read-only root filesystem (default false: an image's entrypoint may write anywhere);
    /// `/tmp` is then a tmpfs, unless `tmpfs` names the scratch paths itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
    /// Paths mounted as tmpfs (in-memory scratch space), e.g. `[/tmp, /run]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tmpfs: Vec<ContainerPath>,
    /// The container's memory limit (`mem_limit`); counted in the host's budget.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<Size>,
    /// The container's CPU limit (`cpus`); counted in the host's budget.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.01))]
    pub cpus: Option<f64>,
    /// The most processes and threads the container may run (`pids_limit`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub pids_limit: Option<u32>,
}

/// An absolute path inside a container: letters, digits, `/`, `.`, `_`, `-`, no `..`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct ContainerPath(
    #[schemars(regex(
        pattern = r"^/([A-Za-z0-9_-][A-Za-z0-9._-]*|\.[A-Za-z0-9_-][A-Za-z0-9._-]*)(/([A-Za-z0-9_-][A-Za-z0-9._-]*|\.[A-Za-z0-9_-][A-Za-z0-9._-]*))*$"
    ))]
    pub String,
);

/// A Linux capability, as Docker's `cap_add` names it (capabilities(7) without `CAP_`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Capability {
    AuditControl,
    AuditRead,
    AuditWrite,
    BlockSuspend,
    Bpf,
    CheckpointRestore,
    Chown,
    DacOverride,
    DacReadSearch,
    Fowner,
    Fsetid,
    IpcLock,
    IpcOwner,
    Kill,
    Lease,
    LinuxImmutable,
    MacAdmin,
    MacOverride,
    Mknod,
    NetAdmin,
    NetBindService,
    NetBroadcast,
    NetRaw,
    Perfmon,
    Setfcap,
    Setgid,
    Setpcap,
    Setuid,
    SysAdmin,
    SysBoot,
    SysChroot,
    SysModule,
    SysNice,
    SysPacct,
    SysPtrace,
    SysRawio,
    SysResource,
    SysTime,
    SysTtyConfig,
    Syslog,
    WakeAlarm,
}

impl Capability {
    /// The name compose takes (`CHOWN`).
    pub fn as_str(self) -> String {
        serde_json::to_value(self).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default()
    }
}

/// The value of an environment variable: a secret reference, or a value that is no secret.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum EnvValue {
    Secret(SecretRef),
    Text(String),
    Bool(bool),
    Integer(i64),
    Number(f64),
}

impl EnvValue {
    /// The value as compose writes it; `None` for a secret.
    pub fn text(&self) -> Option<String> {
        match self {
            EnvValue::Secret(_) => None,
            EnvValue::Text(s) => Some(s.clone()),
            EnvValue::Bool(b) => Some(b.to_string()),
            EnvValue::Integer(i) => Some(i.to_string()),
            EnvValue::Number(n) => Some(n.to_string()),
        }
    }
}

/// A volume of an application's service: `<source>:<path in the container>[:ro|:rw]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct VolumeMount(#[schemars(regex(pattern = r"^[^:\s]+:/[^:\s]*(:(ro|rw))?$"))] pub String);

impl VolumeMount {
    /// (source, path in the container, read-only)
    pub fn parts(&self) -> (&str, &str, bool) {
        let mut it = self.0.splitn(3, ':');
        let source = it.next().unwrap_or("");
        let target = it.next().unwrap_or("");
        (source, target, it.next() == Some("ro"))
    }

    /// A named volume (not a path).
    pub fn is_named(&self) -> bool {
        let (source, ..) = self.parts();
        !source.contains('/') && !source.starts_with('.') && !source.starts_with('~')
    }
}

/// A published port of an application's service: `[<ip>:]<host port>:<container port>`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct PortMapping(
    #[schemars(regex(pattern = r"^(([0-9]{1,3}\.){3}[0-9]{1,3}:)?[0-9]{1,5}:[0-9]{1,5}$"))] pub String,
);

impl PortMapping {
    /// (bind address, host port, container port); ports out of range are `None`.
    pub fn parts(&self) -> Option<(String, u16, u16)> {
        let f: Vec<&str> = self.0.split(':').collect();
        let (bind, host, container) = match f.as_slice() {
            [h, c] => ("0.0.0.0", *h, *c),
            [b, h, c] => (*b, *h, *c),
            _ => return None,
        };
        let port = |p: &str| p.parse::<u16>().ok().filter(|p| *p > 0);
        Some((bind.to_string(), port(host)?, port(container)?))
    }
}

/// A metrics path (`/metrics`), or `false` for no scrape.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum MetricsPath {
    Path(#[schemars(regex(pattern = r"^/[A-Za-z0-9/_.~-]*$"))] String),
    Enabled(bool),
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MetricNames {
    /// Counter of requests, e.g. `http_requests_total`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[a-zA-Z_:][a-zA-Z0-9_:]*$"))]
    pub requests: Option<String>,
    /// Histogram of request durations; its unit is read from the name (`_seconds`, `_milliseconds`, `_ms`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[a-zA-Z_:][a-zA-Z0-9_:]*$"))]
    pub duration: Option<String>,
    /// The label that carries the HTTP status code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[a-zA-Z_][a-zA-Z0-9_]*$"))]
    pub status_label: Option<String>,
    /// The label that carries the route (handler) of a request, for the top-routes panel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[a-zA-Z_][a-zA-Z0-9_]*$"))]
    pub route_label: Option<String>,
    /// How the status label writes a code: `exact` (`401`) or `grouped` (`4xx`); default the
    /// framework's. Alerts on single codes (401, 403, 429) need `exact`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_codes: Option<StatusCodes>,
    /// The duration histogram's finite bucket bounds, in its unit, ascending; default the
    /// framework's when `duration` is the framework's histogram.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buckets: Option<Vec<f64>>,
}

/// How an instrumentation library writes the status code into its label.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum StatusCodes {
    /// The code itself: `200`, `401`, `503`.
    Exact,
    /// The class only: `2xx`, `4xx`, `5xx`.
    Grouped,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Health {
    /// An absolute URL path: printable ASCII, no spaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^/[!-~]*$"))]
    pub live: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^/[!-~]*$"))]
    pub ready: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Tls {
    /// The domain whose certificate is probed.
    #[schemars(regex(pattern = r"^[A-Za-z0-9*]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$"))]
    pub domain: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Json,
    Logfmt,
    Nginx,
    // HAProxy's `option httplog` lines and its own `[ALERT]`/`[WARNING]` messages.
    Haproxy,
    // RabbitMQ's lines: `2026-12-04 04:04:56.257114+00:00 [warning] <0.288.0> message`.
    Rabbitmq,
    Postgres,
    // MySQL's and MariaDB's error log: `2026-12-04  9:12:01 0 [Warning] message` (MariaDB),
    // `2026-12-04T09:12:01.123456Z 0 [Warning] [MY-010055] [Server] message` (MySQL 8).
    Mysql,
    // Elasticsearch's JSON lines (`"log.level": "WARN"`, 8.x and later; `"level": "WARN"`, 7.x)
    // and OpenSearch's (`[2026-12-04T09:12:01,123][WARN ][o.o.n.Node] …`).
    Elasticsearch,
    // PgBouncer's lines: `2026-12-04 18:30:02.222 UTC [15361] ERROR C-0x…: app/app@… message`.
    Pgbouncer,
    // MongoDB's structured JSON lines (4.4 and later): `{"t":{"$date":"…"},"s":"E","c":"NETWORK",…}`.
    Mongodb,
    // Celery's worker lines: `[2026-12-05 00:44:42,765: ERROR/ForkPoolWorker-1] message`, a
    // traceback's lines after them.
    Celery,
    Syslog,
    Plain,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceLogs {
    /// How lines are parsed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<LogFormat>,
    /// Fields promoted to Loki labels (keep these low-cardinality).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<LabelName>,
    /// Read logs from this host path instead of the container's output. It is mounted into the
    /// log collector, so it cannot hold what a compose volume cannot: `:`, `$`, spaces, quotes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r#"^/[^:$\s'"\\]*$"#))]
    pub path: Option<String>,
}

/// A Prometheus/Loki label name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct LabelName(#[schemars(regex(pattern = r"^[a-zA-Z_][a-zA-Z0-9_]*$"))] pub String);

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Slo {
    /// Ratio of non-5xx requests over the window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub availability: Option<Percent>,
    /// Latency objective: a quantile at or under a duration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency: Option<LatencyObjective>,
    /// The SLO period (default 30d).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<Duration>,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LatencyObjective {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p50: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p90: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p95: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p99: Option<Duration>,
}

/// Override of a built-in alert: settings, or `off`.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum AlertOverride {
    Off(Off),
    Settings(AlertSettings),
}

impl AlertOverride {
    /// Whether this override switches the alert off (`off`, `false` or `{ off: true }`).
    pub fn is_off(&self) -> bool {
        match self {
            AlertOverride::Off(_) => true,
            AlertOverride::Settings(s) => s.off == Some(true),
        }
    }
}

/// The word `off` (or `false`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Off {
    Word(OffWord),
    False(FalseOnly),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum OffWord {
    Off,
}

/// `false`
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(transparent)]
#[schemars(extend("const" = false))]
pub struct FalseOnly(bool);

impl<'de> Deserialize<'de> for FalseOnly {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match bool::deserialize(d)? {
            false => Ok(FalseOnly(false)),
            true => Err(serde::de::Error::custom("expected `false`")),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertSettings {
    /// The alert's threshold: a percent, a duration or a number, as the alert takes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<Threshold>,
    /// How long the condition must hold before the alert fires.
    #[serde(default, rename = "for", skip_serializing_if = "Option::is_none")]
    pub for_: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    /// Switch the alert off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub off: Option<bool>,
}

/// A threshold: a percent (`5%`), a duration (`1s`) or a plain number.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Threshold {
    Number(f64),
    Percent(Percent),
    Duration(Duration),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Critical,
    Warning,
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

// --- observability ---------------------------------------------------------------------------

#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Observability {
    /// How often targets are scraped (default 15s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scrape_interval: Option<Duration>,
    /// How long a scrape may take (default: Prometheus's 10s, capped at the interval).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scrape_timeout: Option<Duration>,
    /// How often rules are evaluated (default: the scrape interval).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evaluation_interval: Option<Duration>,
    /// Run node-exporter for host metrics and alerts (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_exporter: Option<bool>,
    /// Run cAdvisor for per-container CPU and memory (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cadvisor: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prometheus: Option<PrometheusSettings>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alertmanager: Option<AlertmanagerSettings>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loki: Option<StorageComponentSettings>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promtail: Option<ComponentSettings>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alloy: Option<ComponentSettings>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grafana: Option<GrafanaSettings>,
    /// The Pushgateway the batch jobs report to (run when `jobs` has any).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pushgateway: Option<ComponentSettings>,
}

/// A version tag of an upstream image, e.g. `v2.53.2` or `3.2.1`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct Version(#[schemars(regex(pattern = r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$"))] pub String);

#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ComponentSettings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<Version>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<Size>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.01))]
    pub cpus: Option<f64>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StorageComponentSettings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<Version>,
    /// Disk reserved for the component's volume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk: Option<Size>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<Size>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.01))]
    pub cpus: Option<f64>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PrometheusSettings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<Version>,
    /// Basic authentication on every HTTP endpoint of Prometheus (API, UI, `/metrics`, health):
    /// a generated `prometheus/web.yml`; Grafana, Prometheus's scrape of itself and the
    /// healthcheck log in with the password. Compose only: on Kubernetes the operator cannot
    /// set one (SL907).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<WebAuth>,
    /// How long samples are kept (default 30d).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<Duration>,
    /// Long-term storage every sample is also written to (Mimir, Thanos Receive, Cortex, or
    /// any Prometheus remote-write receiver), with the stack's external labels.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remote_write: Vec<RemoteWrite>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk: Option<Size>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<Size>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.01))]
    pub cpus: Option<f64>,
}

/// A remote-write receiver Prometheus sends every sample to.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RemoteWrite {
    /// Its push endpoint (Mimir: `https://<host>/api/v1/push`; Thanos Receive:
    /// `http://<host>:19291/api/v1/receive`).
    #[schemars(regex(pattern = r"^https?://[^\s]+$"))]
    pub url: String,
    /// Its name in Prometheus's own metrics of the queue (`remote_name`) and in its log
    /// (default `remote-<n>`, its place in the list from 1); unique (SL223).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<Name>,
    /// HTTP headers sent with every request, e.g. the tenant (`X-Scope-OrgID` for Mimir and
    /// Cortex, `THANOS-TENANT` for Thanos Receive). Not a header Prometheus sets itself
    /// (SL222); a login is `basic_auth`.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub headers: IndexMap<HeaderName, HeaderValue>,
    /// The login the receiver asks for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basic_auth: Option<BasicLogin>,
}

/// An HTTP header's name: a token of RFC 9110 (letters, digits and ``!#$%&'*+-.^_`|~``).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct HeaderName(#[schemars(regex(pattern = r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,128}$"))] pub String);

/// An HTTP header's value: no control characters (a line break would end the header).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct HeaderValue(#[schemars(regex(pattern = r"^[^\x00-\x1f\x7f]{0,4096}$"))] pub String);

/// A user and a password, as a client sends them (HTTP basic authentication).
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BasicLogin {
    /// No `:` (basic authentication ends the user at the first) and no control characters.
    #[schemars(regex(pattern = r"^[^:\x00-\x1f\x7f]{1,256}$"))]
    pub user: String,
    pub password: SecretRef,
}

/// Basic authentication on a component's web endpoints (Prometheus's `web.yml`).
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WebAuth {
    /// The user name (default `sightline`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[A-Za-z0-9._-]{1,64}$"))]
    pub user: Option<String>,
    /// The password: Prometheus reads its file with `password_file`, Grafana with `$__file{…}`
    /// (a `{ file }` mounted, an `{ env }` written into a file for them).
    pub password: SecretRef,
    /// The password's bcrypt hash, which `web.yml` holds (Prometheus stores no password):
    /// `htpasswd -nbBC 10 "" "$PASSWORD" | tr -d ':\n'`, or Python's
    /// `bcrypt.hashpw(password, bcrypt.gensalt())`.
    #[schemars(regex(pattern = r"^\$2[aby]\$(0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{53}$"))]
    pub password_hash: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertmanagerSettings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<Version>,
    /// Basic authentication on every HTTP endpoint of Alertmanager (API, UI, `/metrics`,
    /// health): a generated `alertmanager/web.yml`; Prometheus, Loki's ruler, Grafana, the
    /// scrape and the healthcheck log in. Compose only: on Kubernetes the operator cannot set
    /// one (SL907).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<AlertmanagerAuth>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<Size>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.01))]
    pub cpus: Option<f64>,
}

/// Basic authentication on Alertmanager's web endpoints (`alertmanager/web.yml`).
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertmanagerAuth {
    /// The user name (default `sightline`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[A-Za-z0-9._-]{1,64}$"))]
    pub user: Option<String>,
    /// The password: Prometheus reads its file with `password_file`, amtool (the healthcheck)
    /// with client.yml, Grafana with `$__file{…}` (a `{ file }` mounted, an `{ env }` written
    /// into a file for them).
    pub password: SecretRef,
    /// The password's bcrypt hash, which `web.yml` holds:
    /// `htpasswd -nbBC 10 "" "$PASSWORD" | tr -d ':\n'`.
    #[schemars(regex(pattern = r"^\$2[aby]\$(0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{53}$"))]
    pub password_hash: String,
    /// The same login as Loki's ruler sends it: base64 of `user:password`
    /// (`printf '%s:%s' sightline "$PASSWORD" | base64 -w0`). Loki sends it in the
    /// `Authorization: Basic` header from its file (`alertmanager_client.credentials_file`),
    /// since its `basic_auth_password` would hold the password in its configuration or its
    /// environment.
    pub credentials: SecretRef,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GrafanaSettings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<Version>,
    /// The host port Grafana is published on (default 3001).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "u32", range(min = 1, max = 65535))]
    pub port: Option<u32>,
    /// The address the port is bound to on the host (default 127.0.0.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[0-9a-fA-F.:]+$"))]
    pub bind: Option<String>,
    /// The public URL Grafana is served at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// An http(s) URL: no spaces, control characters or braces (it reaches Grafana's config).
    #[schemars(regex(pattern = r"^https?://[^\s{}]+$"))]
    pub root_url: Option<String>,
    /// The admin password (default `{ env: GRAFANA_ADMIN_PASSWORD }`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_password: Option<SecretRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<Size>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.01))]
    pub cpus: Option<f64>,
}

// --- alerting --------------------------------------------------------------------------------

#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Alerting {
    /// Runbook URL template; `{alert}` and `{service}` are substituted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// No spaces or control characters, and braces only in `{alert}` and `{service}`: the
    /// URL lands in every alert's annotations, which Prometheus reads as a Go template.
    #[schemars(regex(pattern = r"^https?://[^\s{}]+(\{(alert|service)\}[^\s{}]*)*$"))]
    pub runbook_url: Option<String>,
    /// Labels alerts are grouped by (default [alertname, service]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_by: Option<Vec<LabelName>>,
    /// Where notifications go, by name.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    #[schemars(extend("propertyNames" = { "pattern": super::values::NAME_PATTERN, "x-sightline-type": "name" }))]
    pub receivers: IndexMap<Name, Receiver>,
    /// First match wins, top to bottom.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<Route>,
    /// Receives what no route matches; required when routes exist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Name>,
    /// `auto`, `off`, or a list of inhibition rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inhibit: Option<Inhibit>,
    /// The receiver of the dead man's switch: the always-firing `Watchdog` alert goes there
    /// every 5 minutes, for an external heartbeat service that pages when it stops.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heartbeat: Option<Name>,
    /// The user's own alert rules.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<UserRule>,
}

/// A receiver: exactly one of the kinds.
#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Receiver {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<EmailReceiver>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slack: Option<SlackReceiver>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pagerduty: Option<PagerdutyReceiver>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opsgenie: Option<OpsgenieReceiver>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<WebhookReceiver>,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailReceiver {
    /// An address. Alertmanager reads `to` and `from` as templates: no braces.
    #[schemars(regex(pattern = r"^[^\s@{}]+@[^\s@{}]+$"))]
    pub to: String,
    #[schemars(regex(pattern = r"^[^\s@{}]+@[^\s@{}]+$"))]
    pub from: String,
    /// SMTP server as host:port.
    #[schemars(regex(pattern = r"^[A-Za-z0-9.-]+:[0-9]+$"))]
    pub smarthost: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<SecretRef>,
    /// Require STARTTLS (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_tls: Option<bool>,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SlackReceiver {
    pub webhook_url: SecretRef,
    /// `#channel`, `@user` or a channel id. Alertmanager reads it as a template: no braces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[^\s{}]+$"))]
    pub channel: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PagerdutyReceiver {
    pub routing_key: SecretRef,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OpsgenieReceiver {
    pub api_key: SecretRef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^https://[^\s]+$"))]
    pub api_url: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookReceiver {
    /// An http(s) URL without spaces or control characters (a newline breaks alertmanager.yml).
    #[schemars(regex(pattern = r"^https?://[^\s]+$"))]
    pub url: String,
}

/// One name or a list of names.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

impl<T> OneOrMany<T> {
    pub fn as_slice(&self) -> &[T] {
        match self {
            OneOrMany::One(t) => std::slice::from_ref(t),
            OneOrMany::Many(v) => v,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// Exact label values; a list means any of them.
    #[serde(default, rename = "match")]
    pub matchers: IndexMap<LabelKey, OneOrMany<String>>,
    /// The receiver(s) notified.
    pub to: OneOrMany<Name>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_wait: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_interval: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat_interval: Option<Duration>,
    /// Go on matching the routes below after this one (default false).
    #[serde(default, rename = "continue", skip_serializing_if = "Option::is_none")]
    pub continue_: Option<bool>,
}

/// A label name used as a mapping key.
pub type LabelKey = String;

/// `auto`, `off`, or explicit inhibition rules.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Inhibit {
    Mode(InhibitMode),
    Off(FalseOnly),
    Rules(Vec<InhibitRule>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum InhibitMode {
    Auto,
    Off,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InhibitRule {
    pub source: IndexMap<LabelKey, OneOrMany<String>>,
    pub target: IndexMap<LabelKey, OneOrMany<String>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub equal: Vec<LabelName>,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UserRule {
    /// The alert name.
    #[schemars(regex(pattern = r"^[A-Za-z_][A-Za-z0-9_]*$"))]
    pub alert: String,
    /// A PromQL expression.
    pub expr: String,
    #[serde(default, rename = "for", skip_serializing_if = "Option::is_none")]
    pub for_: Option<Duration>,
    pub severity: Severity,
    /// security | performance | operational | slo, or a name of your own.
    pub category: Name,
    /// The service the alert concerns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<Name>,
    pub summary: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

// --- logs, dashboards, backups ---------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Collector {
    /// Grafana Promtail: end of life since 2026-03-02.
    Promtail,
    /// Grafana Alloy, Promtail's successor.
    #[default]
    Alloy,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Logs {
    /// alloy (default) or promtail (end of life since 2026-03-02).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collector: Option<Collector>,
    /// Loki retention: a whole number of days, at least 24h (default 30d).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<Duration>,
    /// Keys whose values are masked before shipping.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redact: Option<Vec<RedactKey>>,
    /// Host files beyond the services' own logs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<LogSource>,
}

/// A key whose value is masked in logs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct RedactKey(#[schemars(regex(pattern = r"^[A-Za-z0-9_.-]+$"))] pub String);

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LogSource {
    pub name: Name,
    /// A host path, mounted into the log collector: no `:`, `$`, spaces or quotes.
    #[schemars(regex(pattern = r#"^/[^:$\s'"\\]*$"#))]
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<LogFormat>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DashboardKind {
    Overview,
    Security,
    Performance,
    System,
    Services,
    Logs,
    Slo,
    Backups,
    Jobs,
}

impl DashboardKind {
    /// Every dashboard, in the order they are generated (and the default `include`).
    pub const ALL: [DashboardKind; 9] = [
        DashboardKind::Overview,
        DashboardKind::Security,
        DashboardKind::Performance,
        DashboardKind::System,
        DashboardKind::Services,
        DashboardKind::Logs,
        DashboardKind::Slo,
        DashboardKind::Backups,
        DashboardKind::Jobs,
    ];
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Dashboards {
    /// Auto-refresh interval (default 30s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh: Option<Duration>,
    /// Default time range (default 6h).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<Duration>,
    /// Which dashboards to generate (default: all that apply).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include: Option<Vec<DashboardKind>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Compress {
    #[default]
    Gzip,
    Zstd,
    None,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Backups {
    /// Path inside the backup container, on a named volume (default /backups).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^/[A-Za-z0-9/_.-]*$"))]
    pub destination: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub jobs: Vec<BackupJob>,
    /// Verify every dump right after it is written (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<bool>,
    /// Restore the newest dump into a scratch database on this schedule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore_test: Option<Cron>,
    /// Backup runner resources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<Size>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.01))]
    pub cpus: Option<f64>,
    /// Disk reserved for the dumps' volume: counted in the host's budget, and on Kubernetes the
    /// size of its PersistentVolumeClaim (default there 10GiB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk: Option<Size>,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BackupJob {
    pub name: Name,
    /// A postgres service.
    pub service: Name,
    /// 5-field cron, UTC.
    pub schedule: Cron,
    /// The newest N dumps of this job are kept.
    #[schemars(range(min = 1, max = 10000))]
    pub keep: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compress: Option<Compress>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encrypt: Option<Encrypt>,
}

/// A batch job of the application, watched through the results it pushes.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchJob {
    /// The job's name: the `batch_job` label of its metrics and alerts, and the last segment of
    /// the URL it reports to.
    pub name: Name,
    /// The service the job belongs to: its alerts carry that service's label and are routed
    /// like its other alerts.
    pub service: Name,
    /// When the job runs: 5-field cron, UTC.
    pub schedule: Cron,
    /// The longest a run may take (default 1h): a job is late when it has not succeeded within
    /// its schedule's longest gap plus this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_duration: Option<Duration>,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Encrypt {
    /// An age public key (not a secret).
    #[schemars(regex(pattern = r"^age1[02-9ac-hj-np-z]{58}$"))]
    pub age_recipient: String,
}

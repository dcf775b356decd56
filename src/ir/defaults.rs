//! Every default of the manifest language, in one place. `docs/manifest.md` lists the same
//! values; a test keeps the two in step.

/// Default scrape interval.
pub const SCRAPE_INTERVAL: &str = "15s";
/// Prometheus's own default scrape timeout; capped at the scrape interval.
pub const SCRAPE_TIMEOUT: &str = "10s";
pub const PROMETHEUS_RETENTION: &str = "30d";
pub const LOG_RETENTION: &str = "30d";
pub const SLO_WINDOW: &str = "30d";
pub const DASHBOARD_REFRESH: &str = "30s";
pub const DASHBOARD_TIME: &str = "6h";
pub const GRAFANA_PORT: u16 = 3001;
pub const GRAFANA_BIND: &str = "127.0.0.1";
/// The user of `observability.prometheus.auth` and `observability.alertmanager.auth` when none
/// is named.
pub const WEB_AUTH_USER: &str = "sightline";
pub const GRAFANA_ADMIN_PASSWORD_ENV: &str = "GRAFANA_ADMIN_PASSWORD";
pub const BACKUP_DESTINATION: &str = "/backups";
/// The longest a batch job's run may take (`jobs[].max_duration`).
pub const JOB_MAX_DURATION: &str = "1h";
pub const GROUP_BY: [&str; 2] = ["alertname", "service"];
pub const REDACT: [&str; 4] = ["password", "token", "api_key", "authorization"];

/// The day the versions, support windows and image contents below were last read from their
/// upstreams (`docs/versions.md` gives each choice's reason and source).
pub const UPSTREAM_CHECKED: &str = "2026-12-02";

/// An image sightline runs, with its default version and resources, and what sightline knows
/// of its upstream: which release lines are still supported, the oldest release the generated
/// files work with, and what the image contains for a healthcheck.
#[derive(Clone, Copy, Debug)]
pub struct ComponentDefault {
    /// The compose service name (reserved: no user service may take it).
    pub name: &'static str,
    pub repository: &'static str,
    pub version: &'static str,
    pub memory: &'static str,
    pub cpus: f64,
    /// The most processes and threads its container may run (`pids_limit`): a bound on a fork
    /// bomb, far above what the program uses (the rehearsal runs each program it starts under
    /// this limit and its memory limit, and reports the peaks).
    pub pids: u32,
    /// Disk reserved for its volume, where it keeps data that grows.
    pub disk: Option<&'static str>,
    /// The release lines (`major.minor`) upstream still fixes; the last one listed stands for
    /// itself and every newer line. Empty: the project is end of life.
    pub supported: &'static [&'static str],
    /// The oldest release the generated files work with, and what they use that older
    /// releases lack.
    pub requires: Option<(&'static str, &'static str)>,
    /// What the image, at `version`, offers a healthcheck (`docs/outputs.md` has the table,
    /// with the Dockerfile each row was read from).
    pub probe: Probe,
}

/// What a healthcheck can run inside an image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Probe {
    /// A shell and busybox `wget`: an HTTP GET of a readiness endpoint.
    Wget,
    /// bash and no HTTP client: a GET over bash's `/dev/tcp`.
    Bash,
    /// A shell, for a check that needs no HTTP.
    Shell,
    /// No shell: the program's own health command, run by exec; `{url}` stands for the
    /// readiness URL the healthcheck asks for, `{port}` for the port it is served on.
    Own(&'static [&'static str]),
    /// Nothing but the program (a FROM-scratch image): no healthcheck; whatever depends on it
    /// waits for it to start, not to be healthy.
    Nothing,
}

/// A release number read from an image tag: `v3.13.5`, `3.7.8`, `v1.89.0-alpine` (a variant
/// after `-` is ignored, a pre-release such as `-rc.1` is kept as such), `3.6` (a line: no
/// patch given). Tags that are not numbers (`main`, `latest`) have none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Release {
    pub number: (u64, u64, u64),
    /// The tag names a patch release, not just its line.
    pub patch_given: bool,
    /// A pre-release (`-rc`, `-alpha`, `-beta`, `-pre`), which comes before its release.
    pub pre: bool,
}

impl Release {
    pub fn parse(tag: &str) -> Option<Release> {
        let t = tag.strip_prefix('v').unwrap_or(tag);
        let (numbers, suffix) = t.split_once(['-', '+']).unwrap_or((t, ""));
        let mut parts = numbers.split('.');
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next().map_or(Some(0), |p| p.parse().ok())?;
        let patch_part = parts.next();
        let patch = patch_part.map_or(Some(0), |p| p.parse().ok())?;
        let suffix = suffix.to_ascii_lowercase();
        parts.next().is_none().then_some(Release {
            number: (major, minor, patch),
            patch_given: patch_part.is_some(),
            pre: ["rc", "alpha", "beta", "pre"].iter().any(|p| suffix.starts_with(p)),
        })
    }
}

/// The release number of a tag (see `Release`).
pub fn release(tag: &str) -> Option<(u64, u64, u64)> {
    Release::parse(tag).map(|r| r.number)
}

impl ComponentDefault {
    /// Whether upstream still supports the release `tag` names (`None` when the tag is not a
    /// release number).
    pub fn supports(&self, tag: &str) -> Option<bool> {
        let (major, minor, _) = release(tag)?;
        let lines: Vec<(u64, u64, u64)> = self.supported.iter().filter_map(|l| release(l)).collect();
        Some(match lines.last() {
            None => false,
            Some(&(lm, ln, _)) => (major, minor) >= (lm, ln) || lines.iter().any(|&(a, b, _)| (a, b) == (major, minor)),
        })
    }

    /// What the generated files need that release `tag` lacks, if it is older than
    /// `requires`: (the oldest release that works, what it adds). A tag without a patch number
    /// (`3.6`) names the newest patch of its line, and is refused only when that is too old;
    /// a pre-release (`3.6.5-rc.1`) comes before its release.
    pub fn lacks(&self, tag: &str) -> Option<(&'static str, &'static str)> {
        let (needed, what) = self.requires?;
        let r = Release::parse(tag)?;
        let (major, minor, patch) = r.number;
        let newest = (major, minor, if r.patch_given { patch } else { u64::MAX });
        let needed_at = release(needed)?;
        (newest < needed_at || (r.pre && newest == needed_at)).then_some((needed, what))
    }
}

pub const PROMETHEUS: ComponentDefault = ComponentDefault {
    name: "prometheus",
    repository: "prom/prometheus",
    version: "v3.13.5",
    memory: "512MiB",
    cpus: 0.5,
    pids: 256,
    disk: Some("10GiB"),
    supported: &["3.13", "3.16"],
    requires: Some(("3.0.0", "`fallback_scrape_protocol` in prometheus.yml")),
    probe: Probe::Wget,
};
pub const ALERTMANAGER: ComponentDefault = ComponentDefault {
    name: "alertmanager",
    repository: "prom/alertmanager",
    version: "v0.35.0",
    memory: "256MiB",
    cpus: 0.25,
    pids: 128,
    disk: None,
    supported: &["0.35"],
    requires: Some(("0.22.0", "`matchers` in routes and inhibit rules")),
    probe: Probe::Wget,
};
pub const LOKI: ComponentDefault = ComponentDefault {
    name: "loki",
    repository: "grafana/loki",
    version: "3.7.8",
    memory: "256MiB",
    cpus: 0.5,
    pids: 256,
    disk: Some("5GiB"),
    supported: &["3.6"],
    requires: Some(("3.6.5", "`loki -health` in the healthcheck (the image has no shell from 3.6.0)")),
    probe: Probe::Own(&["/usr/bin/loki", "-health", "-health.url={url}"]),
};
pub const PROMTAIL: ComponentDefault = ComponentDefault {
    name: "promtail",
    repository: "grafana/promtail",
    version: "3.6.11",
    memory: "128MiB",
    cpus: 0.25,
    pids: 256,
    disk: None,
    supported: &[],
    requires: None,
    probe: Probe::Bash,
};
pub const ALLOY: ComponentDefault = ComponentDefault {
    name: "alloy",
    repository: "grafana/alloy",
    version: "v1.19.2",
    memory: "256MiB",
    cpus: 0.25,
    pids: 256,
    disk: None,
    supported: &["1.19"],
    requires: None,
    probe: Probe::Bash,
};
pub const GRAFANA: ComponentDefault = ComponentDefault {
    name: "grafana",
    repository: "grafana/grafana",
    version: "13.2.3",
    memory: "512MiB",
    cpus: 0.5,
    pids: 256,
    disk: None,
    supported: &["12.4", "13.0"],
    requires: None,
    probe: Probe::Wget,
};
pub const NODE_EXPORTER: ComponentDefault = ComponentDefault {
    name: "node-exporter",
    repository: "prom/node-exporter",
    version: "v1.12.1",
    memory: "64MiB",
    cpus: 0.1,
    pids: 128,
    disk: None,
    supported: &["1.12"],
    requires: None,
    probe: Probe::Wget,
};
pub const CADVISOR: ComponentDefault = ComponentDefault {
    name: "cadvisor",
    repository: "ghcr.io/google/cadvisor",
    version: "0.61.0",
    memory: "128MiB",
    cpus: 0.2,
    pids: 128,
    disk: None,
    supported: &["0.61"],
    requires: None,
    probe: Probe::Wget,
};
pub const BLACKBOX_EXPORTER: ComponentDefault = ComponentDefault {
    name: "blackbox-exporter",
    repository: "prom/blackbox-exporter",
    version: "v0.28.0",
    memory: "64MiB",
    cpus: 0.1,
    pids: 128,
    disk: None,
    supported: &["0.28"],
    requires: None,
    probe: Probe::Wget,
};
pub const POSTGRES_EXPORTER: ComponentDefault = ComponentDefault {
    name: "postgres-exporter",
    repository: "quay.io/prometheuscommunity/postgres-exporter",
    version: "v0.20.1",
    memory: "64MiB",
    cpus: 0.1,
    pids: 128,
    disk: None,
    supported: &["0.20"],
    requires: None,
    probe: Probe::Wget,
};
pub const REDIS_EXPORTER: ComponentDefault = ComponentDefault {
    name: "redis-exporter",
    repository: "oliver006/redis_exporter",
    // The plain tag is FROM scratch; the `-alpine` variant has busybox `wget`.
    version: "v1.89.0-alpine",
    memory: "64MiB",
    cpus: 0.1,
    pids: 128,
    disk: None,
    supported: &["1.89"],
    requires: None,
    probe: Probe::Wget,
};
/// prom/memcached-exporter: FROM quay.io/prometheus/busybox (its Dockerfile at v0.14.4), so
/// busybox `wget` is there; v0.14.4 is the newest release the Go module proxy serves here.
pub const MEMCACHED_EXPORTER: ComponentDefault = ComponentDefault {
    name: "memcached-exporter",
    repository: "prom/memcached-exporter",
    version: "v0.14.4",
    memory: "64MiB",
    cpus: 0.1,
    pids: 128,
    disk: None,
    supported: &["0.14"],
    requires: None,
    probe: Probe::Wget,
};
/// prom/mysqld-exporter: FROM quay.io/prometheus/busybox (its Dockerfile at v0.16.0), so busybox
/// `sh` (which reads the password's file) and `wget` are there; v0.16.0 is the newest release the
/// Go module proxy serves here (v0.17 and v0.18 are refused).
pub const MYSQLD_EXPORTER: ComponentDefault = ComponentDefault {
    name: "mysqld-exporter",
    repository: "prom/mysqld-exporter",
    version: "v0.16.0",
    memory: "64MiB",
    cpus: 0.1,
    pids: 128,
    disk: None,
    supported: &["0.16"],
    requires: None,
    probe: Probe::Wget,
};
/// quay.io/prometheuscommunity/elasticsearch-exporter (the image its README names): FROM
/// quay.io/prometheus/busybox (its Dockerfile at v1.11.0), so busybox `wget` is there; v1.11.0
/// is the newest release the Go module proxy serves here (v1.10.1, v1.11.1 and v1.12.0 are
/// refused).
pub const ELASTICSEARCH_EXPORTER: ComponentDefault = ComponentDefault {
    name: "elasticsearch-exporter",
    repository: "quay.io/prometheuscommunity/elasticsearch-exporter",
    version: "v1.11.0",
    memory: "64MiB",
    cpus: 0.1,
    pids: 128,
    disk: None,
    supported: &["1.11"],
    requires: None,
    probe: Probe::Wget,
};
/// percona/mongodb_exporter (the image its README and `.goreleaser.yml` name, tags without a
/// `v`): FROM scratch, the program alone (its Dockerfile at v0.51.0), so nothing can run a
/// healthcheck. v0.51.0 is the newest release the Go module proxy serves here (v0.52.0 and
/// v0.53.0, which split the histograms out of the diagnostic-data collector, are refused).
pub const MONGODB_EXPORTER: ComponentDefault = ComponentDefault {
    name: "mongodb-exporter",
    repository: "percona/mongodb_exporter",
    version: "0.51.0",
    memory: "64MiB",
    cpus: 0.1,
    pids: 128,
    disk: None,
    supported: &["0.51"],
    requires: None,
    probe: Probe::Nothing,
};
/// danihodovic/celery-exporter, as its repository's workflow publishes each tag
/// (`.github/workflows/push-image-ghcr.yml`: ghcr.io, the tag without its `v`): the image of tag
/// v0.11.2 (its Dockerfile: python:3.12-slim-bookworm, the dependencies its poetry.lock pins,
/// `python /app/cli.py` reading `CE_`-prefixed variables). v0.12.x is tagged but not on PyPI,
/// whose newest release is 0.11.2 (`tools/celery_exporter` installs that, on Python 3.12, to
/// prove it). Its healthcheck is the image's Python asking for the landing page (`/`), which
/// asks the broker nothing; `/metrics` asks every worker (two broadcasts of a second each).
pub const CELERY_EXPORTER: ComponentDefault = ComponentDefault {
    name: "celery-exporter",
    repository: "ghcr.io/danihodovic/celery-exporter",
    version: "0.11.2",
    memory: "128MiB",
    cpus: 0.1,
    pids: 128,
    disk: None,
    supported: &["0.11"],
    requires: None,
    probe: Probe::Own(&[
        "python",
        "-c",
        "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=3)",
        "{url}",
    ]),
};
/// Celery's default queue (`task_default_queue`), whose length celery-exporter reads from the
/// start unless `queues` names others.
pub const CELERY_QUEUE: &str = "celery";
/// spreaker/prometheus-pgbouncer-exporter: the image its README's release steps build and push
/// by hand after the PyPI release (the Dockerfile's pin moved to the new release, commit
/// 9f6c5b5, the day 2.1.1 was tagged): `prometheus-pgbouncer-exporter==2.1.1`, with the
/// dependencies its setup.py pins, on python:3.6.10-alpine. 2.1.1 cannot start on Python 3.8 or
/// newer (its log format string is refused since 3.8), so the Dockerfile's later move to 3.8 is
/// no image of it. Its healthcheck is the base image's `python3` connecting to the exporter's
/// port and hanging up: its server (wsgiref, prometheus_client 0.8.0's `start_wsgi_server`)
/// runs a full collect, a PgBouncer login that can wait 5 s, for a request of any method,
/// HEAD included, but returns on an empty one.
/// prometheus-community's Go pgbouncer_exporter is not served by the Go module proxy here, so
/// it could not be proved; this one runs here from PyPI at its exact release
/// (`tools/pgbouncer_exporter`).
pub const PGBOUNCER_EXPORTER: ComponentDefault = ComponentDefault {
    name: "pgbouncer-exporter",
    repository: "spreaker/prometheus-pgbouncer-exporter",
    version: "2.1.1",
    memory: "64MiB",
    cpus: 0.1,
    pids: 128,
    disk: None,
    supported: &["2.1"],
    requires: None,
    probe: Probe::Own(&["python3", "-c", "import socket; socket.create_connection(('127.0.0.1', {port}), 2).close()"]),
};
pub const NGINX_EXPORTER: ComponentDefault = ComponentDefault {
    name: "nginx-exporter",
    repository: "nginx/nginx-prometheus-exporter",
    version: "1.5.3",
    memory: "64MiB",
    cpus: 0.1,
    pids: 128,
    disk: None,
    supported: &["1.5"],
    requires: None,
    probe: Probe::Nothing,
};
pub const BACKUP: ComponentDefault = ComponentDefault {
    name: "backup",
    repository: "postgres",
    // Debian-based: the runner's Dockerfile installs zstd and age with apt-get, and runs as
    // the image's `postgres` user (`POSTGRES_USER`).
    version: "16.4",
    memory: "256MiB",
    cpus: 0.25,
    pids: 64,
    disk: None,
    supported: &[],
    requires: None,
    probe: Probe::Shell,
};

pub const PUSHGATEWAY: ComponentDefault = ComponentDefault {
    name: "pushgateway",
    repository: "prom/pushgateway",
    version: "v1.11.3",
    memory: "64MiB",
    cpus: 0.1,
    pids: 128,
    // Its persistence file: the last result of each job, a few lines each.
    disk: Some("100MiB"),
    supported: &["1.11"],
    requires: None,
    probe: Probe::Wget,
};

/// The one door to the Docker socket: HAProxy, the official image, with a generated
/// configuration (`targets::socket_proxy::docker`) that lets through only the reads the log
/// collector and cAdvisor make. 3.2 is HAProxy's current long-term-support line; 3.2.21 its newest patch in
/// docker-library/haproxy's `versions.json` (read 2026-12-03, snapshot of 2026-07-22). The
/// Alpine variant keeps busybox `wget` for the healthcheck; the image runs as `haproxy` (99),
/// and here as nobody with the socket's group added.
pub const DOCKER_SOCKET_PROXY: ComponentDefault = ComponentDefault {
    name: "docker-socket-proxy",
    repository: "haproxy",
    version: "3.2.21-alpine",
    memory: "32MiB",
    cpus: 0.1,
    pids: 128,
    disk: None,
    supported: &["3.2"],
    requires: None,
    probe: Probe::Wget,
};

/// The one door to containerd's socket, for cAdvisor (`targets::socket_proxy::containerd`):
/// the same image, as nobody in the socket's group (root's), without a network.
pub const CONTAINERD_SOCKET_PROXY: ComponentDefault =
    ComponentDefault { name: "containerd-socket-proxy", ..DOCKER_SOCKET_PROXY };

/// The official Debian-based `postgres` image's `postgres` user (its Dockerfile: `groupadd -r
/// postgres --gid=999; useradd -r -g postgres --uid=999`; the Alpine images' is 70). The backup
/// runner, built on the Debian image, runs as it (it owns the runner's volumes), and each
/// query-stats job runs as its uid and gid on whatever image the database has; both read the
/// databases' password files through group 999.
pub const POSTGRES_USER: &str = "999:999";

/// `POSTGRES_USER`'s uid and gid.
pub fn postgres_ids() -> (&'static str, &'static str) {
    POSTGRES_USER.split_once(':').unwrap_or((POSTGRES_USER, POSTGRES_USER))
}

/// A program the backup runner's Dockerfile builds from its Go module, in a Go image.
#[derive(Clone, Copy, Debug)]
pub struct BuiltProgram {
    pub module: &'static str,
    pub version: &'static str,
    /// The Go image it is built in: a supported Go release line, as new as the module's go.mod
    /// asks (supercronic v0.2.48: go 1.26.5).
    pub builder: &'static str,
}

/// The backup runner's cron: supercronic, a cron for containers that runs its jobs as its own
/// user, newest release (2026-07-24).
pub const SUPERCRONIC: BuiltProgram =
    BuiltProgram { module: "github.com/aptible/supercronic", version: "v0.2.48", builder: "golang:1.27-alpine" };

/// Names taken by the services sightline generates. (Exporters are named after their service,
/// `<service>-exporter`; `check::names` refuses a service of that name too.)
pub const RESERVED_NAMES: [&str; 15] = [
    CADVISOR.name,
    DOCKER_SOCKET_PROXY.name,
    CONTAINERD_SOCKET_PROXY.name,
    PROMETHEUS.name,
    ALERTMANAGER.name,
    LOKI.name,
    PROMTAIL.name,
    ALLOY.name,
    GRAFANA.name,
    NODE_EXPORTER.name,
    BLACKBOX_EXPORTER.name,
    BACKUP.name,
    PUSHGATEWAY.name,
    "sightline",
    crate::targets::paths::SEED_JOB,
];

/// The namespace of the generated Kubernetes objects: where kube-prometheus-stack's own
/// documentation installs it.
pub const KUBERNETES_NAMESPACE: &str = "monitoring";
/// The label a service's Service is selected by unless its `kubernetes.selector` says
/// otherwise: Kubernetes' recommended label for an application's name.
pub const KUBERNETES_NAME_LABEL: &str = "app.kubernetes.io/name";
/// The kube-prometheus-stack release name its README installs with; its Prometheus selects
/// rules labelled `release: <release name>` (`ruleSelectorNilUsesHelmValues: true`).
pub const KUBERNETES_RELEASE: &str = "kube-prometheus-stack";
/// The volume of the chart's Alertmanager on Kubernetes (1 GiB): it holds the silences and the
/// notification log (`/alertmanager` on compose's volume), kilobytes for a stack's alerts; a
/// gibibyte is the smallest size most storage classes provision anyway.
pub const ALERTMANAGER_STORAGE: u64 = 1 << 30;

/// The name of the `i`th remote-write receiver (from 0) that the manifest does not name.
pub fn remote_write_name(i: usize) -> String {
    format!("remote-{}", i + 1)
}

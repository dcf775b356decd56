//! Where the generated files live, and how the containers see them. Every target that points at
//! another target's file (Prometheus at its rules, compose at every config) reads the paths
//! here, so the files agree by construction.

use crate::manifest::values::SecretRef;

// Files in the output directory.
pub const PROMETHEUS_CONFIG: &str = "prometheus/prometheus.yml";
pub const PROMETHEUS_RULES_DIR: &str = "prometheus/rules";
pub const PROMETHEUS_TESTS_DIR: &str = "prometheus/tests";
/// With `observability.prometheus.auth`: Prometheus's web configuration (the user and the
/// password's bcrypt hash), and the HTTP client configuration its healthcheck's promtool logs
/// in with.
pub const PROMETHEUS_WEB_CONFIG: &str = "prometheus/web.yml";
pub const PROMETHEUS_CLIENT_CONFIG: &str = "prometheus/client.yml";
pub const DOCKER_PROXY_CONFIG: &str = "docker-socket-proxy/haproxy.cfg";
pub const CONTAINERD_PROXY_CONFIG: &str = "containerd-socket-proxy/haproxy.cfg";
pub const ALERTMANAGER_CONFIG: &str = "alertmanager/alertmanager.yml";
pub const ALERTMANAGER_TEMPLATES_DIR: &str = "alertmanager/templates";
/// With `observability.alertmanager.auth`: as Prometheus's, for Alertmanager (its healthcheck
/// is the image's amtool).
pub const ALERTMANAGER_WEB_CONFIG: &str = "alertmanager/web.yml";
pub const ALERTMANAGER_CLIENT_CONFIG: &str = "alertmanager/client.yml";
pub const LOKI_CONFIG: &str = "loki/loki-config.yml";
pub const LOKI_RULES_DIR: &str = "loki/rules";
pub const PROMTAIL_CONFIG: &str = "promtail/promtail-config.yml";
pub const ALLOY_CONFIG: &str = "alloy/config.alloy";
pub const GRAFANA_DATASOURCES: &str = "grafana/provisioning/datasources/datasources.yml";
pub const GRAFANA_DASHBOARD_PROVIDERS: &str = "grafana/provisioning/dashboards/dashboards.yml";
pub const GRAFANA_DASHBOARDS_DIR: &str = "grafana/dashboards";
pub const BACKUP_DIR: &str = "backup";
/// The exporters built with a shell (`targets::exporter_image`): `exporters/<exporter>/Dockerfile`.
pub const EXPORTER_IMAGES_DIR: &str = "exporters";
pub const POSTGRES_QUERY_STATS_SCRIPT: &str = "postgres/enable-query-stats.sh";
pub const COMPOSE: &str = "compose.yaml";

/// The top-level entries of the output directory that sightline writes (besides hidden ones,
/// `.env.example` and its build state): an application's bind mount may not reach them, since
/// the compose file's `./` is the output directory. A test holds every generated file to it.
pub const OUTPUT_ENTRIES: [&str; 14] = [
    "prometheus",
    "alertmanager",
    "loki",
    "promtail",
    "alloy",
    "docker-socket-proxy",
    "containerd-socket-proxy",
    "grafana",
    "backup",
    EXPORTER_IMAGES_DIR,
    "postgres",
    "compose.yaml",
    "sightline.lock",
    "STACK.md",
];

/// The named volumes compose.yaml declares for sightline's own services (each database also
/// keeps `<service>-data`): an application's volume may not take one. A test holds every
/// generated compose file to it.
pub const OWN_VOLUMES: [&str; 10] = [
    "loki-data",
    "alertmanager-data",
    "pushgateway-data",
    "prometheus-data",
    "promtail-positions",
    "alloy-data",
    "grafana-data",
    "backups",
    "backup-textfile",
    CONTAINERD_API_VOLUME,
];
/// The volume (on tmpfs) that holds the containerd socket proxy's socket.
pub const CONTAINERD_API_VOLUME: &str = "containerd-api";

// Where compose mounts them inside the containers (read-only).
pub const PROMETHEUS_CONFIG_MOUNT: &str = "/etc/prometheus/prometheus.yml";
pub const PROMETHEUS_RULES_MOUNT: &str = "/etc/prometheus/rules";
pub const PROMETHEUS_WEB_CONFIG_MOUNT: &str = "/etc/prometheus/web.yml";
pub const PROMETHEUS_CLIENT_CONFIG_MOUNT: &str = "/etc/prometheus/client.yml";
/// Where the official haproxy image reads its configuration (both socket proxies).
pub const HAPROXY_CONFIG_MOUNT: &str = "/usr/local/etc/haproxy/haproxy.cfg";
/// The `.env` variable naming the host's Docker socket's group, which the socket proxy runs in.
pub const DOCKER_GID: &str = "DOCKER_GID";
/// The host's Docker socket, mounted in the socket proxy alone.
pub const DOCKER_SOCKET: &str = "/var/run/docker.sock";
/// containerd's socket where Docker's packages run containerd (`containerd.io`), root's group,
/// mounted in the containerd socket proxy alone; and the proxy's own socket, in a volume it
/// shares with cAdvisor.
pub const CONTAINERD_SOCKET: &str = "/run/containerd/containerd.sock";
pub const CONTAINERD_PROXY_DIR: &str = "/run/containerd-proxy";
pub const CONTAINERD_PROXY_SOCKET: &str = "/run/containerd-proxy/containerd.sock";
/// The containerd socket proxy's health endpoint, on its loopback only.
pub const CONTAINERD_PROXY_HEALTH_PORT: u16 = 8405;
pub const ALERTMANAGER_CONFIG_MOUNT: &str = "/etc/alertmanager/alertmanager.yml";
pub const ALERTMANAGER_TEMPLATES_MOUNT: &str = "/etc/alertmanager/templates";
pub const ALERTMANAGER_WEB_CONFIG_MOUNT: &str = "/etc/alertmanager/web.yml";
pub const ALERTMANAGER_CLIENT_CONFIG_MOUNT: &str = "/etc/alertmanager/client.yml";
pub const LOKI_CONFIG_MOUNT: &str = "/etc/loki/loki-config.yml";
pub const LOKI_RULES_MOUNT: &str = "/etc/loki/rules";
pub const LOKI_DATA: &str = "/loki";
pub const PROMTAIL_CONFIG_MOUNT: &str = "/etc/promtail/promtail-config.yml";
pub const PROMTAIL_POSITIONS: &str = "/var/lib/promtail/positions.yaml";
pub const ALLOY_CONFIG_MOUNT: &str = "/etc/alloy/config.alloy";
pub const GRAFANA_PROVISIONING_MOUNT: &str = "/etc/grafana/provisioning";
pub const GRAFANA_DASHBOARDS_MOUNT: &str = "/var/lib/grafana/dashboards";
/// node-exporter's textfile collector directory (backup results are written here).
pub const TEXTFILE_DIR: &str = "/var/lib/node_exporter/textfile";
/// The backup runner's scripts and crontab (`backup/`, read-only).
pub const SCRIPTS_MOUNT: &str = "/opt/sightline";
/// The backup runner's tmpfs of its own (its user's, mode 0700), and the pgpass file its
/// entrypoint writes there.
pub const PGPASS_DIR: &str = "/run/sightline";
pub const PGPASS: &str = "/run/sightline/pgpass";
/// Where an exporter built with a shell keeps its program, and the VOLUME its base image (the
/// stack's Prometheus image) declares, a tmpfs in its container rather than an anonymous volume
/// left behind by each one.
pub const BUILT_EXPORTER_PROGRAM_DIR: &str = "/bin";
pub const SHELL_IMAGE_VOLUME: &str = "/prometheus";

/// Internal addresses: (compose service, port). Which networks each container is on is
/// `targets::compose`'s.
pub const PROMETHEUS_ADDR: (&str, u16) = ("prometheus", 9090);
pub const ALERTMANAGER_ADDR: (&str, u16) = ("alertmanager", 9093);
pub const LOKI_ADDR: (&str, u16) = ("loki", 3100);
pub const GRAFANA_ADDR: (&str, u16) = ("grafana", 3000);
pub const NODE_EXPORTER_ADDR: (&str, u16) = ("node-exporter", 9100);
pub const BLACKBOX_ADDR: (&str, u16) = ("blackbox-exporter", 9115);
/// The blackbox exporter's own scrape job, on both platforms.
pub const BLACKBOX_JOB: &str = "blackbox";
pub const CADVISOR_ADDR: (&str, u16) = ("cadvisor", 8080);
pub const PUSHGATEWAY_ADDR: (&str, u16) = ("pushgateway", 9091);
/// The URL the jobs push to: the Pushgateway's compose name, and its Service's name in the
/// stack's namespace on Kubernetes.
pub fn pushgateway_url() -> String {
    format!("http://{}:{}", PUSHGATEWAY_ADDR.0, PUSHGATEWAY_ADDR.1)
}
pub const DOCKER_SOCKET_PROXY_ADDR: (&str, u16) = ("docker-socket-proxy", 2375);
/// The Pushgateway's persistence file, on its volume (the image's working directory).
pub const PUSHGATEWAY_DATA: &str = "/pushgateway";
pub const PROMTAIL_PORT: u16 = 9080;
pub const ALLOY_PORT: u16 = 12345;
// Exporter ports are per kind: `kinds::Exporter::port`.

/// Where a container reads a secret as a file.
///
/// `{ file: /abs/path }` is mounted at that same path (a compose secret under `/run/secrets/`).
/// `{ env: NAME }` is `/run/sightline-secrets/NAME`, which the seeding job (`SEED_JOB`) writes
/// from the variable into the container's own volume: the value is never in a sightline
/// container's environment.
pub fn secret_file(r: &SecretRef) -> String {
    match r {
        SecretRef::File(p) => p.clone(),
        SecretRef::Env(name) => format!("{ENV_SECRETS_DIR}/{name}"),
    }
}

/// Where a container's seeded volume is mounted, read-only.
pub const ENV_SECRETS_DIR: &str = "/run/sightline-secrets";
/// The one-shot job that writes `{ env }` secrets into files (`targets::compose`).
pub const SEED_JOB: &str = "sightline-secrets";
/// The suffix of a container's seeded volume: `<container>-secrets`.
pub const SEEDED_VOLUME_SUFFIX: &str = "-secrets";

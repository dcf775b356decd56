//! `compose.yaml`: the observability stack as compose services next to the application.
//!
//! - Images are the components' pinned images; memory, CPU and process limits are the service's
//!   own `mem_limit`, `cpus` and `pids_limit` (compose v2 refuses `pids_limit` beside
//!   `deploy.resources.limits`).
//! - Every healthcheck runs a program its image contains, as `Component::probe` records it from
//!   the image's Dockerfile (`docs/outputs.md` has the table, and a test holds every compose
//!   file to it): busybox `wget`, bash's `/dev/tcp` where bash is the only tool, the program's
//!   own health command where there is no shell (Loki), the image's `python3` connecting to the
//!   port (pgbouncer-exporter, which collects for any request), none for a FROM-scratch image (the
//!   nginx exporter), whose dependents then wait for it to start, not to be healthy.
//!   `pg_isready` / `redis-cli` in the databases' own images. `depends_on` waits for health in
//!   start order.
//! - State lives in named volumes; generated configs are mounted read-only.
//! - Networks: `monitoring` (internal: no way out) for the monitoring side; `egress`, its way
//!   out (Grafana, published on the host; Alertmanager, which calls Slack and PagerDuty;
//!   Prometheus when it writes to remote storage); the
//!   application's network (the manifest's `network`, external, or else `application`), which
//!   the application's containers are on with what scrapes, probes or backs them up (the
//!   exporters, blackbox-exporter, the backup runner, the Pushgateway), and `outbound`, the
//!   application side's way out (blackbox-exporter; what scrapes a service outside the project
//!   when the manifest names no `network`). Prometheus alone is on both sides, so nothing an
//!   application container can reach but Prometheus reaches Alertmanager, Loki or Grafana.
//!   `docker-api` (internal) holds the Docker socket proxy and its clients alone (the log
//!   collector, cAdvisor); the containerd socket proxy has no network.
//! - Hardening where the image allows: read-only root filesystem, `no-new-privileges`, a
//!   non-root user and then no capabilities (`cap_drop: [ALL]`), `restart: unless-stopped`.
//! - Secrets reach sightline's containers as files only (`paths::secret_file`): `{ file }` under
//!   `/run/secrets/` as compose secrets, elsewhere as read-only bind mounts; `{ env }` through
//!   the one-shot seeding job (`secrets.rs`), which compose gives each variable as a secret from
//!   the environment (compose v2; docker-compose 1.29 has no such secrets) and which writes it
//!   into the volume of each container that reads it. Only an application's own
//!   `compose.environment` variable given as `{ env }` stays a variable (`${VAR:?…}`).
//! - The top-level `name:` is the stack's (a manifest name is a valid compose project name).

mod secrets;

use super::Artifact;
use super::paths::*;
use crate::ir::defaults::{self, Probe};
use crate::ir::{Component, Service, Stack};
use crate::kinds;
use crate::manifest::model::{Collector, EnvValue};
use secrets::{SecretWiring, Secrets};
use serde_json::{Map, Value, json};

const MONITORING: &str = "monitoring";
/// The monitoring side's way out: Alertmanager's receivers, Grafana's published port.
const EGRESS: &str = "egress";
/// The application side's way out, apart from the monitoring side's: the blackbox exporter
/// (public certificates), and the scrapers of a service that runs outside this project when
/// the manifest names no `network`.
const OUTBOUND: &str = "outbound";
/// The Docker socket proxy's network: the proxy and its clients (the log collector, cAdvisor),
/// nothing else.
const DOCKER_API: &str = "docker-api";
/// Nobody, the user of the Prometheus images.
const NOBODY: &str = "65534:65534";
/// Alloy's image's own user and group.
const ALLOY_USER: &str = "473:473";

/// The application's containers' network when the manifest names none.
const APPLICATION: &str = "application";
/// The networks compose.yaml defines itself (the manifest's `network:` may name none of them).
pub const NETWORKS: [&str; 5] = [MONITORING, EGRESS, OUTBOUND, APPLICATION, DOCKER_API];

/// Compose's memory syntax: the largest exact unit.
fn memory(bytes: u64) -> String {
    for (unit, f) in [("g", 1u64 << 30), ("m", 1 << 20), ("k", 1 << 10)] {
        if bytes.is_multiple_of(f) {
            return format!("{}{unit}", bytes / f);
        }
    }
    format!("{bytes}b")
}

/// A variable reference that fails compose when the variable is unset.
fn required_env(name: &str) -> String {
    format!("${{{name}:?set {name} in .env}}")
}

fn healthcheck(test: Vec<&str>) -> Value {
    json!({ "test": test, "interval": "30s", "timeout": "5s", "retries": 5, "start_period": "30s" })
}

/// A healthcheck of a sightline component: an HTTP GET of `path` on `port`, with a program its
/// image contains (`Component::probe`, read from the image's Dockerfile; `docs/outputs.md`).
/// `None` for an image with nothing to run it: whatever depends on it then waits for it to
/// start (`started_or_healthy`).
fn probe(c: &Component, port: u16, path: &str) -> Option<Value> {
    let url = format!("http://127.0.0.1:{port}{path}");
    match c.probe {
        Probe::Wget => Some(healthcheck(vec!["CMD", "wget", "-q", "--spider", &url])),
        Probe::Bash => {
            let script = format!(
                "exec 3<>/dev/tcp/127.0.0.1/{port} && printf 'GET {path} HTTP/1.0\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"
            );
            Some(healthcheck(vec!["CMD", "bash", "-c", &script]))
        }
        Probe::Own(command) => {
            let args: Vec<String> =
                command.iter().map(|a| a.replace("{url}", &url).replace("{port}", &port.to_string())).collect();
            let mut test = vec!["CMD"];
            test.extend(args.iter().map(String::as_str));
            Some(healthcheck(test))
        }
        Probe::Shell | Probe::Nothing => None,
    }
}

/// A healthcheck that logs in: the image's own client (`argv`), reading its `client.yml`.
fn login_probe(s: &mut Map<String, Value>, argv: &[&str]) -> &'static str {
    let test: Vec<&str> = std::iter::once("CMD").chain(argv.iter().copied()).collect();
    s.insert("healthcheck".into(), healthcheck(test));
    "service_healthy"
}

/// Insert a component's healthcheck, and say what a service that depends on it waits for.
fn insert_probe(s: &mut Map<String, Value>, c: &Component, port: u16, path: &str) -> &'static str {
    match probe(c, port, path) {
        Some(check) => {
            s.insert("healthcheck".into(), check);
            "service_healthy"
        }
        None => "service_started",
    }
}

/// A kind's container needs (`kinds::Run`): its variables, a secret's as the path of its file,
/// and its command, `$` doubled for compose's interpolation.
fn lower_run(run: &kinds::Run, s: &mut Map<String, Value>, wiring: &mut SecretWiring) {
    for (var, value) in &run.env {
        match value {
            kinds::Var::Value(v) => {
                wiring.env.insert(var.to_string(), json!(literal(v)));
            }
            kinds::Var::SecretFile(r) => wiring.file_var(r, var),
        }
    }
    if !run.entrypoint.is_empty() {
        s.insert("entrypoint".into(), json!(run.entrypoint.iter().map(|a| literal(a)).collect::<Vec<_>>()));
    }
    if !run.command.is_empty() {
        s.insert("command".into(), json!(run.command.iter().map(|a| literal(a)).collect::<Vec<_>>()));
    }
}

/// The service's own `compose.volumes` (or a `compose.tmpfs`) mount something at `path`.
fn mounts_at(s: &Service, path: &str) -> bool {
    let path = path.trim_end_matches('/');
    s.compose.volumes.iter().any(|m| m.parts().1.trim_end_matches('/') == path)
        || s.compose.tmpfs.iter().any(|t| t.0 == path)
}

/// An application's container that compose can wait to be healthy: its kind gives it a check
/// (`kinds::KindDef::app`).
fn has_healthcheck(s: &Service) -> bool {
    (kinds::def(s.kind).app)(s).healthcheck.is_some()
}

/// The common part of every sightline service.
fn base(c: &Component, user: Option<&str>, read_only: bool, networks: &[&str]) -> Map<String, Value> {
    let mut s = Map::new();
    s.insert("image".into(), json!(c.image.as_str()));
    s.insert("restart".into(), json!("unless-stopped"));
    if let Some(u) = user {
        s.insert("user".into(), json!(u));
        // A process of a non-root user has no capability to use (no-new-privileges keeps a
        // setuid or file-capability binary from gaining one): the bounding set is emptied so
        // nothing in the container can.
        if !crate::manifest::model::is_root_user(u) {
            s.insert("cap_drop".into(), json!(["ALL"]));
        }
    }
    if read_only {
        // A read-only root still needs a scratch directory.
        s.insert("read_only".into(), json!(true));
        s.insert("tmpfs".into(), json!(["/tmp"]));
    }
    s.insert("security_opt".into(), json!(["no-new-privileges:true"]));
    s.insert("networks".into(), json!(networks));
    limits(&mut s, c.memory.bytes(), &format!("{}", c.cpus), c.pids);
    s
}

/// A container's memory, CPU and process limits.
fn limits(s: &mut Map<String, Value>, memory_bytes: u64, cpus: &str, pids: u32) {
    s.insert("mem_limit".into(), json!(memory(memory_bytes)));
    s.insert("cpus".into(), json!(cpus));
    s.insert("pids_limit".into(), json!(pids));
}

fn depends(s: &mut Map<String, Value>, on: &[(&str, &str)]) {
    let mut m = Map::new();
    for (name, condition) in on {
        m.insert(name.to_string(), json!({ "condition": condition }));
    }
    if !m.is_empty() {
        s.insert("depends_on".into(), Value::Object(m));
    }
}

/// What an application's `compose:` asks of its container beyond the defaults (which are the
/// image's own: sightline cannot know what the application needs): its user, the only
/// capabilities it keeps, a read-only root with its scratch tmpfs, and its limits.
fn harden_app(a: &mut Map<String, Value>, run: &crate::manifest::model::ServiceCompose) {
    if let Some(user) = &run.user {
        a.insert("user".into(), json!(user));
    }
    if let Some(caps) = &run.capabilities {
        a.insert("cap_drop".into(), json!(["ALL"]));
        if !caps.is_empty() {
            a.insert("cap_add".into(), json!(caps.iter().map(|c| c.as_str()).collect::<Vec<_>>()));
        }
    }
    if run.read_only == Some(true) {
        a.insert("read_only".into(), json!(true));
    }
    let tmpfs: Vec<&str> = match (&run.tmpfs[..], run.read_only) {
        ([], Some(true)) => vec!["/tmp"],
        (paths, _) => paths.iter().map(|p| p.0.as_str()).collect(),
    };
    if !tmpfs.is_empty() {
        a.insert("tmpfs".into(), json!(tmpfs));
    }
    if let Some(m) = &run.memory {
        a.insert("mem_limit".into(), json!(memory(m.bytes())));
    }
    if let Some(c) = run.cpus {
        a.insert("cpus".into(), json!(format!("{c}")));
    }
    if let Some(p) = run.pids_limit {
        a.insert("pids_limit".into(), json!(p));
    }
}

/// A one-shot job beside a service's own container (`kinds::Job`): on the service's image, once
/// the service is healthy, on the networks given (the service's own), done when it exits.
fn one_shot_job(s: &Service, job: &kinds::Job, networks: &[&str], secrets_all: &mut Secrets) -> Map<String, Value> {
    let mut j = Map::new();
    j.insert("image".into(), json!(s.image.as_ref().map(|i| i.as_str())));
    let mut wiring = SecretWiring::new();
    debug_assert!(
        job.run.after.is_empty()
            && job.run.data.is_none()
            && job.run.healthcheck.is_none()
            && job.run.hostname.is_none()
            && has_healthcheck(s),
        "a job waits for its service's health, and has no data, healthcheck or host name of its own"
    );
    lower_run(&job.run, &mut j, &mut wiring);
    j.insert("restart".into(), json!("no"));
    j.insert("user".into(), json!(job.user));
    j.insert("cap_drop".into(), json!(["ALL"]));
    j.insert("read_only".into(), json!(true));
    j.insert("security_opt".into(), json!(["no-new-privileges:true"]));
    j.insert("networks".into(), json!(networks));
    limits(&mut j, job.memory, job.cpus, job.pids);
    let files: Vec<String> = job.files.iter().map(|(file, mount, _)| config_dir(file, mount)).collect();
    if !files.is_empty() {
        j.insert("volumes".into(), json!(files));
    }
    wiring.apply(&job.name, &mut j, secrets_all);
    depends(&mut j, &[(s.name.as_str(), "service_healthy")]);
    j
}

/// A value compose must take literally: `$` doubled, so compose does not interpolate it (a
/// database `shop$PGDATA` stays that name).
fn literal(s: &str) -> String {
    s.replace('$', "$$")
}

/// The read-only mount of a config file's whole directory. `build` replaces files by rename, and
/// a single-file bind mount would keep the old inode: a reload would read the stale file. With
/// the directory mounted, a reload (SIGHUP) or restart reads what the last build wrote.
fn config_dir(file: &str, mount: &str) -> String {
    fn parent(p: &str) -> &str {
        p.rsplit_once('/').map_or(p, |(d, _)| d)
    }
    format!("./{}:{}:ro", parent(file), parent(mount))
}

pub fn lower(stack: &Stack) -> Vec<Artifact> {
    // The application's containers are on the application's network only: the manifest's
    // `network:`, or else `application`, which this file defines when it runs any of them.
    // What must reach them (the exporters, the probes, the backup runner, the Pushgateway its
    // jobs report to) is on it too, and on no network of the monitoring side; Prometheus alone
    // is on both, so neither an application container nor anything it can reach besides
    // Prometheus can reach Alertmanager, Loki or Grafana.
    let own_app_net = stack.network.is_none() && stack.services.iter().any(|s| s.image.is_some());
    let app_net: Option<&str> = stack.network.as_deref().or(own_app_net.then_some(APPLICATION));
    // Services without an image run outside this compose project. Without `network:` the
    // containers that reach them need a way off the internal network; `check` warns when
    // their `host:` is left to the default.
    let outside = stack.network.is_none() && stack.services.iter().any(|s| s.image.is_none());
    let with_app = |nets: &[&'static str]| -> Vec<&str> {
        let mut v: Vec<&str> = nets.to_vec();
        if let Some(n) = app_net {
            v.push(n);
        }
        if outside && !v.contains(&OUTBOUND) {
            v.push(OUTBOUND);
        }
        debug_assert!(!v.is_empty(), "a container on no network would be on compose's default one");
        v
    };
    let mut services = Map::new();
    let mut volumes = Map::new();
    let mut secrets_all = Secrets::default();
    let get = |name: &str| stack.component(name).expect("every stack has this component");

    // Loki.
    let mut loki = base(get(defaults::LOKI.name), Some("10001:10001"), true, &[MONITORING]);
    loki.insert("command".into(), json!([format!("-config.file={LOKI_CONFIG_MOUNT}")]));
    loki.insert(
        "volumes".into(),
        json!([config_dir(LOKI_CONFIG, LOKI_CONFIG_MOUNT), format!("loki-data:{LOKI_DATA}")]),
    );
    // The login its ruler sends to an Alertmanager behind `observability.alertmanager.auth`.
    if let Some(auth) = &stack.alertmanager_auth {
        let mut wiring = SecretWiring::new();
        wiring.file(&auth.credentials);
        wiring.apply("loki", &mut loki, &mut secrets_all);
    }
    let loki_ready = insert_probe(&mut loki, get(defaults::LOKI.name), LOKI_ADDR.1, "/ready");
    volumes.insert("loki-data".into(), json!({}));
    services.insert("loki".into(), Value::Object(loki));

    // Alertmanager, which reads its receivers' secrets from files (`*_file`).
    let mut am = base(get(defaults::ALERTMANAGER.name), Some(NOBODY), true, &[MONITORING, EGRESS]);
    let mut wiring = SecretWiring::new();
    for use_ in stack.secrets.iter().filter(|s| s.setting.starts_with("alerting.")) {
        wiring.file(&use_.reference);
    }
    let mut am_cmd = format!(
        // One instance: no cluster, so nothing listens for gossip (the default is 0.0.0.0:9094).
        "exec /bin/alertmanager --config.file={ALERTMANAGER_CONFIG_MOUNT} --storage.path=/alertmanager --web.listen-address=:{} --cluster.listen-address=",
        ALERTMANAGER_ADDR.1
    );
    if let Some(auth) = &stack.alertmanager_auth {
        am_cmd.push_str(&format!(" --web.config.file={ALERTMANAGER_WEB_CONFIG_MOUNT}"));
        // Its healthcheck's amtool logs in with the password's file.
        wiring.file(&auth.web.password);
    }
    am.insert("entrypoint".into(), json!(["/bin/sh", "-c", am_cmd]));
    am.insert(
        "volumes".into(),
        json!([
            config_dir(ALERTMANAGER_CONFIG, ALERTMANAGER_CONFIG_MOUNT),
            "alertmanager-data:/alertmanager".to_string()
        ]),
    );
    wiring.apply("alertmanager", &mut am, &mut secrets_all);
    let am_ready = match &stack.alertmanager_auth {
        // Every endpoint asks for the password, /-/ready too: the healthcheck is the image's
        // amtool asking for the cluster status (`/api/v2/status`), logged in with client.yml.
        Some(_) => login_probe(
            &mut am,
            &[
                "/bin/amtool",
                "cluster",
                "show",
                &format!("--alertmanager.url=http://127.0.0.1:{}", ALERTMANAGER_ADDR.1),
                &format!("--http.config.file={ALERTMANAGER_CLIENT_CONFIG_MOUNT}"),
            ],
        ),
        None => insert_probe(&mut am, get(defaults::ALERTMANAGER.name), ALERTMANAGER_ADDR.1, "/-/ready"),
    };
    volumes.insert("alertmanager-data".into(), json!({}));
    services.insert("alertmanager".into(), Value::Object(am));

    // Exporters and probes.
    let mut scrape_deps: Vec<(String, &str)> = vec![("alertmanager".into(), am_ready)];
    if let Some(c) = stack.component(defaults::NODE_EXPORTER.name) {
        let mut n = base(c, Some(NOBODY), true, &[MONITORING]);
        n.insert(
            "command".into(),
            json!([
                "--path.procfs=/host/proc",
                "--path.sysfs=/host/sys",
                "--path.rootfs=/rootfs",
                "--collector.filesystem.mount-points-exclude=^/(dev|proc|sys|var/lib/docker/.+)($$|/)"
            ]),
        );
        let mut v =
            vec!["/proc:/host/proc:ro".to_string(), "/sys:/host/sys:ro".to_string(), "/:/rootfs:ro".to_string()];
        if stack.backups.is_some() {
            // Backup results, written by the runner for the textfile collector.
            if let Some(Value::Array(cmd)) = n.get_mut("command") {
                cmd.push(json!(format!("--collector.textfile.directory={TEXTFILE_DIR}")));
            }
            v.push(format!("backup-textfile:{TEXTFILE_DIR}:ro"));
        }
        n.insert("volumes".into(), json!(v));
        let ready = insert_probe(&mut n, c, NODE_EXPORTER_ADDR.1, "/metrics");
        services.insert(c.name.clone(), Value::Object(n));
        scrape_deps.push((c.name.clone(), ready));
    }
    let exporters = stack.exporters();
    for s in &stack.services {
        let Some(&c) = exporters.get(&s.name) else { continue };
        let Some(exporter) = crate::kinds::def(s.kind).exporter.as_ref() else { continue };
        let mut e = base(c, Some(NOBODY), true, &with_app(&[]));
        let mut wiring = SecretWiring::new();
        // What the kind's exporter needs from the service (`crate::kinds`).
        let run = (exporter.run)(s);
        debug_assert!(
            run.data.is_none() && run.healthcheck.is_none() && run.hostname.is_none(),
            "an exporter has no data or host name of its own and is checked on its health_path"
        );
        lower_run(&run, &mut e, &mut wiring);
        // Its image is its program alone: for a login, built with a shell to read the password's
        // file, whose `wget` then checks its health.
        let built = super::exporter_image::built(s).map(|dir| {
            e.shift_remove("image");
            e.insert("build".into(), json!({ "context": format!("./{dir}") }));
            e.insert("tmpfs".into(), json!(["/tmp", super::paths::SHELL_IMAGE_VOLUME]));
            let shell = super::exporter_image::shell(stack).map_or(defaults::PROMETHEUS.probe, |p| p.probe);
            Component { probe: shell, ..c.clone() }
        });
        if !run.after.is_empty() {
            // The job always completes, so this never holds monitoring back, and `up --wait`
            // counts the job done.
            let after: Vec<(&str, &str)> =
                run.after.iter().map(|j| (j.as_str(), "service_completed_successfully")).collect();
            depends(&mut e, &after);
        }
        wiring.apply(&c.name, &mut e, &mut secrets_all);
        let (port, path) = (exporter.port, exporter.health_path);
        let ready = insert_probe(&mut e, built.as_ref().unwrap_or(c), port, path);
        scrape_deps.push((c.name.clone(), ready));
        services.insert(c.name.clone(), Value::Object(e));
    }
    // The socket proxies, built here for cAdvisor to wait for; the Docker one joins the compose
    // file beside the log collector, as its first client.
    let (docker_proxy, docker_ready) = match stack.component(defaults::DOCKER_SOCKET_PROXY.name) {
        Some(c) => {
            // On its own internal network, which only its clients join: the log collector and
            // cAdvisor.
            let mut dp = base(c, Some(NOBODY), true, &[DOCKER_API]);
            dp.insert("group_add".into(), json!([required_env(DOCKER_GID)]));
            dp.insert(
                "volumes".into(),
                json!([
                    config_dir(DOCKER_PROXY_CONFIG, HAPROXY_CONFIG_MOUNT),
                    format!("{DOCKER_SOCKET}:{DOCKER_SOCKET}:ro")
                ]),
            );
            let ready = insert_probe(&mut dp, c, DOCKER_SOCKET_PROXY_ADDR.1, "/_ping");
            (Some((c.name.as_str(), Value::Object(dp))), Some((c.name.as_str(), ready)))
        }
        None => (None, None),
    };
    let mut containerd_ready: Option<(&str, &str)> = None;
    if let Some(c) = stack.component(defaults::CONTAINERD_SOCKET_PROXY.name) {
        // No network: it listens on a socket in a volume it shares with cAdvisor, and reaches
        // containerd's through its mount, as nobody in the socket's group (root's).
        let mut cp = base(c, Some(NOBODY), true, &[]);
        cp.shift_remove("networks");
        cp.insert("network_mode".into(), json!("none"));
        cp.insert("group_add".into(), json!(["0"]));
        cp.insert(
            "volumes".into(),
            json!([
                config_dir(CONTAINERD_PROXY_CONFIG, HAPROXY_CONFIG_MOUNT),
                format!("{CONTAINERD_SOCKET}:{CONTAINERD_SOCKET}:ro"),
                format!("{CONTAINERD_API_VOLUME}:{CONTAINERD_PROXY_DIR}"),
            ]),
        );
        let ready = insert_probe(&mut cp, c, CONTAINERD_PROXY_HEALTH_PORT, "/healthz");
        containerd_ready = Some((c.name.as_str(), ready));
        // A volume on tmpfs, so the two containers can share it; the proxy, as nobody, makes
        // its socket there.
        volumes.insert(
            CONTAINERD_API_VOLUME.into(),
            json!({ "driver_opts": { "type": "tmpfs", "device": "tmpfs", "o": "uid=65534,gid=65534,mode=0755,size=64k" } }),
        );
        services.insert(c.name.clone(), Value::Object(cp));
    }
    if let Some(c) = stack.component(defaults::CADVISOR.name) {
        // Root, for the files of every container under /var/lib/docker, but with no capability
        // besides reading past other owners' modes (its walk of container directories for
        // disk usage); the Docker API and containerd's through their proxies.
        let mut ca = base(c, None, true, &[MONITORING, DOCKER_API]);
        // The host's `/run` under `/rootfs` (a recursive bind) holds Docker's and containerd's
        // sockets, which root opens whatever its capabilities: hidden under an empty tmpfs.
        ca.insert("tmpfs".into(), json!(["/tmp", "/rootfs/run"]));
        ca.insert("cap_drop".into(), json!(["ALL"]));
        ca.insert("cap_add".into(), json!(["DAC_READ_SEARCH"]));
        ca.insert(
            "command".into(),
            json!([
                "--docker_only=true",
                "--store_container_labels=true",
                "--housekeeping_interval=15s",
                format!("--docker=tcp://{}:{}", DOCKER_SOCKET_PROXY_ADDR.0, DOCKER_SOCKET_PROXY_ADDR.1),
                format!("--containerd={CONTAINERD_PROXY_SOCKET}"),
            ]),
        );
        ca.insert(
            "volumes".into(),
            json!([
                "/:/rootfs:ro",
                "/sys:/sys:ro",
                "/var/lib/docker/:/var/lib/docker:ro",
                format!("{CONTAINERD_API_VOLUME}:{CONTAINERD_PROXY_DIR}:ro"),
            ]),
        );
        // It asks Docker and containerd once, at start, whether it can watch Docker's
        // containers, and never again: both proxies must be up first.
        let proxies: Vec<(&str, &str)> = docker_ready.into_iter().chain(containerd_ready).collect();
        depends(&mut ca, &proxies);
        let ready = insert_probe(&mut ca, c, CADVISOR_ADDR.1, "/healthz");
        services.insert(c.name.clone(), Value::Object(ca));
        scrape_deps.push((c.name.clone(), ready));
    }
    if let Some(c) = stack.component(defaults::BLACKBOX_EXPORTER.name) {
        let mut b = base(c, Some(NOBODY), true, &with_app(&[OUTBOUND]));
        let ready = insert_probe(&mut b, c, BLACKBOX_ADDR.1, "/-/healthy");
        services.insert(c.name.clone(), Value::Object(b));
        scrape_deps.push((c.name.clone(), ready));
    }

    // The Pushgateway the batch jobs report to: on the application's network, where they run,
    // and published on the host's loopback when a job runs outside this project.
    if let Some(c) = stack.component(defaults::PUSHGATEWAY.name) {
        let mut pg = base(c, Some(NOBODY), true, &with_app(&[]));
        // The last result of every job survives a restart: written at most a minute after it
        // arrived, read back at start.
        pg.insert(
            "command".into(),
            json!([format!("--persistence.file={PUSHGATEWAY_DATA}/pushgateway.db"), "--persistence.interval=1m"]),
        );
        pg.insert("volumes".into(), json!([format!("pushgateway-data:{PUSHGATEWAY_DATA}")]));
        let ports: Vec<String> = stack
            .published
            .iter()
            .filter(|p| p.owner == c.name)
            .map(|p| format!("{}:{}:{}", p.bind, p.port, PUSHGATEWAY_ADDR.1))
            .collect();
        if !ports.is_empty() {
            pg.insert("ports".into(), json!(ports));
        }
        let ready = insert_probe(&mut pg, c, PUSHGATEWAY_ADDR.1, "/-/ready");
        volumes.insert("pushgateway-data".into(), json!({}));
        services.insert(c.name.clone(), Value::Object(pg));
        scrape_deps.push((c.name.clone(), ready));
    }

    // Prometheus.
    let p = get(defaults::PROMETHEUS.name);
    // With remote storage, a way out to it too.
    let prom_networks: &[&str] = if stack.remote_write.is_empty() { &[MONITORING] } else { &[MONITORING, EGRESS] };
    let mut prom = base(p, Some(NOBODY), true, &with_app(prom_networks));
    let mut cmd = vec![
        format!("--config.file={PROMETHEUS_CONFIG_MOUNT}"),
        "--storage.tsdb.path=/prometheus".to_string(),
        format!("--storage.tsdb.retention.time={}", stack.prometheus_retention.canonical()),
    ];
    if let Some(d) = &p.disk {
        cmd.push(format!("--storage.tsdb.retention.size={}", crate::targets::prometheus::retention_size(d)));
    }
    if stack.prometheus_auth.is_some() {
        cmd.push(format!("--web.config.file={PROMETHEUS_WEB_CONFIG_MOUNT}"));
    }
    prom.insert("command".into(), json!(cmd));
    prom.insert(
        "volumes".into(),
        json!([config_dir(PROMETHEUS_CONFIG, PROMETHEUS_CONFIG_MOUNT), "prometheus-data:/prometheus".to_string()]),
    );
    // The passwords it logs in with: its own (its scrape of itself, its healthcheck) and
    // Alertmanager's (the alerting client, the scrape).
    let mut wiring = SecretWiring::new();
    for auth in stack.web_logins() {
        wiring.file(&auth.password);
    }
    for login in stack.remote_write.iter().filter_map(|w| w.basic_auth.as_ref()) {
        wiring.file(&login.password);
    }
    wiring.apply("prometheus", &mut prom, &mut secrets_all);
    let prom_ready = match &stack.prometheus_auth {
        // Every endpoint asks for the password, /-/ready too: the healthcheck is the image's
        // promtool, logging in as Prometheus's own scrape does (the password's file, never
        // on a command line).
        Some(_) => login_probe(
            &mut prom,
            &[
                "/bin/promtool",
                "check",
                "ready",
                &format!("--url=http://127.0.0.1:{}", PROMETHEUS_ADDR.1),
                &format!("--http.config.file={PROMETHEUS_CLIENT_CONFIG_MOUNT}"),
            ],
        ),
        None => insert_probe(&mut prom, p, PROMETHEUS_ADDR.1, "/-/ready"),
    };
    let deps: Vec<(&str, &str)> = scrape_deps.iter().map(|(n, c)| (n.as_str(), *c)).collect();
    depends(&mut prom, &deps);
    volumes.insert("prometheus-data".into(), json!({}));
    services.insert("prometheus".into(), Value::Object(prom));

    // The Docker API for the log collector when it reads containers.
    if let Some((name, proxy)) = docker_proxy {
        services.insert(name.into(), proxy);
    }
    let reads_containers = !crate::targets::promtail::pipeline::container_services(stack).is_empty();
    let docker_api: Option<(&str, &str)> = docker_ready.filter(|_| reads_containers);
    let collector_networks: &[&str] = if reads_containers { &[MONITORING, DOCKER_API] } else { &[MONITORING] };

    // The log collector.
    let host_files: Vec<String> = stack
        .services
        .iter()
        .filter_map(|s| s.log_path.clone())
        .chain(stack.logs.sources.iter().map(|s| s.path.clone()))
        .map(|p| format!("{p}:{p}:ro"))
        .collect();
    match stack.logs.collector {
        Collector::Promtail => {
            // Promtail's image knows no other user than root: root without capabilities, which
            // owns the positions volume; host log files of other owners need reading past
            // their modes.
            let mut pt = base(get(defaults::PROMTAIL.name), None, true, collector_networks);
            pt.insert("cap_drop".into(), json!(["ALL"]));
            if !host_files.is_empty() {
                pt.insert("cap_add".into(), json!(["DAC_READ_SEARCH"]));
            }
            pt.insert("command".into(), json!([format!("-config.file={PROMTAIL_CONFIG_MOUNT}")]));
            let mut v = vec![
                config_dir(PROMTAIL_CONFIG, PROMTAIL_CONFIG_MOUNT),
                "promtail-positions:/var/lib/promtail".to_string(),
            ];
            v.extend(host_files);
            pt.insert("volumes".into(), json!(v));
            insert_probe(&mut pt, get(defaults::PROMTAIL.name), PROMTAIL_PORT, "/ready");
            depends(&mut pt, &[[("loki", loki_ready)].as_slice(), docker_api.as_slice()].concat());
            volumes.insert("promtail-positions".into(), json!({}));
            services.insert("promtail".into(), Value::Object(pt));
        }
        Collector::Alloy => {
            // The image's own `alloy` user (473, which owns /var/lib/alloy in it), in the
            // group `adm` when it reads host log files: Debian's group for reading /var/log.
            let mut al = base(get(defaults::ALLOY.name), Some(ALLOY_USER), true, collector_networks);
            if !host_files.is_empty() {
                al.insert("group_add".into(), json!(["adm"]));
            }
            al.insert(
                "command".into(),
                json!([
                    "run",
                    format!("--server.http.listen-addr=0.0.0.0:{ALLOY_PORT}"),
                    "--storage.path=/var/lib/alloy/data",
                    // As Grafana's and Loki's: no usage reports leave the host.
                    "--disable-reporting",
                    ALLOY_CONFIG_MOUNT
                ]),
            );
            let mut v =
                vec![config_dir(ALLOY_CONFIG, ALLOY_CONFIG_MOUNT), "alloy-data:/var/lib/alloy/data".to_string()];
            v.extend(host_files);
            al.insert("volumes".into(), json!(v));
            insert_probe(&mut al, get(defaults::ALLOY.name), ALLOY_PORT, "/-/ready");
            depends(&mut al, &[[("loki", loki_ready)].as_slice(), docker_api.as_slice()].concat());
            volumes.insert("alloy-data".into(), json!({}));
            services.insert("alloy".into(), Value::Object(al));
        }
    }

    // Grafana, the one service published on the host.
    let mut g = base(get(defaults::GRAFANA.name), Some("472:0"), true, &[MONITORING, EGRESS]);
    let mut wiring = SecretWiring::new();
    wiring.file_var(&stack.grafana.admin_password, "GF_SECURITY_ADMIN_PASSWORD__FILE");
    wiring.env.insert("GF_SECURITY_ADMIN_USER".into(), json!("admin"));
    // The passwords its Prometheus and Alertmanager data sources log in with (`$__file{…}` in
    // datasources.yml).
    for auth in stack.web_logins() {
        wiring.file(&auth.password);
    }
    // Grafana's settings (conf/defaults.ini's `[section] key`, as GF_SECTION_KEY).
    for (section, key, value) in crate::targets::grafana::settings(stack) {
        wiring.env.insert(crate::targets::grafana::setting_var(section, key), json!(value));
    }
    let mut gv = vec![
        "grafana-data:/var/lib/grafana".to_string(),
        format!("./grafana/provisioning:{GRAFANA_PROVISIONING_MOUNT}:ro"),
    ];
    if !super::grafana::dashboards::kinds(stack).is_empty() {
        gv.push(format!("./{GRAFANA_DASHBOARDS_DIR}:{GRAFANA_DASHBOARDS_MOUNT}:ro"));
    }
    g.insert("volumes".into(), json!(gv));
    wiring.apply("grafana", &mut g, &mut secrets_all);
    g.insert("ports".into(), json!([format!("{}:{}:{}", stack.grafana.bind, stack.grafana.port, GRAFANA_ADDR.1)]));
    insert_probe(&mut g, get(defaults::GRAFANA.name), GRAFANA_ADDR.1, "/api/health");
    depends(&mut g, &[("prometheus", prom_ready), ("loki", loki_ready), ("alertmanager", am_ready)]);
    volumes.insert("grafana-data".into(), json!({}));
    services.insert("grafana".into(), Value::Object(g));

    // The backup runner: supercronic with the scripts of `backup/`, built on the databases'
    // image, as its `postgres` user: no capability, a read-only root, its pgpass file on a
    // tmpfs of its own. Its volumes start out its own (the Dockerfile makes their directories
    // the user's, and Docker fills an empty volume from the image, owner included).
    if let (Some(b), Some(c)) = (&stack.backups, stack.component(defaults::BACKUP.name)) {
        let mut r = base(c, Some(defaults::POSTGRES_USER), true, &with_app(&[]));
        let (uid, gid) = defaults::postgres_ids();
        r.insert(
            "tmpfs".into(),
            json!(["/tmp", format!("{}:uid={uid},gid={gid},mode=0700", super::paths::PGPASS_DIR)]),
        );
        r.shift_remove("image");
        // Its Dockerfile holds its build arguments (backup::dockerfile).
        r.insert("build".into(), json!({ "context": format!("./{BACKUP_DIR}") }));
        let mut wiring = SecretWiring::new();
        for s in stack.services.iter().filter(|s| b.jobs.iter().any(|j| j.service == s.name)) {
            if let Some(pg) = &s.db {
                wiring.file(&pg.password);
            }
        }
        r.insert(
            "volumes".into(),
            json!([
                format!("./{BACKUP_DIR}:{}:ro", super::paths::SCRIPTS_MOUNT),
                format!("backups:{}", b.destination),
                format!("backup-textfile:{TEXTFILE_DIR}")
            ]),
        );
        wiring.apply(&c.name, &mut r, &mut secrets_all);
        r.insert(
            "healthcheck".into(),
            // The entrypoint has handed over to supercronic (which exits on a bad crontab).
            healthcheck(vec!["CMD", "grep", "-qx", "supercronic", "/proc/1/comm"]),
        );
        let db_deps: Vec<(&str, &str)> = stack
            .services
            .iter()
            .filter(|s| s.image.is_some() && b.jobs.iter().any(|j| j.service == s.name))
            .map(|s| (s.name.as_str(), "service_healthy"))
            .collect();
        depends(&mut r, &db_deps);
        volumes.insert("backups".into(), json!({}));
        volumes.insert("backup-textfile".into(), json!({}));
        services.insert(c.name.clone(), Value::Object(r));
    }

    // The application's own services that have an image.
    for s in stack.services.iter().filter(|s| s.image.is_some()) {
        let mut a = Map::new();
        a.insert("image".into(), json!(s.image.as_ref().map(|i| i.as_str())));
        a.insert("restart".into(), json!("unless-stopped"));
        a.insert("security_opt".into(), json!(["no-new-privileges:true"]));
        // The application's own network only (it keeps its way out: neither is internal).
        a.insert("networks".into(), json!([app_net.unwrap_or(APPLICATION)]));
        let mut wiring = SecretWiring::new();
        // What its kind sets (`crate::kinds`): variables, a data volume, the command, the
        // healthcheck.
        let run = (kinds::def(s.kind).app)(s);
        debug_assert!(run.after.is_empty(), "the service's own container waits for its compose.depends_on");
        if let Some(path) = run.data.filter(|p| !mounts_at(s, p)) {
            let volume = format!("{}-data", s.name);
            a.insert("volumes".into(), json!([format!("{volume}:{path}")]));
            volumes.insert(volume, json!({}));
        }
        lower_run(&run, &mut a, &mut wiring);
        if let Some(h) = &run.hostname {
            a.insert("hostname".into(), json!(h));
        }
        for job in (kinds::def(s.kind).jobs)(s) {
            // Sightline's job, but on the service's image with its credentials: the
            // application's network only, as the service itself.
            let j = one_shot_job(s, &job, &[app_net.unwrap_or(APPLICATION)], &mut secrets_all);
            services.insert(job.name.clone(), Value::Object(j));
        }
        let health = run.healthcheck.map(|test| {
            healthcheck(test.iter().map(|a| literal(a)).collect::<Vec<_>>().iter().map(String::as_str).collect())
        });
        // What the manifest's `compose:` adds: the environment (a secret as its reference's
        // mechanism), the command, volumes, further ports, and what to wait for.
        let run = &s.compose;
        for (var, value) in &run.environment {
            match value {
                EnvValue::Secret(r) => wiring.app_var(r, var),
                v => {
                    // `$` doubled: compose would read it as an interpolation.
                    wiring.env.insert(var.clone(), json!(v.text().unwrap_or_default().replace('$', "$$")));
                }
            }
        }
        if let Some(command) = &run.command {
            a.insert("command".into(), json!(command.iter().map(|c| c.replace('$', "$$")).collect::<Vec<_>>()));
        }
        harden_app(&mut a, run);
        if !run.volumes.is_empty() {
            let v = a.entry("volumes").or_insert_with(|| json!([]));
            if let Value::Array(list) = v {
                list.extend(run.volumes.iter().map(|m| json!(m.0)));
            }
            for m in run.volumes.iter().filter(|m| m.is_named()) {
                volumes.insert(m.parts().0.to_string(), json!({}));
            }
        }
        wiring.apply(s.name.as_str(), &mut a, &mut secrets_all);
        if let Some(h) = health {
            a.insert("healthcheck".into(), h);
        }
        let mut ports: Vec<String> = stack
            .published
            .iter()
            .filter(|p| {
                p.owner == s.name.as_str() && crate::kinds::def(s.kind).front_door && p.pointer.ends_with("/port")
            })
            .map(|p| format!("{}:{}:{}", p.bind, p.port, s.port))
            .collect();
        // As written: without an address compose publishes on every one, IPv6 included.
        ports.extend(run.ports.iter().map(|p| p.0.clone()));
        if !ports.is_empty() {
            a.insert("ports".into(), json!(ports));
        }
        if !run.depends_on.is_empty() {
            let on: Vec<(&str, &str)> = run
                .depends_on
                .iter()
                .filter_map(|d| stack.services.iter().find(|o| o.name == *d))
                .map(|o| (o.name.as_str(), if has_healthcheck(o) { "service_healthy" } else { "service_started" }))
                .collect();
            depends(&mut a, &on);
        }
        services.insert(s.name.to_string(), Value::Object(a));
    }

    // The `{ env }` secrets, written into files before anything that reads them starts.
    let top_secrets = secrets_all.finish(get(defaults::PROMETHEUS.name).image.as_str(), &mut services, &mut volumes);

    let mut networks = Map::new();
    networks.insert(MONITORING.into(), json!({ "internal": true }));
    networks.insert(EGRESS.into(), json!({}));
    let on =
        |net: &str| services.values().any(|s| s["networks"].as_array().is_some_and(|n| n.iter().any(|x| x == net)));
    if on(OUTBOUND) {
        networks.insert(OUTBOUND.into(), json!({}));
    }
    if docker_ready.is_some() {
        networks.insert(DOCKER_API.into(), json!({ "internal": true }));
    }
    if let Some(n) = stack.network.as_deref() {
        networks.insert(n.to_string(), json!({ "external": true }));
    } else if own_app_net {
        networks.insert(APPLICATION.into(), json!({}));
    }
    let mut doc = Map::new();
    // The project's name, which its containers, volumes and networks are named after: the
    // stack's, wherever the file is (`-p` or `COMPOSE_PROJECT_NAME` still override it).
    doc.insert("name".into(), json!(stack.name));
    doc.insert("services".into(), Value::Object(services));
    doc.insert("networks".into(), Value::Object(networks));
    doc.insert("volumes".into(), Value::Object(volumes));
    if let Some(m) = top_secrets {
        doc.insert("secrets".into(), Value::Object(m));
    }
    vec![Artifact::new(COMPOSE, serde_saphyr::to_string(&Value::Object(doc)).expect("compose serializes"))]
}

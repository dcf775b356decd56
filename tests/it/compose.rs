//! compose.yaml, for every example and every manifest under `tests/fixtures/ok/`: accepted by
//! compose v2 `config` with the variables of `.env.example` set, refused when a variable it
//! interpolates is missing, valid against the compose-spec schema, and safe by default; no
//! secret in any sightline container's environment.

use crate::prometheus::manifests;
use crate::support::{build_into_tempdir, build_yaml, http_get, require_tool, run, schema_errors, schema_validator};
use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// The generated compose file of a tree.
fn compose_of(dir: &Path) -> Value {
    serde_saphyr::from_str(&std::fs::read_to_string(dir.join("compose.yaml")).unwrap()).unwrap()
}

/// A service's image; for one compose builds, the exporter image its Dockerfile takes the
/// program from (an exporter built with a shell: `EXPORTER_IMAGE`).
fn image_of(dir: &Path, service: &Value) -> String {
    match service["image"].as_str() {
        Some(image) => image.to_string(),
        None => build_arg(dir, service, "EXPORTER_IMAGE"),
    }
}

/// A build argument's value in the Dockerfile compose builds a service's image from.
fn build_arg(dir: &Path, service: &Value, name: &str) -> String {
    let context = service["build"]["context"].as_str().unwrap_or_default();
    let dockerfile = std::fs::read_to_string(dir.join(context).join("Dockerfile")).unwrap_or_default();
    let prefix = format!("ARG {name}=");
    dockerfile.lines().find_map(|l| l.strip_prefix(prefix.as_str())).unwrap_or_default().to_string()
}

/// A service's shell entrypoint (`/bin/sh -c SCRIPT NAME`), as the shell sees it (`$$` is
/// compose's escape for `$`).
fn shell_entrypoint(service: &Value, name: &str) -> Vec<String> {
    let entry: Vec<String> = service["entrypoint"]
        .as_array()
        .unwrap_or_else(|| panic!("{name}: no entrypoint"))
        .iter()
        .map(|a| a.as_str().unwrap().replace("$$", "$"))
        .collect();
    assert_eq!(entry[..2], ["/bin/sh", "-c"], "{name}: a shell entrypoint");
    entry
}

/// The networks a compose service is on.
fn networks(service: &Value) -> Vec<String> {
    service["networks"].as_array().into_iter().flatten().map(|n| n.as_str().unwrap().to_string()).collect()
}

pub(crate) fn env_vars(dir: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(dir.join(".env.example"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && l.contains('='))
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap();
            (k.to_string(), if v.is_empty() { "placeholder".to_string() } else { v.to_string() })
        })
        .collect()
}

pub(crate) fn compose_config(tool: &Path, dir: &Path, env: &[(String, String)]) -> (bool, String) {
    let mut cmd = Command::new(tool);
    cmd.args(["config", "-q"]).current_dir(dir).env_clear().env("PATH", std::env::var_os("PATH").unwrap());
    for (k, v) in env {
        cmd.env(k, v);
    }
    run(&mut cmd)
}

#[test]
fn compose_accepts_the_file_and_refuses_a_missing_variable() {
    let v2 = require_tool("docker-compose-v2");
    let interpolated = regex::Regex::new(r"\$\{([A-Za-z_][A-Za-z0-9_]*):\?").unwrap();
    let mut refused = 0;
    for m in manifests() {
        let dir = build_into_tempdir(&m);
        let env = env_vars(dir.path());
        let (ok, out) = compose_config(&v2, dir.path(), &env);
        assert!(ok, "{}: config:\n{out}", m.display());
        // A variable the file interpolates is required: compose fails loudly without it. (A
        // secret compose takes from the environment is required when the stack starts, not by
        // `config`: the seeding job's source reads it; see `env_secrets_never_reach_an_environment`.)
        let text = std::fs::read_to_string(dir.path().join("compose.yaml")).unwrap();
        if let Some(c) = interpolated.captures(&text) {
            refused += 1;
            let missing = &c[1];
            let without: Vec<(String, String)> = env.iter().filter(|(k, _)| k != missing).cloned().collect();
            let (ok, out) = compose_config(&v2, dir.path(), &without);
            assert!(!ok && out.contains(missing), "{}: accepted the file without {missing}:\n{out}", m.display());
        }
    }
    assert!(refused > 0, "no compose file interpolates a required variable");
}

#[test]
fn the_file_matches_the_compose_spec_schema_and_is_safe_by_default() {
    let v = schema_validator("compose-spec/compose-spec.json");
    let images = image_table();
    for m in manifests() {
        let checked = sightline::check(&m.to_string_lossy(), &std::fs::read(&m).unwrap());
        let stack = sightline::ir::lower(checked.manifest.as_ref().unwrap(), "m");
        let dir = build_into_tempdir(&m);
        let doc = compose_of(dir.path());
        let errors = schema_errors(&v, &doc);
        assert!(errors.is_empty(), "{}:\n{}", m.display(), errors.join("\n"));
        assert_eq!(doc["name"], stack.name.as_str(), "the project is the stack");
        let services = doc["services"].as_object().unwrap();
        for c in &stack.components {
            let s = &services.get(&c.name).unwrap_or_else(|| panic!("{}: no service {}", m.display(), c.name));
            if c.name != "backup" {
                // The backup runner is built (on the databases' image), as is an exporter whose
                // image is its program alone, for a login (on that image: its Dockerfile's).
                assert_eq!(image_of(dir.path(), s), c.image.as_str());
            }
            assert!(s["mem_limit"].is_string() && s["cpus"].is_string(), "{}: {} has no limits", m.display(), c.name);
            assert_eq!(s["pids_limit"], c.pids, "{}: {} has no process limit", m.display(), c.name);
            assert!(s.get("deploy").is_none(), "compose v2 refuses pids_limit beside deploy.resources");
            assert_eq!(s["restart"], "unless-stopped");
            assert_eq!(s["read_only"], true, "{}: {} should have a read-only root", m.display(), c.name);
            assert!(s["security_opt"].as_array().unwrap().iter().any(|o| o == "no-new-privileges:true"));
            let non_root = s["user"].as_str().is_some_and(|u| u.split(':').next() != Some("0"));
            // Every component runs as a user of its own, but the two that read what only root
            // may: cAdvisor (every container's directories) and Promtail (its image has no
            // other user).
            assert!(
                non_root || ["cadvisor", "promtail"].contains(&c.name.as_str()),
                "{}: {} runs as root",
                m.display(),
                c.name
            );
            // Every component whose process is not root keeps no capability.
            if non_root {
                assert_eq!(s["cap_drop"], serde_json::json!(["ALL"]), "{}: {} keeps capabilities", m.display(), c.name);
            }
            for vol in s["volumes"].as_array().into_iter().flatten() {
                let vol = vol.as_str().unwrap();
                if vol.starts_with("./") {
                    assert!(vol.ends_with(":ro"), "{}: generated config mounted writable: {vol}", m.display());
                    let host = vol.trim_start_matches("./").split(':').next().unwrap();
                    assert!(
                        dir.path().join(host).exists(),
                        "{}: {} mounts {host}, which is not generated",
                        m.display(),
                        c.name
                    );
                }
            }
        }
        for (name, s) in services {
            // A one-shot job (never restarted) is done when it exits: nothing to check. A service
            // that is running waits for it to complete, so `up --wait` counts it done.
            let one_shot = s["restart"] == "no";
            if one_shot {
                // A job runs as a user of its own, but the seeding job, which writes into every
                // reader's volume (root's) with no capability and no network.
                let non_root = s["user"].as_str().is_some_and(|u| u.split(':').next() != Some("0"));
                assert!(
                    non_root || (name == "sightline-secrets" && s["network_mode"] == "none"),
                    "{}: the one-shot {name} runs as root",
                    m.display()
                );
                assert!(
                    services
                        .values()
                        .any(|o| o["depends_on"][name.as_str()]["condition"] == "service_completed_successfully"),
                    "{}: nothing waits for the one-shot {name}",
                    m.display()
                );
            }
            let imageless =
                images.get(s["image"].as_str().unwrap_or_default()).is_some_and(|r| r.healthcheck == "none");
            assert!(
                s["healthcheck"].is_object()
                    || one_shot
                    || imageless
                    || stack.services.iter().any(|a| a.name.as_str() == name
                        && a.health.is_none()
                        && matches!(
                            a.kind,
                            sightline::manifest::model::Kind::Http | sightline::manifest::model::Kind::Generic
                        ))
                    // The official memcached and haproxy images carry no client to check
                    // them with (docker-library's Dockerfiles purge wget with the build tools);
                    // PgBouncer has no official image, and the ones in use differ. Celery
                    // workers run the application's image and command: `celery inspect ping`
                    // needs its broker login and node name, which only the application knows.
                    || stack.services.iter().any(|a| a.name.as_str() == name
                        && matches!(
                            a.kind,
                            sightline::manifest::model::Kind::Memcached
                                | sightline::manifest::model::Kind::Haproxy
                                | sightline::manifest::model::Kind::Pgbouncer
                                | sightline::manifest::model::Kind::Celery
                        )),
                "{}: {name} has no healthcheck",
                m.display()
            );
            // The Docker socket is in the Docker socket proxy alone, containerd's in the
            // containerd socket proxy alone; each runs as nobody in the socket's group, without
            // capabilities. Everything else reads those APIs through a proxy, or not at all; no
            // container mounts the directory that holds either socket.
            let mounts = |prefixes: &[&str]| {
                s["volumes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|v| v.as_str().is_some_and(|v| prefixes.iter().any(|p| v.starts_with(p))))
            };
            // Every container sightline runs, its one-shot jobs included, drops every capability,
            // and takes back at most reading past file modes (Promtail and cAdvisor, root).
            let app = stack.services.iter().any(|a| a.name.as_str() == name);
            if !app {
                assert_eq!(s["cap_drop"], serde_json::json!(["ALL"]), "{}: {name} keeps capabilities", m.display());
                for cap in s["cap_add"].as_array().into_iter().flatten() {
                    assert!(
                        cap == "DAC_READ_SEARCH" && s.get("user").is_none(),
                        "{}: {name} takes back {cap}",
                        m.display()
                    );
                }
            }
            if mounts(&["/var/run/docker.sock:"]) {
                assert_eq!(name, "docker-socket-proxy", "{}: {name} mounts the Docker socket", m.display());
            }
            if mounts(&["/run/containerd/containerd.sock:"]) {
                assert_eq!(name, "containerd-socket-proxy", "{}: {name} mounts containerd's socket", m.display());
            }
            assert!(
                !mounts(&["/var/run:", "/run:", "/var/run/:", "/run/:", "/run/containerd:", "/var/run/docker:"]),
                "{}: {name} mounts a directory of sockets",
                m.display()
            );
            if name == "containerd-socket-proxy" {
                assert_eq!(s["user"], "65534:65534");
                assert_eq!(s["cap_drop"], serde_json::json!(["ALL"]));
                assert_eq!(s["group_add"], serde_json::json!(["0"]));
                assert_eq!(s["network_mode"], "none");
                assert!(s.get("networks").is_none());
                // Its socket's volume is shared with cAdvisor alone.
                let sharing: Vec<&String> = services
                    .iter()
                    .filter(|(_, o)| {
                        o["volumes"].as_array().is_some_and(|v| {
                            v.iter().any(|v| v.as_str().is_some_and(|v| v.starts_with("containerd-api:")))
                        })
                    })
                    .map(|(n, _)| n)
                    .collect();
                assert_eq!(sharing, ["containerd-socket-proxy", "cadvisor"], "{}", m.display());
            }
            // The host's root, bound recursively, holds its `/run` and the sockets in it, which
            // root opens (mode 0660, owner root) whatever its capabilities: a container that runs
            // as root and mounts `/` hides `/run` under a tmpfs. (node-exporter, as nobody in no
            // socket's group, opens none, and reports the host's `/run` as a filesystem.)
            if mounts(&["/:"]) && s.get("user").is_none() {
                let host_root = s["volumes"].as_array().unwrap().iter().find_map(|v| {
                    v.as_str().and_then(|v| v.strip_prefix("/:")).map(|r| r.split(':').next().unwrap().to_string())
                });
                let hidden = format!("{}/run", host_root.unwrap());
                assert!(
                    s["tmpfs"].as_array().is_some_and(|t| t.iter().any(|t| t == hidden.as_str())),
                    "{}: {name} mounts the host's / without hiding {hidden}",
                    m.display()
                );
            }
            if name == "cadvisor" {
                assert_eq!(s["cap_drop"], serde_json::json!(["ALL"]));
                assert_eq!(s["cap_add"], serde_json::json!(["DAC_READ_SEARCH"]));
                let command: Vec<&str> = s["command"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
                assert!(command.contains(&"--docker=tcp://docker-socket-proxy:2375"), "{command:?}");
                assert!(command.contains(&"--containerd=/run/containerd-proxy/containerd.sock"), "{command:?}");
                for proxy in ["docker-socket-proxy", "containerd-socket-proxy"] {
                    assert_eq!(s["depends_on"][proxy]["condition"], "service_healthy", "{}", m.display());
                }
            }
            if name == "docker-socket-proxy" {
                assert_eq!(s["user"], "65534:65534");
                assert_eq!(s["cap_drop"], serde_json::json!(["ALL"]));
                assert_eq!(s["group_add"], serde_json::json!(["${DOCKER_GID:?set DOCKER_GID in .env}"]));
                // Only its clients can reach it.
                assert_eq!(s["networks"], serde_json::json!(["docker-api"]));
                let reach: Vec<&String> = services
                    .iter()
                    .filter(|(_, o)| o["networks"].as_array().is_some_and(|n| n.iter().any(|n| n == "docker-api")))
                    .map(|(n, _)| n)
                    .collect();
                assert!(
                    reach
                        .iter()
                        .all(|n| ["docker-socket-proxy", "alloy", "promtail", "cadvisor"].contains(&n.as_str())),
                    "{reach:?}"
                );
                assert_eq!(doc["networks"]["docker-api"]["internal"], true);
            }
            if ["alloy", "promtail"].contains(&name.as_str()) {
                assert_eq!(
                    s["cap_drop"],
                    serde_json::json!(["ALL"]),
                    "{}: the collector keeps capabilities",
                    m.display()
                );
                let docker = stack.services.iter().any(|a| a.log_path.is_none());
                assert_eq!(
                    s["depends_on"].get("docker-socket-proxy").is_some(),
                    docker,
                    "{}: the collector waits for the proxy exactly when it reads containers",
                    m.display()
                );
            }
            match s["image"].as_str() {
                Some(image) => assert!(!image.ends_with(":latest"), "{image}"),
                // The backup runner (on the database's image), and an exporter whose image is its
                // program alone, for a login (on the Prometheus image), from the stack's images.
                None if name == "backup" => {}
                None => {
                    let shell = services["prometheus"]["image"].as_str().unwrap();
                    assert_eq!(build_arg(dir.path(), s, "SHELL_IMAGE"), shell, "{}: {name} is built", m.display());
                    let exporter = stack.components.iter().find(|c| c.name == *name).unwrap();
                    assert_eq!(build_arg(dir.path(), s, "EXPORTER_IMAGE"), exporter.image.as_str());
                }
            }
            if let Some(ports) = s.get("ports") {
                let published = stack.published.iter().any(|p| p.owner == *name);
                assert!(
                    published,
                    "{}: {name} publishes {ports} but the manifest publishes only {:?}",
                    m.display(),
                    stack.published
                );
            }
        }
        // Grafana keeps to itself: no anonymous access, nothing published or fetched outside;
        // behind https, secure cookies.
        let env = &services["grafana"]["environment"];
        for (var, value) in [
            ("GF_AUTH_ANONYMOUS_ENABLED", "false"),
            ("GF_SNAPSHOTS_EXTERNAL_ENABLED", "false"),
            ("GF_ANALYTICS_CHECK_FOR_UPDATES", "false"),
            ("GF_SECURITY_DISABLE_GRAVATAR", "true"),
            ("GF_SECURITY_COOKIE_SAMESITE", "strict"),
        ] {
            assert_eq!(env[var], value, "{}: grafana {var}", m.display());
        }
        let https = stack.grafana.root_url.as_deref().is_some_and(|u| u.starts_with("https://"));
        assert_eq!(env["GF_SECURITY_COOKIE_SECURE"] == "true", https, "{}: cookie_secure", m.display());
        let grafana_port = services["grafana"]["ports"][0].as_str().unwrap();
        assert!(grafana_port.starts_with(&format!("{}:{}:", stack.grafana.bind, stack.grafana.port)), "{grafana_port}");
        let collector = match stack.logs.collector {
            sightline::manifest::model::Collector::Promtail => ("promtail", "alloy"),
            sightline::manifest::model::Collector::Alloy => ("alloy", "promtail"),
        };
        assert!(
            services.contains_key(collector.0) && !services.contains_key(collector.1),
            "{}: runs the wrong collector",
            m.display()
        );
        assert_eq!(doc["networks"]["monitoring"]["internal"], true);
        // Prometheus alone bridges the application's network and the monitoring side: what
        // an application container can reach (the exporters, the probes, the backup runner,
        // the Pushgateway) reaches nothing of it.
        let app_net = stack.network.clone().unwrap_or_else(|| "application".into());
        for (name, s) in services {
            let on = |n: &str| networks(s).iter().any(|x| x == n);
            let app_side = on(&app_net) || on("outbound");
            if app_side && (on("monitoring") || on("docker-api") || on("egress")) {
                assert_eq!(
                    name,
                    "prometheus",
                    "{}: {name} bridges the application's side and the monitoring side",
                    m.display()
                );
            }
        }
        // No application container (nor a job on its image) shares a network with
        // Alertmanager, Loki or Grafana.
        let nets = |name: &str| networks(&services[name]);
        for app in stack.services.iter().filter(|s| s.image.is_some()) {
            let mut containers = vec![app.name.to_string()];
            let def = sightline::kinds::def(app.kind);
            for job in (def.jobs)(app) {
                // Its name is one the checks reserve (SL102): no service can take it.
                assert!(
                    def.job_suffixes.iter().any(|suffix| job.name == format!("{}{suffix}", app.name)),
                    "{}: job {} is not named by its kind's job_suffixes",
                    m.display(),
                    job.name
                );
                containers.push(job.name);
            }
            for c in containers {
                for guarded in ["alertmanager", "loki", "grafana"] {
                    let shared: Vec<String> = nets(&c).into_iter().filter(|n| nets(guarded).contains(n)).collect();
                    assert!(shared.is_empty(), "{}: {c} shares {shared:?} with {guarded}", m.display());
                }
            }
        }
    }
}

/// A row of the table of what each pinned image contains, in docs/outputs.md.
struct ImageRow {
    sh: bool,
    wget: bool,
    bash: bool,
    /// The program's own health command, e.g. `loki -health`, or `no`.
    own: String,
    /// What the healthcheck runs, or `none`.
    healthcheck: String,
}

/// docs/outputs.md's table, by image reference.
fn image_table() -> std::collections::BTreeMap<String, ImageRow> {
    let doc = std::fs::read_to_string(crate::support::root().join("docs/outputs.md")).unwrap();
    let mut rows = std::collections::BTreeMap::new();
    for line in doc.lines().map(str::trim).filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.trim_matches('|').split(" | ").map(str::trim).collect();
        assert_eq!(cells.len(), 8, "docs/outputs.md image table row: {line}");
        let yes = |c: &str| match c {
            "yes" => true,
            "no" => false,
            other => panic!("docs/outputs.md: `{other}` is neither yes nor no in {line}"),
        };
        rows.insert(
            cells[0].trim_matches('`').to_string(),
            ImageRow {
                sh: yes(cells[2]),
                wget: yes(cells[3]),
                bash: yes(cells[4]),
                own: cells[5].to_string(),
                healthcheck: cells[6].to_string(),
            },
        );
    }
    assert!(rows.len() >= 10, "docs/outputs.md lists what each pinned image contains");
    rows
}

#[test]
fn every_healthcheck_runs_a_program_its_image_contains() {
    let images = image_table();
    for m in manifests() {
        let dir = build_into_tempdir(&m);
        let doc = compose_of(dir.path());
        let checked = sightline::check(&m.to_string_lossy(), &std::fs::read(&m).unwrap());
        let stack = sightline::ir::lower(checked.manifest.as_ref().unwrap(), "m");
        let services = doc["services"].as_object().unwrap();
        for c in stack.components.iter().filter(|c| c.name != "backup") {
            let s = &services[&c.name];
            // An exporter built with a shell runs on the shell's image (its Dockerfile's base).
            let image = match s["image"].as_str() {
                Some(image) => image.to_string(),
                None => build_arg(dir.path(), s, "SHELL_IMAGE"),
            };
            let image = image.as_str();
            let row = images.get(image).unwrap_or_else(|| {
                panic!("{}: {image} ({}) is not in docs/outputs.md's image table", m.display(), c.name)
            });
            let test: Vec<&str> =
                s["healthcheck"]["test"].as_array().into_iter().flatten().map(|v| v.as_str().unwrap()).collect();
            let what = format!("{}: {} ({image}) runs {test:?}", m.display(), c.name);
            match test.as_slice() {
                [] => assert_eq!(row.healthcheck, "none", "{what}: the table gives it a healthcheck"),
                ["CMD", "wget", ..] => assert!(row.wget && row.healthcheck.starts_with("`wget"), "{what}: no wget"),
                ["CMD", "bash", ..] => assert!(row.bash && row.healthcheck.starts_with("bash"), "{what}: no bash"),
                ["CMD-SHELL", ..] => assert!(row.sh, "{what}: no shell"),
                ["CMD", program, args @ ..] => {
                    // The whole command, or (where it varies with the manifest, as Prometheus's
                    // promtool with its client configuration) the program and its subcommand.
                    let run = format!("`{program} {}`", args.join(" "));
                    let start = format!("`{program} {}", args.iter().take(2).cloned().collect::<Vec<_>>().join(" "));
                    assert!(
                        row.healthcheck == run || row.healthcheck.contains(&start),
                        "{what}: the table says {}",
                        row.healthcheck
                    );
                    let name = program.rsplit('/').next().unwrap();
                    assert!(row.own.starts_with(&format!("`{name} {}", args[0])), "{what}: not its own command");
                }
                _ => panic!("{what}"),
            }
        }
        // Nothing waits for the health of a service that has no healthcheck.
        for (name, s) in services {
            for (dep, cond) in s["depends_on"].as_object().into_iter().flatten() {
                if cond["condition"] == "service_healthy" {
                    assert!(
                        services[dep]["healthcheck"].is_object(),
                        "{}: {name} waits for {dep} to be healthy, which has no healthcheck",
                        m.display()
                    );
                }
            }
        }
    }
}

/// Every exporter starts with the command line the compose file gives it: the exporters'
/// flag parsers (kingpin) refuse an unknown flag or a malformed value at start, and the
/// container would exit. Each is run, at the release scripts/tools builds, with the generated
/// flags on a free loopback port, and must still be running a moment later.
#[test]
fn every_exporter_accepts_its_command_line() {
    let binaries = [
        ("prom/node-exporter:", "node_exporter"),
        ("quay.io/prometheuscommunity/postgres-exporter:", "postgres_exporter"),
        ("oliver006/redis_exporter:", "redis_exporter"),
        ("nginx/nginx-prometheus-exporter:", "nginx-prometheus-exporter"),
        ("prom/memcached-exporter:", "memcached_exporter"),
        ("prom/mysqld-exporter:", "mysqld_exporter"),
        ("quay.io/prometheuscommunity/elasticsearch-exporter:", "elasticsearch_exporter"),
        ("percona/mongodb_exporter:", "mongodb_exporter"),
        ("prom/blackbox-exporter:", "blackbox_exporter"),
    ];
    let mut tried = std::collections::BTreeSet::new();
    for m in manifests() {
        let dir = build_into_tempdir(&m);
        let doc = compose_of(dir.path());
        for (name, s) in doc["services"].as_object().unwrap() {
            let image = image_of(dir.path(), s);
            let Some((_, bin)) = binaries.iter().find(|(prefix, _)| image.starts_with(prefix)) else { continue };
            let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
            // The container's paths are where its volumes come from here.
            let mounts: Vec<(String, String)> = s["volumes"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|v| {
                    let mut parts = v.as_str().unwrap().split(':');
                    let (src, dst) = (parts.next().unwrap(), parts.next().unwrap());
                    let here = match src {
                        s if s.starts_with('/') => s.to_string(),
                        s => dir.path().join(s.trim_start_matches("./")).display().to_string(),
                    };
                    (dst.to_string(), here)
                })
                .collect();
            let mut args: Vec<String> = s["command"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|a| {
                    let mut a = a.as_str().unwrap().replace("$$", "$");
                    for (dst, here) in &mounts {
                        if let Some((flag, path)) = a.split_once('=')
                            && let Some(rest) = path.strip_prefix(dst.as_str())
                        {
                            a = format!("{flag}={here}{rest}");
                        }
                    }
                    a
                })
                .collect();
            if *bin == "blackbox_exporter" {
                // The image ships its config; the bare binary needs one.
                let cfg = dir.path().join("blackbox.yml");
                std::fs::write(&cfg, "modules:\n  http_2xx:\n    prober: http\n").unwrap();
                args.push(format!("--config.file={}", cfg.display()));
            }
            args.push(format!("--web.listen-address=127.0.0.1:{port}"));
            let mut cmd = Command::new(require_tool(bin));
            cmd.args(&args).env_clear();
            // A shell entrypoint (mysqld_exporter's, and elasticsearch_exporter's and
            // mongodb_exporter's with a login, which read the password's file) runs as written,
            // the image's binary path replaced by the built one's, each `*_FILE`
            // variable naming a file that holds a password; first without the file, where it
            // must stop.
            if s.get("entrypoint").is_some() {
                let entry = shell_entrypoint(s, name);
                let script = entry[2].replace(&format!("/bin/{bin}"), &require_tool(bin).display().to_string());
                let secret = dir.path().join("password-file");
                let files: Vec<String> = s["environment"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .filter(|(k, _)| k.ends_with("_FILE"))
                    .map(|(k, _)| k.clone())
                    .collect();
                assert!(!files.is_empty(), "{name}: its entrypoint reads a password's file");
                let run = |with_file: bool| {
                    let mut c = Command::new("/bin/sh");
                    c.arg("-c").arg(&script).args(&entry[3..]).args(&args).env_clear();
                    for f in &files {
                        c.env(f, if with_file { secret.clone() } else { dir.path().join("missing") });
                    }
                    c
                };
                // It stops, and says why in the container's log.
                let stops = |out: std::process::Output, what: &str| {
                    assert!(!out.status.success(), "{name}: its entrypoint goes on {what}");
                    assert!(
                        String::from_utf8_lossy(&out.stderr).contains(": no password in "),
                        "{name}: its entrypoint stops {what} without a word"
                    );
                };
                stops(run(false).output().unwrap(), "without the password's file");
                // An empty file is no password: the exporter would skip its login in silence.
                std::fs::write(&secret, "").unwrap();
                stops(run(true).output().unwrap(), "with an empty password's file");
                std::fs::write(&secret, "rehearsal\n").unwrap();
                cmd = run(true);
            }
            let mut child =
                cmd.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::piped()).spawn().unwrap();
            // Running and listening: the flags were all accepted. Exited: refused.
            let mut exited = None;
            for _ in 0..100 {
                exited = child.try_wait().unwrap();
                if exited.is_some() || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            assert!(
                exited.is_none(),
                "{}: {name} ({bin} {}) exits at start:\n{}",
                m.display(),
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            );
            tried.insert(*bin);
        }
    }
    assert_eq!(tried.len(), binaries.len(), "the examples run every kind of exporter (tried {tried:?})");
}

/// A rebuild reaches the running programs: `build` replaces files by rename, so a single-file
/// bind mount keeps the old inode and a reload (SIGHUP) rereads the stale file. Every generated
/// file is mounted through its directory (issue 12, item 13).
#[test]
fn generated_configs_are_mounted_as_directories() {
    for m in manifests() {
        let dir = build_into_tempdir(&m);
        let doc = compose_of(dir.path());
        // The application's own mounts (`compose.volumes`) are the project's, not generated.
        let checked = sightline::check(&m.display().to_string(), &std::fs::read(&m).unwrap());
        let own: Vec<String> = checked
            .manifest
            .iter()
            .flat_map(|mf| mf.services.values())
            .flat_map(|s| s.compose.iter().flat_map(|c| c.volumes.iter().map(|v| v.parts().0.to_string())))
            .collect();
        for (name, service) in doc["services"].as_object().unwrap() {
            for volume in service["volumes"].as_array().into_iter().flatten() {
                let Some(source) = volume.as_str().and_then(|v| v.split(':').next()) else { continue };
                if own.iter().any(|o| o == source) {
                    continue;
                }
                if let Some(relative) = source.strip_prefix("./") {
                    let path = dir.path().join(relative);
                    assert!(path.is_dir(), "{}: {name} mounts the file {source}; mount its directory", m.display());
                }
            }
        }
    }
}

/// Services that run outside the compose project (no `image:`) and no `network:`: whatever
/// reaches them is not confined to the internal network (issue 12, item 9).
#[test]
fn what_reaches_an_outside_service_can_leave_the_internal_network() {
    let dir = build_into_tempdir(&crate::support::root().join("examples/minimal.yaml"));
    let doc = compose_of(dir.path());
    assert_eq!(doc["networks"]["monitoring"]["internal"], true);
    let nets = doc["services"]["prometheus"]["networks"].as_array().unwrap();
    assert!(nets.iter().any(|n| n == "outbound"), "prometheus networks: {nets:?}");
    // The application side's way out, not the monitoring side's.
    assert!(!nets.iter().any(|n| n == "egress"), "prometheus networks: {nets:?}");
    assert!(doc["networks"]["outbound"].is_object() && doc["networks"]["outbound"].get("internal").is_none());
}

/// A health path reaches the application's shell healthcheck as one quoted word, with `$`
/// doubled for compose's interpolation: `;`, `&` and `$HOME` stay part of the URL.
#[test]
fn a_health_path_is_one_shell_word() {
    let out = crate::support::build_yaml(
        "version: 1\nstack: shop\nenvironment: prod\nnetwork: n1\nservices:\n  web: { kind: http, port: 8080, image: \"web:1\", health: { live: \"/h;id&x=$HOME%3F\" } }\n",
    );
    let doc = compose_of(out.path());
    let test = doc["services"]["web"]["healthcheck"]["test"][1].as_str().unwrap().to_string();
    assert_eq!(
        test,
        "wget -q --spider 'http://127.0.0.1:8080/h;id&x=$$HOME%3F' || curl -fsS -o /dev/null 'http://127.0.0.1:8080/h;id&x=$$HOME%3F'"
    );
}

/// A `$` in a name that reaches compose is literal: compose v2 resolves the file to the very
/// database and user the backups and the exporter use (`shop$PGDATA`, not `shop` followed by
/// the value of `PGDATA`).
#[test]
fn a_dollar_in_a_database_name_is_not_interpolated() {
    let v2 = require_tool("docker-compose-v2");
    let out = crate::support::build_yaml(
        "version: 1\nstack: shop\nenvironment: prod\nnetwork: n1\nservices:\n  db: { kind: postgres, image: \"postgres:16.4\", port: 5432, database: shop$PGDATA, user: app$HOSTNAME, password: { env: PGPASSWORD } }\n",
    );
    let mut env = env_vars(out.path());
    env.push(("PGDATA".into(), "/elsewhere".into()));
    env.push(("HOSTNAME".into(), "somehost".into()));
    let mut cmd = Command::new(&v2);
    cmd.args(["config", "--format", "json"])
        .current_dir(out.path())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap());
    for (k, v) in &env {
        cmd.env(k, v);
    }
    let (ok, text) = run(&mut cmd);
    assert!(ok, "{text}");
    let resolved: Value = serde_json::from_str(&text[text.find('{').unwrap()..]).unwrap();
    // `config` prints the resolved file escaped again (`$$` is one literal `$`); had compose
    // interpolated, it would print `shop/elsewhere` and `appsomehost`.
    let db = &resolved["services"]["db"]["environment"];
    assert_eq!(
        (db["POSTGRES_DB"].as_str(), db["POSTGRES_USER"].as_str()),
        (Some("shop$$PGDATA"), Some("app$$HOSTNAME"))
    );
    let exporter = &resolved["services"]["db-exporter"]["environment"];
    assert_eq!(exporter["DATA_SOURCE_USER"], "app$$HOSTNAME");
    assert!(exporter["DATA_SOURCE_URI"].as_str().unwrap().ends_with("/shop$$PGDATA?sslmode=disable"));
    assert!(!text.contains("/elsewhere") && !text.contains("somehost"), "compose interpolated a name:\n{text}");
}

/// With every secret given as a file, no secret reaches any container's environment: each
/// program reads the file (its `*_FILE` setting, Alertmanager's `*_file` field, the scripts),
/// and compose interpolates no variable into an environment.
#[test]
fn secrets_given_as_files_never_reach_an_environment() {
    let text = std::fs::read_to_string(crate::support::root().join("examples/faceless-staging.yaml")).unwrap();
    let re = regex::Regex::new(r"\{ env: ([A-Z_]+) \}").unwrap();
    let as_files =
        re.replace_all(&text, |c: &regex::Captures| format!("{{ file: /run/secrets/{} }}", c[1].to_lowercase()));
    assert!(!as_files.contains("{ env:"), "{as_files}");
    let dir = crate::support::build_yaml(&as_files);
    let doc = compose_of(dir.path());
    let secrets: Vec<String> = re.captures_iter(&text).map(|c| c[1].to_lowercase()).collect();
    assert!(!secrets.is_empty());
    for (name, s) in doc["services"].as_object().unwrap() {
        for (var, value) in s["environment"].as_object().into_iter().flatten() {
            let value = value.as_str().unwrap_or_default();
            assert!(!value.contains("${"), "{name}: {var} takes a variable's value: {value}");
        }
    }
    // Each secret is a compose secret, mounted as a file where a program reads it.
    for secret in &secrets {
        assert!(doc["secrets"][secret]["file"].is_string(), "no compose secret {secret}: {}", doc["secrets"]);
        assert!(
            doc["services"].as_object().unwrap().values().any(|s| s["secrets"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|n| n == secret.as_str())),
            "no service reads {secret}"
        );
    }
}

/// `{ env }` secrets reach sightline's containers as files only: compose takes each variable as
/// a secret from the environment for the seeding job alone, which writes it into the volume of
/// each container that reads it; that container names the file (`*_FILE`, a config's
/// `*_file`, a script's `cat`), mounts its volume read-only, and waits for the job. Only an
/// application's own `compose.environment` variable given as `{ env }` stays a variable (the
/// way out for a program that reads no file).
#[test]
fn env_secrets_never_reach_an_environment() {
    for m in manifests() {
        let checked = sightline::check(&m.to_string_lossy(), &std::fs::read(&m).unwrap());
        let stack = sightline::ir::lower(checked.manifest.as_ref().unwrap(), "m");
        let dir = build_into_tempdir(&m);
        let doc = compose_of(dir.path());
        let services = doc["services"].as_object().unwrap();
        let from_env = |app_env: bool| -> std::collections::BTreeSet<String> {
            stack
                .secrets
                .iter()
                .filter(|u| u.setting.contains(".compose.environment.") == app_env)
                .filter_map(|u| match &u.reference {
                    sightline::manifest::values::SecretRef::Env(n) => Some(n.clone()),
                    _ => None,
                })
                .collect()
        };
        let (seeded, app_vars) = (from_env(false), from_env(true));
        for (name, s) in services {
            // An application's own service may take its own `compose.environment` variable.
            let app = stack.services.iter().any(|a| a.name.as_str() == name && a.image.is_some());
            for (var, value) in s["environment"].as_object().into_iter().flatten() {
                let value = value.as_str().unwrap_or_default();
                for n in seeded.iter().filter(|n| !(app && app_vars.contains(*n))) {
                    let reads = regex::Regex::new(&format!(r"\$\{{?{n}\b")).unwrap();
                    assert!(!reads.is_match(value), "{}: {name}'s {var} holds the secret {n}", m.display());
                }
            }
        }
        if seeded.is_empty() {
            assert!(services.get("sightline-secrets").is_none(), "{}", m.display());
            continue;
        }
        let job = &services["sightline-secrets"];
        let script = job["entrypoint"][2].as_str().unwrap();
        assert_eq!(job["restart"], "no");
        assert_eq!(job["network_mode"], "none");
        assert_eq!(job["cap_drop"], serde_json::json!(["ALL"]));
        assert!(job.get("cap_add").is_none() && job.get("environment").is_none());
        for n in &seeded {
            let source = job["secrets"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["target"] == n.as_str())
                .unwrap_or_else(|| panic!("{}: the seeding job is not given {n}", m.display()))["source"]
                .as_str()
                .unwrap();
            assert_eq!(doc["secrets"][source]["environment"], n.as_str(), "{}", m.display());
        }
        // Every container that names a seeded file mounts its own volume, which the job seeds
        // with that file, and waits for the job to complete.
        for (name, s) in services.iter().filter(|(n, _)| n.as_str() != "sightline-secrets") {
            // What it reads: its compose settings, and the generated files it mounts.
            let mut text = serde_json::to_string(s).unwrap();
            for v in s["volumes"].as_array().into_iter().flatten() {
                if let Some(source) =
                    v.as_str().and_then(|v| v.strip_prefix("./")).map(|v| v.split(':').next().unwrap())
                {
                    for f in walkdir::WalkDir::new(dir.path().join(source)).into_iter().filter_map(Result::ok) {
                        if f.file_type().is_file() {
                            text.push_str(&std::fs::read_to_string(f.path()).unwrap_or_default());
                        }
                    }
                }
            }
            let reads: Vec<&String> =
                seeded.iter().filter(|n| text.contains(&format!("/run/sightline-secrets/{n}"))).collect();
            let mount = format!("{name}-secrets:/run/sightline-secrets:ro");
            let mounted = s["volumes"].as_array().into_iter().flatten().any(|v| v == mount.as_str());
            assert_eq!(mounted, !reads.is_empty(), "{}: {name} reads {reads:?}", m.display());
            if reads.is_empty() {
                continue;
            }
            assert_eq!(s["depends_on"]["sightline-secrets"]["condition"], "service_completed_successfully");
            assert!(
                job["volumes"].as_array().unwrap().iter().any(|v| v == format!("{name}-secrets:/out/{name}").as_str())
            );
            let line = script
                .lines()
                .find(|l| l.starts_with(&format!("seed /out/{name} ")))
                .unwrap_or_else(|| panic!("{}: nothing seeds {name}", m.display()));
            for n in reads {
                assert!(line.split(' ').any(|w| w == n), "{}: {line} lacks {n}", m.display());
            }
        }
        // Files its scripts read are named too (the backup runner's entrypoint).
        let entry = dir.path().join("backup/entrypoint.sh");
        if entry.exists() {
            let entry = std::fs::read_to_string(entry).unwrap();
            assert!(!entry.contains("${"), "{}: the backup entrypoint reads a variable:\n{entry}", m.display());
        }
    }
}

/// The seeding job's script, run here (dash, as POSIX as busybox's sh) with its container paths
/// under a scratch directory: each container's directory ends up with exactly its files, each
/// the variable's value and world-readable; a stale file and a half-written one go; an empty
/// variable fails the job, which then holds back everything that reads it.
#[test]
fn the_seeding_job_writes_each_containers_files() {
    let dir = crate::support::build_yaml(
        "version: 1\nstack: seed\nenvironment: dev\nservices:\n  db: { kind: postgres, image: \"postgres:16.4\", port: 5432, database: app, user: app, password: { env: DB_PASSWORD } }\nalerting:\n  receivers:\n    team: { email: { to: a@example.com, from: b@example.com, smarthost: \"mail.example.com:587\", password: { env: SMTP_PASSWORD } } }\n  routes:\n    - match: { severity: critical }\n      to: team\n  default: team\n",
    );
    let doc = compose_of(dir.path());
    let job = &doc["services"]["sightline-secrets"];
    let root = tempfile::tempdir().unwrap();
    let at = |p: &str| format!("{}{p}", root.path().display());
    let script = job["entrypoint"][2].as_str().unwrap().replace("$$", "$");
    let script = script.replace("/run/secrets/", &at("/run/secrets/")).replace(" /out/", &format!(" {}/", at("/out")));
    std::fs::create_dir_all(at("/run/secrets")).unwrap();
    let mut containers = Vec::new();
    for v in job["volumes"].as_array().unwrap() {
        let container = v.as_str().unwrap().rsplit("/out/").next().unwrap().to_string();
        std::fs::create_dir_all(at(&format!("/out/{container}"))).unwrap();
        containers.push(container);
    }
    assert!(containers.contains(&"alertmanager".to_string()) && containers.contains(&"db-exporter".to_string()));
    // Every file of the job's own /run/secrets, not only the ones it was given, goes.
    std::fs::write(at("/run/secrets/LEFT_OVER"), "old").unwrap();
    std::fs::write(at("/out/alertmanager/OLD_SECRET"), "stale").unwrap();
    std::fs::write(at("/out/alertmanager/.SMTP_PASSWORD.new"), "half").unwrap();
    let run = |values: &[(&str, &str)]| {
        for (n, v) in values {
            std::fs::write(at(&format!("/run/secrets/{n}")), v).unwrap();
        }
        Command::new("sh").args(["-c", &script]).output().unwrap()
    };
    let out = run(&[("DB_PASSWORD", "db pass"), ("SMTP_PASSWORD", "smtp$pass"), ("GRAFANA_ADMIN_PASSWORD", "admin")]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    use std::os::unix::fs::PermissionsExt;
    let files = |c: &str| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(at(&format!("/out/{c}")))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .collect();
        v.sort();
        v
    };
    assert_eq!(files("alertmanager"), ["SMTP_PASSWORD"]);
    assert_eq!(std::fs::read_to_string(at("/out/alertmanager/SMTP_PASSWORD")).unwrap(), "smtp$pass");
    assert_eq!(files("db-exporter"), ["DB_PASSWORD"]);
    assert_eq!(files("grafana"), ["GRAFANA_ADMIN_PASSWORD"]);
    let mode = std::fs::metadata(at("/out/db/DB_PASSWORD")).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o444);
    // Compose's copies in the job's own layer are gone: an exited job holds no secret.
    assert_eq!(std::fs::read_dir(at("/run/secrets")).unwrap().count(), 0);
    // An empty variable (compose copies nothing for one: no file) or an empty file: the job
    // fails, naming it, before it writes anything, and keeps no stale copy to reuse.
    let others = [("DB_PASSWORD", "new db pass"), ("GRAFANA_ADMIN_PASSWORD", "new admin")];
    for smtp in [None, Some("")] {
        let mut values = others.to_vec();
        values.extend(smtp.map(|v| ("SMTP_PASSWORD", v)));
        let out = run(&values);
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("SMTP_PASSWORD is empty or unset"));
        assert_eq!(std::fs::read_to_string(at("/out/db-exporter/DB_PASSWORD")).unwrap(), "db pass", "nothing written");
        assert_eq!(std::fs::read_dir(at("/run/secrets")).unwrap().count(), 0, "a failed job keeps no copy either");
    }
    // A step that fails stops the job, whichever file it is at: here the first container's
    // directory cannot be written.
    let first = at(&format!("/out/{}", containers[0]));
    std::fs::remove_dir_all(&first).unwrap();
    std::fs::write(&first, "not a directory").unwrap();
    let out = run(&[("DB_PASSWORD", "x"), ("SMTP_PASSWORD", "y"), ("GRAFANA_ADMIN_PASSWORD", "z")]);
    assert!(!out.status.success(), "the job succeeded though it could not write {first}");
}

/// A service's `compose:` settings, as compose v2 itself reads the generated file: the
/// environment with its `{ env }` secret taken from the environment and its `{ file }` secret
/// as `<VARIABLE>_FILE` beside a mounted secret, a `$` kept literal, the command, volumes
/// (named ones declared), ports, and `depends_on` waiting for health only where there is a
/// healthcheck.
#[test]
fn an_application_service_runs_as_its_compose_settings_say() {
    let v2 = require_tool("docker-compose-v2");
    let dir = crate::support::build_yaml(
        "version: 1\nstack: shop\nenvironment: prod\nservices:\n  \
         web:\n    kind: generic\n    image: ghcr.io/acme/web:1.0.0\n    port: 8010\n    metrics: false\n    compose:\n      \
         environment: { DATABASE_URL: { env: WEB_DB_URL }, SECRET_KEY: { file: /run/secrets/web_key }, GREETING: \"costs $5\", WORKERS: 4 }\n      \
         command: [gunicorn, --bind, \"0.0.0.0:8010\"]\n      \
         volumes: [\"web-media:/app/media\", \"./static:/app/static:ro\"]\n      \
         ports: [\"127.0.0.1:8010:8010\"]\n      \
         depends_on: [cache, worker]\n      \
         capabilities: [NET_BIND_SERVICE]\n      \
         read_only: true\n      \
         tmpfs: [/tmp, /run/web]\n      \
         memory: 256MiB\n      \
         cpus: 0.5\n      \
         pids_limit: 128\n  \
         cache: { kind: redis, image: \"redis:7.4.1\", port: 6379 }\n  \
         worker: { kind: generic, image: \"ghcr.io/acme/worker:1.0.0\", port: 9000, metrics: false, compose: { user: \"1000:1000\", read_only: true, capabilities: [] } }\n",
    );
    let mut env = env_vars(dir.path());
    assert!(env.iter().any(|(k, _)| k == "WEB_DB_URL"), ".env.example lists the secret: {env:?}");
    for (k, v) in env.iter_mut() {
        if k == "WEB_DB_URL" {
            *v = "postgres://db/app".into();
        }
    }
    let mut cmd = Command::new(&v2);
    cmd.args(["config", "--format", "json"])
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap());
    for (k, v) in &env {
        cmd.env(k, v);
    }
    let (ok, out) = run(&mut cmd);
    assert!(ok, "{out}");
    let start = out.find('{').unwrap();
    let config: Value = serde_json::from_str(&out[start..]).unwrap();
    let web = &config["services"]["web"];
    assert_eq!(web["environment"]["DATABASE_URL"], "postgres://db/app", "{web}");
    assert_eq!(web["environment"]["SECRET_KEY_FILE"], "/run/secrets/web_key", "{web}");
    assert!(web["environment"].get("SECRET_KEY").is_none(), "{web}");
    // `config` writes a compose file again, so it escapes a literal `$` as `$$`: the value is
    // `costs $5`, not an interpolation of `$5`.
    assert_eq!(web["environment"]["GREETING"], "costs $$5", "{web}");
    assert_eq!(web["environment"]["WORKERS"], "4", "{web}");
    assert_eq!(web["command"], serde_json::json!(["gunicorn", "--bind", "0.0.0.0:8010"]));
    assert!(web["secrets"].as_array().unwrap().iter().any(|s| s["source"] == "web_key"), "{web}");
    let mounts: Vec<(String, String)> = web["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["type"].as_str().unwrap().to_string(), v["target"].as_str().unwrap().to_string()))
        .collect();
    assert!(mounts.contains(&("volume".into(), "/app/media".into())), "{mounts:?}");
    assert!(mounts.contains(&("bind".into(), "/app/static".into())), "{mounts:?}");
    assert!(config["volumes"]["web-media"].is_object(), "{}", config["volumes"]);
    assert_eq!(web["ports"][0]["host_ip"], "127.0.0.1");
    assert_eq!(web["ports"][0]["published"], "8010");
    assert_eq!(web["depends_on"]["cache"]["condition"], "service_healthy", "{web}");
    assert_eq!(web["depends_on"]["worker"]["condition"], "service_started", "{web}");
    // Its hardening, as asked: the user, only the capabilities it keeps, a read-only root with
    // its scratch tmpfs, its limits; a read-only root without `tmpfs` gets `/tmp`, and
    // `capabilities: []` keeps none.
    assert!(web.get("user").is_none(), "{web}");
    assert_eq!(web["cap_drop"], serde_json::json!(["ALL"]));
    assert_eq!(web["cap_add"], serde_json::json!(["NET_BIND_SERVICE"]));
    assert_eq!(web["read_only"], true);
    assert_eq!(web["tmpfs"], serde_json::json!(["/tmp", "/run/web"]));
    assert_eq!(web["mem_limit"], "268435456", "{web}");
    assert_eq!(web["cpus"], 0.5, "{web}");
    assert_eq!(web["pids_limit"], 128, "{web}");
    let worker = &config["services"]["worker"];
    assert_eq!(worker["read_only"], true);
    assert_eq!(worker["tmpfs"], serde_json::json!(["/tmp"]));
    assert_eq!(worker["cap_drop"], serde_json::json!(["ALL"]));
    assert!(worker.get("cap_add").is_none(), "{worker}");
    assert_eq!(worker["user"], "1000:1000");
    // Without them, the image's own.
    let cache = &config["services"]["cache"];
    for key in ["user", "cap_drop", "read_only", "tmpfs", "mem_limit", "pids_limit"] {
        assert!(cache.get(key).is_none(), "{cache}");
    }
    // A database kind keeps its data in a named volume by default.
    assert!(
        cache["volumes"].as_array().unwrap().iter().any(|v| v["source"] == "cache-data" && v["target"] == "/data"),
        "{cache}"
    );
}

/// What SL408 protects is what the build writes: every generated file's top-level entry is in
/// `paths::OUTPUT_ENTRIES` (or hidden), every volume compose.yaml declares for sightline is in
/// `paths::OWN_VOLUMES`, a database's `<service>-data` or a container's seeded
/// `<container>-secrets`.
#[test]
fn the_protected_entries_and_volumes_are_what_the_build_writes() {
    use sightline::targets::paths::{OUTPUT_ENTRIES, OWN_VOLUMES};
    for m in manifests() {
        let dir = build_into_tempdir(&m);
        for e in std::fs::read_dir(dir.path()).unwrap() {
            let name = e.unwrap().file_name().to_string_lossy().to_string();
            assert!(
                name.starts_with('.') || OUTPUT_ENTRIES.contains(&name.as_str()),
                "{}: {name} is written but not in paths::OUTPUT_ENTRIES",
                m.display()
            );
        }
        let checked = sightline::check(&m.display().to_string(), &std::fs::read(&m).unwrap());
        let manifest = checked.manifest.unwrap();
        let own: Vec<String> = manifest
            .services
            .values()
            .flat_map(|s| s.compose.iter().flat_map(|c| c.volumes.iter().map(|v| v.parts().0.to_string())))
            .collect();
        let doc = compose_of(dir.path());
        for volume in doc["volumes"].as_object().unwrap().keys() {
            let database = volume.strip_suffix("-data").is_some_and(|s| manifest.services.contains_key(s));
            let seeded = volume.strip_suffix(sightline::targets::paths::SEEDED_VOLUME_SUFFIX).is_some_and(|c| {
                doc["services"][c]["volumes"]
                    .as_array()
                    .is_some_and(|v| v.iter().any(|v| v == format!("{volume}:/run/sightline-secrets:ro").as_str()))
            });
            assert!(
                OWN_VOLUMES.contains(&volume.as_str()) || database || seeded || own.contains(volume),
                "{}: compose.yaml declares {volume}, not in paths::OWN_VOLUMES",
                m.display()
            );
        }
    }
}

/// Prometheus shares a network with every container it scrapes or sends a probe through, in
/// every example and fixture: the hosts of prometheus.yml's targets and the blackbox address its
/// probes are rewritten to. (The rehearsal runs everything on one network, so only this sees
/// a target Prometheus could not resolve.)
#[test]
fn prometheus_shares_a_network_with_everything_it_scrapes() {
    for m in manifests() {
        let dir = build_into_tempdir(&m);
        let doc = compose_of(dir.path());
        let services = doc["services"].as_object().unwrap();
        let nets = |name: &str| networks(&services[name]);
        let prometheus = nets("prometheus");
        let config: Value =
            serde_saphyr::from_str(&std::fs::read_to_string(dir.path().join("prometheus/prometheus.yml")).unwrap())
                .unwrap();
        let mut hosts = Vec::new();
        for job in config["scrape_configs"].as_array().unwrap() {
            for sc in job["static_configs"].as_array().into_iter().flatten() {
                hosts.extend(
                    sc["targets"].as_array().into_iter().flatten().filter_map(|t| t.as_str()).map(String::from),
                );
            }
            for r in job["relabel_configs"].as_array().into_iter().flatten() {
                if r["target_label"] == "__address__" {
                    hosts.extend(r["replacement"].as_str().map(String::from));
                }
            }
        }
        let mut checked = 0;
        for host in hosts {
            let name = host.rsplit_once(':').map_or(host.as_str(), |(h, _)| h);
            if name == "prometheus" || !services.contains_key(name) {
                continue;
            }
            checked += 1;
            assert!(
                nets(name).iter().any(|n| prometheus.contains(n)),
                "{}: prometheus ({prometheus:?}) shares no network with {name} ({:?})",
                m.display(),
                nets(name)
            );
        }
        assert!(checked > 0, "{}: no target of prometheus.yml is a container of compose.yaml", m.display());
    }
}

/// Spring Boot writes its request timer's buckets only with the percentiles-histogram property:
/// the stack sets it on the container of a spring service it runs, and only where the alerts
/// read the framework's own histogram (not with `metrics: false` or a renamed `duration`).
#[test]
fn a_spring_container_gets_its_histogram_setting() {
    const VAR: &str = "MANAGEMENT_METRICS_DISTRIBUTION_PERCENTILESHISTOGRAM_HTTP_SERVER_REQUESTS";
    let dir = build_yaml(
        "version: 1\nstack: s\nenvironment: test\nservices:\n  \
         a: { kind: http, framework: spring, image: acme/a:1, port: 8080 }\n  \
         b: { kind: http, framework: spring, image: acme/b:1, port: 8081, metrics: false }\n  \
         c: { kind: http, framework: spring, image: acme/c:1, port: 8082, metric_names: { duration: orders_seconds } }\n  \
         d: { kind: http, framework: fastapi, image: acme/d:1, port: 8083 }\n  \
         e: { kind: http, framework: spring, image: acme/e:1, port: 8084, metric_names: { duration: http_server_requests_seconds } }\n",
    );
    let compose = compose_of(dir.path());
    let env = |s: &str| compose["services"][s]["environment"][VAR].clone();
    for s in ["a", "e"] {
        assert_eq!(env(s), Value::String("true".into()), "{s}: {}", compose["services"][s]);
    }
    // Where the stack sets it, the manifest may not set it again.
    let checked = sightline::check(
        "stack.yaml",
        b"version: 1\nstack: s\nenvironment: test\nservices:\n  \
          e: { kind: http, framework: spring, image: acme/e:1, port: 8084, metric_names: { duration: http_server_requests_seconds }, \
          compose: { environment: { MANAGEMENT_METRICS_DISTRIBUTION_PERCENTILESHISTOGRAM_HTTP_SERVER_REQUESTS: \"false\" } } }\n",
    );
    assert!(
        checked.diagnostics.iter().any(|d| d.code == sightline::code::Code::DuplicateName),
        "{:?}",
        checked.diagnostics
    );
    for s in ["b", "c", "d"] {
        assert_eq!(env(s), Value::Null, "{s}: {}", compose["services"][s]);
    }
    let prom = std::fs::read_to_string(dir.path().join("prometheus/prometheus.yml")).unwrap();
    assert!(prom.contains("metrics_path: /actuator/prometheus"), "{prom}");
}

/// A compose service's command, as its arguments.
fn command_of(service: &Value) -> Vec<String> {
    service["command"].as_array().unwrap().iter().map(|a| a.as_str().unwrap().to_string()).collect()
}

/// A directory under `dir` holding `name`, a shell script running `script`: a stand-in for the
/// program an entrypoint execs, put first on its PATH.
fn stub_program(dir: &Path, name: &str, script: &str) -> std::path::PathBuf {
    let stub = dir.join("stub");
    std::fs::create_dir(&stub).unwrap();
    std::fs::write(stub.join(name), format!("#!/bin/sh\n{script}\n")).unwrap();
    std::fs::set_permissions(stub.join(name), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    stub
}

/// An exporter's password entrypoint (`run`, given the password's file) stops before the
/// exporter, saying why in the container's log, without the file (`secret` not there yet) and
/// with an empty one (which it leaves at `secret`).
fn stops_without_password(exporter: &str, secret: &Path, run: impl Fn(&Path) -> std::process::Output) {
    let stops = |out: std::process::Output, what: &str| {
        assert!(!out.status.success() && out.stdout.is_empty(), "{exporter}: its entrypoint goes on {what}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(&format!("{exporter}: no password in ")),
            "{exporter}: its entrypoint stops {what} without a word: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    assert!(!secret.exists());
    stops(run(secret), "without the password's file");
    std::fs::write(secret, "").unwrap();
    stops(run(secret), "with an empty password's file");
}

/// pgbouncer-exporter's compose entrypoint, run as written with the image's Python (the
/// virtualenv `scripts/tools` installs on Python 3.6): it stops without the password's file or
/// with an empty one; it hands the exporter the password percent-encoded, which decodes to the
/// file's content however hostile (the image pastes it into a connection URL); and the real
/// exporter, given the compose command and the image's configuration, starts and answers
/// `pgbouncer_up 0` for a PgBouncer that is not there.
#[test]
fn pgbouncer_exporter_entrypoint_encodes_the_password_and_starts_the_exporter() {
    let m = crate::support::root().join("tests/fixtures/ok/pooler.yaml");
    let dir = build_into_tempdir(&m);
    let doc = compose_of(dir.path());
    let s = &doc["services"]["pool-exporter"];
    let entry = shell_entrypoint(s, "pool-exporter");
    let command = command_of(s);
    assert_eq!(command, ["--config", "/etc/pgbouncer-exporter/config.yml"], "the image's command, given again");
    let venv = require_tool("pgbouncer-exporter").canonicalize().unwrap().parent().unwrap().to_path_buf();
    let secret = dir.path().join("password-file");
    let entrypoint = |path: &str, file: &Path, args: &[String]| {
        let mut c = Command::new("/bin/sh");
        c.arg("-c").arg(&entry[2]).args(&entry[3..]).args(args).env_clear().env("PATH", path);
        for (k, v) in s["environment"].as_object().unwrap() {
            c.env(k, v.as_str().unwrap());
        }
        c.env("PGBOUNCER_PASS_FILE", file);
        c
    };
    // A stand-in exporter that prints what it is given.
    let stub = stub_program(dir.path(), "pgbouncer-exporter", "printf '%s' \"$PGBOUNCER_PASS\"");
    let path = format!("{}:{}:/usr/bin:/bin", stub.display(), venv.display());
    stops_without_password("pgbouncer-exporter", &secret, |file| entrypoint(&path, file, &[]).output().unwrap());
    let hostile = "p@ss:w/rd%25 $(id) \"q\" 'a' #?&=+~é";
    std::fs::write(&secret, format!("{hostile}\n\n")).unwrap();
    let out = entrypoint(&path, &secret, &[]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let encoded = String::from_utf8(out.stdout).unwrap();
    assert!(
        encoded.bytes().all(|b| b.is_ascii_alphanumeric() || b"%_.-~".contains(&b)),
        "only unreserved characters and escapes reach the URL: {encoded}"
    );
    let mut decoded = Vec::new();
    let bytes = encoded.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            decoded.push(u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap(), 16).unwrap());
            i += 3;
        } else {
            decoded.push(bytes[i]);
            i += 1;
        }
    }
    assert_eq!(
        String::from_utf8(decoded).unwrap(),
        hostile,
        "the password decodes to the file's content, trailing newlines dropped"
    );
    // The real exporter, on the image's configuration.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let config = crate::support::root().join("tests/rehearse/pgbouncer-exporter.yml");
    let args: Vec<String> = command
        .iter()
        .map(|a| if a == "/etc/pgbouncer-exporter/config.yml" { config.display().to_string() } else { a.clone() })
        .collect();
    let mut c = entrypoint(&format!("{}:/usr/bin:/bin", venv.display()), &secret, &args);
    // The image's ENV, then the compose file's (the exporter on loopback here; PgBouncer absent).
    c.env("PGBOUNCER_EXPORTER_HOST", "127.0.0.1")
        .env("PGBOUNCER_EXPORTER_PORT", port.to_string())
        .env("PGBOUNCER_HOST", "127.0.0.1")
        .env("PGBOUNCER_PORT", "1");
    let mut child = c.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::piped()).spawn().unwrap();
    let mut body = String::new();
    for _ in 0..100 {
        if let Some(answer) = http_get(port, "/metrics") {
            body = answer;
            break;
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        body.lines().any(|l| l == "pgbouncer_up 0.0"),
        "the exporter answers pgbouncer_up 0 for an absent PgBouncer:\n{body}\n{log}"
    );
    // Its URL parsed, the password in it included: it tried PgBouncer's address and was refused
    // (a malformed URL fails before any connection, with pgbouncer_up 0 too).
    assert!(
        log.contains("@127.0.0.1:1/pgbouncer") && log.contains("Connection refused"),
        "the exporter tried PgBouncer at the address given, as the user given:\n{log}"
    );
}

/// mongodb_exporter with a login: its image is the program alone, so the stack builds it with a
/// shell (`exporters/mongodb-exporter/Dockerfile`: the program where the entrypoint runs it, and the
/// upstream Dockerfile at the pinned release puts it where the copy takes it from). The compose
/// entrypoint, run as written with the built exporter, logs in to a stand-in MongoDB
/// (tests/rehearse/mongo_node.py: MongoDB's wire protocol, authorization on, SCRAM-SHA-256)
/// with a hostile password, and the exporter then reads the server; with a wrong password the
/// login is refused and `mongodb_up` is 0.
#[test]
fn mongodb_exporter_built_with_a_shell_logs_in_with_its_password() {
    let m = crate::support::root().join("tests/fixtures/ok/documents.yaml");
    let dir = build_into_tempdir(&m);
    let doc = compose_of(dir.path());
    let s = &doc["services"]["reports-exporter"];
    assert!(s.get("image").is_none(), "built, not pulled: {s}");
    assert_eq!(s["build"]["context"], "./exporters/mongodb-exporter");
    let dockerfile = std::fs::read_to_string(dir.path().join("exporters/mongodb-exporter/Dockerfile")).unwrap();
    let copy = dockerfile.lines().find_map(|l| l.strip_prefix("COPY --from=exporter /mongodb_exporter ")).unwrap();
    // The upstream image keeps the program at its root (its Dockerfile at the pinned release).
    let module = crate::support::go_module_dir("mongodb_exporter", "github.com/percona/mongodb_exporter");
    let upstream = std::fs::read_to_string(module.join("Dockerfile")).unwrap();
    assert!(upstream.lines().any(|l| l == "COPY ./mongodb_exporter /"), "upstream Dockerfile:\n{upstream}");
    let entry = shell_entrypoint(s, "reports-exporter");
    assert!(entry[2].contains(&format!("exec {copy} ")), "the entrypoint runs {copy}: {}", entry[2]);
    // The Dockerfile passes hadolint, down to its notes.
    let (clean, out) = crate::support::hadolint(&dir.path().join("exporters/mongodb-exporter/Dockerfile"));
    assert!(clean, "hadolint:\n{out}");
    // Images without the service's: the others keep the upstream image.
    assert_eq!(doc["services"]["content-exporter"]["image"], "percona/mongodb_exporter:0.51.0");
    let free = || std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    // The stand-in's control port is its port plus one.
    let mut port = free();
    while std::net::TcpListener::bind(("127.0.0.1", port + 1)).is_err() {
        port = free();
    }
    let hostile = "p@ss:w/rd%25 $(id) \"q\" 'a' #?&=+~é";
    let mut node = Command::new("python3")
        .arg(crate::support::root().join("tests/rehearse/mongo_node.py"))
        .args(["127.0.0.1", &port.to_string()])
        .arg(module.join("exporter/testdata"))
        .arg("reports")
        .env("MONGO_NODE_LOGIN", format!("monitor:{hostile}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let secret = dir.path().join("password-file");
    let scrape = |password: &str| -> String {
        std::fs::write(&secret, format!("{password}\n")).unwrap();
        let listen = free();
        let args: Vec<String> = s["command"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().replace("mongo.reports.internal:27018", &format!("127.0.0.1:{port}")))
            .chain([format!("--web.listen-address=127.0.0.1:{listen}")])
            .collect();
        let script = entry[2].replace(copy, &require_tool("mongodb_exporter").display().to_string());
        let mut c = Command::new("/bin/sh");
        c.arg("-c").arg(&script).args(&entry[3..]).args(&args).env_clear().env("PATH", "/usr/bin:/bin");
        for (k, v) in s["environment"].as_object().unwrap() {
            c.env(k, v.as_str().unwrap());
        }
        c.env("MONGODB_PASSWORD_FILE", &secret);
        let mut child = c.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::piped()).spawn().unwrap();
        let mut body = String::new();
        for _ in 0..100 {
            // The first scrape connects (and logs in); the second reads what it collects.
            if http_get(listen, "/metrics").is_some() {
                std::thread::sleep(std::time::Duration::from_millis(500));
                body = http_get(listen, "/metrics").unwrap_or_default();
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let _ = child.kill();
        let out = child.wait_with_output().unwrap();
        assert!(!body.is_empty(), "the exporter answers:\n{}", String::from_utf8_lossy(&out.stderr));
        body
    };
    let body = scrape(hostile);
    let logins = http_get(port + 1, "/_rehearsal/logins").unwrap_or_default();
    let wrong = scrape("not-the-password");
    let refused = http_get(port + 1, "/_rehearsal/logins").unwrap_or_default();
    let _ = node.kill();
    let out = node.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        body.lines().any(|l| l == r#"mongodb_up{cluster_role="mongod"} 1"#)
            && body.lines().any(|l| l.starts_with("mongodb_ss_uptime{")),
        "logged in, the exporter reads the server:\n{body}\n{log}"
    );
    assert!(logins.contains(r#""refused": 0"#) && !logins.contains(r#""accepted": 0"#), "{logins}");
    assert!(
        wrong.lines().any(|l| l.starts_with("mongodb_up{") && l.ends_with(" 0"))
            && !wrong.lines().any(|l| l.starts_with("mongodb_ss_")),
        "refused, mongodb_up is 0 and nothing is read:\n{wrong}"
    );
    assert!(!refused.contains(r#""refused": 0"#), "{refused}");
}

/// An elasticsearch service keeps its data where its image does: OpenSearch's images under
/// `/usr/share/opensearch`, by the image's own name, not by a registry or namespace that
/// happens to say `opensearch`.
#[test]
fn a_search_nodes_data_volume_is_where_its_image_keeps_it() {
    for (image, data) in [
        ("opensearchproject/opensearch:3.3.0", "/usr/share/opensearch/data"),
        ("docker.elastic.co/elasticsearch/elasticsearch:9.2.2", "/usr/share/elasticsearch/data"),
        ("registry.opensearch.example/mirror/elasticsearch:9.2.2", "/usr/share/elasticsearch/data"),
    ] {
        let out = build_yaml(&format!(
            "version: 1\nstack: s\nenvironment: test\nservices:\n  search: {{ kind: elasticsearch, port: 9200, image: \"{image}\" }}\n"
        ));
        let doc = compose_of(out.path());
        let volumes: Vec<&str> =
            doc["services"]["search"]["volumes"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        assert_eq!(volumes, [format!("search-data:{data}")], "{image}");
    }
}

/// celery-exporter with a broker login: its compose entrypoint, run as written with the image's
/// Python (the virtualenv `scripts/tools` installs on Python 3.12), stops without the password's
/// file or with an empty one, and otherwise hands the exporter (`python /app/cli.py`, a stand-in
/// here) the broker's URL in `CE_BROKER_URL`, never on its command line, which kombu (the
/// exporter's own, at the image's release) reads back to the service's user, the file's password
/// however hostile, the broker's host and port and the virtual host.
#[test]
fn celery_exporter_entrypoint_puts_the_password_into_the_broker_url() {
    let m = crate::support::root().join("tests/fixtures/ok/tasks.yaml");
    let dir = build_into_tempdir(&m);
    let doc = compose_of(dir.path());
    let s = &doc["services"]["mailer-exporter"];
    let entry = shell_entrypoint(s, "mailer-exporter");
    let command = command_of(s);
    assert_eq!(command, ["--queues=emails,celery", "--retry-interval=5"], "no URL on the command line");
    let venv = require_tool("celery-exporter").canonicalize().unwrap().parent().unwrap().to_path_buf();
    // The image's `python`, standing in for the exporter: it prints its arguments and the URL.
    let stub = stub_program(dir.path(), "python", "printf '%s\\n' \"$*\" \"$CE_BROKER_URL\"");
    let secret = dir.path().join("password-file");
    let run = |file: &Path| {
        let mut c = Command::new("/bin/sh");
        c.arg("-c").arg(&entry[2]).args(&entry[3..]).args(&command).env_clear();
        c.env("PATH", format!("{}:{}:/usr/bin:/bin", stub.display(), venv.display()));
        c.env("CE_BROKER_PASSWORD_FILE", file);
        c.output().unwrap()
    };
    stops_without_password("celery-exporter", &secret, run);
    let hostile = "p@ss:w/rd%25 $(id) \"q\" 'a' #?&=+~é";
    std::fs::write(&secret, format!("{hostile}\n\n")).unwrap();
    let out = run(&secret);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let (args, url) = stdout.trim_end().split_once('\n').unwrap();
    assert_eq!(
        args, "/app/cli.py --queues=emails,celery --retry-interval=5",
        "the image's program, the command's arguments"
    );
    assert!(!args.contains("amqp") && !url.contains(' '), "the URL in the variable only, one word: {url}");
    let read = Command::new(venv.join("python3"))
        .arg("-c")
        .arg("import json, sys; from kombu.utils.url import parse_url; print(json.dumps(parse_url(sys.argv[1])))")
        .arg(url)
        .output()
        .unwrap();
    assert!(read.status.success(), "{}", String::from_utf8_lossy(&read.stderr));
    let parts: Value = serde_json::from_slice(&read.stdout).unwrap();
    assert_eq!(
        parts,
        serde_json::json!({ "transport": "amqp", "hostname": "bus", "port": 5672, "userid": "mailer", "password": hostile, "virtual_host": "mail" }),
        "kombu reads the URL back to the login, the broker and the virtual host: {url}"
    );
    // Without a login, the URL is on the command line: the redis broker's, with its database.
    let w = &doc["services"]["worker-exporter"];
    assert!(w["entrypoint"].is_null(), "{w}");
    // Neither exporter's logger prints the variables of the frames of an error (the URL's).
    for e in [s, w] {
        assert_eq!(e["environment"]["LOGURU_DIAGNOSE"], "NO", "{e}");
        assert_eq!(e["environment"]["LOGURU_BACKTRACE"], "NO", "{e}");
    }
    assert_eq!(w["command"][0], "--broker-url=redis://queue:6379/1");
    // The real exporter takes the command line (its flag parser, click, refuses an unknown flag
    // at start) and, with its broker away, keeps running and answers on its landing page.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let args: Vec<String> = w["command"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().replace("redis://queue:6379", "redis://127.0.0.1:1"))
        .chain(["--host=127.0.0.1".to_string(), format!("--port={port}")])
        .collect();
    let mut child = Command::new(require_tool("celery-exporter"))
        .args(&args)
        .env_clear()
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut landing = None;
    for _ in 0..100 {
        landing = http_get(port, "/");
        if landing.is_some() || child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    std::thread::sleep(std::time::Duration::from_secs(1));
    let running = child.try_wait().unwrap().is_none();
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    assert!(
        running && landing.as_deref().is_some_and(|b| b.starts_with("HTTP/1.0 200") && b.contains("Celery Exporter")),
        "celery-exporter runs with its command line and answers on /: {landing:?}\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

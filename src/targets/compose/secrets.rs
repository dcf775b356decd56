//! How sightline's containers read their secrets, always as files (`paths::secret_file`): each
//! container's wiring (`SecretWiring`: the variables naming the files, the mounts, the compose
//! secrets it uses) and, for the whole file (`Secrets`), the top-level `secrets:` and the
//! one-shot seeding job that writes each `{ env }` secret into the volume of every container
//! that reads it.

use super::super::paths::*;
use super::{limits, required_env};
use crate::manifest::values::SecretRef;
use serde_json::{Map, Value, json};

/// The secrets of the whole compose file: the compose secrets of `{ file }` references under
/// `/run/secrets/` (name, path), and per container the `{ env }` references the seeding job
/// writes into that container's own volume (`seed_job`).
#[derive(Default)]
pub(super) struct Secrets {
    files: Vec<(String, String)>,
    seeded: Vec<(String, Vec<String>)>,
}

impl Secrets {
    /// Add the seeding job, when a container reads an `{ env }` secret, with each such
    /// container's volume and its wait for the job; return the file's top-level `secrets:`.
    pub(super) fn finish(
        self,
        image: &str,
        services: &mut Map<String, Value>,
        volumes: &mut Map<String, Value>,
    ) -> Option<Map<String, Value>> {
        let mut env_sourced = Vec::new();
        if !self.seeded.is_empty() {
            let (job, declared) = seed_job(image, &self);
            for (container, _) in &self.seeded {
                if let Some(Value::Object(c)) = services.get_mut(container) {
                    let on = c.entry("depends_on").or_insert_with(|| json!({}));
                    if let Value::Object(on) = on {
                        on.insert(SEED_JOB.into(), json!({ "condition": "service_completed_successfully" }));
                    }
                }
                volumes.insert(seeded_volume(container), json!({}));
            }
            services.insert(SEED_JOB.into(), Value::Object(job));
            env_sourced = declared;
        }
        let mut files = self.files;
        files.sort();
        files.dedup();
        if files.is_empty() && env_sourced.is_empty() {
            return None;
        }
        let mut m = Map::new();
        for (name, path) in files {
            m.insert(name, json!({ "file": path }));
        }
        for (name, var) in env_sourced {
            m.insert(name, json!({ "environment": var }));
        }
        Some(m)
    }
}

/// How a container reads its secrets: environment entries, mounts, compose secrets to declare,
/// and the `{ env }` references it reads as files from its seeded volume.
pub(super) struct SecretWiring {
    pub(super) env: Map<String, Value>,
    volumes: Vec<String>,
    secrets: Vec<(String, String)>,
    seeded: Vec<String>,
}

impl SecretWiring {
    pub(super) fn new() -> Self {
        SecretWiring { env: Map::new(), volumes: Vec::new(), secrets: Vec::new(), seeded: Vec::new() }
    }

    /// Make `r` available as a file at `paths::secret_file(r)`: a `{ file }` mounted, an
    /// `{ env }` written into the container's volume by the seeding job, never in its
    /// environment.
    pub(super) fn file(&mut self, r: &SecretRef) {
        match r {
            SecretRef::Env(name) if !self.seeded.contains(name) => self.seeded.push(name.clone()),
            SecretRef::Env(_) => {}
            SecretRef::File(p) => self.mount(p),
        }
    }

    /// Mount the file `p` once, however many settings read it.
    fn mount(&mut self, p: &str) {
        match p.strip_prefix("/run/secrets/").filter(|n| !n.contains('/')) {
            Some(name) if !self.secrets.iter().any(|(n, _)| n == name) => {
                self.secrets.push((name.to_string(), p.to_string()))
            }
            Some(_) => {}
            None if !self.volumes.iter().any(|v| v == &format!("{p}:{p}:ro")) => {
                self.volumes.push(format!("{p}:{p}:ro"))
            }
            None => {}
        }
    }

    /// A program that reads the secret from the file its variable `file_var` names.
    pub(super) fn file_var(&mut self, r: &SecretRef, file_var: &str) {
        self.file(r);
        self.env.insert(file_var.to_string(), json!(secret_file(r)));
    }

    /// An application's variable: `{ env }` stays a variable (`${NAME:?…}`), the way out for an
    /// application that reads no file; `{ file }` becomes `<var>_FILE` with its path.
    pub(super) fn app_var(&mut self, r: &SecretRef, var: &str) {
        match r {
            SecretRef::Env(name) => {
                self.env.insert(var.to_string(), json!(required_env(name)));
            }
            SecretRef::File(_) => self.file_var(r, &format!("{var}_FILE")),
        }
    }

    pub(super) fn apply(self, container: &str, s: &mut Map<String, Value>, all: &mut Secrets) {
        if !self.env.is_empty() {
            s.insert("environment".into(), Value::Object(self.env));
        }
        if !self.secrets.is_empty() {
            s.insert("secrets".into(), json!(self.secrets.iter().map(|(n, _)| n).collect::<Vec<_>>()));
            all.files.extend(self.secrets);
        }
        let mut volumes = self.volumes;
        if !self.seeded.is_empty() {
            volumes.push(format!("{}:{ENV_SECRETS_DIR}:ro", seeded_volume(container)));
            all.seeded.push((container.to_string(), self.seeded));
        }
        if !volumes.is_empty() {
            let v = s.entry("volumes").or_insert_with(|| json!([]));
            if let Value::Array(a) = v {
                a.extend(volumes.into_iter().map(Value::String));
            }
        }
    }
}

/// The volume the seeding job writes a container's `{ env }` secrets into, mounted read-only at
/// `paths::ENV_SECRETS_DIR` in that container alone.
fn seeded_volume(container: &str) -> String {
    format!("{container}{SEEDED_VOLUME_SUFFIX}")
}

/// The one-shot job that turns `{ env }` secrets into files, so that no secret is in any
/// sightline container's environment. Compose gives it each variable as a secret sourced from
/// the environment (compose v2's `secrets: {name: {environment: VAR}}`); it copies each into
/// the volume of every container that reads it, world-readable there (the volume is that
/// container's alone), and removes what the manifest no longer gives that container. Compose
/// copies an environment-sourced secret into the container's root filesystem, so it cannot be
/// read-only (compose refuses: `file` is the sole supported option there); the containers that
/// read the files keep theirs read-only. An empty variable fails the job before it writes
/// anything, and what depends on it does not start, as `${VAR:?}` did. It runs on the
/// Prometheus image, which is busybox (`sh`, `cp`, `chmod`, `mv`, `rm`: the Dockerfile at its
/// release tag), as root without any capability (the volumes are root's), with no network.
fn seed_job(image: &str, all: &Secrets) -> (Map<String, Value>, Vec<(String, String)>) {
    let mut names: Vec<&String> = all.seeded.iter().flat_map(|(_, n)| n).collect();
    names.sort();
    names.dedup();
    // Compose secret names are the file secrets' names too: `env-NAME`, or a free variant.
    let mut declared = Vec::new();
    let mut refs = Vec::new();
    for n in names {
        let mut name = format!("env-{n}");
        let mut i = 2;
        while all.files.iter().any(|(f, _)| *f == name) {
            name = format!("env-{n}-{i}");
            i += 1;
        }
        refs.push(json!({ "source": name, "target": n }));
        declared.push((name, n.clone()));
    }
    let every = declared.iter().map(|(_, n)| n.as_str()).collect::<Vec<_>>().join(" ");
    let mut script = String::from(SEED_SCRIPT);
    script.push_str(&format!("need {every}\n"));
    let mut volumes = Vec::new();
    for (container, names) in &all.seeded {
        script.push_str(&format!("seed /out/{container} {}\n", names.join(" ")));
        volumes.push(format!("{}:/out/{container}", seeded_volume(container)));
    }
    let mut j = Map::new();
    j.insert("image".into(), json!(image));
    j.insert("user".into(), json!("0:0"));
    j.insert("entrypoint".into(), json!(["/bin/sh", "-c", script.replace('$', "$$")]));
    j.insert("restart".into(), json!("no"));
    j.insert("network_mode".into(), json!("none"));
    j.insert("cap_drop".into(), json!(["ALL"]));
    j.insert("security_opt".into(), json!(["no-new-privileges:true"]));
    // The image declares `VOLUME /prometheus`: a tmpfs there, not an anonymous volume left
    // behind by each job container.
    j.insert("tmpfs".into(), json!(["/prometheus"]));
    limits(&mut j, SEED_JOB_MEMORY, SEED_JOB_CPUS, SEED_JOB_PIDS);
    j.insert("secrets".into(), json!(refs));
    j.insert("volumes".into(), json!(volumes));
    (j, declared)
}

/// The seeding job's script, before its `need` and `seed` lines. `need NAME...`: every
/// variable is set and not empty, before anything is written (compose copies nothing for an
/// empty one: the file is absent). `seed DIR NAME...`: the directory holds exactly these files,
/// each the value of the secret compose put at `/run/secrets/NAME`, replaced by rename so that a
/// reader sees the old value or the new; each step on a line of its own, so that `set -e`
/// stops at the first that fails. `forget`, on every exit, failed or not: the copies compose put
/// in the job's own layer go, so that an exited job holds no secret, and a later start with an
/// empty variable (compose then copies nothing) finds none to reuse.
const SEED_SCRIPT: &str = r#"set -eu
umask 022
trap forget EXIT
need() {
  for n in "$@"; do
    [ -s "/run/secrets/$n" ] || { echo "sightline-secrets: $n is empty or unset: set it in .env" >&2; exit 1; }
  done
}
seed() {
  dir=$1; shift
  for f in "$dir"/* "$dir"/.[!.]*; do
    [ -e "$f" ] || continue
    keep=; for n in "$@"; do [ "${f##*/}" = "$n" ] && keep=1; done
    [ -n "$keep" ] || rm -f "$f"
  done
  for n in "$@"; do
    cp "/run/secrets/$n" "$dir/.$n.new"
    chmod 0444 "$dir/.$n.new"
    mv -f "$dir/.$n.new" "$dir/$n"
  done
}
forget() {
  for f in /run/secrets/*; do
    [ ! -e "$f" ] || rm -f "$f"
  done
}
"#;

/// The seeding job's limits: a shell copying a few small files.
const SEED_JOB_MEMORY: u64 = 16 << 20;
const SEED_JOB_CPUS: &str = "0.1";
const SEED_JOB_PIDS: u32 = 16;

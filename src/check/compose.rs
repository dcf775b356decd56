//! The compose settings of the application's own containers (`services.<name>.compose`): only
//! on a service with an image; secrets only as references; volumes inside the project and not
//! sightline's own; dependencies on services the file runs, without a cycle; hardening settings
//! compose takes and that do something; and the backups' `destination`, the one volume path of
//! sightline's own containers the manifest chooses. (Ports that clash are `budget`'s, with
//! every other published port.)

use super::Ctx;
use crate::code::Code;
use crate::diagnostic::{Diagnostic, Sink};
use crate::manifest::model::{Capability, EnvValue, Kind, Service, ServiceCompose};
use crate::manifest::values::SecretRef;
use std::collections::BTreeSet;

use crate::targets::paths::{ENV_SECRETS_DIR, OUTPUT_ENTRIES, OWN_VOLUMES, SEEDED_VOLUME_SUFFIX};

/// A variable whose value is a credential by its name: its last word says so (`DB_PASSWORD`,
/// `SECRET_KEY`, `GITHUB_TOKEN`, `STRIPE_API_KEY`), not a word in the middle
/// (`PASSWORD_MIN_LENGTH`).
pub fn secret_variable(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    // Words of a shell name (`DB_PASSWORD`) or of a setting read from the environment
    // (`xpack.security.http.ssl.keystore.secure_password`).
    let words: Vec<&str> = upper.split(['_', '.']).filter(|w| !w.is_empty()).collect();
    matches!(
        words.as_slice(),
        [.., "PASSWORD" | "PASSWD" | "PASS" | "PWD" | "SECRET" | "TOKEN" | "CREDENTIALS" | "CREDENTIAL" | "APIKEY"]
            | [.., "SECRET" | "API" | "PRIVATE" | "ACCESS" | "SIGNING" | "ENCRYPTION" | "MASTER", "KEY"]
    )
}

pub fn check(ctx: &Ctx, sink: &mut Sink) {
    let m = ctx.manifest;
    for (name, s) in &m.services {
        let Some(run) = &s.compose else { continue };
        let at = |rest: &[&str]| -> Vec<String> {
            ["services", name.as_str(), "compose"].iter().chain(rest).map(|t| t.to_string()).collect()
        };
        if s.image.is_none() {
            sink.push(
                Diagnostic::error(Code::NotRunHere, format!("`{name}` has compose settings but no `image:`"))
                    .at(ctx.key(at(&[])))
                    .label("the compose file does not run this service")
                    .help("give the service its `image:`, or remove `compose:`"),
            );
        }
        for (var, value) in &run.environment {
            let here = at(&["environment", var]);
            if let (EnvValue::Secret(SecretRef::File(_)), true) = (value, var.contains('.')) {
                sink.push(
                    Diagnostic::error(Code::InvalidValue, format!("`{var}` cannot take a `{{ file }}` secret"))
                        .at(ctx.key(here.clone()))
                        .label("a name with dots")
                        .help("a `{ file }` secret sets `<NAME>_FILE`, which the images read as a shell variable, and a shell variable has no dots: give it as `{ env: NAME }`, or under a name without dots the image reads"),
                );
            }
            if let EnvValue::Secret(SecretRef::File(p)) = value {
                // Mounted into the container: only a compose secret, never a host path (the
                // Docker socket, `/etc`).
                if p.strip_prefix("/run/secrets/").is_none_or(|n| n.is_empty() || n.contains('/')) {
                    sink.push(
                        Diagnostic::error(
                            Code::VolumeOutsideProject,
                            format!("`{var}` reads its secret from `{p}`, a host path"),
                        )
                        .at(ctx.value(here.clone()))
                        .label("mounted into the container")
                        .help("keep the secret under `/run/secrets/<name>` (a compose secret), or use `{ env: NAME }`"),
                    );
                }
                if run.environment.contains_key(&format!("{var}_FILE")) {
                    sink.push(
                        Diagnostic::error(Code::DuplicateName, format!("`{var}_FILE` is set twice"))
                            .at(ctx.key(at(&["environment", &format!("{var}_FILE")])))
                            .label(format!("also set from the file secret of `{var}`"))
                            .help(format!("a `{{ file }}` secret of `{var}` sets `{var}_FILE`: leave one of them out")),
                    );
                }
            }
            if let Some(d) = refused_variable(s, var, value) {
                sink.push(d.at(ctx.key(here.clone())));
            }
            let kind = crate::kinds::def(s.kind);
            if (kind.own_env)(s).contains(&var.as_str()) {
                let (label, help) = kind.own_env_why;
                sink.push(
                    Diagnostic::error(
                        Code::DuplicateName,
                        format!("`{var}` is set by sightline on the container of `{name}`"),
                    )
                    .at(ctx.key(here.clone()))
                    .label(label)
                    .help(help),
                );
            }
            if !matches!(value, EnvValue::Secret(_)) && secret_variable(var) {
                // The value is never shown: it may be the secret itself.
                sink.push(
                    Diagnostic::error(Code::SecretLiteral, format!("`{var}` takes a secret reference, not a literal value"))
                        .at(ctx.value(here))
                        .label("literal secret (value not shown)")
                        .help("write `{ env: VARIABLE }` or `{ file: /run/secrets/NAME }`, and remove the secret from the file's history"),
                );
            }
        }
        for (i, v) in run.volumes.iter().enumerate() {
            let i = i.to_string();
            let here = ctx.value(at(&["volumes", &i]));
            let outside = volume_problem(m, v);
            if let Some(message) = outside {
                sink.push(
                    Diagnostic::error(Code::VolumeOutsideProject, message)
                        .at(here)
                        .label("not the application's to mount")
                        .help("mount a named volume of the application's (`media:/app/media`) or a directory of its own beside the generated files (`./static:/app/static:ro`)"),
                );
            }
        }
        containers_settings(ctx, sink, &at, run);
        // The official postgres image's server is started with the options pg_stat_statements
        // needs (`targets/postgres.rs`); a command of the user's would drop them.
        let official_pg = s.image.as_ref().is_some_and(|i| i.is_official("postgres"));
        if run.command.is_some() && s.kind == Kind::Postgres && official_pg && s.query_stats.unwrap_or(true) {
            sink.push(
                Diagnostic::error(
                    Code::NotForKind,
                    format!("`{name}`'s server is started by sightline, with the options query statistics need"),
                )
                .at(ctx.key(at(&["command"])))
                .label("would drop `-c shared_preload_libraries=pg_stat_statements`")
                .help("leave `command` out, or set `query_stats: false` to start the server your way"),
            );
        }
        for (i, p) in run.ports.iter().enumerate() {
            if p.parts().is_none() {
                sink.push(
                    Diagnostic::error(Code::RangeValue, format!("`{}` has a port outside 1 to 65535", p.0))
                        .at(ctx.value(at(&["ports", &i.to_string()])))
                        .label("port out of range")
                        .help("ports are between 1 and 65535"),
                );
            }
        }
        for (i, d) in run.depends_on.iter().enumerate() {
            let here = ctx.value(at(&["depends_on", &i.to_string()]));
            match m.services.get(d.as_str()) {
                None => sink.push(
                    Diagnostic::error(Code::UnknownService, format!("no service is named `{d}`"))
                        .at(here)
                        .label("unknown service"),
                ),
                Some(o) if o.image.is_none() => sink.push(
                    Diagnostic::error(
                        Code::NotRunHere,
                        format!("`{d}` has no `image:`: the compose file does not run it"),
                    )
                    .at(here)
                    .label("not in the compose file")
                    .help("depend only on services with an `image:`"),
                ),
                Some(_) => {}
            }
        }
    }
    cycles(ctx, sink);
    backup_destination(ctx, sink);
}

/// Whether `path` is `dir` or lies under it.
/// SL219: the variable the container gets (a `{ file }` secret's is `<VAR>_FILE`) is one the
/// service's official image refuses to start with.
fn refused_variable(s: &Service, var: &str, value: &EnvValue) -> Option<Diagnostic> {
    let refused = crate::kinds::def(s.kind).refused_env.as_ref()?;
    let image = s.image.as_ref().filter(|i| refused.applies_to(i))?;
    let from_file = matches!(value, EnvValue::Secret(SecretRef::File(_)));
    let set = if from_file { format!("{var}_FILE") } else { var.to_string() };
    // The entrypoint refuses a variable set and not empty.
    if !refused.vars.contains(&set.as_str()) || value.text().is_some_and(|t| t.is_empty()) {
        return None;
    }
    let (msg, help) = if from_file {
        (
            format!("`{var}` from a file sets `{set}`, which `{}` refuses to start with", image.as_str()),
            format!("set `{var}` with `{{ env: NAME }}`, or put it in the configuration file you mount"),
        )
    } else if let Some(plain) = set.strip_suffix("_FILE") {
        (
            format!("`{}` refuses to start with `{set}` set", image.as_str()),
            format!("set `{plain}` with `{{ env: NAME }}` instead, or put it in the configuration file you mount"),
        )
    } else {
        (
            format!("`{}` refuses to start with `{set}` set", image.as_str()),
            "remove it, and put the setting in the configuration file you mount".to_string(),
        )
    };
    Some(Diagnostic::error(Code::RefusedVariable, msg).label("refused by the image's entrypoint").help(help))
}

fn within(path: &str, dir: &str) -> bool {
    path == dir || path.starts_with(&format!("{dir}/"))
}

/// Directories of the backup runner's image or mounts: a volume at one hides it (or compose
/// refuses a second mount there), and a volume above one is filled with the image's copy of it.
/// `true`: no volume goes under it either, for the mounts in it: the scripts' read-only one,
/// the metrics' volume, the postgres image's `VOLUME` (up to 17 its `data`, from 18 the
/// directory itself), the secrets and the pgpass tmpfs under `/run`, and Docker's own under
/// `/proc`, `/sys` and `/dev`.
const RUNNER_PATHS: [(&str, bool); 15] = [
    (crate::targets::paths::SCRIPTS_MOUNT, true),
    (crate::targets::paths::TEXTFILE_DIR, true),
    ("/var/lib/postgresql", true),
    ("/run", true),
    ("/proc", true),
    ("/sys", true),
    ("/dev", true),
    ("/tmp", false),
    ("/etc", false),
    ("/usr", false),
    ("/bin", false),
    ("/sbin", false),
    ("/lib", false),
    ("/lib64", false),
    ("/boot", false),
];

/// `backups.destination`: a directory of its own in the runner: not `/`, not at or above a
/// directory the runner's image needs or it mounts, not under one that holds mounts, without
/// `.` or `..`. Compared as Docker resolves it: `//tmp/` is `/tmp`, and `/var/run` is a link to
/// `/run` in the Debian image.
fn backup_destination(ctx: &Ctx, sink: &mut Sink) {
    let Some(given) = ctx.manifest.backups.as_ref().and_then(|b| b.destination.as_deref()) else { return };
    let mut parts: Vec<&str> = given.split('/').filter(|p| !p.is_empty()).collect();
    if parts.starts_with(&["var", "run"]) {
        parts.splice(0..2, ["run"]);
    }
    let dest = format!("/{}", parts.join("/"));
    let why = if parts.is_empty() {
        Some("it is the runner's whole root".to_string())
    } else if parts.iter().any(|c| *c == "." || *c == "..") {
        Some("it has a `.` or `..` in it".to_string())
    } else if let Some((p, _)) = RUNNER_PATHS.iter().find(|(p, _)| within(p, &dest)) {
        Some(format!("it is at or above `{p}`, which the runner needs or mounts"))
    } else {
        RUNNER_PATHS
            .iter()
            .find(|(p, closed)| *closed && within(&dest, p))
            .map(|(p, _)| format!("it is under `{p}`, which holds the runner's or Docker's own mounts"))
    };
    if let Some(why) = why {
        sink.push(
            Diagnostic::error(Code::ContainerSetting, format!("`{given}` cannot hold the backups' volume: {why}"))
                .at(ctx.value(["backups", "destination"]))
                .label("the dumps' volume goes here")
                .help("give the dumps a directory of their own, e.g. `/backups` (the default)"),
        );
    }
}

/// Docker's default capabilities (moby's `oci/caps/defaults.go`): what a container has when
/// nothing is dropped.
const DEFAULT_CAPABILITIES: [Capability; 14] = [
    Capability::Chown,
    Capability::DacOverride,
    Capability::Fsetid,
    Capability::Fowner,
    Capability::Mknod,
    Capability::NetRaw,
    Capability::Setgid,
    Capability::Setuid,
    Capability::Setfcap,
    Capability::Setpcap,
    Capability::NetBindService,
    Capability::SysChroot,
    Capability::Kill,
    Capability::AuditWrite,
];

/// The hardening settings of an application's container (SL409): a tmpfs where something else
/// is mounted, capabilities a non-root user cannot use, capabilities beyond Docker's default
/// set; and a memory limit Docker refuses (SL406).
fn containers_settings(ctx: &Ctx, sink: &mut Sink, at: &dyn Fn(&[&str]) -> Vec<String>, run: &ServiceCompose) {
    let mounted: Vec<&str> = run.volumes.iter().map(|v| v.parts().1.trim_end_matches('/')).collect();
    for (i, t) in run.tmpfs.iter().enumerate() {
        let path = t.0.as_str();
        let under = |dir: &str| within(path, dir);
        let clash = if mounted.contains(&path) {
            Some("a volume of `volumes` is mounted there")
        } else if under("/run/secrets") || under(ENV_SECRETS_DIR) {
            Some("secrets are mounted there")
        } else {
            None
        };
        if let Some(why) = clash {
            sink.push(
                Diagnostic::error(Code::ContainerSetting, format!("`{path}` is mounted twice: {why}"))
                    .at(ctx.value(at(&["tmpfs", &i.to_string()])))
                    .label("compose refuses a second mount here")
                    .help("give the tmpfs another path, or drop it"),
            );
        }
    }
    if let Some(caps) = &run.capabilities {
        let root = run.user.as_deref().is_none_or(crate::manifest::model::is_root_user);
        if !caps.is_empty() && !root {
            sink.push(
                Diagnostic::warning(Code::ContainerSetting, "a container that does not run as root gets no capability")
                    .at(ctx.value(at(&["capabilities"])))
                    .label("given to a non-root `user`")
                    .help("with `no-new-privileges`, a non-root process has no capabilities: leave `capabilities: []`, or run the container as root"),
            );
        }
        for (i, c) in caps.iter().enumerate() {
            if !DEFAULT_CAPABILITIES.contains(c) {
                sink.push(
                    Diagnostic::warning(
                        Code::ContainerSetting,
                        format!("`{}` is beyond Docker's default capabilities", c.as_str()),
                    )
                    .at(ctx.value(at(&["capabilities", &i.to_string()])))
                    .label("gives the container part of the host")
                    .help("keep it only if the application needs it: a compromised container can use it too"),
                );
            }
        }
    }
    // Docker refuses a memory limit under 6 MiB; 0 would mean none.
    if let Some(m) = &run.memory
        && m.bytes() < 6 << 20
    {
        sink.push(
            Diagnostic::error(Code::RangeValue, format!("`memory: {m}` is less than the 6MiB Docker allows"))
                .at(ctx.value(at(&["memory"])))
                .label("too small")
                .help("give the container at least 6MiB, or leave `memory` out"),
        );
    }
}

/// Why a volume of an application's container reaches what is not its own, if it does.
fn volume_problem(m: &crate::manifest::Manifest, v: &crate::manifest::model::VolumeMount) -> Option<String> {
    let (source, ..) = v.parts();
    // Compose fills in `${…}` before it mounts: no check of the path would hold.
    if v.0.contains('$') {
        return Some(format!("`{source}` has a compose variable, which could lead anywhere"));
    }
    if v.is_named() {
        let valid = source.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
            && source.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
        // Also any `<container>-secrets`: the seeding job writes `{ env }` secrets there.
        let own = OWN_VOLUMES.contains(&source)
            || source.strip_suffix("-data").is_some_and(|base| m.services.contains_key(base))
            || source.ends_with(SEEDED_VOLUME_SUFFIX);
        return match (valid, own) {
            (false, _) => {
                Some(format!("`{source}` is not a volume name Docker takes (letters, digits, `_`, `.`, `-`)"))
            }
            (true, true) => Some(format!("`{source}` is a volume sightline keeps its own data in")),
            _ => None,
        };
    }
    // `./` is the output directory, where the compose file is.
    let Some(relative) = source.strip_prefix("./") else {
        return Some(format!("`{source}` is a host path, not a path beside the generated files"));
    };
    let parts: Vec<&str> = relative.split('/').filter(|p| !p.is_empty() && *p != ".").collect();
    match parts.first() {
        _ if parts.contains(&"..") => Some(format!("`{source}` climbs out of the output directory")),
        None => Some(format!("`{source}` is the whole output directory, sightline's generated files")),
        Some(first) if first.starts_with('.') || OUTPUT_ENTRIES.contains(first) => {
            Some(format!("`{source}` is part of what sightline generates (or its secrets and state)"))
        }
        _ => None,
    }
}

/// A service that waits for itself, directly or through others, is reported once, at the
/// dependency that closes the cycle.
fn cycles(ctx: &Ctx, sink: &mut Sink) {
    let m = ctx.manifest;
    // Each dependency with its position in the list, known services only.
    let deps = |n: &str| -> Vec<(usize, String)> {
        m.services
            .get(n)
            .and_then(|s| s.compose.as_ref())
            .map(|c| {
                c.depends_on
                    .iter()
                    .enumerate()
                    .map(|(i, d)| (i, d.to_string()))
                    .filter(|(_, d)| m.services.contains_key(d.as_str()))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut reported: BTreeSet<String> = BTreeSet::new();
    for start in m.services.keys() {
        // Depth-first from `start`, looking for a way back to it.
        let mut stack: Vec<(String, Vec<String>)> = vec![(start.to_string(), vec![start.to_string()])];
        let mut seen: BTreeSet<String> = BTreeSet::new();
        while let Some((n, path)) = stack.pop() {
            for (i, d) in deps(&n) {
                if d == start.as_str() {
                    let mut members: Vec<String> = path.clone();
                    members.sort();
                    if reported.insert(members.join(",")) {
                        let chain = [path.clone(), vec![d.clone()]].concat().join(" → ");
                        sink.push(
                            Diagnostic::error(Code::DependencyCycle, format!("services wait for each other: {chain}"))
                                .at(ctx.value(["services", n.as_str(), "compose", "depends_on", &i.to_string()]))
                                .label("closes the cycle")
                                .help("remove one of these dependencies"),
                        );
                    }
                } else if seen.insert(d.clone()) {
                    stack.push((d.clone(), [path.clone(), vec![d]].concat()));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::secret_variable;

    #[test]
    fn secret_variables_are_told_by_their_last_word() {
        for yes in [
            "DB_PASSWORD",
            "SECRET_KEY",
            "GITHUB_TOKEN",
            "STRIPE_API_KEY",
            "MYSQL_ROOT_PASSWORD",
            "APIKEY",
            "aws_secret_access_key",
            "xpack.security.http.ssl.keystore.secure_password",
        ] {
            assert!(secret_variable(yes), "{yes}");
        }
        for no in ["PASSWORD_MIN_LENGTH", "LOG_LEVEL", "TOKEN_TTL", "KEYBOARD", "CACHE_KEY_PREFIX", "PUBLIC_KEY"] {
            assert!(!secret_variable(no), "{no}");
        }
    }
}

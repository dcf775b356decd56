//! The compose settings of the application's own containers (`services.<name>.compose`): only
//! on a service with an image; secrets only as references; volumes inside the project and not
//! sightline's own; dependencies on services the file runs, without a cycle. (Ports that clash
//! are `budget`'s, with every other published port.)

use super::Ctx;
use crate::code::Code;
use crate::diagnostic::{Diagnostic, Sink};
use crate::manifest::model::{EnvValue, Kind, Service};
use std::collections::BTreeSet;

/// The named volumes sightline's own services keep their data in (`targets/compose.rs`), and
/// each database's `<service>-data`.
pub const OWN_VOLUMES: [&str; 7] = [
    "prometheus-data",
    "alertmanager-data",
    "loki-data",
    "grafana-data",
    "pushgateway-data",
    "backups",
    "backup-textfile",
];

/// The variables sightline sets itself on a service of a kind.
fn own_variables(s: &Service) -> &'static [&'static str] {
    match s.kind {
        Kind::Postgres if s.password.is_some() => {
            &["POSTGRES_DB", "POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_PASSWORD_FILE"]
        }
        _ => &[],
    }
}

/// A variable whose value is a credential by its name: its last word says so (`DB_PASSWORD`,
/// `SECRET_KEY`, `GITHUB_TOKEN`, `STRIPE_API_KEY`), not a word in the middle
/// (`PASSWORD_MIN_LENGTH`).
pub fn secret_variable(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    let words: Vec<&str> = upper.split('_').filter(|w| !w.is_empty()).collect();
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
            if own_variables(s).contains(&var.as_str()) {
                sink.push(
                    Diagnostic::error(
                        Code::DuplicateName,
                        format!("`{var}` is set by sightline for a {} service", s.kind.as_str()),
                    )
                    .at(ctx.key(here.clone()))
                    .label("set from the service's own fields")
                    .help("leave it out: sightline sets it from `database`, `user` and `password`"),
                );
            }
            if matches!(value, EnvValue::Text(_)) && secret_variable(var) {
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
            let (source, ..) = v.parts();
            let i = i.to_string();
            let here = ctx.value(at(&["volumes", &i]));
            let outside = if v.is_named() {
                let own = OWN_VOLUMES.contains(&source)
                    || source.strip_suffix("-data").is_some_and(|base| m.services.contains_key(base));
                own.then(|| format!("`{source}` is a volume sightline keeps its own data in"))
            } else if !source.starts_with("./") || source.split('/').any(|p| p == "..") {
                Some(format!("`{source}` is not a path inside the project"))
            } else {
                None
            };
            if let Some(message) = outside {
                sink.push(
                    Diagnostic::error(Code::VolumeOutsideProject, message)
                        .at(here)
                        .label("not the application's to mount")
                        .help("mount a named volume of the application's (`media:/app/media`) or a path under the project (`./static:/app/static:ro`)"),
                );
            }
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
}

/// A service that waits for itself, directly or through others, is reported once, at the
/// dependency that closes the cycle.
fn cycles(ctx: &Ctx, sink: &mut Sink) {
    let m = ctx.manifest;
    let deps = |n: &str| -> Vec<String> {
        m.services
            .get(n)
            .and_then(|s| s.compose.as_ref())
            .map(|c| {
                c.depends_on.iter().map(|d| d.to_string()).filter(|d| m.services.contains_key(d.as_str())).collect()
            })
            .unwrap_or_default()
    };
    let mut reported: BTreeSet<String> = BTreeSet::new();
    for start in m.services.keys() {
        // Depth-first from `start`, looking for a way back to it.
        let mut stack: Vec<(String, Vec<String>)> = vec![(start.to_string(), vec![start.to_string()])];
        let mut seen: BTreeSet<String> = BTreeSet::new();
        while let Some((n, path)) = stack.pop() {
            for (i, d) in deps(&n).into_iter().enumerate() {
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
        ] {
            assert!(secret_variable(yes), "{yes}");
        }
        for no in ["PASSWORD_MIN_LENGTH", "LOG_LEVEL", "TOKEN_TTL", "KEYBOARD", "CACHE_KEY_PREFIX", "PUBLIC_KEY"] {
            assert!(!secret_variable(no), "{no}");
        }
    }
}

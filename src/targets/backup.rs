//! `backup/`: the scripts (`backup-postgres.sh`, `verify-backup.sh`, `restore-postgres.sh`,
//! static, from `templates/backup/`), the runner's `Dockerfile` and `entrypoint.sh`, and the
//! `crontab` with one line per job (and the restore test), which passes each job's settings as
//! arguments and libpq variables.
//!
//! Every value that reaches a shell is restricted by the manifest's name rules and quoted
//! anyway (`shell_quote`), and `%` (a newline to cron) never appears unescaped.

use super::Artifact;
use super::paths::{BACKUP_DIR, TEXTFILE_DIR};
use crate::ir::{BackupJob, Stack};
use crate::manifest::model::{Compress, Kind};
use crate::manifest::values::ImageRef;

pub const SCRIPTS_MOUNT: &str = "/opt/sightline";
pub const PGPASS: &str = "/run/sightline/pgpass";

const BACKUP_SH: &str = include_str!("../../templates/backup/backup-postgres.sh");
const VERIFY_SH: &str = include_str!("../../templates/backup/verify-backup.sh");
const RESTORE_SH: &str = include_str!("../../templates/backup/restore-postgres.sh");
const DOCKERFILE: &str = include_str!("../../templates/backup/Dockerfile");

/// A word for sh: single-quoted, `'` escaped.
pub fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// A word for sh in a crontab line: as `sh_quote`, and `%` escaped (cron turns a bare `%` into
/// a newline).
pub fn shell_quote(s: &str) -> String {
    sh_quote(s).replace('%', "\\%")
}

/// The connection settings of a job's database, as libpq variables.
fn libpq(stack: &Stack, job: &BackupJob) -> String {
    let s = stack.services.iter().find(|s| s.name == job.service).expect("checked: the job's service exists");
    let pg = s.postgres.as_ref().expect("checked: a postgres service has connection settings");
    format!(
        "PGHOST={} PGPORT={} PGDATABASE={} PGUSER={} PGPASSFILE={PGPASS}",
        shell_quote(&s.host),
        s.port,
        shell_quote(&pg.database),
        shell_quote(&pg.user)
    )
}

fn crontab(stack: &Stack, b: &crate::ir::Backups) -> String {
    let mut out = String::from("# m h dom mon dow command (UTC); output goes to the container's log\n");
    let log = ">> /proc/1/fd/1 2>&1";
    for j in &b.jobs {
        let mut args = vec![
            format!("--job {}", shell_quote(j.name.as_str())),
            format!("--service {}", shell_quote(j.service.as_str())),
            format!("--keep {}", j.keep),
            format!(
                "--compress {}",
                match j.compress {
                    Compress::Gzip => "gzip",
                    Compress::Zstd => "zstd",
                    Compress::None => "none",
                }
            ),
            format!("--dest {}", shell_quote(&b.destination)),
            format!("--textfile-dir {TEXTFILE_DIR}"),
        ];
        if let Some(r) = &j.age_recipient {
            args.push(format!("--age-recipient {}", shell_quote(r)));
        }
        if !b.verify {
            args.push("--no-verify".into());
        }
        out.push_str(&format!(
            "{} {} {SCRIPTS_MOUNT}/backup-postgres.sh {} {log}\n",
            j.schedule.normalized(),
            libpq(stack, j),
            args.join(" ")
        ));
    }
    if let Some(rt) = &b.restore_test {
        // The newest dump of each database's first job.
        let mut seen = Vec::new();
        for j in b.jobs.iter().filter(|j| j.age_recipient.is_none()) {
            if seen.contains(&j.service) {
                continue;
            }
            seen.push(j.service.clone());
            out.push_str(&format!(
                "{} {} {SCRIPTS_MOUNT}/restore-postgres.sh --test --job {} --service {} --dest {} --textfile-dir {TEXTFILE_DIR} {log}\n",
                rt.normalized(),
                libpq(stack, j),
                shell_quote(j.name.as_str()),
                shell_quote(j.service.as_str()),
                shell_quote(&b.destination)
            ));
        }
    }
    out
}

/// The image the runner is built on: the official Debian-based `postgres` image of the newest
/// database's release, whose client dumps every database of the stack (pg_dump reads servers of
/// its own major version and older) and whose `apt-get` installs cron. An Alpine or third-party
/// database image gives its version, never its base: the Dockerfile needs Debian's packages.
pub fn runner_base(stack: &Stack, default: &ImageRef) -> String {
    let newest = stack
        .services
        .iter()
        .filter(|s| s.kind == Kind::Postgres)
        .filter_map(|s| s.image.as_ref())
        .max_by_key(|i| i.major_version().unwrap_or(0));
    let Some(i) = newest else { return default.as_str().to_string() };
    let official = matches!(i.repository(), "postgres" | "library/postgres" | "docker.io/library/postgres");
    match (official, i.tag(), i.major_version()) {
        // `16.4-alpine3.20` → `16.4`; `16.4-bookworm` stays.
        (true, Some(tag), _) if !tag.starts_with("alpine") => {
            format!("postgres:{}", tag.split("-alpine").next().unwrap_or(tag))
        }
        (_, _, Some(major)) => format!("postgres:{major}"),
        _ => default.as_str().to_string(),
    }
}

/// The runner's entrypoint: a pgpass file from the databases' secrets, the crontab, cron.
fn entrypoint(stack: &Stack, b: &crate::ir::Backups) -> String {
    let mut out = String::from(
        "#!/usr/bin/env bash\n# Start the backup runner: write the pgpass file from the databases' secrets, install the\n# crontab, run cron in the foreground.\nset -euo pipefail\numask 077\nmkdir -p \"$(dirname \"$PGPASS_FILE\")\"\n: >\"$PGPASS_FILE\"\n\n# pgpass fields escape ':' and '\\'.\nentry() { printf '%s:%s:*:%s:%s\\n' \"$1\" \"$2\" \"$3\" \"$(printf '%s' \"$4\" | sed 's/[\\\\:]/\\\\&/g')\" >>\"$PGPASS_FILE\"; }\n\n",
    );
    out = out.replace("$PGPASS_FILE", PGPASS).replace("\"$(dirname \"/run/sightline/pgpass\")\"", "/run/sightline");
    let mut seen = Vec::new();
    for j in &b.jobs {
        if seen.contains(&j.service) {
            continue;
        }
        seen.push(j.service.clone());
        let Some(s) = stack.services.iter().find(|s| s.name == j.service) else { continue };
        let Some(pg) = &s.postgres else { continue };
        // The password's file: a `{ file }` as mounted, an `{ env }` as seeded.
        let secret = format!("\"$(cat {})\"", shell_quote(&super::paths::secret_file(&pg.password)));
        out.push_str(&format!("entry {} {} {} {secret}\n", shell_quote(&s.host), s.port, shell_quote(&pg.user)));
    }
    out.push_str(&format!("\ncrontab {SCRIPTS_MOUNT}/crontab\nexec cron -f\n"));
    out
}

pub fn lower(stack: &Stack) -> Vec<Artifact> {
    let Some(b) = &stack.backups else { return Vec::new() };
    vec![
        Artifact::new(format!("{BACKUP_DIR}/backup-postgres.sh"), BACKUP_SH),
        Artifact::new(format!("{BACKUP_DIR}/verify-backup.sh"), VERIFY_SH),
        Artifact::new(format!("{BACKUP_DIR}/restore-postgres.sh"), RESTORE_SH),
        Artifact::new(format!("{BACKUP_DIR}/entrypoint.sh"), entrypoint(stack, b)),
        Artifact::new(format!("{BACKUP_DIR}/crontab"), crontab(stack, b)),
        Artifact::new(format!("{BACKUP_DIR}/Dockerfile"), DOCKERFILE),
    ]
}

#[cfg(test)]
mod tests {
    use super::shell_quote;

    #[test]
    fn quoting_survives_hostile_words() {
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote("$(rm -rf /)"), "'$(rm -rf /)'");
        assert_eq!(shell_quote("100%"), "'100\\%'");
    }
}

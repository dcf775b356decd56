//! `backup/`: the scripts (static, from `templates/backup/`: per kind of the stack's jobs'
//! databases, its `kinds::Backup`'s `backup-<name>.sh` and `restore-<name>.sh`, PostgreSQL's or MySQL's, on
//! `backup-common.sh` and `restore-common.sh`, and `verify-backup.sh`), the runner's
//! `Dockerfile` and `entrypoint.sh`, and the `crontab` with one line per job (and the restore
//! test), which passes each job's settings as arguments and its connection as variables (libpq's
//! for PostgreSQL, `MYSQL_*` for MySQL). supercronic runs the crontab, as the runner's user.
//!
//! Every value that reaches a shell is restricted by the manifest's name rules and quoted
//! anyway (`sh_quote`). supercronic gives `%` no meaning (its `crontab.go` hands the rest of
//! the line to `sh -c` as it is), so nothing is escaped for it.

use super::Artifact;
use super::paths::{BACKUP_DIR, PGPASS, PGPASS_DIR, SCRIPTS_MOUNT, TEXTFILE_DIR};
use crate::ir::{BackupJob, Stack};
use crate::kinds::PasswordVia;
use crate::manifest::model::Compress;
use crate::manifest::values::SecretRef;

const BACKUP_COMMON_SH: &str = include_str!("../../templates/backup/backup-common.sh");
const RESTORE_COMMON_SH: &str = include_str!("../../templates/backup/restore-common.sh");
const VERIFY_SH: &str = include_str!("../../templates/backup/verify-backup.sh");
const DOCKERFILE: &str = include_str!("../../templates/backup/Dockerfile");

/// How a job's database is dumped and restored: its kind's (`kinds::Backup`; `check` allows
/// backups only of a kind that has one).
fn method(stack: &Stack, job: &BackupJob) -> &'static crate::kinds::Backup {
    crate::kinds::def(service(stack, job).kind).backup.expect("checked: the job's service's kind is backed up")
}

/// The methods of the stack's jobs, each once, in the order of `Kind::ALL`.
fn methods(stack: &Stack, b: &crate::ir::Backups) -> Vec<&'static crate::kinds::Backup> {
    crate::manifest::model::Kind::ALL
        .into_iter()
        .filter_map(|k| crate::kinds::def(k).backup)
        .filter(|m| b.jobs.iter().any(|j| method(stack, j).name == m.name))
        .collect()
}

fn service<'a>(stack: &'a Stack, job: &BackupJob) -> &'a crate::ir::Service {
    stack.services.iter().find(|s| s.name == job.service).expect("checked: the job's service exists")
}

/// A word for sh: single-quoted, `'` escaped.
pub fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// The connection settings of a job's database, as its kind's scripts read them, but the
/// password's (`password`).
pub fn connection(stack: &Stack, job: &BackupJob) -> Vec<crate::kinds::ScriptVar> {
    let s = service(stack, job);
    let db = s.db.as_ref().expect("checked: a database service has connection settings");
    (method(stack, job).connection)(s, db)
}

/// How a job's scripts get its database's password, and the secret it is.
pub fn password<'a>(stack: &'a Stack, job: &BackupJob) -> (&'static crate::kinds::PasswordVia, &'a SecretRef) {
    let db = service(stack, job).db.as_ref().expect("checked: a database service has connection settings");
    (&method(stack, job).password, &db.password)
}

/// A crontab line's variables: the connection, then the password's file (the pgpass file the
/// entrypoint writes, or the secret's own).
fn crontab_vars(stack: &Stack, job: &BackupJob) -> String {
    let mut vars: Vec<String> = connection(stack, job)
        .into_iter()
        .map(|(k, v, quoted)| if quoted { format!("{k}={}", sh_quote(&v)) } else { format!("{k}={v}") })
        .collect();
    vars.push(match password(stack, job) {
        (PasswordVia::Pgpass, _) => format!("PGPASSFILE={PGPASS}"),
        (PasswordVia::File(var), secret) => format!("{var}={}", sh_quote(&super::paths::secret_file(secret))),
    });
    vars.join(" ")
}

/// A backup job's arguments to its engine's `backup-<name>.sh`, each flag with its value (if
/// any) and whether the value is a word the manifest gave (quoted for a shell), but where its
/// metrics go (the runner's textfile directory, or a Pushgateway).
pub fn job_args(b: &crate::ir::Backups, j: &BackupJob) -> Vec<(&'static str, Option<String>, bool)> {
    let compress = match j.compress {
        Compress::Gzip => "gzip",
        Compress::Zstd => "zstd",
        Compress::None => "none",
    };
    let mut args = vec![
        ("--job", Some(j.name.to_string()), true),
        ("--service", Some(j.service.to_string()), true),
        ("--keep", Some(j.keep.to_string()), false),
        ("--compress", Some(compress.to_string()), false),
        ("--dest", Some(b.destination.clone()), true),
    ];
    if let Some(r) = &j.age_recipient {
        args.push(("--age-recipient", Some(r.clone()), true));
    }
    if !b.verify {
        args.push(("--no-verify", None, false));
    }
    args
}

/// The restore test's arguments to `restore-<name>.sh` for a job, likewise.
pub fn restore_args(b: &crate::ir::Backups, j: &BackupJob) -> Vec<(&'static str, Option<String>, bool)> {
    vec![
        ("--test", None, false),
        ("--job", Some(j.name.to_string()), true),
        ("--service", Some(j.service.to_string()), true),
        ("--dest", Some(b.destination.clone()), true),
    ]
}

/// The jobs the restore test restores: the first (unencrypted) job of each database.
pub fn restore_tested(b: &crate::ir::Backups) -> Vec<&BackupJob> {
    let mut seen = Vec::new();
    let mut out = Vec::new();
    for j in b.jobs.iter().filter(|j| j.age_recipient.is_none()) {
        if !seen.contains(&j.service) {
            seen.push(j.service.clone());
            out.push(j);
        }
    }
    out
}

/// Arguments as a crontab line's words.
fn words(args: &[(&'static str, Option<String>, bool)]) -> Vec<String> {
    args.iter()
        .map(|(flag, value, quoted)| match value {
            Some(v) if *quoted => format!("{flag} {}", sh_quote(v)),
            Some(v) => format!("{flag} {v}"),
            None => flag.to_string(),
        })
        .collect()
}

/// The scripts every runner has, and its engines' (file name, text).
pub fn scripts(stack: &Stack, b: &crate::ir::Backups) -> Vec<(&'static str, &'static str)> {
    let mut out = vec![
        ("backup-common.sh", BACKUP_COMMON_SH),
        ("restore-common.sh", RESTORE_COMMON_SH),
        ("verify-backup.sh", VERIFY_SH),
    ];
    for m in methods(stack, b) {
        out.extend(m.scripts);
    }
    out
}

/// A job's engine's script name stem (`postgres`, `mysql`).
pub fn engine(stack: &Stack, j: &BackupJob) -> &'static str {
    method(stack, j).name
}

fn crontab(stack: &Stack, b: &crate::ir::Backups) -> String {
    // The schedules are in UTC whatever the image's time zone; supercronic logs each job's
    // output, line by line, to the container's log.
    let mut out = String::from("# m h dom mon dow command, run by supercronic as the runner's user\nCRON_TZ=UTC\n");
    let textfile = format!("--textfile-dir {TEXTFILE_DIR}");
    for j in &b.jobs {
        let mut args = words(&job_args(b, j));
        // (Where compose has always written it: before the optional flags.)
        let at = args.iter().position(|a| a.starts_with("--dest ")).map_or(args.len(), |i| i + 1);
        args.insert(at, textfile.clone());
        out.push_str(&format!(
            "{} {} {SCRIPTS_MOUNT}/backup-{}.sh {}\n",
            j.schedule.normalized(),
            crontab_vars(stack, j),
            method(stack, j).name,
            args.join(" ")
        ));
    }
    if let Some(rt) = &b.restore_test {
        // The newest dump of each database's first job.
        for j in restore_tested(b) {
            out.push_str(&format!(
                "{} {} {SCRIPTS_MOUNT}/restore-{}.sh {} {textfile}\n",
                rt.normalized(),
                crontab_vars(stack, j),
                method(stack, j).name,
                words(&restore_args(b, j)).join(" "),
            ));
        }
    }
    out
}

/// The runner's entrypoint: as its user, check that the volumes it writes are its own, write a
/// pgpass file from the PostgreSQL databases' secrets, check that it can read the MySQL ones'
/// (its jobs read them on each run), and hand over to supercronic.
fn entrypoint(stack: &Stack, b: &crate::ir::Backups) -> String {
    let dirs = format!("{} {}", sh_quote(&b.destination), sh_quote(TEXTFILE_DIR));
    let mut out = format!(
        r#"#!/usr/bin/env bash
# Start the backup runner, as its user ({user}): check that the volumes it writes are its own,
# write the pgpass file from the PostgreSQL databases' secrets (and check that the MySQL ones'
# can be read), and run supercronic in the foreground, which runs the crontab's jobs as this
# user.
set -euo pipefail
umask 077
for dir in {dirs}; do
  # A volume made before the runner ran as {user} is root's, down to its old dumps: hand it
  # over once, whole.
  if [[ ! -w $dir || -n $(find "$dir" ! -user "$(id -u)" -print -quit 2>/dev/null) ]]; then
    echo "backup runner: $dir (or something in it) is not $(id -u):$(id -g)'s. If its volume was made by an older runner (as root), run once: docker compose run --rm --no-deps --user 0 --cap-add CHOWN --cap-add DAC_READ_SEARCH --entrypoint chown {name} -R {user} {dirs}" >&2
    exit 1
  fi
done
# A database's password file, readable by the runner's group.
readable() {{
  [[ -r $1 ]] || {{ echo "backup runner: cannot read $1 as $(id -u):$(id -g) (missing, or not the runner's group's to read); a {{ file }} password's host file needs: chown 65534:{gid} FILE; chmod 0440 FILE" >&2; exit 1; }}
  cat "$1"
}}
mkdir -p {PGPASS_DIR}
: >{PGPASS}

# pgpass fields escape ':' and '\'.
entry() {{ printf '%s:%s:*:%s:%s\n' "$1" "$2" "$3" "$(printf '%s' "$4" | sed 's/[\\:]/\\&/g')" >>{PGPASS}; }}

"#,
        user = crate::ir::defaults::POSTGRES_USER,
        gid = crate::ir::defaults::postgres_ids().1,
        name = crate::ir::defaults::BACKUP.name,
    );
    let mut seen = Vec::new();
    for j in &b.jobs {
        if seen.contains(&j.service) {
            continue;
        }
        seen.push(j.service.clone());
        let s = service(stack, j);
        let Some(db) = &s.db else { continue };
        // The password's file: a `{ file }` as mounted, an `{ env }` as seeded.
        let file = sh_quote(&super::paths::secret_file(&db.password));
        out.push_str(&(method(stack, j).prepare)(s, db, &file));
    }
    out.push_str(&format!("\nexec supercronic {SCRIPTS_MOUNT}/crontab\n"));
    out
}

/// The runner's Dockerfile: its build arguments, with this stack's values, then the template.
/// On Kubernetes, what the image `kubernetes.backup_image` names is built from.
pub fn dockerfile(stack: &Stack, b: &crate::ir::Backups) -> String {
    let runner = stack.component(crate::ir::defaults::BACKUP.name).map(|c| c.image.as_str());
    let cron = crate::ir::defaults::SUPERCRONIC;
    let args = [
        ("POSTGRES_IMAGE", runner.unwrap_or_default().to_string()),
        ("GO_IMAGE", b.builder.as_str().to_string()),
        ("SUPERCRONIC_VERSION", cron.version.to_string()),
        ("BACKUP_DIR", b.destination.clone()),
        ("TEXTFILE_DIR", TEXTFILE_DIR.to_string()),
        ("RUNNER_USER", crate::ir::defaults::POSTGRES_USER.to_string()),
        (
            "CLIENT_PACKAGES",
            methods(stack, b).iter().map(|m| m.packages).filter(|p| !p.is_empty()).collect::<Vec<_>>().join(" "),
        ),
    ];
    let mut out: String = args.iter().map(|(k, v)| format!("ARG {k}={v}\n")).collect();
    out.push_str(DOCKERFILE);
    out
}

/// Where the runner's Dockerfile is, in either platform's tree.
pub fn dockerfile_path() -> String {
    format!("{BACKUP_DIR}/Dockerfile")
}

pub fn lower(stack: &Stack) -> Vec<Artifact> {
    let Some(b) = &stack.backups else { return Vec::new() };
    let mut out: Vec<Artifact> =
        scripts(stack, b).into_iter().map(|(name, text)| Artifact::new(format!("{BACKUP_DIR}/{name}"), text)).collect();
    out.extend([
        Artifact::new(format!("{BACKUP_DIR}/entrypoint.sh"), entrypoint(stack, b)),
        Artifact::new(format!("{BACKUP_DIR}/crontab"), crontab(stack, b)),
        Artifact::new(dockerfile_path(), dockerfile(stack, b)),
    ]);
    out
}

#[cfg(test)]
mod tests {
    use super::sh_quote;
    use crate::targets::paths::{PGPASS, PGPASS_DIR};

    #[test]
    fn the_pgpass_file_is_on_the_runners_tmpfs() {
        assert_eq!(PGPASS.strip_prefix(PGPASS_DIR), Some("/pgpass"));
    }

    #[test]
    fn quoting_survives_hostile_words() {
        assert_eq!(sh_quote("a b"), "'a b'");
        assert_eq!(sh_quote("it's"), "'it'\\''s'");
        assert_eq!(sh_quote("$(rm -rf /)"), "'$(rm -rf /)'");
        assert_eq!(sh_quote("100%"), "'100%'");
    }
}

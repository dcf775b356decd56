//! `manifests/backups/`: the backup jobs as CronJobs, running compose's backup and restore-test
//! scripts (`targets::backup`) with compose's arguments, their results pushed to the
//! Pushgateway (`--pushgateway`, `pushgateway`) where compose writes them for node-exporter:
//!
//! - `scripts.yaml`: the ConfigMap `<stack>-backup-scripts`, the scripts compose mounts at
//!   `/opt/sightline`, mounted there;
//! - `volume.yaml`: the PersistentVolumeClaim `<stack>-backups` the dumps are written to, at the
//!   manifest's `destination` (ReadWriteOnce, `backups.disk`, default 10 GiB);
//! - `backup-<job>.yaml`: the CronJob `<stack>-backup-<job>` per job, on its schedule in UTC,
//!   one run at a time, none retried (a failed run is reported, and the next runs on schedule),
//!   each cut at its schedule's longest gap;
//! - `restore-test-<job>.yaml`: the CronJob `<stack>-restore-test-<job>`, on `restore_test`'s
//!   schedule (each run cut at its longest gap), for the first job of each database the
//!   cluster runs, as compose's crontab runs it.
//!
//! They run, as its `postgres` user, the image `kubernetes.backup_image` names, built from
//! `backup/Dockerfile` (compose's runner's, written here too), or else the stock image of the
//! runner's base (PostgreSQL's, of the newest database's major version, with pg_dump,
//! pg_restore, bash and gzip), with compose's connection variables; the password from the
//! stack's Secret, in `PGPASSWORD` for PostgreSQL, as MySQL's file where compose mounts it. On
//! the stock image, the jobs that need what the runner's image adds (age, zstd, a MySQL
//! client) are left out with their alerts (`ir::lower_for`, SL903).

use super::{
    MANIFESTS_DIR, file, hardened, labels, literal, mount_secret_file, object, object_name, resources, secret_key,
    secrets_name, secrets_volume,
};
use crate::ir::{BackupJob, Backups, Stack, defaults};
use crate::kinds::PasswordVia;
use crate::targets::Artifact;
use crate::targets::backup::{
    connection, dockerfile, dockerfile_path, engine, job_args, password, restore_args, restore_tested, scripts,
};
use crate::targets::paths::SCRIPTS_MOUNT;
use serde_json::{Map, Value, json};

pub const BACKUPS_DIR: &str = "backups";

/// The dumps' volume's size when the manifest gives none.
pub const DEFAULT_DISK: u64 = 10 << 30;

/// The CronJobs' time zone: the schedules are UTC, as on compose (`CRON_TZ=UTC`).
const TIME_ZONE: &str = "Etc/UTC";

/// The name of a backup job's CronJob, and of its restore test's: a CronJob's name is at most 52
/// characters (its Jobs add 11), which `check::platform` holds them to (SL901).
pub fn cronjob_names(stack: &Stack, job: &str) -> [String; 2] {
    [object_name(stack, &format!("backup-{job}")), object_name(stack, &format!("restore-test-{job}"))]
}

pub fn lower(stack: &Stack) -> Vec<Artifact> {
    let Some(b) = &stack.backups else { return Vec::new() };
    let Some(runner) = stack.component(defaults::BACKUP.name) else { return Vec::new() };
    let dir = format!("{MANIFESTS_DIR}/{BACKUPS_DIR}");
    let data: Map<String, Value> =
        scripts(stack, b).into_iter().map(|(name, text)| (name.into(), json!(text))).collect();
    let config = object(
        stack,
        "v1",
        "ConfigMap",
        &object_name(stack, "backup-scripts"),
        labels(stack),
        Map::from_iter([("data".to_string(), Value::Object(data))]),
    );
    let size = runner.disk.as_ref().map_or(DEFAULT_DISK, |d| d.bytes());
    let claim = object(
        stack,
        "v1",
        "PersistentVolumeClaim",
        &object_name(stack, "backups"),
        labels(stack),
        Map::from_iter([(
            "spec".to_string(),
            json!({
                "accessModes": ["ReadWriteOnce"],
                "resources": { "requests": { "storage": super::values::quantity(size) } },
            }),
        )]),
    );
    let mut out = vec![
        file(format!("{dir}/scripts.yaml"), &config).from_part("/backups"),
        file(format!("{dir}/volume.yaml"), &claim).from_part("/backups"),
    ];
    // What the image the manifest names for the CronJobs is built from: compose's runner.
    if stack.built_backup_image().is_some() {
        out.push(Artifact::new(dockerfile_path(), dockerfile(stack, b)).from_part("/kubernetes/backup_image"));
    }
    for j in &b.jobs {
        let [name, _] = cronjob_names(stack, j.name.as_str());
        let run = Run {
            name,
            schedule: j.schedule.normalized(),
            script: format!("backup-{}.sh", engine(stack, j)),
            args: job_args(b, j),
            deadline_ms: j.interval.millis(),
        };
        out.push(
            file(format!("{dir}/backup-{}.yaml", j.name), &cronjob(stack, b, runner, j, run))
                .from_part("/backups/jobs"),
        );
    }
    if let Some(rt) = &b.restore_test {
        // Each run cut at the restore test's own longest gap.
        let gap = crate::ir::longest_gap(rt).millis();
        for j in restore_tested(b) {
            let [_, name] = cronjob_names(stack, j.name.as_str());
            let run = Run {
                name,
                schedule: rt.normalized(),
                script: format!("restore-{}.sh", engine(stack, j)),
                args: restore_args(b, j),
                deadline_ms: gap,
            };
            let o = cronjob(stack, b, runner, j, run);
            out.push(file(format!("{dir}/restore-test-{}.yaml", j.name), &o).from_part("/backups/restore_test"));
        }
    }
    out
}

/// What a CronJob runs: its name, schedule, the script and its arguments, and how long a run
/// may take.
struct Run {
    name: String,
    schedule: String,
    script: String,
    args: Vec<(&'static str, Option<String>, bool)>,
    deadline_ms: u64,
}

/// The CronJob of `run`, for backup job `j`.
fn cronjob(stack: &Stack, b: &Backups, runner: &crate::ir::Component, j: &BackupJob, run: Run) -> Value {
    let Run { name, schedule, script, args, deadline_ms } = run;
    let mut command = vec!["bash".to_string(), format!("{SCRIPTS_MOUNT}/{script}")];
    for (flag, value, _) in args {
        command.push(flag.to_string());
        command.extend(value);
    }
    // The Pushgateway's Service, in the stack's namespace with the CronJobs.
    command.extend(["--pushgateway".to_string(), crate::targets::paths::pushgateway_url()]);
    // compose's connection; the password from the stack's Secret: in libpq's variable (no
    // entrypoint runs before a job to write a pgpass file), or its file where compose has it.
    let mut env: Vec<Value> =
        connection(stack, j).into_iter().map(|(k, v, _)| json!({ "name": k, "value": literal(&v) })).collect();
    let mut mounts = vec![
        json!({ "name": "scripts", "mountPath": SCRIPTS_MOUNT, "readOnly": true }),
        json!({ "name": "backups", "mountPath": b.destination }),
        json!({ "name": "tmp", "mountPath": "/tmp" }),
    ];
    let mut items = Vec::new();
    match password(stack, j) {
        (PasswordVia::Pgpass, secret) => {
            let key = json!({ "name": secrets_name(stack), "key": secret_key(secret) });
            env.push(json!({ "name": "PGPASSWORD", "valueFrom": { "secretKeyRef": key } }));
        }
        (PasswordVia::File(var), secret) => {
            let path = mount_secret_file(secret, &mut mounts, &mut items);
            env.push(json!({ "name": var, "value": literal(&path) }));
        }
    }
    let (uid, gid) = defaults::postgres_ids();
    let (uid, gid): (u64, u64) = (uid.parse().expect("a numeric uid"), gid.parse().expect("a numeric gid"));
    // The image built from the runner's Dockerfile when the manifest names one; else its base.
    let image = stack.built_backup_image().unwrap_or(&runner.image);
    let container = json!({
        "name": "backup",
        "image": image.as_str(),
        "command": command.iter().map(|a| literal(a)).collect::<Vec<_>>(),
        "env": env,
        "resources": resources(runner),
        "securityContext": hardened(),
        "volumeMounts": mounts,
    });
    let mut volumes = vec![
        json!({ "name": "scripts", "configMap": { "name": object_name(stack, "backup-scripts"), "defaultMode": 0o555 } }),
        json!({ "name": "backups", "persistentVolumeClaim": { "claimName": object_name(stack, "backups") } }),
        json!({ "name": "tmp", "emptyDir": { "sizeLimit": "64Mi" } }),
    ];
    if !items.is_empty() {
        volumes.push(secrets_volume(stack, items));
    }
    let pod = json!({
        "metadata": { "labels": Value::Object(labels(stack)) },
        "spec": {
            "restartPolicy": "Never",
            // It talks to its database and the Pushgateway, to nothing of the cluster's API.
            "automountServiceAccountToken": false,
            "securityContext": {
                "runAsNonRoot": true,
                "runAsUser": uid,
                "runAsGroup": gid,
                // The volume's files are the runner's group's, as on compose.
                "fsGroup": gid,
                "fsGroupChangePolicy": "OnRootMismatch",
                "seccompProfile": { "type": "RuntimeDefault" },
            },
            "containers": [container],
            "volumes": volumes,
        },
    });
    let spec = json!({
        "schedule": schedule,
        "timeZone": TIME_ZONE,
        // One run at a time, as supercronic runs a job: the next waits for a run still going,
        // and starts if that ends within 10 minutes of its time; otherwise it is skipped (and
        // the staleness alerts say so), not started late.
        "concurrencyPolicy": "Forbid",
        "startingDeadlineSeconds": 600,
        "successfulJobsHistoryLimit": 3,
        "failedJobsHistoryLimit": 3,
        "jobTemplate": { "spec": {
            // A failed run is reported (its result pushed), not retried: the next runs on its
            // schedule, as on compose.
            "backoffLimit": 0,
            "activeDeadlineSeconds": deadline_ms / 1000,
            "template": pod,
        } },
    });
    object(stack, "batch/v1", "CronJob", &name, labels(stack), Map::from_iter([("spec".to_string(), spec)]))
}

//! The backups as CronJobs: compose's scripts and arguments, run here as their pods run them.

use super::*;

/// A crontab line's schedule, its variables and its command's words (the values are names the
/// manifest restricts, single-quoted at most).
fn crontab_line(line: &str) -> (String, BTreeMap<String, String>, Vec<String>) {
    let words: Vec<String> = line.split_whitespace().map(|w| w.replace('\'', "")).collect();
    let schedule = words[..5].join(" ");
    let vars = words[5..].iter().take_while(|w| w.contains('=')).map(|w| {
        let (k, v) = w.split_once('=').unwrap();
        (k.to_string(), v.to_string())
    });
    let vars: BTreeMap<String, String> = vars.collect();
    let command = words[5 + vars.len()..].to_vec();
    (schedule, vars, command)
}

/// A container's mounts: volume name → where.
fn mount_paths(c: &Value) -> BTreeMap<&str, &str> {
    c["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["name"].as_str().unwrap(), v["mountPath"].as_str().unwrap()))
        .collect()
}

#[test]
fn backups_are_cronjobs_running_compose_s_scripts_with_compose_s_arguments() {
    // Every line of compose's crontab that the cluster can run (all of them on the image
    // `kubernetes.backup_image` names; on the stock PostgreSQL image, PostgreSQL's jobs, neither
    // encrypted nor zstd) is a CronJob with its schedule in UTC, its script, its arguments (its
    // results pushed to the Pushgateway rather than written for node-exporter) and its
    // connection, the password from the stack's Secret (in a variable, or its file mounted from
    // the Secret where compose has it); the scripts and the Dockerfile are compose's; the others
    // are named by SL903, and have no alerts on the cluster.
    let mut seen = 0;
    for (m, k8s, compose) in built() {
        let Some(crontab) = compose.get("backup/crontab") else {
            assert!(!k8s.keys().any(|p| p.starts_with("manifests/backups/")), "{}", m.display());
            continue;
        };
        let cronjobs: Vec<Value> =
            objects(k8s).into_iter().filter(|(_, o)| o["kind"] == "CronJob").map(|(_, o)| o).collect();
        let namespace = format!(".{}.svc", objects(k8s)[0].1["metadata"]["namespace"].as_str().unwrap());
        // The image the manifest names for the CronJobs, built from compose's Dockerfile, which
        // the tree has too.
        let manifest: Value = yaml_to_json(&std::fs::read_to_string(m).unwrap());
        let built_image = manifest["kubernetes"]["backup_image"].as_str();
        assert_eq!(k8s.get("backup/Dockerfile").is_some(), built_image.is_some(), "{}", m.display());
        if let Some(file) = k8s.get("backup/Dockerfile") {
            assert_eq!(file, &compose["backup/Dockerfile"], "{}", m.display());
        }
        let mut run = Vec::new();
        // The backup jobs the cluster runs, then their restore tests.
        let mut kept: Vec<String> = Vec::new();
        let mut lines: Vec<&str> =
            crontab.lines().filter(|l| !l.starts_with('#') && !l.starts_with("CRON_TZ")).collect();
        lines.sort_by_key(|l| l.contains("/restore-"));
        for line in lines {
            let (schedule, vars, mut command) = crontab_line(line);
            let job = command[command.iter().position(|w| w == "--job").unwrap() + 1].clone();
            // A backup the image runs (the runner's, built, runs all; the stock PostgreSQL image
            // runs PostgreSQL's, neither encrypted nor zstd); a restore test of one.
            let runs = if command[0].contains("/restore-") {
                kept.contains(&job)
            } else {
                built_image.is_some()
                    || command[0].contains("-postgres.sh")
                        && !command.iter().any(|w| w == "--age-recipient" || w == "zstd")
            };
            let Some(cj) = cronjobs.iter().find(|c| {
                let args = c["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["command"].to_string();
                args.contains(&format!("\"--job\",\"{job}\""))
                    && args.contains(&command[0].rsplit('/').next().unwrap().to_string())
            }) else {
                assert!(!runs, "{}: no CronJob for `{line}`", m.display());
                continue;
            };
            assert!(runs, "{}: a CronJob for `{line}`, which its image cannot run", m.display());
            if !command[0].contains("/restore-") {
                kept.push(job.clone());
            }
            run.push(job.clone());
            assert_eq!(cj["spec"]["schedule"], schedule.as_str());
            assert_eq!(cj["spec"]["timeZone"], "Etc/UTC");
            assert_eq!(cj["spec"]["concurrencyPolicy"], "Forbid");
            let pod = &cj["spec"]["jobTemplate"]["spec"]["template"]["spec"];
            let c = &pod["containers"][0];
            // compose's command, but where the results go.
            let i = command.iter().position(|w| w == "--textfile-dir").unwrap();
            command.drain(i..i + 2);
            command.extend(["--pushgateway".to_string(), "http://pushgateway:9091".to_string()]);
            let ours: Vec<String> =
                c["command"].as_array().unwrap().iter().map(|w| w.as_str().unwrap().to_string()).collect();
            assert_eq!(ours[0], "bash");
            assert_eq!(ours[1..], command[..], "{}: {job}", m.display());
            // compose's connection, the password from the Secret.
            let env: BTreeMap<String, Value> = c["env"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| (e["name"].as_str().unwrap().to_string(), e.clone()))
                .collect();
            for (k, v) in vars.iter().filter(|(k, _)| *k != "PGPASSFILE") {
                assert_eq!(
                    env[k]["value"].as_str().unwrap().replace(&namespace, ""),
                    *v,
                    "{}: {job}: {k}",
                    m.display()
                );
            }
            // The scripts and the dumps where compose has them; the password's file too
            // (MySQL's), from the stack's Secret, or PostgreSQL's in its variable.
            let mounts = mount_paths(c);
            match vars.get("PGPASSFILE") {
                Some(_) => assert!(
                    env["PGPASSWORD"]["valueFrom"]["secretKeyRef"]["name"].as_str().unwrap().ends_with("-secrets")
                ),
                None => {
                    // The file alone, its key an item of the Secret's volume, readable by the
                    // pod's group only.
                    assert_eq!(mounts["secrets"], vars["MYSQL_PASSWORD_FILE"], "{}: {job}", m.display());
                    let mount = c["volumeMounts"].as_array().unwrap().iter().find(|v| v["name"] == "secrets").unwrap();
                    let volume = pod["volumes"].as_array().unwrap().iter().find(|v| v["name"] == "secrets").unwrap();
                    assert!(volume["secret"]["secretName"].as_str().unwrap().ends_with("-secrets"), "{volume}");
                    let items = volume["secret"]["items"].as_array().unwrap();
                    assert!(
                        items.iter().any(|i| i["key"] == mount["subPath"] && i["path"] == mount["subPath"]),
                        "{volume}"
                    );
                    assert_eq!(volume["secret"]["defaultMode"], 0o440);
                }
            }
            let image = c["image"].as_str().unwrap();
            match built_image {
                Some(i) => assert_eq!(image, i),
                None => assert!(image.starts_with("postgres:"), "{image}"),
            }
            assert_eq!(Path::new(&ours[1]).parent().unwrap(), Path::new(mounts["scripts"]));
            let dest = &command[command.iter().position(|w| w == "--dest").unwrap() + 1];
            assert_eq!(mounts["backups"], dest.as_str());
            assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
            seen += 1;
        }
        // The scripts are compose's (but for the header compose's files have).
        let scripts = objects(k8s).into_iter().find(|(p, _)| p.ends_with("manifests/backups/scripts.yaml"));
        if let Some((_, map)) = scripts {
            for (name, text) in map["data"].as_object().unwrap() {
                let theirs: String = compose[&format!("backup/{name}")]
                    .lines()
                    .filter(|l| !l.starts_with("# Generated by sightline"))
                    .map(|l| format!("{l}\n"))
                    .collect();
                assert_eq!(text.as_str().unwrap(), theirs, "{}: {name}", m.display());
            }
        }
        // The jobs the cluster does not run: no alerts, and SL903 names them.
        let text = std::fs::read(m).unwrap();
        let checked = sightline::check_for(&m.to_string_lossy(), &text, Some(Platform::Kubernetes));
        let note = checked.diagnostics.iter().find(|d| d.code == sightline::code::Code::NotLowered);
        let note = note.map(|d| d.message.as_str()).unwrap_or_default();
        let rules = k8s.get("manifests/prometheus-rules/backups.yaml").cloned().unwrap_or_default();
        for line in crontab.lines().filter(|l| l.contains("backup-")) {
            let (_, _, command) = crontab_line(line);
            let job = &command[command.iter().position(|w| w == "--job").unwrap() + 1];
            let named = note.contains(&format!("`{job}`"));
            assert_eq!(named, !run.contains(job), "{}: {job}: {note}", m.display());
            assert_eq!(rules.contains(&format!("backup_job: {job}\n")), run.contains(job), "{}: {job}", m.display());
        }
        assert!(!rules.contains("BackupMetricsUnreadable"), "{}: no textfile collector there", m.display());
    }
    assert!(seen >= 3, "the examples' backups and restore test: {seen}");
}

/// Where a CronJob's pod runs here: the scripts of the backups' ConfigMap in a directory,
/// the dumps' volume a directory of the pod's group (`fsGroup`) when root, an open `/tmp`.
struct PodDirs {
    work: tempfile::TempDir,
    scripts: PathBuf,
    dumps: PathBuf,
}

impl PodDirs {
    fn new(k8s: &Plan) -> PodDirs {
        use std::os::unix::fs::PermissionsExt;
        let work = tempfile::tempdir().unwrap();
        std::fs::set_permissions(work.path(), PermissionsExt::from_mode(0o755)).unwrap();
        let scripts = work.path().join("scripts");
        std::fs::create_dir(&scripts).unwrap();
        let map = objects(k8s).into_iter().find(|(p, _)| p.ends_with("backups/scripts.yaml")).unwrap().1;
        for (name, text) in map["data"].as_object().unwrap() {
            std::fs::write(scripts.join(name), text.as_str().unwrap()).unwrap();
            std::fs::set_permissions(scripts.join(name), PermissionsExt::from_mode(0o555)).unwrap();
        }
        let dumps = work.path().join("dumps");
        std::fs::create_dir(&dumps).unwrap();
        let tmp = work.path().join("tmp");
        std::fs::create_dir_all(&tmp).unwrap();
        std::fs::set_permissions(&tmp, PermissionsExt::from_mode(0o1777)).unwrap();
        PodDirs { work, scripts, dumps }
    }

    /// Run the container of the CronJob in `manifests/backups/<file>` as its pod runs it: as
    /// the pod's user when root, its command with the Pushgateway at `port` here, its
    /// variables but those `own` names (`server` sets them: the connection is a test server's)
    /// and a secret's file, mounted from the stack's Secret, as `secret` here (readable by the
    /// pod's group, as Kubernetes mounts it) or a secret variable as a dummy.
    fn run(
        &self,
        k8s: &Plan,
        file: &str,
        port: u16,
        server: &dyn Fn(&str) -> Command,
        own: &[&str],
        secret: &Path,
    ) -> (bool, String) {
        use std::os::unix::fs::PermissionsExt;
        let cj = objects(k8s).into_iter().find(|(p, _)| p.ends_with(&format!("backups/{file}"))).unwrap().1;
        let pod = &cj["spec"]["jobTemplate"]["spec"]["template"]["spec"];
        let c = &pod["containers"][0];
        let (uid, gid) = (
            pod["securityContext"]["runAsUser"].as_u64().unwrap(),
            pod["securityContext"]["fsGroup"].as_u64().unwrap(),
        );
        let root = crate::pg_server::is_root();
        if root {
            // The volumes as Kubernetes gives them to the pod: the group's, set-group-ID.
            std::os::unix::fs::chown(&self.dumps, Some(0), Some(gid as u32)).unwrap();
            std::fs::set_permissions(&self.dumps, PermissionsExt::from_mode(0o2775)).unwrap();
            // The Secret's files as the volume mounts them: the pod's group's, its mode.
            let mode = pod["volumes"]
                .as_array()
                .unwrap()
                .iter()
                .find(|v| v["name"] == "secrets")
                .map_or(0o440, |v| v["secret"]["defaultMode"].as_u64().unwrap() as u32);
            std::os::unix::fs::chown(secret, Some(0), Some(gid as u32)).unwrap();
            std::fs::set_permissions(secret, PermissionsExt::from_mode(mode)).unwrap();
        }
        let mounts = mount_paths(c);
        let args: Vec<String> = c["command"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w.as_str().unwrap().replace("$$", "$"))
            .map(|w| match w.as_str() {
                "http://pushgateway:9091" => format!("http://127.0.0.1:{port}"),
                _ if w == mounts["backups"] => self.dumps.display().to_string(),
                _ => w.replace(mounts["scripts"], &self.scripts.display().to_string()),
            })
            .collect();
        let mut cmd = if root {
            let mut c = server("setpriv");
            c.args(["--reuid", &uid.to_string(), "--regid", &gid.to_string(), "--clear-groups", "--"]);
            c
        } else {
            server(&args[0])
        };
        cmd.args(if root { &args[..] } else { &args[1..] });
        for e in c["env"].as_array().unwrap() {
            let name = e["name"].as_str().unwrap();
            // Kubernetes reads `$$` in a value as `$`, as in the command.
            match e["value"].as_str().map(|v| v.replace("$$", "$")).as_deref() {
                _ if own.contains(&name) => {}
                // A secret's file, where the pod has it mounted.
                Some(v) if mounts.get("secrets") == Some(&v) => {
                    cmd.env(name, secret);
                }
                Some(v) => {
                    cmd.env(name, v);
                }
                None => {
                    cmd.env(name, "unused-on-a-trusting-socket");
                }
            }
        }
        cmd.env_remove("HOME").env("TMPDIR", self.work.path().join("tmp"));
        run(&mut cmd)
    }
}

#[test]
fn the_backup_image_runs_mysql_zstd_and_encrypted_cronjobs_as_their_pods_run_them() {
    // workers' CronJobs on the image `kubernetes.backup_image` names (built from compose's
    // Dockerfile: MariaDB's client, zstd and age, all here): its MySQL job compressed with
    // zstd, its weekly job encrypted to an age key, and the restore test of the first, run
    // here as their pods run them (`PodDirs::run`) against a real MariaDB server, the password
    // read from the Secret's file where the pod has it. Each pushes its result.
    crate::support::require_tool("age");
    crate::support::require_tool("zstd");
    let m = crate::support::root().join("tests/fixtures/ok/workers.yaml");
    let k8s = kubernetes_plan(&m);
    let pod = PodDirs::new(&k8s);
    let server = crate::mysql_server::Server::start();
    let password = "pa'ss\"w\\ord $x";
    let secret = pod.work.path().join("SHOP_DB_PASSWORD");
    std::fs::write(&secret, password).unwrap();
    server
        .root_sql(&format!(
            "CREATE DATABASE shop; CREATE USER 'shop'@'%' IDENTIFIED BY '{}'; GRANT ALL ON shop.* TO 'shop'@'%'; {}",
            password.replace('\\', "\\\\").replace('\'', "''"),
            crate::backups::documented_restore_grant("shop")
        ))
        .unwrap();
    server.sql(
        "shop",
        password,
        "shop",
        "CREATE TABLE items (id int PRIMARY KEY); INSERT INTO items SELECT seq FROM seq_1_to_300;",
    );
    let (_gateway, port) = crate::support::pushgateway(&[], &pod.work.path().join("pushgateway.log"));
    let own = ["MYSQL_HOST", "MYSQL_TCP_PORT"];
    for name in ["backup-shop-nightly.yaml", "backup-shop-weekly.yaml", "restore-test-shop-nightly.yaml"] {
        let (ok, out) = pod.run(&k8s, name, port, &|p| server.cmd(p, "shop", Path::new("/nonexistent")), &own, &secret);
        assert!(ok, "{name}:\n{out}");
    }
    // The dumps, in the formats their jobs ask for.
    let names = |job: &str| -> Vec<String> {
        std::fs::read_dir(pod.dumps.join(job))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    };
    assert!(names("shop-nightly").iter().any(|n| n.ends_with(".sql.zst")), "{:?}", names("shop-nightly"));
    assert!(names("shop-weekly").iter().any(|n| n.ends_with(".age")), "{:?}", names("shop-weekly"));
    let answer = crate::support::http_get(port, "/metrics").unwrap();
    for (metric, group, job) in [
        ("sightline_backup_last_result", "sightline_backup", "shop-nightly"),
        ("sightline_backup_last_result", "sightline_backup", "shop-weekly"),
        ("sightline_restore_test_last_result", "sightline_restore_test", "shop-nightly"),
    ] {
        let line = format!("{metric}{{backup_job=\"{job}\",instance=\"\",job=\"{group}\",service=\"db\"}} 1");
        assert!(answer.lines().any(|l| l == line), "{line}:\n{answer}");
    }
}

#[test]
fn the_backup_cronjobs_run_here_as_their_pods_run_them_and_push_their_results() {
    // faceless-staging's backup and restore-test CronJobs, their containers' commands run here
    // as their pods run them (`PodDirs::run`), against a real PostgreSQL server as compose sets
    // it up and the stack's Pushgateway. Each result lands in the Pushgateway with the labels
    // the backup rules select.
    let m = crate::support::root().join("examples/faceless-staging.yaml");
    let k8s = kubernetes_plan(&m);
    let pod = PodDirs::new(&k8s);
    let compose_tree = crate::support::build_into_tempdir(&m);
    let setup = crate::pg_server::compose_setup(compose_tree.path(), "db");
    let server = crate::pg_server::Server::start(&setup.options);
    server.create_database("faceless", &setup);
    server.psql("faceless", "CREATE TABLE orders (id int); INSERT INTO orders SELECT generate_series(1, 250);");
    let (_gateway, port) = crate::support::pushgateway(&[], &pod.work.path().join("pushgateway.log"));
    let unused = pod.work.path().join("no-secret-file");
    std::fs::write(&unused, "").unwrap();
    let mut ran = 0;
    for name in ["backup-daily.yaml", "restore-test-daily.yaml"] {
        let own = ["PGHOST", "PGPORT", "PGUSER"];
        let (ok, out) = pod.run(&k8s, name, port, &|p| server.cmd(p), &own, &unused);
        assert!(ok, "{name}:\n{out}");
        ran += 1;
    }
    assert_eq!(ran, 2);
    let answer = crate::support::http_get(port, "/metrics").unwrap();
    for (metric, group) in [
        ("sightline_backup_last_result", "sightline_backup"),
        ("sightline_backup_last_success_timestamp_seconds", "sightline_backup"),
        ("sightline_restore_test_last_result", "sightline_restore_test"),
    ] {
        let line = answer
            .lines()
            .find(|l| l.starts_with(&format!("{metric}{{")))
            .unwrap_or_else(|| panic!("{metric}:\n{answer}"));
        assert!(
            line.starts_with(&format!(
                "{metric}{{backup_job=\"daily\",instance=\"\",job=\"{group}\",service=\"db\"}} "
            )),
            "{line}"
        );
        if metric.ends_with("_result") {
            assert!(line.ends_with(" 1"), "{line}");
        }
    }
    // The rules select what was pushed: the job, by its `backup_job`.
    let rules = &k8s["manifests/prometheus-rules/backups.yaml"];
    assert!(rules.contains("sightline_backup_last_result{backup_job=\"daily\"}"), "{rules}");
}

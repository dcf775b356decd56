//! Backups, proved on a real PostgreSQL server (Debian's package, unix socket only, in a
//! temporary directory): fill a database, back it up, see a corrupt dump refused and the failure
//! recorded, drop the database and restore every row, rotate to `keep`, run the restore test,
//! and do an encrypted round trip with age. Also: every generated script passes shellcheck,
//! every job is in the crontab and has a staleness alert, supercronic runs every schedule
//! sightline accepts at the times sightline's alerts assume, and hostile names cannot inject.

use crate::mysql_server::Server as MysqlServer;
use crate::pg_server::{PG_BIN, Server, compose_setup};
use crate::prometheus::manifests;
use crate::support::{build_into_tempdir, require_tool, root, run};
use std::path::{Path, PathBuf};
use std::process::Command;

fn dumps(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".sha256") && !n.starts_with('.'))
        .collect();
    v.sort();
    v
}

/// A metrics file the runner wrote, as node-exporter's textfile collector needs it: readable by
/// another user (node-exporter runs as nobody) whatever the runner's umask, and valid
/// exposition text in which every metric has its HELP and TYPE (the collector drops a file
/// that lacks them), as promtool of the stack's release reads it.
fn textfile_metrics(path: &Path) -> String {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).unwrap().permissions().mode();
    assert_eq!(mode & 0o044, 0o044, "{} is not readable by node-exporter: mode {mode:o}", path.display());
    let text = std::fs::read_to_string(path).unwrap();
    let mut check = Command::new(require_tool("promtool"))
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut check.stdin.take().unwrap(), text.as_bytes()).unwrap();
    let out = check.wait_with_output().unwrap();
    assert!(
        out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
        "{}: promtool check metrics: {}{}\n{text}",
        path.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let name = line.split('{').next().unwrap();
        assert!(
            text.contains(&format!("# HELP {name} ")) && text.contains(&format!("# TYPE {name} ")),
            "{name} lacks HELP or TYPE:\n{text}"
        );
    }
    text
}

/// `runs` more runs of a job whose `keep` is 2 (a second apart: dumps are named to the second)
/// leave its two newest dumps, `first` not among them.
fn rotates(runs: usize, backup: &dyn Fn(&[&str]) -> (bool, String), job_dir: &Path, first: &str) {
    for _ in 0..runs {
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let (ok, out) = backup(&[]);
        assert!(ok, "{out}");
    }
    let kept = dumps(job_dir);
    assert_eq!(kept.len(), 2, "{kept:?}");
    assert!(!kept.iter().any(|k| k == first), "{kept:?}");
}

/// A new age identity in `dir`, and its recipient (public key).
fn age_key(dir: &Path) -> (PathBuf, String) {
    let key = dir.join("key.txt");
    let (ok, out) = run(Command::new("age-keygen").arg("-o").arg(&key));
    assert!(ok, "{out}");
    let recipient = std::fs::read_to_string(&key)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("# public key: ").map(String::from))
        .unwrap();
    (key, recipient)
}

/// faceless-staging's tree, its `db` server as compose sets it up, and a scratch directory.
fn faceless_db() -> (tempfile::TempDir, crate::pg_server::ComposeSetup, Server, tempfile::TempDir) {
    let tree = build_into_tempdir(&root().join("examples/faceless-staging.yaml"));
    let setup = compose_setup(tree.path(), "db");
    let server = Server::start(&setup.options);
    (tree, setup, server, tempfile::tempdir().unwrap())
}

#[test]
fn backups_verify_rotate_restore_and_encrypt_on_a_real_database() {
    require_tool("shellcheck");
    require_tool("age");
    let (tree, setup, server, work) = faceless_db();
    let (scripts, dest) = (tree.path().join("backup"), work.path().join("backups"));
    let textfile = work.path().join("textfile");
    // A database name with characters the manifest allows and a shell would not like.
    let db = "app$data-1";
    server.create_database(db, &setup);
    server.psql(db, "CREATE TABLE items (id int PRIMARY KEY, name text); INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 5000) g;");
    server.psql(db, "CREATE SCHEMA shop; CREATE TABLE shop.orders (id int, total numeric); INSERT INTO shop.orders SELECT g, g * 1.5 FROM generate_series(1, 321) g;");

    // The runner's entrypoint starts cron under `umask 077`, and cron's jobs inherit it.
    let umask = work.path().join("umask077");
    std::fs::write(&umask, "#!/bin/sh\numask 077\nexec \"$@\"\n").unwrap();
    std::fs::set_permissions(&umask, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let backup = |extra: &[&str]| {
        let mut c = server.cmd(&umask);
        c.arg(scripts.join("backup-postgres.sh"));
        c.env("PGDATABASE", db)
            .args(["--job", "daily", "--service", "db", "--keep", "2", "--dest"])
            .arg(&dest)
            .arg("--textfile-dir")
            .arg(&textfile)
            .args(extra);
        run(&mut c)
    };
    // A restore test before the job's first dump (its directory not made yet) fails and says
    // so, and records its run: RestoreTestFailed, not silence.
    let restore = || {
        let mut c = server.cmd(&umask);
        c.arg(scripts.join("restore-postgres.sh"));
        c.env("PGDATABASE", db).args(["--test", "--job", "daily", "--service", "db", "--dest"]);
        c.arg(&dest).arg("--textfile-dir").arg(&textfile);
        run(&mut c)
    };
    let (ok, out) = restore();
    assert!(!ok && out.contains("no dump of job daily"), "{out}");
    let metrics = textfile_metrics(&textfile.join("sightline_restore_test_daily.prom"));
    assert!(metrics.contains("sightline_restore_test_last_result{backup_job=\"daily\",service=\"db\"} 0"), "{metrics}");
    assert!(metrics.contains("sightline_restore_test_last_run_timestamp_seconds{"), "{metrics}");
    assert!(!metrics.contains("sightline_restore_test_last_success_timestamp_seconds{"), "{metrics}");
    let (ok, out) = backup(&[]);
    assert!(ok, "backup: {out}");
    let job_dir = dest.join("daily");
    let first = dumps(&job_dir);
    assert_eq!(first.len(), 1, "{first:?}");
    assert!(job_dir.join(format!("{}.sha256", first[0])).exists());
    let metrics = textfile_metrics(&textfile.join("sightline_backup_daily.prom"));
    assert!(metrics.contains("sightline_backup_last_result{backup_job=\"daily\",service=\"db\"} 1"), "{metrics}");
    assert!(metrics.contains("sightline_backup_last_success_timestamp_seconds{"));

    // A corrupt copy is refused by verification.
    let dump = job_dir.join(&first[0]);
    let (ok, out) = run(server.cmd(scripts.join("verify-backup.sh")).arg(&dump));
    assert!(ok, "a good dump verifies: {out}");
    let mut bytes = std::fs::read(&dump).unwrap();
    let corrupt = work.path().join("corrupt.dump.gz");
    let mid = bytes.len() / 2;
    for b in &mut bytes[mid..mid + 64] {
        *b ^= 0x5a;
    }
    std::fs::write(&corrupt, &bytes).unwrap();
    let (ok, out) = run(server.cmd(scripts.join("verify-backup.sh")).arg(&corrupt));
    assert!(!ok, "a corrupt dump must not verify: {out}");
    let truncated = work.path().join("truncated.dump.gz");
    std::fs::write(&truncated, &std::fs::read(&dump).unwrap()[..mid]).unwrap();
    assert!(!run(server.cmd(scripts.join("verify-backup.sh")).arg(&truncated)).0, "a truncated dump must not verify");

    // A run whose dump is broken fails, keeps nothing, and records the failure.
    let fake = work.path().join("fakebin");
    std::fs::create_dir_all(&fake).unwrap();
    std::fs::write(fake.join("pg_dump"), format!("#!/bin/sh\n{PG_BIN}/pg_dump \"$@\" | head -c 2000\n")).unwrap();
    std::fs::set_permissions(fake.join("pg_dump"), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let mut c = server.cmd(&umask);
    c.arg(scripts.join("backup-postgres.sh"));
    c.env("PATH", format!("{}:{PG_BIN}:{}", fake.display(), std::env::var("PATH").unwrap()));
    c.env("PGDATABASE", db)
        .args(["--job", "daily", "--service", "db", "--keep", "2", "--dest"])
        .arg(&dest)
        .arg("--textfile-dir")
        .arg(&textfile);
    let (ok, out) = run(&mut c);
    assert!(!ok, "a broken dump must fail the job: {out}");
    assert_eq!(dumps(&job_dir), first, "nothing may be kept from a failed run");
    assert!(
        !std::fs::read_dir(&job_dir).unwrap().any(|e| e.unwrap().file_name().to_string_lossy().starts_with(".partial")),
        "no partial file left"
    );
    let metrics = textfile_metrics(&textfile.join("sightline_backup_daily.prom"));
    assert!(metrics.contains("sightline_backup_last_result{backup_job=\"daily\",service=\"db\"} 0"), "{metrics}");
    assert!(
        metrics.contains("sightline_backup_last_success_timestamp_seconds{"),
        "the last success time survives a failure: {metrics}"
    );

    // Drop the database and restore it: every row is back.
    server.psql("postgres", &format!("DROP DATABASE \"{db}\""));
    let (ok, out) = run(server.cmd(scripts.join("restore-postgres.sh")).args(["--into", db]).arg(&dump));
    assert!(ok, "restore: {out}");
    assert_eq!(server.psql(db, "SELECT count(*), sum(id) FROM items"), "5000|12502500");
    assert_eq!(server.psql(db, "SELECT count(*), sum(total) FROM shop.orders"), "321|77521.5");

    // Rotation: five runs with keep 2 leave the two newest.
    rotates(5, &backup, &job_dir, &first[0]);
    let shas = std::fs::read_dir(&job_dir)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().ends_with(".sha256"))
        .count();
    assert_eq!(shas, 2);

    // The restore test restores the newest dump into a scratch database and compares it with
    // what the dump holds: the live database has moved on since (a write between the nightly
    // dump and the test must not fail it).
    server.psql(
        db,
        "INSERT INTO items VALUES (100001, 'written after the dump'); DELETE FROM shop.orders WHERE id < 10;",
    );
    let mut c = server.cmd(&umask);
    c.arg(scripts.join("restore-postgres.sh"));
    c.env("PGDATABASE", db)
        .args(["--test", "--job", "daily", "--service", "db", "--dest"])
        .arg(&dest)
        .arg("--textfile-dir")
        .arg(&textfile);
    let (ok, out) = run(&mut c);
    assert!(ok, "restore test: {out}");
    let metrics = textfile_metrics(&textfile.join("sightline_restore_test_daily.prom"));
    assert!(metrics.contains("sightline_restore_test_last_result{backup_job=\"daily\",service=\"db\"} 1"), "{metrics}");
    for m in
        ["sightline_restore_test_last_run_timestamp_seconds", "sightline_restore_test_last_success_timestamp_seconds"]
    {
        assert!(metrics.contains(&format!("{m}{{backup_job=\"daily\",service=\"db\"}} ")), "{m}: {metrics}");
    }
    assert_eq!(
        server.psql("postgres", "SELECT count(*) FROM pg_database WHERE datname LIKE 'sightline_restore_test_%'"),
        "0",
        "the scratch database is dropped"
    );

    // Encrypted round trip.
    let (key, recipient) = age_key(work.path());
    let mut c = server.cmd(scripts.join("backup-postgres.sh"));
    c.env("PGDATABASE", db)
        .args(["--job", "weekly", "--service", "db", "--keep", "3", "--age-recipient", &recipient, "--dest"])
        .arg(&dest)
        .arg("--textfile-dir")
        .arg(&textfile);
    let (ok, out) = run(&mut c);
    assert!(ok, "encrypted backup: {out}");
    let enc = dumps(&dest.join("weekly"));
    assert_eq!(enc.len(), 1);
    assert!(enc[0].ends_with(".dump.gz.age"), "{enc:?}");
    let enc = dest.join("weekly").join(&enc[0]);
    assert!(!std::fs::read(&enc).unwrap().windows(5).any(|w| w == b"items"), "the dump is encrypted");
    assert!(run(server.cmd(scripts.join("verify-backup.sh")).arg("--identity").arg(&key).arg(&enc)).0);
    let (ok, out) = run(server
        .cmd(scripts.join("restore-postgres.sh"))
        .args(["--into", "decrypted", "--identity"])
        .arg(&key)
        .arg(&enc));
    assert!(ok, "encrypted restore: {out}");
    // Taken after the write above.
    assert_eq!(server.psql("decrypted", "SELECT count(*) FROM items"), "5001");
}

/// The statement docs/manifest.md gives to let a mysql job's user create the restore test's
/// scratch databases, for `user`.
pub fn documented_restore_grant(user: &str) -> String {
    let doc = std::fs::read_to_string(root().join("docs/manifest.md")).unwrap();
    let line = doc
        .lines()
        .find(|l| l.trim_start().starts_with("GRANT ALL ON `sightline"))
        .expect("docs/manifest.md gives the restore test's grant");
    line.trim().replace("'shop'", &format!("'{user}'"))
}

#[test]
fn mysql_backups_verify_rotate_restore_and_encrypt_on_a_real_mariadb() {
    require_tool("shellcheck");
    require_tool("age");
    let tree = build_into_tempdir(&root().join("tests/fixtures/ok/workers.yaml"));
    let scripts = tree.path().join("backup");
    let server = MysqlServer::start();
    let work = tempfile::tempdir().unwrap();
    let dest = work.path().join("backups");
    let textfile = work.path().join("textfile");
    // A password the scripts must carry intact, off every command line.
    let password = "pa'ss\"w\\ord $x";
    let pw = work.path().join("password");
    std::fs::write(&pw, password).unwrap();
    server
        .root_sql(&format!(
            "CREATE DATABASE shop; CREATE USER 'shop'@'%' IDENTIFIED BY '{}'; GRANT ALL ON shop.* TO 'shop'@'%'; {}",
            password.replace('\\', "\\\\").replace('\'', "''"),
            documented_restore_grant("shop")
        ))
        .unwrap();
    // Rows with what a dump's parser could trip on: quotes, parentheses, commas and semicolons
    // in strings, backslashes, binary, NULL, an empty table; a view, a routine, a trigger and
    // an event, all the application user's own.
    server.sql("shop", password, "shop", "CREATE TABLE items (id int PRIMARY KEY, name text, raw blob); INSERT INTO items SELECT seq, CONCAT('it''s (', seq, '),(;'), UNHEX('00FF275C') FROM seq_1_to_5000; CREATE TABLE `odd name` (v varchar(20)); INSERT INTO `odd name` VALUES ('a\\\\'), ('b)'), (NULL); CREATE TABLE empty_t (x int); CREATE VIEW v AS SELECT id FROM items; CREATE PROCEDURE p() SELECT 1; CREATE TRIGGER tr BEFORE INSERT ON empty_t FOR EACH ROW SET NEW.x = NEW.x + 1; CREATE EVENT e ON SCHEDULE EVERY 1 DAY DO DELETE FROM empty_t;");
    // What a row counter could take for rows or tables: an INSERT in a trigger's body (on a line
    // of its own, as a dump writes the body as written), a name with a backtick, a
    // system-versioned table (not a BASE TABLE to information_schema).
    server.sql("shop", password, "shop", "CREATE TABLE log (id int); CREATE TRIGGER audit AFTER INSERT ON items FOR EACH ROW\nINSERT INTO `log` VALUES (NEW.id), (NEW.id); CREATE TABLE `a``b` (v int); INSERT INTO `a``b` VALUES (1), (2); CREATE TABLE hist (v int) WITH SYSTEM VERSIONING; INSERT INTO hist VALUES (1), (2);");

    let umask = work.path().join("umask077");
    std::fs::write(&umask, "#!/bin/sh\numask 077\nexec \"$@\"\n").unwrap();
    std::fs::set_permissions(&umask, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let script = |name: &str, password_file: &Path, args: &[&str]| {
        let mut c = server.cmd(&umask, "shop", password_file);
        c.arg(scripts.join(name)).env("MYSQL_DATABASE", "shop").args(args);
        c.arg("--dest").arg(&dest).arg("--textfile-dir").arg(&textfile);
        run(&mut c)
    };
    let backup = |extra: &[&str]| {
        let mut args = vec!["--job", "shop-nightly", "--service", "db", "--keep", "2", "--compress", "zstd"];
        args.extend(extra);
        script("backup-mysql.sh", &pw, &args)
    };
    let (ok, out) = backup(&[]);
    assert!(ok, "backup: {out}");
    let job_dir = dest.join("shop-nightly");
    let first = dumps(&job_dir);
    assert_eq!(first.len(), 1, "{first:?}");
    assert!(first[0].ends_with(".sql.zst"), "{first:?}");
    assert!(job_dir.join(format!("{}.sha256", first[0])).exists());
    let metrics = textfile_metrics(&textfile.join("sightline_backup_shop-nightly.prom"));
    assert!(
        metrics.contains("sightline_backup_last_result{backup_job=\"shop-nightly\",service=\"db\"} 1"),
        "{metrics}"
    );
    assert!(!out.contains(password), "the password is never printed: {out}");

    // Verification: the good dump passes; a corrupt copy, and one cut short (whole zstd frames,
    // without mariadb-dump's last line), do not.
    let dump = job_dir.join(&first[0]);
    let (ok, out) = run(Command::new(scripts.join("verify-backup.sh")).arg(&dump));
    assert!(ok && out.contains("6 tables"), "a good dump verifies: {out}");
    let mut bytes = std::fs::read(&dump).unwrap();
    let mid = bytes.len() / 2;
    for b in &mut bytes[mid..mid + 64] {
        *b ^= 0x5a;
    }
    let corrupt = work.path().join("corrupt.sql.zst");
    std::fs::write(&corrupt, &bytes).unwrap();
    assert!(!run(Command::new(scripts.join("verify-backup.sh")).arg(&corrupt)).0, "a corrupt dump must not verify");
    let plain = run(Command::new("zstd").args(["-dc"]).arg(&dump)).1;
    let cut = work.path().join("cut.sql");
    std::fs::write(&cut, &plain[..plain.len() * 9 / 10]).unwrap();
    let (ok, out) = run(Command::new(scripts.join("verify-backup.sh")).arg(&cut));
    assert!(!ok && out.contains("cut short"), "a dump cut short must not verify: {out}");

    // A run with a wrong password fails, keeps nothing, and records the failure beside the last
    // success.
    let wrong = work.path().join("wrong");
    std::fs::write(&wrong, "not the password").unwrap();
    let (ok, out) = script("backup-mysql.sh", &wrong, &["--job", "shop-nightly", "--service", "db", "--keep", "2"]);
    assert!(!ok, "a wrong password must fail the job: {out}");
    assert_eq!(dumps(&job_dir), first, "nothing may be kept from a failed run");
    let metrics = textfile_metrics(&textfile.join("sightline_backup_shop-nightly.prom"));
    assert!(
        metrics.contains("sightline_backup_last_result{backup_job=\"shop-nightly\",service=\"db\"} 0"),
        "{metrics}"
    );
    assert!(metrics.contains("sightline_backup_last_success_timestamp_seconds{"), "{metrics}");

    // Restored into another database: every row, byte for byte.
    let mut c = server.cmd(scripts.join("restore-mysql.sh"), "shop", &pw);
    let (ok, out) = run(c.args(["--into", "sightline_restore_test_copy"]).arg(&dump));
    assert!(ok, "restore: {out}");
    let sums = "SELECT COUNT(*), SUM(id), MD5(GROUP_CONCAT(name, HEX(raw) ORDER BY id)) FROM items";
    assert_eq!(
        server.sql("shop", password, "sightline_restore_test_copy", sums),
        server.sql("shop", password, "shop", sums)
    );
    assert_eq!(
        server.sql(
            "shop",
            password,
            "sightline_restore_test_copy",
            "SELECT GROUP_CONCAT(COALESCE(v, 'NULL') ORDER BY v) FROM `odd name`"
        ),
        "NULL,a\\\\,b)"
    );
    server.root_sql("DROP DATABASE sightline_restore_test_copy").unwrap();

    // Rotation: three more runs with keep 2 leave the two newest.
    rotates(3, &backup, &job_dir, &first[0]);

    // The restore test passes on the newest dump though the live database has moved on.
    server.sql(
        "shop",
        password,
        "shop",
        "INSERT INTO items VALUES (100001, 'after the dump', NULL); DELETE FROM `odd name`;",
    );
    let (ok, out) = script("restore-mysql.sh", &pw, &["--test", "--job", "shop-nightly", "--service", "db"]);
    assert!(ok && out.contains("6 tables"), "restore test: {out}");
    assert!(
        textfile_metrics(&textfile.join("sightline_restore_test_shop-nightly.prom"))
            .contains("sightline_restore_test_last_result{backup_job=\"shop-nightly\",service=\"db\"} 1")
    );
    assert_eq!(
        server
            .root_sql(
                "SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name LIKE 'sightline_restore_test_%'"
            )
            .unwrap(),
        "0",
        "the scratch database is dropped"
    );

    // Encrypted round trip.
    let (key, recipient) = age_key(work.path());
    let (ok, out) = script(
        "backup-mysql.sh",
        &pw,
        &["--job", "weekly", "--service", "db", "--keep", "1", "--age-recipient", &recipient],
    );
    assert!(ok, "encrypted backup: {out}");
    let enc = dumps(&dest.join("weekly"));
    assert!(enc.len() == 1 && enc[0].ends_with(".sql.gz.age"), "{enc:?}");
    let enc = dest.join("weekly").join(&enc[0]);
    assert!(run(Command::new(scripts.join("verify-backup.sh")).arg("--identity").arg(&key).arg(&enc)).0);
    let mut c = server.cmd(scripts.join("restore-mysql.sh"), "shop", &pw);
    let (ok, out) = run(c.args(["--into", "sightline_restore_test_decrypted", "--identity"]).arg(&key).arg(&enc));
    assert!(ok, "encrypted restore: {out}");
    assert_eq!(server.sql("shop", password, "sightline_restore_test_decrypted", "SELECT COUNT(*) FROM items"), "5001");
}

#[test]
fn every_script_passes_shellcheck_and_has_help() {
    let shellcheck = require_tool("shellcheck");
    // The runner's Dockerfile needs it: missing, the test fails here.
    require_tool("hadolint");
    for m in manifests() {
        let dir = build_into_tempdir(&m);
        let b = dir.path().join("backup");
        if !b.exists() {
            continue;
        }
        let scripts: Vec<PathBuf> = std::fs::read_dir(&b)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "sh"))
            .collect();
        // The shared scripts and the entrypoint, and a dump and a restore script per engine.
        let names: Vec<String> =
            scripts.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
        for common in ["backup-common.sh", "restore-common.sh", "verify-backup.sh", "entrypoint.sh"] {
            assert!(names.iter().any(|n| n == common), "{}: no {common}", m.display());
        }
        for engine in ["postgres", "mysql"] {
            let pair = [format!("backup-{engine}.sh"), format!("restore-{engine}.sh")];
            let has = pair.iter().filter(|p| names.contains(p)).count();
            assert!(has == 0 || has == 2, "{}: {names:?}", m.display());
        }
        assert_eq!(
            scripts.len(),
            4 + 2 * names.iter().filter(|n| n.starts_with("backup-") && *n != "backup-common.sh").count()
        );
        let (ok, out) = run(Command::new(&shellcheck).args(&scripts));
        assert!(ok, "{}: shellcheck:\n{out}", m.display());
        // The runner's Dockerfile passes hadolint, down to its notes (what it leaves out on
        // purpose says so in an ignore comment with the reason).
        let (clean, out) = crate::support::hadolint(&b.join("Dockerfile"));
        assert!(clean, "{}: hadolint:\n{out}", m.display());
        // The libraries are sourced, not run.
        for s in
            scripts.iter().filter(|s| !s.ends_with("entrypoint.sh") && !s.to_string_lossy().ends_with("-common.sh"))
        {
            let (ok, out) = run(Command::new("bash").arg(s).arg("--help"));
            assert!(ok && out.contains("Usage:"), "{}: {} --help: {out}", m.display(), s.display());
        }
    }
}

#[test]
fn every_job_is_scheduled_and_watched() {
    for m in manifests() {
        let checked = sightline::check(&m.to_string_lossy(), &std::fs::read(&m).unwrap());
        let stack = sightline::ir::lower(checked.manifest.as_ref().unwrap(), "m");
        let Some(b) = &stack.backups else { continue };
        let dir = build_into_tempdir(&m);
        let crontab = std::fs::read_to_string(dir.path().join("backup/crontab")).unwrap();
        let rules = std::fs::read_to_string(dir.path().join("prometheus/rules/backups.yml")).unwrap();
        // Each job by its database's engine: PostgreSQL's scripts or MySQL's.
        let engine = |j: &sightline::ir::BackupJob| {
            let s = stack.services.iter().find(|s| s.name == j.service).unwrap();
            if s.kind == sightline::manifest::model::Kind::Mysql { "mysql" } else { "postgres" }
        };
        for j in &b.jobs {
            let line = crontab
                .lines()
                .find(|l| l.contains(&format!("--job '{}'", j.name)) && l.contains(&format!("backup-{}.sh", engine(j))))
                .unwrap_or_else(|| panic!("{}: {} not in the crontab", m.display(), j.name));
            assert!(line.starts_with(&format!("{} ", j.schedule.normalized())), "{line}");
            assert!(rules.contains(&format!("backup_job=\"{}\"", j.name)) && rules.contains("BackupStale"));
        }
        if b.restore_test.is_some() {
            for j in &b.jobs {
                assert!(crontab.contains(&format!("restore-{}.sh --test", engine(j))), "{}: {}", m.display(), j.name);
            }
        }
        // supercronic reads the crontab as written, each job's schedule whole (the command is
        // not taken for a sixth or seventh field), at the runs sightline's alerts expect.
        let (ok, out) =
            run(Command::new(require_tool("supercronic")).arg("-test").arg(dir.path().join("backup/crontab")));
        assert!(ok, "{}: supercronic -test: {out}", m.display());
        let runs = supercronic_runs(&crontab, FROM, 50);
        let lines: Vec<&str> =
            crontab.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty() && l != &"CRON_TZ=UTC").collect();
        assert_eq!(runs.len(), lines.len(), "{}: every line is a job", m.display());
        for (line, (schedule, theirs)) in lines.iter().zip(&runs) {
            let cron = sightline::manifest::values::Cron::parse(schedule).unwrap();
            assert!(
                line.starts_with(&format!("{schedule} PGHOST="))
                    || line.starts_with(&format!("{schedule} MYSQL_HOST=")),
                "{line}"
            );
            assert_eq!(theirs, &sightline_runs(&cron, FROM, 50), "{}: {line}", m.display());
        }
    }
}

/// The runs supercronic schedules for each job of `crontab`, by its own parser and schedule
/// (`cron-next`, built on its module at the stack's release): (schedule, runs) per job.
fn supercronic_runs(crontab: &str, from: &str, n: usize) -> Vec<(String, Vec<String>)> {
    let mut child = Command::new(require_tool("cron-next"))
        .args([from, &n.to_string()])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(crontab.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "supercronic refuses the crontab:\n{crontab}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let (schedule, runs) = l.split_once('\t').unwrap();
            (schedule.to_string(), runs.split(' ').filter(|r| !r.is_empty()).map(String::from).collect())
        })
        .collect()
}

/// The runs sightline assumes (the staleness alerts' windows come from them), up to the end of
/// 2099, where supercronic's schedule ends (its cronexpr's years are 1970–2099).
fn sightline_runs(schedule: &sightline::manifest::values::Cron, from: &str, n: usize) -> Vec<String> {
    use chrono::Datelike;
    let start = chrono::DateTime::parse_from_rfc3339(from).unwrap().with_timezone(&chrono::Utc);
    schedule
        .schedule()
        .iter_after(start)
        .take(n)
        .take_while(|t| t.year() < 2100)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .collect()
}

const FROM: &str = "2025-01-01T00:00:00Z";

// Steps, ranges, lists, names in either case, Sunday as 0 and 7, a day of the month and
// of the week together (either one matches), a leap day, the 31st.
const CORPUS: [&str; 23] = [
    "0 2 * * *",
    "*/15 * * * *",
    "5,55 * * * *",
    "0 9,17 * * *",
    "* * * * 1-5",
    "* 8-18 * * 1-5",
    "0 3 * * sun",
    "0 3 * * SUN",
    "0 12 * * 0",
    "0 12 * * 7",
    "0 4 1 * *",
    "0 0 29 2 *",
    "0 0 31 * *",
    "0 0 1 * mon",
    "30 4 1,15 * fri",
    "0 0 * jan-jun mon-fri",
    "10-50/20 */3 * * *",
    "15 2 */2 * *",
    "0 0 1 */3 *",
    "0   6  *  *  sat,sun",
    "0 0 1 * */1",
    "0 0 1 * */01",
    "0 3 * * 0,7",
];

#[test]
fn supercronic_runs_every_schedule_sightline_accepts_when_sightline_expects() {
    require_tool("supercronic");
    let mut crontab = String::from("CRON_TZ=UTC\n");
    let mut parsed = Vec::new();
    for text in CORPUS {
        let cron = sightline::manifest::values::Cron::parse(text).unwrap_or_else(|e| panic!("{text}: {e:?}"));
        crontab.push_str(&format!("{} PGHOST=db true\n", cron.normalized()));
        parsed.push(cron);
    }
    let runs = supercronic_runs(&crontab, FROM, 300);
    assert_eq!(runs.len(), CORPUS.len(), "one schedule per job: {runs:?}");
    for (cron, (schedule, theirs)) in parsed.iter().zip(&runs) {
        assert_eq!(schedule, &cron.normalized(), "supercronic reads the schedule sightline wrote");
        assert_eq!(
            theirs,
            &sightline_runs(cron, FROM, 300),
            "{schedule}: supercronic and sightline disagree on its runs"
        );
    }
}

#[test]
fn hostile_names_are_refused_before_they_reach_a_shell() {
    let base = "version: 1\nstack: shop\nenvironment: prod\nservices:\n  db: { kind: postgres, port: 5432, database: DB, user: app, password: { env: PGPASSWORD } }\nbackups:\n  jobs: [ { name: JOB, service: db, schedule: \"0 2 * * *\", keep: 3 } ]\n";
    for (field, value) in
        [("DB", "\"x'; rm -rf /; '\""), ("DB", "\"$(reboot)\""), ("JOB", "\"daily; rm -rf /\""), ("JOB", "\"`id`\"")]
    {
        let other = if field == "DB" { ("JOB", "daily") } else { ("DB", "app") };
        let text = base.replace(field, value).replace(other.0, other.1);
        let checked = sightline::check("hostile.yaml", text.as_bytes());
        assert!(checked.has_errors(), "{value} for {field} was accepted");
        assert!(sightline::plan(&checked).is_none());
    }
}

/// A destination of the runner's own passes; one at or above what the runner needs or mounts,
/// or under what holds mounts, is SL409, compared as Docker resolves it (`//tmp/` is `/tmp`,
/// `/var/run` is `/run` in the Debian image).
#[test]
fn the_dumps_volume_goes_only_where_nothing_else_is() {
    let manifest = |dest: &str| {
        format!(
            "version: 1\nstack: shop\nenvironment: prod\nservices:\n  db: {{ kind: postgres, image: \"postgres:16.4\", port: 5432, database: app, user: app, password: {{ env: PGPASSWORD }} }}\nbackups:\n  destination: {dest}\n  jobs: [ {{ name: nightly, service: db, schedule: \"0 2 * * *\", keep: 3 }} ]\n"
        )
    };
    let refused = |dest: &str| {
        let checked = sightline::check("dest.yaml", manifest(dest).as_bytes());
        checked.diagnostics.iter().any(|d| d.code == sightline::code::Code::ContainerSetting)
    };
    for ok in ["/backups", "/srv/dumps", "/backups/", "/var/log", "/usr/local/dumps", "/tmp/dumps", "/data"] {
        assert!(!refused(ok), "{ok} is refused");
    }
    for bad in [
        "/",
        "//tmp/",
        "/tmp",
        "/var",
        "/opt",
        "/opt/sightline/dumps",
        "/var/lib/node_exporter",
        "/var/lib/node_exporter/textfile/x",
        "/run/sightline",
        "/var/run/sightline",
        "/var/run/secrets",
        "/var/lib/postgresql",
        "/var/lib/postgresql/data/dumps",
        "/backups/../etc",
        "/proc/x",
        "/usr",
    ] {
        assert!(refused(bad), "{bad} is accepted");
    }
}

/// The value of a series of the Pushgateway's `/metrics` whose line starts with `selector`.
fn pushed(port: u16, selector: &str) -> Option<String> {
    let answer = crate::support::http_get(port, "/metrics").unwrap();
    answer.lines().find(|l| l.starts_with(selector)).map(|l| l.rsplit(' ').next().unwrap().to_string())
}

#[test]
fn backups_and_restore_tests_push_their_results_to_a_pushgateway() {
    // The scripts with `--pushgateway` (what a runner without node-exporter's textfile
    // collector reports through), against a real PostgreSQL server and the Pushgateway the
    // stack runs: each result in its job's group with its labels; a failure pushes its result
    // and leaves the last success and size as they were; a Pushgateway that does not answer
    // fails the run but keeps the dump; a URL that is not one is refused before anything runs.
    let (tree, setup, server, work) = faceless_db();
    let (scripts, dest) = (tree.path().join("backup"), work.path().join("backups"));
    server.create_database("shop", &setup);
    server.psql("shop", "CREATE TABLE items (id int); INSERT INTO items SELECT generate_series(1, 100);");
    let (gateway, port) = crate::support::pushgateway(&[], &work.path().join("pushgateway.log"));
    let url = format!("http://127.0.0.1:{port}");
    let script = |name: &str, db: &str, args: &[&str]| {
        let mut c = server.cmd(scripts.join(name));
        c.env("PGDATABASE", db).args(["--job", "nightly", "--service", "db", "--dest"]).arg(&dest).args(args);
        run(&mut c)
    };
    let series = |metric: &str, group: &str| {
        format!("{metric}{{backup_job=\"nightly\",instance=\"\",job=\"sightline_{group}\",service=\"db\"}} ")
    };
    let (ok, out) = script("backup-postgres.sh", "shop", &["--keep", "2", "--pushgateway", &url]);
    assert!(ok, "{out}");
    assert_eq!(pushed(port, &series("sightline_backup_last_result", "backup")).as_deref(), Some("1"));
    let success = pushed(port, &series("sightline_backup_last_success_timestamp_seconds", "backup")).unwrap();
    let size = pushed(port, &series("sightline_backup_last_size_bytes", "backup")).unwrap();
    assert_eq!(
        size,
        std::fs::metadata(dest.join("nightly").join(&dumps(&dest.join("nightly"))[0])).unwrap().len().to_string()
    );

    // A run that fails: its result, its time; the last success and size stay.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let (ok, out) = script("backup-postgres.sh", "missing", &["--keep", "2", "--pushgateway", &url]);
    assert!(!ok, "{out}");
    assert_eq!(pushed(port, &series("sightline_backup_last_result", "backup")).as_deref(), Some("0"));
    assert_eq!(pushed(port, &series("sightline_backup_last_success_timestamp_seconds", "backup")), Some(success));
    assert_eq!(pushed(port, &series("sightline_backup_last_size_bytes", "backup")), Some(size));

    // The restore test, in a group of its own.
    let (ok, out) = script("restore-postgres.sh", "shop", &["--test", "--pushgateway", &url]);
    assert!(ok, "{out}");
    assert_eq!(pushed(port, &series("sightline_restore_test_last_result", "restore_test")).as_deref(), Some("1"));
    assert_eq!(pushed(port, &series("sightline_backup_last_result", "backup")).as_deref(), Some("0"));

    // No Pushgateway there: the run fails and says so, the dump is kept.
    drop(gateway);
    let before = dumps(&dest.join("nightly")).len();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let (ok, out) = script("backup-postgres.sh", "shop", &["--keep", "5", "--pushgateway", &url]);
    assert!(!ok && out.contains("did not take the metrics"), "{out}");
    assert_eq!(dumps(&dest.join("nightly")).len(), before + 1, "{out}");
    // Not a URL it can push to: refused before anything runs.
    for bad in ["https://pushgateway:9091", "pushgateway:9091", "http://push gateway"] {
        let (ok, out) = script("backup-postgres.sh", "shop", &["--keep", "5", "--pushgateway", bad]);
        assert!(!ok && out.contains("--pushgateway must be"), "{bad}: {out}");
    }
    assert_eq!(dumps(&dest.join("nightly")).len(), before + 1);
}

#[test]
fn kubernetes_runs_every_backup_schedule_it_takes_when_sightline_expects() {
    // The backups' CronJobs on Kubernetes: the API server's and the CronJob controller's cron
    // parser (robfig/cron's ParseStandard, `tools/kube_cron`), in the CronJobs' time zone,
    // runs each schedule of the corpus when sightline's alerts expect; the one it refuses
    // (Sunday as 7) sightline refuses on Kubernetes (SL906).
    let tool = require_tool("kube-cron");
    let schedules: Vec<sightline::manifest::values::Cron> =
        CORPUS.iter().map(|t| sightline::manifest::values::Cron::parse(t).unwrap()).collect();
    let input: String = schedules.iter().map(|c| format!("{}\n", c.normalized())).collect();
    let mut child = Command::new(tool)
        .args([FROM, "300", "Etc/UTC"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let lines: Vec<String> = String::from_utf8(out.stdout).unwrap().lines().map(String::from).collect();
    assert_eq!(lines.len(), schedules.len());
    let mut misread = 0;
    for (cron, line) in schedules.iter().zip(&lines) {
        let (schedule, runs) = line.split_once('\t').unwrap();
        assert_eq!(schedule, cron.normalized());
        let manifest = format!(
            "version: 1\nstack: shop\nenvironment: prod\nplatform: kubernetes\nservices:\n  db: {{ kind: postgres, port: 5432, database: shop, user: shop, password: {{ env: PGPASSWORD }} }}\nbackups:\n  jobs: [ {{ name: nightly, service: db, schedule: \"{schedule}\", keep: 3 }} ]\n"
        );
        let checked = sightline::check("stack.yaml", manifest.as_bytes());
        let sl906 = checked.diagnostics.iter().any(|d| d.code == sightline::code::Code::KubernetesSchedule);
        // (To the end of 2099, as `sightline_runs` goes.)
        let theirs: Vec<String> = runs.split(' ').take_while(|r| *r < "2100").map(String::from).collect();
        let agree = !runs.starts_with("refused:") && theirs == sightline_runs(cron, FROM, 300);
        // Either Kubernetes runs it when sightline expects, or sightline refuses it there.
        assert_eq!(sl906, !agree, "{schedule}: Kubernetes: {runs:.80}, SL906: {sl906}");
        misread += usize::from(sl906);
    }
    assert_eq!(misread, 4, "Sunday as 7 (alone and in a list), */1, */01");
}

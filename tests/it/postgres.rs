//! Query statistics on a real PostgreSQL server: started with the options the generated compose
//! file gives the `db` service, with a database that already holds data (an existing volume),
//! then brought up by the `db-query-stats` job's script, the database has a pg_stat_statements
//! view with the columns postgres_exporter's stat_statements collector reads
//! (collector/pg_stat_statements.go of v0.20.1, the PostgreSQL 13–16 query), and the statements
//! run show up in it. Without the server options the same read fails, so the test proves the
//! setup is what makes the query-time panels work. `query_stats: false` turns all of it off.

use crate::pg_server::{ComposeSetup, Server, compose_setup};
use crate::support::{build_into_tempdir, root, run};
use std::path::Path;
use std::process::Command;

/// The columns the exporter's collector selects (PostgreSQL 13 to 16), per statement.
const EXPORTER_READ: &str = "SELECT pg_get_userbyid(s.userid), d.datname, s.queryid, s.calls, \
     s.total_exec_time / 1000.0, s.rows, s.blk_read_time / 1000.0, s.blk_write_time / 1000.0 \
     FROM pg_stat_statements(false) s JOIN pg_database d ON d.oid = s.dbid";

#[test]
fn the_generated_server_setup_records_query_statistics() {
    let tree = build_into_tempdir(&root().join("examples/faceless-staging.yaml"));
    let setup = compose_setup(tree.path(), "db");
    let job = setup.job.as_ref().expect("the db service has a query-stats job");
    assert!(!setup.options.is_empty(), "the db server is started with pg_stat_statements");
    let (ok, out) = run(Command::new(crate::support::require_tool("shellcheck")).arg(&job.script));
    assert!(ok, "shellcheck:\n{out}");
    let server = Server::start(&setup.options);
    // A data directory from before sightline: the database and its data exist already.
    server.psql("postgres", "CREATE DATABASE faceless");
    server.psql("faceless", "CREATE TABLE t (id int); INSERT INTO t SELECT generate_series(1, 1000);");
    for round in 0..2 {
        let (ok, out) = server.run_job("faceless", job);
        assert!(ok, "round {round}: {out}");
        assert!(!out.contains("NOTICE"), "a second run is quiet: {out}");
    }
    for _ in 0..3 {
        server.psql("faceless", "SELECT pg_sleep(0.05), count(*) FROM t");
    }
    let rows = server.psql(
        "faceless",
        &format!("SELECT datname, calls, secs FROM ({EXPORTER_READ}) AS r(usr, datname, queryid, calls, secs, nrows, br, bw) WHERE queryid IN (SELECT queryid FROM pg_stat_statements WHERE query LIKE '%pg_sleep%')"),
    );
    let fields: Vec<&str> = rows.split('|').collect();
    assert_eq!(fields.len(), 3, "one row for the sleeping statement: {rows}");
    assert_eq!(fields[0], "faceless");
    assert_eq!(fields[1], "3", "three calls: {rows}");
    let secs: f64 = fields[2].parse().unwrap();
    assert!(secs >= 0.15, "three 50 ms sleeps take at least 0.15 s: {rows}");

    // Without the server options the job still creates the extension, but the view cannot be
    // read.
    let bare = Server::start(&[]);
    bare.create_database("faceless", &setup);
    let (ok, out) = run(bare.cmd("psql").args(["-X", "-v", "ON_ERROR_STOP=1", "-d", "faceless", "-c", EXPORTER_READ]));
    assert!(!ok && out.contains("shared_preload_libraries"), "{out}");
}

/// The job's password reaches psql from the secret file (or from `PGPASSWORD`, when the script
/// is run by hand), and a secret file that cannot be read stops the job before it connects.
#[test]
fn the_query_stats_job_passes_its_password_to_psql() {
    let tree = build_into_tempdir(&root().join("examples/faceless-staging.yaml"));
    let job = compose_setup(tree.path(), "db").job.unwrap();
    // The manifest's `{ env: POSTGRES_PASSWORD }` reaches the job as the seeded file, never
    // in its environment.
    assert!(
        job.env.iter().any(|(k, v)| k == "PGPASSWORD_FILE" && v == "/run/sightline-secrets/POSTGRES_PASSWORD"),
        "{:?}",
        job.env
    );
    assert!(!job.env.iter().any(|(k, _)| k == "PGPASSWORD"), "{:?}", job.env);
    let work = tempfile::tempdir().unwrap();
    // A psql that shows what it was given.
    let bin = work.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    std::fs::write(bin.join("psql"), "#!/bin/sh\necho \"password=$PGPASSWORD args=$*\"\n").unwrap();
    std::fs::set_permissions(bin.join("psql"), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let secret = work.path().join("pg_password");
    std::fs::write(&secret, "from-file\n").unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let job_run = |env: &[(&str, &Path)]| {
        let mut c = Command::new("sh");
        c.arg(&job.script).env_clear().env("PATH", &path).env("PGDATABASE", "faceless");
        for (k, v) in env {
            c.env(k, v);
        }
        run(&mut c)
    };
    let (ok, out) = job_run(&[("PGPASSWORD_FILE", &secret)]);
    assert!(ok && out.contains("password=from-file args="), "{out}");
    assert!(out.contains("CREATE EXTENSION IF NOT EXISTS pg_stat_statements"), "{out}");
    let (ok, out) = job_run(&[("PGPASSWORD", Path::new("from-env"))]);
    assert!(ok && out.contains("password=from-env "), "{out}");
    // A secret that cannot be read: no connection, a message, and the job still completes (the
    // exporter waits for it).
    let (ok, out) = job_run(&[("PGPASSWORD_FILE", &work.path().join("missing"))]);
    assert!(ok && !out.contains("password=") && out.contains("cannot read the password file"), "{out}");
}

/// The job never holds the exporter back: a user who may not create the extension, or a server
/// that never answers, ends the job with exit 0 and says why; the server's refusal is not
/// retried, a server that does not answer is.
#[test]
fn the_query_stats_job_completes_when_it_cannot_create_the_extension() {
    let tree = build_into_tempdir(&root().join("examples/faceless-staging.yaml"));
    let setup = compose_setup(tree.path(), "db");
    let job = setup.job.as_ref().unwrap();
    let server = Server::start(&setup.options);
    server.psql("postgres", "CREATE DATABASE faceless");
    server.psql("postgres", "CREATE ROLE app LOGIN");
    let (ok, out) = run(server.cmd("sh").arg(&job.script).env("PGUSER", "app").env("PGDATABASE", "faceless"));
    assert!(ok && out.contains("refused CREATE EXTENSION"), "{out}");
    assert!(out.matches("permission denied").count() == 1, "one attempt: {out}");
    assert_eq!(server.psql("faceless", "SELECT count(*) FROM pg_extension WHERE extname = 'pg_stat_statements'"), "0");

    let start = std::time::Instant::now();
    let (ok, out) = run(server
        .cmd("sh")
        .arg(&job.script)
        .env("PGHOST", "/nonexistent")
        .env("PGDATABASE", "faceless")
        .env("QUERY_STATS_ATTEMPTS", "2"));
    assert!(ok && out.contains("did not answer after 2 attempts"), "{out}");
    assert!(start.elapsed() >= std::time::Duration::from_secs(2), "it waited between attempts");
}

/// The faceless example with `from` replaced by `to` once, built.
fn build_variant(from: &str, to: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("stack.yaml");
    let text = std::fs::read_to_string(root().join("examples/faceless-staging.yaml")).unwrap();
    assert!(text.contains(from), "{from:?}");
    std::fs::write(&manifest, text.replacen(from, to, 1)).unwrap();
    build_into_tempdir(&manifest)
}

#[test]
fn query_stats_off_sets_up_nothing() {
    let tree = build_variant("    kind: postgres\n", "    kind: postgres\n    query_stats: false\n");
    let ComposeSetup { options, job } = compose_setup(tree.path(), "db");
    assert!(options.is_empty() && job.is_none());
    assert!(!Path::new(&tree.path().join("postgres")).exists());
    let compose = std::fs::read_to_string(tree.path().join("compose.yaml")).unwrap();
    assert!(!compose.contains("stat_statements"));
    let db = std::fs::read_to_string(tree.path().join("grafana/dashboards/services-postgres.json")).unwrap();
    assert!(!db.contains("pg_stat_statements") && !db.contains("stat_statements"), "no query panels");
}

/// The official image keeps its data under `/var/lib/postgresql/data` up to 17 and in a
/// per-version directory under `/var/lib/postgresql` from 18 on (it refuses to start with a
/// volume at the old path); the backup runner is built on the Debian-based official image of
/// the newest server's release (its Dockerfile runs apt-get: an Alpine base cannot build it).
#[test]
fn the_data_volume_goes_where_the_image_keeps_its_data() {
    for (image, mount, runner) in [
        ("postgres:16.4", "/var/lib/postgresql/data", "postgres:16.4"),
        ("postgres:18.1-alpine", "/var/lib/postgresql", "postgres:18.1"),
        ("postgres:17-alpine3.22", "/var/lib/postgresql/data", "postgres:17"),
        ("bitnami/postgresql:17.2.0", "/var/lib/postgresql/data", "postgres:17"),
    ] {
        let tree = build_variant("image: postgres:16.4\n", &format!("image: {image}\n"));
        let compose: serde_json::Value =
            serde_saphyr::from_str(&std::fs::read_to_string(tree.path().join("compose.yaml")).unwrap()).unwrap();
        assert_eq!(
            compose["services"]["db"]["volumes"],
            serde_json::json!([format!("db-data:{mount}"), "db-secrets:/run/sightline-secrets:ro"]),
            "{image}"
        );
        let dockerfile = std::fs::read_to_string(tree.path().join("backup/Dockerfile")).unwrap();
        assert!(dockerfile.lines().any(|l| l == format!("ARG POSTGRES_IMAGE={runner}")), "{image}:\n{dockerfile}");
    }
}

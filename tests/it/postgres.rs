//! Query statistics on a real PostgreSQL server: started with the options the generated compose
//! file gives the `db` service and initialised with the SQL it mounts, the database has a
//! pg_stat_statements view with the columns postgres_exporter's stat_statements collector reads
//! (collector/pg_stat_statements.go, the PostgreSQL 13–16 query), and the statements run show
//! up in it. Without those options the same read fails, so the test proves the setup is what
//! makes the slow-query panels work. `query_stats: false` turns all of it off.

use crate::pg_server::{ComposeSetup, Server, compose_setup};
use crate::support::{build_into_tempdir, root};
use std::path::Path;

/// The columns the exporter's collector selects (PostgreSQL 13 to 16), per statement.
const EXPORTER_READ: &str = "SELECT pg_get_userbyid(s.userid), d.datname, s.queryid, s.calls, \
     s.total_exec_time / 1000.0, s.rows, s.blk_read_time / 1000.0, s.blk_write_time / 1000.0 \
     FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid";

#[test]
fn the_generated_server_setup_records_query_statistics() {
    let tree = build_into_tempdir(&root().join("examples/faceless-staging.yaml"));
    let setup = compose_setup(tree.path(), "db");
    assert!(!setup.options.is_empty() && setup.initdb.len() == 1, "the db service is set up for query stats");
    let server = Server::start(&setup.options);
    server.create_database("faceless", &setup);
    server.psql("faceless", "CREATE TABLE t (id int); INSERT INTO t SELECT generate_series(1, 1000);");
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

    // Without the server options, the same setup cannot be read.
    let bare = Server::start(&[]);
    bare.create_database("faceless", &setup);
    let (ok, out) = crate::support::run(bare.cmd("psql").args([
        "-X",
        "-v",
        "ON_ERROR_STOP=1",
        "-d",
        "faceless",
        "-c",
        EXPORTER_READ,
    ]));
    assert!(!ok && out.contains("shared_preload_libraries"), "{out}");
}

#[test]
fn query_stats_off_sets_up_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("stack.yaml");
    let text = std::fs::read_to_string(root().join("examples/faceless-staging.yaml")).unwrap();
    let text = text.replacen("    kind: postgres\n", "    kind: postgres\n    query_stats: false\n", 1);
    assert!(text.contains("query_stats: false"));
    std::fs::write(&manifest, text).unwrap();
    let tree = build_into_tempdir(&manifest);
    let ComposeSetup { options, initdb } = compose_setup(tree.path(), "db");
    assert!(options.is_empty() && initdb.is_empty());
    assert!(!Path::new(&tree.path().join("postgres")).exists());
    let compose = std::fs::read_to_string(tree.path().join("compose.yaml")).unwrap();
    assert!(!compose.contains("stat_statements"));
    let db = std::fs::read_to_string(tree.path().join("grafana/dashboards/service-db.json")).unwrap();
    assert!(!db.contains("pg_stat_statements") && !db.contains("stat_statements"), "no query panels");
}

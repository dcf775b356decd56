//! The application's PostgreSQL servers, where sightline runs them (a `postgres` service whose
//! `image` is the official `postgres` image, whose conventions compose already relies on), set
//! up for per-query statistics (`query_stats`, default true). Derived images that preload
//! libraries of their own (TimescaleDB, Citus) are left alone: the command-line option would
//! replace their `shared_preload_libraries`.
//!
//! - the server preloads `pg_stat_statements` ([`SERVER_ARGS`], the compose `command`); the
//!   module only collects when it is loaded at start;
//! - `postgres/initdb/pg_stat_statements.sql` creates the extension. The official image runs
//!   `/docker-entrypoint-initdb.d` once, in `POSTGRES_DB`, when it creates a new data
//!   directory; on an existing one, the same statement is run once by hand (docs/outputs.md).
//!
//! postgres_exporter's stat_statements collector (`--collector.stat_statements`, see
//! `compose`) reads the view from the manifest's database; `pg_scrape_collector_success`
//! says whether it can, and the service's dashboard shows it.

use super::Artifact;
use super::paths::POSTGRES_INITDB_STATEMENTS;
use crate::ir::{Service, Stack};

/// The server options that load pg_stat_statements, after `postgres` in the compose command.
pub const SERVER_ARGS: [&str; 2] = ["-c", "shared_preload_libraries=pg_stat_statements"];

/// The exporter flag that turns its stat_statements collector on.
pub const EXPORTER_FLAG: &str = "--collector.stat_statements";

/// The statement that makes the view exist in a database.
pub const CREATE_EXTENSION: &str = "CREATE EXTENSION IF NOT EXISTS pg_stat_statements;";

/// Whether sightline runs this service's server and sets it up for query statistics.
pub fn sets_up_server(s: &Service) -> bool {
    s.image.as_ref().is_some_and(|i| i.is_official("postgres")) && s.query_stats()
}

pub fn lower(stack: &Stack) -> Vec<Artifact> {
    if !stack.services.iter().any(sets_up_server) {
        return Vec::new();
    }
    let sql = format!(
        "-- Run by the postgres image once, in POSTGRES_DB, when it creates a new data directory.\n\
         -- On an existing data directory, run it once by hand in that database.\n\
         {CREATE_EXTENSION}\n"
    );
    vec![Artifact::new(POSTGRES_INITDB_STATEMENTS, sql)]
}

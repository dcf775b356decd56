//! The application's PostgreSQL servers, where sightline runs them (a `postgres` service whose
//! `image` is the official `postgres` image, whose conventions compose already relies on): where
//! their data volume goes ([`data_mount`]), and their set-up for per-query statistics
//! (`query_stats`, default true). Derived images that preload libraries of their own
//! (TimescaleDB, Citus) are left alone: the command-line option would replace their
//! `shared_preload_libraries`.
//!
//! - the server preloads `pg_stat_statements` ([`SERVER_ARGS`], the compose `command`); the
//!   module only collects when it is loaded at start. The option overrides a
//!   `shared_preload_libraries` set in postgresql.conf or by ALTER SYSTEM (docs/manifest.md);
//! - `postgres/enable-query-stats.sh` creates the extension in the manifest's database. The
//!   one-shot job the kind declares (`kinds::postgres`, `ir::query_stats_job_name`), which
//!   compose lowers, runs it on every `up` once the server is healthy, so a data directory
//!   that already exists gets the extension too (the image's
//!   `/docker-entrypoint-initdb.d` would only run on a new one). The exporter waits for the
//!   job to complete; the job always does (exit 0), retrying a server that does not answer
//!   yet and reporting any other failure in its log, so it never holds monitoring back.
//!
//! postgres_exporter's stat_statements collector (`--collector.stat_statements`, see
//! `compose`) reads the view from the manifest's database; `pg_scrape_collector_success`
//! says whether it can, and the service's dashboard shows it.

use super::Artifact;
use super::paths::POSTGRES_QUERY_STATS_SCRIPT;
use crate::ir::{Service, Stack};

/// The server options that load pg_stat_statements, after `postgres` in the compose command.
pub const SERVER_ARGS: [&str; 2] = ["-c", "shared_preload_libraries=pg_stat_statements"];

/// The exporter flag that turns its stat_statements collector on.
pub const EXPORTER_FLAG: &str = "--collector.stat_statements";

/// Where the job sees the script.
pub const SCRIPT_MOUNT: &str = "/opt/sightline/postgres/enable-query-stats.sh";

/// The job's limits: psql and one statement.
pub const JOB_MEMORY: u64 = 64 << 20;
pub const JOB_CPUS: &str = "0.1";
/// The job's shell and psql.
pub const JOB_PIDS: u32 = 16;

pub const SCRIPT: &str = include_str!("../../templates/postgres/enable-query-stats.sh");

/// Where a postgres service's data volume is mounted. The official image keeps its data in
/// `/var/lib/postgresql/data` up to 17; from 18 on, in a per-version directory under
/// `/var/lib/postgresql`, and it refuses to start with a volume at the old path.
pub fn data_mount(s: &Service) -> &'static str {
    let official_18 = s.image.as_ref().is_some_and(|i| i.is_official("postgres") && i.major_version() >= Some(18));
    if official_18 { "/var/lib/postgresql" } else { "/var/lib/postgresql/data" }
}

/// Whether sightline runs this service's server and sets it up for query statistics.
pub fn sets_up_server(s: &Service) -> bool {
    s.image.as_ref().is_some_and(|i| i.is_official("postgres")) && s.query_stats()
}

pub fn lower(stack: &Stack) -> Vec<Artifact> {
    if !stack.services.iter().any(sets_up_server) {
        return Vec::new();
    }
    vec![Artifact::new(POSTGRES_QUERY_STATS_SCRIPT, SCRIPT.to_string())]
}

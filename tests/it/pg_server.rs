//! A PostgreSQL server for tests: Debian's package, unix socket only, in a temporary directory,
//! stopped on drop. Started with the options the generated compose file gives the server, so
//! the tests run against the server sightline configures.

use crate::support::{require_tool, run};
use std::process::Command;

pub const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

/// A PostgreSQL server on a unix socket in a temporary directory, stopped on drop.
pub struct Server {
    dir: tempfile::TempDir,
    port: u16,
}

impl Server {
    /// Start a server with these extra server options (`-c name=value` pairs, as in a compose
    /// `command` after `postgres`).
    pub fn start(options: &[String]) -> Server {
        require_tool("initdb");
        let dir = tempfile::Builder::new().prefix("sightline-pg-").tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
        let data = dir.path().join("data");
        let port = 20000 + (std::process::id() % 20000) as u16;
        let as_postgres = |args: &[&str]| {
            let mut c = if is_root() {
                let mut c = Command::new("runuser");
                c.args(["-u", "postgres", "--"]);
                c
            } else {
                Command::new(args[0])
            };
            if is_root() {
                c.arg(args[0]);
            }
            c.args(&args[1..]);
            c
        };
        let initdb = format!("{PG_BIN}/initdb");
        let (ok, out) = run(&mut as_postgres(&[
            &initdb,
            "--auth=trust",
            "--username=postgres",
            "--encoding=UTF8",
            "-D",
            data.to_str().unwrap(),
        ]));
        assert!(ok, "initdb: {out}");
        let pg_ctl = format!("{PG_BIN}/pg_ctl");
        let mut opts = format!(
            "-c listen_addresses='' -c unix_socket_directories={} -p {port} -c fsync=off",
            dir.path().display()
        );
        // pg_ctl runs the server through the shell: quote each option.
        for o in options {
            opts.push_str(&format!(" '{}'", o.replace('\'', "'\\''")));
        }
        let (ok, out) = run(&mut as_postgres(&[
            &pg_ctl,
            "-D",
            data.to_str().unwrap(),
            "-o",
            &opts,
            "-w",
            "-t",
            "60",
            "-l",
            dir.path().join("log").to_str().unwrap(),
            "start",
        ]));
        assert!(ok, "pg_ctl start: {out}");
        Server { dir, port }
    }

    /// A command with the libpq environment pointing at this server.
    pub fn cmd(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new(program);
        c.env("PGHOST", self.dir.path()).env("PGPORT", self.port.to_string()).env("PGUSER", "postgres");
        c.env("PATH", format!("{PG_BIN}:{}", std::env::var("PATH").unwrap()));
        c
    }

    pub fn psql(&self, db: &str, sql: &str) -> String {
        let (ok, out) =
            run(self.cmd("psql").args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", db, "-c", sql]));
        assert!(ok, "psql {sql}: {out}");
        out.trim().to_string()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        let mut c = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--", &format!("{PG_BIN}/pg_ctl")]);
            c
        } else {
            Command::new(format!("{PG_BIN}/pg_ctl"))
        };
        let _ = c.args(["-D", data.to_str().unwrap(), "-m", "immediate", "stop"]).output();
    }
}

pub fn is_root() -> bool {
    std::env::var("USER").map(|u| u == "root").unwrap_or(false) || uid_is_zero()
}

fn uid_is_zero() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("Uid:")).map(|l| l.split_whitespace().nth(1) == Some("0")))
        .unwrap_or(false)
}

/// What the generated compose file gives the PostgreSQL server of a service: the server options
/// after `postgres` in its `command`, and the SQL files it mounts into the official image's
/// `/docker-entrypoint-initdb.d`.
pub struct ComposeSetup {
    pub options: Vec<String>,
    pub initdb: Vec<std::path::PathBuf>,
}

pub fn compose_setup(tree: &std::path::Path, service: &str) -> ComposeSetup {
    let compose: serde_json::Value =
        serde_saphyr::from_str(&std::fs::read_to_string(tree.join("compose.yaml")).unwrap()).unwrap();
    let s = &compose["services"][service];
    let options = match s["command"].as_array() {
        Some(cmd) => {
            assert_eq!(cmd[0], "postgres", "the server command starts the image's postgres: {cmd:?}");
            cmd[1..].iter().map(|a| a.as_str().unwrap().to_string()).collect()
        }
        None => Vec::new(),
    };
    let initdb = s["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| {
            let parts: Vec<&str> = v.as_str().unwrap().split(':').collect();
            (parts[1].starts_with("/docker-entrypoint-initdb.d/")).then(|| tree.join(parts[0]))
        })
        .collect();
    ComposeSetup { options, initdb }
}

impl Server {
    /// Create `db` and run the init files in it, as the official image does for `POSTGRES_DB`
    /// on a new data directory.
    pub fn create_database(&self, db: &str, setup: &ComposeSetup) {
        self.psql("postgres", &format!("CREATE DATABASE \"{db}\""));
        for f in &setup.initdb {
            let (ok, out) = run(self
                .cmd("psql")
                .args(["-v", "ON_ERROR_STOP=1", "--no-password", "--no-psqlrc", "--dbname", db, "-f"])
                .arg(f));
            assert!(ok, "{}: {out}", f.display());
        }
    }
}

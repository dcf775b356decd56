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
            let mut c = as_postgres(args[0]);
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
        let _ = as_postgres(&format!("{PG_BIN}/pg_ctl"))
            .args(["-D", data.to_str().unwrap(), "-m", "immediate", "stop"])
            .output();
    }
}

/// `program` run as the `postgres` user: PostgreSQL refuses to run its server as root.
fn as_postgres(program: &str) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--", program]);
        c
    } else {
        Command::new(program)
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
/// after `postgres` in its `command`, and the one-shot job that compose runs against it once it
/// is healthy (`<service>-query-stats`), if there is one.
pub struct ComposeSetup {
    pub options: Vec<String>,
    pub job: Option<Job>,
}

/// A one-shot job of the compose file: the generated script its entrypoint runs (on the host)
/// and its environment.
pub struct Job {
    pub script: std::path::PathBuf,
    pub env: Vec<(String, String)>,
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
    let job = compose["services"].get(format!("{service}-query-stats")).map(|j| {
        assert_eq!(j["image"], s["image"], "the job runs the server's image");
        assert_eq!(j["depends_on"][service]["condition"], "service_healthy");
        assert_eq!(
            compose["services"][format!("{service}-exporter")]["depends_on"][format!("{service}-query-stats")]["condition"],
            "service_completed_successfully",
            "the exporter waits for the job"
        );
        let exporter = &compose["services"][format!("{service}-exporter")];
        // On the database's image with its credentials: on the server's network only, which
        // the exporter joins too.
        assert_eq!(j["networks"], s["networks"], "the job is on the server's network, and only there");
        for n in s["networks"].as_array().unwrap() {
            assert!(exporter["networks"].as_array().unwrap().contains(n), "the exporter is not on the server's {n}");
        }
        assert_eq!(j["environment"]["PGHOST"], exporter["environment"]["DATA_SOURCE_URI"].as_str().unwrap().split(':').next().unwrap());
        let entrypoint: Vec<&str> = j["entrypoint"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
        assert_eq!(entrypoint.len(), 2, "sh and the script: {entrypoint:?}");
        let script = j["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .find_map(|v| {
                // The script itself, or the directory it is in.
                let parts: Vec<&str> = v.as_str().unwrap().split(':').collect();
                let rest = entrypoint[1].strip_prefix(parts[1])?;
                (rest.is_empty() || rest.starts_with('/'))
                    .then(|| tree.join(format!("{}{rest}", parts[0])))
            })
            .expect("the job's script is mounted from the generated tree");
        let env = j["environment"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
            .collect();
        Job { script, env }
    });
    ComposeSetup { options, job }
}

impl Server {
    /// Run a compose job's script against this server, in `db`, with the job's environment; the
    /// connection (host, port, superuser) and the password are this server's.
    pub fn run_job(&self, db: &str, job: &Job) -> (bool, String) {
        let mut c = self.cmd("sh");
        c.arg(&job.script);
        for (k, v) in &job.env {
            if !matches!(k.as_str(), "PGHOST" | "PGPORT" | "PGUSER" | "PGPASSWORD" | "PGPASSWORD_FILE") {
                c.env(k, v);
            }
        }
        c.env("PGDATABASE", db);
        run(&mut c)
    }

    /// Create `db` and bring it to what compose makes of it on `up`: the server's jobs run.
    pub fn create_database(&self, db: &str, setup: &ComposeSetup) {
        self.psql("postgres", &format!("CREATE DATABASE \"{db}\""));
        if let Some(job) = &setup.job {
            let (ok, out) = self.run_job(db, job);
            assert!(ok, "{}: {out}", job.script.display());
        }
    }
}

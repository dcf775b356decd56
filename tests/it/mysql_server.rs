//! A MariaDB server for tests: Debian's package, in a temporary directory, on a TCP port of
//! loopback (the backup scripts connect over TCP, as the runner does), as Debian's `mysql`
//! user, stopped on drop. Set up as the official images set a server up: a database and its
//! user with every privilege on it, from anywhere.

use crate::support::{require_tool, run};
use std::process::{Child, Command};

pub struct Server {
    dir: tempfile::TempDir,
    child: Child,
    pub port: u16,
}

impl Server {
    pub fn start() -> Server {
        let mariadbd = require_tool("mariadbd");
        require_tool("mariadb-dump");
        let dir = tempfile::Builder::new().prefix("sightline-mariadb-").tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
        let data = dir.path().join("data");
        let (ok, out) = run(Command::new("mariadb-install-db").args([
            "--no-defaults",
            "--user=mysql",
            &format!("--datadir={}", data.display()),
            "--auth-root-authentication-method=socket",
            "--skip-test-db",
        ]));
        assert!(ok, "mariadb-install-db: {out}");
        let port = 30000 + (std::process::id() % 20000) as u16;
        let child = Command::new(mariadbd)
            .args([
                "--no-defaults",
                "--user=mysql",
                &format!("--datadir={}", data.display()),
                &format!("--socket={}", dir.path().join("sock").display()),
                &format!("--pid-file={}", dir.path().join("pid").display()),
                "--bind-address=127.0.0.1",
                &format!("--port={port}"),
                "--skip-name-resolve",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("log")).unwrap())
            .spawn()
            .unwrap();
        let server = Server { dir, child, port };
        for _ in 0..120 {
            if server.root_sql("SELECT 1").is_ok() {
                return server;
            }
            std::thread::sleep(std::time::Duration::from_millis(500));
        }
        panic!(
            "mariadbd did not start: {}",
            std::fs::read_to_string(server.dir.path().join("log")).unwrap_or_default()
        );
    }

    /// SQL as root, over the server's socket.
    pub fn root_sql(&self, sql: &str) -> Result<String, String> {
        let (ok, out) = run(Command::new("mariadb")
            .args(["--no-defaults", "-B", "-N", "-u", "root"])
            .arg(format!("--socket={}", self.dir.path().join("sock").display()))
            .args(["-e", sql]));
        if ok { Ok(out.trim().to_string()) } else { Err(out) }
    }

    /// SQL as `user` with `password`, over TCP.
    pub fn sql(&self, user: &str, password: &str, db: &str, sql: &str) -> String {
        let (ok, out) = run(Command::new("mariadb")
            .args(["--no-defaults", "-B", "-N", "--protocol=tcp", "-h", "127.0.0.1", "-P", &self.port.to_string()])
            .args(["-u", user, "-D", db, "-e", sql])
            .env("MYSQL_PWD", password));
        assert!(ok, "{sql}: {out}");
        out.trim().to_string()
    }

    /// A command with the environment the backup scripts read for this server.
    pub fn cmd(&self, program: impl AsRef<std::ffi::OsStr>, user: &str, password_file: &std::path::Path) -> Command {
        let mut c = Command::new(program);
        c.env("MYSQL_HOST", "127.0.0.1")
            .env("MYSQL_TCP_PORT", self.port.to_string())
            .env("MYSQL_USER", user)
            .env("MYSQL_PASSWORD_FILE", password_file);
        c
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

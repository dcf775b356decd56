//! Shared test helpers: paths, the upstream tools, building examples.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `../shared` beside the repository (the spec, the upstream schemas).
pub fn shared() -> PathBuf {
    let p = root().join("..").join("shared");
    assert!(p.is_dir(), "../shared must be beside the repository (it holds the spec and the upstream schemas)");
    p
}

/// Every manifest under `examples/`, sorted.
pub fn examples() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join("examples"))
        .expect("examples/ exists")
        .map(|e| e.expect("readable").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml" || e == "toml"))
        .collect();
    v.sort();
    v
}

/// Compile a manifest to its plan (path → contents); panics with the rendered diagnostics when
/// it does not compile.
pub fn plan_of(path: &Path) -> std::collections::BTreeMap<String, String> {
    let bytes = std::fs::read(path).expect("manifest readable");
    let checked = sightline::check(&path.to_string_lossy(), &bytes);
    match sightline::plan(&checked) {
        Some(p) => p.files,
        None => panic!(
            "{} does not compile:\n{}",
            path.display(),
            sightline::diagnostic::render(
                &checked.source,
                &checked.diagnostics,
                sightline::diagnostic::Format::Human,
                false
            )
        ),
    }
}

/// Write a manifest's generated tree into a fresh temporary directory, through the same
/// writer `sightline build` uses (file modes included).
pub fn build_into_tempdir(path: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let bytes = std::fs::read(path).expect("manifest readable");
    let checked = sightline::check(&path.to_string_lossy(), &bytes);
    let plan = sightline::plan(&checked).unwrap_or_else(|| panic!("{} does not compile", path.display()));
    match sightline::emit::write::write(&plan, dir.path(), false).expect("the tree is written") {
        sightline::emit::write::Outcome::Written(_) => {}
        sightline::emit::write::Outcome::Refused(c) => panic!("refused: {c:?}"),
    }
    dir
}

/// Build a manifest given as YAML text (written to a scratch `stack.yaml`) into a temporary
/// directory, as `build_into_tempdir` does.
pub fn build_yaml(text: &str) -> tempfile::TempDir {
    let scratch = tempfile::tempdir().expect("tempdir");
    let manifest = scratch.path().join("stack.yaml");
    std::fs::write(&manifest, text).expect("manifest written");
    build_into_tempdir(&manifest)
}

/// Where `scripts/tools` puts the upstream programs it builds at the stack's versions.
pub fn upstream_bin() -> PathBuf {
    if let Some(dir) = std::env::var_os("SIGHTLINE_TOOLS_BIN") {
        return PathBuf::from(dir);
    }
    let cache = std::env::var_os("SIGHTLINE_TOOLS_CACHE").map(PathBuf::from).unwrap_or_else(|| {
        std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
            .expect("HOME is set")
            .join("sightline/tools")
    });
    cache.join("bin")
}

/// The directories under `tools/` that hold `marker`, sorted, each with the programs
/// `programs` reads from it.
fn tool_dirs(marker: &str, programs: impl Fn(&std::path::Path) -> Vec<String>) -> Vec<(String, Vec<String>)> {
    let mut v: Vec<(String, Vec<String>)> = std::fs::read_dir(root().join("tools"))
        .expect("tools/ exists")
        .map(|e| e.expect("readable").path())
        .filter(|p| p.join(marker).is_file())
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), programs(&p)))
        .collect();
    v.sort();
    v
}

/// The upstream tools modules: (directory under `tools/`, the binaries its `tool` lines build).
pub fn tools_modules() -> Vec<(String, Vec<String>)> {
    tool_dirs("go.mod", |p| {
        let gomod = std::fs::read_to_string(p.join("go.mod")).expect("go.mod readable");
        let mut bins = Vec::new();
        let mut in_block = false;
        for line in gomod.lines().map(str::trim) {
            let pkg = match line {
                "tool (" => {
                    in_block = true;
                    None
                }
                ")" => {
                    in_block = false;
                    None
                }
                l if in_block => Some(l),
                l => l.strip_prefix("tool "),
            };
            if let Some(pkg) = pkg {
                bins.push(pkg.rsplit('/').next().expect("a package path").to_string());
            }
        }
        bins
    })
}

/// An upstream Go module at the release `tools/<tool>/go.mod` pins, where `go mod download`
/// puts it (its Dockerfile and test fixtures: what its image contains, responses captured from
/// real servers).
pub fn go_module_dir(tool: &str, module: &str) -> PathBuf {
    let dir = root().join("tools").join(tool);
    let gomod = std::fs::read_to_string(dir.join("go.mod")).expect("go.mod readable");
    let version = gomod
        .lines()
        .find_map(|l| l.trim().strip_prefix(&format!("{module} ")))
        .and_then(|v| v.split_whitespace().next())
        .unwrap_or_else(|| panic!("tools/{tool}/go.mod requires {module}"));
    let out = Command::new("go")
        .args(["mod", "download", "-json", &format!("{module}@{version}")])
        .current_dir(&dir)
        .env("GOFLAGS", "-mod=readonly")
        .env("GOTOOLCHAIN", "local")
        .output()
        .expect("go runs");
    assert!(out.status.success(), "go mod download {module}@{version}: {}", String::from_utf8_lossy(&out.stdout));
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).expect("go mod download -json");
    PathBuf::from(info["Dir"].as_str().expect("a module directory"))
}

/// hadolint's findings on a Dockerfile, down to its notes (style): (passed with none, output).
pub fn hadolint(dockerfile: &Path) -> (bool, String) {
    let (ok, out) = run(Command::new(require_tool("hadolint"))
        .args(["--no-color", "--failure-threshold", "style"])
        .arg(dockerfile));
    (ok && out.trim().is_empty(), out)
}

/// The programs `scripts/tools` installs from PyPI: (tools directory, its commands), sorted.
pub fn pypi_tools() -> Vec<(String, Vec<String>)> {
    tool_dirs("requirements.txt", |p| {
        let commands = std::fs::read_to_string(p.join("commands")).expect("tools/<name>/commands readable");
        commands.split_whitespace().map(String::from).collect()
    })
}

/// An upstream tool the tests need. Missing tools fail the test: `scripts/test` installs them,
/// and CI must never pass by skipping a validator. The programs of the stack itself (promtool,
/// amtool, the exporters) are taken only from `scripts/tools`' build at the stack's versions,
/// never from the system, whose release may differ.
pub fn require_tool(name: &str) -> PathBuf {
    let pinned = upstream_bin().join(name);
    if tools_modules().iter().chain(&pypi_tools()).any(|(_, bins)| bins.iter().any(|b| b == name)) {
        assert!(
            pinned.is_file(),
            "`{name}` at the stack's version is required by this test and is not built in {}; run `scripts/test` (or `scripts/tools`), which builds it",
            upstream_bin().display()
        );
        return pinned;
    }
    let found = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .chain([PathBuf::from("/usr/lib/postgresql/15/bin"), PathBuf::from("/usr/sbin")])
        .map(|d| d.join(name))
        .find(|p| p.is_file());
    match found {
        Some(p) => p,
        None => panic!("`{name}` is required by this test and is not installed; run `scripts/test`, which installs it"),
    }
}

/// A loopback port nothing listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The response (status line, headers and body) of an HTTP/1.0 request on a loopback port,
/// when something answers there.
pub fn http(port: u16, method: &str, path: &str, body: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    let head = format!("{method} {path} HTTP/1.0\r\nContent-Length: {}\r\n\r\n", body.len());
    conn.write_all(format!("{head}{body}").as_bytes()).ok()?;
    let mut out = String::new();
    conn.read_to_string(&mut out).ok()?;
    Some(out)
}

/// The response of an HTTP/1.0 GET of `path` on a loopback port, when something answers.
pub fn http_get(port: u16, path: &str) -> Option<String> {
    http(port, "GET", path, "")
}

/// The stack's Pushgateway (the release `scripts/tools` builds) with `args`, on a loopback port
/// nothing listened on, its output in `log`: the program and its port.
pub fn pushgateway(args: &[String], log: &Path) -> (Running, u16) {
    let port = free_port();
    let mut cmd = Command::new(require_tool("pushgateway"));
    cmd.args(args).arg(format!("--web.listen-address=127.0.0.1:{port}"));
    (Running::listening(&mut cmd, port, log), port)
}

/// A program started by a test, killed when the test is done with it.
pub struct Running(pub std::process::Child);

impl Running {
    /// `cmd` started with its output in `log`, once something listens on `port`.
    pub fn listening(cmd: &mut Command, port: u16, log: &Path) -> Running {
        let out = std::fs::File::create(log).unwrap();
        let child = cmd.stdout(out.try_clone().unwrap()).stderr(out).spawn().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
        let mut running = Running(child);
        for _ in 0..400 {
            // Not another program on a port taken since it was free: this one still runs.
            let exited = running.0.try_wait().unwrap();
            assert!(exited.is_none(), "{cmd:?} exited: {}", std::fs::read_to_string(log).unwrap_or_default());
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return running;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("{cmd:?} did not listen on {port}: {}", std::fs::read_to_string(log).unwrap_or_default());
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Run a command, returning (success, stdout + stderr).
pub fn run(cmd: &mut Command) -> (bool, String) {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

/// insta settings that put snapshots in the top-level `snapshots/` directory.
pub fn snapshot_settings(subdir: &str) -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path(root().join("snapshots").join(subdir));
    s.set_prepend_module_to_snapshot(false);
    s.set_omit_expression(true);
    s
}

/// A validator for a schema under `../shared/schemas/`.
pub fn schema_validator(path: &str) -> jsonschema::Validator {
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(shared().join("schemas").join(path)).expect("schema readable"))
            .expect("schema is JSON");
    jsonschema::validator_for(&schema).expect("schema compiles")
}

/// The errors of a document against a validator, one line each, with their location.
pub fn schema_errors(v: &jsonschema::Validator, doc: &serde_json::Value) -> Vec<String> {
    v.iter_errors(doc).map(|e| format!("{e} at {}", e.instance_path())).collect()
}

/// A tree, the name it is reported under, and its lowered stack.
pub struct Built {
    pub name: String,
    pub dir: tempfile::TempDir,
    pub stack: sightline::ir::Stack,
}

/// Build a manifest file, and lower it.
pub fn built(path: &Path) -> Built {
    let checked = sightline::check(&path.to_string_lossy(), &std::fs::read(path).unwrap());
    let stack = sightline::ir::lower(checked.manifest.as_ref().expect("the manifest compiles"), "m");
    Built { name: path.display().to_string(), dir: build_into_tempdir(path), stack }
}

/// Build a manifest given as YAML text, and lower it.
pub fn built_from(name: &str, text: &str) -> Built {
    let checked = sightline::check(name, text.as_bytes());
    let stack = sightline::ir::lower(checked.manifest.as_ref().expect("the manifest compiles"), "m");
    Built { name: name.to_string(), dir: build_yaml(text), stack }
}

/// tests/fixtures/ok/metrics-options.yaml with the web-authentication secrets (Prometheus's and
/// Alertmanager's passwords, Loki's credentials) given as `{ env }` instead of files.
pub fn web_auth_from_env() -> Built {
    let text = std::fs::read_to_string(root().join("tests/fixtures/ok/metrics-options.yaml")).unwrap();
    let re = regex::Regex::new(r"\{ file: /run/secrets/((prometheus|alertmanager)_(password|credentials)) \}").unwrap();
    let text = re.replace_all(&text, |c: &regex::Captures| format!("{{ env: {} }}", c[1].to_uppercase()));
    assert_eq!(text.matches("{ env: ").count() - 1, 3, "three secrets moved to the environment");
    built_from("metrics-options.yaml with web auth from the environment", &text)
}

/// The compose service `service` can read the secret `r` at `paths::secret_file(r)`: a
/// `{ file }` under /run/secrets/ as one of its compose secrets, an `{ env }` in its seeded
/// volume, which the seeding job fills with that variable.
pub fn assert_reads_secret(
    compose: &serde_json::Value,
    service: &str,
    r: &sightline::manifest::values::SecretRef,
    what: &str,
) {
    use sightline::manifest::values::SecretRef;
    let s = &compose["services"][service];
    match r {
        SecretRef::File(p) => {
            let name = p.strip_prefix("/run/secrets/").unwrap();
            let secrets = s["secrets"].as_array().cloned().unwrap_or_default();
            assert!(secrets.iter().any(|x| x == name), "{what}: {service} lacks the compose secret {name}");
        }
        SecretRef::Env(n) => {
            let mount = format!("{service}-secrets:/run/sightline-secrets:ro");
            assert!(
                s["volumes"].as_array().is_some_and(|v| v.iter().any(|v| v == mount.as_str())),
                "{what}: {service} does not mount {mount}"
            );
            let script = compose["services"]["sightline-secrets"]["entrypoint"][2].as_str().unwrap();
            assert!(
                script.lines().any(|l| l.starts_with(&format!("seed /out/{service} ")) && l.split(' ').any(|w| w == n)),
                "{what}: nothing seeds {n} for {service}"
            );
        }
    }
}

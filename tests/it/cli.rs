//! The command line as a user meets it: exit codes, what goes to stdout and stderr, and the
//! guarantees of build (atomic, never touching the user's files, refusing hand edits) and of the
//! drift gate. Each test works in its own temporary directory.

use crate::support::{root, snapshot_settings};
use std::path::{Path, PathBuf};
use std::process::Command;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    /// The record snapshotted for a CLI case.
    fn record(&self) -> String {
        format!("exit: {}\n--- stdout\n{}--- stderr\n{}", self.code, self.stdout, self.stderr)
    }
}

fn sightline(dir: &Path, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_sightline"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("CLICOLOR_FORCE")
        .output()
        .expect("sightline runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A temporary project with the given example copied in as `stack.yaml` (or `.toml`).
fn project(example: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let src = root().join("examples").join(example);
    let name = if example.ends_with(".toml") { "stack.toml" } else { "stack.yaml" };
    std::fs::copy(&src, dir.path().join(name)).unwrap();
    let out = dir.path().join("generated");
    (dir, out)
}

fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .map(|e| (e.path().strip_prefix(dir).unwrap().to_string_lossy().into_owned(), std::fs::read(e.path()).unwrap()))
        .collect();
    v.sort();
    v
}

#[test]
fn build_then_check_is_clean_and_builds_are_byte_identical() {
    let (dir, out) = project("faceless-staging.yaml");
    let first = sightline(dir.path(), &["build"]);
    assert_eq!(first.code, 0, "{}", first.record());
    let tree1 = tree(&out);
    assert!(tree1.iter().any(|(p, _)| p == "sightline.lock"));
    let check = sightline(dir.path(), &["build", "--check"]);
    assert_eq!(check.code, 0, "{}", check.record());
    assert!(check.stdout.is_empty(), "no diff expected: {}", check.stdout);
    // Build again from a different directory name: same bytes.
    let other = tempfile::tempdir().unwrap();
    std::fs::copy(dir.path().join("stack.yaml"), other.path().join("stack.yaml")).unwrap();
    assert_eq!(sightline(other.path(), &["build", "--out", "elsewhere"]).code, 0);
    assert_eq!(tree1, tree(&other.path().join("elsewhere")));
}

#[test]
fn drift_gate_fails_on_a_hand_edit_and_on_a_manifest_change() {
    let (dir, out) = project("faceless-staging.yaml");
    assert_eq!(sightline(dir.path(), &["build"]).code, 0);
    let env = out.join(".env.example");
    let original = std::fs::read_to_string(&env).unwrap();
    std::fs::write(&env, original.replace("SMTP_PASSWORD=", "SMTP_PASSWORD=oops")).unwrap();
    let gate = sightline(dir.path(), &["build", "--check"]);
    assert_eq!(gate.code, 1);
    // The diff shows the line, the value typed into it masked.
    assert!(gate.stdout.contains("-SMTP_PASSWORD=****") && gate.stdout.contains("+SMTP_PASSWORD="), "{}", gate.stdout);
    assert!(!gate.stdout.contains("oops"));
    // The hint says what fixes a hand edit: a plain build keeps it.
    assert!(
        gate.stderr.contains("edited by hand: .env.example")
            && gate.stderr.contains("move each change into stack.yaml")
            && gate.stderr.contains("--force"),
        "{}",
        gate.stderr
    );
    // A hand-edited generated file is not overwritten without --force, and nothing is written.
    let lock_before = std::fs::read(out.join("sightline.lock")).unwrap();
    let refused = sightline(dir.path(), &["build"]);
    assert_eq!(refused.code, 1, "{}", refused.record());
    assert!(refused.stderr.contains(".env.example was edited by hand"), "{}", refused.stderr);
    assert_eq!(std::fs::read(out.join("sightline.lock")).unwrap(), lock_before);
    assert!(std::fs::read_to_string(&env).unwrap().contains("oops"));
    assert_eq!(sightline(dir.path(), &["build", "--force"]).code, 0);
    assert_eq!(std::fs::read_to_string(&env).unwrap(), original);
    // A manifest change is drift too.
    let manifest = dir.path().join("stack.yaml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(&manifest, text.replace("SMTP_PASSWORD", "MAIL_PASSWORD")).unwrap();
    let gate = sightline(dir.path(), &["build", "--check"]);
    assert_eq!(gate.code, 1, "{}", gate.record());
    assert!(gate.stdout.contains("+MAIL_PASSWORD="));
    // A manifest change needs only a build.
    assert!(
        gate.stderr.contains("changed: .env.example")
            && gate.stderr.contains("run `sightline build stack.yaml`")
            && !gate.stderr.contains("--force"),
        "{}",
        gate.stderr
    );
    // `diff` shows the same diff and is not a gate.
    let diff = sightline(dir.path(), &["diff"]);
    assert_eq!(diff.code, 0);
    assert_eq!(diff.stdout, gate.stdout);
}

#[test]
fn build_never_touches_files_it_did_not_generate() {
    let (dir, out) = project("minimal.yaml");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("NOTES.md"), "mine").unwrap();
    std::fs::write(out.join(".env.example"), "mine too").unwrap();
    let refused = sightline(dir.path(), &["build", "--force"]);
    assert_eq!(refused.code, 1, "{}", refused.record());
    assert!(refused.stderr.contains(".env.example exists and was not generated by sightline"), "{}", refused.stderr);
    assert!(!out.join("sightline.lock").exists(), "nothing may be written when a file is in the way");
    std::fs::remove_file(out.join(".env.example")).unwrap();
    assert_eq!(sightline(dir.path(), &["build"]).code, 0);
    assert_eq!(std::fs::read_to_string(out.join("NOTES.md")).unwrap(), "mine");
}

#[test]
fn files_no_longer_generated_are_removed_unless_edited() {
    let (dir, out) = project("minimal.yaml");
    assert_eq!(sightline(dir.path(), &["build"]).code, 0);
    // Pretend a previous build generated `old/rules.yml`.
    let old = "# Generated by sightline\nx: 1\n";
    std::fs::create_dir_all(out.join("old")).unwrap();
    std::fs::write(out.join("old/rules.yml"), old).unwrap();
    let lock_path = out.join("sightline.lock");
    let lock = std::fs::read_to_string(&lock_path).unwrap();
    let hash = sightline::emit::lock::hash(old.as_bytes());
    std::fs::write(&lock_path, lock.replace("[files]\n", &format!("[files]\n\"old/rules.yml\" = \"{hash}\"\n")))
        .unwrap();
    let gate = sightline(dir.path(), &["build", "--check"]);
    assert_eq!(gate.code, 1);
    assert!(gate.stderr.contains("stale:   old/rules.yml"), "{}", gate.stderr);
    // Edited by hand since: kept, and the build refuses.
    std::fs::write(out.join("old/rules.yml"), "x: 2\n").unwrap();
    assert_eq!(sightline(dir.path(), &["build"]).code, 1);
    assert!(out.join("old/rules.yml").exists());
    std::fs::write(out.join("old/rules.yml"), old).unwrap();
    let ok = sightline(dir.path(), &["build"]);
    assert_eq!(ok.code, 0, "{}", ok.record());
    assert!(!out.join("old").exists(), "the stale file and its emptied directory are removed");
    assert_eq!(sightline(dir.path(), &["build", "--check"]).code, 0);
}

#[test]
fn a_manifest_with_errors_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(root().join("tests/fixtures/many-errors.yaml"), dir.path().join("stack.yaml")).unwrap();
    let r = sightline(dir.path(), &["build"]);
    assert_eq!(r.code, 1);
    assert!(!dir.path().join("generated").exists());
    assert!(r.stderr.contains("nothing was written"));
}

#[test]
fn exit_code_2_when_sightline_cannot_run() {
    let dir = tempfile::tempdir().unwrap();
    let none = sightline(dir.path(), &["check"]);
    assert_eq!(none.code, 2, "{}", none.record());
    assert!(none.stderr.contains("no stack.yaml or stack.toml"));
    assert_eq!(sightline(dir.path(), &["check", "-f", "missing.yaml"]).code, 2);
    assert_eq!(sightline(dir.path(), &["frobnicate"]).code, 2);
    std::fs::write(dir.path().join("stack.yaml"), "version: 1\n").unwrap();
    std::fs::write(dir.path().join("stack.toml"), "version = 1\n").unwrap();
    let both = sightline(dir.path(), &["check"]);
    assert_eq!(both.code, 2);
    assert!(both.stderr.contains("name the one you mean"), "{}", both.stderr);
}

#[test]
fn init_writes_a_starter_that_checks_clean_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(sightline(dir.path(), &["init"]).code, 0);
    let check = sightline(dir.path(), &["check"]);
    assert_eq!(check.code, 0, "{}", check.record());
    assert!(check.stderr.is_empty() || check.stderr.contains("no problems"), "{}", check.stderr);
    std::fs::write(dir.path().join("stack.yaml"), "mine").unwrap();
    assert_eq!(sightline(dir.path(), &["init"]).code, 1);
    assert_eq!(std::fs::read_to_string(dir.path().join("stack.yaml")).unwrap(), "mine");
}

#[test]
fn the_committed_schema_is_current() {
    let printed = sightline(&root(), &["schema"]);
    assert_eq!(printed.code, 0);
    let committed = std::fs::read_to_string(root().join("schema/stack.schema.json")).unwrap();
    assert!(
        printed.stdout == committed,
        "schema/stack.schema.json is stale: run `cargo run -- schema > schema/stack.schema.json` and commit it"
    );
}

#[test]
fn every_example_points_editors_at_the_schema() {
    for path in crate::support::examples() {
        let first = std::fs::read_to_string(&path).unwrap().lines().next().unwrap_or("").to_string();
        assert!(
            first == "# yaml-language-server: $schema=../schema/stack.schema.json"
                || first == "#:schema ../schema/stack.schema.json",
            "{}: first line must be the schema modeline, is {first:?}",
            path.display()
        );
    }
}

#[test]
fn the_spec_examples_are_in_examples_unchanged() {
    for entry in std::fs::read_dir(crate::support::shared().join("spec/examples")).unwrap() {
        let spec = entry.unwrap().path();
        let ours = std::fs::read_to_string(root().join("examples").join(spec.file_name().unwrap())).unwrap();
        let body: String = ours.split_inclusive('\n').skip(1).collect();
        assert_eq!(body, std::fs::read_to_string(&spec).unwrap(), "{} differs from the spec's copy", spec.display());
    }
}

#[test]
fn machine_formats() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(root().join("tests/fixtures/err/SL201/unknown-receiver.yaml"), dir.path().join("stack.yaml"))
        .unwrap();
    let json = sightline(dir.path(), &["--format", "json", "check"]);
    assert_eq!(json.code, 1);
    assert!(json.stderr.is_empty(), "machine formats keep stderr clean: {}", json.stderr);
    let all: Vec<serde_json::Value> = json.stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let v = all.iter().find(|v| v["code"] == "SL201").unwrap_or_else(|| panic!("no SL201 in {}", json.stdout));
    for key in ["file", "line", "column", "code", "severity", "message", "help"] {
        assert!(v.get(key).is_some(), "missing {key} in {v}");
    }
    assert_eq!(v["code"], "SL201");
    assert_eq!(v["line"], 10);
    let gh = sightline(dir.path(), &["--format", "github", "check"]);
    assert!(gh.stdout.lines().any(|l| l.starts_with("::error file=stack.yaml,line=10,col=")), "{}", gh.stdout);
}

/// A file with hundreds of problems: a human sees 200 in full (errors first) and the count of
/// the rest, with every one still counted; the machine format lists them all, each at its line.
#[test]
fn a_human_sees_the_first_diagnostics_and_json_all_of_them() {
    let dir = tempfile::tempdir().unwrap();
    let keys: String = (0..250).map(|i| format!("k{i:03}: 1\n")).collect();
    let head = "version: 1\nstack: s\nenvironment: dev\nnetwork: app\nservices:\n  api: { kind: http, port: 8000 }\n";
    std::fs::write(dir.path().join("stack.yaml"), format!("{head}{keys}")).unwrap();
    let human = sightline(dir.path(), &["check"]);
    assert_eq!(human.code, 1);
    assert_eq!(human.stderr.matches("unknown field `k").count(), 200, "{}", human.stderr);
    assert!(human.stderr.contains("unknown field `k199`") && !human.stderr.contains("`k200`"));
    assert!(human.stderr.contains("(50 more not shown: 200 are, errors first; `--format json` lists them all)"));
    assert!(human.stderr.contains("stack.yaml: 250 errors"), "{}", human.stderr);
    let json = sightline(dir.path(), &["--format", "json", "check"]);
    let unknown: Vec<serde_json::Value> = json
        .stdout
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["code"] == "SL003")
        .collect();
    assert_eq!(unknown.len(), 250);
    assert_eq!(unknown[249]["line"], 256);
    assert_eq!(unknown[249]["column"], 1);
    // Hundreds of warnings before the one error: the error is among those shown.
    let services: String = (0..250).map(|i| format!("  s{i:03}: {{ kind: http, port: {} }}\n", 8000 + i)).collect();
    std::fs::write(
        dir.path().join("stack.yaml"),
        format!("version: 1\nstack: s\nenvironment: dev\nservices:\n{services}zzz: 1\n"),
    )
    .unwrap();
    let human = sightline(dir.path(), &["check"]);
    assert!(human.stderr.contains("unknown field `zzz`"), "{}", human.stderr);
    assert!(human.stderr.contains("(51 more not shown") && human.stderr.contains("stack.yaml: 1 error, 250 warnings"));
}

#[test]
fn colour_follows_the_flag_and_no_color() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(root().join("tests/fixtures/err/SL201/unknown-receiver.yaml"), dir.path().join("stack.yaml"))
        .unwrap();
    let plain = sightline(dir.path(), &["check"]);
    assert!(!plain.stderr.contains('\u{1b}'), "NO_COLOR and no terminal: no escapes");
    let forced = sightline(dir.path(), &["--color", "always", "check"]);
    assert!(forced.stderr.contains('\u{1b}'));
}

#[test]
fn explain_and_completions() {
    let dir = tempfile::tempdir().unwrap();
    let e = sightline(dir.path(), &["explain", "sl201"]);
    assert_eq!(e.code, 0);
    assert!(e.stdout.starts_with("SL201: a route names a receiver that does not exist"));
    assert_eq!(sightline(dir.path(), &["explain", "SL999"]).code, 2);
    let list = sightline(dir.path(), &["explain"]);
    assert_eq!(list.stdout.lines().count(), sightline::code::Code::ALL.len());
    for shell in ["bash", "zsh", "fish"] {
        let c = sightline(dir.path(), &["completions", shell]);
        assert_eq!(c.code, 0);
        assert!(c.stdout.contains("sightline"));
    }
}

/// Hostile input of every shape ends in a coded diagnostic and exit 1, never a panic.
#[test]
fn hostile_input_is_refused_with_a_diagnostic() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut bomb = vec!["a0: &a0 [x,x,x,x,x,x,x,x,x,x]".to_string()];
    for i in 1..12 {
        bomb.push(format!("a{i}: &a{i} [{}]", vec![format!("*a{}", i - 1); 10].join(",")));
    }
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("not-yaml.yaml", b"a: [1, 2\nb: }{".to_vec(), "SL001"),
        ("bomb.yaml", bomb.join("\n").into_bytes(), "SL002"),
        ("deep.yaml", format!("a: {}{}\n", "[".repeat(10_000), "]".repeat(10_000)).into_bytes(), "SL002"),
        (
            "deep-map.yaml",
            (0..10_000).map(|i| format!("{}k:\n", " ".repeat(i % 2000))).collect::<String>().into_bytes(),
            "",
        ),
        ("deep.toml", format!("a = {}{}\n", "[".repeat(10_000), "]".repeat(10_000)).into_bytes(), "SL002"),
        ("dotted.toml", format!("{} = 1\n", vec!["a"; 10_000].join(".")).into_bytes(), ""),
        (
            "huge.yaml",
            {
                let mut v = b"x: ".to_vec();
                v.resize(50 << 20, b'a');
                v
            },
            "SL002",
        ),
        ("binary.yaml", (0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect(), "SL001"),
        ("empty.yaml", Vec::new(), "SL008"),
        ("scalar.yaml", b"just a string\n".to_vec(), "SL004"),
    ];
    for (name, bytes, code) in cases {
        std::fs::write(d.join(name), bytes).unwrap();
        let r = sightline(d, &["--format", "json", "check", "-f", name]);
        assert_eq!(r.code, 1, "{name}: {}", r.record());
        assert!(!r.stderr.contains("panicked"), "{name}: {}", r.stderr);
        let first: serde_json::Value = serde_json::from_str(r.stdout.lines().next().unwrap_or("null")).unwrap();
        let got = first["code"].as_str().unwrap_or("");
        assert!(got.starts_with("SL0"), "{name}: expected a reading diagnostic, got {}", r.stdout);
        if !code.is_empty() {
            assert_eq!(got, code, "{name}");
        }
    }
}

#[test]
fn cli_records() {
    let (dir, _) = project("minimal.yaml");
    std::fs::copy(root().join("tests/fixtures/err/SL204/unknown-alert.yaml"), dir.path().join("broken.yaml")).unwrap();
    let cases: Vec<(&str, Vec<&str>)> = vec![
        ("check-clean", vec!["check"]),
        ("check-broken", vec!["check", "-f", "broken.yaml"]),
        ("build", vec!["build"]),
        ("build-check-clean", vec!["build", "--check"]),
        ("build-broken", vec!["build", "-f", "broken.yaml"]),
        ("explain-SL204", vec!["explain", "SL204"]),
    ];
    let settings = snapshot_settings("cli");
    settings.bind(|| {
        for (name, args) in cases {
            insta::assert_snapshot!(name, sightline(dir.path(), &args).record());
        }
    });
}

/// `--deny-warnings` and the manifest's `deny_warnings: true` make a warning fail the run.
#[test]
fn warnings_can_be_denied() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = "version: 1\nstack: shop\nenvironment: prod\nservices:\n  web: { kind: http, port: 8080 }\n";
    std::fs::write(dir.path().join("stack.yaml"), manifest).unwrap();
    assert_eq!(sightline(dir.path(), &["check"]).code, 0, "a warning alone passes");
    let denied = sightline(dir.path(), &["--deny-warnings", "check"]);
    assert_eq!(denied.code, 1, "{}", denied.stderr);
    assert_eq!(sightline(dir.path(), &["--deny-warnings", "build"]).code, 1, "nothing is built");
    assert!(!dir.path().join("generated").exists());
    std::fs::write(dir.path().join("stack.yaml"), format!("{manifest}deny_warnings: true\n")).unwrap();
    assert_eq!(sightline(dir.path(), &["check"]).code, 1);
}

/// The manifest's file name is written into every generated header; one with a newline and a
/// cron line in it must not add a line to the crontab or a command to a script.
#[test]
fn a_hostile_manifest_file_name_stays_in_its_comment() {
    let dir = tempfile::tempdir().unwrap();
    let name = "evil\n* * * * * touch PWNED\n.yaml";
    std::fs::write(
        dir.path().join(name),
        "version: 1\nstack: shop\nenvironment: prod\nnetwork: n1\nservices:\n  db: { kind: postgres, port: 5432, database: shop, user: shop, password: { env: PGPASSWORD } }\nbackups:\n  jobs:\n    - { name: nightly, service: db, schedule: \"0 2 * * *\", keep: 7 }\n",
    )
    .unwrap();
    let run = sightline(dir.path(), &["build", "-f", name]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let crontab = std::fs::read_to_string(dir.path().join("generated/backup/crontab")).unwrap();
    assert!(!crontab.lines().any(|l| l.contains("PWNED") && !l.starts_with('#')), "{crontab}");
    for entry in
        walkdir::WalkDir::new(dir.path().join("generated")).into_iter().flatten().filter(|e| e.file_type().is_file())
    {
        let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
        assert!(!text.lines().any(|l| l.trim_start().starts_with("* * * * *")), "{}", entry.path().display());
    }
}

/// A control sequence in the manifest (raw, or as a TOML escape that the message quotes) never
/// reaches the terminal: no ESC, no BEL in human output.
#[test]
fn control_characters_never_reach_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("raw.yaml"),
        "version: 1\nstack: shop\n# \u{1b}]0;PWNED\u{7}\u{1b}[2J\nenvironment: prod\nservices: {}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("escaped.toml"),
        "version = 1\nstack = \"a\\u001b]0;PWNED\\u0007\"\nenvironment = \"prod\"\n[services.web]\nkind = \"http\"\nport = 8080\n",
    )
    .unwrap();
    for file in ["raw.yaml", "escaped.toml"] {
        let run = sightline(dir.path(), &["--color", "never", "check", "-f", file]);
        assert_eq!(run.code, 1, "{file}: the manifest is wrong: {}", run.stderr);
        assert!(!run.stderr.contains(['\u{1b}', '\u{7}']), "{file}: {:?}", run.stderr);
    }
}

/// The output directory is a jail: a symlink inside it is never followed, by `build` (with or
/// without `--force`), `build --check` or `diff`: nothing is written, removed or printed
/// outside it.
#[cfg(unix)]
#[test]
fn symlinks_inside_the_output_are_never_followed() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(root().join("examples/minimal.yaml"), dir.path().join("stack.yaml")).unwrap();
    assert_eq!(sightline(dir.path(), &["build"]).code, 0);
    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::write(elsewhere.path().join("prometheus.yml"), "theirs\n").unwrap();
    std::fs::write(elsewhere.path().join("secret"), "TOKEN=hunter2\n").unwrap();
    // A generated directory replaced by a link to somewhere else.
    let prom = dir.path().join("generated/prometheus");
    std::fs::remove_dir_all(&prom).unwrap();
    std::os::unix::fs::symlink(elsewhere.path(), &prom).unwrap();
    // A generated file replaced by a link to a secret.
    let env = dir.path().join("generated/.env.example");
    std::fs::remove_file(&env).unwrap();
    std::os::unix::fs::symlink(elsewhere.path().join("secret"), &env).unwrap();
    for args in [&["build"][..], &["build", "--force"], &["build", "--check"], &["diff"]] {
        let run = sightline(dir.path(), args);
        assert_eq!(run.code, 2, "{args:?}: {}{}", run.stdout, run.stderr);
        assert!(run.stderr.contains("symlink"), "{args:?}: {}", run.stderr);
        assert!(!run.stdout.contains("hunter2") && !run.stderr.contains("hunter2"), "{args:?} printed the target");
    }
    let left: Vec<String> = std::fs::read_dir(elsewhere.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left.len(), 2, "something was written there: {left:?}");
    assert_eq!(std::fs::read_to_string(elsewhere.path().join("prometheus.yml")).unwrap(), "theirs\n");
}

/// `sightline` that must finish within ten seconds: a hang (a FIFO opened for reading) fails
/// the test instead of stalling it.
#[cfg(unix)]
fn sightline_promptly(dir: &Path, args: &[&str]) -> Run {
    use std::io::Read as _;
    let mut child = Command::new(env!("CARGO_BIN_EXE_sightline"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("sightline runs");
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if started.elapsed() > std::time::Duration::from_secs(10) {
            let _ = child.kill();
            panic!("sightline {args:?} hung");
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    let (mut stdout, mut stderr) = (String::new(), String::new());
    child.stdout.take().unwrap().read_to_string(&mut stdout).unwrap();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    Run { code: status.code().unwrap_or(-1), stdout, stderr }
}

/// Every file sightline reads is a regular file of bounded size: a FIFO or a device as the
/// manifest, a FIFO as the lock or a generated file, a huge (sparse) generated file are each an
/// error with exit 2, at once, never a hang or an unbounded read.
#[cfg(unix)]
#[test]
fn only_bounded_regular_files_are_read() {
    let mkfifo = |p: &Path| {
        assert!(Command::new("mkfifo").arg(p).status().unwrap().success(), "mkfifo");
    };
    let dir = tempfile::tempdir().unwrap();
    mkfifo(&dir.path().join("fifo.yaml"));
    for manifest in ["fifo.yaml", "/dev/zero"] {
        let run = sightline_promptly(dir.path(), &["check", "-f", manifest]);
        assert_eq!(run.code, 2, "{manifest}: {}", run.stderr);
        assert!(run.stderr.contains("not a regular file"), "{manifest}: {}", run.stderr);
    }
    std::fs::copy(root().join("examples/minimal.yaml"), dir.path().join("stack.yaml")).unwrap();
    assert_eq!(sightline(dir.path(), &["build"]).code, 0);
    let out = dir.path().join("generated");
    for (rel, what) in [("sightline.lock", "a FIFO"), ("compose.yaml", "a FIFO"), ("compose.yaml", "huge")] {
        let path = out.join(rel);
        let saved = std::fs::read(&path).ok();
        let _ = std::fs::remove_file(&path);
        if what == "a FIFO" {
            mkfifo(&path);
        } else {
            std::fs::File::create(&path).unwrap().set_len(65 << 20).unwrap();
        }
        for args in [&["build"][..], &["build", "--force"], &["build", "--check"], &["diff"]] {
            let run = sightline_promptly(dir.path(), args);
            assert_eq!(run.code, 2, "{rel} as {what}, {args:?}: {}", run.stderr);
            let why = if what == "huge" { "larger than" } else { "not a regular file" };
            assert!(run.stderr.contains(why), "{rel} as {what}, {args:?}: {}", run.stderr);
        }
        std::fs::remove_file(&path).unwrap();
        std::fs::write(&path, saved.unwrap()).unwrap();
    }
    assert_eq!(sightline(dir.path(), &["build", "--check"]).code, 0, "the tree is intact");
    // A FIFO as the output directory is refused at once too.
    mkfifo(&dir.path().join("fifo-out"));
    for args in [
        &["build", "--check", "--out", "fifo-out"][..],
        &["diff", "--out", "fifo-out"],
        &["build", "--out", "fifo-out"],
    ] {
        let run = sightline_promptly(dir.path(), args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
    }
    // The manifest itself may be a symlink (a shared manifest linked into place).
    std::fs::rename(dir.path().join("stack.yaml"), dir.path().join("real.yaml")).unwrap();
    std::os::unix::fs::symlink("real.yaml", dir.path().join("stack.yaml")).unwrap();
    assert_eq!(sightline_promptly(dir.path(), &["check"]).code, 0, "a symlinked manifest is read");
}

/// A missing field does not hide a misspelt key in the same mapping: `too:` for `to:` is named,
/// with its suggestion, beside the missing `to`.
#[test]
fn a_missing_field_does_not_hide_the_misspelling_that_caused_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("stack.yaml"),
        "version: 1\nstack: s\nenvironment: dev\nnetwork: n\nservices:\n  api: { kind: http, port: 1 }\nalerting:\n  receivers:\n    team: { webhook: { url: \"http://x.example/h\" } }\n  default: team\n  routes:\n    - match: { category: operational }\n      too: team\n",
    )
    .unwrap();
    let run = sightline(dir.path(), &["--format", "json", "check"]);
    let codes: Vec<String> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .map(|d| format!("{} {}", d["code"].as_str().unwrap(), d["help"].as_str().unwrap_or("")))
        .collect();
    assert!(codes.iter().any(|c| c.starts_with("SL005")), "{codes:?}");
    assert!(codes.iter().any(|c| c.starts_with("SL003") && c.contains("`to`")), "{codes:?}");
}

/// A generated file edited to hold terminal escapes (a window title, OSC 52 to the clipboard)
/// is shown by `diff` and `build --check` with them as `?`, never sent to the terminal.
#[test]
fn drift_never_prints_control_characters() {
    let (dir, out) = project("minimal.yaml");
    assert_eq!(sightline(dir.path(), &["build"]).code, 0);
    let env = out.join(".env.example");
    let mut text = std::fs::read_to_string(&env).unwrap();
    text.push_str("\u{1b}]0;owned\u{7}\u{1b}]52;c;aGk=\u{7}\u{9b}2J\n");
    std::fs::write(&env, text).unwrap();
    for args in [&["diff"][..], &["build", "--check"]] {
        let run = sightline(dir.path(), args);
        assert!(run.stdout.contains("]0;owned?"), "{args:?}: the edit is shown: {}", run.stdout);
        for c in ['\u{1b}', '\u{7}', '\u{9b}'] {
            assert!(!run.stdout.contains(c) && !run.stderr.contains(c), "{args:?} printed {c:?}");
        }
    }
}

/// Thousands of problems are each reported once, at their own line and column (the line index
/// and the one-pass pruning), whether keys are on lines of their own or all on one line.
#[test]
fn every_one_of_many_unknown_keys_is_reported_where_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let head = "version: 1\nstack: s\nenvironment: dev\nnetwork: n\nservices:\n  api: { kind: http, port: 1 }\n";
    let block: String = (0..2000).map(|i| format!("k{i:04}: 1\n")).collect();
    std::fs::write(dir.path().join("block.yaml"), format!("{head}{block}")).unwrap();
    let run = sightline(dir.path(), &["--format", "json", "check", "-f", "block.yaml"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let found: Vec<serde_json::Value> = run.stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(found.len(), 2000, "one diagnostic per unknown key");
    for (i, d) in found.iter().enumerate() {
        assert_eq!((d["line"].as_u64(), d["column"].as_u64()), (Some(7 + i as u64), Some(1)), "key {i}");
        assert_eq!(d["code"], "SL003");
    }
    // All on one line, after multi-byte characters: columns count characters.
    let keys: Vec<String> = (0..2000).map(|i| format!("é{i:04}")).collect();
    let line = format!(
        "services: {{ api: {{ kind: http, port: 1, {} }} }}",
        keys.iter().map(|k| format!("{k}: 1")).collect::<Vec<_>>().join(", ")
    );
    let text = format!("version: 1\nstack: s\nenvironment: dev\nnetwork: n\n{line}\n");
    std::fs::write(dir.path().join("line.yaml"), &text).unwrap();
    let run = sightline(dir.path(), &["--format", "json", "check", "-f", "line.yaml"]);
    let found: Vec<serde_json::Value> = run.stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(found.len(), 2000, "one diagnostic per unknown key");
    for (k, d) in keys.iter().zip(&found) {
        let at = line.find(k.as_str()).unwrap();
        let column = line[..at].chars().count() as u64 + 1;
        assert_eq!((d["line"].as_u64(), d["column"].as_u64()), (Some(5), Some(column)), "{k}");
    }
}

/// A literal credential is never printed, whichever diagnostic shows its line: a misspelt key
/// (SL003), a syntax error below it (SL001), a context line of another problem.
#[test]
fn credentials_are_masked_whatever_shows_their_line() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "misspelt.yaml",
            "version: 1\nstack: shop\nenvironment: prod\nservices:\n  db: { kind: postgres, port: 5432, database: shop, user: shop, pasword: hunter2x }\n",
        ),
        (
            "syntax.yaml",
            "version: 1\nstack: shop\nenvironment: prod\nservices:\n  db:\n    password: hunter2x\n    port: [5432\n",
        ),
        (
            "token.yaml",
            "version: 1\nstack: shop\nenvironment: prod\nservices:\n  web: { kind: http, port: 8080, host: ghp_0123456789abcdefghijABCDEFGHIJhunter2x }\n",
        ),
        (
            // Through a YAML anchor, on the line of another problem (SL003 for `x-db`).
            "anchor.yaml",
            "version: 1\nstack: shop\nenvironment: prod\nx-db: &pw hunter2x\nservices:\n  db: { kind: postgres, port: 5432, database: shop, user: shop, password: *pw }\n",
        ),
        (
            // A block scalar under a misspelt key.
            "block.yaml",
            "version: 1\nstack: shop\nenvironment: prod\nservices:\n  db:\n    kind: postgres\n    port: 5432\n    database: shop\n    user: shop\n    pasword: |\n      hunter2x\n",
        ),
        (
            // The wrong shape of secret (SL004), flow and block.
            "shapes.yaml",
            "version: 1\nstack: shop\nenvironment: prod\nservices:\n  db: { kind: postgres, port: 5432, database: shop, user: shop, password: { value: \"hunter2x\" } }\n  db2: { kind: postgres, port: 5433, database: shop, user: shop, password: [\"hunter2x\"] }\n  db3:\n    kind: postgres\n    port: 5434\n    database: shop\n    user: shop\n    password:\n      - hunter2x\n",
        ),
        (
            // TOML: a misspelt key, a syntax error below a password, a duplicate key.
            "misspelt.toml",
            "version = 1\nstack = \"shop\"\nenvironment = \"prod\"\n[services.db]\nkind = \"postgres\"\nport = 5432\ndatabase = \"shop\"\nuser = \"shop\"\npasword = \"hunter2x\"\n",
        ),
        (
            "syntax.toml",
            "version = 1\nstack = \"shop\"\nenvironment = \"prod\"\n[services.db]\npassword = \"hunter2x\"\nport = [5432\n",
        ),
        (
            "duplicate.toml",
            "version = 1\nstack = \"shop\"\nenvironment = \"prod\"\n[services.db]\npassword = \"hunter2x\"\npassword = \"hunter2x2\"\n",
        ),
        (
            // A token in a comment on a context line.
            "comment.yaml",
            "version: 1\nstack: shop\nenvironment: prod\nservices:\n  # ghp_0123456789abcdefghijABCDEFGHIJhunter2x\n  web: { kind: http, port: 8080, colour: blue }\n",
        ),
        (
            // Lines ended by a lone carriage return, the file longer than a snippet line.
            "cr.yaml",
            &format!(
                "version: 1\rstack: shop\renvironment: prod\rnetwork: n\r# {}\rservices:\r  web: {{ kind: http, port: 8080, api_token: hunter2x }}\r",
                "x".repeat(420)
            ),
        ),
        (
            // Non-ASCII before a `:`: the key scan must stay on character boundaries.
            "unicode.yaml",
            "version: 1\n# café: größe = 1, 日本: x\nstack: shop\nenvironment: prod\nservices:\n  db: { kind: postgres, port: 5432, database: shop, user: shop, pasword: hunter2x }\n",
        ),
    ];
    for (file, text) in cases {
        std::fs::write(dir.path().join(file), text).unwrap();
        let run = sightline(dir.path(), &["--color", "never", "check", "-f", file]);
        assert_eq!(run.code, 1, "{file}: the manifest is wrong, and sightline must say so, not crash:\n{}", run.stderr);
        assert!(!run.stderr.contains("hunter2x"), "{file} printed a credential:\n{}", run.stderr);
    }
}

/// `--format mermaid` and `--format dot` draw the stack; anything else refuses them rather than
/// printing human diagnostics a tool then fails to parse.
#[test]
fn picture_formats_are_for_graph_only() {
    let (dir, _) = project("minimal.yaml");
    for args in [&["--format", "mermaid", "check"][..], &["--format", "dot", "build", "--check"]] {
        let run = sightline(dir.path(), args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.record());
        assert!(run.stderr.contains("are for `sightline graph`"), "{}", run.stderr);
    }
    assert_eq!(sightline(dir.path(), &["--format", "dot", "graph"]).code, 0);
}

#[test]
fn drift_is_reported_as_records_at_the_manifest_part_each_file_comes_from() {
    let (dir, out) = project("faceless-staging.yaml");
    assert_eq!(sightline(dir.path(), &["build"]).code, 0);
    // One file of each status: edited by hand, deleted, no longer generated, out of date with a
    // manifest change, left by a killed build.
    let edited = out.join("alertmanager/alertmanager.yml");
    std::fs::write(&edited, format!("{}# by hand\n", std::fs::read_to_string(&edited).unwrap())).unwrap();
    std::fs::remove_file(out.join("grafana/dashboards/services-redis.json")).unwrap();
    std::fs::write(out.join(".sightline.lock.pending"), "").unwrap();
    let manifest = dir.path().join("stack.yaml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(&manifest, text.replace("    port: 8000\n", "    port: 8001\n")).unwrap();
    let line = |needle: &str| text.lines().position(|l| l == needle).unwrap() + 1;

    let gate = sightline(dir.path(), &["--format", "json", "build", "--check"]);
    assert_eq!(gate.code, 1, "{}", gate.record());
    let records: Vec<serde_json::Value> = gate.stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let record = |path: &str| {
        records
            .iter()
            .find(|r| r["path"] == format!("generated/{path}"))
            .unwrap_or_else(|| panic!("no record of {path}: {}", gate.stdout))
    };
    let expect = |path: &str, code: &str, status: &str, at: usize| {
        let r = record(path);
        assert_eq!(
            (r["code"].as_str(), r["status"].as_str(), r["line"].as_u64()),
            (Some(code), Some(status), Some(at as u64)),
            "{r}"
        );
        assert_eq!(r["file"], "stack.yaml");
        assert_eq!(r["severity"], "error");
    };
    expect("alertmanager/alertmanager.yml", "SL802", "edited", line("alerting:"));
    expect("grafana/dashboards/services-redis.json", "SL801", "missing", line("  cache:"));
    expect("prometheus/tests/services-http.yml", "SL801", "changed", line("  api:"));
    expect(".sightline.lock.pending", "SL803", "leftover", 1);
    assert!(record("alertmanager/alertmanager.yml")["diff"].as_str().unwrap().contains("-# by hand"));
    assert!(record("prometheus/prometheus.yml")["diff"].as_str().unwrap().contains("+    - api:8001"));
    assert!(
        record("alertmanager/alertmanager.yml")["help"]
            .as_str()
            .unwrap()
            .contains("sightline build stack.yaml --force")
    );
    // No diff in plain text on stdout: every line is a record.
    assert!(!gate.stdout.lines().any(|l| l.starts_with("---")));
    // As annotations, one per code and manifest line (GitHub shows ten per step), naming
    // every file.
    let github = sightline(dir.path(), &["--format", "github", "build", "--check"]);
    let places: Vec<&str> = github
        .stdout
        .lines()
        .filter(|l| l.starts_with("::error") && l.contains("SL80"))
        .map(|l| &l[..l.find("title=").unwrap() + 12])
        .collect();
    let mut unique = places.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(places.len(), unique.len(), "{}", github.stdout);
    assert!(
        places.len() < records.iter().filter(|r| r["code"].as_str().is_some_and(|c| c.starts_with("SL80"))).count()
    );

    // A file no longer generated: an objective removed.
    std::fs::write(&manifest, text.replace("    slo:\n      availability: 99.9%\n      latency: { p95: 500ms }\n", ""))
        .unwrap();
    assert_ne!(std::fs::read_to_string(&manifest).unwrap(), text, "the example's slo line moved");
    let gate = sightline(dir.path(), &["--format", "json", "build", "--check"]);
    let stale = gate
        .stdout
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|r| r["path"] == "generated/prometheus/rules/slo.yml");
    let stale = stale.unwrap_or_else(|| panic!("{}", gate.stdout));
    assert_eq!((stale["code"].as_str(), stale["status"].as_str()), (Some("SL801"), Some("stale")));

    // `diff` reports the same records as warnings and exits 0.
    let diff = sightline(dir.path(), &["--format", "json", "diff"]);
    assert_eq!(diff.code, 0, "{}", diff.record());
    let drift: Vec<&str> = diff.stdout.lines().filter(|l| l.contains("\"code\":\"SL80")).collect();
    assert!(!drift.is_empty() && drift.iter().all(|l| l.contains("\"severity\":\"warning\"")), "{}", diff.stdout);
}

#[test]
fn a_refused_build_reports_records_in_machine_formats() {
    let (dir, out) = project("minimal.yaml");
    // A file of the user's where the manifest puts compose.yaml.
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("compose.yaml"), "services: {}\n").unwrap();
    let refused = sightline(dir.path(), &["--format", "json", "build"]);
    assert_eq!(refused.code, 1, "{}", refused.record());
    let records: Vec<serde_json::Value> = refused.stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let foreign = records.iter().find(|r| r["code"] == "SL804").unwrap_or_else(|| panic!("{}", refused.stdout));
    assert_eq!(
        (foreign["path"].as_str(), foreign["status"].as_str()),
        (Some("generated/compose.yaml"), Some("foreign"))
    );
    assert!(!out.join("sightline.lock").exists(), "a refused build wrote");

    // A hand edit: SL802 at the part of the manifest the file comes from.
    std::fs::remove_file(out.join("compose.yaml")).unwrap();
    assert_eq!(sightline(dir.path(), &["build"]).code, 0);
    let rules = out.join("prometheus/rules/services-http.yml");
    std::fs::write(&rules, format!("{}# tuned\n", std::fs::read_to_string(&rules).unwrap())).unwrap();
    let refused = sightline(dir.path(), &["--format", "github", "build"]);
    assert_eq!(refused.code, 1, "{}", refused.record());
    let web = std::fs::read_to_string(dir.path().join("stack.yaml"))
        .unwrap()
        .lines()
        .position(|l| l.starts_with("  web:"))
        .unwrap()
        + 1;
    assert!(
        refused
            .stdout
            .lines()
            .any(|l| l.starts_with(&format!("::error file=stack.yaml,line={web},")) && l.contains("SL802")),
        "{}",
        refused.stdout
    );
}

#[test]
fn what_a_generated_file_holds_never_acts_in_a_ci_log() {
    let (dir, out) = project("faceless-staging.yaml");
    assert_eq!(sightline(dir.path(), &["build"]).code, 0);
    // A hand edit that would be a workflow command on its own line, and a password filled in.
    let rules = out.join("prometheus/rules/user.yml");
    std::fs::write(
        &rules,
        format!(
            "{}        ::warning title=forged::owned\n##[error]forged too\n",
            std::fs::read_to_string(&rules).unwrap()
        ),
    )
    .unwrap();
    let env = out.join(".env.example");
    let text = std::fs::read_to_string(&env).unwrap();
    let filled = text.replace("GRAFANA_ADMIN_PASSWORD=", "GRAFANA_ADMIN_PASSWORD=hunter2-real");
    assert_ne!(filled, text, "the example's .env.example names GRAFANA_ADMIN_PASSWORD");
    std::fs::write(&env, filled).unwrap();
    let summary = dir.path().join("summary.md");
    let run = Command::new(env!("CARGO_BIN_EXE_sightline"))
        .args(["--format", "github", "build", "--check"])
        .current_dir(dir.path())
        .env("GITHUB_STEP_SUMMARY", &summary)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert_eq!(run.status.code(), Some(1), "{stdout}");
    // Every line that a runner would read as a command lies between stop-commands and the
    // token that resumes them; the forged lines are inside.
    let mut stopped: Option<String> = None;
    let mut forged_inside = 0;
    for line in stdout.lines() {
        match &stopped {
            Some(token) if line == format!("::{token}::") => stopped = None,
            Some(_) => forged_inside += usize::from(line.contains("forged")),
            None => {
                if let Some(t) = line.strip_prefix("::stop-commands::") {
                    assert!(t.len() >= 32, "a guessable token: {t}");
                    stopped = Some(t.to_string());
                } else {
                    assert!(!line.contains("forged"), "a forged command outside stop-commands: {line}");
                }
            }
        }
    }
    assert!(stopped.is_none() && forged_inside == 2, "{stdout}");
    // No format and no summary shows the password.
    let summary = std::fs::read_to_string(&summary).unwrap();
    assert!(!stdout.contains("hunter2-real") && !summary.contains("hunter2-real"), "{stdout}\n{summary}");
    assert!(summary.contains("GRAFANA_ADMIN_PASSWORD="), "{summary}");
    for format in ["human", "json"] {
        let r = sightline(dir.path(), &["--format", format, "build", "--check"]);
        assert!(!r.stdout.contains("hunter2-real") && !r.stderr.contains("hunter2-real"), "{format}: {}", r.record());
    }
}

#[test]
fn a_lock_names_a_manifest_beside_it_never_a_path() {
    let (dir, out) = project("minimal.yaml");
    assert_eq!(sightline(dir.path(), &["build"]).code, 0);
    std::fs::write(
        dir.path().join("outside.yaml"),
        "version: 1\nstack: x\nenvironment: e\nservices:\n  secret-service: { kind: http, port: 1 }\n",
    )
    .unwrap();
    let lock = out.join("sightline.lock");
    let text = std::fs::read_to_string(&lock).unwrap();
    for name in ["../outside.yaml", "/etc/passwd", "..", "generated/../outside.yaml"] {
        std::fs::write(&lock, text.replace("manifest = \"stack.yaml\"", &format!("manifest = {name:?}"))).unwrap();
        let r = sightline(dir.path(), &["check", "generated/compose.yaml"]);
        assert_eq!(r.code, 2, "{name}: {}", r.record());
        assert!(
            r.stderr.contains("is not a lock sightline wrote") && !r.stderr.contains("secret-service"),
            "{name}: {}",
            r.record()
        );
    }
}

#[test]
fn stacks_are_named_once_and_never_share_an_output() {
    let (dir, _) = project("minimal.yaml");
    std::fs::copy(root().join("examples/minimal.yaml"), dir.path().join("other.yaml")).unwrap();
    let shared = sightline(dir.path(), &["build", "stack.yaml", "other.yaml"]);
    assert_eq!(shared.code, 2, "{}", shared.record());
    assert!(shared.stderr.contains("would both be built into generated"), "{}", shared.stderr);
    assert!(!dir.path().join("generated").exists());
    // Nor across runs: the lock says whose files the directory holds.
    assert_eq!(sightline(dir.path(), &["build", "stack.yaml"]).code, 0);
    let lock_before = std::fs::read(dir.path().join("generated/sightline.lock")).unwrap();
    let other = sightline(dir.path(), &["build", "other.yaml"]);
    assert_eq!(other.code, 1, "{}", other.record());
    assert!(
        other.stderr.contains("holds the files of stack.yaml") && other.stderr.contains("--out"),
        "{}",
        other.stderr
    );
    assert_eq!(std::fs::read(dir.path().join("generated/sightline.lock")).unwrap(), lock_before);
    std::fs::remove_dir_all(dir.path().join("generated")).unwrap();
    // However it is spelt, a manifest is one stack.
    let abs = dir.path().join("stack.yaml");
    let once = sightline(dir.path(), &["check", "stack.yaml", "./stack.yaml", ".", abs.to_str().unwrap()]);
    assert_eq!(once.code, 0, "{}", once.record());
    assert_eq!(once.stderr.matches("SL213").count(), 1, "{}", once.stderr);
    // From inside the output directory, a generated file names its stack.
    assert_eq!(sightline(dir.path(), &["build"]).code, 0);
    let inside = sightline(&dir.path().join("generated"), &["build", "--check", "compose.yaml"]);
    assert_eq!(inside.code, 0, "{}", inside.record());
    // From deeper inside, in a repository, too.
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    let deeper = sightline(&dir.path().join("generated/prometheus"), &["build", "--check", "prometheus.yml"]);
    assert_eq!(deeper.code, 0, "{}", deeper.record());
    // An output of another name, found through its lock: the hint names it.
    assert_eq!(sightline(dir.path(), &["build", "--out", "out"]).code, 0);
    let compose = dir.path().join("out/compose.yaml");
    std::fs::write(&compose, format!("{}# edit\n", std::fs::read_to_string(&compose).unwrap())).unwrap();
    let gate = sightline(dir.path(), &["build", "--check", "out/compose.yaml"]);
    assert_eq!(gate.code, 1, "{}", gate.record());
    assert!(gate.stderr.contains("sightline build stack.yaml --out out"), "{}", gate.stderr);
    // As pre-commit passes them: files of no stack are skipped, none at all is nothing to do.
    std::fs::create_dir_all(dir.path().join("src/generated")).unwrap();
    std::fs::write(dir.path().join("src/generated/lib.rs"), "fn main() {}\n").unwrap();
    let skipped = sightline(dir.path(), &["build", "--check", "--changed", "src/generated/lib.rs"]);
    assert_eq!(skipped.code, 0, "{}", skipped.record());
    assert_eq!(sightline(dir.path(), &["check", "--changed"]).code, 0);
}

#[test]
fn a_stack_builds_for_both_platforms_side_by_side() {
    let (dir, _) = project("faceless-staging.yaml");
    assert_eq!(sightline(dir.path(), &["build"]).code, 0);
    let compose = tree(&dir.path().join("generated"));
    let k8s = sightline(dir.path(), &["build", "--platform", "kubernetes"]);
    assert_eq!(k8s.code, 0, "{}", k8s.record());
    assert!(k8s.stderr.contains("SL903"), "what is not generated yet is said: {}", k8s.stderr);
    let out = dir.path().join("generated-kubernetes");
    assert!(out.join("manifests/alertmanager/config.yaml").is_file() && out.join("helm").is_dir());
    assert!(std::fs::read_to_string(out.join("sightline.lock")).unwrap().contains("platform = \"kubernetes\""));
    // The compose tree is untouched, and each gate holds its own directory.
    assert_eq!(tree(&dir.path().join("generated")), compose);
    assert_eq!(sightline(dir.path(), &["build", "--check"]).code, 0);
    assert_eq!(sightline(dir.path(), &["build", "--check", "--platform", "kubernetes"]).code, 0);
    // A changed file inside the kubernetes tree names its stack, and the lock its platform.
    let datasources = out.join("manifests/grafana/datasources.yaml");
    std::fs::write(&datasources, format!("{}# edit\n", std::fs::read_to_string(&datasources).unwrap())).unwrap();
    let gate = sightline(
        dir.path(),
        &["build", "--check", "--changed", "generated-kubernetes/manifests/grafana/datasources.yaml"],
    );
    assert_eq!(gate.code, 1, "{}", gate.record());
    assert!(
        gate.stderr.contains("edited by hand: manifests/grafana/datasources.yaml")
            && gate.stderr.contains("sightline build stack.yaml --platform kubernetes"),
        "{}",
        gate.stderr
    );
    assert_eq!(tree(&dir.path().join("generated")), compose);
    // The manifest's own `platform:` builds into the kubernetes directory with no flag.
    let manifest = dir.path().join("stack.yaml");
    let text = std::fs::read_to_string(&manifest)
        .unwrap()
        .replace("environment: staging\n", "environment: staging\nplatform: kubernetes\n");
    std::fs::write(&manifest, text).unwrap();
    let own = sightline(dir.path(), &["build", "--force"]);
    assert_eq!(own.code, 0, "{}", own.record());
    assert!(own.stderr.contains("generated-kubernetes"), "{}", own.stderr);
    assert_eq!(tree(&dir.path().join("generated")), compose);
}

#[test]
fn each_tree_is_built_for_its_own_platform() {
    let (dir, _) = project("minimal.yaml");
    assert_eq!(sightline(dir.path(), &["build"]).code, 0);
    let compose = tree(&dir.path().join("generated"));
    // One platform's files never replace the other's: `--platform` against a tree's lock.
    let into = sightline(dir.path(), &["build", "--platform", "kubernetes", "--out", "generated"]);
    assert_eq!(into.code, 2, "{}", into.record());
    assert!(into.stderr.contains("holds the compose files of this stack"), "{}", into.stderr);
    let changed = sightline(dir.path(), &["build", "--platform", "kubernetes", "--changed", "generated/compose.yaml"]);
    assert_eq!(changed.code, 2, "{}", changed.record());
    assert_eq!(tree(&dir.path().join("generated")), compose);
    // What the platform does not generate yet is a note: it never fails a build.
    let manifest = dir.path().join("stack.yaml");
    let minimal = std::fs::read_to_string(&manifest).unwrap();
    let with_files =
        format!("{minimal}logs:\n  sources:\n    - {{ name: syslog, path: /var/log/syslog, format: syslog }}\n");
    std::fs::write(&manifest, with_files).unwrap();
    let denied = sightline(dir.path(), &["--deny-warnings", "build", "--platform", "kubernetes"]);
    assert_eq!(denied.code, 0, "{}", denied.record());
    assert!(denied.stderr.contains("SL903") && denied.stderr.contains("1 note"), "{}", denied.stderr);
    std::fs::write(&manifest, minimal).unwrap();
    // The platform's checks follow the platform built for, not the manifest's.
    let text = std::fs::read_to_string(&manifest).unwrap().replace("stack: hello", "stack: hello_web");
    std::fs::write(&manifest, text).unwrap();
    let k8s = sightline(dir.path(), &["check", "--platform", "kubernetes"]);
    assert_eq!(k8s.code, 1, "{}", k8s.record());
    assert!(k8s.stderr.contains("SL901") && !k8s.stderr.contains("SL213"), "{}", k8s.stderr);
    let plain = sightline(dir.path(), &["check"]);
    assert_eq!(plain.code, 0, "{}", plain.record());
    assert!(!plain.stderr.contains("SL90") && plain.stderr.contains("SL213"), "{}", plain.stderr);
    let text = std::fs::read_to_string(&manifest)
        .unwrap()
        .replace("environment: dev", "environment: dev\nplatform: kubernetes");
    std::fs::write(&manifest, text).unwrap();
    let own = sightline(dir.path(), &["check", "--platform", "compose"]);
    assert_eq!(own.code, 0, "{}", own.record());
    assert!(!own.stderr.contains("SL90"), "{}", own.stderr);
    assert_eq!(sightline(dir.path(), &["check"]).code, 1);
}

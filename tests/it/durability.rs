//! `build` against a crash and against itself: SIGKILL at random moments leaves every file old
//! or new (never half), and the next build recovers without `--force` (the two manifests differ
//! in files and in directories: B has backups); two builds of one directory at once never
//! interleave.

use crate::support::plan_of;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const A: &str =
    "version: 1\nstack: alpha\nenvironment: dev\nnetwork: app_default\nservices:\n  web: { kind: http, port: 8080 }\n";
const B: &str = "version: 1\nstack: beta\nenvironment: prod\nnetwork: app_default\nservices:\n  web: { kind: http, port: 8081 }\n  db: { kind: postgres, port: 5432, database: app, user: app, password: { env: PGPASSWORD } }\nbackups:\n  jobs:\n    - { name: daily, service: db, schedule: \"0 2 * * *\", keep: 7 }\n";

/// The plan of a manifest written as `stack.yaml` (the name every generated header carries).
fn plan(text: &str) -> BTreeMap<String, String> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("stack.yaml"), text).unwrap();
    plan_of(&dir.path().join("stack.yaml"))
}

fn build(dir: &Path, extra: &[&str]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_sightline"))
        .arg("build")
        .args(extra)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sightline runs")
}

fn finish(child: std::process::Child) -> (i32, String) {
    let out = child.wait_with_output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// `build --check` in `dir`: its exit code and what it printed on stdout.
fn gate(dir: &Path) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sightline"))
        .args(["build", "--check"])
        .current_dir(dir)
        .output()
        .expect("sightline runs");
    (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Every regular file under `out`, relative path → bytes.
fn tree(out: &Path) -> BTreeMap<String, Vec<u8>> {
    walkdir::WalkDir::new(out)
        .into_iter()
        .map(Result::unwrap)
        .filter(|e| e.file_type().is_file())
        .map(|e| (e.path().strip_prefix(out).unwrap().to_string_lossy().into_owned(), std::fs::read(e.path()).unwrap()))
        .collect()
}

/// A small deterministic generator, so a failure can be replayed.
struct XorShift(u64);

impl XorShift {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

#[test]
fn killed_builds_leave_old_or_new_files_and_the_next_build_recovers() {
    let plans = [plan(A), plan(B)];
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("generated");
    let manifest = dir.path().join("stack.yaml");
    // How long a build that replaces a tree takes here: kills land anywhere in it.
    std::fs::write(&manifest, A).unwrap();
    assert_eq!(finish(build(dir.path(), &[])).0, 0);
    std::fs::write(&manifest, B).unwrap();
    let t = Instant::now();
    assert_eq!(finish(build(dir.path(), &[])).0, 0);
    let span = t.elapsed().as_micros() as u64;
    let mut rng = XorShift(0x5eed_1234_abcd_ef01);
    let (mut interrupted, mut completed) = (0, 0);
    for round in 0..400 {
        let next = round % 2;
        std::fs::write(&manifest, [B, A][next]).unwrap();
        let mut child = build(dir.path(), &[]);
        std::thread::sleep(Duration::from_micros(rng.below(span)));
        let _ = child.kill();
        let (code, _) = finish(child);
        if code == 0 {
            completed += 1;
        }
        // Old or new, whole: every file the plans know is one plan's version of it.
        let on_disk = tree(&out);
        let leftover = |p: &str| p.starts_with(".sightline-staging/") || p == ".sightline.lock.pending";
        let leftovers = on_disk.keys().any(|p| leftover(p));
        let mixed =
            !plans.iter().any(|p| p.iter().all(|(k, v)| on_disk.get(k).map(Vec::as_slice) == Some(v.as_bytes())));
        if leftovers || mixed {
            interrupted += 1;
        }
        // What a killed build left is drift: the gate names it.
        if leftovers {
            let (code, said) = gate(dir.path());
            assert_eq!(code, Some(1), "round {round}: build --check must fail on leftovers");
            assert!(said.contains("interrupted build"), "round {round}: {said}");
        }
        for (path, bytes) in &on_disk {
            if leftover(path) {
                continue;
            }
            let versions: Vec<&[u8]> = plans.iter().filter_map(|p| p.get(path)).map(|s| s.as_bytes()).collect();
            assert!(
                versions.contains(&bytes.as_slice()),
                "round {round}: {path} is neither plan's version ({} bytes)",
                bytes.len()
            );
        }
        // Recovery: the next build, without --force, with either manifest.
        let recover = [A, B][(round / 2) % 2];
        std::fs::write(&manifest, recover).unwrap();
        let (code, stderr) = finish(build(dir.path(), &[]));
        assert_eq!(code, 0, "round {round}: the build after a kill must succeed without --force:\n{stderr}");
        let expected: BTreeMap<String, Vec<u8>> =
            plans[(round / 2) % 2].iter().map(|(k, v)| (k.clone(), v.clone().into_bytes())).collect();
        assert_eq!(
            tree(&out).keys().collect::<BTreeSet<_>>(),
            expected.keys().collect::<BTreeSet<_>>(),
            "round {round}: after recovery the tree is exactly the plan (no temporary file, no intent, nothing stale)"
        );
        assert!(tree(&out) == expected, "round {round}: after recovery every file is the plan's");
        // No directory but those the plan's files are in: no staging, none made for a file no
        // build now plans.
        let dirs: BTreeSet<String> = walkdir::WalkDir::new(&out)
            .min_depth(1)
            .into_iter()
            .map(Result::unwrap)
            .filter(|e| e.file_type().is_dir())
            .map(|e| e.path().strip_prefix(&out).unwrap().to_string_lossy().into_owned())
            .collect();
        let planned_dirs: BTreeSet<String> = expected
            .keys()
            .flat_map(|p| {
                let parts: Vec<&str> = p.split('/').collect();
                (1..parts.len()).map(move |n| parts[..n].join("/"))
            })
            .collect();
        assert_eq!(dirs, planned_dirs, "round {round}: directories after recovery");
    }
    eprintln!("400 kills: {interrupted} interrupted a commit, {completed} builds finished first");
    assert!(interrupted > 0, "no kill landed inside a commit: the test proved nothing");
}

#[test]
fn two_builds_of_one_directory_never_interleave() {
    let plans = [plan(A), plan(B)];
    for round in 0..40 {
        let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
        let out = dirs[0].path().join("generated");
        for (d, text) in dirs.iter().zip([A, B]) {
            std::fs::write(d.path().join("stack.yaml"), text).unwrap();
        }
        let out_arg = out.to_string_lossy().into_owned();
        let children: Vec<_> = dirs.iter().map(|d| build(d.path(), &["--out", &out_arg])).collect();
        let results: Vec<(i32, String)> = children.into_iter().map(finish).collect();
        for (code, stderr) in &results {
            assert!(
                *code == 0 || (*code == 2 && stderr.contains("another sightline build")),
                "round {round}: {stderr}"
            );
        }
        let on_disk = tree(&out);
        let matches: Vec<usize> = (0..2)
            .filter(|&i| {
                plans[i].len() == on_disk.len()
                    && plans[i].iter().all(|(k, v)| on_disk.get(k).map(Vec::as_slice) == Some(v.as_bytes()))
            })
            .collect();
        assert_eq!(matches.len(), 1, "round {round}: the tree must be exactly one manifest's");
        assert_eq!(results[matches[0]].0, 0, "round {round}: the tree is that of a build that succeeded");
    }
}

/// The states a kill can leave, made by hand: a staging directory with half-written files, an
/// intent naming files of a manifest no longer built, and the empty directory made for them.
/// `build --check` names the leftovers; the next build removes them all, and leaves a user's
/// file that only the intent names (with other bytes) alone.
#[test]
fn what_a_killed_build_left_is_reported_then_removed() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("stack.yaml"), A).unwrap();
    assert_eq!(finish(build(dir.path(), &[])).0, 0);
    let out = dir.path().join("generated");
    std::fs::create_dir_all(out.join(".sightline-staging")).unwrap();
    std::fs::write(out.join(".sightline-staging/file-AbC123"), "half").unwrap();
    std::fs::create_dir_all(out.join("backup/deeper")).unwrap();
    std::fs::write(out.join("notes.md"), "the user's own notes\n").unwrap();
    std::fs::write(
        out.join(".sightline.lock.pending"),
        "version = 1\n\n[files]\n\"backup/deeper/run.sh\" = [\"sha256:00\"]\n\"notes.md\" = [\"sha256:00\"]\n",
    )
    .unwrap();
    let (code, said) = gate(dir.path());
    assert_eq!(code, Some(1), "{said}");
    assert!(said.contains(".sightline-staging") && said.contains(".sightline.lock.pending"), "{said}");
    let (code, stderr) = finish(build(dir.path(), &[]));
    assert_eq!(code, 0, "{stderr}");
    for gone in [".sightline-staging", ".sightline.lock.pending", "backup"] {
        assert!(!out.join(gone).exists(), "{gone} is still there");
    }
    assert_eq!(std::fs::read_to_string(out.join("notes.md")).unwrap(), "the user's own notes\n");
    let (code, said) = gate(dir.path());
    assert_eq!(code, Some(0), "{said}");
}

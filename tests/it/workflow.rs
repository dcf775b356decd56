//! The README's pre-commit and CI sections, as written, in a scratch git repository holding two
//! stacks in subdirectories: the real pre-commit framework runs the hooks of
//! `.pre-commit-hooks.yaml` on real commits, and the action's gate (`action.yml`, every step but
//! the network install) runs as GitHub would run it. They pass on a clean tree and fail, on the
//! right manifest lines, on a hand edit, on a manifest changed without a rebuild and on a broken
//! manifest.

use crate::support::{require_tool, root};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The first fenced block after `heading` in the README.
fn readme_block(heading: &str) -> String {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let section = &readme[readme.find(heading).unwrap_or_else(|| panic!("README has no `{heading}`"))..];
    let start = section.find("```").unwrap();
    let body = &section[start..];
    let body = &body[body.find('\n').unwrap() + 1..];
    body[..body.find("```").unwrap()].to_string()
}

/// The README's `rev:`: the release tag its snippets pin.
fn readme_rev() -> String {
    let block = readme_block("## In a pre-commit hook");
    let rev = block.lines().find_map(|l| l.trim().strip_prefix("rev: ")).expect("a rev");
    rev.trim().to_string()
}

struct Repo {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    path_var: std::ffi::OsString,
    cache: PathBuf,
}

impl Repo {
    fn run(&self, program: &str, args: &[&str]) -> (i32, String) {
        self.run_in(&self.dir, program, args, &[])
    }

    fn run_in(&self, dir: &Path, program: &str, args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
        let out = Command::new(program)
            .args(args)
            .current_dir(dir)
            .env("PATH", &self.path_var)
            .env("PRE_COMMIT_HOME", &self.cache)
            .env("NO_COLOR", "1")
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", self.cache.parent().unwrap())
            .envs(env.iter().copied())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
        let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&out.stderr));
        (out.status.code().unwrap_or(-1), text)
    }

    fn ok(&self, program: &str, args: &[&str]) -> String {
        let (code, text) = self.run(program, args);
        assert_eq!(code, 0, "{program} {args:?}:\n{text}");
        text
    }

    fn write(&self, rel: &str, text: &str) {
        let p = self.dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.dir.join(rel)).unwrap()
    }
}

/// A repository of the hooks (this checkout's `.pre-commit-hooks.yaml`, tagged with the
/// README's rev) and a project repository with two stacks, sightline on its PATH.
fn scratch() -> Repo {
    let pre_commit = require_tool("pre-commit");
    let tmp = tempfile::tempdir().unwrap();
    let bin = Path::new(env!("CARGO_BIN_EXE_sightline")).parent().unwrap().to_path_buf();
    let path_var = std::env::join_paths(
        [bin, pre_commit.parent().unwrap().to_path_buf()]
            .into_iter()
            .chain(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())),
    )
    .unwrap();
    let cache = tmp.path().join("home/.cache/pre-commit");
    std::fs::create_dir_all(&cache).unwrap();
    let hooks = tmp.path().join("hooks");
    let dir = tmp.path().join("project");
    std::fs::create_dir_all(&hooks).unwrap();
    std::fs::create_dir_all(&dir).unwrap();
    let repo = Repo { _tmp: tmp, dir, path_var, cache };

    std::fs::copy(root().join(".pre-commit-hooks.yaml"), hooks.join(".pre-commit-hooks.yaml")).unwrap();
    for args in [&["init", "-q"][..], &["add", "-A"], &["commit", "-q", "-m", "hooks"], &["tag", &readme_rev()]] {
        let (code, text) = repo.run_in(&hooks, "git", args, &[]);
        assert_eq!(code, 0, "git {args:?}: {text}");
    }

    repo.ok("git", &["init", "-q"]);
    repo.write(
        "deploy/prod/stack.yaml",
        &std::fs::read_to_string(root().join("examples/faceless-staging.yaml")).unwrap(),
    );
    repo.write("deploy/staging/stack.yaml", &std::fs::read_to_string(root().join("examples/minimal.yaml")).unwrap());
    // The README's configuration, pointed at the local hooks repository.
    let config = readme_block("## In a pre-commit hook");
    let url = config.lines().find_map(|l| l.trim().strip_prefix("- repo: ")).expect("a repo").trim().to_string();
    repo.write(".pre-commit-config.yaml", &config.replace(&url, &hooks.to_string_lossy()));
    repo
}

const MANIFESTS: [&str; 2] = ["deploy/prod/stack.yaml", "deploy/staging/stack.yaml"];

/// The 1-based line of the first line of `rel` that is exactly `line`.
fn line_of(repo: &Repo, rel: &str, line: &str) -> usize {
    repo.read(rel).lines().position(|l| l == line).unwrap_or_else(|| panic!("{rel} has no `{line}`")) + 1
}

/// Run the action's steps as GitHub would, but the network install: each `run` with its `env`,
/// `${{ inputs.* }}` at their defaults, `GITHUB_ACTION_PATH` this checkout.
fn action_gate(repo: &Repo, summary: &Path) -> (i32, String) {
    let action: serde_json::Value =
        serde_saphyr::from_str(&std::fs::read_to_string(root().join("action.yml")).unwrap()).unwrap();
    let inputs = action["inputs"].as_object().unwrap();
    let input = |expr: &str| -> String {
        let name = expr.trim().strip_prefix("inputs.").unwrap_or_else(|| panic!("not an input: {expr}"));
        inputs[name]["default"].as_str().unwrap().to_string()
    };
    let mut last = (0, String::new());
    for step in action["runs"]["steps"].as_array().unwrap() {
        if step.get("if").is_some_and(|c| c.as_str().unwrap().contains("inputs.install")) {
            assert!(step["run"].as_str().unwrap().contains("sightline-installer.sh"));
            continue;
        }
        let mut env: Vec<(String, String)> = vec![
            ("GITHUB_ACTION_PATH".into(), root().to_string_lossy().into_owned()),
            ("GITHUB_STEP_SUMMARY".into(), summary.to_string_lossy().into_owned()),
        ];
        for (k, v) in step["env"].as_object().into_iter().flatten() {
            let v = v.as_str().unwrap();
            let v = match v.trim().strip_prefix("${{").and_then(|r| r.strip_suffix("}}")) {
                Some(expr) => input(expr),
                None => v.to_string(),
            };
            env.push((k.clone(), v));
        }
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        // As GitHub runs a `shell: bash` step.
        last = repo.run_in(
            &repo.dir,
            "bash",
            &["--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"].as_str().unwrap()],
            &env,
        );
        if last.0 != 0 {
            break;
        }
    }
    last
}

#[test]
fn two_stacks_pass_and_fail_their_hooks_and_their_ci_gate() {
    let repo = scratch();
    // README: build each stack into generated/ beside it, commit with the hooks installed.
    repo.ok("sightline", &["build", MANIFESTS[0], MANIFESTS[1]]);
    assert!(repo.dir.join("deploy/prod/generated/sightline.lock").is_file());
    assert!(repo.dir.join("deploy/staging/generated/sightline.lock").is_file());
    repo.ok("pre-commit", &["install"]);
    repo.ok("git", &["add", "-A"]);
    let first = repo.ok("git", &["commit", "-q", "-m", "two stacks"]);
    assert!(first.contains("sightline check") && first.contains("sightline drift gate"), "{first}");
    let summary = repo.dir.join("../summary.md");
    let (code, text) = action_gate(&repo, &summary);
    assert_eq!(code, 0, "the gate fails a clean tree:\n{text}");

    // A hand edit of one generated file: the drift hook names that stack's file, and only it.
    let edited = "deploy/staging/generated/prometheus/prometheus.yml";
    repo.write(edited, &format!("{}# tuned by hand\n", repo.read(edited)));
    repo.ok("git", &["add", "-A"]);
    let (code, text) = repo.run("git", &["commit", "-q", "-m", "hand edit"]);
    assert_ne!(code, 0, "a hand edit was committed:\n{text}");
    assert!(text.contains("deploy/staging/generated does not match deploy/staging/stack.yaml"), "{text}");
    assert!(text.contains("edited by hand: prometheus/prometheus.yml"), "{text}");
    assert!(!text.contains("deploy/prod/generated does not match"), "{text}");

    // A manifest changed without a rebuild, in the other stack, at the same time.
    let prod = "deploy/prod/stack.yaml";
    repo.write(prod, &repo.read(prod).replace("    port: 8000\n", "    port: 8001\n"));
    repo.ok("git", &["add", "-A"]);
    let (code, text) = repo.run("git", &["commit", "-q", "-m", "port"]);
    assert_ne!(code, 0, "{text}");
    assert!(text.contains("deploy/prod/generated does not match deploy/prod/stack.yaml"), "{text}");
    assert!(text.contains("run `sightline build deploy/prod/stack.yaml`"), "{text}");

    // The CI gate: annotations on the lines responsible, in each manifest, and the diff in the
    // job summary.
    let (code, text) = action_gate(&repo, &summary);
    assert_eq!(code, 1, "{text}");
    let api = line_of(&repo, prod, "  api:");
    assert!(
        text.lines().any(|l| l.starts_with(&format!("::error file={prod},line={api},"))
            && l.contains("SL801")
            && l.contains("deploy/prod/generated/prometheus/tests/services-http.yml")),
        "no annotation on {prod}:{api}:\n{text}"
    );
    let services = line_of(&repo, MANIFESTS[1], "services:");
    assert!(
        text.lines().any(|l| l.starts_with(&format!("::error file={},line={services},", MANIFESTS[1]))
            && l.contains("SL802")
            && l.contains(edited)),
        "no annotation on the staging manifest:\n{text}"
    );
    let job_summary = std::fs::read_to_string(&summary).unwrap();
    assert!(job_summary.contains("api:8001"), "{job_summary}");
    assert!(job_summary.contains("# tuned by hand"), "{job_summary}");

    // What the messages say fixes it: rebuild prod, drop the hand edit; then both pass.
    repo.ok("sightline", &["build", prod]);
    repo.ok("sightline", &["build", "--force", MANIFESTS[1]]);
    repo.ok("git", &["add", "-A"]);
    repo.ok("git", &["commit", "-q", "-m", "rebuilt"]);
    assert_eq!(action_gate(&repo, &summary).0, 0);

    // A broken manifest: the check hook fails with the code and the line.
    let staging = MANIFESTS[1];
    repo.write(staging, &format!("{}  worker: {{ kind: htp, port: 9000 }}\n", repo.read(staging)));
    repo.ok("git", &["add", "-A"]);
    let (code, text) = repo.run("git", &["commit", "-q", "-m", "broken"]);
    assert_ne!(code, 0, "{text}");
    let worker = line_of(&repo, staging, "  worker: { kind: htp, port: 9000 }");
    assert!(text.contains("SL006") && text.contains(&format!("{staging}:{worker}:")), "{text}");
    let (code, text) = action_gate(&repo, &summary);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains(&format!("::error file={staging},line={worker},")), "{text}");
}

#[test]
fn the_readme_pins_the_released_version_everywhere() {
    let version = env!("CARGO_PKG_VERSION");
    let repository = env!("CARGO_PKG_REPOSITORY");
    let owner_name = repository.strip_prefix("https://github.com/").expect("a GitHub repository");
    let tag = format!("v{version}");
    assert_eq!(readme_rev(), tag, "the pre-commit snippet's rev");
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    // cargo-dist names the installer `<app>-installer.sh` on the release of the tag.
    assert!(
        readme.contains(&format!("{repository}/releases/download/{tag}/sightline-installer.sh")),
        "the installer line"
    );
    assert!(readme.contains(&format!("--git {repository} --tag {tag}")), "the source install");
    assert!(readme.contains(&format!("- repo: {repository}\n")), "the pre-commit repository");
    assert!(readme.contains(&format!("uses: {owner_name}@{tag}")), "the action's tag");
    // The release workflow is what `dist generate` makes of dist-workspace.toml, and builds the
    // shell installer the README and the action download.
    let dist = std::fs::read_to_string(root().join("dist-workspace.toml")).unwrap();
    assert!(dist.contains("installers = [\"shell\"]") && dist.contains("ci = \"github\""), "{dist}");
    assert!(root().join(".github/workflows/release.yml").is_file());
    let changelog = std::fs::read_to_string(root().join("CHANGELOG.md")).unwrap();
    assert!(changelog.contains(&format!("## [{version}]")), "CHANGELOG.md has no section for {version}");
}

//! Which stacks the command line names: each argument is a manifest, a directory holding one, or
//! a file inside an output directory (what pre-commit passes when a generated file changes),
//! which names the stack that output belongs to. Each stack's output directory is
//! `generated/` beside its manifest unless `--out` says otherwise (for one manifest only).

use super::output::Output;
use crate::emit::{self, plan::LOCK_FILE};
use crate::manifest::model::Platform;
use std::path::{Path, PathBuf};

/// The manifest file names looked for in a directory.
const MANIFEST_NAMES: [&str; 3] = ["stack.yaml", "stack.yml", "stack.toml"];

/// The output directory beside a manifest, when `--out` does not name one.
pub const DEFAULT_OUT: &str = "generated";

/// A stack to work on: its manifest and its output directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stack {
    pub manifest: PathBuf,
    pub out: PathBuf,
    /// The output directory is not the default beside the manifest for its platform (`--out`,
    /// or an output directory of another name found through its lock): the hints name it.
    pub out_given: bool,
    /// The output directory was named (`--out`) or found (a changed file inside it), not
    /// defaulted: it stays whatever the platform.
    pub out_fixed: bool,
    /// The platform the command line names (`--platform`), if it names one; once settled, the
    /// platform the stack is built for.
    pub platform: Option<Platform>,
    /// The manifest's own platform (`platform:`, compose when it names none), once settled: a
    /// hint names `--platform` when the stack is built for another.
    pub own_platform: Platform,
}

impl Stack {
    /// The platform the output directory's lock records, when the directory was given or found
    /// (a default one is the platform's own).
    fn recorded(&self) -> Result<Option<Platform>, String> {
        if !self.out_fixed {
            return Ok(None);
        }
        let lock = self.out.join(LOCK_FILE);
        let Ok(Some(bytes)) = emit::files::read_regular(&lock, emit::files::MAX_GENERATED) else { return Ok(None) };
        match String::from_utf8(bytes).ok().and_then(|t| emit::lock::platform_of(&t)) {
            None => Ok(None),
            Some(Ok(p)) => Ok(Some(p)),
            Some(Err(name)) => Err(format!(
                "{} was built for the platform `{name}`, which this sightline does not know; build with a newer sightline, or into another directory",
                self.out.display()
            )),
        }
    }

    /// The platform to check and build for, as far as it is known before the manifest is read:
    /// the command line's, or the one the lock of an output directory given or found records (a
    /// changed file inside `generated-kubernetes/` is checked for Kubernetes). `Err` when the two
    /// disagree: building one platform's files into the other's directory would remove them.
    pub fn platform_hint(&self) -> Result<Option<Platform>, String> {
        match (self.platform, self.recorded()?) {
            (Some(p), Some(r)) if p != r => Err(format!(
                "{} holds the {} files of this stack, not {} ones; build {} into {} (leave out --out), or into another directory",
                self.out.display(),
                r.as_str(),
                p.as_str(),
                p.as_str(),
                beside_for(&self.manifest, p).display()
            )),
            (Some(p), _) => Ok(Some(p)),
            (None, r) => Ok(r),
        }
    }

    /// Settle the platform (`hint`, else the manifest's own `platform:`, else compose) and, when
    /// none was given or found, the output directory: `generated/` for compose,
    /// `generated-kubernetes/` for kubernetes.
    pub fn settle(&mut self, hint: Option<Platform>, own: Option<Platform>) -> Platform {
        let platform = Platform::chosen(hint, own);
        if !self.out_fixed {
            self.out = beside_for(&self.manifest, platform);
        }
        self.out_given = normal(&self.out) != normal(&beside_for(&self.manifest, platform));
        self.platform = Some(platform);
        self.own_platform = own.unwrap_or_default();
        platform
    }
}

/// The stacks named by `paths` (none: the manifest in the current directory), in the order
/// given, each once. With `changed` the paths are changed files, as pre-commit passes them: a
/// file that belongs to no stack is skipped instead of read as a manifest. `None` (after saying
/// why) when an argument names no stack, or two stacks would share an output directory.
pub fn resolve(
    paths: &[PathBuf],
    out: Option<&Path>,
    changed: bool,
    platform: Option<Platform>,
    output: &Output,
) -> Option<Vec<Stack>> {
    let here = [PathBuf::new()];
    let paths = if paths.is_empty() && !changed { &here[..] } else { paths };
    let mut found: Vec<(PathBuf, Option<PathBuf>)> = Vec::new();
    let mut seen = Vec::new();
    let mut failed = false;
    for p in paths {
        match stack_of(p, changed) {
            Ok(Some(f)) => {
                // One file however it is spelt (`a`, `./a/stack.yaml`, an absolute path), once per
                // output directory: changed files in `generated/` and in `generated-kubernetes/`
                // gate both trees.
                let manifest = std::fs::canonicalize(&f.0).unwrap_or_else(|_| f.0.clone());
                let dir = f.1.clone().unwrap_or_else(|| beside_for(&f.0, platform.unwrap_or_default()));
                let identity = (manifest, normal(&dir));
                if !seen.contains(&identity) {
                    seen.push(identity);
                    found.push(f);
                }
            }
            Ok(None) => {}
            Err(e) => {
                output.error(&e);
                failed = true;
            }
        }
    }
    if failed {
        return None;
    }
    if out.is_some() && found.len() > 1 {
        output.error("--out names one output directory: pass one manifest with it (each manifest's default is generated/ beside it, generated-kubernetes/ for kubernetes)");
        return None;
    }
    let stacks: Vec<Stack> = found
        .into_iter()
        .map(|(manifest, found_out)| {
            let fixed = out.map(Path::to_path_buf).or(found_out);
            let out_fixed = fixed.is_some();
            let out = fixed.unwrap_or_else(|| beside_for(&manifest, platform.unwrap_or_default()));
            let out_given = normal(&out) != normal(&beside_for(&manifest, platform.unwrap_or_default()));
            Stack { manifest, out, out_given, out_fixed, platform, own_platform: Platform::Compose }
        })
        .collect();
    // Two stacks built into one directory would overwrite each other's files, each build
    // removing the other's as stale.
    let dirs: Vec<PathBuf> = stacks.iter().map(|s| normal(&s.out)).collect();
    for (i, d) in dirs.iter().enumerate() {
        if let Some(j) = dirs[..i].iter().position(|e| e == d) {
            output.error(&format!(
                "{} and {} would both be built into {}; give one of them another directory (build it alone with --out)",
                stacks[j].manifest.display(),
                stacks[i].manifest.display(),
                stacks[i].out.display()
            ));
            return None;
        }
    }
    Some(stacks)
}

/// A path absolute, with `.` and `..` resolved where the directory exists.
fn normal(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| {
        let abs = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
        match (abs.parent(), abs.file_name()) {
            (Some(parent), Some(name)) => std::fs::canonicalize(parent).map_or(abs.clone(), |d| d.join(name)),
            _ => abs,
        }
    })
}

/// The default output directory beside the manifest for a platform: `generated/` for compose,
/// `generated-<platform>/` for another, so a stack built for both keeps both.
pub fn beside_for(manifest: &Path, platform: Platform) -> PathBuf {
    let dir = manifest.parent().unwrap_or(Path::new(""));
    match platform {
        Platform::Compose => dir.join(DEFAULT_OUT),
        other => dir.join(format!("{DEFAULT_OUT}-{}", other.as_str())),
    }
}

/// Whether a file is named as manifests are (`stack.yaml`, `stack.yml`, `stack.toml`).
fn manifest_named(path: &Path) -> bool {
    path.file_name().is_some_and(|n| MANIFEST_NAMES.iter().any(|m| n == *m))
}

/// The manifest an argument names, and the output directory when the argument was found in one;
/// `None` for a changed file that belongs to no stack.
fn stack_of(path: &Path, changed: bool) -> Result<Option<(PathBuf, Option<PathBuf>)>, String> {
    let is_dir = path.as_os_str().is_empty() || std::fs::metadata(path).is_ok_and(|m| m.is_dir());
    if is_dir && !changed {
        return in_directory(path).map(|m| Some((m, None)));
    }
    // A file called like a manifest is one, wherever it is.
    if manifest_named(path) {
        return Ok(Some((path.to_path_buf(), None)));
    }
    if let Some((manifest, out)) = output_holding(path)? {
        return Ok(Some((manifest, Some(out))));
    }
    Ok((!changed).then(|| (path.to_path_buf(), None)))
}
/// The one manifest in a directory.
fn in_directory(dir: &Path) -> Result<PathBuf, String> {
    let found: Vec<PathBuf> = MANIFEST_NAMES.iter().map(|n| dir.join(n)).filter(|p| p.is_file()).collect();
    let shown =
        if dir.as_os_str().is_empty() { "the current directory".to_string() } else { dir.display().to_string() };
    match found.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(format!("no stack.yaml or stack.toml in {shown}; name the manifest, or run `sightline init`")),
        many => Err(format!(
            "found {} in {shown}; name the one you mean",
            many.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(" and ")
        )),
    }
}

/// When `path` lies inside an output directory (a directory holding `sightline.lock` among the
/// path's ancestors, up to the current directory or the repository's root), that directory's
/// manifest, from the lock, beside it. The path is made absolute first, so `compose.yaml` run
/// from inside `generated/` is found too; the manifest is named relative to the current
/// directory when it is below it.
fn output_holding(path: &Path) -> Result<Option<(PathBuf, PathBuf)>, String> {
    let cwd = std::env::current_dir().map_err(|e| format!("cannot read the current directory: {e}"))?;
    let abs = normal(path);
    // Up to the repository's root (or the current directory outside one): never every `..`
    // to `/`. A path outside that is looked up in its own directory only.
    let bound = cwd.ancestors().find(|d| d.join(".git").exists()).unwrap_or(&cwd).to_path_buf();
    let shown = |p: &Path| match p.strip_prefix(&cwd) {
        Ok(rel) if rel.as_os_str().is_empty() => PathBuf::from("."),
        Ok(rel) => rel.to_path_buf(),
        Err(_) => p.to_path_buf(),
    };
    for dir in abs.ancestors().skip(1) {
        let lock_path = dir.join(LOCK_FILE);
        let lock = match emit::files::read_regular(&lock_path, emit::files::MAX_GENERATED) {
            Ok(Some(bytes)) => bytes,
            Ok(None) => {
                if dir == bound || !dir.starts_with(&bound) {
                    break;
                }
                continue;
            }
            Err(e) => return Err(format!("cannot read {}: {}", e.path.display(), e.error)),
        };
        let name = String::from_utf8(lock).ok().and_then(|t| emit::lock::manifest_of(&t));
        let Some(name) = name else {
            return Err(format!("{} is not a lock sightline wrote", shown(&lock_path).display()));
        };
        // A manifest kept in its own output directory is a manifest, not an output.
        if dir.join(&name) == abs {
            return Ok(None);
        }
        let manifest = dir.parent().unwrap_or(Path::new("/")).join(&name);
        if !manifest.is_file() {
            return Err(format!(
                "{} is in the output directory {}, whose manifest {} is not beside it; name the manifest instead",
                path.display(),
                shown(dir).display(),
                shown(&manifest).display()
            ));
        }
        return Ok(Some((shown(&manifest), shown(dir))));
    }
    Ok(None)
}

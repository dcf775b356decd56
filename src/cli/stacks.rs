//! Which stacks the command line names: each argument is a manifest, a directory holding one, or
//! a file inside an output directory (what pre-commit passes when a generated file changes),
//! which names the stack that output belongs to. Each stack's output directory is
//! `generated/` beside its manifest unless `--out` says otherwise (for one manifest only).

use super::output::Output;
use crate::emit::{self, plan::LOCK_FILE};
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
    /// `--out` was given: the hints repeat it.
    pub out_given: bool,
}

/// The stacks named by `paths` (none: the manifest in the current directory), in the order
/// given, each once. `None` (after saying why) when an argument names no stack.
pub fn resolve(paths: &[PathBuf], out: Option<&Path>, output: &Output) -> Option<Vec<Stack>> {
    let here = [PathBuf::new()];
    let paths = if paths.is_empty() { &here[..] } else { paths };
    let mut manifests: Vec<(PathBuf, Option<PathBuf>)> = Vec::new();
    let mut failed = false;
    for p in paths {
        match stack_of(p) {
            Ok(found) => {
                if !manifests.iter().any(|(m, _)| *m == found.0) {
                    manifests.push(found);
                }
            }
            Err(e) => {
                output.error(&e);
                failed = true;
            }
        }
    }
    if failed {
        return None;
    }
    if out.is_some() && manifests.len() > 1 {
        output.error("--out names one output directory: pass one manifest with it (each manifest's default is generated/ beside it)");
        return None;
    }
    Some(
        manifests
            .into_iter()
            .map(|(manifest, found_out)| {
                let out_given = out.is_some();
                let out = out.map(Path::to_path_buf).or(found_out).unwrap_or_else(|| beside(&manifest));
                Stack { manifest, out, out_given }
            })
            .collect(),
    )
}

/// `generated/` beside the manifest (`generated` for a manifest in the current directory).
pub fn beside(manifest: &Path) -> PathBuf {
    manifest.parent().unwrap_or(Path::new("")).join(DEFAULT_OUT)
}

/// The manifest an argument names, and the output directory when the argument was found in one.
fn stack_of(path: &Path) -> Result<(PathBuf, Option<PathBuf>), String> {
    let is_dir = path.as_os_str().is_empty() || std::fs::metadata(path).is_ok_and(|m| m.is_dir());
    if is_dir {
        return in_directory(path).map(|m| (m, None));
    }
    if let Some((manifest, out)) = output_holding(path)? {
        return Ok((manifest, Some(out)));
    }
    Ok((path.to_path_buf(), None))
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
/// path's own ancestors), that directory's manifest, from the lock, beside it.
fn output_holding(path: &Path) -> Result<Option<(PathBuf, PathBuf)>, String> {
    for dir in path.ancestors().skip(1) {
        let lock_path = dir.join(LOCK_FILE);
        let lock = match emit::files::read_regular(&lock_path, emit::files::MAX_GENERATED) {
            Ok(Some(bytes)) => bytes,
            Ok(None) => continue,
            Err(e) => return Err(format!("cannot read {}: {}", e.path.display(), e.error)),
        };
        let name = String::from_utf8(lock).ok().and_then(|t| emit::lock::manifest_of(&t));
        let Some(name) = name else {
            return Err(format!("{} is not a lock sightline wrote", lock_path.display()));
        };
        // A manifest kept in its own output directory is a manifest, not an output.
        if dir.join(&name) == path {
            return Ok(None);
        }
        let manifest = dir.parent().unwrap_or(Path::new("")).join(&name);
        if !manifest.is_file() {
            return Err(format!(
                "{} is in the output directory {}, whose manifest {} is not beside it; name the manifest instead",
                path.display(),
                dir.display(),
                manifest.display()
            ));
        }
        return Ok(Some((manifest, dir.to_path_buf())));
    }
    Ok(None)
}

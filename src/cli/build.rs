//! `check`, `build`, `build --check` and `diff`: find the manifest, compile it, and use the
//! plan against the output directory.

use super::{Status, output::Output};
use crate::emit::{self, drift::Change, write::Outcome};
use std::path::{Path, PathBuf};

/// The manifest path: `-f`, or `stack.yaml` / `stack.toml` in the current directory.
fn find_manifest(given: Option<PathBuf>, out: &Output) -> Option<PathBuf> {
    if let Some(p) = given {
        return Some(p);
    }
    let found: Vec<&str> =
        ["stack.yaml", "stack.yml", "stack.toml"].into_iter().filter(|p| Path::new(p).is_file()).collect();
    match found.as_slice() {
        [one] => Some(PathBuf::from(one)),
        [] => {
            out.error("no stack.yaml or stack.toml in the current directory; pass -f MANIFEST or run `sightline init`");
            None
        }
        many => {
            out.error(&format!("found {}; pass -f to choose one", many.join(" and ")));
            None
        }
    }
}

/// Read and check the manifest, printing diagnostics. `None` when sightline could not run.
pub(super) fn load(given: Option<PathBuf>, out: &Output) -> Option<crate::Checked> {
    let path = find_manifest(given, out)?;
    // At most one byte past the size limit, so a huge file is refused without reading it all;
    // a FIFO or a device is refused without reading it at all.
    let bytes = match emit::files::read_manifest(&path, crate::manifest::tree::MAX_BYTES as u64) {
        Ok(b) => b,
        Err(e) => {
            out.error(&format!("cannot read {}: {}", path.display(), e.error));
            return None;
        }
    };
    let mut checked = crate::check(&path.to_string_lossy(), &bytes);
    if out.deny_warnings {
        checked.deny_warnings();
    }
    out.diagnostics(&checked.source, &checked.diagnostics);
    Some(checked)
}

pub fn check(given: Option<PathBuf>, out: &Output) -> Status {
    let Some(checked) = load(given, out) else { return Status::Error };
    if checked.has_errors() {
        Status::Failure
    } else {
        if checked.diagnostics.is_empty() {
            out.note(&format!("{}: no problems", checked.source.name));
        }
        Status::Ok
    }
}

pub fn build(given: Option<PathBuf>, dir: &Path, force: bool, out: &Output) -> Status {
    let Some(checked) = load(given, out) else { return Status::Error };
    let Some(plan) = crate::plan(&checked) else {
        out.note("nothing was written");
        return Status::Failure;
    };
    match emit::write::write(&plan, dir, force) {
        Err(e) => {
            out.error(&e.to_string());
            Status::Error
        }
        Ok(Outcome::Refused(conflicts)) => {
            for c in conflicts {
                out.error(&c.to_string());
            }
            out.note("nothing was written");
            Status::Failure
        }
        Ok(Outcome::Written(r)) => {
            out.note(&format!(
                "{}: {} written, {} unchanged, {} removed",
                dir.display(),
                r.written.len(),
                r.unchanged.len(),
                r.removed.len()
            ));
            Status::Ok
        }
    }
}

/// `build --check` (`gate`: exit 1 on drift) and `diff` (always exit 0 when it ran).
pub fn drift(given: Option<PathBuf>, dir: &Path, gate: bool, out: &Output) -> Status {
    let Some(checked) = load(given, out) else { return Status::Error };
    let Some(plan) = crate::plan(&checked) else { return Status::Failure };
    let changes = match emit::drift::drift(&plan, dir) {
        Ok(c) => c,
        Err(e) => {
            out.error(&e.to_string());
            return Status::Error;
        }
    };
    let dir_name = dir.to_string_lossy();
    out.stdout(&emit::diff::render(&changes, &dir_name));
    if changes.is_empty() {
        out.note(&format!("{dir_name} is up to date with {}", checked.source.name));
        return Status::Ok;
    }
    if gate {
        let summary: Vec<String> = changes
            .iter()
            .map(|c| match c {
                Change::Missing { path, .. } => format!("missing: {path}"),
                Change::Changed { path, edited: true, .. } => format!("edited by hand: {path}"),
                Change::Changed { path, .. } => format!("changed: {path}"),
                Change::Stale { path, .. } => format!("stale:   {path}"),
                Change::Leftover { path } => format!("left over by an interrupted build: {path}"),
            })
            .collect();
        let name = &checked.source.name;
        let build = format!("sightline build -f {name} --out {dir_name}");
        // What fixes it: a hand edit is kept by a plain build, so say where it must go.
        let hint = if changes.iter().any(|c| matches!(c, Change::Changed { edited: true, .. })) {
            format!(
                "files edited by hand are kept by `sightline build`: move each change into {name} and run `{build}`, or drop the edits with `{build} --force`; then commit the result"
            )
        } else {
            format!("run `{build}` and commit the result")
        };
        out.stderr(&format!(
            "{dir_name} does not match {name}:\n  {}\n{hint}\n",
            crate::diagnostic::printable(&summary.join("\n  ")),
        ));
        Status::Failure
    } else {
        Status::Ok
    }
}

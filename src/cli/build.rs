//! `check`, `build`, `build --check` and `diff`: find the manifest, compile it, and use the
//! plan against the output directory.

use super::{Status, output::Output, stacks::Stack};
use crate::diagnostic::Format;
use crate::emit::{self, drift::Change, write::Outcome};
use std::path::{Path, PathBuf};

/// The manifest path: `-f`, or `stack.yaml` / `stack.toml` in the current directory.
fn find_manifest(given: Option<PathBuf>, out: &Output) -> Option<PathBuf> {
    let stacks = super::stacks::resolve(&given.into_iter().collect::<Vec<_>>(), None, false, None, out)?;
    stacks.into_iter().next().map(|s| s.manifest)
}

/// Read and check the manifest, printing diagnostics. `None` when sightline could not run.
pub(super) fn load(given: Option<PathBuf>, out: &Output) -> Option<crate::Checked> {
    read_and_check(&find_manifest(given, out)?, out)
}

/// Read and check one manifest for its own platform, printing its diagnostics.
pub(super) fn read_and_check(path: &Path, out: &Output) -> Option<crate::Checked> {
    read_and_check_for(path, None, out)
}

/// Read and check a stack's manifest for the platform it is built for (`Stack::settle`: the
/// command line's, the output directory's, or the manifest's), printing its diagnostics; the
/// stack with its platform and output directory settled.
pub(super) fn read_stack(stack: &Stack, out: &Output) -> Option<(crate::Checked, Stack)> {
    let mut stack = stack.clone();
    let path = stack.manifest.clone();
    let checked = read_and_check_for(&path, Some(&mut stack), out)?;
    Some((checked, stack))
}

fn read_and_check_for(path: &Path, stack: Option<&mut Stack>, out: &Output) -> Option<crate::Checked> {
    let hint = match stack.as_ref().map(|s| s.platform_hint()).transpose() {
        Ok(h) => h.flatten(),
        Err(e) => {
            out.error(&e);
            return None;
        }
    };
    // At most one byte past the size limit, so a huge file is refused without reading it all;
    // a FIFO or a device is refused without reading it at all.
    let bytes = match emit::files::read_manifest(path, crate::manifest::tree::MAX_BYTES as u64) {
        Ok(b) => b,
        Err(e) => {
            out.error(&format!("cannot read {}: {}", path.display(), e.error));
            return None;
        }
    };
    let mut checked = crate::check_for(&path.to_string_lossy(), &bytes, hint);
    if let Some(stack) = stack {
        stack.settle(hint, checked.manifest.as_ref().and_then(|m| m.platform));
    }
    if out.deny_warnings {
        checked.deny_warnings();
    }
    out.diagnostics(&checked.source, &checked.diagnostics);
    Some(checked)
}

/// Run `one` on every stack, all of them whatever each gives; the worst status.
pub fn each(stacks: &[Stack], one: impl Fn(&Stack) -> Status) -> Status {
    stacks.iter().map(one).fold(Status::Ok, Status::worst)
}

pub fn check(stack: &Stack, out: &Output) -> Status {
    let Some((checked, _)) = read_stack(stack, out) else { return Status::Error };
    if checked.has_errors() {
        Status::Failure
    } else {
        if checked.diagnostics.is_empty() {
            out.note(&format!("{}: no problems", checked.source.name));
        }
        Status::Ok
    }
}

/// The plan of a checked manifest, with the image digests its output directory's lock records
/// (`pin: digest`); the status to exit with when there is none, its diagnostics printed.
fn plan(
    stack: &Stack,
    checked: &crate::Checked,
    recorded: Option<&Images>,
    out: &Output,
) -> Result<emit::Plan, Status> {
    let read;
    let recorded = match recorded {
        Some(r) => r,
        None if checked.manifest.as_ref().is_some_and(|m| m.pin == Some(crate::manifest::model::Pin::Digest)) => {
            read = emit::recorded_images(&stack.out, &crate::display_name(&checked.source.name)).map_err(|e| {
                out.error(&e.to_string());
                Status::Error
            })?;
            &read
        }
        None => &Images::new(),
    };
    match crate::plan_pinned(checked, recorded, stack.platform) {
        None => Err(Status::Failure),
        Some(Ok(plan)) => Ok(plan),
        Some(Err(missing)) => {
            let pin = command(stack, &checked.source.name, "pin");
            let d = crate::check::images::digests_not_recorded(&checked.source, &missing, &pin);
            out.diagnostics(&checked.source, &[d]);
            Err(Status::Failure)
        }
    }
}

/// Image → digest, as the lock records them.
pub type Images = std::collections::BTreeMap<String, String>;

pub fn build(stack: &Stack, force: bool, out: &Output) -> Status {
    let Some((checked, stack)) = read_stack(stack, out) else { return Status::Error };
    write(&stack, &checked, None, force, "build", out)
}

/// Write a checked manifest's files; `recorded`: the image digests to build with, when the
/// caller has them (`pin`), else the lock's; `verb`: the command that writes them again.
pub(super) fn write(
    stack: &Stack,
    checked: &crate::Checked,
    recorded: Option<&Images>,
    force: bool,
    verb: &str,
    out: &Output,
) -> Status {
    let dir = &stack.out;
    let plan = match plan(stack, checked, recorded, out) {
        Ok(p) => p,
        Err(status) => {
            if status == Status::Failure {
                out.note("nothing was written");
            }
            return status;
        }
    };
    match emit::write::write(&plan, dir, force) {
        Err(e) => {
            out.error(&e.to_string());
            Status::Error
        }
        Ok(Outcome::Refused(conflicts)) => {
            if out.format == Format::Human {
                for c in conflicts {
                    out.error(&c.to_string());
                }
                out.note("nothing was written");
            } else {
                let dir_name = dir.to_string_lossy();
                let build = command(stack, &checked.source.name, verb);
                out.diagnostics(
                    &checked.source,
                    &emit::report::refusals(&conflicts, &plan, &checked.source, &dir_name, &build),
                );
            }
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

/// The most of one stack's diff a job summary carries (GitHub keeps 1 MiB of summary per step).
const MAX_SUMMARY_DIFF: usize = 64 << 10;

/// At most `limit` bytes of `text`, cut at a line, with what shows the rest.
fn truncated(text: String, limit: usize, whole: &str) -> String {
    if text.len() <= limit {
        return text;
    }
    let cut = text[..limit].rfind('\n').map_or(0, |i| i + 1);
    format!("{}… {} more bytes; `{whole}` shows the whole diff\n", &text[..cut], text.len() - cut)
}

/// The command that rebuilds a stack, as the user would type it.
fn rebuild_command(stack: &Stack, name: &str) -> String {
    command(stack, name, "build")
}

/// `sightline <verb>` on a stack, as the user would type it.
fn command(stack: &Stack, name: &str, verb: &str) -> String {
    let word = |s: &str| {
        if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "/._-+".contains(c)) {
            s.to_string()
        } else {
            format!("'{}'", s.replace('\'', "'\\''"))
        }
    };
    let mut c = format!("sightline {verb} {}", word(name));
    if let Some(p) = stack.platform.filter(|p| *p != stack.own_platform) {
        c.push_str(&format!(" --platform {}", p.as_str()));
    }
    if stack.out_given {
        c.push_str(&format!(" --out {}", word(&stack.out.to_string_lossy())));
    }
    c
}

/// `build --check` (`gate`: exit 1 on drift) and `diff` (always exit 0 when it ran).
pub fn drift(stack: &Stack, gate: bool, out: &Output) -> Status {
    let Some((checked, stack)) = read_stack(stack, out) else { return Status::Error };
    let stack = &stack;
    let dir = &stack.out;
    let plan = match plan(stack, &checked, None, out) {
        Ok(p) => p,
        Err(status) => return status,
    };
    let changes = match emit::drift::drift(&plan, dir) {
        Ok(c) => c,
        Err(e) => {
            out.error(&e.to_string());
            return Status::Error;
        }
    };
    let dir_name = dir.to_string_lossy();
    let name = &checked.source.name;
    if changes.is_empty() {
        out.note(&format!("{dir_name} is up to date with {name}"));
        return Status::Ok;
    }
    let build = rebuild_command(stack, name);
    let status = if gate { Status::Failure } else { Status::Ok };
    if out.format != Format::Human {
        // Records (JSON) or annotations (GitHub) at the manifest lines the files come from.
        let mut found = emit::report::diagnostics(&changes, &plan, &checked.source, &dir_name, &build);
        if !gate {
            for d in &mut found {
                d.severity = crate::diagnostic::Severity::Warning;
            }
        }
        if out.format == Format::Github {
            out.diagnostics(&checked.source, &emit::report::grouped(found));
            let diff = emit::diff::render(&changes, &dir_name);
            // The runner reads a workflow command on any line that starts with `::` after
            // spaces (and `##[…]` anywhere): a line of a diff may, so the diff is printed with
            // command processing stopped, resumed by a token no file can know.
            let token =
                emit::lock::hash(format!("{:?}{}", std::time::SystemTime::now(), std::process::id()).as_bytes());
            let token = &token["sha256:".len()..][..32];
            out.stdout(&format!(
                "::group::{}\n::stop-commands::{token}\n{diff}::{token}::\n::endgroup::\n",
                crate::diagnostic::escape_data(&format!("{dir_name} differs from {name}"))
            ));
            let diff = truncated(diff, MAX_SUMMARY_DIFF, &command(stack, name, "diff"));
            // A fence longer than any run of backticks in the diff, so no line can close it.
            let longest = diff.split(|c| c != '`').map(str::len).max().unwrap_or(0);
            let fence = "`".repeat(longest.max(2) + 1);
            out.job_summary(&format!(
                "### `{dir_name}` does not match `{name}`\n\nRun `{build}` and commit the result.\n\n{fence}diff\n{diff}{fence}\n"
            ));
        } else {
            out.diagnostics(&checked.source, &found);
        }
        return status;
    }
    out.stdout(&emit::diff::render(&changes, &dir_name));
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
    }
    status
}

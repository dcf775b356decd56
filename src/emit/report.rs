//! Drift as findings: each file of the output directory that is not what the manifest
//! generates becomes an SL8xx diagnostic at the part of the manifest the file comes from (the
//! plan's origins), carrying its path, status and diff. `build --check --format json` prints
//! them as records and `--format github` as annotations on the manifest.

use super::{Plan, diff, drift::Change, plan::LOCK_FILE, write::Conflict};
use crate::code::Code;
use crate::diagnostic::{Diagnostic, OutputFile};
use crate::source::{SourceFile, tokens};

/// The findings for `changes` in the output directory `dir`; `build` is the command that
/// rebuilds it, as the user would type it.
pub fn diagnostics(changes: &[Change], plan: &Plan, source: &SourceFile, dir: &str, build: &str) -> Vec<Diagnostic> {
    let name = &source.name;
    changes
        .iter()
        .map(|c| {
            let path = diff::display_path(dir, c.path());
            let (code, status, message, help) = match c {
                Change::Missing { .. } => (
                    Code::OutputDrift,
                    "missing",
                    format!("{path} is missing: the manifest generates it"),
                    format!("run `{build}` and commit the result"),
                ),
                Change::Changed { edited: false, .. } => (
                    Code::OutputDrift,
                    "changed",
                    format!("{path} is out of date with {name}"),
                    format!("run `{build}` and commit the result"),
                ),
                Change::Changed { edited: true, .. } => (
                    Code::OutputEdited,
                    "edited",
                    format!("{path} was edited by hand"),
                    format!("move the change into {name} and run `{build}`, or drop it with `{build} --force`"),
                ),
                Change::Stale { .. } => (
                    Code::OutputDrift,
                    "stale",
                    format!("{path} is no longer generated but is still there"),
                    format!("run `{build}` (it removes the file) and commit the result"),
                ),
                Change::Leftover { .. } => (
                    Code::OutputInterrupted,
                    "leftover",
                    format!("{path} was left by an interrupted build"),
                    format!("run `{build}`: it finishes the interrupted build"),
                ),
            };
            let diff = diff::render(std::slice::from_ref(c), dir);
            at_origin(
                Diagnostic::error(code, message).help(help),
                source,
                plan,
                c.path(),
                OutputFile { path, status, diff },
            )
        })
        .collect()
}

/// The findings for a build refused by `conflicts` in the output directory `dir`.
pub fn refusals(conflicts: &[Conflict], plan: &Plan, source: &SourceFile, dir: &str, build: &str) -> Vec<Diagnostic> {
    conflicts
        .iter()
        .map(|c| {
            let (code, status, rel) = match c {
                Conflict::EditedByHand(p) => (Code::OutputEdited, "edited", p.as_str()),
                Conflict::NotGenerated(p) => (Code::OutputForeign, "foreign", p.as_str()),
                Conflict::UnreadableLock | Conflict::OtherManifest { .. } => {
                    (Code::OutputForeign, "foreign", LOCK_FILE)
                }
            };
            let path = diff::display_path(dir, rel);
            let help = match c {
                Conflict::EditedByHand(_) => {
                    format!("move the change into {} and run `{build}`, or drop it with `{build} --force`", source.name)
                }
                _ => "move it away, or build into another directory with --out".to_string(),
            };
            let file = OutputFile { path, status, diff: String::new() };
            at_origin(Diagnostic::error(code, c.to_string()).help(help), source, plan, rel, file)
        })
        .collect()
}

/// The findings with one code at one place of the manifest as one (GitHub shows only the
/// first ten annotations of a step): "3 generated files are out of date: a, b, c". The JSON
/// records stay one per file.
pub fn grouped(found: Vec<Diagnostic>) -> Vec<Diagnostic> {
    let mut groups: Vec<Vec<Diagnostic>> = Vec::new();
    for d in found {
        match groups.iter_mut().find(|g| g[0].code == d.code && g[0].span == d.span && g[0].severity == d.severity) {
            Some(g) => g.push(d),
            None => groups.push(vec![d]),
        }
    }
    groups
        .into_iter()
        .map(|mut g| {
            if g.len() == 1 {
                return g.remove(0);
            }
            let paths: Vec<String> = g.iter().filter_map(|d| d.output.as_ref().map(|o| o.path.clone())).collect();
            let shown = paths.iter().take(5).cloned().collect::<Vec<_>>().join(", ");
            let more = if paths.len() > 5 { format!(" and {} more", paths.len() - 5) } else { String::new() };
            let what = match g[0].code {
                Code::OutputEdited => "were edited by hand",
                Code::OutputInterrupted => "were left by an interrupted build",
                Code::OutputForeign => "are in the way and were not written by sightline",
                _ => "are not what the manifest generates",
            };
            let mut first = g.remove(0);
            first.message = format!("{} files {what}: {shown}{more}", paths.len());
            first.label = None;
            first.output = None;
            first
        })
        .collect()
}

/// A finding about the output file `rel`, placed at the manifest part it comes from.
fn at_origin(mut d: Diagnostic, source: &SourceFile, plan: &Plan, rel: &str, file: OutputFile) -> Diagnostic {
    d.span = origin_span(source, plan.origins.get(rel).map_or("", String::as_str));
    d.label = d.span.map(|_| format!("{rel} comes from here"));
    d.output = Some(Box::new(file));
    d
}

/// The key of the manifest part at `pointer`, or of its nearest part the manifest has; `None`
/// for the whole manifest.
fn origin_span(source: &SourceFile, pointer: &str) -> Option<crate::source::Span> {
    let tokens = tokens(pointer);
    (1..=tokens.len()).rev().find_map(|n| {
        let p = crate::source::pointer(&tokens[..n]);
        source.node(&p).map(|_| source.key_span(&p))
    })
}

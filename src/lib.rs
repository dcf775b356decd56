//! sightline compiles one stack manifest into the configuration of a whole observability stack.
//!
//! The pipeline, one module per arrow:
//!
//! ```text
//! stack.yaml ──manifest──▶ Manifest ──check──▶ diagnostics
//!                             │
//!                             └──ir──▶ Stack ──targets──▶ Vec<Artifact> ──emit──▶ disk | diff | drift
//! ```
//!
//! - [`manifest`] reads YAML or TOML into the typed [`manifest::Manifest`], reporting every
//!   structural problem with its span;
//! - [`check`] runs the rules that concern the manifest as a whole (references, secrets,
//!   budgets, …), collecting every problem;
//! - [`ir`] lowers a checked manifest into the resolved [`ir::Stack`], applying defaults once;
//! - [`targets`] turn the stack into files, one module per output;
//! - [`emit`] plans the exact bytes, then writes them, or compares them with what is on disk.
//!
//! [`cli`] is the command line around it. Only `cli` and `emit` touch the filesystem.

pub mod check;
pub mod cli;
pub mod code;
pub mod diagnostic;
pub mod emit;
pub mod ir;
pub mod kinds;
pub mod manifest;
mod parallel;
pub mod registry;
pub mod source;
pub mod targets;

use diagnostic::{Diagnostic, Sink};
use manifest::{Manifest, Syntax};
use source::SourceFile;
use std::collections::BTreeMap;

/// The result of reading and checking a manifest.
pub struct Checked {
    pub source: SourceFile,
    /// The decoded manifest, when it decoded (it may still have check errors).
    pub manifest: Option<Manifest>,
    /// Every problem found, sorted by position.
    pub diagnostics: Vec<Diagnostic>,
    /// The stack the checks lowered `manifest` to, for the platform checked for: what
    /// [`plan_pinned`] builds from for that platform (and `unpinned_images` and `sightline
    /// route` read), so a build lowers the manifest once.
    /// `None` when the checks stopped before lowering (the manifest has errors).
    stack: Option<ir::Stack>,
}

impl Checked {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(|d| d.severity == diagnostic::Severity::Error)
    }

    /// The manifest lowered for `platform` (`--platform`; `None`: the manifest's own): the
    /// stack the checks lowered when they were for that platform, else lowered now. `None`
    /// when the manifest has errors.
    pub fn stack_for(&self, platform: Option<manifest::model::Platform>) -> Option<std::borrow::Cow<'_, ir::Stack>> {
        if self.has_errors() {
            return None;
        }
        let manifest = self.manifest.as_ref()?;
        let wanted = manifest::model::Platform::chosen(platform, manifest.platform);
        Some(match self.stack.as_ref().filter(|s| s.platform == wanted) {
            Some(checked) => std::borrow::Cow::Borrowed(checked),
            None => std::borrow::Cow::Owned(ir::lower_for(manifest, &display_name(&self.source.name), platform)),
        })
    }

    /// Count every warning as an error (`--deny-warnings`, or the manifest's `deny_warnings`).
    pub fn deny_warnings(&mut self) {
        for d in &mut self.diagnostics {
            if d.severity == diagnostic::Severity::Warning {
                d.severity = diagnostic::Severity::Error;
            }
        }
    }
}

/// Parse and check a manifest given as bytes, for the platform it names; `name` is the path
/// shown in diagnostics.
pub fn check(name: &str, bytes: &[u8]) -> Checked {
    check_for(name, bytes, None)
}

/// Parse and check a manifest for `platform` (`--platform`), or, without one, for the platform
/// it names (`platform:`, compose when it names none).
pub fn check_for(name: &str, bytes: &[u8], platform: Option<manifest::model::Platform>) -> Checked {
    let mut sink = Sink::new();
    let mut source = manifest::read_source(name, bytes, &mut sink);
    let mut decoded = None;
    let mut lowered = None;
    if sink.is_empty()
        && let Some(d) = manifest::parse(&mut source, Syntax::of_path(name), &mut sink)
    {
        let mut found = Sink::new();
        let platform = manifest::model::Platform::chosen(platform, d.manifest.platform);
        check::run(&d.manifest, &source, platform, &mut found);
        if !found.has_errors() && !sink.has_errors() {
            let stack = ir::lower_for(&d.manifest, &display_name(&source.name), Some(platform));
            check::run_on_stack(&d.manifest, &source, &stack, &mut found);
            lowered = Some(stack);
        }
        // On a pruned manifest, a finding about a pruned value is an echo of its first error.
        let overlaps = |s: source::Span| {
            d.pruned.iter().any(|p| p.start < s.end.max(s.start + 1) && s.start < p.end.max(p.start + 1))
        };
        let reads_pruned =
            |f: &Diagnostic| f.code.reads_parts().iter().any(|part| d.pruned_parts.iter().any(|p| p.starts_with(part)));
        let echo = |f: &Diagnostic| f.span.is_some_and(overlaps) || reads_pruned(f);
        sink.extend(found.into_sorted().into_iter().filter(|f| !echo(f)));
        decoded = Some(d.manifest);
    }
    let mut checked = Checked { source, manifest: decoded, diagnostics: sink.into_sorted(), stack: lowered };
    if checked.manifest.as_ref().is_some_and(|m| m.deny_warnings == Some(true)) {
        checked.deny_warnings();
    }
    checked
}

/// The plan of every generated file, or `None` when the manifest has errors, and also for a
/// `pin: digest` manifest with an image that names no digest itself, which has no plan without
/// the digests [`plan_pinned`] takes.
pub fn plan(checked: &Checked) -> Option<emit::Plan> {
    plan_pinned(checked, &Default::default(), None)?.ok()
}

/// The plan, with the image digests `recorded` in the output directory's lock
/// (`emit::lock::images`): with `pin: digest`, each image takes its digest from there, and the
/// new lock records the ones used. `platform`: the one to build for, when not the manifest's
/// own (`--platform`). `Err` with the images that have none (`build` never asks a
/// registry; `sightline pin` does: `check::images::digests_not_recorded`). `None` when the
/// manifest has errors.
pub fn plan_pinned(
    checked: &Checked,
    recorded: &BTreeMap<String, String>,
    platform: Option<manifest::model::Platform>,
) -> Option<Result<emit::Plan, Vec<String>>> {
    let mut stack = checked.stack_for(platform)?;
    let name = display_name(&checked.source.name);
    Some(
        ir::pin(&mut stack, recorded)
            .map(|used| emit::Plan::new(targets::lower_all(&stack), &name, &used, stack.platform)),
    )
}

/// The images the generated files name without a digest, each once: what `sightline pin`
/// looks up, for `platform` when the command line names one. `None` when the manifest has
/// errors.
pub fn unpinned_images(checked: &Checked, platform: Option<manifest::model::Platform>) -> Option<Vec<String>> {
    Some(ir::unpinned(checked.stack_for(platform)?.to_mut()))
}

/// The manifest's file name without directories, so that generated files do not depend on
/// where the manifest was on the machine that built them.
pub fn display_name(path: &str) -> String {
    // It is written into every generated header (YAML, shell, crontab, Markdown): anything but
    // a plain file-name character becomes `_`, so no name can start a line or a command there.
    path.rsplit(['/', '\\'])
        .next()
        .unwrap_or(path)
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+') { c } else { '_' })
        .collect()
}

//! Check: the rules that belong to the manifest as a whole. Each family is a file with one
//! entry function `check(&Ctx, &mut Sink)`; all run (on the machine's cores at once, each with
//! its own sink, merged in `FAMILIES` order) and push every problem they find. None reads
//! files, the environment or another family's findings.
//!
//! To add a check: put it in the family file it belongs to (or a new file here, registered in
//! `FAMILIES`), add its code to `code.rs`, and a failing fixture under
//! `tests/fixtures/err/<CODE>/`.

mod alerts;
mod brokers;
mod budget;
mod compose;
pub mod images;
mod kinds;
mod logs;
mod names;
mod platform;
mod promql;
mod reach;
mod references;
mod routes;
pub(crate) mod secrets;
pub mod templates;
mod values;

use crate::diagnostic::Sink;
use crate::manifest::Manifest;
use crate::manifest::model::Platform;
use crate::source::{SourceFile, Span, pointer};

/// What a check sees: the decoded manifest, the source for spans, and the platform the stack is
/// checked for (the manifest's `platform:`, or the one `--platform` names).
pub struct Ctx<'a> {
    pub manifest: &'a Manifest,
    pub source: &'a SourceFile,
    pub platform: Platform,
}

impl Ctx<'_> {
    /// The span of the value at a pointer built from tokens.
    pub fn value<I, T>(&self, tokens: I) -> Span
    where
        I: IntoIterator<Item = T>,
        T: std::fmt::Display,
    {
        self.source.value_span(&pointer(tokens))
    }

    /// The span of the key naming the node at a pointer built from tokens.
    pub fn key<I, T>(&self, tokens: I) -> Span
    where
        I: IntoIterator<Item = T>,
        T: std::fmt::Display,
    {
        self.source.key_span(&pointer(tokens))
    }
}

type Family = fn(&Ctx, &mut Sink);

const FAMILIES: &[Family] = &[
    // The costliest first (each goes over every service's lowered form or settings), so the
    // cores finish together.
    budget::check,
    secrets::check,
    names::check,
    references::check,
    routes::check,
    kinds::check,
    brokers::check,
    compose::check,
    logs::check,
    values::check,
    promql::check,
    templates::check,
    alerts::check,
    reach::check,
    platform::places,
    images::check,
];

/// Checks that need the lowered stack (what the generated alerts carry, where they go, what the
/// platform needs of it). Run only on a manifest without errors, lowered for the platform it is
/// checked for (lowering needs a manifest without errors).
const ON_STACK: &[fn(&Ctx, &crate::ir::Stack, &mut Sink)] = &[reach::routes, names::derived, platform::check];

pub fn run_on_stack(manifest: &Manifest, source: &SourceFile, stack: &crate::ir::Stack, sink: &mut Sink) {
    let ctx = Ctx { manifest, source, platform: stack.platform };
    each(ON_STACK, |check, found| check(&ctx, stack, found), sink);
}

/// Run every check family.
pub fn run(manifest: &Manifest, source: &SourceFile, platform: Platform, sink: &mut Sink) {
    let ctx = Ctx { manifest, source, platform };
    each(FAMILIES, |family, found| family(&ctx, found), sink);
}

/// Run independent checks on the machine's cores at once; what they find goes into `sink` in
/// the checks' order, as if they had run one after the other.
fn each<C: Sync>(checks: &[C], run: impl Fn(&C, &mut Sink) + Sync, sink: &mut Sink) {
    for found in crate::parallel::map(checks, |c| {
        let mut found = Sink::new();
        run(c, &mut found);
        found
    }) {
        sink.extend(found.into_items());
    }
}

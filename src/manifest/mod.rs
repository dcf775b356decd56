//! Parse: bytes → source text → untyped tree (YAML or TOML) → typed `Manifest`.
//!
//! Nothing here panics on input: every way a file can be wrong ends as a diagnostic.

pub mod decode;
pub mod model;
pub mod schema;
mod toml;
pub mod tree;
pub mod values;
mod yaml;

use crate::code::Code;
use crate::diagnostic::{Diagnostic, Sink};
use crate::source::SourceFile;
pub use model::Manifest;

/// The stack of the parser thread.
const PARSE_STACK: usize = 64 << 20;

/// The surface syntax of a manifest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Syntax {
    Yaml,
    Toml,
}

impl Syntax {
    /// `.toml` files are TOML; everything else is read as YAML.
    pub fn of_path(path: &str) -> Syntax {
        if path.to_ascii_lowercase().ends_with(".toml") { Syntax::Toml } else { Syntax::Yaml }
    }
}

/// Turn raw bytes into a source file, refusing what cannot be a manifest.
pub fn read_source(name: &str, bytes: &[u8], sink: &mut Sink) -> SourceFile {
    if bytes.len() > tree::MAX_BYTES {
        sink.push(
            Diagnostic::error(
                Code::Limits,
                // The reader stops one byte past the limit: the size beyond it is not known.
                format!("the manifest is larger than the limit of {} bytes (4 MiB)", tree::MAX_BYTES),
            )
            .help("a stack manifest is a few hundred lines; is this the right file?"),
        );
        return SourceFile::new(name, "");
    }
    match std::str::from_utf8(bytes) {
        Ok(text) if text.contains('\0') => {
            sink.push(
                Diagnostic::error(Code::Syntax, "the manifest contains NUL bytes; it looks like a binary file")
                    .help("manifests are UTF-8 text"),
            );
            SourceFile::new(name, "")
        }
        Ok(text) => SourceFile::new(name, text.strip_prefix('\u{feff}').unwrap_or(text)),
        Err(e) => {
            sink.push(
                Diagnostic::error(
                    Code::Syntax,
                    format!("the manifest is not UTF-8 text (invalid byte at offset {})", e.valid_up_to()),
                )
                .help("save the file as UTF-8"),
            );
            SourceFile::new(name, "")
        }
    }
}

/// Parse and decode a manifest. The source's pointer index is filled in on the way.
pub fn parse(source: &mut SourceFile, syntax: Syntax, sink: &mut Sink) -> Option<decode::Decoded> {
    if is_blank(source.text(), syntax) {
        sink.push(
            Diagnostic::error(Code::EmptyManifest, "the manifest is empty")
                .help("run `sightline init` for a commented starter manifest"),
        );
        return None;
    }
    // Parsing recurses once per nesting level (bounded by `tree::MAX_DEPTH`); a thread with a
    // known stack keeps that safe whatever stack the caller runs on (test threads have 2 MiB).
    let text = source.text();
    let parsed = std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("sightline-parse".into())
            .stack_size(PARSE_STACK)
            .spawn_scoped(scope, move || match syntax {
                Syntax::Yaml => yaml::parse(text),
                Syntax::Toml => toml::parse(text),
            })
            .map_err(|e| (format!("cannot start the parser: {e}"), None))
            .and_then(|h| {
                // While the text parses, this thread builds the schema and compiles its
                // validator, which decoding needs next (each built once per process).
                decode::prepare();
                h.join().unwrap_or_else(|_| Err(("the parser failed".to_string(), None)))
            })
    });
    let node = match parsed {
        Ok(n) => n,
        Err((message, span)) => {
            if let Some(d) = duplicate_key(&message, span, source.text()) {
                sink.push(d);
                return None;
            }
            let limits =
                ["budget", "nesting", "depth", "alias", "recursion", "limit"].iter().any(|w| message.contains(w));
            let code = if limits { Code::Limits } else { Code::Syntax };
            let mut d = Diagnostic::error(code, message);
            if let Some(s) = span {
                d = d.at(s);
            }
            let what = match syntax {
                Syntax::Yaml => "YAML",
                Syntax::Toml => "TOML",
            };
            let help = if limits {
                "sightline bounds the size, nesting and alias expansion of a manifest; see `sightline explain SL002`"
                    .to_string()
            } else {
                format!("fix the {what} syntax here; the other checks run once the file parses")
            };
            sink.push(d.help(help));
            return None;
        }
    };
    let tree = tree::into_tree(node);
    source.set_index(tree.index);
    if !tree.value.is_object() {
        sink.push(
            Diagnostic::error(Code::WrongType, "the manifest must be a mapping of top-level keys")
                .at(source.value_span(""))
                .help("start with `version: 1`, `stack:`, `environment:` and `services:`"),
        );
        return None;
    }
    decode::decode(source, &tree.value, sink)
}

/// Both parsers refuse a key that appears twice in one mapping. Services and receivers are
/// named by their keys, so that is a duplicate name (SL101), not a syntax error.
fn duplicate_key(message: &str, span: Option<crate::source::Span>, text: &str) -> Option<Diagnostic> {
    if !message.starts_with("duplicate mapping key") && message != "duplicate key" {
        return None;
    }
    let span = span?;
    let key = text.get(span.start..span.end).unwrap_or("").trim_matches(['"', '\'']);
    Some(
        Diagnostic::error(
            Code::DuplicateName,
            format!("`{}` is defined twice in the same mapping", key.escape_debug()),
        )
        .at(span)
        .label("second definition")
        .help("services, receivers and other named entries must have unique names; rename or merge one of them"),
    )
}

fn is_blank(text: &str, _syntax: Syntax) -> bool {
    text.lines().all(|l| {
        let l = l.trim();
        l.is_empty() || l.starts_with('#') || l == "---" || l == "..."
    })
}

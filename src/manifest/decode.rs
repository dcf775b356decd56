//! From the untyped tree to the typed `Manifest`, reporting every structural problem at once.
//!
//! Three passes over the same tree, all driven by the schema derived from the model:
//! 1. the value walk runs each value type's parser (durations, sizes, cron, …) and finds
//!    literals where a secret reference belongs, so each gets its own code and span;
//! 2. the jsonschema validator reports unknown fields, wrong types, missing fields and bad
//!    choices, with messages written here (never the validator's, which quote values);
//! 3. serde decodes the tree, which cannot fail once 1 and 2 found nothing.
//!
//! Pass 1 runs on one core while 2 runs on another, followed there by 3 when 2 found nothing
//! (its result is dropped if 1 found something); what they report is merged as if they had
//! run in order. On a tree with problems, the pruning passes after them run in order.

use super::model::Manifest;
use super::schema::{alternatives, known_properties, resolve, schema};
use super::values::{Name, SecretRef, check_value};
use crate::code::Code;
use crate::diagnostic::{Diagnostic, Sink, did_you_mean};
use crate::source::{SourceFile, tokens};
use jsonschema::error::{TypeKind, ValidationErrorKind};
use serde::Deserialize;
use serde_json::Value;
use std::sync::OnceLock;

/// What decoding produced.
pub struct Decoded {
    pub manifest: Manifest,
    /// Spans of values left out because they were wrong. Empty when the manifest was clean;
    /// otherwise the manifest is the rest of the document, still worth checking, and checks'
    /// findings that overlap these spans are consequences of the removal, not new problems.
    pub pruned: Vec<crate::source::Span>,
    /// The pointers of those values.
    pub pruned_parts: Vec<String>,
}

/// Decode a tree into a manifest, pushing every problem to the sink. When the document has
/// structural errors, the wrong values are pruned away and the rest decoded, so that the
/// manifest-wide checks still run and the user sees every independent problem in one run.
pub fn decode(source: &SourceFile, value: &Value, sink: &mut Sink) -> Option<Decoded> {
    if !check_version(source, value, sink) {
        return None;
    }
    let root = schema();
    // The value walk on one core; on the other the validator, then, when it found nothing,
    // the decoding, which the walk may yet make moot.
    let ((mut first, mut bad), ((structure, structure_bad), decoded)) = crate::parallel::join(
        || {
            let (mut first, mut bad) = (Sink::new(), Vec::new());
            walk_values(source, root, root, value, "", &mut first, &mut bad);
            (first, bad)
        },
        || {
            let found = structure_errors(source, value);
            let decoded = found.1.is_empty().then(|| Manifest::deserialize(value));
            (found, decoded)
        },
    );
    bad.extend(structure_bad);
    report_structure(structure, &mut first);
    sink.extend(misplaced_entries(source, value, first.into_sorted(), &mut bad));
    // (Decoded whenever nothing is condemned: the validator's condemned values are among them.)
    if let Some(decoded) = decoded.filter(|_| bad.is_empty()) {
        return match decoded {
            Ok(manifest) => Some(Decoded { manifest, pruned: Vec::new(), pruned_parts: Vec::new() }),
            Err(e) => {
                // Unreachable when the schema and the model agree; reported, never a panic.
                sink.push(Diagnostic::error(Code::WrongType, format!("the manifest could not be decoded: {e}")));
                None
            }
        };
    }
    let mut tree = value.clone();
    let mut pruned = Vec::new();
    let mut pruned_parts = Vec::new();
    for _ in 0..16 {
        for removed in prune(&mut tree, std::mem::take(&mut bad)) {
            pruned.push(source.value_span(&removed));
            pruned.push(source.key_span(&removed));
            pruned_parts.push(removed);
        }
        let mut scratch = Sink::new();
        walk_values(source, root, root, &tree, "", &mut scratch, &mut bad);
        validate_structure(source, &tree, &mut scratch, &mut bad);
        if bad.is_empty() {
            return match serde_json::from_value::<Manifest>(tree) {
                Ok(manifest) => Some(Decoded { manifest, pruned, pruned_parts }),
                Err(e) => {
                    sink.push(Diagnostic::error(Code::WrongType, format!("the manifest could not be decoded: {e}")));
                    None
                }
            };
        }
        if bad.iter().any(|p| p.is_empty()) {
            return None;
        }
    }
    None
}

/// Remove the values at `pointers`: each with its key when its parent is a mapping; the whole
/// list when its parent is a list (removing one item would shift the indices that spans are
/// found by). Returns the pointers actually removed. The keys of one mapping go in one pass over
/// it, so 100,000 unknown keys cost one pass, not one each.
fn prune(tree: &mut Value, pointers: Vec<String>) -> Vec<String> {
    use std::collections::{BTreeMap, BTreeSet};
    let mut removed = Vec::new();
    let mut pending = pointers;
    // A list is removed as a whole, so its pointer can come back as a new parent: bounded by
    // the nesting depth.
    for _ in 0..=super::tree::MAX_DEPTH {
        let mut by_parent: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for p in pending.drain(..) {
            let ts = tokens(&p);
            if let Some((last, parent)) = ts.split_last() {
                by_parent.entry(crate::source::pointer(parent)).or_default().insert(last.clone());
            }
        }
        for (parent_ptr, keys) in by_parent {
            let child = |k: &str| format!("{parent_ptr}/{}", crate::source::escape_token(k));
            match tree.pointer_mut(&parent_ptr) {
                Some(Value::Object(m)) => {
                    for k in &keys {
                        // The required top-level names only label things; a stand-in keeps the
                        // rest checkable.
                        if parent_ptr.is_empty() && (k == "stack" || k == "environment") {
                            m.insert(k.clone(), Value::String("invalid".into()));
                            removed.push(child(k));
                        }
                    }
                    m.retain(|k, _| {
                        let drop = keys.contains(k) && !(parent_ptr.is_empty() && (k == "stack" || k == "environment"));
                        if drop {
                            removed.push(child(k));
                        }
                        !drop
                    });
                }
                Some(Value::Array(_)) if !parent_ptr.is_empty() => pending.push(parent_ptr),
                _ => {}
            }
        }
        if pending.is_empty() {
            break;
        }
    }
    removed
}

/// `version` first: a manifest of another version is not checked against this language.
fn check_version(source: &SourceFile, value: &Value, sink: &mut Sink) -> bool {
    match value.get("version") {
        Some(Value::Number(n)) if n.as_u64() == Some(1) => true,
        Some(Value::Number(_)) => {
            sink.push(
                Diagnostic::error(Code::UnsupportedVersion, "unsupported manifest version")
                    .at(source.value_span("/version"))
                    .label("this sightline reads version 1")
                    .help("supported versions: 1"),
            );
            false
        }
        _ => true,
    }
}

// --- pass 1: value types and secrets --------------------------------------------------------

fn walk_values(
    source: &SourceFile,
    root: &Value,
    node: &Value,
    value: &Value,
    ptr: &str,
    sink: &mut Sink,
    bad: &mut Vec<String>,
) {
    let node = resolve(root, node);
    match node.get("x-sightline-type").and_then(Value::as_str) {
        Some("secret") => {
            let before = sink.has_errors();
            check_secret(source, value, ptr, sink);
            if sink.has_errors() && !before {
                bad.push(ptr.to_string());
            }
            return;
        }
        Some(kind) => {
            // A bare number where a duration, size or percent belongs (`15`, `99.9`) is
            // reported as that value type, whose help shows the unit to add.
            let text = match value {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            };
            if let Some(s) = text
                && let Err(e) = check_value(kind, &s)
            {
                bad.push(ptr.to_string());
                sink.push(
                    Diagnostic::error(e.code, format!("{} for `{}`", e.message, field_name(ptr)))
                        .at(source.value_span(ptr))
                        .help(e.help),
                );
            }
            return;
        }
        None => {}
    }
    if node.get("anyOf").is_some() || node.get("oneOf").is_some() {
        let all = alternatives(root, node);
        let mut candidates: Vec<&Value> = all.iter().copied().filter(|b| type_matches(b, value)).collect();
        if candidates.is_empty() && value.is_number() {
            candidates = all.into_iter().filter(|b| b.get("x-sightline-type").is_some_and(|t| t != "secret")).collect();
        }
        let mut first: Option<(Sink, Vec<String>)> = None;
        for b in candidates {
            let mut trial = Sink::new();
            let mut trial_bad = Vec::new();
            walk_values(source, root, b, value, ptr, &mut trial, &mut trial_bad);
            if trial.is_empty() {
                return;
            }
            first.get_or_insert((trial, trial_bad));
        }
        if let Some((t, b)) = first {
            sink.extend(t.into_sorted());
            bad.extend(b);
        }
        return;
    }
    match value {
        Value::Object(map) => {
            let names_are_names =
                node.get("propertyNames").and_then(|p| p.get("x-sightline-type")).is_some_and(|t| t == "name");
            for (k, v) in map {
                let child = format!("{ptr}/{}", crate::source::escape_token(k));
                if names_are_names && let Err(e) = Name::parse(k) {
                    bad.push(child.clone());
                    sink.push(
                        Diagnostic::error(e.code, format!("`{}` is not a valid name", k.escape_debug()))
                            .at(source.key_span(&child))
                            .help(e.help),
                    );
                }
                if let Some(sub) = super::schema::child(root, node, k) {
                    walk_values(source, root, sub, v, &child, sink, bad);
                }
            }
        }
        Value::Array(items) => {
            if let Some(sub) = node.get("items").filter(|i| i.is_object()) {
                for (i, v) in items.iter().enumerate() {
                    walk_values(source, root, sub, v, &format!("{ptr}/{i}"), sink, bad);
                }
            }
        }
        _ => {}
    }
}

fn check_secret(source: &SourceFile, value: &Value, ptr: &str, sink: &mut Sink) {
    match value {
        // Whatever the literal is, it is not shown: it may be the secret itself.
        Value::String(_) | Value::Number(_) => sink.push(
            Diagnostic::error(
                Code::SecretLiteral,
                format!("`{}` takes a secret reference, not a literal value", field_name(ptr)),
            )
            .at(source.value_span(ptr))
            .label("literal secret (value not shown)")
            .help("write `{ env: VARIABLE }` or `{ file: /run/secrets/NAME }`, and remove the secret from the file's history"),
        ),
        Value::Object(_) => {
            if let Ok(r) = serde_json::from_value::<SecretRef>(value.clone())
                && let Err(e) = r.validate()
            {
                sink.push(Diagnostic::error(e.code, e.message).at(source.value_span(ptr)).help(e.help));
            }
        }
        _ => {}
    }
}

fn type_matches(schema: &Value, value: &Value) -> bool {
    let one = |t: &str| match t {
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "object" => value.is_object(),
        "array" => value.is_array(),
        "null" => value.is_null(),
        _ => false,
    };
    match schema.get("type") {
        Some(Value::String(t)) => one(t),
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).any(one),
        _ => match (schema.get("const"), schema.get("enum")) {
            (Some(c), _) => std::mem::discriminant(c) == std::mem::discriminant(value),
            (_, Some(Value::Array(e))) => e.iter().any(|c| std::mem::discriminant(c) == std::mem::discriminant(value)),
            _ => true,
        },
    }
}

// --- pass 2: structure -----------------------------------------------------------------------

/// Build the schema and its validator now, so that decoding does not wait for them.
pub fn prepare() {
    validator();
}

fn validator() -> &'static jsonschema::Validator {
    static V: OnceLock<jsonschema::Validator> = OnceLock::new();
    V.get_or_init(|| jsonschema::validator_for(schema()).expect("the derived schema compiles"))
}

fn validate_structure(source: &SourceFile, value: &Value, sink: &mut Sink, bad: &mut Vec<String>) {
    let (found, condemned) = structure_errors(source, value);
    bad.extend(condemned);
    report_structure(found, sink);
}

/// What the validator finds wrong with `value`, and the pointers of the values it condemns.
fn structure_errors(source: &SourceFile, value: &Value) -> (Vec<Diagnostic>, Vec<String>) {
    let (mut found, mut bad) = (Vec::new(), Vec::new());
    for err in validator().iter_errors(value) {
        collect(source, &err, value, &mut found, &mut bad);
    }
    (found, bad)
}

/// Report the validator's findings, each once: after the value walk's (in `sink`).
fn report_structure(mut found: Vec<Diagnostic>, sink: &mut Sink) {
    // A value already reported by pass 1, or inside a container reported here, is not reported
    // twice: containers come first in source order, and each is checked against what came
    // before it.
    let earlier = sink.cover();
    found.sort_by_key(|d| d.span.map(|s| (s.start, std::cmp::Reverse(s.end))));
    let mut furthest = None;
    for d in found {
        if let Some(s) = d.span {
            if earlier.covers(s) || furthest.is_some_and(|end| end >= s.end) {
                continue;
            }
            // A missing field is about the mapping, not its contents: a misspelt key inside it
            // (`too:` for `to:`) is still reported, with its suggestion.
            if d.code != Code::MissingField {
                furthest = Some(furthest.map_or(s.end, |end: usize| end.max(s.end)));
            }
        }
        sink.push(d);
    }
}

/// Turn one validator error into diagnostics. For `anyOf`/`oneOf`, the errors of the branch
/// the value was evidently meant for (one whose type it has) are reported instead of a vague
/// "matches none of the forms".
fn collect(
    source: &SourceFile,
    err: &jsonschema::ValidationError<'_>,
    doc: &Value,
    out: &mut Vec<Diagnostic>,
    bad: &mut Vec<String>,
) {
    let ptr = err.instance_path().to_string();
    match err.kind() {
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            out.extend(unexpected.iter().map(|key| unknown_field(source, &ptr, key)));
            bad.extend(unexpected.iter().map(|key| format!("{ptr}/{}", crate::source::escape_token(key))));
        }
        ValidationErrorKind::AnyOf { context } | ValidationErrorKind::OneOfNotValid { context } => {
            let meant: Vec<&Vec<jsonschema::ValidationError<'static>>> =
                context.iter().filter(|branch| !branch.iter().any(|e| shape_mismatch(e, &ptr))).collect();
            match meant.as_slice() {
                [branch] => {
                    for e in branch.iter() {
                        collect(source, e, doc, out, bad);
                    }
                }
                _ => {
                    bad.push(ptr.clone());
                    out.extend(structural_diagnostic(source, &ptr, err.kind(), doc));
                }
            }
        }
        // A field a service's kind requires (the schema's per-kind `then`): reported, and the
        // service kept (the model's field is optional), so the rest of the manifest and the
        // service's other findings are still checked. A field the source has, whose value was
        // refused and left out, is reported at its value already.
        ValidationErrorKind::Required { property } if err.schema_path().as_str().contains("/then/") => {
            let name = property.as_str().unwrap_or_default();
            if source.node(&format!("{ptr}/{}", crate::source::escape_token(name))).is_none() {
                out.extend(structural_diagnostic(source, &ptr, err.kind(), doc));
            }
        }
        // A key of the wrong form: that entry alone is left out, so the rest of the mapping is
        // still checked.
        ValidationErrorKind::PropertyNames { error } => {
            let key = error.instance().as_str().unwrap_or_default();
            bad.push(format!("{ptr}/{}", crate::source::escape_token(key)));
            out.extend(structural_diagnostic(source, &ptr, err.kind(), doc));
        }
        kind => {
            bad.push(ptr.clone());
            out.extend(structural_diagnostic(source, &ptr, kind, doc));
        }
    }
}

/// Whether `e` says the value at `ptr` has another shape than a branch wants (its type, or
/// not one of its words), so the value was not meant for that branch. A branch that is itself
/// a choice (`off` is the word `off` or `false`) mismatches when each of its branches does.
fn shape_mismatch(e: &jsonschema::ValidationError<'_>, ptr: &str) -> bool {
    e.instance_path().as_str() == ptr
        && match e.kind() {
            ValidationErrorKind::Type { .. }
            | ValidationErrorKind::Enum { .. }
            | ValidationErrorKind::Constant { .. } => true,
            ValidationErrorKind::AnyOf { context } | ValidationErrorKind::OneOfNotValid { context } => {
                context.iter().all(|branch| branch.iter().any(|x| shape_mismatch(x, ptr)))
            }
            _ => false,
        }
}

/// One diagnostic per unknown key, pointing at the key, with the closest known field; a key
/// that is no misspelling here but a field elsewhere says where it belongs (SL009).
fn unknown_field(source: &SourceFile, ptr: &str, key: &str) -> Diagnostic {
    let known = known_properties(ptr);
    let child = format!("{ptr}/{}", crate::source::escape_token(key));
    let places = super::schema::places_of(key);
    let typo = did_you_mean(key, &known);
    if typo.is_none() && !places.is_empty() {
        let under: Vec<String> = places.iter().take(3).map(|p| format!("`{p}:`")).collect();
        let here = if ptr.is_empty() { "at the top level".to_string() } else { format!("in `{}`", dotted(ptr)) };
        return Diagnostic::error(Code::Misplaced, format!("`{}` is not a field {here}", key.escape_debug()))
            .at(source.key_span(&child))
            .label("in the wrong place")
            .help(format!("`{key}` belongs under {}", under.join(" or ")));
    }
    Diagnostic::error(Code::UnknownField, format!("unknown field `{}`", key.escape_debug()))
        .at(source.key_span(&child))
        .label("not a field of this mapping")
        .help(match typo {
            Some(s) => format!("did you mean `{s}`?"),
            None => format!("known fields here: {}", known.join(", ")),
        })
}

/// A pointer as the dotted path the docs use (`alerting.routes[0]`).
fn dotted(ptr: &str) -> String {
    let mut out = String::new();
    for t in tokens(ptr) {
        if t.parse::<usize>().is_ok() {
            out.push_str(&format!("[{t}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&t);
        }
    }
    out
}

/// A map entry named like a field of its own entries (`services: { api: {…}, health: {…} }`)
/// that is not a valid entry is a field indented one level too far out: one SL009 saying
/// under which entry it goes, instead of the missing and unknown fields of an entry named
/// `health`. The maps looked at are those near the top (services, receivers), where this
/// happens.
fn misplaced_entries(
    source: &SourceFile,
    value: &Value,
    found: Vec<Diagnostic>,
    bad: &mut Vec<String>,
) -> Vec<Diagnostic> {
    fn maps<'v>(
        value: &'v Value,
        ptr: String,
        depth: usize,
        out: &mut Vec<(String, &'v serde_json::Map<String, Value>)>,
    ) {
        if let Value::Object(m) = value {
            out.push((ptr.clone(), m));
            if depth < 2 {
                for (k, v) in m {
                    maps(v, format!("{ptr}/{}", crate::source::escape_token(k)), depth + 1, out);
                }
            }
        }
    }
    if found.is_empty() {
        return found;
    }
    let mut candidates = Vec::new();
    maps(value, String::new(), 0, &mut candidates);
    let mut found = found;
    for (ptr, map) in candidates {
        let Some(entry_schema) = super::schema::entry_schema(&ptr) else { continue };
        // An entry that has what every entry must have (a service's `kind`) is an entry, even
        // one named like a field (a service called `database`).
        let required: Vec<&str> = alternatives(schema(), entry_schema)
            .iter()
            .filter_map(|n| n.get("required").and_then(Value::as_array))
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        // Entries without a required field (a receiver) cannot be told from a misplaced field.
        if required.is_empty() {
            continue;
        }
        let looks_like_entry = |v: &Value| v.as_object().is_some_and(|o| required.iter().all(|r| o.contains_key(*r)));
        let fields = known_properties(&format!("{ptr}/-"));
        let keys: Vec<&String> = map.keys().collect();
        for (i, key) in keys.iter().enumerate() {
            let child = format!("{ptr}/{}", crate::source::escape_token(key));
            let (key_span, value_span) = (source.key_span(&child), source.value_span(&child));
            let inside = |s: crate::source::Span| {
                (value_span.start <= s.start && s.end <= value_span.end)
                    || (key_span.start <= s.start && s.end <= key_span.end)
            };
            if !fields.contains(key)
                || looks_like_entry(&map[key.as_str()])
                || !found.iter().any(|d| d.span.is_some_and(inside))
            {
                continue;
            }
            found.retain(|d| !d.span.is_some_and(inside));
            bad.retain(|b| !b.starts_with(&format!("{child}/")) && *b != child);
            bad.push(child.clone());
            let entry = dotted(&ptr);
            let one = entry.rsplit('.').next().unwrap_or(&entry).trim_end_matches('s').to_string();
            let help = match i.checked_sub(1).map(|p| keys[p]) {
                Some(above) => {
                    format!("indent it under `{above}`, the {one} above it, so it is one of `{above}`'s fields")
                }
                None => format!("indent it under the {one} it belongs to"),
            };
            found.push(
                Diagnostic::error(Code::Misplaced, format!("`{key}` is a field of a {one}, not a {one} of its own"))
                    .at(key_span)
                    .label(format!("at the level of the {entry}"))
                    .help(help),
            );
        }
    }
    found
}

fn structural_diagnostic(
    source: &SourceFile,
    ptr: &str,
    kind: &ValidationErrorKind,
    doc: &Value,
) -> Option<Diagnostic> {
    let field = field_name(ptr);
    let instance = doc.pointer(ptr);
    Some(match kind {
        ValidationErrorKind::Required { property } => {
            let name = property.as_str().unwrap_or("?");
            let at = if ptr.is_empty() { source.value_span("") } else { source.key_span(ptr) };
            let at = if ptr.is_empty() { crate::source::Span::new(at.start, at.start) } else { at };
            Diagnostic::error(Code::MissingField, format!("missing field `{name}`"))
                .at(at)
                .label(format!("`{name}` is required here"))
                .help(format!("add `{name}:` (see docs/manifest.md)"))
        }
        ValidationErrorKind::Type { kind } => {
            let expected = match kind {
                TypeKind::Single(t) => type_word(&format!("{t:?}").to_lowercase()),
                TypeKind::Multiple(ts) => {
                    let words: Vec<String> =
                        (*ts).into_iter().map(|t| type_word(&format!("{t:?}").to_lowercase())).collect();
                    words.join(" or ")
                }
            };
            Diagnostic::error(
                Code::WrongType,
                format!("`{field}` must be {expected}, not {}", instance.map_or("this", found_word)),
            )
            .at(source.value_span(ptr))
            .label(format!("expected {expected}"))
            .help(match instance {
                // `port: "3000"`: the number is there, quoted.
                Some(Value::String(s)) if expected.contains("number") && s.trim().parse::<f64>().is_ok() => {
                    format!("write the number without quotes: `{field}: {}`", s.trim())
                }
                _ => format!("see `{field}` in docs/manifest.md"),
            })
        }
        ValidationErrorKind::Enum { options } => {
            let words: Vec<String> = options
                .as_array()
                .map(|a| a.iter().map(|o| o.as_str().map_or(o.to_string(), |s| format!("`{s}`"))).collect())
                .unwrap_or_default();
            let mut d =
                Diagnostic::error(Code::InvalidChoice, format!("`{field}` must be one of {}", words.join(", ")))
                    .at(source.value_span(ptr))
                    .label("not an allowed value");
            if let Some(Value::String(s)) = instance {
                let plain: Vec<String> =
                    options.as_array().into_iter().flatten().filter_map(|o| o.as_str().map(String::from)).collect();
                if let Some(m) = did_you_mean(s, &plain) {
                    d = d.help(format!("did you mean `{m}`?"));
                }
            }
            if d.help.is_none() {
                d = d.help(format!("choose one of {}", words.join(", ")));
            }
            d
        }
        ValidationErrorKind::Constant { expected_value } => {
            Diagnostic::error(Code::InvalidChoice, format!("`{field}` must be {expected_value}"))
                .at(source.value_span(ptr))
        }
        ValidationErrorKind::Pattern { pattern } => {
            let expected = pattern_in_words(pattern);
            Diagnostic::error(Code::InvalidValue, format!("`{field}` has an invalid form"))
                .at(source.value_span(ptr))
                .label("does not match the expected form")
                .help(match expected {
                    Some(words) => format!("expected {words} (the pattern `{pattern}`)"),
                    None => format!("the value must match `{pattern}`"),
                })
        }
        ValidationErrorKind::Minimum { limit } | ValidationErrorKind::ExclusiveMinimum { limit } => {
            Diagnostic::error(Code::RangeValue, format!("`{field}` is too small"))
                .at(source.value_span(ptr))
                .help(format!("the smallest allowed value is {limit}"))
        }
        ValidationErrorKind::Maximum { limit } | ValidationErrorKind::ExclusiveMaximum { limit } => {
            Diagnostic::error(Code::RangeValue, format!("`{field}` is too large"))
                .at(source.value_span(ptr))
                .help(format!("the largest allowed value is {limit}"))
        }
        ValidationErrorKind::MinProperties { .. } | ValidationErrorKind::MinItems { .. } => {
            Diagnostic::error(Code::InvalidValue, format!("`{field}` must not be empty"))
                .at(source.value_span(ptr))
                .help("add at least one entry")
        }
        ValidationErrorKind::AnyOf { .. } | ValidationErrorKind::OneOfNotValid { .. } => {
            let forms = describe_forms(ptr);
            Diagnostic::error(Code::WrongType, format!("`{field}` is not a valid value"))
                .at(source.value_span(ptr))
                .label("not an accepted form")
                .help(format!("`{field}` takes {forms}"))
        }
        ValidationErrorKind::MaxLength { limit } => {
            Diagnostic::error(Code::InvalidValue, format!("`{field}` is too long"))
                .at(source.value_span(ptr))
                .help(format!("at most {limit} characters"))
        }
        ValidationErrorKind::MinLength { limit } => {
            Diagnostic::error(Code::InvalidValue, format!("`{field}` is too short"))
                .at(source.value_span(ptr))
                .help(format!("at least {limit} characters"))
        }
        // A key of the wrong form. Names (`x-sightline-type: name`) are reported by pass 1,
        // which the dedup above keeps; any other key (an environment variable's) is reported
        // here: the mapping is left out of the manifest, so it must never go unsaid.
        ValidationErrorKind::PropertyNames { error } => {
            let key = error.instance().as_str().unwrap_or_default();
            let child = format!("{ptr}/{}", crate::source::escape_token(key));
            let help = match error.kind() {
                ValidationErrorKind::Pattern { pattern } => match pattern_in_words(pattern) {
                    Some(words) => format!("a key here is {words} (the pattern `{pattern}`)"),
                    None => format!("a key here must match `{pattern}`"),
                },
                _ => "rename the key".to_string(),
            };
            Diagnostic::error(Code::InvalidValue, format!("`{}` is not a valid key of `{field}`", key.escape_debug()))
                .at(source.key_span(&child))
                .label("key of the wrong form")
                .help(help)
        }
        _ => Diagnostic::error(Code::InvalidValue, format!("`{field}` is not valid here")).at(source.value_span(ptr)),
    })
}

/// What a value's shape is, in words, without quoting it (it may be a secret).
fn found_word(v: &Value) -> &'static str {
    match v {
        Value::Null => "empty",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

fn type_word(t: &str) -> String {
    match t {
        "object" => "a mapping".into(),
        "array" => "a list".into(),
        "string" => "a string".into(),
        "integer" => "a whole number".into(),
        "number" => "a number".into(),
        "boolean" => "`true` or `false`".into(),
        "null" => "empty".into(),
        other => other.to_string(),
    }
}

/// Describe the accepted forms of an `anyOf` field, from the schema.
fn describe_forms(ptr: &str) -> String {
    let root = schema();
    let mut nodes = vec![root];
    for t in tokens(ptr) {
        nodes = nodes
            .into_iter()
            .flat_map(|n| alternatives(root, n))
            .filter_map(|n| super::schema::child(root, n, &t))
            .collect();
    }
    let mut forms: Vec<String> = Vec::new();
    for n in nodes.into_iter().flat_map(|n| alternatives(root, n)) {
        if n.get("type").is_some_and(|t| t == "null") {
            continue;
        }
        let f = if let Some(d) = n.get("description").and_then(Value::as_str) {
            let mut c = d.chars();
            c.next().map(|f| f.to_lowercase().chain(c).collect()).unwrap_or_default()
        } else if let Some(Value::Array(e)) = n.get("enum") {
            e.iter().map(|v| v.as_str().map_or(v.to_string(), |s| format!("`{s}`"))).collect::<Vec<_>>().join(" or ")
        } else if let Some(c) = n.get("const") {
            format!("`{c}`")
        } else if let Some(t) = n.get("type").and_then(Value::as_str) {
            type_word(t)
        } else {
            continue;
        };
        if !forms.contains(&f) {
            forms.push(f);
        }
    }
    if forms.is_empty() { "a different value".into() } else { forms.join("; or ") }
}

fn field_name(ptr: &str) -> String {
    let ts = tokens(ptr);
    match ts.last() {
        None => "the manifest".into(),
        Some(last) if last.parse::<usize>().is_ok() && ts.len() >= 2 => format!("{}[{}]", ts[ts.len() - 2], last),
        Some(last) => last.clone(),
    }
}

/// What each pattern of the manifest's schema accepts, in words, for the help line.
fn pattern_in_words(pattern: &str) -> Option<&'static str> {
    Some(match pattern {
        r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$" => "a Docker network name: letters, digits, `_`, `.`, `-`",
        r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$" => {
            "a Kubernetes name: lower-case letters, digits and `-`, starting and ending with a letter or digit, up to 63 characters"
        }
        r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$" => {
            "a Kubernetes Service name: lower-case letters, digits and `-`, starting with a letter and ending with a letter or digit, up to 63 characters"
        }
        super::values::NAME_PATTERN => "a name: lower-case letters, digits, `_` and `-`, starting with a letter",
        r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$" => "a host name: letters, digits, `.` and `-`",
        r"^[A-Za-z_][A-Za-z0-9_$-]{0,62}$" => "a PostgreSQL name: letters, digits, `_`, `$`, `-`, up to 63 characters",
        r"^/[A-Za-z0-9/_.~-]*$" => "a URL path starting with `/`: letters, digits, `/`, `_`, `.`, `~`, `-`",
        r"^[a-zA-Z_:][a-zA-Z0-9_:]*$" => "a Prometheus metric name: letters, digits, `_` and `:`",
        r"^[a-zA-Z_][a-zA-Z0-9_]*$" | r"^[A-Za-z_][A-Za-z0-9_]*$" => {
            "letters, digits and `_`, not starting with a digit"
        }
        super::values::CONTAINER_ENV_PATTERN => "letters, digits, `_` and `.`, not starting with a digit or `.`",
        r"^/[!-~]*$" => "a URL path starting with `/`, printable ASCII without spaces",
        r"^[A-Za-z0-9*]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$" => "a domain name (`*.` for a wildcard)",
        r#"^/[^:$\s'"\\]*$"# => "an absolute path without `:`, `$`, spaces, quotes or backslashes",
        r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$" => "an image tag: letters, digits, `_`, `.`, `-`",
        r"^[0-9a-fA-F.:]+$" => "an IP address, e.g. `127.0.0.1`",
        r"^https?://[^\s{}]+$" => "an http:// or https:// URL without spaces or braces",
        r"^https?://[^\s{}]+(\{(alert|service)\}[^\s{}]*)*$" => {
            "an http:// or https:// URL without spaces, whose only braces are the placeholders `{alert}` and `{service}`"
        }
        r"^[^\s@{}]+@[^\s@{}]+$" => "an e-mail address (Alertmanager reads it as a template: no braces)",
        r"^[^\s{}]+$" => "a value without spaces or braces (Alertmanager reads it as a template)",
        r"^[A-Za-z0-9.-]+:[0-9]+$" => "host:port, e.g. `smtp.example.com:587`",
        r"^https://[^\s]+$" => "an https:// URL without spaces",
        r"^https?://[^\s]+$" => "an http:// or https:// URL without spaces or line breaks",
        r"^[^\x00-\x1f\x7f]{1,255}$" => "up to 255 characters, without control characters",
        r"^[^\x00-\x1f\x7f]{0,4096}$" => "up to 4096 characters, without control characters",
        r"^[^:\x00-\x1f\x7f]{1,256}$" => "up to 256 characters, without `:` or control characters",
        r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,128}$" => {
            "an HTTP header name: letters, digits and ``!#$%&'*+-.^_`|~``, up to 128 characters"
        }
        r"^[A-Za-z0-9_.:@-]{1,255}$" => "a queue name: letters, digits, `_`, `.`, `:`, `@`, `-`, up to 255 characters",
        r"^[A-Za-z0-9_.-]+$" => "letters, digits, `_`, `.` and `-`",
        r"^[A-Za-z0-9._-]{1,64}$" => "a user name: letters, digits, `_`, `.` and `-`, up to 64 characters",
        r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$" => {
            "a bucket name: 3 to 63 lower-case letters, digits, `.` and `-`, starting and ending with a letter or digit"
        }
        r"^[a-z0-9-]{1,64}$" => "a region: lower-case letters, digits and `-`, e.g. `eu-west-1`",
        r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?(:[0-9]{1,5})?$" => {
            "a host name with an optional port: letters, digits, `.` and `-`, e.g. `minio.storage.svc:9000`"
        }
        r"^\$2[aby]\$(0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{53}$" => {
            "a bcrypt hash (`$2y$10$` and 53 more characters), e.g. from `htpasswd -nbBC 10 \"\" PASSWORD`"
        }
        r"^/[A-Za-z0-9/_.-]*$" => "an absolute path: letters, digits, `/`, `_`, `.`, `-`",
        r"^/([A-Za-z0-9_-][A-Za-z0-9._-]*|\.[A-Za-z0-9_-][A-Za-z0-9._-]*)(/([A-Za-z0-9_-][A-Za-z0-9._-]*|\.[A-Za-z0-9_-][A-Za-z0-9._-]*))*$" => {
            "an absolute path in the container: letters, digits, `/`, `_`, `.`, `-`, no `.` or `..` part, no trailing `/`"
        }
        r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,31})?$" => {
            "a user, `uid[:gid]` or a name the image knows: letters, digits, `_`, `.`, `-`"
        }
        r"^age1[02-9ac-hj-np-z]{58}$" => "an age public key (`age1` and 58 more characters)",
        r"^([0-9]+y)?([0-9]+w)?([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?([0-9]+ms)?$" => {
            "a duration such as `30s`, `5m`, `1h30m` or `30d`"
        }
        r"^[0-9]+(B|KiB|MiB|GiB|TiB)$" => "a size such as `512MiB` or `10GiB`",
        r"^[0-9]+(\.[0-9]+)?%$" => "a percentage such as `99.9%`",
        r"^[^\s@]+(@sha256:[0-9a-f]{64})?$" => "an image reference such as `postgres:16.4`",
        r"^\S+(\s+\S+){4}$" => "a cron schedule of five fields, e.g. `0 3 * * *`",
        r"^[^:\s]+:/[^:\s]*(:(ro|rw))?$" => {
            "`<volume or ./path>:<absolute path in the container>`, optionally `:ro` or `:rw`"
        }
        r"^(([0-9]{1,3}\.){3}[0-9]{1,3}:)?[0-9]{1,5}:[0-9]{1,5}$" => {
            "`[<ip>:]<host port>:<container port>`, e.g. `127.0.0.1:8000:8000`"
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every pattern of the schema has words for its help line.
    #[test]
    fn every_pattern_is_explained() {
        fn patterns(v: &Value, out: &mut Vec<String>) {
            match v {
                Value::Object(m) => {
                    if let Some(Value::String(p)) = m.get("pattern") {
                        out.push(p.clone());
                    }
                    m.values().for_each(|x| patterns(x, out));
                }
                Value::Array(a) => a.iter().for_each(|x| patterns(x, out)),
                _ => {}
            }
        }
        let mut found = Vec::new();
        patterns(schema(), &mut found);
        // The secret file's `^/` is checked, and explained, by its value parser.
        found.retain(|p| p != "^/");
        assert!(found.len() > 10);
        for p in found {
            assert!(pattern_in_words(&p).is_some(), "no words for the pattern {p}");
        }
    }
}

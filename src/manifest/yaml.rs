//! YAML front end: serde-saphyr, with spans for every key and value, budgets on size, depth
//! and alias expansion, and YAML 1.2 booleans (so `off` stays the word `off`).

use super::tree::{MAX_DEPTH, MAX_NODES, Node};
use crate::source::Span;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

/// Parse YAML text into a spanned node, or the parser's message and position.
pub fn parse(text: &str) -> Result<Node, (String, Option<Span>)> {
    let mut options = serde_saphyr::Options::default();
    options.strict_booleans = true;
    options.duplicate_keys = serde_saphyr::DuplicateKeyPolicy::Error;
    let mut budget = serde_saphyr::Budget::default();
    budget.max_depth = MAX_DEPTH;
    budget.max_nodes = MAX_NODES;
    budget.max_aliases = 1_000;
    budget.max_total_scalar_bytes = super::tree::MAX_BYTES;
    options.budget = Some(budget);
    options.alias_limits.max_total_replayed_events = 20_000;
    options.alias_limits.max_alias_expansions_per_anchor = 1_000;
    options.with_snippet = false;
    match serde_saphyr::from_str_with_options::<YNode>(text, options) {
        Ok(n) => Ok(n.0),
        Err(e) => {
            let span = e.location().map(|l| location_span(&l, text));
            let msg = e.to_string();
            // The message may end with " at line X column Y"; the span already says where.
            let msg = msg.lines().next().unwrap_or("invalid YAML");
            let msg = match msg.find(" at line ") {
                Some(i) => &msg[..i],
                None => msg,
            };
            let msg = if msg.contains("Depth {") {
                format!("nesting deeper than {MAX_DEPTH} levels")
            } else {
                msg.to_string()
            };
            Err((msg, span))
        }
    }
}

fn location_span(l: &serde_saphyr::Location, text: &str) -> Span {
    let s = l.span();
    match (s.byte_offset(), s.byte_len()) {
        (Some(o), Some(n)) => Span::new(o as usize, (o + n) as usize),
        _ => {
            // Fall back to line/column (1-based, in characters).
            let line = l.line().max(1) as usize;
            let col = l.column().max(1) as usize;
            let start_of_line: usize = text.split_inclusive('\n').take(line - 1).map(str::len).sum();
            let rest = &text[start_of_line.min(text.len())..];
            let off = rest.char_indices().nth(col - 1).map_or(rest.len(), |(i, _)| i);
            Span::new(start_of_line + off, start_of_line + off)
        }
    }
}

struct YNode(Node);

impl<'de> Deserialize<'de> for YNode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = Spanned::<Inner>::deserialize(d)?;
        let span = {
            let sp = s.referenced.span();
            match (sp.byte_offset(), sp.byte_len()) {
                (Some(o), Some(n)) => Span::new(o as usize, (o + n) as usize),
                _ => Span::default(),
            }
        };
        Ok(YNode(match s.value {
            Inner::Null => Node::Null(span),
            Inner::Bool(b) => Node::Bool(b, span),
            Inner::Int(i) => Node::Int(i, span),
            Inner::Float(f) => Node::Float(f, span),
            Inner::Str(v) => Node::Str(v, span),
            Inner::Seq(v) => {
                let span = cover(span, v.iter().map(Node::span));
                Node::Seq(v, span)
            }
            Inner::Map(v) => {
                let span = cover(span, v.iter().flat_map(|(_, k, n)| [*k, n.span()]));
                Node::Map(v, span)
            }
        }))
    }
}

/// A container's span runs from its own start to the end of its last child.
fn cover(start: Span, children: impl Iterator<Item = Span>) -> Span {
    let end = children.map(|s| s.end).max().unwrap_or(start.end);
    Span::new(start.start, end.max(start.end))
}

enum Inner {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(String, Span, Node)>),
}

impl<'de> Deserialize<'de> for Inner {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(InnerVisitor)
    }
}

struct InnerVisitor;

impl<'de> Visitor<'de> for InnerVisitor {
    type Value = Inner;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Inner, E> {
        Ok(Inner::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Inner, E> {
        Ok(Inner::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Inner, E> {
        i64::try_from(v).map(Inner::Int).map_err(|_| E::custom("integer too large"))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Inner, E> {
        i64::try_from(v).map(Inner::Int).map_err(|_| E::custom("integer too large"))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Inner, E> {
        i64::try_from(v).map(Inner::Int).map_err(|_| E::custom("integer too large"))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Inner, E> {
        Ok(Inner::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Inner, E> {
        Ok(Inner::Str(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Inner, E> {
        Ok(Inner::Str(v))
    }
    fn visit_unit<E>(self) -> Result<Inner, E> {
        Ok(Inner::Null)
    }
    fn visit_none<E>(self) -> Result<Inner, E> {
        Ok(Inner::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Inner, D::Error> {
        Inner::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Inner, A::Error> {
        let mut out = Vec::new();
        while let Some(YNode(n)) = seq.next_element::<YNode>()? {
            out.push(n);
        }
        Ok(Inner::Seq(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Inner, A::Error> {
        let mut out = Vec::new();
        while let Some(k) = map.next_key::<Spanned<String>>()? {
            let sp = k.referenced.span();
            let kspan = match (sp.byte_offset(), sp.byte_len()) {
                (Some(o), Some(n)) => Span::new(o as usize, (o + n) as usize),
                _ => Span::default(),
            };
            let YNode(v) = map.next_value::<YNode>()?;
            out.push((k.value, kspan, v));
        }
        Ok(Inner::Map(out))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    /// The document as the rest of the pipeline sees it (`tree::into_tree`).
    fn parsed(text: &str) -> Value {
        let node = super::parse(text).unwrap_or_else(|(message, _)| panic!("refused: {message}"));
        super::super::tree::into_tree(node).value
    }

    /// A long run of comments (services commented out at the top of `services:`, an item's
    /// keys commented out) is YAML like any other. With serde-saphyr's `comments` feature,
    /// which the build leaves off, the 33rd comment line right after a key whose value starts
    /// on the next line, or after a list item's `-`, was refused ("too many buffered comments
    /// while looking ahead").
    #[test]
    fn a_long_run_of_comments_parses() {
        let run = |indent: &str| (0..200).map(|i| format!("{indent}# old{i}: 1\n")).collect::<String>();
        let after_key = parsed(&format!("services:\n{}  cache: {{ kind: redis }}\n", run("  ")));
        assert!(after_key.pointer("/services/cache").is_some_and(Value::is_object));
        let after_item = parsed(&format!("routes:\n  -\n{}    to: ops\n", run("    ")));
        assert_eq!(after_item.pointer("/routes/0/to"), Some(&Value::from("ops")));
    }
}

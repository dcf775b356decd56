//! The parsed document before it is typed: a JSON value (what the schema validates and serde
//! decodes) plus the pointer→span index into the source. YAML and TOML both parse into this.

use crate::source::{NodeSpan, Span, SpanIndex};
use serde_json::Value;

/// Bounds on what a manifest may be, so that a hostile file cannot exhaust a CI runner.
pub const MAX_BYTES: usize = 4 << 20;
pub const MAX_DEPTH: usize = 64;
/// Keys, values and list items together: a real manifest of 1,000 services has about 20,000.
pub const MAX_NODES: usize = 100_000;

/// A node as the format parsers build it: the value with its span, and keys with theirs.
pub enum Node {
    Null(Span),
    Bool(bool, Span),
    Int(i64, Span),
    Float(f64, Span),
    Str(String, Span),
    Seq(Vec<Node>, Span),
    Map(Vec<(String, Span, Node)>, Span),
}

impl Node {
    pub fn span(&self) -> Span {
        match self {
            Node::Null(s)
            | Node::Bool(_, s)
            | Node::Int(_, s)
            | Node::Float(_, s)
            | Node::Str(_, s)
            | Node::Seq(_, s)
            | Node::Map(_, s) => *s,
        }
    }
}

/// The untyped document and its index.
pub struct Tree {
    pub value: Value,
    pub index: SpanIndex,
}

/// Flatten a node into a JSON value and record every pointer's span. Duplicate keys keep the
/// last value, as both YAML parsers in the wild and TOML (which refuses them earlier) agree.
pub fn into_tree(node: Node) -> Tree {
    let mut index = SpanIndex::default();
    let value = flatten(node, None, None, &mut index);
    Tree { value, index }
}

/// `at`: the parent's id and, in a mapping, the key with its span.
fn flatten(node: Node, parent: Option<u32>, key: Option<(&str, Span)>, index: &mut SpanIndex) -> Value {
    let span = NodeSpan { key: key.map(|k| k.1), value: node.span() };
    let id = index.add(parent, key.map(|k| k.0), span);
    match node {
        Node::Null(_) => Value::Null,
        Node::Bool(b, _) => Value::Bool(b),
        Node::Int(i, _) => Value::from(i),
        Node::Float(f, _) => serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number),
        Node::Str(s, _) => Value::String(s),
        Node::Seq(items, _) => Value::Array(items.into_iter().map(|n| flatten(n, Some(id), None, index)).collect()),
        Node::Map(entries, _) => {
            let mut map = serde_json::Map::new();
            for (k, kspan, v) in entries {
                let v = flatten(v, Some(id), Some((&k, kspan)), index);
                map.insert(k, v);
            }
            Value::Object(map)
        }
    }
}

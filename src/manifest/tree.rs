//! The parsed document before it is typed: a JSON value (what the schema validates and serde
//! decodes) plus the pointer→span index into the source. YAML and TOML both parse into this.

use crate::source::{NodeSpan, Span, escape_token};
use serde_json::Value;
use std::collections::BTreeMap;

/// Bounds on what a manifest may be, so that a hostile file cannot exhaust a CI runner.
pub const MAX_BYTES: usize = 4 << 20;
pub const MAX_DEPTH: usize = 64;

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
    pub index: BTreeMap<String, NodeSpan>,
}

/// Flatten a node into a JSON value and record every pointer's span. Duplicate keys keep the
/// last value, as both YAML parsers in the wild and TOML (which refuses them earlier) agree.
pub fn into_tree(node: Node) -> Tree {
    let mut index = BTreeMap::new();
    let value = flatten(node, String::new(), None, &mut index);
    Tree { value, index }
}

fn flatten(node: Node, ptr: String, key: Option<Span>, index: &mut BTreeMap<String, NodeSpan>) -> Value {
    let span = node.span();
    let value = match node {
        Node::Null(_) => Value::Null,
        Node::Bool(b, _) => Value::Bool(b),
        Node::Int(i, _) => Value::from(i),
        Node::Float(f, _) => serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number),
        Node::Str(s, _) => Value::String(s),
        Node::Seq(items, _) => Value::Array(
            items.into_iter().enumerate().map(|(i, n)| flatten(n, format!("{ptr}/{i}"), None, index)).collect(),
        ),
        Node::Map(entries, _) => {
            let mut map = serde_json::Map::new();
            for (k, kspan, v) in entries {
                let child = format!("{ptr}/{}", escape_token(&k));
                let v = flatten(v, child, Some(kspan), index);
                map.insert(k, v);
            }
            Value::Object(map)
        }
    };
    index.insert(ptr, NodeSpan { key, value: span });
    value
}

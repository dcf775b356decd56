//! TOML front end: the toml crate's spanned document, turned into the same node tree as YAML.

use super::tree::{MAX_DEPTH, MAX_NODES, Node};
use crate::source::Span;
use toml::de::{DeTable, DeValue};

/// Parse TOML text into a spanned node, or the parser's message and position.
pub fn parse(text: &str) -> Result<Node, (String, Option<Span>)> {
    let shape = shape(text);
    if shape.depth > MAX_DEPTH {
        return Err((format!("nesting deeper than {MAX_DEPTH} levels"), None));
    }
    if shape.nodes > MAX_NODES {
        return Err((format!("more than {MAX_NODES} keys, values and list items (node limit)"), None));
    }
    let doc = DeTable::parse(text).map_err(|e| {
        let msg = e.message().lines().next().unwrap_or("invalid TOML").to_string();
        (msg, e.span().map(|r| Span::new(r.start, r.end)))
    })?;
    let span = doc.span();
    table(doc.into_inner(), Span::new(span.start, span.end), 0)
        .ok_or_else(|| (format!("nesting deeper than {MAX_DEPTH} levels"), None))
}

type Depth = usize;

fn table(t: DeTable<'_>, span: Span, depth: Depth) -> Option<Node> {
    if depth > MAX_DEPTH {
        return None;
    }
    let mut entries = Vec::new();
    for (k, v) in t {
        let ks = k.span();
        let vs = v.span();
        let v = value(v.into_inner(), Span::new(vs.start, vs.end), depth + 1)?;
        entries.push((k.into_inner().into_owned(), Span::new(ks.start, ks.end), v));
    }
    Some(Node::Map(entries, span))
}

fn value(v: DeValue<'_>, span: Span, depth: Depth) -> Option<Node> {
    if depth > MAX_DEPTH {
        return None;
    }
    Some(match v {
        DeValue::String(s) => Node::Str(s.into_owned(), span),
        DeValue::Integer(i) => match i64::from_str_radix(i.as_str(), i.radix()) {
            Ok(n) => Node::Int(n, span),
            Err(_) => Node::Str(i.as_str().to_string(), span),
        },
        DeValue::Float(f) => match f.as_str().parse::<f64>() {
            Ok(x) => Node::Float(x, span),
            Err(_) => Node::Str(f.as_str().to_string(), span),
        },
        DeValue::Boolean(b) => Node::Bool(b, span),
        DeValue::Datetime(d) => Node::Str(d.to_string(), span),
        DeValue::Array(a) => {
            let mut items = Vec::new();
            for v in a {
                let s = v.span();
                items.push(value(v.into_inner(), Span::new(s.start, s.end), depth + 1)?);
            }
            Node::Seq(items, span)
        }
        DeValue::Table(t) => table(t, span, depth)?,
    })
}

/// What the text can hold at most, found before the parser runs: the bracket nesting, so that a
/// hostile `a = [[[[…]]]]` cannot exhaust the stack, and the number of nodes (every value
/// follows an `=` or a `,` or opens a `[`/`{`), so that a flow of a million list items is
/// refused before the parser allocates them. Brackets, `=` and `,` inside strings and comments
/// are skipped.
struct Shape {
    depth: usize,
    nodes: usize,
}

fn shape(text: &str) -> Shape {
    let (mut depth, mut max, mut nodes) = (0usize, 0usize, 1usize);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '#' => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            '"' | '\'' => {
                let quote = c;
                while let Some(c) = chars.next() {
                    if c == '\\' && quote == '"' {
                        chars.next();
                    } else if c == quote || c == '\n' {
                        break;
                    }
                }
            }
            '[' | '{' => {
                depth += 1;
                nodes += 1;
                max = max.max(depth);
            }
            ']' | '}' => depth = depth.saturating_sub(1),
            '=' | ',' => nodes += 1,
            _ => {}
        }
    }
    Shape { depth: max, nodes }
}

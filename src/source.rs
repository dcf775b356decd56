//! Source text and positions: the manifest as read, byte spans into it, and the index from a
//! JSON pointer (`/services/api/port`) to the span of that key and value.
//!
//! The index is built by the same parser that reads the manifest (serde-saphyr for YAML, toml
//! for TOML), so a diagnostic found on the decoded tree points at the exact characters the user
//! wrote.

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// A half-open byte range into a [`SourceFile`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        Span { start, end: end.max(start) }
    }

    pub fn len(&self) -> usize {
        self.end - self.start
    }

    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }
}

/// The spans recorded for one node of the manifest tree.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NodeSpan {
    /// The key that names this node in its parent mapping, if any.
    pub key: Option<Span>,
    /// The value itself.
    pub value: Span,
}

/// The manifest file as read from disk.
#[derive(Clone, Debug)]
pub struct SourceFile {
    /// The name shown in diagnostics and generated headers: the path as the user gave it.
    pub name: String,
    pub text: String,
    pointers: BTreeMap<String, NodeSpan>,
}

impl SourceFile {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        SourceFile { name: name.into(), text: text.into(), pointers: BTreeMap::new() }
    }

    pub(crate) fn set_index(&mut self, pointers: BTreeMap<String, NodeSpan>) {
        self.pointers = pointers;
    }

    /// The spans of the node at a JSON pointer, if the document has it.
    pub fn node(&self, pointer: &str) -> Option<NodeSpan> {
        self.pointers.get(pointer).copied()
    }

    /// The span of the value at `pointer`; if absent (a missing field), the nearest ancestor
    /// that exists, so a diagnostic still points somewhere useful.
    pub fn value_span(&self, pointer: &str) -> Span {
        let mut p = pointer;
        loop {
            if let Some(n) = self.pointers.get(p) {
                return n.value;
            }
            match p.rfind('/') {
                Some(i) => p = &p[..i],
                None => return Span::default(),
            }
        }
    }

    /// The span of the key naming the node at `pointer`, or its value when it has no key.
    pub fn key_span(&self, pointer: &str) -> Span {
        match self.pointers.get(pointer) {
            Some(NodeSpan { key: Some(k), .. }) => *k,
            _ => self.value_span(pointer),
        }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let before = &self.text[..floor_char_boundary(&self.text, offset)];
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, col)
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Escape one reference token of a JSON pointer (RFC 6901).
pub fn escape_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// Build a pointer from tokens, escaping each.
pub fn pointer<I, T>(tokens: I) -> String
where
    I: IntoIterator<Item = T>,
    T: std::fmt::Display,
{
    let mut out = String::new();
    for t in tokens {
        let _ = write!(out, "/{}", escape_token(&t.to_string()));
    }
    out
}

/// Split a pointer into unescaped tokens.
pub fn tokens(pointer: &str) -> Vec<String> {
    if pointer.is_empty() {
        return Vec::new();
    }
    pointer[1..].split('/').map(|t| t.replace("~1", "/").replace("~0", "~")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters() {
        let s = SourceFile::new("x", "a: 1\nbé: 2\n");
        assert_eq!(s.line_col(0), (1, 1));
        assert_eq!(s.line_col(5), (2, 1));
        assert_eq!(s.line_col(9), (2, 4));
    }

    #[test]
    fn pointer_round_trip() {
        let p = pointer(["a/b", "c~d"]);
        assert_eq!(p, "/a~1b/c~0d");
        assert_eq!(tokens(&p), vec!["a/b", "c~d"]);
    }

    #[test]
    fn missing_pointer_falls_back_to_ancestor() {
        let mut s = SourceFile::new("x", "a:\n  b: 1\n");
        let mut m = BTreeMap::new();
        m.insert(String::new(), NodeSpan { key: None, value: Span::new(0, 10) });
        m.insert("/a".into(), NodeSpan { key: Some(Span::new(0, 1)), value: Span::new(5, 9) });
        s.set_index(m);
        assert_eq!(s.value_span("/a/zzz"), Span::new(5, 9));
        assert_eq!(s.key_span("/a"), Span::new(0, 1));
    }
}

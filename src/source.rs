//! Source text and positions: the manifest as read, byte spans into it, the index from a JSON
//! pointer (`/services/api/port`) to the span of that key and value, and the line index that
//! turns a byte offset into a line and column.
//!
//! The pointer index is built by the same parser that reads the manifest (serde-saphyr for YAML,
//! toml for TOML), so a diagnostic found on the decoded tree points at the exact characters the
//! user wrote. Both indexes are linear in the input: the pointer index keeps one entry per node
//! with a link to its parent (never a whole pointer string per node), and the line index is built
//! once, so a file with 100,000 problems costs 100,000 lookups, not 100,000 scans.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::OnceLock;

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
    text: String,
    nodes: SpanIndex,
    lines: OnceLock<LineIndex>,
}

impl SourceFile {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        SourceFile { name: name.into(), text: text.into(), nodes: SpanIndex::default(), lines: OnceLock::new() }
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// The same file with other text of the same line structure (a masked copy for display):
    /// the pointer index is kept, the line index rebuilt.
    pub fn with_text(&self, text: String) -> SourceFile {
        SourceFile { name: self.name.clone(), text, nodes: self.nodes.clone(), lines: OnceLock::new() }
    }

    pub(crate) fn set_index(&mut self, nodes: SpanIndex) {
        self.nodes = nodes;
    }

    /// The line index, built on first use.
    pub fn lines(&self) -> &LineIndex {
        self.lines.get_or_init(|| LineIndex::new(&self.text))
    }

    /// The spans of the node at a JSON pointer, if the document has it.
    pub fn node(&self, pointer: &str) -> Option<NodeSpan> {
        match self.nodes.walk(pointer) {
            (n, true) => Some(n),
            _ => None,
        }
    }

    /// The span of the value at `pointer`; if absent (a missing field), the nearest ancestor
    /// that exists, so a diagnostic still points somewhere useful.
    pub fn value_span(&self, pointer: &str) -> Span {
        self.nodes.walk(pointer).0.value
    }

    /// The span of the key naming the node at `pointer`, or its value when it has no key.
    pub fn key_span(&self, pointer: &str) -> Span {
        match self.nodes.walk(pointer) {
            (NodeSpan { key: Some(k), .. }, true) => k,
            (n, _) => n.value,
        }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        self.lines().line_col(&self.text, offset)
    }
}

/// The pointer→span index: one entry per node of the document, each map entry found from its
/// parent and its key, each list item from its parent and its position.
#[derive(Clone, Debug, Default)]
pub struct SpanIndex {
    nodes: Vec<IndexNode>,
    keys: HashMap<(u32, Box<str>), u32>,
}

#[derive(Clone, Debug)]
struct IndexNode {
    span: NodeSpan,
    /// The nodes of a list, in order.
    items: Vec<u32>,
}

impl SpanIndex {
    /// Add a node under `parent` (none for the root), named by `key` in a mapping or appended
    /// to the parent's items in a list. Returns the node's id.
    pub fn add(&mut self, parent: Option<u32>, key: Option<&str>, span: NodeSpan) -> u32 {
        let id = u32::try_from(self.nodes.len()).expect("a manifest within the size limit has fewer than 2^32 nodes");
        self.nodes.push(IndexNode { span, items: Vec::new() });
        match (parent, key) {
            (Some(p), Some(k)) => {
                self.keys.insert((p, k.into()), id);
            }
            (Some(p), None) => self.nodes[p as usize].items.push(id),
            (None, _) => {}
        }
        id
    }

    /// Follow a pointer as far as the document goes: the deepest node reached, and whether it
    /// is the node the pointer names.
    fn walk(&self, pointer: &str) -> (NodeSpan, bool) {
        let Some(root) = self.nodes.first() else { return (NodeSpan::default(), pointer.is_empty()) };
        let (mut at, mut span) = (0u32, root.span);
        if pointer.is_empty() {
            return (span, true);
        }
        for token in pointer[1..].split('/') {
            let token = unescape(token);
            let node = &self.nodes[at as usize];
            let next = if node.items.is_empty() {
                self.keys.get(&(at, Box::from(token.as_ref()))).copied()
            } else {
                token.parse::<usize>().ok().and_then(|i| node.items.get(i).copied())
            };
            match next {
                Some(n) => {
                    at = n;
                    span = self.nodes[n as usize].span;
                }
                None => return (span, false),
            }
        }
        (span, true)
    }
}

fn unescape(token: &str) -> std::borrow::Cow<'_, str> {
    if token.contains('~') { token.replace("~1", "/").replace("~0", "~").into() } else { token.into() }
}

/// Where each line starts. A line ends at `\n`, `\r\n` or a lone `\r`, as YAML and the snippet
/// renderer count them; columns count characters, found from a character count kept every
/// [`LineIndex::STRIDE`] bytes, so neither depends on the length of what comes before.
#[derive(Clone, Debug)]
pub struct LineIndex {
    starts: Vec<usize>,
    /// Characters before each multiple of `STRIDE` bytes.
    chars: Vec<usize>,
}

impl LineIndex {
    const STRIDE: usize = 4096;

    pub fn new(text: &str) -> LineIndex {
        let bytes = text.as_bytes();
        let mut starts = vec![0];
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'\r' if bytes.get(i + 1) == Some(&b'\n') => {
                    starts.push(i + 2);
                    i += 2;
                    continue;
                }
                b'\r' | b'\n' => starts.push(i + 1),
                _ => {}
            }
            i += 1;
        }
        let mut chars = Vec::with_capacity(bytes.len() / Self::STRIDE + 1);
        let mut count = 0;
        for chunk in bytes.chunks(Self::STRIDE) {
            chars.push(count);
            count += Self::chars_in(chunk);
        }
        chars.push(count);
        LineIndex { starts, chars }
    }

    /// The 0-based line of a byte offset.
    pub fn line(&self, offset: usize) -> usize {
        self.starts.partition_point(|s| *s <= offset) - 1
    }

    /// The byte offset where a 0-based line starts (the end of the text past the last line).
    pub fn start(&self, line: usize) -> Option<usize> {
        self.starts.get(line).copied()
    }

    pub fn count(&self) -> usize {
        self.starts.len()
    }

    /// The length in bytes of the line holding `offset`, without its line break.
    pub fn len_at(&self, text: &str, offset: usize) -> usize {
        let line = self.line(offset.min(text.len()));
        let end = self.start(line + 1).unwrap_or(text.len());
        let body = &text.as_bytes()[self.starts[line]..end];
        body.len() - body.iter().rev().take_while(|b| matches!(b, b'\n' | b'\r')).count()
    }

    /// Characters before a byte offset (counting the character it falls inside, if any).
    fn chars_before(&self, text: &str, offset: usize) -> usize {
        let chunk = offset / Self::STRIDE;
        let from = chunk * Self::STRIDE;
        self.chars[chunk] + Self::chars_in(&text.as_bytes()[from..offset])
    }

    /// The characters that start in `bytes` of UTF-8.
    fn chars_in(bytes: &[u8]) -> usize {
        bytes.iter().filter(|b| (**b & 0xC0) != 0x80).count()
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, text: &str, offset: usize) -> (usize, usize) {
        let mut offset = offset.min(text.len());
        while offset > 0 && !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.line(offset);
        let start = self.starts[line];
        // A short line is counted from its start; a long one through the index, so either
        // way at most a stride of bytes is read.
        let col = if offset - start <= Self::STRIDE {
            Self::chars_in(&text.as_bytes()[start..offset])
        } else {
            self.chars_before(text, offset) - self.chars_before(text, start)
        };
        (line + 1, col + 1)
    }
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
    fn line_col_on_short_and_long_lines_is_the_naive_count() {
        // Lines shorter and longer than the index's stride, with characters of 1 to 4 bytes.
        let long = "é€😀x".repeat(2000);
        let text = format!("a: 1\r\nbé: 2\n{long}\nz: {long}\n");
        let s = SourceFile::new("x", &text);
        for offset in (0..=text.len()).filter(|o| text.is_char_boundary(*o)).step_by(7) {
            let before = &text[..offset];
            let line = before.matches('\n').count() + 1;
            let col = before.rsplit('\n').next().unwrap().chars().count() + 1;
            assert_eq!(s.line_col(offset), (line, col), "at {offset}");
        }
    }

    #[test]
    fn pointer_round_trip() {
        let p = pointer(["a/b", "c~d"]);
        assert_eq!(p, "/a~1b/c~0d");
        assert_eq!(tokens(&p), vec!["a/b", "c~d"]);
    }

    #[test]
    fn missing_pointer_falls_back_to_ancestor() {
        let mut s = SourceFile::new("x", "a:\n  b: [1]\n");
        let mut m = SpanIndex::default();
        let root = m.add(None, None, NodeSpan { key: None, value: Span::new(0, 12) });
        let a = m.add(Some(root), Some("a"), NodeSpan { key: Some(Span::new(0, 1)), value: Span::new(5, 11) });
        let b = m.add(Some(a), Some("b"), NodeSpan { key: Some(Span::new(5, 6)), value: Span::new(8, 11) });
        m.add(Some(b), None, NodeSpan { key: None, value: Span::new(9, 10) });
        s.set_index(m);
        assert_eq!(s.value_span("/a/zzz"), Span::new(5, 11));
        assert_eq!(s.key_span("/a"), Span::new(0, 1));
        assert_eq!(s.value_span("/a/b/0"), Span::new(9, 10));
        assert_eq!(s.value_span("/a/b/1"), Span::new(8, 11));
        assert!(s.node("/a/b/0").is_some() && s.node("/a/b/x").is_none() && s.node("").is_some());
    }

    #[test]
    fn line_index_counts_every_line_break_and_long_lines() {
        let s = SourceFile::new("x", "a\r\nb\rc\nd");
        assert_eq!(s.line_col(3), (2, 1));
        assert_eq!(s.line_col(5), (3, 1));
        assert_eq!(s.line_col(7), (4, 1));
        let long = format!("{}\n{}x", "é".repeat(5000), "ü".repeat(3000));
        let s = SourceFile::new("x", long.as_str());
        let x = long.rfind('x').unwrap();
        assert_eq!(s.line_col(x), (2, 3001));
        assert_eq!(s.line_col(x - 1), (2, 3000), "inside a character: the character's column");
        assert_eq!(s.lines().len_at(&long, 3), 10000);
    }
}

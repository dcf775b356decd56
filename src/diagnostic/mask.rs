//! Credentials out of every snippet: the human renderer shows lines of the manifest around each
//! problem, whatever code found it (a syntax error, an unknown or duplicate key, a context line
//! of another diagnostic), so the text it shows is masked first, line by line, without parsing
//! (the file may not parse at all).
//!
//! Masked (each byte becomes `*`, so offsets stay valid; spaces, quotes and line breaks stay):
//! - the value of a key that names a credential (`password`, a misspelt `pasword`, `token`,
//!   `api_key`, `routing_key`, `webhook_url`, `secret`, an `Authorization` header, …): a
//!   scalar, a flow collection
//!   (`password: { value: … }`, `password: [ … ]`), a block below it (`password: |`, a list or
//!   mapping indented under it), and the value of a YAML anchor the key refers to through an
//!   alias (`x: &pw hunter2` … `password: *pw`);
//! - any scalar that looks like a credential (`check::secrets::classify`: tokens of the common
//!   providers, URLs with a password).
//!
//! A reference (`{ env: … }`, `{ file: … }`, or `env:`/`file:` in a block) is not a secret and
//! stays.

use std::collections::HashSet;

/// Parts of key names that name a credential, matched in lower case anywhere in the key.
const KEYS: [&str; 11] =
    ["pass", "pasw", "pwd", "token", "secret", "api_key", "apikey", "routing_key", "webhook", "credential", "api-key"];

/// Keys that name a credential whole: an HTTP header that carries one (`Authorization`).
const WHOLE_KEYS: [&str; 2] = ["authorization", "proxy-authorization"];

fn names_credential(key: &str) -> bool {
    KEYS.iter().any(|k| key.contains(k)) || WHOLE_KEYS.contains(&key)
}

/// One `key: value` (or `key = value`) of a line: where the value starts in the line, the key
/// in lower case, and the column of the key (for what is indented under it).
struct Pair<'a> {
    key: String,
    key_col: usize,
    value_at: usize,
    value: &'a str,
}

/// Every pair of a line, block or flow style.
fn pairs(body: &str) -> impl Iterator<Item = Pair<'_>> {
    body.char_indices().filter(|(_, c)| matches!(c, ':' | '=')).map(move |(i, sep)| {
        // By bytes: a non-ASCII byte ends the key too, so `k + 1` is always a char boundary.
        // `key: v`, `"key": v`, and TOML's `key = v` with its spaces.
        let before = body[..i].trim_end().trim_end_matches(['"', '\'']);
        let key_col = before
            .as_bytes()
            .iter()
            .rposition(|b| !(b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-'))
            .map_or(0, |k| k + 1);
        let rest = &body[i + sep.len_utf8()..];
        let value = rest.trim_start();
        Pair {
            key: before[key_col..].to_ascii_lowercase(),
            key_col,
            value_at: i + sep.len_utf8() + (rest.len() - value.len()),
            value,
        }
    })
}

/// Where a comment starts: a `#` at the start of the line or after a space, outside quotes.
fn comment_start(body: &str) -> Option<usize> {
    let mut quote = None;
    let mut prev = ' ';
    for (i, c) in body.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '#') if prev == ' ' || prev == '\t' => return Some(i),
            _ => {}
        }
        prev = c;
    }
    None
}

/// An anchor or alias name at the start of `s` (after `&` or `*`).
fn name_after(s: &str) -> &str {
    let end = s.find(|c: char| c.is_whitespace() || matches!(c, ',' | '}' | ']')).unwrap_or(s.len());
    &s[..end]
}

/// A reference to a secret elsewhere, not a secret: `{ env: … }`, `{ file: … }`.
fn is_reference(flow: &str) -> bool {
    let inner = flow.trim_start_matches(['{', ' ']);
    inner.starts_with("env:") || inner.starts_with("file:")
}

/// The length of a flow collection starting at `s` (`{` or `[`), to its matching bracket or the
/// end of the line; quotes respected.
fn flow_len(s: &str) -> usize {
    let (mut depth, mut quote) = (0usize, None);
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '{' | '[') => depth += 1,
            (None, '}' | ']') => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
    }
    s.len()
}

/// The length of a scalar starting at `s`: to its closing quote, or to the end of its flow item
/// or a comment.
fn scalar_len(s: &str) -> usize {
    if s.starts_with(['"', '\'']) {
        let q = s.as_bytes()[0] as char;
        s[1..].find(q).map_or(s.len(), |e| e + 2)
    } else {
        s.find([',', '}', ']']).unwrap_or(s.len()).min(s.find(" #").unwrap_or(s.len()))
    }
}

/// The lines of the text with where each starts, split where the renderer splits them (`\n`,
/// `\r\n` or a lone `\r`), so what it shows as one line is masked as one line.
fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let index = crate::source::LineIndex::new(text);
    (0..index.count()).map(move |n| {
        let start = index.start(n).unwrap_or(text.len());
        let end = index.start(n + 1).unwrap_or(text.len());
        (start, text[start..end].trim_end_matches(['\n', '\r']))
    })
}

/// Anchors whose alias is the value of a credential-named key: their values are secrets.
fn secret_anchors(text: &str, max_line: usize) -> HashSet<String> {
    let mut found = HashSet::new();
    for (_, line) in lines(text).filter(|(_, l)| l.len() <= max_line) {
        for p in pairs(line) {
            if let Some(alias) = p.value.strip_prefix('*')
                && names_credential(&p.key)
            {
                found.insert(name_after(alias).to_string());
            }
        }
    }
    found
}

/// The text with credentials masked. Lines longer than `max_line` are never shown as snippets
/// and are skipped (scanning them pair by pair would be quadratic in a hostile file).
pub fn credentials(text: &str, max_line: usize) -> String {
    let anchors = secret_anchors(text, max_line);
    let mut bytes = text.as_bytes().to_vec();
    let mut mask = |from: usize, to: usize| {
        for b in &mut bytes[from..to] {
            if !matches!(*b, b' ' | b'"' | b'\'' | b'\n' | b'\r') {
                *b = b'*';
            }
        }
    };
    // The column of a credential key whose value is the block below it.
    let mut block_under: Option<usize> = None;
    for (at, body) in lines(text) {
        if body.len() > max_line {
            continue;
        }
        // A token in a comment is a credential too.
        if let Some(c) = comment_start(body) {
            let mut word_at = c;
            for word in body[c..].split(' ') {
                if crate::check::secrets::classify(word.trim_matches(['"', '\'', ',', '#'])).is_some() {
                    mask(at + word_at, at + word_at + word.len());
                }
                word_at += word.len() + 1;
            }
        }
        let indent = body.len() - body.trim_start_matches(' ').len();
        let content = body.trim_start_matches(' ');
        if let Some(col) = block_under {
            let item_at_key = indent == col && content.starts_with("- ");
            if content.is_empty() || content.starts_with('#') {
                continue;
            }
            if indent > col || item_at_key {
                let item = content.strip_prefix("- ").unwrap_or(content);
                if !(item.starts_with("env:") || item.starts_with("file:")) {
                    mask(at + body.len() - item.len(), at + body.len());
                }
                continue;
            }
            block_under = None;
        }
        for p in pairs(body) {
            let mut value = p.value;
            let mut named = names_credential(&p.key);
            // `key: &name value`: the value after the anchor, secret if an alias of it is.
            if let Some(anchor) = value.strip_prefix('&') {
                let name = name_after(anchor);
                named |= anchors.contains(name);
                value = anchor[name.len()..].trim_start();
            }
            let from = at + p.value_at + (p.value.len() - value.len());
            if value.is_empty() || value.starts_with(['|', '>']) {
                if named {
                    block_under = Some(p.key_col);
                }
                continue;
            }
            if value.starts_with(['{', '[']) {
                // `webhook:` alone is the receiver type; its URL is checked as a scalar below.
                if named && p.key != "webhook" && !is_reference(value) {
                    mask(from, from + flow_len(value));
                }
                continue;
            }
            if value.starts_with('*') || value.starts_with('/') && !value.starts_with("//") {
                continue;
            }
            let len = scalar_len(value);
            if named || crate::check::secrets::classify(value[..len].trim_matches(['"', '\''])).is_some() {
                mask(from, from + len);
            }
        }
    }
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

#[cfg(test)]
mod tests {
    use super::credentials;

    fn shown(text: &str) -> String {
        credentials(text, 400)
    }

    #[test]
    fn scalars_flows_blocks_and_anchors() {
        let cases = [
            "db: { password: hunter2x }",
            "db: { password: { value: \"hunter2x\" } }",
            "db: { password: [\"hunter2x\"] }",
            "pasword: |\n  hunter2x\n  more\nnext: 1",
            "password:\n  - hunter2x\nnext: 1",
            "password:\n- hunter2x\nnext: 1",
            "x-secret: &pw hunter2x\ndb: { password: *pw }",
            "x-db: &pw hunter2x\ndb: { password: *pw }",
            "host: https://user:hunter2x@db.example",
            "password = \"hunter2x\"",
            "[db]\npasword = 'hunter2x'",
            "a: 1\rpassword: hunter2x\rb: 2",
            "x: 1 # ghp_hunter2xAbCdEfGhIjKlMnOpQrStUvWxYz0123",
            "# github_pat_11ABCDEFG0hunter2x_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRS",
        ];
        for text in cases {
            let out = shown(text);
            assert!(!out.contains("hunter2x"), "{text:?} -> {out:?}");
            assert_eq!(out.len(), text.len());
            assert_eq!(out.matches('\n').count(), text.matches('\n').count());
        }
    }

    #[test]
    fn references_and_other_values_stay() {
        let cases = [
            "password: { env: PGPASSWORD }",
            "password: { file: /run/secrets/pg }",
            "password:\n  env: PGPASSWORD",
            "pasword: |\n  x\nnext: kept",
            "x: &a kept\ny: *a",
            "hook: { webhook: { url: http://api:8000/internal/alerts } }",
        ];
        for text in cases {
            let out = shown(text);
            for word in ["PGPASSWORD", "/run/secrets/pg", "kept", "http://api:8000/internal/alerts"] {
                assert_eq!(out.contains(word), text.contains(word), "{text:?} -> {out:?}");
            }
        }
    }
}

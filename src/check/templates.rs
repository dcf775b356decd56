//! The annotations of the user's own rules are Go templates that Prometheus parses when it
//! loads the rule file (`{{ $labels.instance }}`, `{{ $value | humanize }}`): a template it
//! cannot parse makes Prometheus refuse the whole file, every alert of the stack with it.
//!
//! This is the parse Prometheus does, in the parts a summary can get wrong: every action closed
//! (`{{ … }}`, with `{{-`/`-}}` trimming and `{{/* comments */}}`), strings closed, every
//! function one that Go's text/template or Prometheus defines (read from
//! prometheus/template/template.go, v3.13), every variable defined (Prometheus defines `$labels`,
//! `$externalLabels`, `$externalURL` and `$value` before the text; `$x := …` defines more), and
//! `if`/`range`/`with`/`define`/`block` each closed by one `end`.

use super::Ctx;
use crate::code::Code;
use crate::diagnostic::{Diagnostic, Sink};

/// Functions an annotation may call: Go's text/template built-ins, then Prometheus's
/// (`template.NewTemplateExpander`'s function map).
const FUNCTIONS: &[&str] = &[
    "and",
    "call",
    "html",
    "index",
    "slice",
    "js",
    "len",
    "not",
    "or",
    "print",
    "printf",
    "println",
    "urlquery",
    "eq",
    "ge",
    "gt",
    "le",
    "lt",
    "ne", // Go
    "query",
    "first",
    "label",
    "value",
    "strvalue",
    "args",
    "reReplaceAll",
    "safeHtml",
    "match",
    "title",
    "toUpper",
    "toLower",
    "graphLink",
    "tableLink",
    "sortByLabel",
    "stripPort",
    "stripDomain",
    "humanize",
    "humanize1024",
    "humanizeDuration",
    "humanizePercentage",
    "humanizeTimestamp",
    "toTime",
    "toDuration",
    "now",
    "pathPrefix",
    "externalURL",
    "parseDuration",
    "urlQueryEscape", // Prometheus
];

/// Variables Prometheus defines before an alert's annotation text.
const VARIABLES: &[&str] = &["$", "$labels", "$externalLabels", "$externalURL", "$value"];

const OPENS: &[&str] = &["if", "range", "with", "define", "block"];

/// Why a template does not parse, and the byte offset in it where.
#[derive(Debug, PartialEq, Eq)]
pub struct Problem {
    pub at: usize,
    pub message: String,
}

fn problem(at: usize, message: impl Into<String>) -> Problem {
    Problem { at, message: message.into() }
}

/// Parse `text` as Prometheus parses an annotation.
pub fn parse(text: &str) -> Result<(), Problem> {
    let mut defined: Vec<String> = VARIABLES.iter().map(|v| v.to_string()).collect();
    let mut open: Vec<(&str, usize)> = Vec::new();
    let mut rest = 0;
    while let Some(i) = text[rest..].find("{{") {
        let start = rest + i;
        let mut body_at = start + 2;
        if text[body_at..].starts_with("- ") || text[body_at..].starts_with("-\t") || text[body_at..].starts_with("-\n")
        {
            body_at += 1;
        }
        // A comment runs to `*/`, which `}}` must follow at once (`}}` inside it is text).
        if text[body_at..].starts_with("/*") {
            let close =
                text[body_at..].find("*/").ok_or_else(|| problem(start, "a comment `{{/* … */}}` is not closed"))?;
            let after = &text[body_at + close + 2..];
            let after_trim = after.strip_prefix(" -").unwrap_or(after);
            if !after_trim.starts_with("}}") {
                return Err(problem(start, "a comment must end with `*/}}`"));
            }
            rest = body_at + close + 2 + (after.len() - after_trim.len()) + 2;
            continue;
        }
        let body_end = action_end(text, body_at).ok_or_else(|| problem(start, "`{{` is never closed by `}}`"))?;
        let mut body = &text[body_at..body_end];
        if let Some(b) = body.strip_suffix('-').filter(|b| b.ends_with([' ', '\t', '\n'])) {
            body = b;
        }
        rest = body_end + 2;
        let tokens = tokens(body).map_err(|(at, m)| problem(body_at + at, m))?;
        let Some((first, _)) = tokens.first() else { return Err(problem(start, "an empty action `{{ }}`")) };
        match *first {
            "end" => {
                open.pop().ok_or_else(|| problem(start, "`{{ end }}` closes nothing"))?;
            }
            "else" if !open.last().is_some_and(|(k, _)| matches!(*k, "if" | "range" | "with")) => {
                return Err(problem(start, "`{{ else }}` outside `if`, `range` or `with`"));
            }
            "else" => {}
            k if OPENS.contains(&k) => open.push((k, start)),
            _ => {}
        }
        // `$x := …` and `range $i, $v := …` declare the variables before `:=`.
        let declaring = tokens.iter().position(|(t, _)| *t == ":=").unwrap_or(0);
        for (i, (t, at)) in tokens.iter().enumerate() {
            let at = body_at + at;
            if let Some(var) = t.strip_prefix('$') {
                let name = format!("${}", var.split('.').next().unwrap_or(""));
                if i < declaring {
                    defined.push(name);
                } else if !defined.contains(&name) {
                    return Err(problem(at, format!("undefined variable `{name}`")));
                }
            } else if t.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
                let keyword = matches!(
                    *t,
                    "if" | "else"
                        | "end"
                        | "range"
                        | "with"
                        | "define"
                        | "template"
                        | "block"
                        | "break"
                        | "continue"
                        | "nil"
                        | "true"
                        | "false"
                );
                if !keyword && !FUNCTIONS.contains(t) {
                    return Err(problem(at, format!("function `{t}` not defined")));
                }
            }
        }
    }
    match open.last() {
        Some((k, at)) => Err(problem(*at, format!("`{{{{ {k} }}}}` is never closed by `{{{{ end }}}}`"))),
        None => Ok(()),
    }
}

/// Where the action whose body starts at `from` ends (the offset of its `}}`), skipping `}}` in
/// strings.
fn action_end(text: &str, from: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut i = from;
    while i < bytes.len() {
        match bytes[i] {
            b'"' | b'\'' | b'`' => i = skip_quoted(text, i)?,
            b'}' if bytes.get(i + 1) == Some(&b'}') => return Some(i),
            _ => i += 1,
        }
    }
    None
}

/// The offset after the quoted string (or character) starting at `i`; `None` if unclosed.
fn skip_quoted(text: &str, i: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let q = bytes[i];
    let mut j = i + 1;
    while j < bytes.len() {
        match bytes[j] {
            b'\\' if q != b'`' => j += 2,
            b'\n' if q != b'`' => return None,
            c if c == q => return Some(j + 1),
            _ => j += 1,
        }
    }
    None
}

/// The words of an action: identifiers, variables (with their fields), fields, numbers,
/// strings, and the punctuation `|`, `(`, `)`, `,`, `:=`, `=`.
fn tokens(body: &str) -> Result<Vec<(&str, usize)>, (usize, String)> {
    let bytes = body.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        match c {
            b' ' | b'\t' | b'\n' | b'\r' => {
                i += 1;
                continue;
            }
            b'"' | b'\'' | b'`' => {
                i = skip_quoted(body, i).ok_or((start, "a string is not closed".to_string()))?;
            }
            b'|' | b'(' | b')' | b',' | b'=' => i += 1,
            b':' if bytes.get(i + 1) == Some(&b'=') => i += 2,
            b'$' | b'.' => {
                i += 1;
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] == b'.') {
                    i += 1;
                }
            }
            c if c.is_ascii_alphanumeric() || c == b'_' || c == b'-' || c == b'+' => {
                i += 1;
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric() || matches!(bytes[i], b'_' | b'.' | b'+' | b'-'))
                {
                    i += 1;
                }
                let word = &body[start..i];
                let numeric = word.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '+');
                if !numeric && word.contains(['.', '+', '-']) {
                    return Err((start, format!("`{word}` is not a name, a field or a number")));
                }
            }
            _ => {
                let ch = body[i..].chars().next().unwrap_or('?');
                return Err((start, format!("unexpected `{ch}` in an action")));
            }
        }
        out.push((&body[start..i], start));
    }
    Ok(out)
}

pub fn check(ctx: &Ctx, sink: &mut Sink) {
    let Some(a) = &ctx.manifest.alerting else { return };
    for (i, r) in a.rules.iter().enumerate() {
        let fields = [("summary", Some(&r.summary)), ("description", r.description.as_ref())];
        for (field, text) in fields {
            let Some(text) = text else { continue };
            if let Err(p) = parse(text) {
                sink.push(
                    Diagnostic::error(
                        Code::AnnotationTemplate,
                        format!("the {field} of rule `{}` is a template Prometheus cannot parse", r.alert),
                    )
                    .at(ctx.value(["alerting", "rules", &i.to_string(), field]))
                    .label(format!("{} (at character {})", p.message, text[..p.at].chars().count() + 1))
                    .help(
                        "annotations are Go templates: close every `{{` with `}}`, use `$labels.<name>`, `$value` and \
                         Prometheus's functions (`humanize`, …); write a literal `{{` as `{{ \"{{\" }}`",
                    ),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn what_prometheus_parses() {
        for ok in [
            "plain text, no action",
            "{{ $labels.instance }} is down",
            "{{ $value | humanize }} requests per second on {{ $labels.service }}",
            "{{- $labels.job -}} at {{ printf \"%.2f\" $value }}",
            "{{ if gt $value 1.0 }}high{{ else }}low{{ end }}",
            "{{ range $i, $l := $labels }}{{ $i }}={{ $l }}{{ end }}",
            "{{ $x := 5 }}{{ $x }}",
            "{{/* a comment }} */}}",
            "{{ \"}}\" }} and {{ `{{` }}",
            "{{ with query \"up\" }}{{ . | first | value | humanize }}{{ end }}",
            "{{ $externalURL }}/graph {{ .Labels.job }} {{ -1 }}",
        ] {
            assert_eq!(parse(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn what_prometheus_refuses() {
        for (bad, why) in [
            ("{{ $labels.instance }} is {{ down", "never closed"),
            ("{{ down }}", "function `down`"),
            ("{{ $labelz.instance }}", "undefined variable `$labelz`"),
            ("{{ if $value }}x", "never closed by"),
            ("x {{ end }}", "closes nothing"),
            ("{{ else }}", "outside"),
            ("{{ \"unclosed }}", "never closed"),
            ("{{ }}", "empty action"),
            ("{{ $value ; }}", "unexpected `;`"),
            ("{{/* open }}", "not closed"),
        ] {
            let p = parse(bad).expect_err(bad);
            assert!(p.message.contains(why), "{bad}: {}", p.message);
        }
    }
}

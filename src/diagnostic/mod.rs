//! Diagnostics: what a check found, where, and what to do about it; the sink that collects
//! them; and the three renderings (human via miette, JSON lines, GitHub annotations).
//!
//! A diagnostic carries a byte span into the manifest and never a copy of a secret: checks
//! that look at secret fields describe the field, not its value.

use crate::code::Code;
use crate::source::{SourceFile, Span};
use serde::Serialize;

mod mask;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    /// Information that never fails a build, not even with `--deny-warnings` (what the platform
    /// does not generate yet, SL903; a login it cannot set, SL907).
    Note,
}

/// A secondary place that explains the primary one (e.g. the first definition of a duplicate).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Related {
    pub span: Span,
    pub label: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub code: Code,
    pub severity: Severity,
    pub message: String,
    /// The offending value; `None` for problems of the file as a whole.
    pub span: Option<Span>,
    /// A short label drawn under the span.
    pub label: Option<String>,
    pub help: Option<String>,
    pub related: Vec<Related>,
    /// For a finding about the output directory (SL8xx): the file, how it differs, the diff.
    pub output: Option<Box<OutputFile>>,
}

/// A file of the output directory that a finding is about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OutputFile {
    /// Its path, the output directory included.
    pub path: String,
    /// `missing`, `changed`, `edited`, `stale`, `leftover`, or `foreign` (not sightline's, in
    /// the way of a build).
    pub status: &'static str,
    /// The unified diff from the file on disk to the planned one (empty for a leftover).
    pub diff: String,
}

impl Diagnostic {
    pub fn error(code: Code, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            severity: Severity::Error,
            message: message.into(),
            span: None,
            label: None,
            help: None,
            related: Vec::new(),
            output: None,
        }
    }

    pub fn warning(code: Code, message: impl Into<String>) -> Self {
        Diagnostic { severity: Severity::Warning, ..Diagnostic::error(code, message) }
    }

    pub fn note(code: Code, message: impl Into<String>) -> Self {
        Diagnostic { severity: Severity::Note, ..Diagnostic::error(code, message) }
    }

    pub fn at(mut self, span: Span) -> Self {
        self.span = Some(span);
        self
    }

    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// A help line naming the closest of `candidates` when `word` looks like a typo of one of
    /// them, else `otherwise`.
    pub fn help_suggesting(self, word: &str, candidates: &[String], otherwise: impl Into<String>) -> Self {
        match did_you_mean(word, candidates) {
            Some(s) => self.help(format!("did you mean `{s}`?")),
            None => self.help(otherwise),
        }
    }

    pub fn related(mut self, span: Span, label: impl Into<String>) -> Self {
        self.related.push(Related { span, label: label.into() });
        self
    }
}

/// The closest candidate by edit distance (insertions, deletions, substitutions and swaps of
/// neighbours), when it is close enough to be a typo. A candidate whose length alone puts it
/// too far is not compared, so 45,000 unknown keys stay cheap.
pub fn did_you_mean(word: &str, candidates: &[String]) -> Option<String> {
    let len = word.chars().count();
    candidates
        .iter()
        .filter(|c| c.chars().count().abs_diff(len) <= 2.max(c.len() / 3))
        // An edit changes at most two letters of the words' letter counts: a candidate that
        // differs in more than twice the distance allowed is not measured (thousands of unknown
        // keys are checked against every field).
        .filter(|c| !(word.is_ascii() && c.is_ascii()) || bag_difference(word, c) <= 2 * 2.max(c.len() / 3))
        .map(|c| (strsim::osa_distance(word, c), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c.clone())
}

/// How much the two words' byte counts differ, summed: for ASCII words, at most twice their
/// edit distance (a substitution changes two counts, an insertion or deletion one, a
/// transposition none).
fn bag_difference(a: &str, b: &str) -> usize {
    let mut counts = [0i32; 256];
    for x in a.bytes() {
        counts[x as usize] += 1;
    }
    for x in b.bytes() {
        counts[x as usize] -= 1;
    }
    // Each byte's difference once: read where either word has it, then cleared.
    let mut sum = 0;
    for x in a.bytes().chain(b.bytes()) {
        sum += counts[x as usize].unsigned_abs() as usize;
        counts[x as usize] = 0;
    }
    sum
}

/// Where checks put what they find. Checks never stop at the first problem.
#[derive(Debug, Default)]
pub struct Sink {
    items: Vec<Diagnostic>,
}

impl Sink {
    pub fn new() -> Self {
        Sink::default()
    }

    pub fn push(&mut self, d: Diagnostic) {
        self.items.push(d);
    }

    pub fn extend(&mut self, ds: impl IntoIterator<Item = Diagnostic>) {
        self.items.extend(ds);
    }

    pub fn has_errors(&self) -> bool {
        self.items.iter().any(|d| d.severity == Severity::Error)
    }

    /// The diagnostics in the order they were found.
    pub fn into_items(self) -> Vec<Diagnostic> {
        self.items
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// What the diagnostics so far point at, to ask whether one covers a span (so one mistake
    /// found by the structural schema and by the value parser is reported once).
    pub fn cover(&self) -> Cover {
        Cover::new(self.items.iter().filter_map(|d| d.span))
    }

    /// The diagnostics in source order (then by code), duplicates removed.
    pub fn into_sorted(mut self) -> Vec<Diagnostic> {
        self.items.sort_by(|a, b| {
            let ka = a.span.map_or((0, 0), |s| (s.start, s.end));
            let kb = b.span.map_or((0, 0), |s| (s.start, s.end));
            ka.cmp(&kb).then(a.code.cmp(&b.code)).then(a.message.cmp(&b.message))
        });
        self.items.dedup();
        self.items
    }
}

/// A set of spans that answers "does one of them contain this span?" in logarithmic time: the
/// spans sorted by start, with the furthest end reached so far.
pub struct Cover {
    starts: Vec<usize>,
    max_end: Vec<usize>,
}

impl Cover {
    pub fn new(spans: impl Iterator<Item = Span>) -> Cover {
        let mut v: Vec<Span> = spans.collect();
        v.sort();
        let mut furthest = 0;
        let max_end = v
            .iter()
            .map(|s| {
                furthest = furthest.max(s.end);
                furthest
            })
            .collect();
        Cover { starts: v.iter().map(|s| s.start).collect(), max_end }
    }

    /// Whether some span starts at or before `span` and ends at or after it.
    pub fn covers(&self, span: Span) -> bool {
        let n = self.starts.partition_point(|s| *s <= span.start);
        n > 0 && self.max_end[n - 1] >= span.end
    }
}

/// How diagnostics are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Human,
    Json,
    Github,
}

/// Render diagnostics for a file. `color` applies to the human format only.
pub fn render(source: &SourceFile, diags: &[Diagnostic], format: Format, color: bool) -> String {
    let all = diags;
    match format {
        Format::Human => {
            // Nothing from the manifest reaches the terminal as a control sequence (a window
            // title, the clipboard through OSC 52, a cleared screen): the snippet and every
            // message are made printable first, byte for byte, so spans still point right.
            // Credentials by their keys first, while aliases still name their anchors.
            let masked = mask_secrets(&mask::credentials(source.text(), MAX_SNIPPET_LINE), diags);
            let shown = source.with_text(printable(&masked));
            let diags: Vec<Diagnostic> = rendered(diags)
                .into_iter()
                .map(|d| Diagnostic {
                    message: printable(&d.message),
                    label: d.label.as_deref().map(printable),
                    help: d.help.as_deref().map(printable),
                    related: d.related.iter().map(|r| Related { span: r.span, label: printable(&r.label) }).collect(),
                    ..d.clone()
                })
                .collect();
            let mut out = render_human(&shown, &diags, color);
            out.push_str(&summary(&source.name, all));
            out
        }
        Format::Json => render_json(source, diags),
        Format::Github => render_github(source, diags),
    }
}

/// A text as sightline may show it (a diff of generated files, which a hand edit may have
/// filled with a password): credentials masked as in snippets, lines too long to scan
/// replaced by their length, control characters as `?`.
pub fn shown(text: &str) -> String {
    let mut short = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        if line.len() > MAX_SHOWN_LINE {
            short.push_str(&format!("({} bytes on one line, not shown)\n", line.len()));
        } else {
            short.push_str(line);
        }
    }
    printable(&mask::credentials(&short, MAX_SHOWN_LINE))
}

/// The longest line of a file that `shown` shows.
const MAX_SHOWN_LINE: usize = 4096;

/// The longest line shown as a source snippet.
const MAX_SNIPPET_LINE: usize = 400;

/// Control characters (C0 but newline, tab and carriage return; DEL; C1) as `?`, one per byte,
/// so that byte offsets into the text stay valid.
pub fn printable(s: &str) -> String {
    // Most text has no byte a control character can start with (C1 controls start with 0xC2):
    // copied as it is.
    let suspect = |b: &u8| (*b < 0x20 && !matches!(*b, b'\n' | b'\t' | b'\r')) || *b == 0x7f || *b == 0xC2;
    if !s.as_bytes().iter().any(suspect) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let control = (c.is_control() && !matches!(c, '\n' | '\t' | '\r')) || c == '\u{7f}';
        if control {
            out.extend(std::iter::repeat_n('?', c.len_utf8()));
        } else {
            out.push(c);
        }
    }
    out
}

/// The source text with every value that a secrets diagnostic points at overwritten by `*`, so
/// that no snippet (of that diagnostic or of another on the same line) shows it. Byte offsets
/// and line breaks are kept: each other byte becomes one `*`.
fn mask_secrets(text: &str, diags: &[Diagnostic]) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for d in diags.iter().filter(|d| d.code.is_secret()) {
        if let Some(s) = d.span {
            for b in bytes.iter_mut().take(s.end.min(text.len())).skip(s.start) {
                if !matches!(*b, b'"' | b'\'' | b'\n' | b'\r') {
                    *b = b'*';
                }
            }
        }
    }
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

fn render_human(source: &SourceFile, diags: &[Diagnostic], color: bool) -> String {
    use miette::{GraphicalReportHandler, GraphicalTheme};
    let theme = if color { GraphicalTheme::unicode() } else { GraphicalTheme::unicode_nocolor() };
    let handler = GraphicalReportHandler::new_themed(theme).with_width(100).with_links(false);
    let mut out = String::new();
    let named = Snippets { source };
    for d in diags {
        // A snippet of a huge line (a minified or hostile file) helps nobody: show the position.
        let huge_line = d.span.is_some_and(|s| source.lines().len_at(source.text(), s.start) > MAX_SNIPPET_LINE);
        let located;
        let d = if huge_line {
            let (line, col) = source.line_col(d.span.map_or(0, |s| s.start));
            located = Diagnostic {
                span: None,
                related: Vec::new(),
                message: format!("{} (at {}:{line}:{col})", d.message, source.name),
                ..d.clone()
            };
            &located
        } else {
            d
        };
        let report = MietteDiagnostic { source, named: &named, diag: d };
        if handler.render_report(&mut out, &report).is_err() {
            out.push_str(&format!("{}[{}]: {}\n", severity_word(d.severity), d.code, d.message));
        }
        out.push('\n');
    }
    out
}

/// How many diagnostics a human sees in full: past that, a file with thousands of problems (a
/// hostile or generated one) would bury the first ones, which are the ones to fix first.
const MAX_RENDERED: usize = 200;

/// The diagnostics a human sees in full, in their order: all of them up to the cap; past it,
/// the errors first, then the earliest warnings (hundreds of warnings must not hide an error).
fn rendered(diags: &[Diagnostic]) -> Vec<&Diagnostic> {
    let errors = diags.iter().filter(|d| d.severity == Severity::Error).count().min(MAX_RENDERED);
    let (mut errors_left, mut warnings_left) = (errors, MAX_RENDERED - errors);
    diags
        .iter()
        .filter(|d| {
            let left = if d.severity == Severity::Error { &mut errors_left } else { &mut warnings_left };
            let shown = *left > 0;
            *left = left.saturating_sub(1);
            shown
        })
        .collect()
}

/// The last lines of a human report: the diagnostics not shown, and the count of each severity.
fn summary(name: &str, diags: &[Diagnostic]) -> String {
    let mut out = String::new();
    if diags.len() > MAX_RENDERED {
        out.push_str(&format!(
            "({} more not shown: {MAX_RENDERED} are, errors first; `--format json` lists them all)\n\n",
            diags.len() - MAX_RENDERED
        ));
    }
    let count = |s: Severity| diags.iter().filter(|d| d.severity == s).count();
    let (errors, warnings, notes) = (count(Severity::Error), count(Severity::Warning), count(Severity::Note));
    if !diags.is_empty() {
        out.push_str(&format!(
            "{}: {} error{}, {} warning{}",
            name,
            errors,
            if errors == 1 { "" } else { "s" },
            warnings,
            if warnings == 1 { "" } else { "s" }
        ));
        if notes > 0 {
            out.push_str(&format!(", {notes} note{}", if notes == 1 { "" } else { "s" }));
        }
        out.push('\n');
    }
    out
}

/// The source as miette reads it for a snippet: only the lines around the span are handed to
/// miette's own reader, found through the line index, so each snippet costs its own few lines
/// whatever the size of the file (miette scans from the start of the text otherwise).
struct Snippets<'a> {
    source: &'a SourceFile,
}

impl miette::SourceCode for Snippets<'_> {
    fn read_span<'b>(
        &'b self,
        span: &miette::SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn miette::SpanContents<'b> + 'b>, miette::MietteError> {
        let (text, lines) = (self.source.text(), self.source.lines());
        let first = lines.line(span.offset().min(text.len()));
        let last = lines.line((span.offset() + span.len()).saturating_sub(1).min(text.len()));
        let from_line = first.saturating_sub(before);
        // One line more than miette reads after the span, so it stops where it would have.
        let to = lines.start(last + after + 2).unwrap_or(text.len());
        let from = lines.start(from_line).unwrap_or(text.len());
        let window = &text.as_bytes()[from..to];
        let inner = miette::SourceCode::read_span(
            window,
            &miette::SourceSpan::new((span.offset() - from).into(), span.len()),
            before,
            after,
        )?;
        Ok(Box::new(miette::MietteSpanContents::new_named(
            self.source.name.clone(),
            inner.data(),
            miette::SourceSpan::new((inner.span().offset() + from).into(), inner.span().len()),
            inner.line() + from_line,
            inner.column(),
            inner.line_count() + from_line,
        )))
    }
}

fn severity_word(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "note",
    }
}

#[derive(Serialize)]
struct JsonDiagnostic<'a> {
    file: &'a str,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
    code: &'a str,
    severity: Severity,
    message: &'a str,
    help: Option<&'a str>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    output: Option<&'a OutputFile>,
}

fn position(source: &SourceFile, d: &Diagnostic) -> ((usize, usize), (usize, usize)) {
    match d.span {
        Some(s) => (source.line_col(s.start), source.line_col(s.end)),
        None => ((1, 1), (1, 1)),
    }
}

fn render_json(source: &SourceFile, diags: &[Diagnostic]) -> String {
    let mut out = String::new();
    for d in diags {
        let ((line, column), (end_line, end_column)) = position(source, d);
        let j = JsonDiagnostic {
            file: &source.name,
            line,
            column,
            end_line,
            end_column,
            code: d.code.as_str(),
            severity: d.severity,
            message: &d.message,
            help: d.help.as_deref(),
            output: d.output.as_deref(),
        };
        out.push_str(&serde_json::to_string(&j).unwrap_or_default());
        out.push('\n');
    }
    out
}

/// GitHub workflow commands: `::error file=…,line=…,col=…,title=…::message`.
fn render_github(source: &SourceFile, diags: &[Diagnostic]) -> String {
    let mut out = String::new();
    for d in diags {
        let ((line, col), (end_line, end_col)) = position(source, d);
        let mut msg = d.message.clone();
        if let Some(h) = &d.help {
            msg.push_str("\nhelp: ");
            msg.push_str(h);
        }
        out.push_str(&format!(
            "::{} file={},line={},col={},endLine={},endColumn={},title={}::{}\n",
            match d.severity {
                Severity::Note => "notice",
                s => severity_word(s),
            },
            escape_property(&source.name),
            line,
            col,
            end_line,
            end_col,
            escape_property(&format!("{} {}", d.code, d.code.summary())),
            escape_data(&msg)
        ));
    }
    out
}

/// A text as the data of a GitHub workflow command (after `::`): one line, `%` escaped.
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// Adapts a [`Diagnostic`] to miette for the graphical rendering.
struct MietteDiagnostic<'a> {
    source: &'a SourceFile,
    /// The same text with the file name, so snippets are headed `[file:line:col]`.
    named: &'a Snippets<'a>,
    diag: &'a Diagnostic,
}

impl std::fmt::Debug for MietteDiagnostic<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.diag.message)
    }
}

impl std::fmt::Display for MietteDiagnostic<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.diag.message)
    }
}

impl std::error::Error for MietteDiagnostic<'_> {}

impl miette::Diagnostic for MietteDiagnostic<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn std::fmt::Display + 'b>> {
        Some(Box::new(self.diag.code.as_str()))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.diag.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
            Severity::Note => miette::Severity::Advice,
        })
    }

    fn help<'b>(&'b self) -> Option<Box<dyn std::fmt::Display + 'b>> {
        self.diag.help.as_ref().map(|h| Box::new(h) as Box<dyn std::fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.diag.span.map(|_| self.named as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        let span = self.diag.span?;
        let text_len = self.source.text().len();
        let clamp = |s: Span| {
            let start = s.start.min(text_len);
            (start, s.end.min(text_len) - start)
        };
        let mut labels = vec![miette::LabeledSpan::new_primary_with_span(self.diag.label.clone(), clamp(span))];
        for r in &self.diag.related {
            labels.push(miette::LabeledSpan::new_with_span(Some(r.label.clone()), clamp(r.span)));
        }
        Some(Box::new(labels.into_iter()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_letter_count_bound_never_hides_a_suggestion() {
        // The bound holds for every pair of words: the letter counts differ by at most twice
        // the edit distance, so no candidate within reach is skipped.
        let words = "version verison vresion services servcies alerting alertnig k000123 stack stak jobs job \
                     backups bakcups network netwrok deny_warnings deny-warnings x héllo hello logs lgos receivers recievers";
        let words: Vec<&str> = words.split_whitespace().chain([""]).collect();
        for &a in &words {
            for &b in &words {
                if a.is_ascii() && b.is_ascii() {
                    assert!(bag_difference(a, b) <= 2 * strsim::osa_distance(a, b), "{a} {b}");
                }
            }
            let candidates: Vec<String> = words.iter().map(|w| w.to_string()).filter(|w| w != a).collect();
            let measured = candidates
                .iter()
                .filter(|c| c.chars().count().abs_diff(a.chars().count()) <= 2.max(c.len() / 3))
                .map(|c| (strsim::osa_distance(a, c), c))
                .filter(|(d, c)| *d <= 2.max(c.len() / 3))
                .min_by_key(|(d, _)| *d)
                .map(|(_, c)| c.clone());
            assert_eq!(did_you_mean(a, &candidates), measured, "{a}");
        }
    }

    #[test]
    fn github_escapes_newlines_and_commas() {
        let src = SourceFile::new("a,b.yaml", "x: 1\n");
        let d = Diagnostic::error(Code::WrongType, "bad\nthing").at(Span::new(3, 4));
        let out = render(&src, &[d], Format::Github, false);
        assert_eq!(
            out,
            "::error file=a%2Cb.yaml,line=1,col=4,endLine=1,endColumn=5,title=SL004 a value of the wrong type::bad%0Athing\n"
        );
    }

    #[test]
    fn json_has_position_and_code() {
        let src = SourceFile::new("s.yaml", "a: 1\nb: 2\n");
        let d = Diagnostic::warning(Code::UnpinnedImage, "m").at(Span::new(8, 9)).help("h");
        let out = render(&src, &[d], Format::Json, false);
        let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(v["line"], 2);
        assert_eq!(v["column"], 4);
        assert_eq!(v["code"], "SL601");
        assert_eq!(v["severity"], "warning");
        assert_eq!(v["help"], "h");
    }
}

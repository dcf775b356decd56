//! Printing: where each kind of output goes, and whether it is coloured.
//!
//! Human diagnostics go to stderr; JSON and GitHub diagnostics go to stdout, for piping.
//! Colour is used on a terminal unless NO_COLOR is set (or `--color` says otherwise).

use crate::diagnostic::{Diagnostic, Format, render};
use crate::source::SourceFile;
use std::io::{IsTerminal, Write};

pub struct Output {
    pub format: Format,
    color: Option<bool>,
    /// `--deny-warnings`: every warning counts as an error.
    pub deny_warnings: bool,
}

impl Output {
    pub fn new(format: Format, color: Option<bool>) -> Self {
        Output { format, color, deny_warnings: false }
    }

    fn color_on_stderr(&self) -> bool {
        self.color.unwrap_or_else(|| {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stderr().is_terminal()
        })
    }

    pub fn diagnostics(&self, source: &SourceFile, diags: &[Diagnostic]) {
        if diags.is_empty() {
            return;
        }
        match self.format {
            Format::Human => self.stderr(&render(source, diags, Format::Human, self.color_on_stderr())),
            f => self.stdout(&render(source, diags, f, false)),
        }
    }

    /// What sightline prints on stdout (diffs, graphs, routes, machine formats) never carries a
    /// control character from the manifest or the disk to the terminal: shown as `?`.
    pub fn stdout(&self, s: &str) {
        let mut o = std::io::stdout().lock();
        let _ = o.write_all(crate::diagnostic::printable(s).as_bytes());
        let _ = o.flush();
    }

    pub fn stderr(&self, s: &str) {
        let mut e = std::io::stderr().lock();
        let _ = e.write_all(s.as_bytes());
        let _ = e.flush();
    }

    /// Markdown for the GitHub Actions job summary: appended to the file `GITHUB_STEP_SUMMARY`
    /// names, when it names one (a run outside Actions has none).
    pub fn job_summary(&self, markdown: &str) {
        let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) else { return };
        let appended = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(&path)
            .and_then(|mut f| f.write_all(crate::diagnostic::printable(markdown).as_bytes()));
        if let Err(e) = appended {
            self.error(&format!("cannot write the job summary to {}: {e}", std::path::Path::new(&path).display()));
        }
    }

    /// A one-line message that the tool could not do its job.
    pub fn error(&self, msg: &str) {
        self.stderr(&format!("error: {msg}\n"));
    }

    /// A one-line status message (human format only; machine formats stay clean).
    pub fn note(&self, msg: &str) {
        if self.format == Format::Human {
            self.stderr(&format!("{msg}\n"));
        }
    }
}

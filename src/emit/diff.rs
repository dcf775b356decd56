//! Unified diffs of drift, as `git diff` shows them: `a/` is what is on disk, `b/` what the
//! manifest generates. Control characters are shown as `?`: a file on disk never reaches the
//! terminal as an escape sequence; credentials (a password a hand edit put into a generated
//! file) are masked, as in diagnostics, so no diff prints one to a CI log.

use super::drift::Change;
use similar::TextDiff;

/// A path of the output directory as sightline shows it: `out_dir/rel` (just `rel` for `.`).
pub fn display_path(out_dir: &str, rel: &str) -> String {
    if out_dir.is_empty() || out_dir == "." {
        rel.to_string()
    } else {
        format!("{}/{rel}", out_dir.trim_end_matches('/'))
    }
}

/// Render every change as a unified diff (3 lines of context).
pub fn render(changes: &[Change], out_dir: &str) -> String {
    let mut s = String::new();
    for c in changes {
        let path = crate::diagnostic::printable(&display_path(out_dir, c.path()));
        let (old, new, old_name, new_name) = match c {
            Change::Missing { planned, .. } => {
                (String::new(), planned.clone(), "/dev/null".to_string(), format!("b/{path}"))
            }
            Change::Changed { planned, on_disk, .. } => (
                String::from_utf8_lossy(on_disk).into_owned(),
                planned.clone(),
                format!("a/{path}"),
                format!("b/{path}"),
            ),
            Change::Stale { on_disk, .. } => (
                String::from_utf8_lossy(on_disk).into_owned(),
                String::new(),
                format!("a/{path}"),
                "/dev/null".to_string(),
            ),
            // Half-written bytes of a killed build: named, not shown.
            Change::Leftover { .. } => {
                s.push_str(&format!("left by an interrupted build (the next `sightline build` removes it): {path}\n"));
                continue;
            }
        };
        let (old, new) = (crate::diagnostic::shown(&old), crate::diagnostic::shown(&new));
        s.push_str(&format!("diff --sightline a/{path} b/{path}\n"));
        let diff = TextDiff::from_lines(&old, &new);
        s.push_str(&diff.unified_diff().context_radius(3).header(&old_name, &new_name).to_string());
        if !s.ends_with('\n') {
            s.push('\n');
        }
    }
    s
}

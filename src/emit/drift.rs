//! Drift: how the files on disk differ from the plan. A file is missing (planned, not on
//! disk), changed (on disk with other bytes) or stale (in the lock on disk, no longer planned,
//! still present).

use super::{IoError, Plan, lock, plan::LOCK_FILE, read_in};
use std::path::Path;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    Missing { path: String, planned: String },
    Changed { path: String, planned: String, on_disk: Vec<u8> },
    Stale { path: String, on_disk: Vec<u8> },
}

impl Change {
    pub fn path(&self) -> &str {
        match self {
            Change::Missing { path, .. } | Change::Changed { path, .. } | Change::Stale { path, .. } => path,
        }
    }
}

/// Compare the plan with the output directory.
pub fn drift(plan: &Plan, out: &Path) -> Result<Vec<Change>, IoError> {
    let mut changes = Vec::new();
    for (path, planned) in &plan.files {
        match read_in(out, path)? {
            None => changes.push(Change::Missing { path: path.clone(), planned: planned.clone() }),
            Some(b) if b != planned.as_bytes() => {
                changes.push(Change::Changed { path: path.clone(), planned: planned.clone(), on_disk: b })
            }
            Some(_) => {}
        }
    }
    let old_lock = read_in(out, LOCK_FILE)?
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|t| lock::parse(&t))
        .unwrap_or_default();
    for path in old_lock.keys() {
        if plan.files.contains_key(path) || !super::plan::is_safe_relative(path) {
            continue;
        }
        if let Some(b) = read_in(out, path)? {
            changes.push(Change::Stale { path: path.clone(), on_disk: b });
        }
    }
    changes.sort_by(|a, b| a.path().cmp(b.path()));
    Ok(changes)
}

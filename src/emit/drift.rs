//! Drift: how the files on disk differ from the plan. A file is missing (planned, not on
//! disk), changed (on disk with other bytes), stale (in the lock on disk, or in the intent of an
//! interrupted build, no longer planned, still present) or left over by a killed build (its
//! temporary files and its intent; the next `build` removes them).

use super::{IoError, Jail, Plan, commit, lock, plan::LOCK_FILE};
use std::path::Path;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    Missing {
        path: String,
        planned: String,
    },
    /// `edited`: the file on disk is not what the last build wrote (its hash is not the
    /// lock's): a hand edit, which `build` keeps unless `--force`.
    Changed {
        path: String,
        planned: String,
        on_disk: Vec<u8>,
        edited: bool,
    },
    Stale {
        path: String,
        on_disk: Vec<u8>,
    },
    Leftover {
        path: String,
    },
}

impl Change {
    pub fn path(&self) -> &str {
        match self {
            Change::Missing { path, .. }
            | Change::Changed { path, .. }
            | Change::Stale { path, .. }
            | Change::Leftover { path } => path,
        }
    }
}

/// Compare the plan with the output directory.
pub fn drift(plan: &Plan, out: &Path) -> Result<Vec<Change>, IoError> {
    let _reading = commit::lock_shared(out)?;
    let jail = Jail::new(out);
    let mut changes = Vec::new();
    let text = |rel| -> Result<Option<String>, IoError> { Ok(jail.read(rel)?.and_then(|b| String::from_utf8(b).ok())) };
    let locked = text(LOCK_FILE)?.and_then(|t| lock::parse(&t)).unwrap_or_default();
    for (path, planned) in &plan.files {
        match jail.read(path)? {
            None => changes.push(Change::Missing { path: path.clone(), planned: planned.clone() }),
            Some(b) if b != planned.as_bytes() => {
                let edited = path != LOCK_FILE && locked.get(path).is_some_and(|h| *h != lock::hash(&b));
                changes.push(Change::Changed { path: path.clone(), planned: planned.clone(), on_disk: b, edited })
            }
            Some(_) => {}
        }
    }
    let mut known: std::collections::BTreeSet<String> = locked.into_keys().collect();
    // The files of an interrupted build are sightline's too.
    let intent = text(commit::PENDING)?;
    if intent.is_some() {
        changes.push(Change::Leftover { path: commit::PENDING.to_string() });
    }
    known.extend(intent.and_then(|t| lock::parse_intent(&t)).unwrap_or_default().into_keys());
    changes.extend(
        commit::leftovers(&jail).into_iter().filter(|p| p != commit::PENDING).map(|path| Change::Leftover { path }),
    );
    for path in &known {
        if plan.files.contains_key(path) || !super::plan::is_safe_relative(path) {
            continue;
        }
        if let Some(b) = jail.read(path)? {
            changes.push(Change::Stale { path: path.clone(), on_disk: b });
        }
    }
    changes.sort_by(|a, b| a.path().cmp(b.path()));
    Ok(changes)
}

//! Committing a build to the output directory: every file replaced whole, the lock never
//! claiming what is not on disk, a crash at any moment recoverable without `--force`, and one
//! build at a time.
//!
//! The order, with its few syncs for the whole tree (not one per file):
//! 1. every new file is written to a temporary file in one staging directory of the output
//!    ([`STAGING`]), nothing synced yet;
//! 2. the file system is synced once (`syncfs`; elsewhere each temporary file);
//! 3. the intent ([`PENDING`]: each touched path with its hash before and after) is made
//!    durable: from here on a crash leaves files that are old or new, and the next build knows
//!    both as its own;
//! 4. the directories the new files need are made, the temporary files renamed over their
//!    targets, stale files removed, and each directory touched synced;
//! 5. the lock is renamed into place and synced, the intent and the staging directory removed.
//!
//! What a killed build leaves (the staging directory with its temporary files, the intent, the
//! directories it made for files no build now plans) is removed by the next build, and
//! reported by `build --check` meanwhile.

use super::{IoError, Jail, plan::LOCK_FILE};
use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// The new lock of a build under way: present only between steps 3 and 5.
pub const PENDING: &str = ".sightline.lock.pending";
/// Where a build stages its files before renaming them into place.
pub const STAGING: &str = ".sightline-staging";

fn io(path: &Path, error: std::io::Error) -> IoError {
    IoError { path: path.to_path_buf(), error }
}

/// An advisory lock on the output directory, held until dropped.
pub struct DirLock {
    _dir: std::fs::File,
}

/// Lock the output directory for a build (created if missing): a second build of the same
/// directory at the same time is refused, never interleaved.
pub fn lock_exclusive(out: &Path) -> Result<DirLock, IoError> {
    std::fs::create_dir_all(out).map_err(|e| io(out, e))?;
    let dir = open_dir(out).map_err(|e| io(out, e))?;
    match dir.try_lock() {
        Ok(()) => Ok(DirLock { _dir: dir }),
        Err(std::fs::TryLockError::WouldBlock) => Err(io(
            out,
            std::io::Error::other("another sightline build is writing this directory; run again when it has finished"),
        )),
        Err(std::fs::TryLockError::Error(e)) => Err(io(out, e)),
    }
}

/// Open a directory to lock it: only a directory (a FIFO given as `--out` is an error, not a
/// hang).
fn open_dir(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_DIRECTORY | libc::O_NONBLOCK);
    }
    options.open(path)
}

/// Lock the output directory for reading (`build --check`, `diff`): no build writes it while
/// it is compared. `None` when the directory does not exist.
pub fn lock_shared(out: &Path) -> Result<Option<DirLock>, IoError> {
    let dir = match open_dir(out) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(out, e)),
    };
    match dir.try_lock_shared() {
        Ok(()) => Ok(Some(DirLock { _dir: dir })),
        Err(std::fs::TryLockError::WouldBlock) => Err(io(
            out,
            std::io::Error::other("a sightline build is writing this directory; run again when it has finished"),
        )),
        Err(std::fs::TryLockError::Error(e)) => Err(io(out, e)),
    }
}

/// What a killed build left in the output directory: its staging directory and its intent.
pub fn leftovers(jail: &Jail) -> Vec<String> {
    [STAGING, PENDING]
        .into_iter()
        .filter(|name| std::fs::symlink_metadata(jail.root().join(name)).is_ok())
        .map(str::to_string)
        .collect()
}

/// Remove a killed build's staging directory (never following a link there: a link itself is
/// removed).
pub fn remove_staging(jail: &Jail) -> Result<(), IoError> {
    let dir = jail.root().join(STAGING);
    match std::fs::symlink_metadata(&dir) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(&dir).map_err(|e| io(&dir, e)),
        Ok(_) => std::fs::remove_file(&dir).map_err(|e| io(&dir, e)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io(&dir, e)),
    }
}

/// Remove the directories left empty under the output directory by files that are gone (a
/// stale file removed, or a directory a killed build made for a file no build now plans).
pub fn remove_empty_dirs<'a>(jail: &Jail, paths: impl Iterator<Item = &'a str>) -> Result<(), IoError> {
    for p in paths {
        let full = jail.path(p)?;
        remove_empty_parents(jail.root(), &full);
    }
    Ok(())
}

/// What to commit: files to write (relative path, bytes; the lock among them), files to
/// remove, and the intent (`lock::render_intent`): every hash each of those paths may have if
/// the commit is interrupted.
pub struct Change<'a> {
    pub write: Vec<(&'a str, &'a [u8])>,
    pub remove: Vec<&'a str>,
    pub intent: String,
}

/// Commit `change` to `out` in the order of this module's documentation.
pub fn commit(jail: &Jail, change: &Change<'_>) -> Result<(), IoError> {
    let out = jail.root();
    // 1. Stage every file, the lock and the intent too, from a few threads at once (creating a
    //    file is mostly waiting on the disk).
    let staging = out.join(STAGING);
    std::fs::create_dir(&staging).map_err(|e| io(&staging, e))?;
    let targets: Vec<(PathBuf, &[u8])> =
        change.write.iter().map(|(rel, bytes)| Ok((jail.entry(rel)?, *bytes))).collect::<Result<_, IoError>>()?;
    let mut staged = stage_all(&staging, &targets)?;
    let lock = change.write.iter().position(|(rel, _)| *rel == LOCK_FILE).map(|i| staged.remove(i));
    let intent = stage(&staging, &out.join(PENDING), change.intent.as_bytes())?;
    // 2. One sync makes every staged byte durable.
    sync_staged(out, staged.iter().map(|(_, t)| t).chain(lock.iter().map(|(_, t)| t)).chain([&intent]))?;
    // 3. The intent.
    intent.persist(out.join(PENDING)).map_err(|e| io(&out.join(PENDING), e.error))?;
    sync_dir(out)?;
    // 4. Directories, files into place, stale files out, the directories touched synced.
    let mut dirs = BTreeSet::from([staging.clone()]);
    for (target, _) in &staged {
        if let Some(d) = target.parent()
            && !dirs.contains(d)
        {
            std::fs::create_dir_all(d).map_err(|e| io(d, e))?;
            dirs.insert(d.to_path_buf());
        }
    }
    jail.created();
    for (target, tmp) in staged {
        tmp.persist(&target).map_err(|e| io(&target, e.error))?;
    }
    for rel in &change.remove {
        let full = jail.entry(rel)?;
        match std::fs::remove_file(&full) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(&full, e)),
        }
        dirs.extend(remove_empty_parents(out, &full));
    }
    for d in &dirs {
        if d.exists() {
            sync_dir(d)?;
        }
    }
    // 5. The lock, then the intent and the staging directory are no longer needed.
    if let Some((target, tmp)) = lock {
        tmp.persist(&target).map_err(|e| io(&target, e.error))?;
    }
    std::fs::remove_dir_all(&staging).map_err(|e| io(&staging, e))?;
    sync_dir(out)?;
    drop_intent(out)
}

/// Remove the intent of a build whose lock is in place.
pub fn drop_intent(out: &Path) -> Result<(), IoError> {
    match std::fs::remove_file(out.join(PENDING)) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io(&out.join(PENDING), e)),
    }
}

/// Stage every target from a few threads; the results in the order of `targets`.
fn stage_all(staging: &Path, targets: &[(PathBuf, &[u8])]) -> Result<Vec<(PathBuf, tempfile::TempPath)>, IoError> {
    const THREADS: usize = 4;
    let chunk = targets.len().div_ceil(THREADS).max(1);
    std::thread::scope(|scope| {
        let running: Vec<_> = targets
            .chunks(chunk)
            .enumerate()
            .map(|(i, part)| {
                scope.spawn(move || {
                    // A directory of its own: creating files in one directory is serialised.
                    let mine = staging.join(i.to_string());
                    std::fs::create_dir(&mine).map_err(|e| io(&mine, e))?;
                    part.iter()
                        .map(|(target, bytes)| Ok((target.clone(), stage(&mine, target, bytes)?)))
                        .collect::<Result<Vec<_>, IoError>>()
                })
            })
            .collect();
        let mut all = Vec::with_capacity(targets.len());
        for h in running {
            all.extend(h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))?);
        }
        Ok(all)
    })
}

/// Write `bytes` to a temporary file in the staging directory, with the mode `target` will
/// have, unsynced.
fn stage(staging: &Path, target: &Path, bytes: &[u8]) -> Result<tempfile::TempPath, IoError> {
    let dir = staging;
    let mut tmp = tempfile::Builder::new().prefix("file-").tempfile_in(dir).map_err(|e| io(dir, e))?;
    tmp.write_all(bytes).map_err(|e| io(target, e))?;
    set_mode(tmp.as_file(), target).map_err(|e| io(target, e))?;
    Ok(tmp.into_temp_path())
}

/// Make the staged files durable: one `syncfs` of the output's file system on Linux, each file
/// elsewhere.
fn sync_staged<'a>(out: &Path, staged: impl Iterator<Item = &'a tempfile::TempPath>) -> Result<(), IoError> {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let _ = staged;
        let dir = std::fs::File::open(out).map_err(|e| io(out, e))?;
        // SAFETY: `dir` is an open descriptor for the whole call; syncfs only reads it.
        if unsafe { libc::syncfs(dir.as_raw_fd()) } != 0 {
            return Err(io(out, std::io::Error::last_os_error()));
        }
        Ok(())
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = out;
        for t in staged {
            std::fs::File::open(t).and_then(|f| f.sync_all()).map_err(|e| io(t, e))?;
        }
        Ok(())
    }
}

/// Make a directory's entries (renames, removals) durable.
fn sync_dir(dir: &Path) -> Result<(), IoError> {
    #[cfg(unix)]
    {
        std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(|e| io(dir, e))
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// Shell scripts are executable; everything else is plain 0644.
#[cfg(unix)]
fn set_mode(tmp: &std::fs::File, target: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = if target.extension().is_some_and(|e| e == "sh") { 0o755 } else { 0o644 };
    tmp.set_permissions(std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_: &std::fs::File, _: &Path) -> std::io::Result<()> {
    Ok(())
}

/// Remove the directories a removal left empty, up to the output directory; returns the
/// directories whose entries changed.
fn remove_empty_parents(out: &Path, file: &Path) -> Vec<PathBuf> {
    let mut changed = Vec::new();
    let mut dir = file.parent();
    while let Some(d) = dir {
        changed.push(d.to_path_buf());
        if d == out || !d.starts_with(out) || std::fs::remove_dir(d).is_err() {
            break;
        }
        dir = d.parent();
    }
    changed
}

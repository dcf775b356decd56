//! Reading files safely. Every file sightline reads (the manifest, the lock, the generated files
//! it compares) is opened without blocking and without following a final symlink, checked to be
//! a regular file on the open descriptor, and read with a size bound: a FIFO, a device, a socket
//! or an oversized file is an error (exit 2), never a hang or an unbounded read. Inside the
//! output directory no component of the path may be a symlink either: the directory is a jail.

use super::IoError;
use std::io::Read as _;
use std::path::{Path, PathBuf};

/// The largest file sightline reads back from the output directory. A generated file is at
/// most a few MiB (the manifest is bounded by 4 MiB); anything larger was not written by
/// sightline.
pub const MAX_GENERATED: u64 = 64 << 20;

fn io(path: &Path, error: std::io::Error) -> IoError {
    IoError { path: path.to_path_buf(), error }
}

/// Open `path` for reading if it is a regular file: `Ok(None)` when it does not exist. A final
/// symlink is followed only when `follow` (the manifest may be a link; nothing in the output
/// directory may).
fn open_regular(path: &Path, follow: bool) -> Result<Option<std::fs::File>, IoError> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    // A FIFO would block the open until a writer came.
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let nofollow = if follow { 0 } else { libc::O_NOFOLLOW };
        options.custom_flags(libc::O_NONBLOCK | nofollow | libc::O_NOCTTY);
    }
    let file = match options.open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        #[cfg(unix)]
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            return Err(io(path, std::io::Error::other("a symlink; sightline reads only regular files")));
        }
        Err(e) => return Err(io(path, e)),
    };
    let meta = file.metadata().map_err(|e| io(path, e))?;
    if !meta.is_file() {
        let what = describe(&meta.file_type());
        return Err(io(
            path,
            std::io::Error::other(format!("{what}, not a regular file; sightline reads only regular files")),
        ));
    }
    Ok(Some(file))
}

fn describe(t: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_char_device() || t.is_block_device() {
            return "a device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    if t.is_dir() { "a directory" } else { "not a file" }
}

/// Read a regular file of at most `limit` bytes: `Ok(None)` when it does not exist, an error
/// when it is something else or larger.
pub fn read_regular(path: &Path, limit: u64) -> Result<Option<Vec<u8>>, IoError> {
    let Some(file) = open_regular(path, false)? else { return Ok(None) };
    let mut buf = Vec::new();
    file.take(limit + 1).read_to_end(&mut buf).map_err(|e| io(path, e))?;
    if buf.len() as u64 > limit {
        return Err(io(path, std::io::Error::other(format!("larger than {limit} bytes; sightline did not write it"))));
    }
    Ok(Some(buf))
}

/// Read the manifest: a regular file (through a symlink, if it is one), at most `limit + 1`
/// bytes of it, so the caller, whose size limit is a diagnostic and not an I/O error, sees that
/// it was too long.
pub fn read_manifest(path: &Path, limit: u64) -> Result<Vec<u8>, IoError> {
    let Some(file) = open_regular(path, true)? else {
        return Err(io(path, std::io::Error::from(std::io::ErrorKind::NotFound)));
    };
    let mut buf = Vec::new();
    file.take(limit + 1).read_to_end(&mut buf).map_err(|e| io(path, e))?;
    Ok(buf)
}

/// The output directory as a jail: the path of `rel` inside it, refusing to go through a
/// symlink, so no read, write or removal ever follows a link out of it (a
/// `generated/prometheus -> /elsewhere`, a lock entry `link/victim`), `--force` or not. Each
/// directory is checked once per run; the last component is never followed either (reads open
/// it with `O_NOFOLLOW`, removals look at the link itself).
pub struct Jail {
    out: PathBuf,
    /// Directories found to be real directories, and found missing.
    checked: std::cell::RefCell<std::collections::HashSet<PathBuf>>,
    missing: std::cell::RefCell<std::collections::HashSet<PathBuf>>,
}

impl Jail {
    pub fn new(out: &Path) -> Jail {
        // Absolute once, so no later step asks for the current directory again.
        let out = std::path::absolute(out).unwrap_or_else(|_| out.to_path_buf());
        Jail { out, checked: Default::default(), missing: Default::default() }
    }

    pub fn root(&self) -> &Path {
        &self.out
    }

    pub fn path(&self, rel: &str) -> Result<PathBuf, IoError> {
        Ok(self.walk(rel)?.0)
    }

    /// The path, and whether every directory on the way exists.
    fn walk(&self, rel: &str) -> Result<(PathBuf, bool), IoError> {
        let full = self.out.join(rel);
        let mut at = self.out.clone();
        let parts: Vec<_> = Path::new(rel).components().collect();
        if !parts.iter().all(|c| matches!(c, std::path::Component::Normal(_))) {
            return Err(io(&full, std::io::Error::other("a path leading out of the output directory")));
        }
        for part in &parts[..parts.len().saturating_sub(1)] {
            at.push(part);
            if self.checked.borrow().contains(&at) {
                continue;
            }
            if self.missing.borrow().contains(&at) {
                return Ok((full, false));
            }
            match std::fs::symlink_metadata(&at) {
                Ok(m) if m.file_type().is_symlink() => return Err(symlink(&at)),
                Ok(_) => {
                    self.checked.borrow_mut().insert(at.clone());
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    self.missing.borrow_mut().insert(at);
                    return Ok((full, false));
                }
                Err(e) => return Err(io(&at, e)),
            }
        }
        Ok((full, true))
    }

    /// Read a file in the output directory: `None` when it does not exist. Through no symlink,
    /// only a regular file, at most [`MAX_GENERATED`] bytes.
    pub fn read(&self, rel: &str) -> Result<Option<Vec<u8>>, IoError> {
        match self.walk(rel)? {
            (path, true) => read_regular(&path, MAX_GENERATED),
            (_, false) => Ok(None),
        }
    }

    /// Forget what was found missing (directories a commit has since created).
    pub fn created(&self) {
        self.missing.borrow_mut().clear();
    }

    /// The path of an existing entry to remove or replace, refusing a symlink there too.
    pub fn entry(&self, rel: &str) -> Result<PathBuf, IoError> {
        let full = self.path(rel)?;
        match std::fs::symlink_metadata(&full) {
            Ok(m) if m.file_type().is_symlink() => Err(symlink(&full)),
            _ => Ok(full),
        }
    }
}

fn symlink(at: &Path) -> IoError {
    io(at, std::io::Error::other("a symlink inside the output directory; sightline never follows one"))
}

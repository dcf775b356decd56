//! Emit: the plan of files, and the three ways to use it against an output directory: write it
//! (`build`), compare it (`build --check`), show the difference (`diff`).
//!
//! With `cli`, the only module that touches the filesystem.

pub mod diff;
pub mod drift;
pub mod header;
pub mod lock;
pub mod plan;
pub mod write;

pub use plan::Plan;

/// An I/O failure: the tool could not do its job (exit 2).
#[derive(Debug)]
pub struct IoError {
    pub path: std::path::PathBuf,
    pub error: std::io::Error,
}

impl std::fmt::Display for IoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.error)
    }
}

impl std::error::Error for IoError {}

/// The path of `rel` inside the output directory, refusing to go through a symlink: the output
/// directory is a jail, so no read, write or removal ever follows a link out of it (a
/// `generated/prometheus -> /elsewhere`, a lock entry `link/victim`), `--force` or not.
pub(crate) fn inside(out: &std::path::Path, rel: &str) -> Result<std::path::PathBuf, IoError> {
    let mut at = out.to_path_buf();
    for part in std::path::Path::new(rel).components() {
        at.push(part);
        match std::fs::symlink_metadata(&at) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(IoError {
                    path: at,
                    error: std::io::Error::other("a symlink inside the output directory; sightline never follows one"),
                });
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
            Err(e) => return Err(IoError { path: at, error: e }),
        }
    }
    Ok(out.join(rel))
}

/// Read a file in the output directory: `None` when it does not exist. Through no symlink, and
/// only a regular file.
pub(crate) fn read_in(out: &std::path::Path, rel: &str) -> Result<Option<Vec<u8>>, IoError> {
    let path = inside(out, rel)?;
    match std::fs::metadata(&path) {
        Ok(m) if !m.is_file() => {
            return Err(IoError { path, error: std::io::Error::other("not a regular file") });
        }
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(IoError { path, error: e }),
    }
    match std::fs::read(&path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(IoError { path, error: e }),
    }
}

//! Emit: the plan of files, and the three ways to use it against an output directory: write it
//! (`build`), compare it (`build --check`), show the difference (`diff`).
//!
//! With `cli`, the only module that touches the filesystem.

pub mod commit;
pub mod diff;
pub mod drift;
pub mod files;
pub mod header;
pub mod lock;
pub mod plan;
pub mod report;
pub mod write;

pub use files::Jail;
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

/// The image digests the output directory's lock records for `manifest` (its file name, as
/// the lock names it; `pin: digest`): none without a lock, in another manifest's, or in one
/// this sightline cannot read (which `build` then refuses to replace).
pub fn recorded_images(
    out: &std::path::Path,
    manifest: &str,
) -> Result<std::collections::BTreeMap<String, String>, IoError> {
    let text = Jail::new(out).read(plan::LOCK_FILE)?.and_then(|b| String::from_utf8(b).ok());
    Ok(text.map(|t| lock::images(&t, manifest)).unwrap_or_default())
}

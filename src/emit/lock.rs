//! `sightline.lock`: every generated path with the sha256 of its bytes. The next build reads it
//! to tell its own files (safe to replace or remove) from the user's (never touched) and from
//! generated files edited by hand (kept unless `--force`).

use super::header;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// The sha256 of some bytes, as `sha256:<hex>`.
pub fn hash(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut s = String::from("sha256:");
    for b in digest {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

#[derive(serde::Serialize, serde::Deserialize)]
struct LockFile {
    version: u32,
    manifest: String,
    files: BTreeMap<String, String>,
}

/// Render the lock for the planned files' hashes.
pub fn render(manifest: &str, hashes: &BTreeMap<String, String>) -> String {
    let lock = LockFile { version: 1, manifest: manifest.to_string(), files: hashes.clone() };
    let body = toml::to_string(&lock).expect("the lock serializes");
    format!("# {}\n{body}", header::text(manifest))
}

/// Read a lock: path → hash. `None` when the text is not a lock this sightline wrote.
pub fn parse(text: &str) -> Option<BTreeMap<String, String>> {
    read(text).map(|(files, _)| files)
}

/// A lock's files and the manifest it names, if that is a plain file name (`manifest_of`).
pub fn read(text: &str) -> Option<(BTreeMap<String, String>, Option<String>)> {
    let lock: LockFile = toml::from_str(text).ok()?;
    let plain = !lock.manifest.is_empty()
        && lock.manifest != "."
        && lock.manifest != ".."
        && crate::display_name(&lock.manifest) == lock.manifest;
    (lock.version == 1).then(|| (lock.files, plain.then_some(lock.manifest)))
}

/// The manifest a lock was written for: its file name, as the generated headers give it
/// (`crate::display_name`). `None` for anything else, a path above all: a lock is a file in
/// the repository that anyone may edit, and what it names is read.
pub fn manifest_of(text: &str) -> Option<String> {
    read(text).and_then(|(_, manifest)| manifest)
}

/// The intent of a build under way (`commit::PENDING`): for every path it may leave behind,
/// each hash the path can have if the build is interrupted (the bytes before it and after it).
#[derive(serde::Serialize, serde::Deserialize)]
struct IntentFile {
    version: u32,
    files: BTreeMap<String, Vec<String>>,
}

pub fn render_intent(files: BTreeMap<String, Vec<String>>) -> String {
    toml::to_string(&IntentFile { version: 1, files }).expect("the intent serializes")
}

/// Read an intent: path → hashes. `None` when the text is not one.
pub fn parse_intent(text: &str) -> Option<BTreeMap<String, Vec<String>>> {
    let intent: IntentFile = toml::from_str(text).ok()?;
    (intent.version == 1).then_some(intent.files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let mut files = BTreeMap::new();
        files.insert("a/b.yml".to_string(), hash(b"x\n"));
        let text = render("stack.yaml", &files);
        let back = parse(&text).unwrap();
        assert_eq!(back["a/b.yml"], hash(b"x\n"));
    }
}

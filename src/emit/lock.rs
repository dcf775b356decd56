//! `sightline.lock`: every generated path with the sha256 of its bytes. The next build reads it
//! to tell its own files (safe to replace or remove) from the user's (never touched) and from
//! generated files edited by hand (kept unless `--force`). With `pin: digest` it also records
//! the digest of every image the files name (`[images]`, written by `sightline pin`), which
//! the next build reads instead of asking a registry.

use super::header;
use crate::manifest::model::Platform;
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
    /// The platform the files are for, when not compose (`--platform kubernetes`): a later
    /// build into this directory builds for it again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    platform: Option<String>,
    files: BTreeMap<String, String>,
    /// Image as the manifest or sightline names it (`postgres:16.4`) → its digest.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    images: BTreeMap<String, String>,
}

/// Render the lock for the planned files' hashes and the images' digests.
pub fn render(
    manifest: &str,
    hashes: &BTreeMap<String, String>,
    images: &BTreeMap<String, String>,
    platform: Platform,
) -> String {
    let lock = LockFile {
        version: 1,
        manifest: manifest.to_string(),
        platform: (platform != Platform::Compose).then(|| platform.as_str().to_string()),
        files: hashes.clone(),
        images: images.clone(),
    };
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

/// The image digests a lock of `manifest`'s records: none from another manifest's lock (a
/// `--force` build into its directory starts afresh). A value that is not a digest is left
/// out: the lock is a file anyone may edit, and a digest is written into the compose file as
/// it is.
pub fn images(text: &str, manifest: &str) -> BTreeMap<String, String> {
    let Ok(lock) = toml::from_str::<LockFile>(text) else { return BTreeMap::new() };
    if lock.version != 1 || lock.manifest != manifest {
        return BTreeMap::new();
    }
    let mut images = lock.images;
    images.retain(|_, d| crate::manifest::values::is_digest(d));
    images
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

/// The platform a lock records (compose when it records none): `None` when the text is not a
/// lock this sightline wrote, `Err` with the name of a platform it does not know (a newer
/// sightline's).
pub fn platform_of(text: &str) -> Option<Result<Platform, String>> {
    let lock: LockFile = toml::from_str(text).ok()?;
    if lock.version != 1 {
        return None;
    }
    Some(match lock.platform.as_deref() {
        None => Ok(Platform::Compose),
        Some(p) => [Platform::Compose, Platform::Kubernetes].into_iter().find(|k| k.as_str() == p).ok_or(p.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let mut files = BTreeMap::new();
        files.insert("a/b.yml".to_string(), hash(b"x\n"));
        let digest = format!("sha256:{}", "0a".repeat(32));
        let images = BTreeMap::from([("postgres:16.4".to_string(), digest.clone())]);
        let text = render("stack.yaml", &files, &images, Platform::Compose);
        let back = parse(&text).unwrap();
        assert_eq!(platform_of(&text), Some(Ok(Platform::Compose)));
        assert!(!text.contains("platform"), "a compose lock is as it was");
        let k8s = render("stack.yaml", &files, &images, Platform::Kubernetes);
        assert_eq!(platform_of(&k8s), Some(Ok(Platform::Kubernetes)));
        assert_eq!(parse(&k8s).unwrap(), back);
        assert_eq!(platform_of(&k8s.replace("kubernetes", "nomad")), Some(Err("nomad".into())));
        assert_eq!(platform_of(&k8s.replace("version = 1", "version = 2")), None);
        assert_eq!(back["a/b.yml"], hash(b"x\n"));
        assert_eq!(super::images(&text, "stack.yaml"), images);
        assert!(super::images(&text, "other.yaml").is_empty(), "another manifest's digests are not read");
        // No `[images]` table at all without digests: a lock of `pin: tag` is as it was.
        assert!(!render("stack.yaml", &files, &BTreeMap::new(), Platform::Compose).contains("images"));
    }

    #[test]
    fn only_digests_are_read_as_digests() {
        let text = format!(
            "version = 1\nmanifest = \"stack.yaml\"\n[files]\n[images]\n\"a:1\" = \"sha256:{}\"\n\"b:1\" = \"sha256:x\\nimage: evil\"\n\"c:1\" = \"latest\"\n\"d:1\" = \"sha256:{}\"\n",
            "f".repeat(64),
            "F".repeat(64)
        );
        assert_eq!(images(&text, "stack.yaml").keys().collect::<Vec<_>>(), ["a:1"]);
    }
}

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

/// Render the lock for the planned files.
pub fn render(manifest: &str, files: &BTreeMap<String, String>) -> String {
    let lock = LockFile {
        version: 1,
        manifest: manifest.to_string(),
        files: files.iter().map(|(p, c)| (p.clone(), hash(c.as_bytes()))).collect(),
    };
    let body = toml::to_string(&lock).expect("the lock serializes");
    format!("# {}\n{body}", header::text(manifest))
}

/// Read a lock: path → hash. `None` when the text is not a lock this sightline wrote.
pub fn parse(text: &str) -> Option<BTreeMap<String, String>> {
    let lock: LockFile = toml::from_str(text).ok()?;
    (lock.version == 1).then_some(lock.files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let mut files = BTreeMap::new();
        files.insert("a/b.yml".to_string(), "x\n".to_string());
        let text = render("stack.yaml", &files);
        let back = parse(&text).unwrap();
        assert_eq!(back["a/b.yml"], hash(b"x\n"));
    }
}

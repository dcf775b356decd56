//! `pin`: look up the digests a `pin: digest` stack lacks in its lock, then build with them.
//! The lookups happen before anything is written: one that fails writes nothing.

use super::{Status, build, output::Output, stacks::Stack};
use crate::emit;
use crate::manifest::model::Pin;
use crate::registry::Resolver;

/// `--mirror REGISTRY=URL`: the registry as Docker names it (`index.docker.io` is
/// `docker.io`), a URL without credentials (they would be printed with every error, and are not
/// sent).
pub fn parse_mirror(s: &str) -> Result<(String, String), String> {
    let (registry, url) = s.split_once('=').ok_or("expected REGISTRY=URL, e.g. docker.io=https://mirror.example")?;
    let registry = registry.trim();
    if registry.is_empty() || !registry.chars().all(|c| c.is_ascii_alphanumeric() || ".-:".contains(c)) {
        return Err(format!("{registry:?} is not a registry name (docker.io, quay.io, localhost:5000, …)"));
    }
    let Some(rest) = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://")) else {
        return Err("the mirror's URL must start with http:// or https://".into());
    };
    if rest.split('/').next().is_some_and(|authority| authority.contains('@')) {
        return Err("the mirror's URL may not hold a login (user:password@): pin asks anonymously".into());
    }
    Ok((crate::registry::registry_name(registry).to_string(), url.to_string()))
}

pub fn run(stack: &Stack, resolver: &Resolver, update: bool, force: bool, out: &Output) -> Status {
    let Some((checked, stack)) = build::read_stack(stack, out) else { return Status::Error };
    let stack = &stack;
    let name = &checked.source.name;
    let Some(images) = crate::unpinned_images(&checked, stack.platform) else {
        out.note("nothing was written");
        return Status::Failure;
    };
    if checked.manifest.as_ref().and_then(|m| m.pin) != Some(Pin::Digest) {
        out.error(&format!("{name} names its images by tag: add `pin: digest` to it to pin them by digest"));
        return Status::Failure;
    }
    let mut recorded = match emit::recorded_images(&stack.out, &crate::display_name(name)) {
        Ok(r) => r,
        Err(e) => {
            out.error(&e.to_string());
            return Status::Error;
        }
    };
    let mut failed = false;
    let wanted: Vec<&String> = images.iter().filter(|i| update || !recorded.contains_key(*i)).collect();
    for image in wanted {
        match resolver.digest(image) {
            Ok(digest) => {
                let was = recorded.insert(image.clone(), digest.clone());
                let what = match was {
                    Some(old) if old == digest => "unchanged",
                    Some(_) => "updated",
                    None => "pinned",
                };
                out.note(&format!("{what} {image}@{digest}"));
            }
            Err(e) => {
                out.error(&e.to_string());
                failed = true;
            }
        }
    }
    if failed {
        out.note("nothing was written");
        return Status::Error;
    }
    build::write(stack, &checked, Some(&recorded), force, "pin", out)
}

#[cfg(test)]
mod tests {
    use super::parse_mirror;

    #[test]
    fn mirrors() {
        assert_eq!(
            parse_mirror("docker.io=https://m.example/hub").unwrap(),
            ("docker.io".into(), "https://m.example/hub".into())
        );
        // Docker Hub by any of its names.
        assert_eq!(parse_mirror("index.docker.io=http://127.0.0.1:5000").unwrap().0, "docker.io");
        assert_eq!(parse_mirror("registry-1.docker.io=http://127.0.0.1:5000").unwrap().0, "docker.io");
        for bad in [
            "docker.io",
            "=https://m.example",
            "docker.io=m.example",
            "docker.io=https://u:secret@m.example/hub",
            "a/b=https://m.example",
        ] {
            let e = parse_mirror(bad).unwrap_err();
            assert!(!e.contains("secret"), "{bad}: {e}");
        }
    }
}

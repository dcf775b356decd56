//! `pin`: look up the digests a `pin: digest` stack lacks in its lock, then build with them.
//! The lookups happen before anything is written: one that fails writes nothing.

use super::{Status, build, output::Output, stacks::Stack};
use crate::emit;
use crate::manifest::model::Pin;
use crate::registry::Resolver;

/// `--mirror REGISTRY=URL`.
pub fn parse_mirror(s: &str) -> Result<(String, String), String> {
    let (registry, url) = s.split_once('=').ok_or("expected REGISTRY=URL, e.g. docker.io=https://mirror.example")?;
    let registry = registry.trim();
    if registry.is_empty() || registry.contains(['/', ' ']) {
        return Err(format!("{registry:?} is not a registry name (docker.io, quay.io, localhost:5000, …)"));
    }
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(format!("{url:?} is not an http:// or https:// URL"));
    }
    Ok((registry.to_string(), url.to_string()))
}

pub fn run(stack: &Stack, resolver: &Resolver, update: bool, out: &Output) -> Status {
    let Some(checked) = build::read_and_check(&stack.manifest, out) else { return Status::Error };
    let name = &checked.source.name;
    let Some(images) = crate::unpinned_images(&checked) else {
        out.note("nothing was written");
        return Status::Failure;
    };
    if checked.manifest.as_ref().and_then(|m| m.pin) != Some(Pin::Digest) {
        out.error(&format!("{name} names its images by tag: add `pin: digest` to it to pin them by digest"));
        return Status::Failure;
    }
    let mut recorded = match emit::recorded_images(&stack.out) {
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
    build::write(stack, &checked, Some(&recorded), false, out)
}

//! `sightline init`: write the commented starter manifest, refusing to overwrite.

use super::{Status, output::Output};
use std::io::Write;
use std::path::Path;

const STARTER: &str = include_str!("../../templates/stack.yaml");

pub fn run(path: &Path, out: &Output) -> Status {
    let file = std::fs::OpenOptions::new().write(true).create_new(true).open(path);
    match file {
        Ok(mut f) => match f.write_all(STARTER.as_bytes()) {
            Ok(()) => {
                out.note(&format!("wrote {}; edit it, then run `sightline check`", path.display()));
                Status::Ok
            }
            Err(e) => {
                out.error(&format!("{}: {e}", path.display()));
                Status::Error
            }
        },
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            out.error(&format!("{} already exists; sightline init never overwrites a manifest", path.display()));
            Status::Failure
        }
        Err(e) => {
            out.error(&format!("{}: {e}", path.display()));
            Status::Error
        }
    }
}

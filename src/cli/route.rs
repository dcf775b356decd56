//! `sightline route LABEL=VALUE…`: the receivers an alert with those labels reaches, one per
//! line, walked on the same routing tree that alertmanager.yml is written from.

use super::{Status, output::Output};
use crate::targets::alertmanager::routing;
use std::collections::BTreeMap;
use std::path::PathBuf;

pub fn run(given: Option<PathBuf>, labels: &[String], out: &Output) -> Status {
    let mut parsed = BTreeMap::new();
    for l in labels {
        match l.split_once('=') {
            Some((k, v)) if !k.is_empty() => {
                parsed.insert(k.to_string(), v.trim_matches('"').to_string());
            }
            _ => {
                out.error(&format!("`{l}` is not LABEL=VALUE"));
                return Status::Error;
            }
        }
    }
    let Some(checked) = super::build::load(given, out) else { return Status::Error };
    let Some(manifest) = checked.manifest.as_ref().filter(|_| !checked.has_errors()) else { return Status::Failure };
    let stack = crate::ir::lower(manifest, &crate::display_name(&checked.source.name));
    let receivers = routing::receivers(&routing::tree(&stack), &parsed);
    out.stdout(&receivers.iter().map(|r| format!("{r}\n")).collect::<String>());
    Status::Ok
}

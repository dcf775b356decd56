//! `sightline route [ALERT] [LABEL=VALUE…] [--all]`: the receivers an alert reaches, walked on
//! the same routing tree that alertmanager.yml is written from. Given labels only, the receivers
//! of an alert with those labels, one per line. Given an alert's name, its labels come from the
//! generated rules of that name (the labels given narrow them, e.g. `service=api`). `--all`
//! prints every generated and user alert with its receivers.

use super::{Status, output::Output};
use crate::targets::alertmanager::routing;
use std::collections::BTreeMap;
use std::path::PathBuf;

fn shown(labels: &BTreeMap<String, String>) -> String {
    let name = labels.get("alertname").map_or("", String::as_str);
    let rest: Vec<String> = labels
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "alertname" | "stack" | "env"))
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    format!("{name}{{{}}}", rest.join(","))
}

pub fn run(
    given: Option<PathBuf>,
    args: &[String],
    all: bool,
    platform: Option<crate::manifest::model::Platform>,
    out: &Output,
) -> Status {
    let mut alert = None;
    let mut parsed = BTreeMap::new();
    for (i, l) in args.iter().enumerate() {
        match l.split_once('=') {
            Some((k, v)) if !k.is_empty() => {
                parsed.insert(k.to_string(), v.trim_matches('"').to_string());
            }
            None if i == 0 && !l.is_empty() => alert = Some(l.clone()),
            _ => {
                out.error(&format!("`{l}` is not LABEL=VALUE (an alert's name may come first)"));
                return Status::Error;
            }
        }
    }
    let Some(checked) = super::build::load(given, out) else { return Status::Error };
    // The alerts of the tree built for that platform (`--platform`, else the manifest's).
    let Some(stack) = checked.stack_for(platform) else { return Status::Failure };
    let tree = routing::tree(&stack);
    if !all && alert.is_none() {
        let receivers = routing::receivers(&tree, &parsed);
        out.stdout(&receivers.iter().map(|r| format!("{r}\n")).collect::<String>());
        return Status::Ok;
    }
    let rules: Vec<BTreeMap<String, String>> = crate::targets::alert_labels(&stack)
        .into_iter()
        .filter(|l| alert.as_ref().is_none_or(|a| l.get("alertname") == Some(a)))
        .filter(|l| parsed.iter().all(|(k, v)| l.get(k).is_none_or(|x| x == v)))
        .map(|mut l| {
            l.extend(parsed.clone());
            l
        })
        .collect();
    if rules.is_empty() {
        out.error(&format!(
            "no generated or user alert is named `{}` with these labels; `sightline route --all` lists them",
            alert.unwrap_or_default()
        ));
        return Status::Failure;
    }
    let table: Vec<(String, Vec<String>)> = rules.iter().map(|l| (shown(l), routing::receivers(&tree, l))).collect();
    let one = table.iter().all(|(_, r)| *r == table[0].1);
    if !all && one {
        out.stdout(&table[0].1.iter().map(|r| format!("{r}\n")).collect::<String>());
    } else {
        let width = table.iter().map(|(a, _)| a.len()).max().unwrap_or(0);
        out.stdout(&table.iter().map(|(a, r)| format!("{a:width$}  {}\n", r.join(", "))).collect::<String>());
    }
    Status::Ok
}

//! Targets: one file per generated output. Each is `fn lower(&Stack) -> Vec<Artifact>`, pure:
//! no I/O, no clock, no environment. `emit` adds headers and the lock, and writes.
//!
//! To add an output: write `targets/<name>.rs` with a `lower` function and register it in
//! `TARGETS`. The snapshot tests of `examples/` then show every file it produces.

pub mod alertmanager;
pub mod alloy;
pub mod backup;
pub mod compose;
pub mod env_example;
pub mod grafana;
pub mod graph;
pub mod loki;
pub mod paths;
pub mod postgres;
pub mod prometheus;
pub mod promtail;
pub mod rules;

use crate::ir::Stack;

/// One generated file: a path relative to the output directory (`/`-separated) and its text.
/// The text has no generated-file header; `emit::plan` adds it (JSON targets, whose format has
/// no comments, embed `emit::header::text` in a field themselves).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Artifact {
    pub path: String,
    pub contents: String,
}

impl Artifact {
    pub fn new(path: impl Into<String>, contents: impl Into<String>) -> Self {
        Artifact { path: path.into(), contents: contents.into() }
    }
}

/// A target: its name (for `--explain`-style listings and ARCHITECTURE.md) and its lowering.
pub struct Target {
    pub name: &'static str,
    pub lower: fn(&Stack) -> Vec<Artifact>,
}

/// Every target, in the order their files are listed.
pub const TARGETS: &[Target] = &[
    Target { name: "env-example", lower: env_example::lower },
    Target { name: "prometheus", lower: prometheus::lower },
    Target { name: "rules", lower: rules::lower },
    Target { name: "alertmanager", lower: alertmanager::lower },
    Target { name: "loki", lower: loki::lower },
    Target { name: "promtail", lower: promtail::lower },
    Target { name: "alloy", lower: alloy::lower },
    Target { name: "postgres", lower: postgres::lower },
    Target { name: "backup", lower: backup::lower },
    Target { name: "grafana", lower: grafana::lower },
    Target { name: "compose", lower: compose::lower },
];

/// Run every target, then `STACK.md`, the one output that lists the others.
pub fn lower_all(stack: &Stack) -> Vec<Artifact> {
    let mut out: Vec<Artifact> = TARGETS.iter().flat_map(|t| (t.lower)(stack)).collect();
    let mut paths: Vec<String> = out.iter().map(|a| a.path.clone()).collect();
    paths.sort();
    out.push(graph::stack_md(stack, &paths));
    out
}

/// The labels of every alerting rule the stack generates (Prometheus's and Loki's, the user's
/// included), `alertname` among them, in file order: read back from the generated rule files
/// themselves, so routing checks and `sightline route` see exactly what Alertmanager will.
pub fn alert_labels(stack: &Stack) -> Vec<std::collections::BTreeMap<String, String>> {
    use std::collections::BTreeMap;
    #[derive(serde::Deserialize)]
    struct File {
        groups: Vec<Group>,
    }
    #[derive(serde::Deserialize)]
    struct Group {
        rules: Vec<Rule>,
    }
    #[derive(serde::Deserialize)]
    struct Rule {
        alert: Option<String>,
        #[serde(default)]
        labels: BTreeMap<String, String>,
    }
    let mut out = Vec::new();
    for a in lower_all(stack) {
        let rules = a.path.starts_with(&format!("{}/", paths::PROMETHEUS_RULES_DIR))
            || a.path.starts_with(&format!("{}/", paths::LOKI_RULES_DIR));
        let Some(file) = rules.then(|| serde_saphyr::from_str::<File>(&a.contents).ok()).flatten() else { continue };
        for r in file.groups.into_iter().flat_map(|g| g.rules) {
            if let Some(name) = r.alert {
                let mut labels = r.labels;
                labels.insert("alertname".into(), name);
                out.push(labels);
            }
        }
    }
    out
}

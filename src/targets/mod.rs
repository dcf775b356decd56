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
pub mod exporter_image;
pub mod grafana;
pub mod graph;
pub mod kubernetes;
pub mod loki;
pub mod paths;
pub mod postgres;
pub mod prometheus;
pub mod promtail;
pub mod rules;
pub mod socket_proxy;
pub mod web_auth;

use crate::ir::Stack;

/// One generated file: a path relative to the output directory (`/`-separated) and its text.
/// The text has no generated-file header; `emit::plan` adds it (JSON targets, whose format has
/// no comments, embed `emit::header::text` in a field themselves).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Artifact {
    pub path: String,
    pub contents: String,
    /// The manifest part the file comes from, as a JSON pointer (`/services/api`): where
    /// `build --check` points when the file is out of date. `None`: the target's own.
    pub origin: Option<String>,
}

impl Artifact {
    pub fn new(path: impl Into<String>, contents: impl Into<String>) -> Self {
        Artifact { path: path.into(), contents: contents.into(), origin: None }
    }

    /// The file comes from this part of the manifest (a JSON pointer).
    pub fn from_part(mut self, pointer: impl Into<String>) -> Self {
        self.origin = Some(pointer.into());
        self
    }
}

/// The pointer of one service in the manifest, or of a part of it.
pub fn service_part(service: impl std::fmt::Display, part: &[&str]) -> String {
    crate::source::pointer(
        ["services".to_string(), service.to_string()].into_iter().chain(part.iter().map(|p| p.to_string())),
    )
}

/// The manifest part a file about `services` comes from: that service's `part` when they are
/// all one service, else all the services (`/services`).
pub fn services_part<'a>(services: impl IntoIterator<Item = &'a str>, part: &[&str]) -> String {
    let mut names = services.into_iter();
    match names.next() {
        Some(first) if names.all(|n| n == first) => service_part(first, part),
        _ => "/services".into(),
    }
}

/// A target: its name (for `--explain`-style listings and ARCHITECTURE.md), the manifest part
/// its files come from unless a file says otherwise (`""`: the whole manifest; a part the
/// manifest does not have falls back to its parent), and its lowering.
pub struct Target {
    pub name: &'static str,
    pub origin: &'static str,
    pub lower: fn(&Stack) -> Vec<Artifact>,
}

/// Every target, in the order their files are listed.
pub const TARGETS: &[Target] = &[
    Target { name: "env-example", origin: "", lower: env_example::lower },
    Target { name: "prometheus", origin: "/services", lower: prometheus::lower },
    Target { name: "rules", origin: "/alerting", lower: rules::lower },
    Target { name: "alertmanager", origin: "/alerting", lower: alertmanager::lower },
    Target { name: "loki", origin: "/logs", lower: loki::lower },
    Target { name: "promtail", origin: "/logs", lower: promtail::lower },
    Target { name: "alloy", origin: "/logs", lower: alloy::lower },
    Target { name: "socket-proxy", origin: "/logs", lower: socket_proxy::lower },
    Target { name: "postgres", origin: "/services", lower: postgres::lower },
    Target { name: "backup", origin: "/backups", lower: backup::lower },
    Target { name: "exporter-image", origin: "/services", lower: exporter_image::lower },
    Target { name: "grafana", origin: "/dashboards", lower: grafana::lower },
    Target { name: "compose", origin: "/services", lower: compose::lower },
];

/// Run every target, then `STACK.md`, the one output that lists the others; on the Kubernetes
/// platform, its objects instead (`kubernetes`). Targets are pure
/// and independent, so one worker per core takes the next target until none is left (no more
/// at once, so memory stays that of a few targets' work in flight); the files come out in
/// `TARGETS` order whatever finishes first.
pub fn lower_all(stack: &Stack) -> Vec<Artifact> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    if stack.platform == crate::manifest::model::Platform::Kubernetes {
        return kubernetes::lower(stack);
    }
    let next = AtomicUsize::new(0);
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).min(TARGETS.len());
    let mut done: Vec<(usize, Vec<Artifact>)> = std::thread::scope(|scope| {
        let running: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(t) = TARGETS.get(i) else { break mine };
                        let mut files = (t.lower)(stack);
                        for f in files.iter_mut().filter(|f| f.origin.is_none()) {
                            f.origin = Some(t.origin.to_string());
                        }
                        mine.push((i, files));
                    }
                })
            })
            .collect();
        running.into_iter().flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
    });
    done.sort_by_key(|(i, _)| *i);
    let mut out: Vec<Artifact> = done.into_iter().flat_map(|(_, files)| files).collect();
    let mut paths: Vec<String> = out.iter().map(|a| a.path.clone()).collect();
    paths.sort();
    out.push(graph::stack_md(stack, &paths).from_part(""));
    out
}

/// Every alerting rule the stack generates (Prometheus's and Loki's, the user's included; on
/// Kubernetes, the rule files its tree has), in file order, as its labels (`alertname` among them) and the services it is about (a rule over
/// several services raises one alert per service, with its `service` label; none for a rule
/// about no service): taken from the same rule models the rule files are serialized from, so
/// routing checks and `sightline route` see exactly what Alertmanager will, without rendering
/// every other file.
pub fn alerting_rules(stack: &Stack) -> Vec<(std::collections::BTreeMap<String, String>, Vec<String>)> {
    use rules::model::Rule;
    // The labels do not depend on the dashboards: no dashboards to link.
    let none = grafana::dashboards::ServiceBoards::none();
    let mut files = rules::files_with(stack, &none, false);
    if stack.platform == crate::manifest::model::Platform::Kubernetes {
        files = kubernetes::rules::kept(files);
    }
    let logs = loki::rules::groups(stack, &none);
    let prometheus = files.into_iter().map(|f| f.group);
    prometheus
        .chain(logs)
        .flat_map(|g| g.rules)
        .filter_map(|r| match r {
            Rule::Alert(a) => {
                let mut labels = a.labels;
                labels.insert("alertname".into(), a.alert);
                Some((labels, a.services))
            }
            Rule::Record(_) => None,
        })
        .collect()
}

/// The labels of every alert the stack's rules raise: one label set per rule and service it
/// is about (`alerting_rules`).
pub fn alert_labels(stack: &Stack) -> Vec<std::collections::BTreeMap<String, String>> {
    alerting_rules(stack)
        .into_iter()
        .flat_map(|(labels, services)| {
            if services.is_empty() {
                return vec![labels];
            }
            services
                .into_iter()
                .map(|s| {
                    let mut l = labels.clone();
                    l.insert("service".into(), s);
                    l
                })
                .collect()
        })
        .collect()
}

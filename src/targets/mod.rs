//! Targets: one file per generated output. Each is `fn lower(&Stack) -> Vec<Artifact>` (with
//! what it needs of [`Input`] besides the stack as more arguments: the rules, Loki and Grafana
//! take the service dashboards), pure: no I/O, no clock, no environment. `emit` adds headers
//! and the lock, and writes.
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

/// What the targets lower from: the stack, and what more than one target derives from it,
/// derived once per build by the first target that asks (one that asks meanwhile waits for it).
pub struct Input<'a> {
    pub stack: &'a Stack,
    boards: std::sync::OnceLock<grafana::dashboards::ServiceBoards<'a>>,
}

impl<'a> Input<'a> {
    pub fn new(stack: &'a Stack) -> Self {
        Input { stack, boards: std::sync::OnceLock::new() }
    }

    /// Which dashboard shows each service: the dashboards' files, and the rules' links to them.
    pub fn boards(&self) -> &grafana::dashboards::ServiceBoards<'a> {
        self.boards.get_or_init(|| grafana::dashboards::ServiceBoards::new(self.stack))
    }
}

/// A target: its name (for `--explain`-style listings and ARCHITECTURE.md), the manifest part
/// its files come from unless a file says otherwise (`""`: the whole manifest; a part the
/// manifest does not have falls back to its parent), and its lowering.
pub struct Target {
    pub name: &'static str,
    pub origin: &'static str,
    pub lower: fn(&Input) -> Vec<Artifact>,
}

/// Every target, in the order they start: the costliest first (measured on a fleet of 1,000
/// services), so the cores finish at about the same time. Of the three that need the service
/// dashboards, the rules start at once (and derive them); Grafana and Loki start after a
/// target that does not need them, by when they are ready. The generated files are listed
/// and written in the order of their paths (`emit::Plan`), whatever this one.
pub const TARGETS: &[Target] = &[
    Target { name: "compose", origin: "/services", lower: |i| compose::lower(i.stack) },
    Target { name: "rules", origin: "/alerting", lower: |i| rules::lower(i.stack, i.boards()) },
    Target { name: "prometheus", origin: "/services", lower: |i| prometheus::lower(i.stack) },
    Target { name: "grafana", origin: "/dashboards", lower: |i| grafana::lower(i.stack, i.boards()) },
    Target { name: "alloy", origin: "/logs", lower: |i| alloy::lower(i.stack) },
    Target { name: "loki", origin: "/logs", lower: |i| loki::lower(i.stack, i.boards()) },
    Target { name: "env-example", origin: "", lower: |i| env_example::lower(i.stack) },
    Target { name: "alertmanager", origin: "/alerting", lower: |i| alertmanager::lower(i.stack) },
    Target { name: "promtail", origin: "/logs", lower: |i| promtail::lower(i.stack) },
    Target { name: "socket-proxy", origin: "/logs", lower: |i| socket_proxy::lower(i.stack) },
    Target { name: "postgres", origin: "/services", lower: |i| postgres::lower(i.stack) },
    Target { name: "backup", origin: "/backups", lower: |i| backup::lower(i.stack) },
    Target { name: "exporter-image", origin: "/services", lower: |i| exporter_image::lower(i.stack) },
];

/// Run every target, then `STACK.md`, the one output that lists the others (its chart drawn
/// while they run); on the Kubernetes platform, its objects instead (`kubernetes`). Targets are
/// pure and independent, so they run on the machine's cores at once (`parallel::map`); the
/// files come out in `TARGETS` order whatever finishes first (`emit::Plan` then orders them by
/// path).
pub fn lower_all(stack: &Stack) -> Vec<Artifact> {
    if stack.platform == crate::manifest::model::Platform::Kubernetes {
        return kubernetes::lower(stack);
    }
    let input = Input::new(stack);
    let (files, chart) = crate::parallel::join(
        || {
            crate::parallel::map(TARGETS, |t| {
                let mut files = (t.lower)(&input);
                for f in files.iter_mut().filter(|f| f.origin.is_none()) {
                    f.origin = Some(t.origin.to_string());
                }
                files
            })
        },
        || graph::mermaid(stack),
    );
    let mut out: Vec<Artifact> = files.into_iter().flatten().collect();
    let mut paths: Vec<String> = out.iter().map(|a| a.path.clone()).collect();
    paths.sort();
    out.push(graph::stack_md(stack, &chart, &paths).from_part(""));
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
    // Prometheus's rules and Loki's are made at once.
    let (mut files, logs) =
        crate::parallel::join(|| rules::files(stack, &none, false), || loki::rules::groups(stack, &none));
    if stack.platform == crate::manifest::model::Platform::Kubernetes {
        files = kubernetes::rules::kept(files);
    }
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

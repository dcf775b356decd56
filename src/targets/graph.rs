//! A picture of the stack: services → exporters → Prometheus → Alertmanager → receivers (routes
//! on the edges), and log sources → Promtail or Alloy → Loki → Grafana. Printed by
//! `sightline graph` (Mermaid or Graphviz DOT) and written, in Mermaid, into `STACK.md` with the
//! list of generated files, so a reviewer sees the whole stack on GitHub.

use super::Artifact;
use crate::ir::Stack;
use crate::manifest::model::Collector;

/// An edge of the picture: from, to, label.
type Edge = (String, String, String);

fn id(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect()
}

fn edges(stack: &Stack) -> Vec<Edge> {
    let mut e: Vec<Edge> = Vec::new();
    let push = |e: &mut Vec<Edge>, a: &str, b: &str, l: &str| e.push((a.to_string(), b.to_string(), l.to_string()));
    let exporters = stack.exporters();
    for s in &stack.services {
        let n = format!("service {}", s.name);
        match exporters.get(&s.name) {
            Some(x) => {
                push(&mut e, &n, &x.name, "");
                push(&mut e, &x.name, "prometheus", "scrape");
            }
            None if s.metrics_path.is_some() => push(&mut e, &n, "prometheus", "scrape"),
            None => {}
        }
        if s.health.is_some() || s.tls_domain.is_some() {
            push(&mut e, &n, "blackbox-exporter", "probe");
        }
    }
    if stack.component("blackbox-exporter").is_some() {
        push(&mut e, "blackbox-exporter", "prometheus", "scrape");
    }
    if stack.component("cadvisor").is_some() {
        push(&mut e, "cadvisor", "prometheus", "scrape");
    }
    if stack.component("node-exporter").is_some() {
        push(&mut e, "node-exporter", "prometheus", "scrape");
    }
    push(&mut e, "prometheus", "alertmanager", "alerts");
    push(&mut e, "loki", "alertmanager", "log alerts");
    for r in &stack.alerting.routes {
        let m: Vec<String> = r.matchers.iter().map(|(k, v)| format!("{k}={}", v.as_slice().join("|"))).collect();
        for to in r.to.as_slice() {
            push(&mut e, "alertmanager", &format!("receiver {to}"), &m.join(" "));
        }
    }
    if let Some(d) = &stack.alerting.default {
        push(&mut e, "alertmanager", &format!("receiver {d}"), "default");
    }
    let collector = match stack.logs.collector {
        Collector::Promtail => "promtail",
        Collector::Alloy => "alloy",
    };
    for s in &stack.services {
        push(&mut e, &format!("service {}", s.name), collector, "logs");
    }
    for src in &stack.logs.sources {
        push(&mut e, &format!("file {}", src.path), collector, "logs");
    }
    push(&mut e, collector, "loki", "push");
    push(&mut e, "prometheus", "grafana", "query");
    push(&mut e, "loki", "grafana", "query");
    e.dedup();
    e
}

/// Text inside a Mermaid string: every character but plain ones as an entity code (`#35;`),
/// so a quote, a backtick (which would close the Markdown fence around the chart in STACK.md)
/// or a line break in a route value stays text.
fn mermaid_text(s: &str) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || matches!(c, ' ' | '_' | '-' | '.' | ':' | '=' | '|' | '/' | '*' | '+') {
            out.push(c);
        } else {
            let _ = write!(out, "#{};", c as u32);
        }
    }
    out
}

/// A DOT quoted string's content: `\` and `"` escaped, line breaks as `\n`.
fn dot_text(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"").replace('\r', "").replace('\n', "\\n")
}

pub fn mermaid(stack: &Stack) -> String {
    let mut out = String::from("flowchart LR\n");
    for (a, b, l) in edges(stack) {
        let label = if l.is_empty() { String::new() } else { format!("|\"{}\"|", mermaid_text(&l)) };
        out.push_str(&format!(
            "  {}[\"{}\"] -->{label} {}[\"{}\"]\n",
            id(&a),
            mermaid_text(&a),
            id(&b),
            mermaid_text(&b)
        ));
    }
    out
}

pub fn dot(stack: &Stack) -> String {
    let mut out = format!("digraph \"{}\" {{\n  rankdir=LR;\n  node [shape=box];\n", dot_text(stack.name.as_str()));
    for (a, b, l) in edges(stack) {
        out.push_str(&format!("  \"{}\" -> \"{}\" [label=\"{}\"];\n", dot_text(&a), dot_text(&b), dot_text(&l)));
    }
    out.push_str("}\n");
    out
}

/// `STACK.md`, given its chart (`mermaid`, drawn while the other targets run) and the paths of
/// every other generated file.
pub fn stack_md(stack: &Stack, chart: &str, paths: &[String]) -> Artifact {
    let mut out = format!(
        "# Stack `{}` ({})\n\n```mermaid\n{}```\n\n## Generated files\n\n| file | what it is |\n|---|---|\n",
        stack.name, stack.env, chart
    );
    for p in paths {
        out.push_str(&format!("| `{p}` | {} |\n", describe(p)));
    }
    Artifact::new("STACK.md", out)
}

fn describe(p: &str) -> &'static str {
    match p {
        _ if p.starts_with("prometheus/rules/") => "Prometheus rules",
        _ if p.starts_with("prometheus/tests/") => "promtool unit tests of the rules",
        "prometheus/prometheus.yml" => "Prometheus configuration",
        "prometheus/web.yml" => "Prometheus's basic authentication (the password's hash)",
        "prometheus/client.yml" => "how Prometheus's healthcheck logs in",
        "alertmanager/web.yml" => "Alertmanager's basic authentication (the password's hash)",
        "alertmanager/client.yml" => "how Alertmanager's healthcheck logs in",
        _ if p.starts_with("alertmanager/") => "Alertmanager configuration and templates",
        _ if p.starts_with("loki/rules/") => "Loki log-based alert rules",
        _ if p.starts_with("loki/") => "Loki configuration",
        _ if p.starts_with("promtail/") => "Promtail configuration",
        _ if p.starts_with("alloy/") => "Alloy configuration",
        _ if p.starts_with("grafana/provisioning/") => "Grafana provisioning",
        _ if p.starts_with("grafana/dashboards/") => "Grafana dashboard",
        _ if p.starts_with("backup/") => "backup runner",
        _ if p.starts_with("postgres/") => "PostgreSQL set-up: the query-statistics job's script",
        "compose.yaml" => "the compose file",
        "docker-socket-proxy/haproxy.cfg" => "the Docker socket proxy: the only API calls it lets through",
        "containerd-socket-proxy/haproxy.cfg" => "the containerd socket proxy: cAdvisor's one call, and nothing else",
        ".env.example" => "environment variables to set",
        _ => "generated",
    }
}

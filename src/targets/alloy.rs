//! Alloy's configuration. On compose, `alloy/config.alloy` (`lower`; `logs.collector: alloy`,
//! the default: Promtail reached end of life on 2026-03-02): the same Docker discovery and
//! relabelling as Promtail's config, the same file jobs, the same pipelines and redaction (from
//! `promtail::pipeline`), written as Alloy components. On Kubernetes, the configuration of
//! Alloy's DaemonSet (`pods`, which `targets::kubernetes::alloy` puts in a ConfigMap): the
//! services' pods instead of Docker's containers, with the same pipelines and redaction.

use super::Artifact;
use super::paths::{ALLOY_CONFIG, LOKI_ADDR};
use super::promtail::pipeline::{self, Stage};
use super::promtail::{COMPOSE_SERVICE_LABEL, docker_api};
use crate::ir::{Place, Service, Stack};
use crate::manifest::model::Collector;
use std::fmt::Write as _;

/// A string literal in Alloy's syntax (Go-style escapes).
pub fn lit(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A component name: Alloy labels are identifiers.
fn ident(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect()
}

fn map(keys: &[String], value: impl Fn(&str) -> String) -> String {
    let entries: Vec<String> = keys.iter().map(|k| format!("{} = {}", lit(k), value(k))).collect();
    format!("{{ {} }}", entries.join(", "))
}

fn stage(out: &mut String, indent: &str, s: &Stage) {
    match s {
        Stage::Json(f) => {
            let _ = writeln!(out, "{indent}stage.json {{\n{indent}  expressions = {}\n{indent}}}", map(f, lit));
        }
        Stage::Logfmt(f) => {
            let _ = writeln!(out, "{indent}stage.logfmt {{\n{indent}  mapping = {}\n{indent}}}", map(f, |_| lit("")));
        }
        Stage::Regex(e) => {
            let _ = writeln!(out, "{indent}stage.regex {{\n{indent}  expression = {}\n{indent}}}", lit(e));
        }
        Stage::Multiline(f) => {
            let _ = writeln!(
                out,
                "{indent}stage.multiline {{\n{indent}  firstline     = {}\n{indent}  max_wait_time = \"3s\"\n{indent}}}",
                lit(f)
            );
        }
        Stage::Labels(l) => {
            let _ = writeln!(out, "{indent}stage.labels {{\n{indent}  values = {}\n{indent}}}", map(l, |_| lit("")));
        }
    }
}

fn redaction(out: &mut String, stack: &Stack) {
    for e in pipeline::redactions(&stack.logs.redact) {
        let _ = writeln!(
            out,
            "  stage.replace {{\n    expression = {}\n    replace    = {}\n  }}",
            lit(&e),
            lit(pipeline::MASK)
        );
    }
}

pub fn lower(stack: &Stack) -> Vec<Artifact> {
    if stack.logs.collector != Collector::Alloy {
        return Vec::new();
    }
    let mut out = head(stack, &format!("http://{}:{}/loki/api/v1/push", LOKI_ADDR.0, LOKI_ADDR.1));
    let docker = pipeline::container_services(stack);
    if !docker.is_empty() {
        let names: Vec<String> = docker.iter().map(|s| s.name.to_string()).collect();
        let _ = writeln!(
            out,
            "discovery.docker \"containers\" {{\n  host             = {}\n  refresh_interval = \"15s\"\n}}\n",
            lit(&docker_api())
        );
        // The keep rule filters the discovered targets before `loki.source.docker` sees them:
        // as its `relabel_rules`, a dropped container would still be tailed, its lines shipped
        // with no labels but the external ones (loki.source.docker's tailer.go, v1.18.1).
        let _ = writeln!(
            out,
            "discovery.relabel \"containers\" {{\n  targets = discovery.docker.containers.targets\n\n  rule {{\n    source_labels = [{svc}]\n    regex         = {}\n    action        = \"keep\"\n  }}\n\n  rule {{\n    source_labels = [{svc}]\n    target_label  = \"service\"\n  }}\n\n  rule {{\n    source_labels = [\"__meta_docker_container_name\"]\n    regex         = \"/?(.*)\"\n    target_label  = \"container\"\n  }}\n}}\n",
            lit(&names.join("|")),
            svc = lit(COMPOSE_SERVICE_LABEL)
        );
        let _ = writeln!(
            out,
            "loki.source.docker \"containers\" {{\n  host       = {}\n  targets    = discovery.relabel.containers.output\n  forward_to = [loki.process.containers.receiver]\n}}\n",
            lit(&docker_api())
        );
        process(&mut out, stack, "containers", "", &docker);
    }
    let files = pipeline::file_jobs(stack);
    for (name, path, format, labels) in files {
        let id = ident(&format!("file_{name}"));
        let _ = writeln!(
            out,
            "local.file_match \"{id}\" {{\n  path_targets = [{{ \"__path__\" = {}, \"service\" = {} }}]\n}}\n",
            lit(&path),
            lit(&name)
        );
        let _ = writeln!(
            out,
            "loki.source.file \"{id}\" {{\n  targets    = local.file_match.{id}.targets\n  forward_to = [loki.process.{id}.receiver]\n}}\n"
        );
        let _ = writeln!(out, "loki.process \"{id}\" {{");
        redaction(&mut out, stack);
        for st in pipeline::stages(format, &labels) {
            stage(&mut out, "  ", &st);
        }
        out.push_str("\n  forward_to = [loki.write.default.receiver]\n}\n\n");
    }
    vec![Artifact::new(ALLOY_CONFIG, out)]
}

/// The start of every config: Alloy's own logging, and where the lines go (`push`, Loki's
/// push API) with the stack's labels.
fn head(stack: &Stack, push: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "logging {{\n  level = \"info\"\n}}\n");
    let _ = writeln!(
        out,
        "loki.write \"default\" {{\n  endpoint {{\n    url = {}\n  }}\n  external_labels = {{ \"stack\" = {}, \"env\" = {} }}\n}}\n",
        lit(push),
        lit(stack.name.as_str()),
        lit(stack.env.as_str())
    );
    out
}

/// `loki.process "<id>"` for the lines of `services` (each labelled `service`): `first`, the
/// stages every line goes through before any other, then the redaction, then each service's
/// own parsing; on to `loki.write.default`.
fn process(out: &mut String, stack: &Stack, id: &str, first: &str, services: &[&Service]) {
    let _ = writeln!(out, "loki.process \"{id}\" {{");
    out.push_str(first);
    redaction(out, stack);
    for s in services {
        let stages = pipeline::stages(s.log_format, &s.log_labels);
        if stages.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n  stage.match {{\n    selector = {}\n", lit(&format!("{{service=\"{}\"}}", s.name)));
        for st in &stages {
            stage(out, "    ", st);
        }
        out.push_str("  }\n");
    }
    out.push_str("\n  forward_to = [loki.write.default.receiver]\n}\n\n");
}

/// The config of Alloy as a DaemonSet on Kubernetes (`targets::kubernetes::alloy`), which
/// pushes to `push`: on each node, the pods of each service in the cluster (its namespace,
/// its `pods` labels), read from the node's `/var/log/pods` files the kubelet writes (CRI
/// format), labelled `service`, `namespace`, `pod` and `container`, parsed and redacted as on
/// compose (only its `container`, when its pods run others). A service's `logs.path` is a file
/// in its container, which the node does not have:
/// its pods' output is read instead. Each service has a discovery of its own, so its labels
/// select its pods as the API server selects them; every discovery asks only for the pods of
/// the node Alloy runs on (the chart sets `HOSTNAME` to the node's name).
pub fn pods(stack: &Stack, push: &str) -> String {
    let mut out = head(stack, push);
    let mut services = Vec::new();
    for s in &stack.services {
        let Place::Cluster { namespace, pods, container, .. } = &s.place else { continue };
        services.push(s);
        let id = ident(&format!("pods_{}", s.name));
        let selector: Vec<String> = pods.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let _ = writeln!(
            out,
            "discovery.kubernetes \"{id}\" {{\n  role = \"pod\"\n\n  namespaces {{\n    names = [{}]\n  }}\n\n  selectors {{\n    role  = \"pod\"\n    field = \"spec.nodeName=\" + coalesce(sys.env(\"HOSTNAME\"), constants.hostname)\n    label = {}\n  }}\n}}\n",
            lit(namespace),
            lit(&selector.join(","))
        );
        // Its own container only, when its pods run others (sidecars, or another service's).
        let keep = container.as_ref().map_or(String::new(), |c| {
            format!(
                "  rule {{\n    source_labels = [\"__meta_kubernetes_pod_container_name\"]\n    regex         = {}\n    action        = \"keep\"\n  }}\n\n",
                lit(c)
            )
        });
        let _ = writeln!(
            out,
            "discovery.relabel \"{id}\" {{\n  targets = discovery.kubernetes.{id}.targets\n\n{keep}  rule {{\n    target_label = \"service\"\n    replacement  = {}\n  }}\n}}\n",
            lit(s.name.as_str())
        );
    }
    if services.is_empty() {
        return out;
    }
    let all: Vec<String> = services
        .iter()
        .map(|s| format!("    discovery.relabel.{}.output,\n", ident(&format!("pods_{}", s.name))))
        .collect();
    // One target per container port (the pod role's): loki.source.file reads each file once
    // for a path and its labels (its `scheduleSources`, v1.19), and the labels here leave the
    // ports out. `local.file_match` expands each target's `__path__` glob into its files (the
    // kubelet's `/var/log/pods/<namespace>_<pod>_<uid>/<container>/<restart>.log`).
    let _ = writeln!(
        out,
        "discovery.relabel \"pods\" {{\n  targets = array.concat(\n{}  )\n\n  rule {{\n    source_labels = [\"__meta_kubernetes_namespace\"]\n    target_label  = \"namespace\"\n  }}\n\n  rule {{\n    source_labels = [\"__meta_kubernetes_pod_name\"]\n    target_label  = \"pod\"\n  }}\n\n  rule {{\n    source_labels = [\"__meta_kubernetes_pod_container_name\"]\n    target_label  = \"container\"\n  }}\n\n  rule {{\n    source_labels = [\"__meta_kubernetes_pod_uid\", \"__meta_kubernetes_pod_container_name\"]\n    separator     = \"/\"\n    target_label  = \"__path__\"\n    replacement   = \"/var/log/pods/*$1/*.log\"\n  }}\n}}\n",
        all.concat()
    );
    let _ = writeln!(out, "local.file_match \"pods\" {{\n  path_targets = discovery.relabel.pods.output\n}}\n");
    let _ = writeln!(
        out,
        "loki.source.file \"pods\" {{\n  targets    = local.file_match.pods.targets\n  forward_to = [loki.process.pods.receiver]\n}}\n"
    );
    // The kubelet's files are CRI lines (time, stream, partial flag, text): `stage.cri` makes
    // each the container's own line again, joins partial ones and labels its `stream`. The
    // `filename` label loki.source.file adds names the pod's UID: a new stream for every pod,
    // left out after the CRI stage has joined each file's partial lines.
    let first = "  stage.cri { }\n\n  stage.label_drop {\n    values = [\"filename\"]\n  }\n";
    process(&mut out, stack, "pods", first, &services);
    out
}

//! `promtail/promtail-config.yml`: container logs through Docker discovery, kept to the
//! manifest's services, with the labels `stack`, `env`, `service`, `container`; services with
//! `logs.path` and the `logs.sources` files as file jobs; a pipeline per log format; and secrets
//! masked by `replace` stages before any other stage, so nothing after them (or Loki) sees them.

pub mod pipeline;

use super::Artifact;
use super::paths::{LOKI_ADDR, PROMTAIL_CONFIG, PROMTAIL_PORT, PROMTAIL_POSITIONS};
use crate::ir::Stack;
use crate::manifest::model::LogFormat;
use pipeline::Stage;
use serde_json::{Value, json};

/// The Docker API Promtail and Alloy discover and read containers through: the socket proxy's
/// (`tcp://`, not `http://`: Alloy's Docker source puts its refresh interval as a timeout on an
/// `http://` host's client, which would cut the log streams it follows).
pub fn docker_api() -> String {
    format!("tcp://{}:{}", super::paths::DOCKER_SOCKET_PROXY_ADDR.0, super::paths::DOCKER_SOCKET_PROXY_ADDR.1)
}
/// The compose label that names a container's service.
pub const COMPOSE_SERVICE_LABEL: &str = "__meta_docker_container_label_com_docker_compose_service";

fn stage_json(s: &Stage) -> Value {
    match s {
        Stage::Json(fields) => {
            json!({ "json": { "expressions": fields.iter().map(|f| (f.clone(), Value::String(f.clone()))).collect::<serde_json::Map<_, _>>() } })
        }
        Stage::Logfmt(fields) => {
            json!({ "logfmt": { "mapping": fields.iter().map(|f| (f.clone(), Value::String(f.clone()))).collect::<serde_json::Map<_, _>>() } })
        }
        Stage::Regex(e) => json!({ "regex": { "expression": e } }),
        Stage::Multiline(first) => json!({ "multiline": { "firstline": first, "max_wait_time": "3s" } }),
        Stage::Labels(ls) => {
            json!({ "labels": ls.iter().map(|l| (l.clone(), Value::Null)).collect::<serde_json::Map<_, _>>() })
        }
    }
}

/// The redaction stages, which run first in every job.
fn redaction(stack: &Stack) -> Vec<Value> {
    pipeline::redactions(&stack.logs.redact)
        .into_iter()
        .map(|e| json!({ "replace": { "expression": e, "replace": pipeline::MASK } }))
        .collect()
}

fn format_stages(format: LogFormat, labels: &[String]) -> Vec<Value> {
    pipeline::stages(format, labels).iter().map(stage_json).collect()
}

fn regex_alternatives(names: &[&str]) -> String {
    names.iter().map(|n| n.replace('.', "\\.")).collect::<Vec<_>>().join("|")
}

fn static_labels(stack: &Stack) -> serde_json::Map<String, Value> {
    let mut m = serde_json::Map::new();
    m.insert("stack".into(), json!(stack.name.as_str()));
    m.insert("env".into(), json!(stack.env.as_str()));
    m
}

pub fn lower(stack: &Stack) -> Vec<Artifact> {
    if stack.logs.collector != crate::manifest::model::Collector::Promtail {
        return Vec::new();
    }
    let docker = pipeline::container_services(stack);
    let mut jobs = Vec::new();
    if !docker.is_empty() {
        let names: Vec<&str> = docker.iter().map(|s| s.name.as_str()).collect();
        let mut relabel = vec![
            json!({ "source_labels": [COMPOSE_SERVICE_LABEL], "regex": regex_alternatives(&names), "action": "keep" }),
            json!({ "source_labels": [COMPOSE_SERVICE_LABEL], "target_label": "service" }),
            json!({ "source_labels": ["__meta_docker_container_name"], "regex": "/?(.*)", "target_label": "container" }),
        ];
        for (k, v) in static_labels(stack) {
            relabel.push(json!({ "target_label": k, "replacement": v }));
        }
        // Redaction for every line, then one `match` per service, selecting its format's
        // stages by the `service` label.
        let mut stages = redaction(stack);
        for s in &docker {
            let format = format_stages(s.log_format, &s.log_labels);
            if !format.is_empty() {
                stages
                    .push(json!({ "match": { "selector": format!("{{service=\"{}\"}}", s.name), "stages": format } }));
            }
        }
        jobs.push(json!({
            "job_name": "containers",
            "docker_sd_configs": [ { "host": docker_api(), "refresh_interval": "15s" } ],
            "relabel_configs": relabel,
            "pipeline_stages": stages,
        }));
    }
    let files = pipeline::file_jobs(stack);
    for (name, path, format, labels) in files {
        let mut l = static_labels(stack);
        l.insert("service".into(), json!(name));
        l.insert("__path__".into(), json!(path));
        jobs.push(json!({
            "job_name": format!("file-{name}"),
            "static_configs": [ { "targets": ["localhost"], "labels": l } ],
            "pipeline_stages": redaction(stack).into_iter().chain(format_stages(format, &labels)).collect::<Vec<_>>(),
        }));
    }
    let config = json!({
        "server": { "http_listen_port": PROMTAIL_PORT, "grpc_listen_port": 0, "log_level": "info" },
        "positions": { "filename": PROMTAIL_POSITIONS },
        "clients": [ { "url": format!("http://{}:{}/loki/api/v1/push", LOKI_ADDR.0, LOKI_ADDR.1) } ],
        "scrape_configs": jobs,
    });
    vec![Artifact::new(PROMTAIL_CONFIG, serde_saphyr::to_string(&config).expect("promtail config serializes"))]
}

//! `manifests/scrape/`: what Prometheus scrapes and probes, as the Prometheus Operator's
//! objects, each labelled `release: <release>` so kube-prometheus-stack's Prometheus selects it
//! (the chart's `*SelectorNilUsesHelmValues: true`, its default), and each target labelled as
//! compose's `prometheus.yml` labels it (`service`, `service_kind`, and `probe`), the labels
//! the rules select by:
//!
//! - a service with an exporter: a `ServiceMonitor` of the exporter's Service (`exporters`);
//! - a service scraped directly, in the cluster: a `ServiceMonitor` of its Service, selected by
//!   its labels in its namespace, on the pods' metrics port (`targetPort`: the pods must name
//!   it among their container ports);
//! - a service scraped directly, outside the cluster: a `ScrapeConfig` of its address;
//! - a health or certificate probe: a `Probe` through the blackbox exporter (`exporters`).
//!
//! The labels are set by `relabelings` that come after the operator's own (which set `service`
//! to the Kubernetes Service's name, and `job` to it too): the rules and dashboards see the
//! stack's service, and its job named as compose names it (`jobName` of the others).

use super::exporters::{METRICS_PORT, blackbox_address, exporter, selector};
use super::{MANIFESTS_DIR, chart_selected, file, object, object_name};
use crate::ir::{Place, Service, Stack, defaults};
use crate::targets::Artifact;
use crate::targets::paths::{BLACKBOX_ADDR, BLACKBOX_JOB};
use crate::targets::prometheus::{FALLBACK_SCRAPE_PROTOCOL, probe_labels, probes, service_labels};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

pub const SCRAPE_DIR: &str = "scrape";

pub fn lower(stack: &Stack) -> Vec<Artifact> {
    let mut out = Vec::new();
    for s in &stack.services {
        let part = crate::targets::service_part(&s.name, &[]);
        let name = object_name(stack, s.name.as_str());
        let scrape = match exporter(stack, s) {
            Some((c, _)) => Some(service_monitor(
                stack,
                &name,
                selector(stack, c),
                &stack.kubernetes.namespace,
                json!({ "port": METRICS_PORT }),
                as_service(s),
                None,
            )),
            // A kind with an exporter whose exporter the cluster does not run (SL903).
            None if crate::kinds::def(s.kind).exporter.is_some() => None,
            None => s.metrics_path.as_ref().map(|path| direct(stack, &name, s, path)),
        };
        if let Some(o) = scrape {
            out.push(file(format!("{MANIFESTS_DIR}/{SCRAPE_DIR}/{}.yaml", s.name), &o).from_part(&part));
        }
        for (probe, module, target) in probes(s) {
            let o = scrape_object(
                stack,
                "monitoring.coreos.com/v1",
                "Probe",
                &format!("{name}-{probe}"),
                json!({
                    "jobName": format!("{}-{probe}", s.name),
                    "module": module,
                    // The path the CRD defaults to, given: the operator writes what the
                    // object says, and an object not defaulted by an API server (a GitOps
                    // tool's dry run) would otherwise scrape the blackbox exporter's `/metrics`.
                    "prober": { "url": blackbox_address(stack), "path": "/probe" },
                    "targets": { "staticConfig": { "static": [target], "labels": probe_labels(s, probe) } },
                }),
            );
            out.push(file(format!("{MANIFESTS_DIR}/{SCRAPE_DIR}/{}-{probe}.yaml", s.name), &o).from_part(&part));
        }
    }
    // The blackbox exporter the probes go through, scraped as compose scrapes it (job
    // `blackbox`): `MonitoringTargetDown` says when it is down, and with it every probe.
    if let Some(c) = stack.component(defaults::BLACKBOX_EXPORTER.name) {
        let o = service_monitor(
            stack,
            &object_name(stack, c.name.as_str()),
            selector(stack, c),
            &stack.kubernetes.namespace,
            json!({ "port": METRICS_PORT }),
            as_on_compose(BLACKBOX_JOB, BLACKBOX_ADDR),
            None,
        );
        out.push(file(format!("{MANIFESTS_DIR}/{SCRAPE_DIR}/{}.yaml", c.name), &o));
    }
    out
}

/// A service scraped on its own metrics: its Service's pods in the cluster, or its address
/// outside it.
fn direct(stack: &Stack, name: &str, s: &Service, path: &str) -> Value {
    match &s.place {
        Place::Cluster { namespace, selector, .. } => service_monitor(
            stack,
            name,
            selector.iter().map(|(k, v)| (k.clone(), json!(v))).collect(),
            namespace,
            json!({ "targetPort": s.metrics_port, "path": path }),
            as_service(s),
            Some(FALLBACK_SCRAPE_PROTOCOL),
        ),
        Place::Outside { address } => scrape_object(
            stack,
            "monitoring.coreos.com/v1alpha1",
            "ScrapeConfig",
            name,
            json!({
                "jobName": s.name.as_str(),
                "metricsPath": path,
                "fallbackScrapeProtocol": FALLBACK_SCRAPE_PROTOCOL,
                "staticConfigs": [{ "targets": [format!("{address}:{}", s.metrics_port)], "labels": service_labels(s) }],
            }),
        ),
    }
}

/// Relabelings that label a service's targets as compose's `prometheus.yml` does, and `job`
/// as compose names the service's job: the dashboards select by it.
fn as_service(s: &Service) -> Value {
    let mut labels = service_labels(s);
    labels.insert("job".into(), s.name.to_string());
    json!(relabelings(labels))
}

/// A ServiceMonitor of the Services `select` matches in `namespace`, on `endpoint`, its
/// targets relabelled by `relabelings`.
fn service_monitor(
    stack: &Stack,
    name: &str,
    select: Map<String, Value>,
    namespace: &str,
    mut endpoint: Value,
    relabelings: Value,
    fallback: Option<&str>,
) -> Value {
    endpoint["relabelings"] = relabelings;
    let mut spec = json!({
        "selector": { "matchLabels": Value::Object(select) },
        "namespaceSelector": { "matchNames": [namespace] },
        "endpoints": [endpoint],
    });
    if let Some(f) = fallback {
        spec["fallbackScrapeProtocol"] = json!(f);
    }
    scrape_object(stack, "monitoring.coreos.com/v1", "ServiceMonitor", name, spec)
}

/// Relabelings that label a target of the stack's own programs as compose does: `job`, and
/// `instance` its compose name and port, without the operator's `pod`, `service`, `container`
/// and `endpoint` labels (a new pod would start new series).
pub fn as_on_compose(job: &str, (host, port): (&str, u16)) -> Value {
    json!([
        { "action": "replace", "targetLabel": "job", "replacement": job },
        { "action": "replace", "targetLabel": "instance", "replacement": format!("{host}:{port}") },
        { "action": "labeldrop", "regex": "pod|service|container|endpoint" },
    ])
}

/// Relabelings that set each of `labels` on every target.
fn relabelings(labels: BTreeMap<String, String>) -> Vec<Value> {
    labels.into_iter().map(|(k, v)| json!({ "action": "replace", "targetLabel": k, "replacement": v })).collect()
}

/// One of the operator's scrape objects, labelled for the chart's Prometheus.
fn scrape_object(stack: &Stack, api_version: &str, kind: &str, name: &str, spec: Value) -> Value {
    object(stack, api_version, kind, name, chart_selected(stack), Map::from_iter([("spec".to_string(), spec)]))
}

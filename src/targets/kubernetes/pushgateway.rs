//! The Pushgateway on Kubernetes, when the manifest has batch `jobs` or backups (`backups`): `helm/pushgateway.values.yaml`,
//! the overlay for prometheus-community's `prometheus-pushgateway` chart (its `values.yaml`
//! and templates), installed as release `pushgateway` in the stack's namespace. The batch jobs
//! and the backups' CronJobs push their results to it, and their rules (`rules::jobs`,
//! `rules::backups`) read them as on compose.
//!
//! - Its Service is `pushgateway` on 9091 (`fullnameOverride`): a job in the stack's namespace
//!   pushes to `http://pushgateway:9091` as on compose, one elsewhere to
//!   `http://pushgateway.<namespace>.svc:9091` (`url`).
//! - It runs the image and limits the stack gives it, keeps the pushed results in a file on its
//!   own volume (`persistentVolume`, 100 MiB: a few lines per job), written every minute and
//!   when it stops, as compose's `--persistence.file` on its volume: a restart loses at most
//!   the last minute's results (none when it is stopped, not killed).
//! - It has no authentication, as on compose: a NetworkPolicy (`networkPolicy.customSelectors`)
//!   lets in only the stack's namespace (the chart's Prometheus) and the namespaces of the
//!   batch jobs' services, where the cluster's network enforces one. Its container is hardened
//!   as the exporters' are (no privilege escalation, no capability, a read-only root, the
//!   runtime's seccomp profile).
//! - Its ServiceMonitor, labelled for the chart's Prometheus, scrapes it as compose's
//!   `prometheus.yml` does: job `pushgateway` (the job compose's and the kept monitoring rules
//!   select) and instance `pushgateway:9091`, none of the operator's `pod`, `service`,
//!   `container` and `endpoint` labels (the stored series are compose's, with `namespace`),
//!   `honorLabels: false` (the chart's default is true: a pushed `job` would replace
//!   the target's), and the pushed `job` renamed `batch_job` by the same metric relabelling
//!   (`targets::prometheus::pushgateway_metric_relabelings`), the label the rules select by.

use super::values::{image_of, quantity};
use super::{HELM_DIR, file, hardened, resources};
use crate::ir::{Stack, defaults};
use crate::targets::Artifact;
use crate::targets::paths::PUSHGATEWAY_ADDR;
use serde_json::json;

/// The label Kubernetes gives every namespace, its name (since 1.22).
const NAMESPACE_LABEL: &str = "kubernetes.io/metadata.name";

/// Where the chart mounts its volume (`persistentVolume.mountPath`).
const DATA: &str = "/data";

/// The Pushgateway's address in the cluster, where batch jobs push: its Service, named as
/// compose names the Pushgateway, in the stack's namespace.
pub fn url(stack: &Stack) -> String {
    let (host, port) = PUSHGATEWAY_ADDR;
    format!("http://{host}.{}.svc:{port}", stack.kubernetes.namespace)
}

pub fn lower(stack: &Stack) -> Vec<Artifact> {
    let Some(c) = stack.component(defaults::PUSHGATEWAY.name) else { return Vec::new() };
    let (host, port) = PUSHGATEWAY_ADDR;
    // The chart names the image `<registry>/<repository>:<tag>`: a digest goes after the tag.
    let mut image = image_of(c);
    if let Some(d) = c.image.digest() {
        image["tag"] = json!(format!("{}@{d}", image["tag"].as_str().unwrap_or("latest")));
    }
    let mut volume = json!({ "enabled": true, "mountPath": DATA });
    if let Some(d) = &c.disk {
        volume["size"] = json!(quantity(d.bytes()));
    }
    // Who may reach it: the chart's Prometheus, in the stack's namespace, and the batch jobs,
    // in their services' (it has no authentication: anyone who reaches it can report a success).
    let mut namespaces = vec![stack.kubernetes.namespace.as_str()];
    for j in &stack.jobs {
        let ns = stack.services.iter().find(|s| s.name == j.service).and_then(|s| s.place.namespace());
        namespaces.extend(ns.filter(|n| !namespaces.contains(n)));
    }
    let from: Vec<_> =
        namespaces.iter().map(|n| json!({ "namespaceSelector": { "matchLabels": { NAMESPACE_LABEL: n } } })).collect();
    let values = json!({
        "fullnameOverride": host,
        // It asks nothing of the Kubernetes API.
        "automountServiceAccountToken": false,
        "image": image,
        "resources": resources(c),
        "service": { "port": port, "targetPort": port },
        "extraArgs": [format!("--persistence.file={DATA}/pushgateway.db"), "--persistence.interval=1m"],
        "persistentVolume": volume,
        // Hardened as the tree's exporters are (the chart already runs it as nobody).
        "securityContext": { "seccompProfile": { "type": "RuntimeDefault" } },
        "containerSecurityContext": hardened(),
        "networkPolicy": { "customSelectors": from },
        "serviceMonitor": {
            "enabled": true,
            // The chart's default is the namespace `monitoring`.
            "namespace": stack.kubernetes.namespace,
            "additionalLabels": { "release": stack.kubernetes.release },
            "interval": stack.scrape_interval.canonical(),
            "honorLabels": false,
            // Its target labelled as compose labels it (a pushed `service`, the backups', would
            // otherwise be renamed).
            "relabelings": super::scrape::as_on_compose(host, (host, port)),
            "metricRelabelings": crate::targets::prometheus::pushgateway_metric_relabelings(),
        },
    });
    let part = if stack.jobs.is_empty() { "/backups" } else { "/jobs" };
    vec![file(format!("{HELM_DIR}/pushgateway.values.yaml"), &values).from_part(part)]
}

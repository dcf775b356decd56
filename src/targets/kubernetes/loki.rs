//! Loki on Kubernetes: `helm/loki.values.yaml`, the overlay for the `loki` chart (the OSS
//! chart of grafana-community/helm-charts, `charts/loki`, which grafana/loki's own chart moved
//! to in 2026) in monolithic mode, installed as release `loki` in the stack's namespace; and
//! `manifests/logs/loki-rules-<file>.yaml`, the log alerts of `targets::loki::rules` as
//! ConfigMaps its rules sidecar loads.
//!
//! The overlay, each value from the chart's `values.yaml` and templates:
//! - `deploymentMode: Monolithic`, one replica (`singleBinary`), the scalable targets (backend,
//!   read, write) at none, and no memcached caches (the chunks cache alone asks for 9.8 GiB);
//!   no canary and no Helm test (which needs the canary);
//! - one tenant (`auth_enabled: false`, tenant `fake`), as on compose;
//! - the chunks and index (TSDB, schema v13) on the pod's volume (`observability.loki.disk`),
//!   or in the manifest's `kubernetes.loki_bucket` (S3-compatible), its access key from the
//!   stack's Secret in the AWS SDK's own variables (`AWS_ACCESS_KEY_ID`,
//!   `AWS_SECRET_ACCESS_KEY`), which Loki's S3 client reads when its configuration names no
//!   key: the key is in no file, and no variable is expanded into the configuration text;
//! - retention from `logs.retention` by the compactor, as on compose;
//! - the ruler reading the rule files from local storage, `/rules/<tenant>/`, where the
//!   chart's sidecar writes the ConfigMaps labelled `loki_rule` (`sidecar.rules.folder`; the
//!   rules of tenant `fake` in `/rules/fake`), and sending to the chart's Alertmanager;
//! - its rights in the stack's namespace only (`rbac.namespaced`: the chart's default is a
//!   ClusterRole that reads every Secret of the cluster; its Role still names the namespace's
//!   Secrets, which the chart writes for the sidecar), the sidecar watching ConfigMaps only;
//! - its ServiceMonitor, for the chart's Prometheus, scraping Loki as job `loki`, so that
//!   compose's rules about Loki (down, rule evaluations failing, alerts not delivered) are kept
//!   and fire on the cluster too (`rules::kept`).

use super::values::quantity;
use super::{
    HELM_DIR, MANIFESTS_DIR, chart_service_url, file, image_with_digest, labels, object, object_name, resources,
    secret_key,
};
use crate::ir::{Stack, defaults};
use crate::targets::Artifact;
use crate::targets::loki::{TENANT, compactor, limits_config, rules, schema_config};
use serde_json::{Map, json};

/// The `loki` chart's release: its gateway Service, `loki-gateway` on port 80, is what Grafana
/// reads from and Alloy pushes to.
pub const RELEASE: &str = "loki";
/// The label the chart's rules sidecar loads ConfigMaps by (any value).
pub const RULE_LABEL: &str = "loki_rule";
/// Where the ruler reads rules from: a directory per tenant.
const RULES_DIRECTORY: &str = "/rules";
/// Loki's volume in the chart (`loki.commonConfig.path_prefix`).
const DATA: &str = "/var/loki";
/// The variables the bucket's access key is read into: the AWS SDK's own.
const ACCESS_KEY_VAR: &str = "AWS_ACCESS_KEY_ID";
const SECRET_KEY_VAR: &str = "AWS_SECRET_ACCESS_KEY";

/// Loki's address in the cluster, as Grafana reads it: the chart's gateway.
pub fn url(stack: &Stack) -> String {
    format!("http://{RELEASE}-gateway.{}.svc", stack.kubernetes.namespace)
}

/// Where Alloy pushes the lines: Loki's push API behind the gateway.
pub fn push_url(stack: &Stack) -> String {
    format!("{}/loki/api/v1/push", url(stack))
}

pub fn lower(stack: &Stack, boards: &crate::targets::grafana::dashboards::ServiceBoards) -> Vec<Artifact> {
    let mut out = vec![values(stack)];
    for (origin, g) in rules::kind_groups(stack, boards) {
        let text = serde_saphyr::to_string(&crate::targets::rules::model::RuleFile { groups: vec![g.clone()] })
            .expect("rule files serialize");
        let name = object_name(stack, &format!("loki-rules-{}", g.name));
        let mut l = labels(stack);
        l.insert(RULE_LABEL.into(), json!("1"));
        // The key is the file's name in the tenant's directory, which every stack's rules share.
        let data = Map::from_iter([("data".to_string(), json!({ format!("{name}.yaml"): text }))]);
        let o = object(stack, "v1", "ConfigMap", &name, l, data);
        out.push(file(format!("{MANIFESTS_DIR}/logs/loki-rules-{}.yaml", g.name), &o).from_part(&origin));
    }
    out
}

fn values(stack: &Stack) -> Artifact {
    let bucket = stack.kubernetes.loki_bucket.as_ref();
    let store = if bucket.is_some() { "s3" } else { "filesystem" };
    let mut loki = json!({
        "auth_enabled": false,
        "commonConfig": { "replication_factor": 1 },
        "storage": { "type": store },
        "schemaConfig": schema_config(store),
        "limits_config": limits_config(stack),
        "compactor": compactor(DATA, store),
        "rulerConfig": {
            "storage": { "type": "local", "local": { "directory": RULES_DIRECTORY } },
            "alertmanager_url": chart_service_url(stack, "alertmanager", 9093),
            "enable_api": true,
        },
        "analytics": { "reporting_enabled": false },
    });
    let mut single = json!({ "replicas": 1 });
    if let Some(b) = bucket {
        let mut s3 =
            json!({ "s3ForcePathStyle": b.path_style.unwrap_or(false), "insecure": b.insecure.unwrap_or(false) });
        if let Some(e) = &b.endpoint {
            s3["endpoint"] = json!(e);
        }
        s3["region"] = json!(b.region);
        if let Some(c) = &b.credentials {
            let from = |var: &str, r| json!({ "name": var, "valueFrom": { "secretKeyRef": { "name": super::secrets_name(stack), "key": secret_key(r) } } });
            single["extraEnv"] =
                json!([from(ACCESS_KEY_VAR, &c.access_key_id), from(SECRET_KEY_VAR, &c.secret_access_key)]);
        }
        loki["storage"]["bucketNames"] = json!({ "chunks": b.name });
        loki["storage"]["s3"] = s3;
    }
    if let Some(c) = stack.component(defaults::LOKI.name) {
        loki["image"] = image_with_digest(c);
        single["resources"] = resources(c);
        let mut persistence = json!({ "enabled": true });
        if let Some(d) = &c.disk {
            persistence["size"] = json!(quantity(d.bytes()));
        }
        single["persistence"] = persistence;
    }
    let none = json!({ "replicas": 0 });
    let off = json!({ "enabled": false });
    let values = json!({
        "deploymentMode": "Monolithic",
        "loki": loki,
        "singleBinary": single,
        "backend": none, "read": none, "write": none,
        "chunksCache": off, "resultsCache": off, "lokiCanary": off, "test": off,
        "rbac": { "namespaced": true },
        // Scraped by the kube-prometheus-stack's Prometheus (its `release` label) as job `loki`,
        // the Service's name (no `<namespace>/` prefix), which the kept monitoring rules select
        // as on compose (`rules::KEPT_JOBS`), at the stack's interval.
        "monitoring": { "serviceMonitor": {
            "enabled": true,
            "labels": { "release": stack.kubernetes.release },
            "jobPrefix": "",
            "interval": stack.scrape_interval.canonical(),
        } },
        "sidecar": { "rules": {
            "enabled": true,
            "label": RULE_LABEL,
            "folder": format!("{RULES_DIRECTORY}/{TENANT}"),
            // The rules are ConfigMaps: the sidecar need not watch the namespace's Secrets.
            "resource": "configmap",
        } },
    });
    file(format!("{HELM_DIR}/loki.values.yaml"), &values).from_part("/logs")
}

//! `helm/kube-prometheus-stack.values.yaml`: the overlay for the kube-prometheus-stack chart
//! (`helm upgrade --install ... -f` it after the team's own values). It pins Prometheus,
//! Alertmanager and Grafana to the releases the stack is written and tested for (the chart's
//! own are newer or older), carries the stack's intervals, retention (time and size), memory
//! and CPU limits and Prometheus's storage, gives Alertmanager a volume, points it at the
//! generated configuration Secret and mounts the stack's Secret, turns off the chart's own
//! Grafana datasources (the generated ones replace them: two default datasources would stop
//! Grafana's provisioning), sets Grafana's settings as compose does, and turns off the chart's
//! own `Watchdog` and `InfoInhibitor` alerts (the stack's heartbeat is its own `Watchdog`).

use super::alertmanager::config_secret;
use super::{HELM_DIR, file, resources, secrets_name};
use crate::ir::{Component, Stack, defaults};
use crate::targets::Artifact;
use serde_json::{Map, Value, json};

pub const VALUES_FILE: &str = "kube-prometheus-stack.values.yaml";

/// The components the chart runs whose images and limits the overlay gives, as compose runs
/// them: Prometheus, Alertmanager, Grafana. What the tree names of the stack's images
/// (`ir::Stack::images_mut`, for `pin: digest`).
pub const CHART_COMPONENTS: [&str; 3] =
    [defaults::PROMETHEUS.name, defaults::ALERTMANAGER.name, defaults::GRAFANA.name];

pub fn lower(stack: &Stack) -> Vec<Artifact> {
    let [mut prometheus, mut alertmanager, mut grafana] = CHART_COMPONENTS.map(|name| pinned(stack, name));
    if let Some(disk) = stack.component(defaults::PROMETHEUS.name).and_then(|c| c.disk.as_ref()) {
        prometheus.insert("storageSpec".into(), claim(disk.bytes()));
        // As compose: samples are dropped, oldest first, before the volume fills.
        prometheus.insert("retentionSize".into(), json!(crate::targets::prometheus::retention_size(disk)));
    }
    // As compose's prometheus.yml: every alert reaches Alertmanager with the stack's labels,
    // and the cluster's name when the manifest gives it.
    let mut external = json!({ "env": stack.env.as_str(), "stack": stack.name.as_str() });
    if let Some(cluster) = &stack.kubernetes.cluster {
        external["cluster"] = json!(cluster);
    }
    prometheus.insert("externalLabels".into(), external);
    if !stack.remote_write.is_empty() {
        prometheus.insert("remoteWrite".into(), json!(remote_write(stack)));
    }
    prometheus.insert("retention".into(), json!(stack.prometheus_retention.canonical()));
    prometheus.insert("scrapeInterval".into(), json!(stack.scrape_interval.canonical()));
    prometheus.insert("scrapeTimeout".into(), json!(stack.scrape_timeout.canonical()));
    prometheus.insert("evaluationInterval".into(), json!(stack.evaluation_interval.canonical()));
    alertmanager.insert("configSecret".into(), json!(config_secret(stack)));
    // Its silences and notification log on a volume, as compose's `alertmanager-data`: without
    // one (the operator's emptyDir) a restarted pod forgets them and silenced alerts notify.
    alertmanager.insert("storage".into(), claim(defaults::ALERTMANAGER_STORAGE));
    if super::alertmanager_reads_secrets(stack) {
        alertmanager.insert("secrets".into(), json!([secrets_name(stack)]));
    }
    // The chart's own datasources off (its Prometheus one, and its Alertmanager one, which has
    // a switch of its own): the generated ones, with the stack's UIDs, replace them.
    grafana.insert(
        "sidecar".into(),
        json!({ "datasources": { "defaultDatasourceEnabled": false, "alertmanager": { "enabled": false } } }),
    );
    // Grafana's settings, as compose's GF_ variables give them.
    let mut ini = Map::new();
    for (section, key, value) in crate::targets::grafana::settings(stack) {
        let s = ini.entry(section).or_insert_with(|| json!({}));
        s[key] = json!(value);
    }
    grafana.insert("grafana.ini".into(), Value::Object(ini));
    // The chart's own always-firing alerts: the stack's `Watchdog` is the heartbeat (its
    // routing sends it to `alerting.heartbeat`), and in the stack's routing tree, which has no
    // null receiver for them, each would notify the default receiver.
    let default_rules = json!({ "disabled": { "Watchdog": true, "InfoInhibitor": true } });
    let values = json!({
        "defaultRules": default_rules,
        "prometheus": { "prometheusSpec": Value::Object(prometheus) },
        "alertmanager": { "alertmanagerSpec": Value::Object(alertmanager) },
        "grafana": Value::Object(grafana),
    });
    vec![file(format!("{HELM_DIR}/{VALUES_FILE}"), &values)]
}

/// A volume of `bytes` for one pod of the chart's StatefulSets (`storageSpec`, `storage`).
fn claim(bytes: u64) -> Value {
    json!({ "volumeClaimTemplate": { "spec": {
        "accessModes": ["ReadWriteOnce"],
        "resources": { "requests": { "storage": quantity(bytes) } },
    } } })
}

/// The remote-write receivers, as the operator takes them (`RemoteWriteSpec`): the login's user
/// from the Secret `remote_write::lower` makes, its password from the stack's Secret.
fn remote_write(stack: &Stack) -> Vec<Value> {
    stack
        .remote_write
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let mut r = json!({ "url": w.url });
            if let Some(n) = &w.name {
                r["name"] = json!(n.as_str());
            }
            if !w.headers.is_empty() {
                r["headers"] = Value::Object(w.headers.iter().map(|(k, v)| (k.0.clone(), json!(v.0))).collect());
            }
            if let Some(l) = &w.basic_auth {
                r["basicAuth"] = json!({
                    "username": { "name": super::remote_write::users_name(stack), "key": super::remote_write::user_key(i) },
                    "password": { "name": secrets_name(stack), "key": super::secret_key(&l.password) },
                });
            }
            r
        })
        .collect()
}

/// A component's image and limits, as the chart's values for it take them.
fn pinned(stack: &Stack, name: &str) -> Map<String, Value> {
    let mut m = Map::new();
    if let Some(c) = stack.component(name) {
        m.insert("image".into(), image(c));
        m.insert("resources".into(), resources(c));
    }
    m
}

/// An image as kube-prometheus-stack's values take it: registry, repository, tag, and the
/// digest (`sha`, without its `sha256:`) when the stack is pinned by digest.
fn image(c: &Component) -> Value {
    let mut i = image_of(c);
    if let Some(d) = c.image.digest() {
        i["sha"] = json!(d.trim_start_matches("sha256:"));
    }
    i
}

/// An image's registry, repository in it, and tag.
pub fn image_of(c: &Component) -> Value {
    let repository = c.image.repository();
    let (registry, path) = match repository.split_once('/') {
        Some((first, rest)) if first.contains(['.', ':']) || first == "localhost" => (first, rest),
        _ => ("docker.io", repository),
    };
    json!({ "registry": registry, "repository": path, "tag": c.image.tag().unwrap_or("latest") })
}

/// A size as a Kubernetes quantity in the largest binary unit that divides it (`512Mi`).
pub fn quantity(bytes: u64) -> String {
    for (unit, shift) in [("Ti", 40), ("Gi", 30), ("Mi", 20), ("Ki", 10)] {
        let factor = 1u64 << shift;
        if bytes >= factor && bytes.is_multiple_of(factor) {
            return format!("{}{unit}", bytes / factor);
        }
    }
    bytes.to_string()
}

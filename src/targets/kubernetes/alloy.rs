//! Log collection on Kubernetes: Alloy as the `alloy` chart's DaemonSet, reading on each node
//! the pods of every service in the cluster (`targets::alloy::pods`) and pushing to Loki
//! (`loki`). `manifests/logs/alloy.yaml` is its configuration, the ConfigMap `<stack>-alloy`;
//! `helm/alloy.values.yaml` the overlay that has the chart run it (grafana/alloy's
//! `operations/helm/charts/alloy/values.yaml`): the ConfigMap given, not made
//! (`alloy.configMap.create: false`; the chart's config reloader still follows it), a DaemonSet
//! with the nodes' `/var/log` mounted read-only (`alloy.mounts.varlog`), no clustering (each
//! instance reads its own node's pods; clustering would hand a node's files to another node),
//! the image and limits the stack gives Alloy, and its positions on the node
//! (`alloy.storagePath` on a `hostPath`: the chart's default, `/tmp/alloy`, is lost with the
//! container, and every file would be read again). It runs on every Linux node, tainted ones
//! too (a node's pods are read only by the Alloy on it), may list and watch the pods of the
//! services' namespaces and nothing else (a Role in each; the chart's default is a ClusterRole
//! that also reads every Secret and ConfigMap), and sends no usage
//! reports, as on compose (`--disable-reporting`).

use super::{HELM_DIR, MANIFESTS_DIR, file, image_with_digest, labels, object, object_name, resources};
use crate::ir::{Stack, defaults};
use crate::targets::Artifact;
use serde_json::{Map, json};

/// The key of the ConfigMap Alloy reads its configuration from (the chart's default).
pub const CONFIG_KEY: &str = "config.alloy";
/// Where Alloy keeps its positions in the files, on the node.
const STORAGE_PATH: &str = "/var/lib/alloy/data";

pub fn lower(stack: &Stack) -> Vec<Artifact> {
    let config = crate::targets::alloy::pods(stack, &super::loki::push_url(stack));
    let name = object_name(stack, "alloy");
    let data = Map::from_iter([("data".to_string(), json!({ CONFIG_KEY: config }))]);
    let map = object(stack, "v1", "ConfigMap", &name, labels(stack), data);
    let mut alloy = json!({
        "configMap": { "create": false, "name": name, "key": CONFIG_KEY },
        "clustering": { "enabled": false },
        "mounts": {
            "varlog": true,
            "extra": [{ "name": "alloy-data", "mountPath": STORAGE_PATH }],
        },
        "storagePath": STORAGE_PATH,
        "enableReporting": false,
    });
    // Pods, in the services' namespaces: a Role in each (`rbac.namespaces`). Without a service
    // in the cluster, a ClusterRole: `rules` then `clusterRules`, each rendered as a YAML list,
    // where an empty one would break it (its `templates/rbac.yaml`), so both give the one rule.
    let pods = json!([{ "apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"] }]);
    let mut namespaces: Vec<&str> = stack.services.iter().filter_map(|s| s.place.namespace()).collect();
    namespaces.sort_unstable();
    namespaces.dedup();
    let mut values = json!({
        "rbac": { "create": true, "namespaces": namespaces, "rules": pods, "clusterRules": pods },
        "controller": {
            "type": "daemonset",
            "tolerations": [{ "operator": "Exists" }],
            "nodeSelector": { "kubernetes.io/os": "linux" },
            "volumes": { "extra": [{
                "name": "alloy-data",
                "hostPath": { "path": format!("/var/lib/{name}"), "type": "DirectoryOrCreate" },
            }] },
        },
    });
    if let Some(c) = stack.component(defaults::ALLOY.name) {
        alloy["resources"] = resources(c);
        values["image"] = image_with_digest(c);
    }
    values["alloy"] = alloy;
    vec![
        file(format!("{MANIFESTS_DIR}/logs/alloy.yaml"), &map).from_part("/logs"),
        file(format!("{HELM_DIR}/alloy.values.yaml"), &values).from_part("/logs"),
    ]
}

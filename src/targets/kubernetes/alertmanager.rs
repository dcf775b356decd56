//! `manifests/alertmanager/config.yaml`: Alertmanager's configuration and its notification
//! templates as the Secret the operator reads (`alertmanagerSpec.configSecret`, set by the
//! values overlay): the key `alertmanager.yaml` is the configuration, and the operator mounts
//! the other keys (the templates) in `/etc/alertmanager/config/`. Each receiver's secret is
//! read from the stack's Secret, which the overlay names in `alertmanagerSpec.secrets` and the
//! operator mounts in `/etc/alertmanager/secrets/<name>/`.
//!
//! Why not `AlertmanagerConfig`: the operator adds a `namespace` matcher to every route of one,
//! so an alert from a rule in another namespace, or with no namespace label, would reach none of
//! them; the stack's routing tree is the whole configuration, as on compose (docs/kubernetes.md).

use super::{MANIFESTS_DIR, file, labels, object, object_name, secret_key, secrets_name};
use crate::ir::Stack;
use crate::targets::Artifact;
use crate::targets::alertmanager::{TEMPLATE_FILE, config, template};
use serde_json::{Map, json};

/// Where the operator mounts the keys of the configuration Secret.
pub const CONFIG_MOUNT: &str = "/etc/alertmanager/config";
/// Where it mounts each Secret named in `alertmanagerSpec.secrets`.
pub const SECRETS_MOUNT: &str = "/etc/alertmanager/secrets";

/// The configuration Secret's name.
pub fn config_secret(stack: &Stack) -> String {
    object_name(stack, "alertmanager")
}

pub fn lower(stack: &Stack) -> Vec<Artifact> {
    let secrets = secrets_name(stack);
    let text =
        config(stack, &format!("{CONFIG_MOUNT}/*.tmpl"), &|r| format!("{SECRETS_MOUNT}/{secrets}/{}", secret_key(r)));
    let rest = Map::from_iter([
        ("type".to_string(), json!("Opaque")),
        ("stringData".to_string(), json!({ "alertmanager.yaml": text, TEMPLATE_FILE: template(stack) })),
    ]);
    let o = object(stack, "v1", "Secret", &config_secret(stack), labels(stack), rest);
    vec![file(format!("{MANIFESTS_DIR}/alertmanager/config.yaml"), &o)]
}

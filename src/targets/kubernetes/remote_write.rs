//! `manifests/prometheus/remote-write-users.yaml`: the users the remote-write receivers' logins
//! name, as the Secret `<stack>-remote-write-users` (the operator reads a login's user, like its
//! password, from a Secret's key; a user name is not a secret, and the manifest gives it). The
//! passwords are keys of the stack's Secret, which sightline never writes; the values overlay
//! names both (`values::remote_write`).

use super::{MANIFESTS_DIR, file, labels, object, object_name};
use crate::ir::Stack;
use crate::targets::Artifact;
use serde_json::{Map, Value, json};

/// The Secret's name.
pub fn users_name(stack: &Stack) -> String {
    object_name(stack, "remote-write-users")
}

/// The key of the `i`th receiver's user.
pub fn user_key(i: usize) -> String {
    format!("user-{i}")
}

pub fn lower(stack: &Stack) -> Vec<Artifact> {
    let users: Map<String, Value> = stack
        .remote_write
        .iter()
        .enumerate()
        .filter_map(|(i, w)| Some((user_key(i), json!(w.basic_auth.as_ref()?.user))))
        .collect();
    if users.is_empty() {
        return Vec::new();
    }
    let rest =
        Map::from_iter([("type".to_string(), json!("Opaque")), ("stringData".to_string(), Value::Object(users))]);
    let o = object(stack, "v1", "Secret", &users_name(stack), labels(stack), rest);
    vec![
        file(format!("{MANIFESTS_DIR}/prometheus/remote-write-users.yaml"), &o)
            .from_part("/observability/prometheus/remote_write"),
    ]
}

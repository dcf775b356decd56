//! `loki/loki-config.yml`: single-binary Loki 3.x on the compose volume, with retention that
//! really deletes, and the ruler evaluating `loki/rules/` against the generated Alertmanager.
//!
//! Choices, each from Loki's configuration reference:
//! - TSDB index, schema v13, 24h index period: what retention through the compactor requires;
//! - `compactor.retention_enabled` with `delete_request_store` set (Loki refuses retention
//!   without one) and its working directory on the volume;
//! - `limits_config.retention_period` from `logs.retention` (whole days, checked);
//! - `auth_enabled: false`: one tenant (`fake`), reached only on the internal network;
//! - the ruler reads rule files from local storage, `<directory>/<tenant>/*.yml`, and logs in
//!   to an Alertmanager behind `observability.alertmanager.auth` with `alertmanager_client`.

pub mod rules;

use super::Artifact;
use super::paths::{ALERTMANAGER_ADDR, LOKI_ADDR, LOKI_CONFIG, LOKI_DATA, LOKI_RULES_MOUNT, secret_file};
use crate::ir::Stack;
use serde_json::{Value, json};

/// The tenant of a Loki without authentication.
pub const TENANT: &str = "fake";

/// The index's schema: TSDB, v13, a 24h period, the chunks in `object_store`.
pub fn schema_config(object_store: &str) -> Value {
    json!({ "configs": [ {
        "from": "2024-01-01",
        "store": "tsdb",
        "object_store": object_store,
        "schema": "v13",
        "index": { "prefix": "index_", "period": "24h" },
    } ] })
}

/// The compactor that applies retention, its delete requests kept in `store` (where the chunks
/// are), its working directory on Loki's volume (`data`).
pub fn compactor(data: &str, store: &str) -> Value {
    json!({
        "working_directory": format!("{data}/compactor"),
        "compaction_interval": "10m",
        "retention_enabled": true,
        "retention_delete_delay": "2h",
        "delete_request_store": store,
    })
}

/// Retention (`logs.retention`) and what is accepted.
pub fn limits_config(stack: &Stack) -> Value {
    json!({
        "retention_period": stack.logs.retention.canonical(),
        "allow_structured_metadata": true,
        "reject_old_samples": true,
        "reject_old_samples_max_age": "168h",
    })
}

pub fn lower(stack: &Stack, boards: &crate::targets::grafana::dashboards::ServiceBoards) -> Vec<Artifact> {
    let mut config = json!({
        "auth_enabled": false,
        "server": {
            "http_listen_port": LOKI_ADDR.1,
            "grpc_listen_port": 9096,
            "log_level": "info",
        },
        "common": {
            "instance_addr": "127.0.0.1",
            "path_prefix": LOKI_DATA,
            "storage": { "filesystem": {
                "chunks_directory": format!("{LOKI_DATA}/chunks"),
                "rules_directory": format!("{LOKI_DATA}/rules"),
            } },
            "replication_factor": 1,
            "ring": { "kvstore": { "store": "inmemory" } },
        },
        "schema_config": schema_config("filesystem"),
        "storage_config": {
            "tsdb_shipper": {
                "active_index_directory": format!("{LOKI_DATA}/tsdb-index"),
                "cache_location": format!("{LOKI_DATA}/tsdb-cache"),
            },
            "filesystem": { "directory": format!("{LOKI_DATA}/chunks") },
        },
        "compactor": compactor(LOKI_DATA, "filesystem"),
        "limits_config": limits_config(stack),
        "ruler": {
            "storage": { "type": "local", "local": { "directory": LOKI_RULES_MOUNT } },
            "rule_path": format!("{LOKI_DATA}/rules-temp"),
            "alertmanager_url": format!("http://{}:{}", ALERTMANAGER_ADDR.0, ALERTMANAGER_ADDR.1),
            "enable_api": true,
            "ring": { "kvstore": { "store": "inmemory" } },
        },
        "analytics": { "reporting_enabled": false },
    });
    // Behind `observability.alertmanager.auth`, the ruler sends the login itself: Loki builds
    // the `Authorization` header from `type` and the file's contents (base64 of
    // `user:password`), since `basic_auth_password` is read only from this file.
    if let Some(auth) = &stack.alertmanager_auth {
        config["ruler"]["alertmanager_client"] =
            json!({ "type": "Basic", "credentials_file": secret_file(&auth.credentials) });
    }
    let mut out = vec![Artifact::new(LOKI_CONFIG, serde_saphyr::to_string(&config).expect("loki config serializes"))];
    out.extend(rules::lower(stack, boards));
    out
}

//! Grafana: provisioning (`grafana/provisioning/datasources/datasources.yml`,
//! `grafana/provisioning/dashboards/dashboards.yml`) and the dashboard set
//! (`grafana/dashboards/*.json`, in `dashboards`).
//!
//! Datasources have fixed UIDs derived from the stack, so dashboards refer to them by UID and
//! survive a Grafana reinstall. The dashboard provider is a file provider with
//! `allowUiUpdates: false`: the dashboards are generated, and a change made in the UI would be
//! overwritten by the next build; change the manifest instead.

pub mod dashboards;
pub mod model;
pub mod panels;

use super::Artifact;
use super::paths::{
    ALERTMANAGER_ADDR, GRAFANA_DASHBOARD_PROVIDERS, GRAFANA_DASHBOARDS_MOUNT, GRAFANA_DATASOURCES, LOKI_ADDR,
    PROMETHEUS_ADDR,
};
use crate::ir::{Stack, WebAuth};
use serde_json::{Value, json};

/// A Grafana UID (at most 40 characters) for a name within the stack: `<stack>-<name>`, or a
/// shortened form with a hash of the whole when that is too long.
pub fn uid(stack: &Stack, name: &str) -> String {
    let full = format!("{}-{name}", stack.name);
    if full.len() <= 40 {
        return full;
    }
    let digest = crate::emit::lock::hash(full.as_bytes());
    let hash = &digest["sha256:".len().."sha256:".len() + 8];
    format!("{}-{hash}", &full[..31])
}

pub fn prometheus_uid(stack: &Stack) -> String {
    uid(stack, "prometheus")
}

pub fn loki_uid(stack: &Stack) -> String {
    uid(stack, "loki")
}

pub fn alertmanager_uid(stack: &Stack) -> String {
    uid(stack, "alertmanager")
}

/// The settings of Grafana's `conf/defaults.ini` the stack sets, as `(section, key, value)`, on
/// both platforms (compose gives each as `GF_<SECTION>_<KEY>`, Kubernetes in the chart's
/// `grafana.ini`): no sign-up, no anonymous access, nothing sent to or fetched from the outside
/// (usage reports, update checks, gravatar images, snapshots published to
/// snapshots.raintank.io), session cookies sent to Grafana's own site only; and, with
/// `grafana.root_url`, the URL it is served at (from its sub-path when the URL has one), over
/// https cookies only over https and browsers told to keep to it.
pub fn settings(stack: &Stack) -> Vec<(&'static str, &'static str, String)> {
    let mut out: Vec<(&str, &str, String)> = [
        ("users", "allow_sign_up", "false"),
        ("auth.anonymous", "enabled", "false"),
        ("analytics", "reporting_enabled", "false"),
        ("analytics", "check_for_updates", "false"),
        ("analytics", "check_for_plugin_updates", "false"),
        ("security", "disable_gravatar", "true"),
        ("snapshots", "external_enabled", "false"),
        ("security", "cookie_samesite", "strict"),
    ]
    .into_iter()
    .map(|(section, key, value)| (section, key, value.to_string()))
    .collect();
    if let Some(u) = &stack.grafana.root_url {
        out.push(("server", "root_url", u.clone()));
        // Served over https (a proxy in front terminates TLS).
        if u.starts_with("https://") {
            out.push(("security", "cookie_secure", "true".into()));
            out.push(("security", "strict_transport_security", "true".into()));
        }
        if u.trim_end_matches('/').matches('/').count() > 2 {
            out.push(("server", "serve_from_sub_path", "true".into()));
        }
    }
    out
}

/// A setting's environment variable: `GF_<SECTION>_<KEY>`, upper-case, `.` as `_`.
pub fn setting_var(section: &str, key: &str) -> String {
    format!("GF_{}_{}", section.replace('.', "_"), key).to_uppercase()
}

/// A data source's basic authentication, the password read from the secret's file.
fn log_in(source: &mut Value, auth: Option<&WebAuth>) {
    if let Some(auth) = auth {
        source["basicAuth"] = json!(true);
        source["basicAuthUser"] = json!(auth.user);
        source["secureJsonData"] =
            json!({ "basicAuthPassword": format!("$__file{{{}}}", super::paths::secret_file(&auth.password)) });
    }
}

/// Where Grafana reaches Prometheus, Loki and Alertmanager, and whether it logs in to them
/// (`observability.*.auth`, on compose).
pub struct Upstreams {
    pub prometheus: String,
    pub loki: String,
    pub alertmanager: String,
    pub log_in: bool,
}

/// The datasources provisioning file's contents: Prometheus (the default), Loki and
/// Alertmanager at `at`, with the stack's UIDs.
pub fn datasources(stack: &Stack, at: &Upstreams) -> Value {
    let mut prometheus = json!({
        "name": "Prometheus", "type": "prometheus", "uid": prometheus_uid(stack), "access": "proxy",
        "url": at.prometheus, "isDefault": true, "editable": false,
        "jsonData": { "httpMethod": "POST", "timeInterval": stack.scrape_interval.canonical() },
    });
    // Behind `observability.prometheus.auth` or `observability.alertmanager.auth`, Grafana logs
    // in with the password's file (Grafana expands `$__file{…}` in provisioning files, so the
    // password is in no file of the tree).
    if at.log_in {
        log_in(&mut prometheus, stack.prometheus_auth.as_ref());
    }
    let mut alertmanager = json!({
        "name": "Alertmanager", "type": "alertmanager", "uid": alertmanager_uid(stack), "access": "proxy",
        "url": at.alertmanager, "isDefault": false, "editable": false,
        "jsonData": { "implementation": "prometheus", "handleGrafanaManagedAlerts": false },
    });
    if at.log_in {
        log_in(&mut alertmanager, stack.alertmanager_auth.as_ref().map(|a| &a.web));
    }
    json!({
        "apiVersion": 1,
        "deleteDatasources": [],
        "datasources": [
            prometheus,
            {
                "name": "Loki", "type": "loki", "uid": loki_uid(stack), "access": "proxy",
                "url": at.loki, "isDefault": false, "editable": false,
                "jsonData": { "maxLines": 1000 },
            },
            alertmanager,
        ],
    })
}

fn provisioning(stack: &Stack) -> Vec<Artifact> {
    let at = Upstreams {
        prometheus: format!("http://{}:{}", PROMETHEUS_ADDR.0, PROMETHEUS_ADDR.1),
        loki: format!("http://{}:{}", LOKI_ADDR.0, LOKI_ADDR.1),
        alertmanager: format!("http://{}:{}", ALERTMANAGER_ADDR.0, ALERTMANAGER_ADDR.1),
        log_in: true,
    };
    let datasources = datasources(stack, &at);
    let providers = json!({
        "apiVersion": 1,
        "providers": [ {
            "name": format!("sightline-{}", stack.name),
            "orgId": 1,
            "folder": stack.name.as_str(),
            "folderUid": uid(stack, "folder"),
            "type": "file",
            "disableDeletion": true,
            "allowUiUpdates": false,
            "updateIntervalSeconds": 60,
            "options": { "path": GRAFANA_DASHBOARDS_MOUNT, "foldersFromFilesStructure": false },
        } ],
    });
    vec![
        Artifact::new(GRAFANA_DATASOURCES, serde_saphyr::to_string(&datasources).expect("datasources serialize")),
        Artifact::new(GRAFANA_DASHBOARD_PROVIDERS, serde_saphyr::to_string(&providers).expect("providers serialize")),
    ]
}

pub fn lower(stack: &Stack, boards: &dashboards::ServiceBoards) -> Vec<Artifact> {
    let mut out = provisioning(stack);
    out.extend(dashboards::lower(stack, boards));
    out
}

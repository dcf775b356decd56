//! `alertmanager/alertmanager.yml` and `alertmanager/templates/sightline.tmpl`: receivers whose
//! secrets are read from files (`*_file` options; see `paths::secret_file`), the routing tree of
//! `routing`, the inhibitions of `inhibit: auto` or the manifest's own, and readable Slack and
//! email notifications. With `observability.alertmanager.auth`, also `web.yml` and `client.yml`
//! (basic authentication on every endpoint; see `web_auth`).
//!
//! Written for the pinned Alertmanager (amtool of that release checks it in the tests): matchers
//! in the `matchers` form, valid in its UTF-8 strict parsing; every secret option the manifest
//! has (`api_url_file`, `routing_key_file`, `api_key_file`, `auth_password_file`) is a file
//! option, so no secret has to be written literally.

pub mod routing;

use super::Artifact;
use super::paths::{
    ALERTMANAGER_CLIENT_CONFIG, ALERTMANAGER_CONFIG, ALERTMANAGER_TEMPLATES_DIR, ALERTMANAGER_WEB_CONFIG, secret_file,
};
use super::web_auth;
use crate::ir::{Inhibit, Stack, catalog};
use crate::manifest::values::SecretRef;
use routing::{Matcher, Route};
use serde::Serialize;
use std::collections::BTreeMap;

const TEMPLATE: &str = include_str!("../../../templates/alertmanager.tmpl");
const TITLE: &str = "{{ template \"sightline.title\" . }}";
const TEXT: &str = "{{ template \"sightline.text\" . }}";

#[derive(Serialize)]
struct Config {
    global: Global,
    templates: Vec<String>,
    route: RouteConfig,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    inhibit_rules: Vec<InhibitRule>,
    receivers: Vec<Receiver>,
}

#[derive(Serialize)]
struct Global {
    resolve_timeout: &'static str,
}

#[derive(Serialize)]
struct RouteConfig {
    receiver: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    group_by: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    matchers: Vec<String>,
    #[serde(rename = "continue", skip_serializing_if = "std::ops::Not::not")]
    continue_: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    group_wait: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    group_interval: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    repeat_interval: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    routes: Vec<RouteConfig>,
}

#[derive(Serialize)]
struct InhibitRule {
    source_matchers: Vec<String>,
    target_matchers: Vec<String>,
    equal: Vec<String>,
}

#[derive(Serialize, Default)]
struct Receiver {
    name: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    email_configs: Vec<BTreeMap<&'static str, serde_json::Value>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    slack_configs: Vec<BTreeMap<&'static str, serde_json::Value>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pagerduty_configs: Vec<BTreeMap<&'static str, serde_json::Value>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    opsgenie_configs: Vec<BTreeMap<&'static str, serde_json::Value>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    webhook_configs: Vec<BTreeMap<&'static str, serde_json::Value>>,
}

fn route_config(r: &Route, group_by: &[String]) -> RouteConfig {
    RouteConfig {
        receiver: r.receiver.clone(),
        group_by: group_by.to_vec(),
        matchers: r.matchers.iter().map(Matcher::render).collect(),
        continue_: r.continue_,
        group_wait: r.group_wait.clone(),
        group_interval: r.group_interval.clone(),
        repeat_interval: r.repeat_interval.clone(),
        routes: r.routes.iter().map(|c| route_config(c, &[])).collect(),
    }
}

fn m(name: &str, values: &[&str]) -> String {
    Matcher { name: name.into(), values: values.iter().map(|v| v.to_string()).collect() }.render()
}

fn inhibitions(stack: &Stack) -> Vec<InhibitRule> {
    match &stack.alerting.inhibit {
        Inhibit::Off => Vec::new(),
        Inhibit::Rules(rules) => rules
            .iter()
            .map(|r| InhibitRule {
                source_matchers: routing::matchers(&r.source).iter().map(Matcher::render).collect(),
                target_matchers: routing::matchers(&r.target).iter().map(Matcher::render).collect(),
                equal: r.equal.iter().map(|l| l.0.clone()).collect(),
            })
            .collect(),
        Inhibit::Auto => {
            let mut out = Vec::new();
            // A service that is down makes its other alerts noise. Only the Down alerts this
            // stack has; ExporterDown is not one (the service may be fine).
            let mut down: Vec<&str> = Vec::new();
            for s in stack.services.iter().filter(|s| s.scraped()) {
                let name = crate::kinds::def(s.kind).exporter.as_ref().map_or("TargetDown", |e| e.down_alert);
                if !crate::targets::rules::builtin::is_off(s, name) && !down.contains(&name) {
                    down.push(name);
                }
            }
            down.sort_unstable();
            if !down.is_empty() {
                out.push(InhibitRule {
                    source_matchers: vec![m("alertname", &down)],
                    target_matchers: vec![
                        Matcher { name: "alertname".into(), values: down.iter().map(|s| s.to_string()).collect() }
                            .render_negated(),
                    ],
                    equal: vec!["service".into(), "stack".into(), "env".into()],
                });
            }
            // A host that is down makes its resource alerts noise.
            if stack.component(crate::ir::defaults::NODE_EXPORTER.name).is_some() {
                let host: Vec<&str> = catalog::HOST_ALERTS.iter().copied().filter(|a| *a != "HostDown").collect();
                out.push(InhibitRule {
                    source_matchers: vec![m("alertname", &["HostDown"])],
                    target_matchers: vec![m("alertname", &host)],
                    equal: vec!["instance".into(), "stack".into(), "env".into()],
                });
            }
            // A critical alert makes the warning of the same alert and service noise.
            out.push(InhibitRule {
                source_matchers: vec![m("severity", &["critical"])],
                target_matchers: vec![m("severity", &["warning"])],
                equal: vec!["alertname".into(), "service".into(), "stack".into(), "env".into()],
            });
            out
        }
    }
}

fn json(s: impl Into<String>) -> serde_json::Value {
    serde_json::Value::String(s.into())
}

fn receivers(stack: &Stack, secret_file: &dyn Fn(&SecretRef) -> String) -> Vec<Receiver> {
    let mut out = Vec::new();
    for (name, r) in &stack.alerting.receivers {
        let mut rec = Receiver { name: name.to_string(), ..Receiver::default() };
        if let Some(e) = &r.email {
            let mut c = BTreeMap::from([
                ("to", json(&e.to)),
                ("from", json(&e.from)),
                ("smarthost", json(&e.smarthost)),
                ("require_tls", serde_json::Value::Bool(e.require_tls.unwrap_or(true))),
                ("send_resolved", serde_json::Value::Bool(true)),
                ("headers", serde_json::json!({ "Subject": "{{ template \"sightline.email.subject\" . }}" })),
                ("html", json("{{ template \"sightline.email.html\" . }}")),
            ]);
            if let Some(u) = &e.username {
                c.insert("auth_username", json(u));
            }
            if let Some(p) = &e.password {
                c.insert("auth_password_file", json(secret_file(p)));
            }
            rec.email_configs.push(c);
        }
        if let Some(s) = &r.slack {
            let mut c = BTreeMap::from([
                ("api_url_file", json(secret_file(&s.webhook_url))),
                ("send_resolved", serde_json::Value::Bool(true)),
                ("title", json(TITLE)),
                ("text", json(TEXT)),
            ]);
            if let Some(ch) = &s.channel {
                c.insert("channel", json(ch));
            }
            rec.slack_configs.push(c);
        }
        if let Some(p) = &r.pagerduty {
            rec.pagerduty_configs.push(BTreeMap::from([
                ("routing_key_file", json(secret_file(&p.routing_key))),
                ("send_resolved", serde_json::Value::Bool(true)),
                ("description", json(TITLE)),
            ]));
        }
        if let Some(o) = &r.opsgenie {
            let mut c = BTreeMap::from([
                ("api_key_file", json(secret_file(&o.api_key))),
                ("send_resolved", serde_json::Value::Bool(true)),
                ("message", json(TITLE)),
                ("description", json(TEXT)),
            ]);
            if let Some(u) = &o.api_url {
                c.insert("api_url", json(u));
            }
            rec.opsgenie_configs.push(c);
        }
        if let Some(w) = &r.webhook {
            rec.webhook_configs
                .push(BTreeMap::from([("url", json(&w.url)), ("send_resolved", serde_json::Value::Bool(true))]));
        }
        out.push(rec);
    }
    if stack.alerting.default.is_none() {
        out.push(Receiver { name: routing::BLACKHOLE.to_string(), ..Receiver::default() });
    }
    out
}

/// The Grafana address notifications link to.
fn grafana_url(stack: &Stack) -> String {
    stack.grafana.root_url.clone().unwrap_or_else(|| format!("http://{}:{}", stack.grafana.bind, stack.grafana.port))
}

pub fn lower(stack: &Stack) -> Vec<Artifact> {
    let mut out = vec![
        // Templates relative to this file: the generated `alertmanager/templates/`, mounted beside it.
        Artifact::new(ALERTMANAGER_CONFIG, config(stack, "templates/*.tmpl", &|r| secret_file(r))),
        Artifact::new(format!("{ALERTMANAGER_TEMPLATES_DIR}/{TEMPLATE_FILE}"), template(stack)),
    ];
    if let Some(auth) = &stack.alertmanager_auth {
        out.extend(web_auth::files(&auth.web, ALERTMANAGER_WEB_CONFIG, ALERTMANAGER_CLIENT_CONFIG));
    }
    out
}

/// The name of the notification template file.
pub const TEMPLATE_FILE: &str = "sightline.tmpl";

/// `alertmanager.yml`: the same on every platform but for where it finds its templates (a
/// glob) and the file each secret is read from (`secret`).
pub fn config(stack: &Stack, templates: &str, secret: &dyn Fn(&SecretRef) -> String) -> String {
    let tree = routing::tree(stack);
    let config = Config {
        global: Global { resolve_timeout: "5m" },
        templates: vec![templates.into()],
        route: route_config(&tree, &stack.alerting.group_by),
        inhibit_rules: inhibitions(stack),
        receivers: receivers(stack, secret),
    };
    serde_saphyr::to_string(&config).expect("alertmanager.yml serializes")
}

/// The notification templates (`sightline.tmpl`).
pub fn template(stack: &Stack) -> String {
    format!(
        "{{{{ define \"sightline.grafana_url\" }}}}{}{{{{ end }}}}\n{TEMPLATE}",
        grafana_url(stack).replace("{{", "")
    )
}

//! Basic authentication on a component's web endpoints, as Prometheus and Alertmanager both
//! take it (the exporter-toolkit's web configuration, `--web.config.file`): `web.yml` holds the
//! one user and the password's bcrypt hash, `client.yml` what the component's own healthcheck
//! (promtool, amtool: `--http.config.file`) logs in with, and `BasicAuth` is the `basic_auth`
//! block of every Prometheus HTTP client configuration that logs in to it (a scrape, the
//! alerting client). The password itself is only ever read from the secret's file.

use super::Artifact;
use super::paths::secret_file;
use crate::ir::WebAuth;
use serde::Serialize;
use std::collections::BTreeMap;

/// `basic_auth` of an HTTP client configuration (`common/config`): the password read from the
/// secret's file.
#[derive(Serialize)]
pub struct BasicAuth {
    username: String,
    password_file: String,
}

impl BasicAuth {
    pub fn of(auth: &WebAuth) -> Self {
        Self::login(&auth.user, &auth.password)
    }

    /// A user and the file its password is read from.
    pub fn login(user: &str, password: &crate::manifest::values::SecretRef) -> Self {
        BasicAuth { username: user.to_string(), password_file: secret_file(password) }
    }
}

/// `web.yml`: the one user and the password's hash.
#[derive(Serialize)]
struct WebConfig {
    basic_auth_users: BTreeMap<String, String>,
}

/// `client.yml`: what the healthcheck logs in with.
#[derive(Serialize)]
struct ClientConfig {
    basic_auth: BasicAuth,
}

/// The component's `web.yml` at `web` and its healthcheck's `client.yml` at `client`.
pub fn files(auth: &WebAuth, web: &str, client: &str) -> Vec<Artifact> {
    let config = WebConfig { basic_auth_users: BTreeMap::from([(auth.user.clone(), auth.password_hash.clone())]) };
    let login = ClientConfig { basic_auth: BasicAuth::of(auth) };
    vec![
        Artifact::new(web, serde_saphyr::to_string(&config).expect("web.yml serializes")),
        Artifact::new(client, serde_saphyr::to_string(&login).expect("client.yml serializes")),
    ]
}

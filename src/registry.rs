//! Ask an image's registry which digest its tag names now, for `sightline pin`: the
//! distribution API's `HEAD /v2/<name>/manifests/<tag>` (the OCI distribution spec, which
//! Docker Hub, ghcr.io, quay.io and gcr.io serve), anonymously, with the token flow a public
//! registry asks for. The only module that reaches the network; `build` never calls it.
//!
//! The digest asked for is the one `docker pull` resolves the tag to: an image index (or
//! Docker manifest list) when the tag names several platforms, so the pinned reference pulls the
//! right platform on every host. Docker checks the content against it at pull time, so a wrong
//! digest fails a pull, it cannot swap the content.

use crate::manifest::values::is_digest;
use std::collections::BTreeMap;
use std::time::Duration;

/// What `docker pull` accepts for a tag, index types first (the `Accept` header Docker sends).
const ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
    application/vnd.docker.distribution.manifest.list.v2+json, \
    application/vnd.oci.image.manifest.v1+json, \
    application/vnd.docker.distribution.manifest.v2+json";

/// The most of a manifest or token response read (Docker's own limit for a manifest is 4 MiB).
const MAX_BODY: u64 = 4 << 20;

/// Docker Hub: the name images without a registry belong to, and where its API is.
const DOCKER_HUB: &str = "docker.io";
const DOCKER_HUB_API: &str = "registry-1.docker.io";

/// Where an image's manifests are: its registry (as Docker names it), and its repository and
/// tag there.
#[derive(Debug, PartialEq, Eq)]
pub struct Location {
    pub registry: String,
    pub repository: String,
    pub tag: String,
}

/// Docker's reading of an image reference without a digest: a first part with a `.` or a `:`,
/// or `localhost`, is a registry; anything else is on Docker Hub, where a one-part name is an
/// official image (`postgres` is `docker.io/library/postgres`). No tag is `latest`.
pub fn locate(image: &str) -> Location {
    let (name, tag) = match image.rfind(':') {
        Some(i) if !image[i..].contains('/') => (&image[..i], &image[i + 1..]),
        _ => (image, "latest"),
    };
    let (registry, repository) = match name.split_once('/') {
        Some((first, rest)) if first.contains(['.', ':']) || first == "localhost" => {
            (registry_name(first).to_string(), rest.to_string())
        }
        _ => (DOCKER_HUB.to_string(), name.to_string()),
    };
    let repository =
        if registry == DOCKER_HUB && !repository.contains('/') { format!("library/{repository}") } else { repository };
    Location { registry, repository, tag: tag.to_string() }
}

/// A registry on this machine (`localhost`, an address in 127.0.0.0/8, with or without a
/// port): Docker talks plain HTTP to it when it cannot connect over HTTPS, and so does `pin`.
/// (An IPv6 address is not an image's registry here: image references refuse `[::1]`.)
fn is_loopback(registry: &str) -> bool {
    let host = registry.split_once(':').map_or(registry, |(h, _)| h);
    host == "localhost" || host.parse::<std::net::Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
}

/// The name Docker gives a registry: Docker Hub's other names are `docker.io`.
pub fn registry_name(name: &str) -> &str {
    match name {
        "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => DOCKER_HUB,
        other => other,
    }
}

/// Why a digest could not be had. `transport`: no HTTP answer came at all (no connection, a
/// TLS failure, a timeout), the one case in which a loopback registry is asked again over
/// plain HTTP.
#[derive(Debug)]
pub struct Error {
    message: String,
    transport: bool,
}

fn error(message: String) -> Error {
    Error { message, transport: false }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Asks registries for digests. `mirrors`: registry (`docker.io`, `quay.io`, …) → the base URL
/// of a mirror to ask instead (`https://harbor.example/v2/dockerhub` is
/// `https://harbor.example/dockerhub`: a pull-through cache's project as a path prefix).
pub struct Resolver {
    agent: ureq::Agent,
    mirrors: BTreeMap<String, String>,
}

impl Resolver {
    pub fn new(mirrors: BTreeMap<String, String>) -> Resolver {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .user_agent(format!("sightline/{}", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Resolver { agent, mirrors }
    }

    /// The digest `image` (`repository[:tag]`, no digest) names now.
    pub fn digest(&self, image: &str) -> Result<String, Error> {
        let at = locate(image);
        if let Some(base) = self.mirrors.get(&at.registry) {
            let (origin, prefix) = split_mirror(base);
            return self.ask(origin, &format!("{prefix}{}", at.repository), &at);
        }
        let host = if at.registry == DOCKER_HUB { DOCKER_HUB_API } else { at.registry.as_str() };
        match self.ask(&format!("https://{host}"), &at.repository, &at) {
            Err(e) if e.transport && is_loopback(host) => self
                .ask(&format!("http://{host}"), &at.repository, &at)
                .map_err(|plain| error(format!("{e}; over plain HTTP: {plain}"))),
            r => r,
        }
    }

    /// The manifest of `at`'s tag at `origin`, whose name for the repository is `repository`
    /// (a mirror's has its prefix): anonymously, then with the token the registry's challenge
    /// asks for.
    fn ask(&self, origin: &str, repository: &str, at: &Location) -> Result<String, Error> {
        let url = &format!("{origin}/v2/{repository}/manifests/{}", at.tag);
        let mut response = self.call(false, url, None)?;
        let mut token = None;
        if response.status() == 401 {
            let challenge = header(&response, "www-authenticate").unwrap_or_default();
            token = Some(self.token(&challenge, repository, at)?);
            response = self.call(false, url, token.as_deref())?;
        }
        let image = format!("{}/{}:{}", at.registry, at.repository, at.tag);
        match response.status().as_u16() {
            200 => {}
            401 | 403 => {
                return Err(error(format!(
                    "{image}: the registry refuses an anonymous pull (HTTP {}); write the digest in the manifest (`image@sha256:…`), or ask a mirror with --mirror",
                    response.status().as_u16()
                )));
            }
            404 => return Err(error(format!("{image}: no such tag in the registry (HTTP 404 from {url})"))),
            s => return Err(error(format!("{image}: HTTP {s} from {url}"))),
        }
        if let Some(d) = header(&response, "docker-content-digest").map(|d| d.to_ascii_lowercase()) {
            return if is_digest(&d) {
                Ok(d)
            } else {
                Err(error(format!("{image}: {url} gave a digest that is not sha256: {d:?}")))
            };
        }
        // No digest header (allowed on HEAD): the digest is the sha256 of the manifest's bytes.
        let mut response = self.call(true, url, token.as_deref())?;
        if response.status().as_u16() != 200 {
            return Err(error(format!("{image}: HTTP {} from {url}", response.status().as_u16())));
        }
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_BODY)
            .read_to_vec()
            .map_err(|e| error(format!("{image}: reading the manifest from {url}: {e}")))?;
        Ok(crate::emit::lock::hash(&body))
    }

    /// A bearer token for the repository, anonymously, as the registry's `WWW-Authenticate`
    /// challenge says where (Docker's registry token flow).
    fn token(&self, challenge: &str, repository: &str, at: &Location) -> Result<String, Error> {
        let image = format!("{}/{}", at.registry, at.repository);
        let Some(params) = challenge.strip_prefix("Bearer ").or_else(|| challenge.strip_prefix("bearer ")) else {
            return Err(error(format!(
                "{image}: the registry asks for a login ({}); sightline pin asks anonymously: write the digest in the manifest (`image@sha256:…`), or ask a mirror with --mirror",
                challenge.split(' ').next().filter(|s| !s.is_empty()).unwrap_or("no challenge")
            )));
        };
        let params = challenge_params(params);
        let Some(realm) = params.get("realm").filter(|r| r.starts_with("https://") || r.starts_with("http://")) else {
            return Err(error(format!("{image}: the registry's token challenge names no realm")));
        };
        let mut query = Vec::new();
        if let Some(service) = params.get("service") {
            query.push(("service", service.clone()));
        }
        let scope = params.get("scope").cloned().unwrap_or_else(|| format!("repository:{repository}:pull"));
        query.push(("scope", scope));
        let mut request = self.agent.get(realm.as_str());
        for (k, v) in &query {
            request = request.query(*k, v);
        }
        let mut response = request.call().map_err(|e| error(format!("{image}: asking {realm} for a token: {e}")))?;
        if response.status().as_u16() != 200 {
            return Err(error(format!("{image}: {realm} gave no token (HTTP {})", response.status().as_u16())));
        }
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_BODY)
            .read_to_vec()
            .map_err(|e| error(format!("{image}: reading the token from {realm}: {e}")))?;
        #[derive(serde::Deserialize)]
        struct Token {
            token: Option<String>,
            access_token: Option<String>,
        }
        let t: Token =
            serde_json::from_slice(&body).map_err(|_| error(format!("{image}: {realm} answered with no token")))?;
        t.token
            .or(t.access_token)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| error(format!("{image}: {realm} answered with no token")))
    }

    /// A HEAD (or a GET, `get`) of a manifest URL, with the token when there is one.
    fn call(&self, get: bool, url: &str, token: Option<&str>) -> Result<ureq::http::Response<ureq::Body>, Error> {
        let mut r = if get { self.agent.get(url) } else { self.agent.head(url) }.header("Accept", ACCEPT);
        if let Some(t) = token {
            r = r.header("Authorization", format!("Bearer {t}"));
        }
        r.call().map_err(|e| Error { message: format!("{url}: {e}"), transport: true })
    }
}

/// A mirror's URL as the origin its API is under and the path prefix of its repositories
/// (`https://harbor.example/dockerhub/` → `https://harbor.example`, `dockerhub/`).
fn split_mirror(url: &str) -> (&str, String) {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let (origin, path) = match url[after_scheme..].find('/') {
        Some(i) => url.split_at(after_scheme + i),
        None => (url, ""),
    };
    let path = path.trim_matches('/');
    (origin, if path.is_empty() { String::new() } else { format!("{path}/") })
}

fn header(r: &ureq::http::Response<ureq::Body>, name: &str) -> Option<String> {
    r.headers().get(name).and_then(|v| v.to_str().ok()).map(|s| s.trim().to_string())
}

/// The `key="value"` pairs of an auth challenge (RFC 9110's auth-params: values quoted or not,
/// a quoted one may hold commas and `\`-escapes).
fn challenge_params(s: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut rest = s.trim();
    while let Some(eq) = rest.find('=') {
        let key = rest[..eq].trim().trim_start_matches(',').trim().to_ascii_lowercase();
        rest = &rest[eq + 1..];
        let value;
        if let Some(quoted) = rest.strip_prefix('"') {
            let mut v = String::new();
            let mut chars = quoted.char_indices();
            let mut end = quoted.len();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, n)) = chars.next() {
                            v.push(n);
                        }
                    }
                    '"' => {
                        end = i + 1;
                        break;
                    }
                    c => v.push(c),
                }
            }
            value = v;
            rest = &quoted[end..];
        } else {
            let end = rest.find(',').unwrap_or(rest.len());
            value = rest[..end].trim().to_string();
            rest = &rest[end..];
        }
        out.insert(key, value);
        rest = rest.trim_start().trim_start_matches(',').trim_start();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_as_docker_does() {
        let l = |s: &str| {
            let l = locate(s);
            (l.registry, l.repository, l.tag)
        };
        let t = |a: &str, b: &str, c: &str| (a.to_string(), b.to_string(), c.to_string());
        assert_eq!(l("postgres:16.4"), t("docker.io", "library/postgres", "16.4"));
        assert_eq!(l("prom/prometheus:v3.7.3"), t("docker.io", "prom/prometheus", "v3.7.3"));
        assert_eq!(l("docker.io/library/redis:7"), t("docker.io", "library/redis", "7"));
        assert_eq!(l("docker.io/postgres:16"), t("docker.io", "library/postgres", "16"));
        assert_eq!(l("index.docker.io/grafana/grafana:12.0.0"), t("docker.io", "grafana/grafana", "12.0.0"));
        assert_eq!(l("registry-1.docker.io/grafana/loki:3"), t("docker.io", "grafana/loki", "3"));
        assert_eq!(l("quay.io/prometheus/node-exporter:v1.9.1"), t("quay.io", "prometheus/node-exporter", "v1.9.1"));
        assert_eq!(l("gcr.io/cadvisor/cadvisor:v0.52.1"), t("gcr.io", "cadvisor/cadvisor", "v0.52.1"));
        assert_eq!(l("localhost:5000/acme/api:1.0"), t("localhost:5000", "acme/api", "1.0"));
        assert_eq!(l("localhost/api"), t("localhost", "api", "latest"));
        assert_eq!(l("127.0.0.1:5000/api"), t("127.0.0.1:5000", "api", "latest"));
    }

    #[test]
    fn mirrors_are_an_origin_and_a_prefix() {
        assert_eq!(split_mirror("http://127.0.0.1:5000"), ("http://127.0.0.1:5000", String::new()));
        assert_eq!(split_mirror("https://harbor.example/"), ("https://harbor.example", String::new()));
        assert_eq!(split_mirror("https://harbor.example/dockerhub/"), ("https://harbor.example", "dockerhub/".into()));
        assert_eq!(split_mirror("https://h.example/a/b"), ("https://h.example", "a/b/".into()));
    }

    #[test]
    fn loopback_registries() {
        for r in ["localhost", "localhost:5000", "127.0.0.1:5000", "127.1.2.3"] {
            assert!(is_loopback(r), "{r}");
        }
        for r in [
            "registry-1.docker.io",
            "quay.io",
            "localhost.example.com",
            "10.0.0.1:5000",
            "127.example.com",
            "127.0.0.1.nip.io",
        ] {
            assert!(!is_loopback(r), "{r}");
        }
    }

    #[test]
    fn reads_challenges() {
        // Docker Hub's, and one with a comma and an escape inside a quoted value.
        let p = challenge_params(
            r#"realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/postgres:pull""#,
        );
        assert_eq!(p["realm"], "https://auth.docker.io/token");
        assert_eq!(p["service"], "registry.docker.io");
        assert_eq!(p["scope"], "repository:library/postgres:pull");
        let p = challenge_params(
            r#"realm="https://r.example/t", scope="repository:a:pull,push", error=invalid_token, x="q\"d""#,
        );
        assert_eq!(p["scope"], "repository:a:pull,push");
        assert_eq!(p["error"], "invalid_token");
        assert_eq!(p["x"], "q\"d");
    }
}

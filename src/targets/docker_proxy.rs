//! `docker-socket-proxy/haproxy.cfg`: the one door to the host's Docker socket, HAProxy (the
//! official `haproxy` image) in front of it, letting through only the reads the log collector
//! makes and refusing every other request with 403.
//!
//! The collector's calls, as read from its clients' sources:
//! - Prometheus's Docker discovery (`discovery/moby/docker.go` and `network.go`, which Alloy's
//!   `discovery.docker` and Promtail's `docker_sd_configs` run): list the containers
//!   (`/containers/json`) and the networks (`/networks`);
//! - Alloy's `loki.source.docker` (`internal/component/loki/source/docker`, v1.18.1 and v1.19.0-rc.3, the newest the copy here has of the pinned 1.19) and
//!   Promtail's Docker target: inspect a container (`/containers/<id>/json`) and follow its
//!   logs (`/containers/<id>/logs`);
//! - the Docker client's API version negotiation (`HEAD /_ping`, then `GET /_ping`), and
//!   `/version`.
//!
//! Each path with or without the `/v1.NN` prefix, GET or HEAD only, matched whole on the
//! decoded path: a request for a container's files (`/containers/<id>/archive`, `/export`), an
//! attach (`/attach/ws` is a GET), an exec, or anything that writes is refused. (Tecnativa's
//! docker-socket-proxy, which switches whole API sections, lets every GET under `/containers`
//! through, those included.)

use super::Artifact;
use super::paths::{DOCKER_PROXY_CONFIG, DOCKER_SOCKET, DOCKER_SOCKET_PROXY_ADDR};
use crate::ir::{Stack, defaults};

/// The paths the proxy lets through, as HAProxy regular expressions over the whole path.
pub const ALLOWED: &[&str] = &[
    r"^(/v[0-9.]+)?/(_ping|version|containers/json|networks)$",
    r"^(/v[0-9.]+)?/containers/[a-zA-Z0-9_.-]+/(json|logs)$",
];

pub fn lower(stack: &Stack) -> Vec<Artifact> {
    if stack.component(defaults::DOCKER_SOCKET_PROXY.name).is_none() {
        return Vec::new();
    }
    let mut out = String::from(
        "global\n  log stdout format raw local0 info\n  maxconn 256\n  # Stopping waits for open connections, and a followed log stream stays open for hours: the\n  # collector follows it again from its last line.\n  hard-stop-after 3s\n  # It has a tenth of a CPU: one thread per host CPU would be threads for nothing.\n  nbthread 2\n\ndefaults\n  mode http\n  log global\n  option httplog\n  timeout connect 10s\n  timeout http-request 10s\n  # A followed log stream is quiet while its container is: cut it after a day at most (the\n  # collector follows it again from its last line), not after minutes.\n  timeout client 24h\n  timeout server 24h\n\n",
    );
    out.push_str(&format!("frontend docker\n  bind :{}\n", DOCKER_SOCKET_PROXY_ADDR.1));
    // Every request is logged (`option httplog`), the healthcheck's excepted.
    out.push_str("  http-request set-log-level silent if { path /_ping } { src 127.0.0.1 }\n");
    out.push_str("  http-request deny deny_status 403 unless { method GET HEAD }\n");
    for re in ALLOWED {
        out.push_str(&format!("  http-request allow if {{ path,url_dec -m reg {re} }}\n"));
    }
    out.push_str("  http-request deny deny_status 403\n  default_backend docker\n\n");
    out.push_str(&format!("backend docker\n  server docker {DOCKER_SOCKET}\n"));
    vec![Artifact::new(DOCKER_PROXY_CONFIG, out)]
}

//! `docker-socket-proxy/haproxy.cfg`: the one door to the host's Docker socket, letting
//! through only the reads its clients make and refusing every other request with 403.
//!
//! The clients' calls, as read from their sources:
//! - the log collector, when a service's logs come from its container:
//!   - Prometheus's Docker discovery (`discovery/moby/docker.go` and `network.go`, which
//!     Alloy's `discovery.docker` and Promtail's `docker_sd_configs` run): list the containers
//!     (`/containers/json`) and the networks (`/networks`);
//!   - Alloy's `loki.source.docker` (`internal/component/loki/source/docker`, v1.18.1 and
//!     v1.19.0-rc.3, the newest the copy here has of the pinned 1.19) and Promtail's Docker
//!     target: inspect a container (`/containers/<id>/json`) and follow its logs
//!     (`/containers/<id>/logs`);
//! - cAdvisor (`container/docker`, v0.61.0): the daemon's `/info` (storage driver, root
//!   directory) and `/version` at start, and a container's inspection
//!   (`/containers/<id>/json`) when it appears and at each housekeeping; no list, no events;
//! - the Docker client's API version negotiation (`HEAD /_ping`, then `GET /_ping`), and
//!   `/version`.
//!
//! Each path with or without the `/v1.NN` prefix, GET or HEAD only, matched whole on the
//! decoded path: a request for a container's files (`/containers/<id>/archive`, `/export`), an
//! attach (`/attach/ws` is a GET), an exec, or anything that writes is refused. (Tecnativa's
//! docker-socket-proxy, which switches whole API sections, lets every GET under `/containers`
//! through, those included.) Both clients reach the one port, so each can make the other's
//! calls: all of them reads.

use super::super::Artifact;
use super::super::paths::{DOCKER_PROXY_CONFIG, DOCKER_SOCKET, DOCKER_SOCKET_PROXY_ADDR};
use super::PREAMBLE;
use crate::ir::{Stack, defaults};
use crate::targets::promtail::pipeline::container_services;

/// The paths a client calls: fixed ones, and the parts after `/containers/<id>/`.
pub struct Calls {
    pub fixed: &'static [&'static str],
    pub container: &'static [&'static str],
}

/// The log collector's calls.
pub const COLLECTOR: Calls =
    Calls { fixed: &["_ping", "version", "containers/json", "networks"], container: &["json", "logs"] };

/// cAdvisor's calls.
pub const CADVISOR: Calls = Calls { fixed: &["_ping", "version", "info"], container: &["json"] };

pub fn lower(stack: &Stack) -> Vec<Artifact> {
    if stack.component(defaults::DOCKER_SOCKET_PROXY.name).is_none() {
        return Vec::new();
    }
    let mut out = String::from(PREAMBLE);
    out.push_str(&format!("frontend docker\n  bind :{}\n", DOCKER_SOCKET_PROXY_ADDR.1));
    // Every request is logged (`option httplog`), the healthcheck's excepted.
    out.push_str("  http-request set-log-level silent if { path /_ping } { src 127.0.0.1 }\n");
    out.push_str("  http-request deny deny_status 403 unless { method GET HEAD }\n");
    let clients = [
        ("the log collector", !container_services(stack).is_empty(), COLLECTOR),
        ("cAdvisor", stack.component(defaults::CADVISOR.name).is_some(), CADVISOR),
    ];
    // One rule for the fixed paths and one for a container's, over what the clients present
    // call, each path once.
    let (mut fixed, mut container): (Vec<&str>, Vec<&str>) = (Vec::new(), Vec::new());
    for (client, _, calls) in clients.iter().filter(|(_, present, _)| *present) {
        let theirs: Vec<String> = calls
            .fixed
            .iter()
            .map(|p| format!("/{p}"))
            .chain(calls.container.iter().map(|p| format!("/containers/<id>/{p}")))
            .collect();
        out.push_str(&format!("  # {client}: {}\n", theirs.join(" ")));
        for (all, mine) in [(&mut fixed, calls.fixed), (&mut container, calls.container)] {
            all.extend(mine.iter().filter(|p| !all.contains(p)).collect::<Vec<_>>());
        }
    }
    let rules = [
        (!fixed.is_empty()).then(|| format!(r"^(/v[0-9.]+)?/({})$", fixed.join("|"))),
        (!container.is_empty())
            .then(|| format!(r"^(/v[0-9.]+)?/containers/[a-zA-Z0-9_.-]+/({})$", container.join("|"))),
    ];
    for re in rules.into_iter().flatten() {
        out.push_str(&format!("  http-request allow if {{ path,url_dec -m reg {re} }}\n"));
    }
    out.push_str("  http-request deny deny_status 403\n  default_backend docker\n\n");
    out.push_str(&format!("backend docker\n  server docker {DOCKER_SOCKET}\n"));
    vec![Artifact::new(DOCKER_PROXY_CONFIG, out)]
}

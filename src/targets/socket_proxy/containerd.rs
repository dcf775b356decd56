//! `containerd-socket-proxy/haproxy.cfg`: containerd's gRPC API for cAdvisor, and nothing else.
//!
//! On a host whose Docker keeps its images in containerd (storage driver `overlayfs`, the
//! default of new installs since Docker 29), cAdvisor's Docker support needs containerd: it
//! reads each container's root directory from containerd's record of it
//! (`container/docker/handler.go`: `Containers.Get` in the `moby` namespace), and without a
//! containerd client it does not watch Docker's containers at all (`factory.go`: `Register`
//! fails). containerd's socket is as much root on the host as Docker's, so cAdvisor gets this
//! proxy's socket instead, which passes that one call:
//! - gRPC is HTTP/2 (`proto h2` on both sides, cleartext over unix sockets); a call is a POST
//!   to `/<service>/<method>`, and containerd reads the namespace from the `containerd-namespace`
//!   header;
//! - `Containers/Get` with namespace `moby` passes; every other method, namespace or request is
//!   403, which a gRPC client reads as `PermissionDenied` (cAdvisor's containerd plugin, which
//!   asks `Version/Version` to watch containerd's own containers, then stays off: with
//!   `--docker_only` it would report none of them anyway).
//!
//! cAdvisor's client dials unix sockets only (`lib/container/containerd/client.go`), so the
//! proxy listens on one in a volume the two containers share; the proxy needs no network.
//! containerd reads the first `containerd-namespace` header of a call, so a call with more than
//! one is refused, whatever they say.

use super::super::Artifact;
use super::super::paths::{
    CONTAINERD_PROXY_CONFIG, CONTAINERD_PROXY_HEALTH_PORT, CONTAINERD_PROXY_SOCKET, CONTAINERD_SOCKET,
};
use super::PREAMBLE;
use crate::ir::{Stack, defaults};

/// The one method cAdvisor calls, and the namespace it calls it in (Docker's).
pub const METHOD: &str = "/containerd.services.containers.v1.Containers/Get";
pub const NAMESPACE: &str = "moby";

pub fn lower(stack: &Stack) -> Vec<Artifact> {
    if stack.component(defaults::CONTAINERD_SOCKET_PROXY.name).is_none() {
        return Vec::new();
    }
    let mut out = String::from(PREAMBLE);
    out.push_str(&format!(
        "frontend containerd\n  # Only the volume cAdvisor shares with the proxy holds this socket.\n  bind unix@{CONTAINERD_PROXY_SOCKET} mode 666 proto h2\n"
    ));
    out.push_str(&format!(
        "  # One namespace header, the whole value (containerd reads the first of several; `req.hdr`\n  # would match any, split at commas).\n  http-request deny deny_status 403 unless {{ method POST }} {{ path {METHOD} }} {{ req.fhdr_cnt(containerd-namespace) eq 1 }} {{ req.fhdr(containerd-namespace) -m str {NAMESPACE} }}\n  default_backend containerd\n\n"
    ));
    // The healthcheck: healthy once HAProxy listens, whether containerd answers or not. cAdvisor
    // waits for it; a host without containerd at that path (Docker running its own, a
    // storage driver that never asks it) must not hold cAdvisor, and Prometheus after it, back.
    // HAProxy's log says when the socket is down, and `CadvisorWatchesNoContainer` when
    // cAdvisor needed it.
    out.push_str(&format!(
        "frontend health\n  bind 127.0.0.1:{CONTAINERD_PROXY_HEALTH_PORT}\n  monitor-uri /healthz\n\n"
    ));
    out.push_str(&format!("backend containerd\n  server containerd {CONTAINERD_SOCKET} proto h2 check inter 10s\n"));
    vec![Artifact::new(CONTAINERD_PROXY_CONFIG, out)]
}

//! The HAProxy configurations in front of the host's sockets (the official `haproxy` image,
//! one container per socket): each lets through only the calls its clients make, as read from
//! their sources, and refuses every other request before it reaches the socket.
//! - `docker`: `docker-socket-proxy/haproxy.cfg`, the Docker Engine API, for the log collector
//!   and cAdvisor;
//! - `containerd`: `containerd-socket-proxy/haproxy.cfg`, containerd's gRPC API, for cAdvisor
//!   on a host whose Docker keeps its images in containerd.

pub mod containerd;
pub mod docker;

use super::Artifact;
use crate::ir::Stack;

pub fn lower(stack: &Stack) -> Vec<Artifact> {
    let mut out = docker::lower(stack);
    out.extend(containerd::lower(stack));
    out
}

/// `global` and `defaults` of both proxies: every request logged, streams held for a day.
const PREAMBLE: &str = "global
  log stdout format raw local0 info
  maxconn 256
  # Stopping waits for open connections, which stay open for hours (a followed log stream, a
  # gRPC connection): the client opens another.
  hard-stop-after 3s
  # It has a tenth of a CPU: one thread per host CPU would be threads for nothing.
  nbthread 2

defaults
  mode http
  log global
  option httplog
  timeout connect 10s
  timeout http-request 10s
  # A followed log stream is quiet while its container is, a gRPC connection between calls:
  # cut them after a day at most (the client opens another), not after minutes.
  timeout client 24h
  timeout server 24h

";

//! `.env.example`: every environment variable the stack reads, each with a comment naming the
//! settings that read it, and no values. Compose reads `.env` beside `compose.yaml`.

use super::Artifact;
use crate::ir::{Stack, defaults};
use crate::manifest::values::SecretRef;
use indexmap::IndexMap;

pub fn lower(stack: &Stack) -> Vec<Artifact> {
    let mut vars: IndexMap<&str, Vec<&str>> = IndexMap::new();
    for s in &stack.secrets {
        if let SecretRef::Env(name) = &s.reference {
            vars.entry(name.as_str()).or_default().push(s.setting.as_str());
        }
    }
    let mut out = String::new();
    out.push_str("# Copy to .env beside compose.yaml and fill in. Never commit .env.\n");
    if stack.component(defaults::DOCKER_SOCKET_PROXY.name).is_some() {
        out.push_str(&format!(
            "\n# The group of the host's Docker socket, which the socket proxy runs in (not as root):\n# `stat -c %g /var/run/docker.sock`\n{}=\n",
            super::paths::DOCKER_GID
        ));
    }
    for (name, settings) in vars {
        out.push('\n');
        for s in settings {
            out.push_str(&format!("# read by {s}\n"));
        }
        out.push_str(&format!("{name}=\n"));
    }
    vec![Artifact::new(".env.example", out)]
}

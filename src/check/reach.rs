//! Reach: what must see what for an alert to fire. Backup results reach Prometheus only
//! through node-exporter's textfile collector; a service outside the compose project (no
//! `image:`) is reachable only at an address the monitoring containers can resolve.

use super::Ctx;
use crate::code::Code;
use crate::diagnostic::{Diagnostic, Sink};
use crate::manifest::model::Kind;

pub fn check(ctx: &Ctx, sink: &mut Sink) {
    let m = ctx.manifest;
    let node_exporter = m.observability.as_ref().and_then(|o| o.node_exporter).unwrap_or(true);
    if m.backups.is_some() && !node_exporter {
        sink.push(
            Diagnostic::error(Code::BackupsUnwatched, "backups without node-exporter: nothing reads their results")
                .at(ctx.value(["observability", "node_exporter"]))
                .label("the backup metrics are read by node-exporter's textfile collector")
                .help("keep `observability.node_exporter: true`; otherwise a failed or stale backup never alerts"),
        );
    }
    if m.network.is_some() {
        return;
    }
    for (name, s) in &m.services {
        let probed = s.tls.is_some() || s.health.is_some();
        let scraped = !matches!(s.kind, Kind::Http | Kind::Generic)
            || !matches!(s.metrics, Some(crate::manifest::model::MetricsPath::Enabled(false)));
        if s.image.is_some() || s.host.is_some() || !(scraped || probed) {
            continue;
        }
        sink.push(
            Diagnostic::warning(
                Code::UnreachableService,
                format!("`{name}` runs outside the generated stack, and `{name}` may not resolve from its containers"),
            )
            .at(ctx.key(["services", name.as_str()]))
            .label("no `image:`, no `host:`, and the stack has no `network:`")
            .help(format!(
                "set `network:` to the Docker network `{name}` runs on (Prometheus joins it), or `host:` to an address the \
                 monitoring containers can reach; until then its alerts see it as down"
            )),
        );
    }
}

//! Reach: what must see what for an alert to fire and reach its person. Backup results reach
//! Prometheus only through node-exporter's textfile collector; a service outside the compose
//! project (no `image:`) is reachable only at an address the monitoring containers can resolve;
//! Alertmanager, off the application's network, cannot call a webhook at an application
//! container's name;
//! and (on the lowered stack, `routes`) a critical alert should not fall through to the default
//! receiver when the manifest routes criticals elsewhere. All but the last are compose's: a stack
//! checked for Kubernetes has none of them.

use super::Ctx;
use crate::code::Code;
use crate::diagnostic::{Diagnostic, Sink};
use crate::ir::Stack;
use crate::targets::alertmanager::routing;

pub fn check(ctx: &Ctx, sink: &mut Sink) {
    let m = ctx.manifest;
    // All of this is compose's: on Kubernetes, Services resolve by name across the cluster, the
    // scrape configuration says where each service is, and the backups report to the
    // Pushgateway, not node-exporter.
    if ctx.platform == crate::manifest::model::Platform::Kubernetes {
        return;
    }
    let node_exporter = m.observability.as_ref().and_then(|o| o.node_exporter).unwrap_or(true);
    if m.backups.is_some() && !node_exporter {
        sink.push(
            Diagnostic::error(Code::BackupsUnwatched, "backups without node-exporter: nothing reads their results")
                .at(ctx.value(["observability", "node_exporter"]))
                .label("the backup metrics are read by node-exporter's textfile collector")
                .help("keep `observability.node_exporter: true`; otherwise a failed or stale backup never alerts"),
        );
    }
    // Alertmanager is not on the application's network (no application container may reach
    // it), so a webhook at an application service's name does not resolve from it.
    if let Some(a) = &m.alerting {
        for (receiver, r) in &a.receivers {
            let Some(w) = &r.webhook else { continue };
            let host = w.url.split("://").nth(1).unwrap_or("").split(['/', ':', '?', '#']).next().unwrap_or("");
            let app = m
                .services
                .iter()
                .find(|(name, s)| s.image.is_some() && (name.as_str() == host || s.host.as_deref() == Some(host)));
            if let Some((name, _)) = app {
                sink.push(
                    Diagnostic::warning(
                        Code::UnreachableService,
                        format!("Alertmanager cannot reach `{name}`: the application's containers are on a network of their own"),
                    )
                    .at(ctx.value(["alerting", "receivers", receiver.as_str(), "webhook", "url"]))
                    .label(format!("`{host}` is an application container"))
                    .help(format!(
                        "give `{receiver}` an address Alertmanager reaches on its way out (a published port or a public name of `{name}`); the monitoring network is closed to the application by design"
                    )),
                );
            }
        }
    }
    if m.network.is_some() {
        return;
    }
    for (name, s) in &m.services {
        // A celery service's broker is reached by its exporter, whatever else reads it.
        let brokered = m.services.values().any(|c| {
            c.kind == crate::manifest::model::Kind::Celery && c.broker.as_ref().is_some_and(|b| b.service == *name)
        });
        let probed = s.tls.is_some() || s.health.is_some();
        let scraped = crate::kinds::def(s.kind).exporter.is_some()
            || !matches!(s.metrics, Some(crate::manifest::model::MetricsPath::Enabled(false)));
        // A celery service's exporter reaches its broker, not its workers: the broker is checked
        // as a service of its own.
        if s.image.is_some()
            || s.host.is_some()
            || !(scraped || probed || brokered)
            || s.kind == crate::manifest::model::Kind::Celery
        {
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

/// Critical alerts that reach only the default receiver while routes send criticals elsewhere:
/// read from the generated rules' labels and walked on the routing tree `sightline route` uses.
pub fn routes(ctx: &Ctx, stack: &Stack, sink: &mut Sink) {
    let Some(a) = &ctx.manifest.alerting else { return };
    let Some(default) = &a.default else { return };
    let critical: Vec<usize> = (0..a.routes.len())
        .filter(|&i| a.routes[i].matchers.get("severity").is_some_and(|v| v.as_slice().iter().any(|x| x == "critical")))
        .collect();
    let Some(&first) = critical.first() else { return };
    let tree = routing::tree(stack);
    let mut lost: Vec<String> = Vec::new();
    let mut lose = |labels: &std::collections::BTreeMap<String, String>| {
        if routing::receivers(&tree, labels) == [default.to_string()] {
            let name = labels.get("alertname").cloned().unwrap_or_default();
            let shown = match labels.get("category") {
                Some(c) => format!("{name} (category {c})"),
                None => name,
            };
            if !lost.contains(&shown) {
                lost.push(shown);
            }
        }
    };
    for (mut labels, services) in crate::targets::alerting_rules(stack) {
        if labels.get("severity").map(String::as_str) != Some("critical") {
            continue;
        }
        // One alert per service the rule is about, each with its `service` label.
        if services.is_empty() {
            lose(&labels);
        }
        for s in services {
            labels.insert("service".into(), s);
            lose(&labels);
        }
    }
    if lost.is_empty() {
        return;
    }
    let to = a.routes[first].to.as_slice().iter().map(|r| format!("`{r}`")).collect::<Vec<_>>().join(", ");
    sink.push(
        Diagnostic::warning(
            Code::CriticalToDefault,
            format!(
                "{} critical alert(s) reach only the default receiver `{default}`: {}",
                lost.len(),
                lost.join(", ")
            ),
        )
        .at(ctx.value(["alerting", "default"]))
        .label("criticals no route matches end here")
        .related(
            ctx.value(["alerting", "routes", &first.to_string(), "match"]),
            format!("this route sends criticals to {to}"),
        )
        .help("widen that route's `match` (or add a route) so these alerts reach who is paged for criticals"),
    );
}

//! Budget and ports: with `host:` given, the limits of every container fit the host; and no two
//! things are published on the same host port.

use super::Ctx;
use crate::code::Code;
use crate::diagnostic::{Diagnostic, Sink};
use crate::ir;
use crate::manifest::values::format_size;
use std::collections::HashMap;

pub fn check(ctx: &Ctx, sink: &mut Sink) {
    let stack = ir::lower(ctx.manifest, "");
    if let Some(host) = &ctx.manifest.host {
        // Every container with a limit: sightline's components, and the application's services
        // whose `compose:` sets one.
        let apps = || stack.services.iter().filter(|s| s.image.is_some());
        let mut by: Vec<(u64, &str, String)> = stack
            .components
            .iter()
            .map(|c| (c.memory.bytes(), c.name.as_str(), c.memory.as_str().to_string()))
            .chain(apps().filter_map(|s| {
                s.compose.memory.as_ref().map(|m| (m.bytes(), s.name.as_str(), m.as_str().to_string()))
            }))
            .collect();
        // Saturating: sizes near the top of u64 add up to "more than any host", not to a wrap.
        let mem: u64 = by.iter().fold(0u64, |a, c| a.saturating_add(c.0));
        if mem > host.memory.bytes() {
            by.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
            let top: Vec<String> = by.iter().take(3).map(|(_, n, s)| format!("{n} {s}")).collect();
            sink.push(
                Diagnostic::error(
                    Code::MemoryBudget,
                    format!(
                        "the stack's memory limits add up to {}, more than the host's {}",
                        if mem == u64::MAX { "more than 16EiB".to_string() } else { format_size(mem) },
                        host.memory
                    ),
                )
                .at(ctx.value(["host", "memory"]))
                .label(format!("biggest: {}", top.join(", ")))
                .help(
                    "lower the `memory:` of the biggest consumers (under `observability`, or a service's `compose`), or give the host more memory",
                ),
            );
        }
        let mut by: Vec<(f64, &str)> = stack
            .components
            .iter()
            .map(|c| (c.cpus, c.name.as_str()))
            .chain(apps().filter_map(|s| s.compose.cpus.map(|c| (c, s.name.as_str()))))
            .collect();
        let cpus: f64 = by.iter().map(|c| c.0).sum();
        if cpus > host.cpus + 1e-9 {
            by.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
            let top: Vec<String> = by.iter().take(3).map(|(c, n)| format!("{n} {c}")).collect();
            sink.push(
                Diagnostic::error(
                    Code::CpuBudget,
                    format!("the stack's CPU limits add up to {}, more than the host's {}", round2(cpus), host.cpus),
                )
                .at(ctx.value(["host", "cpus"]))
                .label(format!("biggest: {}", top.join(", ")))
                .help("lower the `cpus:` of the biggest consumers (under `observability`, or a service's `compose`), or give the host more CPUs"),
            );
        }
        let disk: u64 =
            stack.components.iter().filter_map(|c| c.disk.as_ref()).fold(0u64, |a, d| a.saturating_add(d.bytes()));
        if disk > host.disk.bytes() {
            let top: Vec<String> =
                stack.components.iter().filter_map(|c| c.disk.as_ref().map(|d| format!("{} {d}", c.name))).collect();
            sink.push(
                Diagnostic::error(
                    Code::DiskBudget,
                    format!("the stack's volumes add up to {}, more than the host's {}", format_size(disk), host.disk),
                )
                .at(ctx.value(["host", "disk"]))
                .label(format!("biggest: {}", top.join(", ")))
                .help("lower `disk:` of prometheus, loki (and their retention) or backups, or give the host more disk"),
            );
        }
    }
    // Every binding of a port so far: a clash with any of them, not only the first.
    let mut seen: HashMap<u16, Vec<&ir::Published>> = HashMap::new();
    for p in &stack.published {
        let earlier = seen.entry(p.port).or_default();
        let clash = earlier.iter().find(|f| f.bind == p.bind || f.bind == "0.0.0.0" || p.bind == "0.0.0.0").copied();
        earlier.push(p);
        if let Some(first) = clash {
            let mut d = Diagnostic::error(
                Code::PortConflict,
                format!("{} and {} are both published on host port {}", first.owner, p.owner, p.port),
            )
            .at(ctx.source.value_span(&p.pointer))
            .label(format!("{} binds it too", first.owner))
            .help("change one of the ports");
            if !first.pointer.is_empty() && ctx.source.node(&first.pointer).is_some() {
                d = d.related(ctx.source.value_span(&first.pointer), format!("{} binds it", first.owner));
            }
            sink.push(d)
        }
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

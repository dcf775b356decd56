//! Alerts and objectives: overrides give thresholds of the kind the alert compares; latency
//! needs a histogram whose unit is known; an SLO window fits in Prometheus's retention.

use super::Ctx;
use crate::code::Code;
use crate::diagnostic::{Diagnostic, Sink};
use crate::ir::catalog::{self, threshold_value};
use crate::ir::{defaults, duration_scale, framework_metric_names};
use crate::manifest::model::{AlertOverride, Framework, Kind};
use crate::manifest::values::Duration;

pub fn check(ctx: &Ctx, sink: &mut Sink) {
    let m = ctx.manifest;
    let retention = m
        .observability
        .as_ref()
        .and_then(|o| o.prometheus.as_ref())
        .and_then(|p| p.retention.clone())
        .unwrap_or_else(|| Duration::parse(defaults::PROMETHEUS_RETENTION).expect("default"));
    for (name, s) in &m.services {
        for (alert, o) in &s.alerts {
            let (Some(def), AlertOverride::Settings(set)) = (catalog::builtin(s.kind, alert), o) else { continue };
            if let Some(t) = &set.threshold
                && threshold_value(def.unit, t).is_none()
            {
                sink.push(
                    Diagnostic::error(
                        Code::ThresholdKind,
                        format!("`{alert}` compares against {}", def.unit.example()),
                    )
                    .at(ctx.value(["services", name.as_str(), "alerts", alert.as_str(), "threshold"]))
                    .label("not that kind of value")
                    .help(format!("write {}", def.unit.example())),
                );
            }
        }
        if s.kind != Kind::Http {
            continue;
        }
        let duration = s
            .metric_names
            .as_ref()
            .and_then(|n| n.duration.clone())
            .unwrap_or_else(|| framework_metric_names(s.framework.unwrap_or(Framework::Generic)).1.to_string());
        let latency_slo = s.slo.as_ref().and_then(|o| o.latency.as_ref()).is_some();
        if duration_scale(&duration).is_none() {
            let at = if s.metric_names.as_ref().and_then(|n| n.duration.as_ref()).is_some() {
                ctx.value(["services", name.as_str(), "metric_names", "duration"])
            } else {
                ctx.key(["services", name.as_str()])
            };
            let d = if latency_slo {
                Diagnostic::error(
                    Code::DurationUnit,
                    format!("the latency objective of `{name}` needs a duration histogram with a known unit"),
                )
            } else {
                Diagnostic::warning(
                    Code::DurationUnit,
                    format!("`{duration}` has no unit in its name; `{name}` gets no HighLatency alert"),
                )
            };
            sink.push(
                d.at(at).label("unit unknown").help("name the histogram `…_seconds`, `…_milliseconds` or `…_ms`"),
            );
        }
        if let Some(w) = s.slo.as_ref().and_then(|o| o.window.as_ref())
            && w.millis() > retention.millis()
        {
            sink.push(
                Diagnostic::error(
                    Code::SloWindowRetention,
                    format!("the SLO window ({w}) is longer than Prometheus keeps samples ({retention})"),
                )
                .at(ctx.value(["services", name.as_str(), "slo", "window"]))
                .label("the burn cannot be computed")
                .help(format!("raise `observability.prometheus.retention` to at least `{w}`, or shorten the window")),
            );
        } else if s.slo.is_some() && s.slo.as_ref().and_then(|o| o.window.as_ref()).is_none() {
            let window = Duration::parse(defaults::SLO_WINDOW).expect("default");
            if window.millis() > retention.millis() {
                sink.push(
                    Diagnostic::error(Code::SloWindowRetention, format!("the default SLO window ({window}) is longer than Prometheus keeps samples ({retention})"))
                        .at(ctx.key(["services", name.as_str(), "slo"]))
                        .label("the burn cannot be computed")
                        .help(format!("raise `observability.prometheus.retention` to at least `{window}`, or set a shorter `slo.window`")),
                );
            }
        }
    }
}

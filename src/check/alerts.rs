//! Alerts and objectives: overrides give thresholds of the kind the alert compares; latency
//! needs a histogram whose unit is known, a threshold under its top bucket and an objective on
//! a bucket boundary; alerts on single status codes need exact codes; an SLO window fits in
//! Prometheus's retention.

use super::Ctx;
use crate::code::Code;
use crate::diagnostic::{Diagnostic, Sink};
use crate::ir::defaults;
use crate::ir::frameworks::MetricNames;
use crate::kinds::alert::threshold_value;
use crate::manifest::model::{AlertOverride, Framework, Kind, StatusCodes};
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
            let (Some(def), AlertOverride::Settings(set)) = (crate::kinds::builtin(s.kind, alert), o) else { continue };
            if set.threshold.is_some() && def.state && !o.is_off() {
                sink.push(
                    Diagnostic::warning(Code::NotForKind, format!("`threshold` has no effect on `{alert}`"))
                        .at(ctx.key(["services", name.as_str(), "alerts", alert.as_str(), "threshold"]))
                        .label("ignored: the alert fires on a state")
                        .help(format!(
                            "`{alert}` fires when the state holds for its `for`, whatever the threshold; remove it, or change `for` or `severity`"
                        )),
                );
            } else if let Some(t) = &set.threshold
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
        let names = MetricNames::resolve(s.framework.unwrap_or(Framework::Generic), s.metric_names.as_ref());
        let duration = &names.duration;
        let given = |field: &str| {
            s.metric_names.as_ref().is_some_and(|n| match field {
                "duration" => n.duration.is_some(),
                "buckets" => n.buckets.is_some(),
                _ => n.status_codes.is_some(),
            })
        };
        let latency_slo = s.slo.as_ref().and_then(|o| o.latency.as_ref());
        let scale = names.duration_scale();
        if scale.is_none() {
            let at = if given("duration") {
                ctx.value(["services", name.as_str(), "metric_names", "duration"])
            } else {
                ctx.key(["services", name.as_str()])
            };
            let d = if latency_slo.is_some() {
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
        if let Some(b) = s.metric_names.as_ref().and_then(|n| n.buckets.as_ref())
            && (b.is_empty() || b.iter().any(|x| !x.is_finite() || *x <= 0.0) || b.windows(2).any(|w| w[0] >= w[1]))
        {
            sink.push(
                Diagnostic::error(Code::InvalidValue, "buckets are finite positive bounds in ascending order")
                    .at(ctx.value(["services", name.as_str(), "metric_names", "buckets"]))
                    .label("not ascending positive bounds")
                    .help("list the histogram's upper bounds as the application declares them, without `+Inf`"),
            );
            continue;
        }
        let where_buckets = || {
            if given("buckets") {
                "`metric_names.buckets`".to_string()
            } else {
                let f = crate::ir::frameworks::facts(s.framework.unwrap_or(Framework::Generic));
                match f.histogram_setting {
                    Some(set) => format!("{}'s buckets with `{}={}`", f.library, set.property, set.value),
                    None => format!("{}'s default buckets", f.library),
                }
            }
        };
        let bounds = |scale: f64| {
            names
                .buckets
                .iter()
                .flatten()
                .map(|b| crate::ir::frameworks::bound_text(b / scale))
                .collect::<Vec<_>>()
                .join(", ")
        };
        // A HighLatency threshold at or above the top bucket: histogram_quantile is capped there.
        if let (Some(scale), Some(top)) = (scale, names.top_bucket())
            && !s.alerts.get("HighLatency").is_some_and(AlertOverride::is_off)
        {
            let def = crate::kinds::builtin(Kind::Http, "HighLatency").expect("http has HighLatency");
            let set = match s.alerts.get("HighLatency") {
                Some(AlertOverride::Settings(set)) => set.threshold.as_ref(),
                _ => None,
            };
            let t = set.and_then(|t| threshold_value(def.unit, t)).unwrap_or(def.threshold);
            if t * scale >= top {
                let at = if set.is_some() {
                    ctx.value(["services", name.as_str(), "alerts", "HighLatency", "threshold"])
                } else {
                    ctx.key(["services", name.as_str()])
                };
                sink.push(
                    Diagnostic::error(
                        Code::LatencyAboveBuckets,
                        format!(
                            "`HighLatency` of `{name}` can never fire: its threshold is at or above `{duration}`'s largest bucket ({})",
                            crate::ir::frameworks::bound_text(top / scale)
                        ),
                    )
                    .at(at)
                    .label("p95 is capped at the top bucket")
                    .help(format!("use a threshold below it (buckets, from {}: {})", where_buckets(), bounds(scale))),
                );
            }
        }
        // A latency objective between buckets matches no `le`.
        if let (Some(scale), Some(l)) = (scale, latency_slo) {
            let set = [("p99", &l.p99), ("p95", &l.p95), ("p90", &l.p90), ("p50", &l.p50)]
                .into_iter()
                .find_map(|(q, d)| d.as_ref().map(|d| (q, d)));
            if let Some((q, d)) = set
                && names.is_bucket(d.seconds() * scale) == Some(false)
            {
                sink.push(
                    Diagnostic::error(
                        Code::ObjectiveBetweenBuckets,
                        format!(
                            "the latency objective `{q}: {d}` of `{name}` is not a bucket boundary of `{duration}`"
                        ),
                    )
                    .at(ctx.value(["services", name.as_str(), "slo", "latency", q]))
                    .label("no bucket has this bound")
                    .help({
                        // The bounds either side of the threshold, then all of them.
                        let t = d.seconds() * scale;
                        let all: Vec<f64> = names.buckets.clone().unwrap_or_default();
                        let below = all.iter().copied().filter(|b| *b < t).reduce(f64::max);
                        let above = all.iter().copied().filter(|b| *b > t).reduce(f64::min);
                        let near: Vec<f64> = [below, above].into_iter().flatten().map(|b| b / scale).collect();
                        // A manifest duration is whole milliseconds: a bound between two (Micrometer's)
                        // cannot be written, so the objective needs a bound of its own.
                        if near.iter().all(|b| crate::ir::frameworks::whole_millis(*b)) {
                            let near: Vec<String> = near
                                .iter()
                                .map(|b| format!("`{}`", crate::ir::frameworks::bound_text(*b)))
                                .collect();
                            format!(
                                "the nearest bounds are {}; all of them (from {}): {}",
                                near.join(" and "),
                                where_buckets(),
                                bounds(scale)
                            )
                        } else {
                            let f = crate::ir::frameworks::facts(s.framework.unwrap_or(Framework::Generic));
                            let how = f
                                .histogram_setting
                                .map(|set| format!(" (`{}={}ms`)", set.bounds_property, d.millis()))
                                .unwrap_or_default();
                            format!(
                                "the bounds near it ({}) are not whole milliseconds, which a duration here is: add `{d}` as a bound of the application's histogram{how}, and list the histogram's bounds in `metric_names.buckets`",
                                where_buckets()
                            )
                        }
                    }),
                );
            }
        }
        // 401/403 and 429 alerts on grouped status codes.
        if names.status_codes == StatusCodes::Grouped {
            for alert in ["AuthFailures", "RateLimited"] {
                if s.alerts.get(alert).is_some_and(|o| !o.is_off()) {
                    let why = if given("status_codes") {
                        "`metric_names.status_codes: grouped`".to_string()
                    } else {
                        format!(
                            "{} reports status classes (`4xx`) by default",
                            crate::ir::frameworks::facts(s.framework.unwrap_or(Framework::Generic)).library
                        )
                    };
                    sink.push(
                        Diagnostic::error(
                            Code::GroupedStatusCodes,
                            format!("`{alert}` of `{name}` can never fire: {why}"),
                        )
                        .at(ctx.key(["services", name.as_str(), "alerts", alert]))
                        .label("no single status code to match")
                        .help(format!(
                            "write `{alert}: off`, or report exact codes and set `metric_names.status_codes: exact`"
                        )),
                    );
                }
            }
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

//! The user's own rules: the expression is PromQL that Prometheus will load, a metric with a
//! known exporter's prefix is one that exporter exposes (a typo is an alert that never fires),
//! and `for:` is not shorter than the evaluation interval (which also applies to `for:` in
//! alert overrides).

use super::Ctx;
use crate::code::Code;
use crate::diagnostic::{Diagnostic, Sink};
use crate::manifest::model::AlertOverride;
use crate::manifest::values::Duration;
use crate::source::Span;

fn for_too_short(f: &Duration, eval: &Duration, at: Span) -> Diagnostic {
    Diagnostic::warning(Code::ForTooShort, format!("`for: {f}` is shorter than the evaluation interval ({eval})"))
        .at(at)
        .label("acts as one evaluation interval")
        .help(format!("use at least `{eval}`, or drop `for:`"))
}

pub fn check(ctx: &Ctx, sink: &mut Sink) {
    let m = ctx.manifest;
    let obs = m.observability.clone().unwrap_or_default();
    let scrape = obs
        .scrape_interval
        .clone()
        .unwrap_or_else(|| Duration::parse(crate::ir::defaults::SCRAPE_INTERVAL).expect("default"));
    let eval = obs.evaluation_interval.clone().unwrap_or(scrape);
    if let Some(a) = &m.alerting {
        for (i, r) in a.rules.iter().enumerate() {
            let i = i.to_string();
            let parsed = promql_parser::parser::parse(&r.expr);
            if let Ok(expr) = &parsed {
                for metric in crate::ir::metrics::selected(expr) {
                    // Only a near miss of a metric the exporter has: its catalogue here is the
                    // metrics sightline uses, not all it exposes, so a far name may be real.
                    let Some((exporter, known)) = crate::ir::metrics::by_prefix(&metric) else { continue };
                    if known.contains(&metric.as_str()) {
                        continue;
                    }
                    let near = known.iter().find(|k| strsim::damerau_levenshtein(&metric, k) <= 2);
                    if let Some(near) = near {
                        sink.push(
                            Diagnostic::warning(
                                Code::UnknownExporterMetric,
                                format!("{exporter} exposes no metric `{metric}`; rule `{}` would never fire", r.alert),
                            )
                            .at(ctx.value(["alerting", "rules", &i, "expr"]))
                            .label("no such series")
                            .help(format!("did you mean `{near}`?")),
                        );
                    }
                }
            }
            if let Err(e) = parsed {
                let first = e.lines().next().unwrap_or("invalid expression").trim().to_string();
                sink.push(
                    Diagnostic::error(
                        Code::PromqlSyntax,
                        format!("rule `{}` has an expression that does not parse", r.alert),
                    )
                    .at(ctx.value(["alerting", "rules", &i, "expr"]))
                    .label(first)
                    .help("check the PromQL syntax, e.g. with the query editor of Prometheus or Grafana"),
                );
            }
            if let Some(f) = &r.for_
                && f.millis() > 0
                && f.millis() < eval.millis()
            {
                sink.push(for_too_short(f, &eval, ctx.value(["alerting", "rules", &i, "for"])));
            }
        }
    }
    for (name, s) in &m.services {
        for (alert, o) in &s.alerts {
            if let AlertOverride::Settings(set) = o
                && let Some(f) = &set.for_
                && f.millis() > 0
                && f.millis() < eval.millis()
            {
                sink.push(for_too_short(
                    f,
                    &eval,
                    ctx.value(["services", name.as_str(), "alerts", alert.as_str(), "for"]),
                ));
            }
        }
    }
}

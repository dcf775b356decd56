//! SLOs: recording rules for the error ratio over each window, and multiwindow,
//! multi-burn-rate alerts as in the Google SRE workbook (chapter "Alerting on SLOs").
//!
//! Each alert compares a long and a short window against `factor × (1 − objective)`. The factor
//! is the share of the error budget the alert may spend, times the SLO period, divided by the
//! long window: with a 30d period, 2% in 1h gives 14.4, 5% in 6h gives 6, 10% in 1d gives 3 and
//! 10% in 3d gives 1. It is computed here, so another period gets the right factors.

use super::model::InputSeries;
use crate::ir::{Service, Stack};
use crate::kinds::alert::num;
use crate::manifest::values::Duration;
use crate::targets::alertmanager::routing::Matcher;
use crate::targets::grafana::dashboards::ServiceBoards;

/// Where the selector of an objective's services goes while services are grouped.
const SELECTOR: &str = "\u{0}";

pub use crate::ir::catalog::SLO_WINDOWS as WINDOWS;

/// The burn-rate factor of a window for an SLO period.
pub fn factor(budget_share: f64, period: &Duration, long_window: &str) -> f64 {
    let long = Duration::parse(long_window).expect("window table durations are valid");
    budget_share * period.millis() as f64 / long.millis() as f64
}

/// The windows the recording rules cover: every long and short window of the table.
fn recorded_windows() -> Vec<&'static str> {
    let mut w: Vec<&str> = WINDOWS.iter().flat_map(|(l, s, ..)| [*s, *l]).collect();
    w.sort_by_key(|x| Duration::parse(x).map(|d| d.millis()).unwrap_or(0));
    w.dedup();
    w
}

/// One objective of one service, made concrete.
pub struct Objective {
    /// `availability` or `latency`.
    pub kind: &'static str,
    /// The target ratio of good events (0.999).
    pub target: f64,
    pub target_text: String,
    /// The PromQL of the bad-event ratio over a window `{w}`, of the services `SELECTOR` (until
    /// `shared` names them).
    pub ratio: String,
    /// The recording-rule name prefix.
    pub record: String,
    /// Input series whose bad ratio is `bad` (for the tests).
    pub series: Box<dyn Fn(f64) -> Vec<InputSeries>>,
}

/// The objectives of a service.
pub fn objectives(s: &Service) -> Vec<Objective> {
    let Some(slo) = &s.slo else { return Vec::new() };
    let name = s.name.to_string();
    let m = s.metric_names.clone();
    let port = s.metrics_port;
    let labels = format!("job=\"{name}\",instance=\"{name}:{port}\",service=\"{name}\"");
    let mut out = Vec::new();
    if let Some(a) = &slo.availability {
        let (r, st) = (m.requests.clone(), m.status_label.clone());
        let (e5, ok) = (m.status_value(500), m.status_value(200));
        let l = labels.clone();
        out.push(Objective {
            kind: "availability",
            target: a.ratio(),
            target_text: a.as_str().to_string(),
            ratio: format!(
                "sum by (service) (rate({r}{{{SELECTOR},{st}=~\"5..\"}}[{{w}}])) / sum by (service) (rate({r}{{{SELECTOR}}}[{{w}}]))"
            ),
            record: "sightline_slo:availability_errors:ratio_rate".to_string(),
            series: Box::new(move |bad| {
                vec![
                    InputSeries { series: format!("{r}{{{l},{st}=\"{e5}\"}}"), values: format!("0+{}x300", num(1000.0 * bad)) },
                    InputSeries { series: format!("{r}{{{l},{st}=\"{ok}\"}}"), values: format!("0+{}x300", num(1000.0 * (1.0 - bad))) },
                ]
            }),
        });
    }
    if let (Some((q, quantile, threshold)), Some(scale)) = (&slo.latency, m.duration_scale()) {
        let d = m.duration.clone();
        let le = threshold.seconds() * scale;
        let le_re = le_regex(le);
        let l = labels.clone();
        out.push(Objective {
            kind: "latency",
            target: *quantile,
            target_text: format!("{q} ≤ {threshold}"),
            ratio: format!(
                "1 - (sum by (service) (rate({d}_bucket{{{SELECTOR},le=~\"{le_re}\"}}[{{w}}])) / sum by (service) (rate({d}_count{{{SELECTOR}}}[{{w}}])))"
            ),
            record: "sightline_slo:latency_errors:ratio_rate".to_string(),
            series: Box::new(move |bad| {
                vec![
                    InputSeries { series: format!("{d}_bucket{{{l},le=\"{}\"}}", num(le)), values: format!("0+{}x300", num(1000.0 * (1.0 - bad))) },
                    InputSeries { series: format!("{d}_bucket{{{l},le=\"+Inf\"}}"), values: "0+1000x300".to_string() },
                    InputSeries { series: format!("{d}_count{{{l}}}"), values: "0+1000x300".to_string() },
                ]
            }),
        });
    }
    out
}

/// Client libraries print bucket bounds differently (`0.5`, `1` in Go, `1.0` in Python): match
/// any of those spellings.
fn le_regex(le: f64) -> String {
    let s = num(le);
    let escaped = s.replace('.', "\\\\.");
    if s.contains('.') { format!("{escaped}0*") } else { format!("{escaped}(\\\\.0+)?") }
}

/// The alert name of an objective's window, e.g. `AvailabilityBudgetBurn1h`.
pub fn alert_name(kind: &str, long: &str) -> String {
    let mut k = kind.to_string();
    if let Some(f) = k.get_mut(0..1) {
        f.make_ascii_uppercase();
    }
    format!("{k}BudgetBurn{long}")
}

/// The recording rules of an objective: (record name, expr).
pub fn recording_rules(o: &Objective) -> Vec<(String, String)> {
    recorded_windows().into_iter().map(|w| (format!("{}{w}", o.record), o.ratio.replace("{w}", w))).collect()
}

/// One burn-rate alert of an objective.
pub struct BurnAlert {
    pub name: String,
    pub expr: String,
    pub severity: &'static str,
    pub for_: &'static str,
    pub factor: f64,
    pub long: &'static str,
    pub short: &'static str,
}

/// The four burn-rate alerts of an objective.
pub fn burn_alerts(s: &Service, o: &Objective) -> Vec<BurnAlert> {
    let period = s.slo.as_ref().map(|x| x.window.clone()).unwrap_or_else(|| Duration::parse("30d").expect("valid"));
    WINDOWS
        .iter()
        .map(|(long, short, share, severity, for_)| {
            let f = factor(*share, &period, long);
            let limit = num(f * (1.0 - o.target));
            let sel = format!("{{{SELECTOR}}}");
            let expr = format!("{}{long}{sel} > {limit} and {}{short}{sel} > {limit}", o.record, o.record);
            BurnAlert { name: alert_name(o.kind, long), expr, severity, for_, factor: f, long, short }
        })
        .collect()
}

/// An objective that services share: the services whose objective reads the same (its kind,
/// target and window, their metric names, their dashboard) share its recording rules and its
/// burn-rate alerts, which name them, so the rules grow with the distinct objectives, not with
/// the services.
pub struct Shared<'a> {
    /// In manifest order; the generated tests use the first.
    pub services: Vec<&'a Service>,
    pub objective: Objective,
    pub alerts: Vec<BurnAlert>,
}

/// Every objective of the stack, shared.
pub fn shared<'a>(stack: &'a Stack, boards: &ServiceBoards) -> Vec<Shared<'a>> {
    let mut out: Vec<(Shared, Option<String>)> = Vec::new();
    for s in &stack.services {
        let board = boards.of(s.name.as_str()).map(|b| b.name.clone());
        for objective in objectives(s) {
            let alerts = burn_alerts(s, &objective);
            let same = |(x, b): &&mut (Shared, Option<String>)| {
                let o = &x.objective;
                (o.kind, &o.ratio, &o.target_text, b)
                    == (objective.kind, &objective.ratio, &objective.target_text, &board)
                    && x.alerts.iter().map(|a| &a.expr).eq(alerts.iter().map(|a| &a.expr))
            };
            match out.iter_mut().find(same) {
                Some((x, _)) => x.services.push(s),
                None => out.push((Shared { services: vec![s], objective, alerts }, board.clone())),
            }
        }
    }
    out.into_iter()
        .map(|(mut x, _)| {
            let names = x.services.iter().map(|s| s.name.to_string()).collect();
            let selector = Matcher { name: "service".into(), values: names }.render();
            x.objective.ratio = x.objective.ratio.replace(SELECTOR, &selector);
            for a in &mut x.alerts {
                a.expr = a.expr.replace(SELECTOR, &selector);
            }
            x
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn factors_for_thirty_days_are_the_workbooks() {
        let p = Duration::parse("30d").unwrap();
        let got: Vec<f64> =
            WINDOWS.iter().map(|(l, _, share, ..)| (factor(*share, &p, l) * 1000.0).round() / 1000.0).collect();
        assert_eq!(got, vec![14.4, 6.0, 3.0, 1.0]);
    }

    #[test]
    fn factors_follow_the_period() {
        let p = Duration::parse("7d").unwrap();
        assert!((factor(0.02, &p, "1h") - 3.36).abs() < 1e-9);
    }
}

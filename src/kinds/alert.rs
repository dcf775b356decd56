//! What every kind's module writes its alerts with: the alert as a fact (`Builtin`: name,
//! category, severity, `for`, threshold with its unit and source) and the kit a rule is written
//! with (`ServiceAlert`: the service and the threshold, overrides applied; `AlertText`: the expression,
//! its summary and description, and the series that make it fire and keep it silent in the
//! generated promtool tests).

use crate::ir::Service;
use crate::manifest::model::{Severity, Threshold};
use crate::targets::rules::model::{InputSeries, SERVICE_LABEL};

/// What a threshold measures, and so which manifest value type overrides it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// A fraction, written as a percent (`5%`).
    Ratio,
    /// A duration (`1s`), compared in the metric's own unit.
    Seconds,
    /// Events per second, a plain number.
    PerSecond,
    /// A count of events within the alert's window, a plain number.
    Count,
    /// Days, written as a duration (`14d`).
    Days,
}

impl Unit {
    /// How to write an override, for help lines.
    pub fn example(self) -> &'static str {
        match self {
            Unit::Ratio => "a percent, e.g. `5%`",
            Unit::Seconds => "a duration, e.g. `1s`",
            Unit::PerSecond => "a number of events per second, e.g. `2`",
            Unit::Count => "a number, e.g. `3`",
            Unit::Days => "a duration in days, e.g. `14d`",
        }
    }
}

/// A built-in alert.
#[derive(Clone, Copy, Debug)]
pub struct Builtin {
    pub name: &'static str,
    pub category: &'static str,
    pub severity: Severity,
    /// How long the condition must hold.
    pub for_: &'static str,
    /// The default threshold, in `unit` (ratios as fractions, seconds, per second, days).
    pub threshold: f64,
    pub unit: Unit,
    /// Where the threshold comes from.
    pub source: &'static str,
    /// Evaluated by Loki's ruler on the service's logs rather than by Prometheus.
    pub logs: bool,
    /// Read from a blackbox probe of the service, not from its own series: it holds for a
    /// service Prometheus does not scrape (`metrics: false`) too.
    pub probed: bool,
    /// Whether a service has the series the alert reads (a TLS domain, a health path, a
    /// runtime, a duration histogram, exact status codes); the alert is left out otherwise.
    pub when: fn(&Service) -> bool,
    /// It fires on a state (a target down, an alarm raised) and reads no threshold: an override
    /// of its `threshold` has no effect (SL205).
    pub state: bool,
}

/// Where awesome-prometheus-alerts' thresholds come from, as the sources name it.
pub const APA: &str = "awesome-prometheus-alerts (samber/awesome-prometheus-alerts)";

/// A metric alert (PromQL, evaluated by Prometheus).
pub const fn b(
    name: &'static str,
    category: &'static str,
    severity: Severity,
    for_: &'static str,
    threshold: f64,
    unit: Unit,
    source: &'static str,
) -> Builtin {
    Builtin {
        name,
        category,
        severity,
        for_,
        threshold,
        unit,
        source,
        logs: false,
        probed: false,
        when: |_| true,
        state: false,
    }
}

/// As [`b`], firing on a state: no threshold to read.
pub const fn state(b: Builtin) -> Builtin {
    Builtin { state: true, ..b }
}

/// As [`b`], only for the services `when` says have its series.
pub const fn only(when: fn(&Service) -> bool, b: Builtin) -> Builtin {
    Builtin { when, ..b }
}

/// As [`b`], read from a blackbox probe, for the services `when` says are probed so.
pub const fn probed(when: fn(&Service) -> bool, b: Builtin) -> Builtin {
    Builtin { when, probed: true, ..b }
}

/// A log-based alert (LogQL, evaluated by Loki's ruler): as [`b`], with `logs`.
pub const fn log(b: Builtin) -> Builtin {
    Builtin { logs: true, ..b }
}

/// The value of an override in the alert's unit, as the rule compares it.
pub fn threshold_value(unit: Unit, t: &Threshold) -> Option<f64> {
    match (unit, t) {
        (Unit::Ratio, Threshold::Percent(p)) => Some(p.ratio()),
        (Unit::Seconds, Threshold::Duration(d)) => Some(d.seconds()),
        (Unit::Days, Threshold::Duration(d)) => Some(d.millis() as f64 / 86_400_000.0),
        (Unit::PerSecond | Unit::Count, Threshold::Number(n)) => Some(*n),
        _ => None,
    }
}

/// Where the selector of a rule's services goes in an expression while services are grouped
/// (`targets::rules::builtin`, `targets::loki::rules`).
pub const SELECTOR: &str = "\u{0}";

/// `{{ $labels.service }}`, as summaries and descriptions name the service.
pub const WHO: &str = SERVICE_LABEL;

/// One service's alert being written: the service whose series the tests feed, the threshold,
/// `for` and severity with its overrides applied.
pub struct ServiceAlert<'a> {
    pub def: &'static Builtin,
    pub s: &'a Service,
    pub t: f64,
    pub for_: &'a str,
    /// The threshold as a reader sees it (`5%`, `500ms`, `14 days`).
    pub tt: String,
}

impl ServiceAlert<'_> {
    /// A series of the service's own target, with `extra` labels (`,status="500"`).
    pub fn svc(&self, metric: &str, extra: &str) -> String {
        let (name, kind) = (self.s.name.as_str(), self.s.kind.as_str());
        format!(
            "{metric}{{job=\"{name}\",instance=\"{name}:{}\",service_kind=\"{kind}\",service=\"{name}\"{extra}}}",
            self.s.metrics_port
        )
    }

    /// A series of the service's exporter.
    pub fn exp(&self, metric: &str, extra: &str) -> String {
        let (name, kind) = (self.s.name.as_str(), self.s.kind.as_str());
        let exporter = crate::ir::exporter_name(&self.s.name);
        format!("{metric}{{job=\"{name}\",instance=\"{exporter}\",service_kind=\"{kind}\",service=\"{name}\"{extra}}}")
    }
}

/// A metric alert's text: its expression (selecting `SELECTOR`), summary and description, the
/// series that make it fire and keep it silent, and the labels the expression keeps besides the
/// alert's own.
pub struct AlertText {
    pub expr: String,
    pub summary: String,
    pub description: String,
    pub firing: Vec<InputSeries>,
    pub silent: Vec<InputSeries>,
    pub kept: Vec<(String, String)>,
}

impl AlertText {
    pub fn new(
        expr: String,
        summary: String,
        description: String,
        firing: Vec<InputSeries>,
        silent: Vec<InputSeries>,
    ) -> Self {
        AlertText { expr, summary, description, firing, silent, kept: Vec::new() }
    }
}

/// A log alert's text: its LogQL expression (selecting `SELECTOR`), summary and description.
pub struct LogText {
    pub expr: String,
    pub summary: String,
    pub description: String,
}

/// A number as PromQL and people read it: no trailing zeros.
pub fn num(x: f64) -> String {
    let s = format!("{:.6}", x);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() || s == "-0" { "0".into() } else { s.to_string() }
}

pub fn threshold_text(unit: Unit, t: f64) -> String {
    match unit {
        Unit::Ratio => format!("{}%", num(t * 100.0)),
        Unit::Seconds => crate::manifest::values::format_duration((t * 1000.0).round() as u64),
        Unit::PerSecond => format!("{}/s", num(t)),
        Unit::Count => num(t),
        Unit::Days => format!("{} days", num(t)),
    }
}

pub fn series(s: &str, values: &str) -> InputSeries {
    InputSeries { series: s.to_string(), values: values.to_string() }
}

/// Halfway between a ratio threshold and 1: safely above it.
pub fn above(t: f64) -> f64 {
    t + (1.0 - t) / 2.0
}

/// A gauge and its limit, the gauge at `share` of it (of 1000).
pub fn share_series(used: &str, limit: &str, share: f64) -> Vec<InputSeries> {
    vec![series(used, &format!("{}x60", num(1000.0 * share))), series(limit, "1000x60")]
}

/// Two counters, the first with `share` of their sum (100 events a minute in all).
pub fn ratio_series(first: &str, second: &str, share: f64) -> Vec<InputSeries> {
    vec![
        series(first, &format!("0+{}x60", num(100.0 * share))),
        series(second, &format!("0+{}x60", num(100.0 * (1.0 - share)))),
    ]
}

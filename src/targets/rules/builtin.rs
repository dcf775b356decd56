//! The built-in alerts as PromQL: for each metric alert of a kind (`crate::kinds`), one rule over the services
//! of a kind (or one for the host) with the threshold resolved, and the synthetic series that
//! make it fire and keep it silent, for the generated promtool tests.
//!
//! Rules grow with the kinds, not the services, as the monitoring mixins write them: the
//! services of a kind whose rule would read the same (the same threshold, `for`, severity,
//! metric names and dashboard) share one, which selects the kind (`service_kind="postgres"`, a target
//! label `prometheus.yml` gives every target of a service). The largest such set gets the
//! kind-wide rule, which excludes by name every other service of the kind (an override, an
//! alert switched off, other metric names, none of the alert's series: a rule is about exactly
//! the services it lists), or names its own when they are fewer; each other set gets its own
//! rule, which names its services.
//!
//! Every service alert aggregates `by (service)`, so the alert's labels are exactly the label
//! set of `model::alert_labels` with the service's name, and routes can rely on them.

use super::model::InputSeries;
use crate::ir::{Service, Stack};
use crate::kinds::alert::{Builtin, SELECTOR, ServiceAlert, num, series, threshold_text, threshold_value};
use crate::manifest::model::{AlertOverride, Kind};
use crate::targets::alertmanager::routing::Matcher;
use crate::targets::grafana::dashboards::ServiceBoards;
use crate::targets::prometheus::SERVICE_KIND;

/// One alert made concrete for the services it selects, or the host.
pub struct Concrete {
    pub def: &'static Builtin,
    /// The services the rule selects, in manifest order (empty for the host). The generated
    /// tests use the first.
    pub services: Vec<String>,
    /// The dashboard of the services (the same for all of them), when there is one.
    pub board: Option<String>,
    pub expr: String,
    pub for_: String,
    pub severity: String,
    /// The threshold in the alert's unit, as it appears to a reader (`5%`, `500ms`, `14 days`).
    pub threshold_text: String,
    pub summary: String,
    pub description: String,
    /// Labels the expression keeps besides the alert's own (for the tests' expectations).
    pub kept: Vec<(String, String)>,
    pub firing: Vec<InputSeries>,
    pub silent: Vec<InputSeries>,
}

impl Concrete {
    /// Whether two services' alerts read the same, selector aside: then one rule serves both.
    fn same_rule(&self, other: &Concrete) -> bool {
        (&self.expr, &self.for_, &self.severity, &self.summary, &self.description, &self.board)
            == (&other.expr, &other.for_, &other.severity, &other.summary, &other.description, &other.board)
    }
}

/// The built-in alerts of the services of `kind`: one rule per alert and set of services whose
/// rule reads the same (see the module's documentation).
pub fn kind_alerts(stack: &Stack, boards: &ServiceBoards, kind: Kind) -> Vec<Concrete> {
    let services: Vec<&Service> = stack.services.iter().filter(|s| s.kind == kind).collect();
    let mut out = Vec::new();
    for def in crate::kinds::def(kind).alerts.iter().filter(|d| !d.logs) {
        let mut rules: Vec<Concrete> = Vec::new();
        // The inputs of a rule's text (which names no service) already made concrete, and the
        // rule they went to: a service with the same inputs joins that rule without its alert
        // being made concrete again (at a fleet's size, most services).
        let mut known: Vec<(Inputs, usize)> = Vec::new();
        for s in &services {
            // A service the alert is off for, or that has none of its series, is in no rule.
            let Some(inputs) = admit(def, s, boards) else { continue };
            if let Some((_, i)) = known.iter().find(|(k, _)| *k == inputs) {
                rules[*i].services.push(s.name.to_string());
                continue;
            }
            let mut c = concrete(def, s, inputs.threshold, inputs.for_.clone(), inputs.severity.clone());
            c.board = inputs.board.clone();
            let i = match rules.iter().position(|r| r.same_rule(&c)) {
                Some(i) => {
                    rules[i].services.push(s.name.to_string());
                    i
                }
                None => {
                    rules.push(c);
                    rules.len() - 1
                }
            };
            known.push((inputs, i));
        }
        // The largest set is kind-wide; on a tie, the first.
        let Some(wide) = (0..rules.len()).max_by_key(|i| (rules[*i].services.len(), std::cmp::Reverse(*i))) else {
            continue;
        };
        let kind_label = format!("{SERVICE_KIND}=\"{}\"", kind.as_str());
        // The kind-wide rule selects the kind but every service of it that is not its own (in
        // another rule, off, or without the alert's series, whose series a library may still
        // export): by name, or, when those are more than its own, its own by name.
        let own: std::collections::HashSet<&str> = rules[wide].services.iter().map(String::as_str).collect();
        let others: Vec<String> =
            services.iter().map(|s| s.name.to_string()).filter(|n| !own.contains(n.as_str())).collect();
        let selectors: Vec<String> = rules
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let (names, negated) = match i == wide && others.len() <= r.services.len() {
                    true => (&others, true),
                    false => (&r.services, false),
                };
                if names.is_empty() {
                    return kind_label.clone();
                }
                let m = Matcher { name: "service".into(), values: names.clone() };
                format!("{kind_label},{}", if negated { m.render_negated() } else { m.render() })
            })
            .collect();
        for (mut r, selector) in rules.into_iter().zip(selectors) {
            r.expr = r.expr.replace(SELECTOR, &selector);
            out.push(r);
        }
    }
    out
}

/// Resolve overrides: `None` when the alert is switched off.
pub fn resolve(def: &'static Builtin, service: &Service) -> Option<(f64, String, String)> {
    let mut threshold = def.threshold;
    let mut for_ = def.for_.to_string();
    let mut severity = def.severity.as_str().to_string();
    if is_off(service, def.name) {
        return None;
    }
    match service.alerts.get(def.name) {
        Some(AlertOverride::Off(_)) | None => {}
        Some(AlertOverride::Settings(s)) => {
            // An alert that fires on a state reads no threshold (an override is SL205); a
            // threshold of the wrong kind on another is SL503 before this runs.
            if let Some(t) = s.threshold.as_ref().filter(|_| !def.state) {
                threshold = threshold_value(def.unit, t)?;
            }
            if let Some(f) = &s.for_ {
                for_ = f.canonical();
            }
            if let Some(sev) = s.severity {
                severity = sev.as_str().to_string();
            }
        }
    }
    Some((threshold, for_, severity))
}

/// Whether the manifest switches a built-in alert of a service off.
pub fn is_off(s: &Service, alert: &str) -> bool {
    s.alerts.get(alert).is_some_and(AlertOverride::is_off)
}

/// What the text of a service's built-in alert is made of besides the alert and the kind: its
/// threshold, `for` and severity (overrides applied), its metric names, its framework and runtime
/// (whose libraries name the process's metrics and the settings) and its dashboard. Two
/// services with the same inputs have the same rule text; two with different inputs may still
/// have (a metric name the alert does not read), which `Concrete::same_rule` finds.
#[derive(PartialEq)]
struct Inputs<'a> {
    threshold: f64,
    for_: String,
    severity: String,
    names: &'a crate::ir::frameworks::MetricNames,
    framework: crate::manifest::model::Framework,
    runtime: Option<crate::manifest::model::Runtime>,
    board: Option<String>,
}

/// The inputs of a built-in alert for one service, overrides applied; `None` when the alert is
/// off for the service or the service has none of its series (no TLS domain, not scraped, ...).
fn admit<'a>(def: &'static Builtin, s: &'a Service, boards: &ServiceBoards) -> Option<Inputs<'a>> {
    // The alert's own condition (`kinds::alert::Builtin::when`); a service Prometheus does
    // not scrape (`metrics: false`) has none of its own series: only probes can alert.
    if !(def.when)(s) || (!s.scraped() && !def.probed) {
        return None;
    }
    let (threshold, for_, severity) = resolve(def, s)?;
    let board = boards.of(s.name.as_str()).map(|b| b.name.clone());
    Some(Inputs {
        threshold,
        for_,
        severity,
        names: &s.metric_names,
        framework: s.framework,
        runtime: s.runtime,
        board,
    })
}

fn concrete(def: &'static Builtin, s: &Service, t: f64, for_: String, severity: String) -> Concrete {
    // The series of the tests are `s`'s; the rule's text names no service.
    let tt = threshold_text(def.unit, t);
    let rule = ServiceAlert { def, s, t, for_: &for_, tt: tt.clone() };
    let text = (crate::kinds::def(s.kind).rule)(&rule);
    Concrete {
        def,
        services: vec![s.name.to_string()],
        board: None,
        expr: text.expr,
        for_,
        severity,
        threshold_text: tt,
        summary: text.summary,
        description: format!("{} Threshold: {} ({}).", text.description, threshold_text(def.unit, t), def.source),
        kept: text.kept,
        firing: text.firing,
        silent: text.silent,
    }
}

/// The host alerts, with node-exporter.
pub fn host_alerts(stack: &Stack) -> Vec<Concrete> {
    let _ = stack;
    let fs = "fstype!~\"tmpfs|overlay|squashfs|ramfs|nsfs\"";
    let inst = format!(
        "instance=\"{}:{}\"",
        crate::targets::paths::NODE_EXPORTER_ADDR.0,
        crate::targets::paths::NODE_EXPORTER_ADDR.1
    );
    let fs_labels = format!("job=\"node\",{inst},device=\"/dev/vda1\",fstype=\"ext4\",mountpoint=\"/\"");
    let fs_kept: Vec<(String, String)> = vec![
        ("device".into(), "/dev/vda1".into()),
        ("fstype".into(), "ext4".into()),
        (
            "instance".into(),
            format!("{}:{}", crate::targets::paths::NODE_EXPORTER_ADDR.0, crate::targets::paths::NODE_EXPORTER_ADDR.1),
        ),
        ("job".into(), "node".into()),
        ("mountpoint".into(), "/".into()),
    ];
    let inst_only: Vec<(String, String)> = fs_kept.iter().filter(|(k, _)| k == "instance").cloned().collect();
    let mut out = Vec::new();
    for def in crate::ir::catalog::HOST {
        let t = def.threshold;
        let tt = threshold_text(def.unit, t);
        let (expr, summary, description, kept, firing, silent) = match def.name {
            "HostDown" => (
                "min by (instance) (up{job=\"node\"}) == 0".to_string(),
                "The host is down".to_string(),
                "Prometheus cannot scrape node-exporter: the host or the exporter is down.".to_string(),
                inst_only.clone(),
                vec![series(&format!("up{{job=\"node\",{inst}}}"), "0x60")],
                vec![series(&format!("up{{job=\"node\",{inst}}}"), "1x60")],
            ),
            "HostDiskSpaceLow" => (
                format!(
                    "node_filesystem_avail_bytes{{{fs}}} / node_filesystem_size_bytes{{{fs}}} < {} and on (instance, device, mountpoint) node_filesystem_readonly{{{fs}}} == 0",
                    num(t)
                ),
                format!("Less than {tt} disk space left"),
                format!("A filesystem of the host has less than {tt} free."),
                fs_kept.clone(),
                disk_series(&fs_labels, "50x60", "1000x60"),
                disk_series(&fs_labels, "500x60", "1000x60"),
            ),
            "HostDiskWillFillIn24h" => (
                format!(
                    "node_filesystem_avail_bytes{{{fs}}} / node_filesystem_size_bytes{{{fs}}} < {} and on (instance, device, mountpoint) predict_linear(node_filesystem_avail_bytes{{{fs}}}[6h], 86400) < 0 and on (instance, device, mountpoint) node_filesystem_readonly{{{fs}}} == 0",
                    num(t)
                ),
                "Disk predicted to fill within 24h".to_string(),
                format!(
                    "A filesystem has less than {tt} free and, at the rate of the last 6 hours, fills within 24 hours."
                ),
                fs_kept.clone(),
                disk_series(&fs_labels, "95-1x60", "1000x60"),
                disk_series(&fs_labels, "95x60", "1000x60"),
            ),
            "HostMemoryHigh" => (
                format!("1 - (node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes) > {}", num(t)),
                format!("Memory use above {tt}"),
                format!("More than {tt} of the host's memory is in use."),
                vec![("instance".into(), inst_only[0].1.clone()), ("job".into(), "node".into())],
                vec![
                    series(&format!("node_memory_MemAvailable_bytes{{job=\"node\",{inst}}}"), "50x60"),
                    series(&format!("node_memory_MemTotal_bytes{{job=\"node\",{inst}}}"), "1000x60"),
                ],
                vec![
                    series(&format!("node_memory_MemAvailable_bytes{{job=\"node\",{inst}}}"), "500x60"),
                    series(&format!("node_memory_MemTotal_bytes{{job=\"node\",{inst}}}"), "1000x60"),
                ],
            ),
            "HostCpuHigh" => (
                format!("1 - avg by (instance) (rate(node_cpu_seconds_total{{mode=\"idle\"}}[5m])) > {}", num(t)),
                format!("CPU use above {tt}"),
                format!("The host's CPUs have been more than {tt} busy for {}.", def.for_),
                inst_only.clone(),
                vec![series(
                    &format!("node_cpu_seconds_total{{job=\"node\",{inst},cpu=\"0\",mode=\"idle\"}}"),
                    "0+3x60",
                )],
                vec![series(
                    &format!("node_cpu_seconds_total{{job=\"node\",{inst},cpu=\"0\",mode=\"idle\"}}"),
                    "0+60x60",
                )],
            ),
            other => unreachable!("no expression for host alert {other}"),
        };
        out.push(Concrete {
            def,
            services: Vec::new(),
            board: None,
            expr,
            for_: def.for_.to_string(),
            severity: def.severity.as_str().to_string(),
            threshold_text: tt.clone(),
            summary,
            description: format!("{description} Threshold: {tt} ({}).", def.source),
            kept,
            firing,
            silent,
        });
    }
    out
}

fn disk_series(labels: &str, avail: &str, size: &str) -> Vec<InputSeries> {
    vec![
        series(&format!("node_filesystem_avail_bytes{{{labels}}}"), avail),
        series(&format!("node_filesystem_size_bytes{{{labels}}}"), size),
        series(&format!("node_filesystem_readonly{{{labels}}}"), "0x60"),
    ]
}

//! `kind: http`: an application scraped directly, its request metrics named by its framework's
//! library (`ir::frameworks`), its process metrics by its runtime's (`ir::runtimes`); probed
//! for its health and certificate by the blackbox exporter.

use super::alert::*;
use super::{KindDef, Run, Var, common};
use crate::ir::Service;
use crate::ir::frameworks::Setting;
use crate::manifest::model::Severity::{Critical, Warning};
use crate::manifest::model::{Framework, Kind, LogFormat, Runtime};
use crate::targets::grafana::panels::*;
use crate::targets::rules::model::InputSeries;

pub const DEF: KindDef = KindDef {
    fields: &[
        "port",
        "host",
        "kubernetes",
        "framework",
        "runtime",
        "metrics",
        "metrics_port",
        "metric_names",
        "health",
        "tls",
        "slo",
    ],
    requires: &["port"],
    exporter: None,
    catalogue: None,
    alerts: ALERTS,
    rule,
    log_rule: common::error_log_spike,
    exposed,
    log_format,
    metrics_port: None,
    front_door: false,
    panels,
    connections: None,
    app,
    jobs: super::no_jobs,
    job_suffixes: &[],
    backup: None,
    overview,
    security,
    performance,
    refused_env: None,
    login: None,
    basic_login: false,
    own_env: own_variables,
    own_env_why: HISTOGRAM_ENV,
    lacks: super::lacks_nothing,
};

/// The setting its framework's library writes the duration histogram's buckets with, when it
/// needs one and the service reads that histogram (Spring Boot's).
fn histogram_setting(s: &Service) -> Option<&'static Setting> {
    let f = crate::ir::frameworks::facts(s.framework);
    f.histogram_setting.as_ref().filter(|_| s.scraped() && s.metric_names.duration == f.duration)
}

/// Its container: checked on its health path; with the setting that gives its framework's
/// duration histogram buckets.
fn app(s: &Service) -> Run<'_> {
    let mut run = common::health_probe(s);
    if let Some(set) = histogram_setting(s) {
        run.env.push((set.env, Var::Value(set.value.to_string())));
    }
    run
}

/// Why the variable of [`histogram_setting`] is sightline's.
pub const HISTOGRAM_ENV: (&str, &str) = (
    "set for the service's framework",
    "leave it out: sightline sets it so the framework writes the histogram the latency alerts read (docs/manifest.md, below the framework table)",
);

/// The variable of [`histogram_setting`], which `compose.environment` may not set again: the
/// same condition, on the manifest's service.
fn own_variables(s: &crate::manifest::model::Service) -> &'static [&'static str] {
    use crate::manifest::model::MetricsPath;
    let framework = s.framework.unwrap_or(Framework::Generic);
    let f = crate::ir::frameworks::facts(framework);
    let reads = || {
        !matches!(s.metrics, Some(MetricsPath::Enabled(false)))
            && crate::ir::frameworks::MetricNames::resolve(framework, s.metric_names.as_ref()).duration == f.duration
    };
    match &f.histogram_setting {
        Some(set) if reads() => std::slice::from_ref(&set.env),
        _ => &[],
    }
}

/// Flask's (werkzeug's), Django's and Spring Boot's (Logback's console pattern) default loggers
/// write plain lines; the other frameworks' defaults, JSON.
fn log_format(framework: Framework) -> LogFormat {
    if matches!(framework, Framework::Generic | Framework::Flask | Framework::Django | Framework::Spring) {
        LogFormat::Plain
    } else {
        LogFormat::Json
    }
}

/// What its framework's instrumentation exposes (`ir::metrics::framework`), and its runtime's
/// process metrics when it is scraped.
fn exposed(s: &Service) -> Vec<String> {
    let mut out = crate::ir::metrics::framework(s);
    if let Some(r) = s.runtime.filter(|_| s.scraped()) {
        out.extend(crate::ir::runtimes::metrics(r).map(|(m, _)| m.to_string()));
    }
    out
}

const ALERTS: &[Builtin] = &[
    common::TARGET_DOWN,
    b(
        "HighErrorRate",
        "operational",
        Critical,
        "5m",
        0.05,
        Unit::Ratio,
        "5% of responses 5xx: APA \"HTTP 5xx error rate\" family and the Google SRE workbook's example availability alert",
    ),
    // A duration histogram whose unit its name says.
    only(
        |s| s.metric_names.duration_scale().is_some(),
        b(
            "HighLatency",
            "performance",
            Warning,
            "10m",
            0.5,
            Unit::Seconds,
            "p95 above 500ms: the spec's example latency objective",
        ),
    ),
    // A library that writes the histogram's buckets only with a setting (Spring Boot): the
    // requests are counted, and the buckets HighLatency reads are not there.
    only(
        |s| histogram_setting(s).is_some(),
        state(b(
            "DurationBucketsMissing",
            "operational",
            Warning,
            "15m",
            0.0,
            Unit::Count,
            "requests counted and no bucket of their duration, Spring Boot's default without the percentiles-histogram property; the `for` of FileDescriptorsNearLimit",
        )),
    ),
    // Grouped status codes (`4xx`) cannot tell a 401 from a 404 (refused by the checks when
    // asked for explicitly).
    only(
        exact_codes,
        b(
            "AuthFailures",
            "security",
            Warning,
            "10m",
            1.0,
            Unit::PerSecond,
            "more than 1 response/s of 401 or 403 sustained 10m: a credential-stuffing or broken-client signal",
        ),
    ),
    only(
        exact_codes,
        b(
            "RateLimited",
            "security",
            Warning,
            "10m",
            1.0,
            Unit::PerSecond,
            "more than 1 response/s of 429 sustained 10m",
        ),
    ),
    HEALTH_CHECK_FAILED,
    common::TLS_EXPIRING,
    FDS_NEAR_LIMIT,
    common::ERROR_LOG_SPIKE,
];

/// Whether its instrumentation writes exact status codes.
fn exact_codes(s: &Service) -> bool {
    s.metric_names.status_codes != crate::manifest::model::StatusCodes::Grouped
}

/// With a `runtime` (http): the process has used most of its file descriptors; past the limit
/// it can accept no connection and open no file. The process metrics come with a runtime's
/// library (`ir::runtimes`).
const FDS_NEAR_LIMIT: Builtin = only(
    |s| s.runtime.is_some(),
    b(
        "FileDescriptorsNearLimit",
        "operational",
        Warning,
        "15m",
        0.7,
        Unit::Ratio,
        "more than 70% of the process's file descriptors open for 15m: node-mixin NodeFileDescriptorLimit (70%, 15m, warning), for the process's own limit (its open and maximum descriptors, as its runtime's library exports them)",
    ),
);

/// With `health:` (http): the blackbox probe of the health endpoint fails.
const HEALTH_CHECK_FAILED: Builtin = probed(
    |s| health_path(s).is_some(),
    state(b(
        "HealthCheckFailed",
        "operational",
        Critical,
        "2m",
        0.0,
        Unit::Count,
        "probe_success == 0 for the probe of `health.ready` (else `live`): the service runs but says it cannot serve; the `for` of TargetDown",
    )),
);

fn rule(r: &ServiceAlert) -> AlertText {
    let (sel, who, tt, t, s, for_) = (SELECTOR, WHO, r.tt.as_str(), r.t, r.s, r.for_);
    let m = &s.metric_names;
    let (req, st) = (m.requests.as_str(), m.status_label.as_str());
    let (e5, ok) = (m.status_value(500), m.status_value(200));
    match r.def.name {
        "HighErrorRate" => AlertText::new(
            format!(
                "sum by (service) (rate({req}{{{sel},{st}=~\"5..\"}}[5m])) / sum by (service) (rate({req}{{{sel}}}[5m])) > {}",
                num(t)
            ),
            format!("{who}: more than {tt} of responses are errors"),
            format!("More than {tt} of {who}'s responses were 5xx over 5 minutes."),
            ratio_series(&r.svc(req, &format!(",{st}=\"{e5}\"")), &r.svc(req, &format!(",{st}=\"{ok}\"")), above(t)),
            ratio_series(&r.svc(req, &format!(",{st}=\"{e5}\"")), &r.svc(req, &format!(",{st}=\"{ok}\"")), t / 2.0),
        ),
        "HighLatency" => {
            let scale = m.duration_scale().unwrap_or(1.0);
            let d = m.duration.as_str();
            let limit = t * scale;
            AlertText::new(
                format!(
                    "histogram_quantile(0.95, sum by (service, le) (rate({d}_bucket{{{sel}}}[5m]))) > {}",
                    num(limit)
                ),
                format!("{who}: p95 latency above {tt}"),
                format!("The 95th percentile of {who}'s request duration has been above {tt} for {for_}."),
                latency_series(&r.svc(&format!("{d}_bucket"), ""), limit, true),
                latency_series(&r.svc(&format!("{d}_bucket"), ""), limit, false),
            )
        }
        "DurationBucketsMissing" => {
            let d = m.duration.as_str();
            let set = histogram_setting(s).expect("DurationBucketsMissing is for a framework with a histogram setting");
            // The timer's own count, whatever `requests` names.
            let count = format!("{d}_count");
            let counted = r.svc(&count, &format!(",{st}=\"{ok}\""));
            AlertText::new(
                format!("count by (service) ({count}{{{sel}}}) unless count by (service) ({d}_bucket{{{sel}}})"),
                format!("{who}: its request durations have no histogram buckets"),
                format!(
                    "{who} exposes {count} but no {d}_bucket for {for_}: its HighLatency alert and latency objective cannot fire. Set {}={} in the application (sightline sets {} on a container it runs).",
                    set.property, set.value, set.env
                ),
                vec![series(&counted, "0+10x60")],
                vec![series(&counted, "0+10x60"), series(&r.svc(&format!("{d}_bucket"), ",le=\"+Inf\""), "0+10x60")],
            )
        }
        "AuthFailures" | "RateLimited" => {
            let (codes, what) = if r.def.name == "AuthFailures" { ("401|403", "401/403") } else { ("429", "429") };
            let code = codes.split('|').next().unwrap_or(codes);
            AlertText::new(
                format!("sum by (service) (rate({req}{{{sel},{st}=~\"{codes}\"}}[5m])) > {}", num(t)),
                format!("{who}: more than {tt} {what} responses"),
                format!("{who} has answered more than {tt} requests with {what} for {for_}."),
                vec![series(
                    &r.svc(req, &format!(",{st}=\"{code}\"")),
                    &format!("0+{}x60", num((t * 60.0 * 2.0).max(120.0))),
                )],
                vec![series(&r.svc(req, &format!(",{st}=\"{code}\"")), &format!("0+{}x60", num(t * 60.0 / 4.0)))],
            )
        }
        "FileDescriptorsNearLimit" => {
            let (open, max) = crate::ir::runtimes::facts(s.runtime.unwrap_or(Runtime::Go)).fds;
            AlertText::new(
                format!("max by (service) ({open}{{{sel}}} / {max}{{{sel}}}) > {}", num(t)),
                format!("{who}: more than {tt} of its file descriptors open"),
                format!(
                    "{who} has had more than {tt} of its file descriptors open for {for_}; at the limit it can accept no connection and open no file."
                ),
                share_series(&r.svc(open, ""), &r.svc(max, ""), above(t)),
                share_series(&r.svc(open, ""), &r.svc(max, ""), t / 2.0),
            )
        }
        "HealthCheckFailed" => {
            let (name, kind) = (s.name.as_str(), s.kind.as_str());
            let path = health_path(s).unwrap_or("/");
            // The path as a PromQL string value (a `"` or `\\` in it escaped).
            let instance = format!("http://{}:{}{path}", s.host, s.port).replace('\\', "\\\\").replace('"', "\\\"");
            let probe = format!(
                "probe_success{{job=\"{name}-health\",instance=\"{instance}\",service_kind=\"{kind}\",probe=\"health\",service=\"{name}\"}}"
            );
            let mut text = AlertText::new(
                format!("min by (service, instance) (probe_success{{{sel},probe=\"health\"}}) == 0"),
                format!("{who} fails its health check"),
                format!("The probe of {{{{ $labels.instance }}}} has failed for {for_}: it does not answer 2xx."),
                vec![series(&probe, "0x60")],
                vec![series(&probe, "1x60")],
            );
            text.kept.push(("instance".to_string(), format!("http://{}:{}{path}", s.host, s.port)));
            text
        }
        "TargetDown" => common::target_down(r),
        "TlsCertificateExpiring" => common::tls_expiring(r),
        other => unreachable!("no expression for built-in alert {other}"),
    }
}

/// The path the blackbox probe of a service's health checks: `ready`, else `live`.
pub fn health_path(s: &Service) -> Option<&str> {
    if s.kind != Kind::Http {
        return None;
    }
    s.health.as_ref().and_then(|h| h.ready.as_deref().or(h.live.as_deref()))
}

/// Histogram buckets whose p95 lies well above (`slow`) or well below the limit.
fn latency_series(bucket: &str, limit: f64, slow: bool) -> Vec<InputSeries> {
    let low = limit / 2.0;
    let high = limit * 2.0;
    let with_le = |le: &str| bucket.replacen('}', &format!(",le=\"{le}\"}}"), 1);
    let (in_low, in_high) = if slow { (0.0, 100.0) } else { (100.0, 100.0) };
    vec![
        series(&with_le(&num(low)), &format!("0+{}x60", num(in_low))),
        series(&with_le(&num(high)), &format!("0+{}x60", num(in_high))),
        series(&with_le("+Inf"), "0+100x60"),
    ]
}

/// Its dashboard's panels, for the service the dashboard's `service` variable chooses
/// (`targets::grafana::panels` is the kit; the logs panel follows them).
#[rustfmt::skip]
fn panels(s: &Service) -> Vec<Spec> {
    let sl = CHOSEN;
    let mut v = vec![
        spec(Viz::TimeSeries, "Requests", "reqps", "Requests per second.", vec![request_rate(s, sl)]),
        spec(Viz::TimeSeries, "Errors", "percentunit", "Share of 5xx responses.", vec![error_ratio(s, sl)]),
    ];
    let qs: Vec<Query> = [0.5, 0.95, 0.99].into_iter().filter_map(|x| quantile(s, sl, x)).collect();
    if !qs.is_empty() {
        v.push(spec(Viz::TimeSeries, "Duration", "s", "Request duration percentiles.", qs));
    }
    if let Some(route) = &s.metric_names.route_label {
        v.push(spec(Viz::TimeSeries, "Top routes", "reqps", "The ten busiest routes, requests per second.", vec![q(format!("topk(10, sum by ({route}) (rate({r}{{{sl}}}[{RATE}])))", r = s.metric_names.requests), format!("{{{{{route}}}}}"))]));
    }
    v.push(spec(Viz::TimeSeries, "Responses by status", "reqps", "Responses per second by status code.", vec![q(format!("sum by ({st}) (rate({r}{{{sl}}}[{RATE}]))", st = s.metric_names.status_label, r = s.metric_names.requests), format!("{{{{{}}}}}", s.metric_names.status_label))]));
    if let Some(r) = s.runtime {
        v.extend(runtime_panels(r, sl));
    }
    v
}

/// The process's and the runtime's panels of an `http` service with a `runtime`, from what its
/// library exports at its defaults (`ir::runtimes`).
fn runtime_panels(r: Runtime, sl: &str) -> Vec<Spec> {
    let (open, max) = crate::ir::runtimes::facts(r).fds;
    let mut v = vec![spec(
        Viz::TimeSeries,
        "Open file descriptors",
        "short",
        "Open file descriptors and the process's limit (FileDescriptorsNearLimit past its threshold, 70% by default).",
        vec![q(format!("sum({open}{{{sl}}})"), "open"), q(format!("sum({max}{{{sl}}})"), "limit")],
    )];
    // The Prometheus client libraries' process collectors (`runtimes::PROCESS`).
    if r != Runtime::Jvm {
        v.extend([
            spec(
                Viz::TimeSeries,
                "Resident memory",
                "bytes",
                "Memory the process holds in RAM.",
                vec![q(format!("sum(process_resident_memory_bytes{{{sl}}})"), "resident")],
            ),
            spec(
                Viz::TimeSeries,
                "CPU",
                "short",
                "CPU time the process uses, in cores.",
                vec![q(format!("sum(rate(process_cpu_seconds_total{{{sl}}}[{RATE}]))"), "cores")],
            ),
        ]);
    }
    match r {
        Runtime::Go => v.extend([
            spec(
                Viz::TimeSeries,
                "Goroutines",
                "short",
                "Goroutines that exist.",
                vec![q(format!("sum(go_goroutines{{{sl}}})"), "goroutines")],
            ),
            spec(
                Viz::TimeSeries,
                "Heap in use",
                "bytes",
                "Bytes of allocated heap objects.",
                vec![q(format!("sum(go_memstats_heap_alloc_bytes{{{sl}}})"), "heap")],
            ),
            spec(
                Viz::TimeSeries,
                "GC pauses",
                "percentunit",
                "Share of time the garbage collector stops the world.",
                vec![q(format!("sum(rate(go_gc_duration_seconds_sum{{{sl}}}[{RATE}]))"), "paused")],
            ),
        ]),
        Runtime::Node => v.extend([
            spec(
                Viz::TimeSeries,
                "Event loop lag",
                "s",
                "The 99th percentile of the event loop's lag: how long a ready callback waits.",
                vec![q(format!("max(nodejs_eventloop_lag_p99_seconds{{{sl}}})"), "p99")],
            ),
            spec(
                Viz::TimeSeries,
                "Heap",
                "bytes",
                "V8 heap used and its size.",
                vec![
                    q(format!("sum(nodejs_heap_size_used_bytes{{{sl}}})"), "used"),
                    q(format!("sum(nodejs_heap_size_total_bytes{{{sl}}})"), "total"),
                ],
            ),
            spec(
                Viz::TimeSeries,
                "GC time",
                "percentunit",
                "Share of time spent in garbage collection, by kind.",
                vec![q(format!("sum by (kind) (rate(nodejs_gc_duration_seconds_sum{{{sl}}}[{RATE}]))"), "{{kind}}")],
            ),
        ]),
        Runtime::Python => v.push(spec(
            Viz::TimeSeries,
            "GC collections",
            "ops",
            "Garbage collections per second, by generation.",
            vec![q(
                format!("sum by (generation) (rate(python_gc_collections_total{{{sl}}}[{RATE}]))"),
                "generation {{generation}}",
            )],
        )),
        Runtime::Jvm => v.extend([
            spec(
                Viz::TimeSeries,
                "CPU",
                "short",
                "CPU time the JVM uses, in cores.",
                vec![q(format!("sum(rate(process_cpu_time_ns_total{{{sl}}}[{RATE}])) / 1e9"), "cores")],
            ),
            spec(
                Viz::TimeSeries,
                "Heap",
                "bytes",
                "Heap used, and its maximum (summed over the pools that have one).",
                vec![
                    q(format!("sum(jvm_memory_used_bytes{{{sl},area=\"heap\"}})"), "used"),
                    q(format!("sum(jvm_memory_max_bytes{{{sl},area=\"heap\"}} > 0)"), "max"),
                ],
            ),
            spec(
                Viz::TimeSeries,
                "GC pauses",
                "percentunit",
                "Share of time the collectors pause the application, by collector.",
                vec![q(format!("sum by (gc) (rate(jvm_gc_pause_seconds_sum{{{sl}}}[{RATE}]))"), "{{gc}}")],
            ),
            spec(
                Viz::TimeSeries,
                "GC overhead",
                "percentunit",
                "Share of CPU time spent collecting garbage over Micrometer's lookback (5m).",
                vec![q(format!("max(jvm_gc_overhead{{{sl}}})"), "overhead")],
            ),
            spec(
                Viz::TimeSeries,
                "Threads",
                "short",
                "Live threads.",
                vec![q(format!("sum(jvm_threads_live_threads{{{sl}}})"), "live")],
            ),
        ]),
    }
    v
}

/// Its panels on the overview dashboard: each service's request rate, share of 5xx responses
/// and, where it has a duration histogram, its 95th percentile.
fn overview(services: &[&Service]) -> Vec<Spec> {
    let mut v = vec![
        spec(
            Viz::TimeSeries,
            "Request rate",
            "reqps",
            "Requests per second, by service.",
            services.iter().map(|s| request_rate(s, &sel(s))).collect(),
        ),
        spec(
            Viz::TimeSeries,
            "Error ratio",
            "percentunit",
            "Share of 5xx responses, by service.",
            services.iter().map(|s| error_ratio(s, &sel(s))).collect(),
        ),
    ];
    let p95: Vec<Query> = services.iter().filter_map(|s| quantile(s, &sel(s), 0.95)).collect();
    if !p95.is_empty() {
        v.push(spec(Viz::TimeSeries, "p95 latency", "s", "95th percentile of request duration, by service.", p95));
    }
    v
}

/// Its panels on the security dashboard: responses refused for authentication, authorisation
/// or rate limiting, from the services whose instrumentation writes exact codes (only they can
/// tell a 401 from a 404).
fn security(services: &[&Service]) -> Vec<Spec> {
    let exact: Vec<&&Service> = services
        .iter()
        .filter(|s| s.scraped() && s.metric_names.status_codes == crate::manifest::model::StatusCodes::Exact)
        .collect();
    if exact.is_empty() {
        return Vec::new();
    }
    vec![
        spec(
            Viz::TimeSeries,
            "Auth failures (401/403)",
            "reqps",
            "Responses refused for authentication or authorisation.",
            exact.iter().map(|s| status_rate(s, &sel(s), "401|403")).collect(),
        ),
        spec(
            Viz::TimeSeries,
            "Rate-limited requests (429)",
            "reqps",
            "Responses refused by rate limiting.",
            exact.iter().map(|s| status_rate(s, &sel(s), "429")).collect(),
        ),
    ]
}

/// Its panels on the performance dashboard: each service's request duration percentiles.
fn performance(services: &[&Service]) -> Vec<Spec> {
    services
        .iter()
        .filter_map(|s| {
            let qs: Vec<Query> = [0.5, 0.95, 0.99].into_iter().filter_map(|x| quantile(s, &sel(s), x)).collect();
            (!qs.is_empty()).then(|| {
                spec(Viz::TimeSeries, &format!("{} latency", s.name), "s", "Request duration percentiles.", qs)
            })
        })
        .collect()
}

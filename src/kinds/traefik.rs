//! `kind: traefik`: Traefik, scraped on its own metrics (`--metrics.prometheus=true`, served on
//! its `traefik` entry point: `metrics_port`, default 8080) and read in its JSON logs; probed
//! for its certificate. It can be the stack's published front door, as nginx is.

use super::alert::*;
use super::{Catalogue, KindDef, Run, common};
use crate::ir::Service;
use crate::manifest::model::LogFormat;
use crate::manifest::model::Severity::Critical;
use crate::targets::grafana::panels::*;

pub const DEF: KindDef = KindDef {
    fields: &["port", "host", "kubernetes", "metrics", "metrics_port", "tls"],
    requires: &["port"],
    exporter: None,
    catalogue: Some(CATALOGUE),
    alerts: ALERTS,
    rule,
    log_rule: common::error_log_spike,
    exposed: |_| CATALOGUE.exposed(false),
    // With `--log.format=json` (docs/manifest.md asks for it): zerolog's JSON, `level` among its
    // fields. Its default console format colours every line whether or not a terminal reads it
    // (`cmd/traefik/logger.go`, v3.5.3), which no parser should have to strip.
    log_format: |_| LogFormat::Json,
    metrics_port: Some(METRICS_PORT),
    front_door: true,
    panels,
    connections: Some("traefik_open_connections"),
    // The official image (docker-library/traefik) is Alpine with busybox `wget`; the check asks
    // the metrics the documented flags turn on. Its certificates (ACME) live wherever the
    // user's `certificatesresolvers…storage` says: no data volume of its own.
    app: |s| Run { healthcheck: common::wget_metrics(s), ..Default::default() },
    jobs: super::no_jobs,
    job_suffixes: &[],
    backup: None,
    overview: common::no_panels,
    security: common::no_panels,
    performance: common::no_panels,
    refused_env: None,
    login: None,
    basic_login: false,
    own_env: super::no_own_env,
    own_env_why: super::NO_OWN_ENV,
    lacks: super::lacks_nothing,
};

/// The port of Traefik's own `traefik` entry point, where `--metrics.prometheus=true` serves
/// its metrics unless `metrics.prometheus.entryPoint` names another (`pkg/types/metrics.go`,
/// `pkg/config/static/static_config.go`, v3.5.3).
pub const METRICS_PORT: u16 = 8080;

/// Traefik's Prometheus metrics (`pkg/metrics/prometheus.go`, v3.5.3), read live off it: the
/// entry point and service metrics are on by default, the router ones are not. Traefik's own
/// `service` label (its service, `app@file`) is renamed `exported_service` by Prometheus, as the
/// target's `service` label (the stack's service) comes first.
const CATALOGUE: Catalogue = Catalogue {
    program: "Traefik",
    prefix: "traefik_",
    metrics: METRICS,
    optional: &[],
    labels: &[
        ("traefik_entrypoint_request_duration_seconds_bucket", &["code", "method", "protocol", "entrypoint", "le"]),
        ("traefik_entrypoint_", &["code", "method", "protocol", "entrypoint"]),
        ("traefik_service_server_up", &["exported_service", "url"]),
        ("traefik_service_", &["code", "method", "protocol", "exported_service"]),
        ("traefik_open_connections", &["entrypoint", "protocol"]),
    ],
};

const METRICS: &[&str] = &[
    "traefik_entrypoint_requests_total",
    "traefik_entrypoint_request_duration_seconds_bucket",
    "traefik_service_requests_total",
    "traefik_service_server_up",
    "traefik_open_connections",
];

/// After awesome-prometheus-alerts' "Traefik: Embedded exporter v2" rules (the metric names are
/// the same in v3).
#[rustfmt::skip]
const ALERTS: &[Builtin] = &[
    common::TARGET_DOWN,
    state(b("TraefikServiceDown", "operational", Critical, "1m", 0.0, Unit::Count, "a Traefik service with no server up for 1m: APA TraefikServiceDown (there `count(…) by (service) == 0`, which a series that exists never is; here every server's gauge at 0), `for` 1m rides out a check's flap")),
    b("TraefikHighErrorRate", "operational", Critical, "5m", 0.05, Unit::Ratio, "5% of a Traefik service's responses 5xx: APA TraefikHighHttp5xxErrorRateService (5% for 1m), `for` 5m as HighErrorRate for applications"),
    common::TLS_EXPIRING,
    common::ERROR_LOG_SPIKE,
];

/// Its services' metrics, without its own (`api@internal`, `prometheus@internal`: instrumented
/// only with `metrics.addInternals`).
const SERVICES: &str = ",exported_service!~\".*@internal\"";

fn rule(r: &ServiceAlert) -> AlertText {
    let (sel, who, for_) = (SELECTOR, WHO, r.for_);
    let app = ",exported_service=\"app@file\"";
    match r.def.name {
        "TargetDown" => common::target_down(r),
        "TlsCertificateExpiring" => common::tls_expiring(r),
        "TraefikServiceDown" => {
            let up = r.svc("traefik_service_server_up", &format!("{app},url=\"http://app:8000\""));
            let mut text = AlertText::new(
                format!("max by (service, exported_service) (traefik_service_server_up{{{sel}}}) == 0"),
                format!("{who}: service {{{{ $labels.exported_service }}}} has no server up"),
                format!(
                    "Traefik {who}'s health checks have marked every server of service {{{{ $labels.exported_service }}}} down for {for_}; it answers that service's requests with 503."
                ),
                vec![series(&up, "0x60")],
                vec![series(&up, "1x60")],
            );
            text.kept.push(("exported_service".into(), "app@file".into()));
            text
        }
        "TraefikHighErrorRate" => common::error_share(
            r,
            &common::ErrorShare {
                program: "Traefik",
                metric: "traefik_service_requests_total",
                filter: SERVICES,
                five: "code=~\"5..\"",
                part: Some(("exported_service", "service", "app@file")),
                series: &|c| {
                    r.svc(
                        "traefik_service_requests_total",
                        &format!("{app},code=\"{c}\",method=\"GET\",protocol=\"http\""),
                    )
                },
                codes: ("500", "200"),
            },
        ),
        other => unreachable!("no expression for built-in alert {other}"),
    }
}

/// Its dashboard's panels, for the service the dashboard's `service` variable chooses
/// (`targets::grafana::panels` is the kit; the logs panel follows them).
#[rustfmt::skip]
fn panels(s: &Service) -> Vec<Spec> {
    let (n, sl) = (SERVICE, CHOSEN);
    let mut v = vec![
        spec(Viz::Stat, "Up", "short", "1 when Prometheus can scrape Traefik's metrics.", vec![q(format!("min(up{{{sl},probe=\"\"}})"), n)]),
        spec(Viz::TimeSeries, "Requests", "reqps", "HTTP requests per second, by entry point.", vec![q(format!("sum by (entrypoint) (rate(traefik_entrypoint_requests_total{{{sl}}}[{RATE}]))"), "{{entrypoint}}")]),
        spec(Viz::TimeSeries, "Service errors", "percentunit", "Share of each Traefik service's responses that are 5xx (503 when no server is up).", vec![q(format!("sum by (exported_service) (rate(traefik_service_requests_total{{{sl}{SERVICES},code=~\"5..\"}}[{RATE}])) / sum by (exported_service) (rate(traefik_service_requests_total{{{sl}{SERVICES}}}[{RATE}]))"), "{{exported_service}}")]),
        spec(Viz::TimeSeries, "Responses by status", "reqps", "Responses per second at the entry points, by status code.", vec![q(format!("sum by (code) (rate(traefik_entrypoint_requests_total{{{sl}}}[{RATE}]))"), "{{code}}")]),
        spec(Viz::TimeSeries, "p95 latency", "s", "95th percentile of request duration at each entry point (Traefik's buckets: 0.1, 0.3, 1.2 and 5 s).", vec![q(format!("histogram_quantile(0.95, sum by (entrypoint, le) (rate(traefik_entrypoint_request_duration_seconds_bucket{{{sl}}}[{RATE}])))"), "{{entrypoint}}")]),
        spec(Viz::TimeSeries, "Servers up", "short", "Servers up in each Traefik service (with a health check).", vec![q(format!("sum by (exported_service) (traefik_service_server_up{{{sl}}})"), "{{exported_service}}")]),
        spec(Viz::TimeSeries, "Open connections", "short", "Open connections, by entry point (the `traefik` one holds Prometheus's own).", vec![q(format!("sum by (entrypoint) (traefik_open_connections{{{sl}}})"), "{{entrypoint}}")]),
    ];
    v.extend(certificate(s, sl));
    v
}

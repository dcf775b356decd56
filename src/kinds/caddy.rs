//! `kind: caddy`: Caddy, scraped on its own metrics (the `metrics` global option turns its HTTP
//! metrics on; a site of its own serves them: `metrics_port`, default 9180) and read in its JSON
//! logs; probed for its certificate. It can be the stack's published front door, as nginx is.

use super::alert::*;
use super::{Catalogue, KindDef, Run, common};
use crate::ir::Service;
use crate::manifest::model::LogFormat;
use crate::manifest::model::Severity::{Critical, Warning};
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
    // Caddy logs JSON (zap's JSON encoder: `level`, `ts`, `logger`, `msg`) when its output is
    // not a terminal, as in a container; its access log (the `log` directive) too, each
    // request at `info`, a 5xx at `error` (modules/caddyhttp/server.go, v2.11.9).
    log_format: |_| LogFormat::Json,
    metrics_port: Some(METRICS_PORT),
    front_door: true,
    panels,
    // Caddy counts requests in flight, not connections.
    connections: None,
    // The official image (caddy-docker `2.11/alpine/Dockerfile`) is Alpine with busybox
    // `wget` and curl; Caddy keeps its certificates and ACME account in /data
    // (`XDG_DATA_HOME`), which must outlive the container. The check asks the metrics site
    // the documented configuration adds.
    app: |s| Run { data: Some("/data"), healthcheck: common::wget_metrics(s), ..Default::default() },
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

/// The port of the site that serves Caddy's metrics in the configuration docs/manifest.md
/// asks for. Caddy 2 serves them itself only on its admin endpoint, which listens on
/// localhost (and takes configuration changes); 9180 is where Caddy 1's Prometheus plugin
/// served them (caddy-prometheus, `localhost:9180`).
pub const METRICS_PORT: u16 = 9180;

/// Caddy's metrics (modules/caddyhttp/metrics.go, modules/caddyhttp/reverseproxy/metrics.go and
/// metrics.go at v2.11.9), read live off Caddy v2.11.9 by the rehearsal. The HTTP metrics are
/// per route (`handler`: the route's first handler, `metrics` for the metrics site's own) and
/// server (`server`: `srv0`, `srv1`… in the Caddyfile's order); the histograms carry the
/// status (`code`: `200`, `502`…) and `method`, the requests counter does not. An upstream's
/// health is 1 unless active (`health_uri`) or passive (`fail_duration`) checks mark it down.
const CATALOGUE: Catalogue = Catalogue {
    program: "Caddy",
    prefix: "caddy_",
    metrics: METRICS,
    optional: &[],
    labels: &[
        ("caddy_http_request_duration_seconds_bucket", &["server", "handler", "code", "method", "le"]),
        ("caddy_http_request_duration_seconds", &["server", "handler", "code", "method"]),
        ("caddy_http_", &["server", "handler"]),
        ("caddy_reverse_proxy_upstreams_healthy", &["upstream"]),
    ],
};

const METRICS: &[&str] = &[
    "caddy_http_requests_total",
    "caddy_http_requests_in_flight",
    "caddy_http_request_duration_seconds_bucket",
    "caddy_http_request_duration_seconds_count",
    "caddy_reverse_proxy_upstreams_healthy",
    "caddy_config_last_reload_successful",
];

/// After awesome-prometheus-alerts' "Caddy: Embedded exporter" rules.
#[rustfmt::skip]
const ALERTS: &[Builtin] = &[
    common::TARGET_DOWN,
    state(b("CaddyUpstreamUnhealthy", "operational", Critical, "1m", 0.0, Unit::Count, "an upstream its health checks mark down for 1m: APA CaddyReverseProxyDown (there `count(…) by (upstream) == 0`, which a series that exists never is; here the gauge at 0), `for` 1m rides out a check's flap")),
    b("CaddyHighErrorRate", "operational", Critical, "5m", 0.05, Unit::Ratio, "5% of responses 5xx: APA CaddyHighHttp5xxErrorRateService (5% for 1m), `for` 5m as HighErrorRate for applications"),
    state(b("CaddyConfigReloadFailed", "operational", Warning, "1m", 0.0, Unit::Count, "the last configuration load refused, Caddy running the previous one: the Prometheus mixin's reload alerts (PrometheusBadConfig, AlertmanagerFailedReload), on Caddy's gauge, `for` 1m")),
    common::TLS_EXPIRING,
    common::ERROR_LOG_SPIKE,
];

/// Its HTTP metrics, without the requests for its metrics themselves.
const HTTP: &str = ",handler!=\"metrics\"";

fn rule(r: &ServiceAlert) -> AlertText {
    let (sel, who, for_) = (SELECTOR, WHO, r.for_);
    match r.def.name {
        "TargetDown" => common::target_down(r),
        "TlsCertificateExpiring" => common::tls_expiring(r),
        "CaddyUpstreamUnhealthy" => {
            let healthy = r.svc("caddy_reverse_proxy_upstreams_healthy", ",upstream=\"app:8000\"");
            let mut text = AlertText::new(
                format!("min by (service, upstream) (caddy_reverse_proxy_upstreams_healthy{{{sel}}}) == 0"),
                format!("{who}: upstream {{{{ $labels.upstream }}}} is down"),
                format!(
                    "Caddy {who}'s health checks have marked upstream {{{{ $labels.upstream }}}} down for {for_}; with no other upstream healthy, it answers 503."
                ),
                vec![series(&healthy, "0x60")],
                vec![series(&healthy, "1x60")],
            );
            text.kept.push(("upstream".into(), "app:8000".into()));
            text
        }
        "CaddyHighErrorRate" => common::error_share(
            r,
            &common::ErrorShare {
                program: "Caddy",
                metric: "caddy_http_request_duration_seconds_count",
                filter: HTTP,
                five: "code=~\"5..\"",
                part: None,
                series: &|c| {
                    r.svc(
                        "caddy_http_request_duration_seconds_count",
                        &format!(",server=\"srv0\",handler=\"reverse_proxy\",code=\"{c}\",method=\"GET\""),
                    )
                },
                codes: ("502", "200"),
            },
        ),
        "CaddyConfigReloadFailed" => {
            let gauge = r.svc("caddy_config_last_reload_successful", "");
            AlertText::new(
                format!("max by (service) (caddy_config_last_reload_successful{{{sel}}}) == 0"),
                format!("{who} refused its new configuration"),
                format!(
                    "The last configuration load of Caddy {who} failed; it runs the previous configuration. Its log (`loading config`) names the problem."
                ),
                vec![series(&gauge, "0x60")],
                vec![series(&gauge, "1x60")],
            )
        }
        other => unreachable!("no expression for built-in alert {other}"),
    }
}

/// Its dashboard's panels, for the service the dashboard's `service` variable chooses
/// (`targets::grafana::panels` is the kit; the logs panel follows them).
#[rustfmt::skip]
fn panels(s: &Service) -> Vec<Spec> {
    let (n, sl) = (SERVICE, CHOSEN);
    let mut v = vec![
        spec(Viz::Stat, "Up", "short", "1 when Prometheus can scrape Caddy's metrics.", vec![q(format!("min(up{{{sl},probe=\"\"}})"), n)]),
        spec(Viz::TimeSeries, "Requests", "reqps", "HTTP requests per second, by route handler (the route's first handler).", vec![q(format!("sum by (handler) (rate(caddy_http_requests_total{{{sl}{HTTP}}}[{RATE}]))"), "{{handler}}")]),
        spec(Viz::TimeSeries, "Errors", "percentunit", "Share of responses that are 5xx (502 when an upstream cannot be reached, 503 when none is healthy).", vec![q(format!("sum(rate(caddy_http_request_duration_seconds_count{{{sl}{HTTP},code=~\"5..\"}}[{RATE}])) / sum(rate(caddy_http_request_duration_seconds_count{{{sl}{HTTP}}}[{RATE}]))"), n)]),
        spec(Viz::TimeSeries, "Responses by status", "reqps", "Responses per second, by status code.", vec![q(format!("sum by (code) (rate(caddy_http_request_duration_seconds_count{{{sl}{HTTP}}}[{RATE}]))"), "{{code}}")]),
        spec(Viz::TimeSeries, "p95 latency", "s", "95th percentile of request duration, by route handler.", vec![q(format!("histogram_quantile(0.95, sum by (handler, le) (rate(caddy_http_request_duration_seconds_bucket{{{sl}{HTTP}}}[{RATE}])))"), "{{handler}}")]),
        spec(Viz::TimeSeries, "Requests in flight", "short", "Requests being handled, by route handler.", vec![q(format!("sum by (handler) (caddy_http_requests_in_flight{{{sl}{HTTP}}})"), "{{handler}}")]),
        spec(Viz::TimeSeries, "Upstreams healthy", "short", "1 for each upstream its health checks pass (always 1 without checks).", vec![q(format!("min by (upstream) (caddy_reverse_proxy_upstreams_healthy{{{sl}}})"), "{{upstream}}")]),
        spec(Viz::Stat, "Configuration loaded", "short", "1 when Caddy's last configuration load succeeded.", vec![q(format!("min(caddy_config_last_reload_successful{{{sl}}})"), n)]),
    ];
    v.extend(certificate(s, sl));
    v
}

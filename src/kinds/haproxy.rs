//! `kind: haproxy`: HAProxy, scraped on its built-in Prometheus exporter (the
//! `prometheus-exporter` service, on a frontend of its own: `metrics_port`, default 8405) and
//! read in its logs; probed for its certificate. It can be the stack's published front door, as
//! nginx is.

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
    log_format: |_| LogFormat::Haproxy,
    metrics_port: Some(METRICS_PORT),
    front_door: true,
    panels,
    connections: Some("haproxy_frontend_current_sessions"),
    // Its configuration is the application's own (a volume at
    // /usr/local/etc/haproxy/haproxy.cfg). The official image's Debian variant carries no
    // client to check it with (docker-library's `3.2/Dockerfile` purges wget with its build
    // tools; the `-alpine` one has busybox's), and `haproxy -c` checks the configuration, not
    // the process: no healthcheck.
    app: |_| Run::default(),
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

/// The port of the frontend serving the exporter in HAProxy's own documentation
/// (`addons/promex/README`) and in HAProxy Technologies' examples.
pub const METRICS_PORT: u16 = 8405;

/// HAProxy's built-in exporter (`addons/promex/service-prometheus.c`), its names and labels
/// read live off HAProxy 2.6.12 (Debian bookworm's) by the rehearsal and checked against the
/// 3.2 source: every object's metrics carry `proxy`, a server's `server` too; the HTTP
/// responses `code` (`1xx` … `5xx`, `other`); the status gauges `state` (one series per state,
/// 1 for the current one).
const CATALOGUE: Catalogue = Catalogue {
    program: "HAProxy's built-in exporter",
    prefix: "haproxy_",
    metrics: METRICS,
    optional: &[],
    labels: &[
        ("haproxy_backend_http_responses_total", &["proxy", "code"]),
        ("haproxy_backend_status", &["proxy", "state"]),
        ("haproxy_server_status", &["proxy", "server", "state"]),
        ("haproxy_server_", &["proxy", "server"]),
        ("haproxy_frontend_", &["proxy"]),
        ("haproxy_backend_", &["proxy"]),
    ],
};

const METRICS: &[&str] = &[
    "haproxy_frontend_http_requests_total",
    "haproxy_frontend_current_sessions",
    "haproxy_frontend_limit_sessions",
    "haproxy_frontend_bytes_in_total",
    "haproxy_frontend_bytes_out_total",
    "haproxy_backend_status",
    "haproxy_backend_active_servers",
    "haproxy_backend_backup_servers",
    "haproxy_backend_current_queue",
    "haproxy_backend_http_responses_total",
    "haproxy_backend_response_time_average_seconds",
    "haproxy_server_status",
    "haproxy_server_current_queue",
];

/// After awesome-prometheus-alerts' "HAProxy: Embedded exporter (HAProxy >= v2)" rules.
#[rustfmt::skip]
const ALERTS: &[Builtin] = &[
    common::TARGET_DOWN,
    state(b("HaproxyNoServerAvailable", "operational", Critical, "1m", 0.0, Unit::Count, "a backend DOWN, no server up with a weight: APA HaproxyHasNoAliveBackends (active + backup servers == 0), read off the backend's state, which a backend without servers (a `listen stats` section) never is (promex, v3.2.0); `for` 1m rides out a reload")),
    state(b("HaproxyServerUnhealthy", "operational", Warning, "2m", 0.0, Unit::Count, "a server its health checks mark DOWN for 2m: APA HaproxyServerHealthcheckFailure, on the server's state (check_failures_total stops counting once the server is marked down: src/check.c, v3.2.0)")),
    b("HaproxyHighErrorRate", "operational", Critical, "5m", 0.05, Unit::Ratio, "5% of a backend's responses 5xx: APA HaproxyHighHttp5xxErrorRateBackend (5% for 1m), `for` 5m as HighErrorRate for applications"),
    b("HaproxyRequestsQueued", "performance", Warning, "2m", 0.0, Unit::Count, "requests waiting for a server for 2m: APA HaproxyPendingRequests (there rate() of the backend's gauge, which is 0 for a steady queue; here the gauges, the backend's and its servers', where a request bound to one server waits)"),
    common::TLS_EXPIRING,
    common::ERROR_LOG_SPIKE,
];

fn rule(r: &ServiceAlert) -> AlertText {
    let (sel, who, tt, t, for_) = (SELECTOR, WHO, r.tt.as_str(), r.t, r.for_);
    let backend = ",proxy=\"app\"";
    // The tests' backend `app`, and its server `app1`, in one state.
    let status = |state: &str| r.svc("haproxy_backend_status", &format!("{backend},state=\"{state}\""));
    let server = |state: &str| r.svc("haproxy_server_status", &format!("{backend},server=\"app1\",state=\"{state}\""));
    match r.def.name {
        "TargetDown" => common::target_down(r),
        "TlsCertificateExpiring" => common::tls_expiring(r),
        "HaproxyNoServerAvailable" => {
            let mut text = AlertText::new(
                format!("max by (service, proxy) (haproxy_backend_status{{{sel},state=\"DOWN\"}}) == 1"),
                format!("{who}: backend {{{{ $labels.proxy }}}} has no server up with a weight"),
                format!(
                    "HAProxy {who} has had no server up in backend {{{{ $labels.proxy }}}} for {for_}; it answers that backend's requests with 503."
                ),
                vec![series(&status("DOWN"), "1x60"), series(&status("UP"), "0x60")],
                vec![series(&status("DOWN"), "0x60"), series(&status("UP"), "1x60")],
            );
            text.kept.push(("proxy".into(), "app".into()));
            text
        }
        "HaproxyServerUnhealthy" => {
            let mut text = AlertText::new(
                format!("max by (service, proxy, server) (haproxy_server_status{{{sel},state=\"DOWN\"}}) == 1"),
                format!("{who}: server {{{{ $labels.proxy }}}}/{{{{ $labels.server }}}} is down"),
                format!(
                    "HAProxy {who}'s health checks have marked server {{{{ $labels.server }}}} of backend {{{{ $labels.proxy }}}} down for {for_}; the backend's other servers take its requests."
                ),
                vec![series(&server("DOWN"), "1x60"), series(&server("UP"), "0x60")],
                vec![series(&server("DOWN"), "0x60"), series(&server("UP"), "1x60")],
            );
            text.kept.push(("proxy".into(), "app".into()));
            text.kept.push(("server".into(), "app1".into()));
            text
        }
        "HaproxyHighErrorRate" => common::error_share(
            r,
            &common::ErrorShare {
                program: "HAProxy",
                metric: "haproxy_backend_http_responses_total",
                filter: "",
                five: "code=\"5xx\"",
                part: Some(("proxy", "backend", "app")),
                series: &|c| r.svc("haproxy_backend_http_responses_total", &format!("{backend},code=\"{c}\"")),
                codes: ("5xx", "2xx"),
            },
        ),
        "HaproxyRequestsQueued" => {
            let (queue, on_server) = (
                r.svc("haproxy_backend_current_queue", backend),
                r.svc("haproxy_server_current_queue", &format!("{backend},server=\"app1\"")),
            );
            let mut text = AlertText::new(
                // A backend's queue holds the requests no server was chosen for; a request
                // bound to a server (a cookie, a hash, `use-server`) waits in that server's.
                format!(
                    "sum by (service, proxy) (haproxy_backend_current_queue{{{sel}}} or haproxy_server_current_queue{{{sel}}}) > {}",
                    num(t)
                ),
                format!("{who}: requests queued in backend {{{{ $labels.proxy }}}}"),
                format!(
                    "More than {tt} requests have waited for a server of HAProxy {who}'s backend {{{{ $labels.proxy }}}} for {for_}: its servers are at their maxconn."
                ),
                vec![series(&queue, "0x60"), series(&on_server, &format!("{}x60", num(t + 3.0)))],
                vec![series(&queue, &format!("{}x60", num(t))), series(&on_server, "0x60")],
            );
            text.kept.push(("proxy".into(), "app".into()));
            text
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
        spec(Viz::Stat, "Up", "short", "1 when Prometheus can scrape HAProxy's exporter.", vec![q(format!("min(up{{{sl},probe=\"\"}})"), n)]),
        spec(Viz::TimeSeries, "Requests", "reqps", "HTTP requests per second, by frontend.", vec![q(format!("sum by (proxy) (rate(haproxy_frontend_http_requests_total{{{sl}}}[{RATE}]))"), "{{proxy}}")]),
        spec(Viz::TimeSeries, "Backend errors", "percentunit", "Share of each backend's responses that are 5xx (503 among them when no server is up).", vec![q(format!("sum by (proxy) (rate(haproxy_backend_http_responses_total{{{sl},code=\"5xx\"}}[{RATE}])) / sum by (proxy) (rate(haproxy_backend_http_responses_total{{{sl}}}[{RATE}]))"), "{{proxy}}")]),
        spec(Viz::TimeSeries, "Responses by class", "reqps", "Backend responses per second, by status class.", vec![q(format!("sum by (code) (rate(haproxy_backend_http_responses_total{{{sl}}}[{RATE}]))"), "{{code}}")]),
        spec(Viz::TimeSeries, "Servers up", "short", "Servers up in each backend (health checks passing, or no check).", vec![q(format!("sum by (proxy) (haproxy_server_status{{{sl},state=\"UP\"}})"), "{{proxy}}")]),
        spec(Viz::TimeSeries, "Queued requests", "short", "Requests waiting for a server, by backend (in its queue or a server's): its servers are at their maxconn.", vec![q(format!("sum by (proxy) (haproxy_backend_current_queue{{{sl}}} or haproxy_server_current_queue{{{sl}}})"), "{{proxy}}")]),
        spec(Viz::TimeSeries, "Response time", "s", "Mean response time of each backend's last 1,024 requests.", vec![q(format!("max by (proxy) (haproxy_backend_response_time_average_seconds{{{sl}}})"), "{{proxy}}")]),
        spec(Viz::TimeSeries, "Sessions", "short", "Open sessions of each frontend, and its maxconn.", vec![q(format!("sum by (proxy) (haproxy_frontend_current_sessions{{{sl}}})"), "{{proxy}}"), q(format!("sum by (proxy) (haproxy_frontend_limit_sessions{{{sl}}})"), "{{proxy}} limit")]),
    ];
    v.extend(certificate(s, sl));
    v
}

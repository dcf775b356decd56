//! `kind: nginx`: nginx, read through nginx-prometheus-exporter (stub_status) and its access
//! log; probed for its certificate.

use super::alert::*;
use super::{Catalogue, Exporter, KindDef, Run, common};
use crate::ir::Service;
use crate::ir::defaults;
use crate::manifest::model::LogFormat;
use crate::manifest::model::Severity::Critical;
use crate::targets::grafana::panels::*;

pub const DEF: KindDef = KindDef {
    fields: &["port", "host", "kubernetes", "tls"],
    requires: &["port"],
    exporter: Some(EXPORTER),
    catalogue: Some(CATALOGUE),
    alerts: ALERTS,
    rule,
    log_rule,
    exposed: |_| CATALOGUE.exposed(false),
    log_format: |_| LogFormat::Nginx,
    metrics_port: None,
    front_door: true,
    panels,
    connections: Some("nginx_connections_active"),
    app: |_| Run {
        healthcheck: Some(["CMD-SHELL", "kill -0 \"$(cat /var/run/nginx.pid)\""].map(String::from).to_vec()),
        ..Default::default()
    },
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

/// Its exporter, as the compose file runs it.
const EXPORTER: Exporter = Exporter {
    image: &defaults::NGINX_EXPORTER,
    port: 9113,
    up_metric: "nginx_up",
    up_expr: None,
    down_alert: "NginxDown",
    // Its image is FROM scratch: compose gets no check at all, and Prometheus waits for it to
    // start (`targets::compose`).
    health_path: "/metrics",
    run: |s| Run {
        command: vec![
            format!(
                "--nginx.scrape-uri={}://{}:{}/stub_status",
                if s.tls_domain.is_some() { "https" } else { "http" },
                s.host,
                s.port
            ),
            // A kingpin boolean: `--nginx.ssl-verify=false` is refused at start.
            "--no-nginx.ssl-verify".to_string(),
        ],
        ..Default::default()
    },
    program_alone: None,
};

/// nginx-prometheus-exporter's stub_status metrics.
const CATALOGUE: Catalogue =
    Catalogue { program: "nginx-prometheus-exporter", prefix: "nginx_", metrics: METRICS, optional: &[], labels: &[] };

const METRICS: &[&str] = &[
    "nginx_up",
    "nginx_http_requests_total",
    "nginx_connections_active",
    "nginx_connections_accepted",
    "nginx_connections_handled",
];

const ALERTS: &[Builtin] = &[
    state(b(
        "NginxDown",
        "operational",
        Critical,
        "1m",
        0.0,
        Unit::Count,
        "nginx_up == 0 from nginx-prometheus-exporter (the exporter answers, stub_status does not)",
    )),
    common::EXPORTER_DOWN,
    log(b(
        "NginxHighErrorRate",
        "operational",
        Critical,
        "5m",
        0.05,
        Unit::Ratio,
        "5% of access-log responses 5xx, as HighErrorRate for applications",
    )),
    common::TLS_EXPIRING,
    common::ERROR_LOG_SPIKE,
];

/// The combined access-log format, as a LogQL pattern.
pub const NGINX_ACCESS_PATTERN: &str = "<_> - <_> [<_>] \"<method> <_> <_>\" <status> <_>";

fn rule(r: &ServiceAlert) -> AlertText {
    match r.def.name {
        "NginxDown" => common::down(r, EXPORTER.up_metric),
        "ExporterDown" => common::exporter_down(r),
        "TlsCertificateExpiring" => common::tls_expiring(r),
        other => unreachable!("no expression for built-in alert {other}"),
    }
}

fn log_rule(r: &ServiceAlert) -> LogText {
    let (sel, who, tt, t) = (SELECTOR, WHO, r.tt.as_str(), r.t);
    match r.def.name {
        "NginxHighErrorRate" => {
            let parsed = format!("{sel} | pattern `{NGINX_ACCESS_PATTERN}` | status != \"\"");
            LogText {
                expr: format!(
                    "sum by (service) (rate({parsed} | status >= 500 [5m])) / sum by (service) (rate({parsed} [5m])) > {}",
                    num(t)
                ),
                summary: format!("{who}: more than {tt} of responses are 5xx"),
                description: format!(
                    "More than {tt} of the requests in {who}'s access log were answered with 5xx over 5 minutes."
                ),
            }
        }
        "ErrorLogSpike" => common::error_log_spike(r),
        other => unreachable!("no LogQL for built-in alert {other}"),
    }
}

/// Its dashboard's panels, for the service the dashboard's `service` variable chooses
/// (`targets::grafana::panels` is the kit; the logs panel follows them).
#[rustfmt::skip]
fn panels(s: &Service) -> Vec<Spec> {
    let (n, sl) = (SERVICE, CHOSEN);
    let mut v = vec![
        spec(Viz::Stat, "Up", "short", "nginx_up from the exporter.", vec![q(format!("min(nginx_up{{{sl}}})"), n)]),
        spec(Viz::TimeSeries, "Requests", "reqps", "Requests per second (stub_status).", vec![q(format!("sum(rate(nginx_http_requests_total{{{sl}}}[{RATE}]))"), "requests")]),
        spec(Viz::TimeSeries, "Connections", "short", "Active connections.", vec![q(format!("sum(nginx_connections_active{{{sl}}})"), "active")]),
        loki_series("Responses by status", "Access-log responses by status code.", vec![q(format!("sum by (status) (count_over_time({{service=\"{n}\"}} | pattern `{}` | status != \"\" [$__interval]))", crate::kinds::nginx::NGINX_ACCESS_PATTERN), "{{status}}")]),
    ];
    v.extend(certificate(s, sl));
    v
}

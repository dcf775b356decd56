//! The kit a service's dashboard panels are written with, by its kind's module
//! (`crate::kinds`) and by the stack's dashboards (`dashboards`): the panel types, the rate
//! window, the chosen service, and the panels several dashboards share (an `http` service's
//! request rate, errors and latency, a postgres service's mean query time, a certificate's days
//! left).

pub use super::model::{Query, Spec, Viz, loki_series, q, spec};
use crate::ir::Service;

/// The rate window of every panel: Grafana's, four scrape intervals at least.
pub const RATE: &str = "$__rate_interval";

/// The matcher of one service, as the stack's dashboards select it.
pub fn sel(s: &Service) -> String {
    format!("service=\"{}\"", s.name)
}

/// The service a kind's dashboard shows: the one its `service` variable names.
pub const CHOSEN: &str = "service=\"$service\"";

/// That service's name, as a legend or a Loki selector writes it.
pub const SERVICE: &str = "$service";

/// Requests per second of an `http` service, by service.
pub fn request_rate(s: &Service, sl: &str) -> Query {
    q(format!("sum by (service) (rate({}{{{sl}}}[{RATE}]))", s.metric_names.requests), "{{service}}")
}

/// The rate of a service's responses whose status matches `codes`, and 0 (not "No data") while
/// the service answers but no such response has been counted yet.
pub fn status_rate_expr(s: &Service, sl: &str, codes: &str) -> String {
    let (r, st) = (&s.metric_names.requests, &s.metric_names.status_label);
    format!(
        "sum by (service) (rate({r}{{{sl},{st}=~\"{codes}\"}}[{RATE}])) or sum by (service) (rate({r}{{{sl}}}[{RATE}])) * 0"
    )
}

/// The share of 5xx responses of an `http` service, by service.
pub fn error_ratio(s: &Service, sl: &str) -> Query {
    let r = &s.metric_names.requests;
    q(format!("({}) / sum by (service) (rate({r}{{{sl}}}[{RATE}]))", status_rate_expr(s, sl, "5..")), "{{service}}")
}

/// A quantile of an `http` service's request duration, in seconds; none without a histogram.
pub fn quantile(s: &Service, sl: &str, qq: f64) -> Option<Query> {
    let scale = s.metric_names.duration_scale()?;
    let d = &s.metric_names.duration;
    let value = format!("histogram_quantile({qq}, sum by (service, le) (rate({d}_bucket{{{sl}}}[{RATE}])))");
    // Shown in seconds whatever the histogram's unit.
    let expr = if scale == 1.0 { value } else { format!("{value} / {scale}") };
    Some(q(expr, format!("{{{{service}}}} p{}", (qq * 100.0).round())))
}

/// `status_rate_expr` as a query.
pub fn status_rate(s: &Service, sl: &str, codes: &str) -> Query {
    q(status_rate_expr(s, sl, codes), "{{service}}")
}

/// Mean execution time per call of a postgres service's statements (pg_stat_statements): the
/// time of the statements the exporter reports over their calls, so a statement weighs by how
/// often it runs.
pub fn mean_query_time(sl: &str, by: &str, window: &str) -> String {
    format!(
        "sum by ({by}) (rate(pg_stat_statements_seconds_total{{{sl}}}[{window}])) / sum by ({by}) (rate(pg_stat_statements_calls_total{{{sl}}}[{window}]))"
    )
}

/// With `tls`: the days left on the probed certificate.
pub fn certificate(s: &Service, sl: &str) -> Option<Spec> {
    s.tls_domain.as_ref().map(|_| {
        spec(
            Viz::Stat,
            "Certificate days left",
            "d",
            "Days until the certificate expires.",
            vec![q(format!("min(probe_ssl_earliest_cert_expiry{{{sl}}} - time()) / 86400"), "days")],
        )
    })
}

//! What each framework's usual instrumentation library emits at its defaults: the requests
//! counter, the duration histogram with its buckets, the status and route labels, and whether
//! status codes come exact (`401`) or grouped (`4xx`). Alerts, objectives and panels are built
//! from these facts, and the checks refuse what they cannot measure (a latency threshold above
//! the top bucket, an objective between buckets, a 401 alert on grouped codes).
//!
//! Each fact is read from the library's source at the version named, and the rehearsal
//! (`scripts/rehearse`, `tests/rehearse/apps`) checks them against the running library: the
//! metric names, the labels, the status values and the buckets it actually exposes.

use crate::manifest::model::{self as m, Framework, StatusCodes};

/// The requests counter: a counter of its own, or the duration histogram's `_count`.
#[derive(Clone, Copy, Debug)]
pub enum Requests {
    Counter(&'static str),
    DurationCount,
}

/// One framework's instrumentation at its defaults.
#[derive(Clone, Copy, Debug)]
pub struct Facts {
    /// The library and the version these facts were read from.
    pub library: &'static str,
    /// Where in the library's source.
    pub source: &'static str,
    pub requests: Requests,
    pub duration: &'static str,
    /// The histogram's finite bucket bounds, in its unit.
    pub buckets: &'static [f64],
    pub status_label: &'static str,
    pub status_codes: StatusCodes,
    pub route_label: Option<&'static str>,
    /// Every label of the requests counter, and of the duration histogram (`le` aside).
    pub request_labels: &'static [&'static str],
    pub duration_labels: &'static [&'static str],
    /// The setting without which the library writes no buckets (`buckets` are then what it writes
    /// with it): sightline sets it on a container it runs, and `DurationBucketsMissing` fires
    /// where it is missing.
    pub histogram_setting: Option<Setting>,
}

/// An application setting, as a property and as the environment variable that sets it.
#[derive(Clone, Copy, Debug)]
pub struct Setting {
    pub property: &'static str,
    pub env: &'static str,
    pub value: &'static str,
    /// The property that adds a bound of one's own to the histogram (for a latency objective).
    pub bounds_property: &'static str,
}

/// client_golang's `prometheus.DefBuckets`, also prom-client's default.
const DEF_BUCKETS: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

const FASTAPI: Facts = Facts {
    library: "prometheus-fastapi-instrumentator 8.1.0",
    source: "metrics.py `default()`: http_requests_total{handler,status,method}; \
             http_request_duration_highr_seconds (latency_highr_buckets, no labels: \"made for more accurate percentile \
             calculations\"); http_request_duration_seconds has only (0.1, 0.5, 1) and no status; \
             instrumentation.py `should_group_status_codes=True`",
    requests: Requests::Counter("http_requests_total"),
    duration: "http_request_duration_highr_seconds",
    buckets: &[
        0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 7.5, 10.0, 30.0,
        60.0,
    ],
    status_label: "status",
    status_codes: StatusCodes::Grouped,
    route_label: Some("handler"),
    request_labels: &["handler", "method", "status"],
    duration_labels: &[],
    histogram_setting: None,
};

const EXPRESS: Facts = Facts {
    library: "express-prom-bundle 8.0.0",
    source: "src/index.js: http_request_duration_seconds histogram, buckets [0.003, 0.03, 0.1, 0.3, 1.5, 10], \
             labels ['status_code'] (includeMethod and includePath default false)",
    requests: Requests::DurationCount,
    duration: "http_request_duration_seconds",
    buckets: &[0.003, 0.03, 0.1, 0.3, 1.5, 10.0],
    status_label: "status_code",
    status_codes: StatusCodes::Exact,
    route_label: None,
    request_labels: &["status_code"],
    duration_labels: &["status_code"],
    histogram_setting: None,
};

const FASTIFY: Facts = Facts {
    library: "fastify-metrics 13.2.1 (prom-client 15.1.3)",
    source: "dist/fastify-metrics.js `registerRouteMetrics`: http_request_duration_seconds{method,route,status_code}, \
             prom-client's default buckets (lib/histogram.js); `groupStatusCodes` default false",
    requests: Requests::DurationCount,
    duration: "http_request_duration_seconds",
    buckets: DEF_BUCKETS,
    status_label: "status_code",
    status_codes: StatusCodes::Exact,
    route_label: Some("route"),
    request_labels: &["method", "route", "status_code"],
    duration_labels: &["method", "route", "status_code"],
    histogram_setting: None,
};

/// prometheus_client's `Histogram.DEFAULT_BUCKETS` (`+Inf` aside).
const PYTHON_BUCKETS: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0];

const FLASK: Facts = Facts {
    library: "prometheus-flask-exporter 0.23.2 (prometheus_client 0.26.0)",
    source: "prometheus_flask_exporter/__init__.py `export_defaults`: flask_http_request_total{method,status}; \
             flask_http_request_duration_seconds{method,path,status} (`group_by='path'`: the request path), \
             prometheus_client's default buckets (`buckets=None`); status is `response.status_code`, exact",
    requests: Requests::Counter("flask_http_request_total"),
    duration: "flask_http_request_duration_seconds",
    buckets: PYTHON_BUCKETS,
    status_label: "status",
    status_codes: StatusCodes::Exact,
    // The path is a label of the histogram only, not of the requests counter.
    route_label: None,
    request_labels: &["method", "status"],
    duration_labels: &["method", "path", "status"],
    histogram_setting: None,
};

const DJANGO: Facts = Facts {
    library: "django-prometheus 2.5.0 (prometheus_client 0.26.0)",
    source: "django_prometheus/middleware.py: django_http_responses_total_by_status_view_method_total{status,view,method} \
             (status `str(response.status_code)`, view the URL pattern's name); \
             django_http_requests_latency_seconds_by_view_method{view,method}, no status; \
             conf/__init__.py PROMETHEUS_LATENCY_BUCKETS (0.01 … 75, then +Inf)",
    requests: Requests::Counter("django_http_responses_total_by_status_view_method_total"),
    duration: "django_http_requests_latency_seconds_by_view_method",
    buckets: &[0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 25.0, 50.0, 75.0],
    status_label: "status",
    status_codes: StatusCodes::Exact,
    route_label: Some("view"),
    request_labels: &["method", "status", "view"],
    duration_labels: &["method", "view"],
    histogram_setting: None,
};

/// Micrometer's percentile-histogram buckets for a timer between its default minimum and maximum
/// expected values (1 ms and 30 s, the maximum added): `PercentileHistogramBuckets`, as a
/// running Spring Boot 4.0.7 writes them.
#[rustfmt::skip]
const MICROMETER_TIMER_BUCKETS: &[f64] = &[
    0.001, 0.001048576, 0.001398101, 0.001747626, 0.002097151, 0.002446676, 0.002796201, 0.003145726, 0.003495251,
    0.003844776, 0.004194304, 0.005592405, 0.006990506, 0.008388607, 0.009786708, 0.011184809, 0.01258291,
    0.013981011, 0.015379112, 0.016777216, 0.022369621, 0.027962026, 0.033554431, 0.039146836, 0.044739241,
    0.050331646, 0.055924051, 0.061516456, 0.067108864, 0.089478485, 0.111848106, 0.134217727, 0.156587348,
    0.178956969, 0.20132659, 0.223696211, 0.246065832, 0.268435456, 0.357913941, 0.447392426, 0.536870911,
    0.626349396, 0.715827881, 0.805306366, 0.894784851, 0.984263336, 1.073741824, 1.431655765, 1.789569706,
    2.147483647, 2.505397588, 2.863311529, 3.22122547, 3.579139411, 3.937053352, 4.294967296, 5.726623061,
    7.158278826, 8.589934591, 10.021590356, 11.453246121, 12.884901886, 14.316557651, 15.748213416, 17.179869184,
    22.906492245, 28.633115306, 30.0,
];

const SPRING: Facts = Facts {
    library: "Spring Boot 4.0.7 actuator (Micrometer 1.16.6, micrometer-registry-prometheus)",
    source: "spring-web 7.0.8 ServerHttpObservationFilter with DefaultServerRequestObservationConvention, registered by \
             spring-boot-webmvc's WebMvcObservationAutoConfiguration: http.server.requests with the tags error, exception, \
             method, outcome, status (the exact code) and uri (the route template); a summary (`_count`, `_sum`, `_max`) \
             unless management.metrics.distribution.percentiles-histogram.http.server.requests is true, then with \
             Micrometer's PercentileHistogramBuckets from 1 ms to 30 s",
    requests: Requests::DurationCount,
    duration: "http_server_requests_seconds",
    buckets: MICROMETER_TIMER_BUCKETS,
    status_label: "status",
    status_codes: StatusCodes::Exact,
    route_label: Some("uri"),
    request_labels: &["error", "exception", "method", "outcome", "status", "uri"],
    duration_labels: &["error", "exception", "method", "outcome", "status", "uri"],
    histogram_setting: Some(Setting {
        property: "management.metrics.distribution.percentiles-histogram.http.server.requests",
        env: "MANAGEMENT_METRICS_DISTRIBUTION_PERCENTILESHISTOGRAM_HTTP_SERVER_REQUESTS",
        value: "true",
        bounds_property: "management.metrics.distribution.slo.http.server.requests",
    }),
};

const GENERIC: Facts = Facts {
    library: "client_golang promhttp (InstrumentHandlerCounter, InstrumentHandlerDuration)",
    source: "prometheus/promhttp/instrument_server.go: labels code and method, the code exact; \
             prometheus.DefBuckets",
    requests: Requests::Counter("http_requests_total"),
    duration: "http_request_duration_seconds",
    buckets: DEF_BUCKETS,
    status_label: "code",
    status_codes: StatusCodes::Exact,
    route_label: None,
    request_labels: &["code", "method"],
    duration_labels: &["code", "method"],
    histogram_setting: None,
};

/// The facts of a framework.
pub fn facts(f: Framework) -> &'static Facts {
    match f {
        Framework::Fastapi => &FASTAPI,
        Framework::Express => &EXPRESS,
        Framework::Fastify => &FASTIFY,
        Framework::Flask => &FLASK,
        Framework::Django => &DJANGO,
        Framework::Spring => &SPRING,
        Framework::Generic => &GENERIC,
    }
}

/// The metric names of a service: the framework's defaults under the manifest's overrides.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricNames {
    pub requests: String,
    pub duration: String,
    pub status_label: String,
    pub status_codes: StatusCodes,
    /// The route (handler) label, when the instrumentation has one.
    pub route_label: Option<String>,
    /// The duration histogram's finite buckets, in its unit; `None` when a renamed histogram's
    /// buckets are not given (`metric_names.buckets`).
    pub buckets: Option<Vec<f64>>,
    /// The labels of the requests counter and of the histogram (`le` aside): the framework's,
    /// or, for metrics the manifest names (the application's own instrumentation), the status
    /// label, `method` and the route label.
    pub request_labels: Vec<String>,
    pub duration_labels: Vec<String>,
    /// How many of the histogram's units make a second (see `duration_scale`).
    scale: Option<f64>,
}

impl MetricNames {
    /// Resolve a service's names: what the manifest gives, else the framework's default. A
    /// requests counter that is the histogram's `_count` follows a renamed histogram; the
    /// framework's buckets hold only for its own histogram.
    pub fn resolve(framework: Framework, given: Option<&m::MetricNames>) -> MetricNames {
        let f = facts(framework);
        let g = |pick: fn(&m::MetricNames) -> Option<&String>| given.and_then(pick).cloned();
        let duration = g(|n| n.duration.as_ref()).unwrap_or_else(|| f.duration.into());
        let requests = g(|n| n.requests.as_ref()).unwrap_or_else(|| match f.requests {
            Requests::Counter(c) => c.into(),
            Requests::DurationCount => format!("{duration}_count"),
        });
        let buckets = given.and_then(|n| n.buckets.clone()).or_else(|| {
            given.and_then(|n| n.duration.as_ref()).is_none_or(|d| d == f.duration).then(|| f.buckets.to_vec())
        });
        let status_label = g(|n| n.status_label.as_ref()).unwrap_or_else(|| f.status_label.into());
        let route_label = g(|n| n.route_label.as_ref()).or_else(|| f.route_label.map(String::from));
        let own = |defaults: &[&str], is_default: bool| -> Vec<String> {
            if is_default {
                defaults.iter().map(|s| s.to_string()).collect()
            } else {
                [Some(status_label.clone()), Some("method".to_string()), route_label.clone()]
                    .into_iter()
                    .flatten()
                    .collect()
            }
        };
        let request_labels = own(
            f.request_labels,
            given.is_none_or(|n| n.requests.is_none() && n.status_label.is_none() && n.duration.is_none()),
        );
        let duration_labels =
            own(f.duration_labels, given.is_none_or(|n| n.duration.is_none() && n.status_label.is_none()));
        // Every framework's own histogram is in seconds (its facts above), whatever its name says
        // (django-prometheus's ends `_seconds_by_view_method`); a histogram the manifest names
        // says its unit in its name.
        let scale = if duration == f.duration { Some(1.0) } else { duration_scale(&duration) };
        MetricNames {
            scale,
            requests,
            request_labels,
            duration_labels,
            status_label,
            status_codes: given.and_then(|n| n.status_codes).unwrap_or(f.status_codes),
            route_label,
            duration,
            buckets,
        }
    }

    /// How many of the duration histogram's units make a second: 1 for the framework's own
    /// histogram; for one the manifest names, read from its name, `_seconds` → 1,
    /// `_milliseconds` or `_ms` → 1000, `None` when the name says neither.
    pub fn duration_scale(&self) -> Option<f64> {
        self.scale
    }

    /// The largest finite bucket, in the histogram's unit.
    pub fn top_bucket(&self) -> Option<f64> {
        self.buckets.as_ref().and_then(|b| b.iter().copied().reduce(f64::max))
    }

    /// Whether a bound (in the histogram's unit) is one of its buckets.
    pub fn is_bucket(&self, bound: f64) -> Option<bool> {
        self.buckets.as_ref().map(|b| b.iter().any(|x| (x - bound).abs() <= 1e-9 * bound.abs().max(1.0)))
    }

    /// The value a status label carries for a code, as the instrumentation writes it:
    /// `500` exact, `5xx` grouped.
    pub fn status_value(&self, code: u16) -> String {
        match self.status_codes {
            StatusCodes::Exact => code.to_string(),
            StatusCodes::Grouped => format!("{}xx", code / 100),
        }
    }
}

/// The unit scale of a duration metric name (see [`MetricNames::duration_scale`]).
pub fn duration_scale(name: &str) -> Option<f64> {
    if name.ends_with("_seconds") {
        Some(1.0)
    } else if name.ends_with("_milliseconds") || name.ends_with("_ms") {
        Some(1000.0)
    } else {
        None
    }
}

/// Whether a bound in seconds is a whole number of milliseconds, as a manifest duration is
/// (Micrometer's bounds mostly are not).
pub fn whole_millis(seconds: f64) -> bool {
    ((seconds * 1000.0) - (seconds * 1000.0).round()).abs() < 1e-6
}

/// A bucket bound in seconds, written as a manifest duration (`500ms`, `2s`).
pub fn bound_text(seconds: f64) -> String {
    // A bound between whole milliseconds (Micrometer's) is written as it is, not rounded to one
    // it is not.
    if !whole_millis(seconds) {
        return format!("{}ms", crate::kinds::alert::num(seconds * 1000.0));
    }
    let ms = (seconds * 1000.0).round() as u64;
    // `2500ms`, not `2s500ms`: both parse, one reads.
    if !ms.is_multiple_of(1000) { format!("{ms}ms") } else { crate::manifest::values::format_duration(ms) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(yaml: &str) -> m::MetricNames {
        serde_json::from_str(yaml).unwrap()
    }

    #[test]
    fn a_count_counter_follows_a_renamed_histogram() {
        let n = MetricNames::resolve(Framework::Fastify, Some(&names(r#"{"duration": "http_request_duration_ms"}"#)));
        assert_eq!(n.requests, "http_request_duration_ms_count");
        // The framework's buckets are for its own histogram.
        assert_eq!(n.buckets, None);
        let n = MetricNames::resolve(Framework::Fastapi, Some(&names(r#"{"duration": "latency_seconds"}"#)));
        assert_eq!(n.requests, "http_requests_total", "fastapi's counter is a counter of its own");
    }

    #[test]
    fn grouped_codes_are_written_as_classes() {
        let n = MetricNames::resolve(Framework::Fastapi, None);
        assert_eq!((n.status_value(503), n.status_value(200)), ("5xx".to_string(), "2xx".to_string()));
        let n = MetricNames::resolve(Framework::Fastapi, Some(&names(r#"{"status_codes": "exact"}"#)));
        assert_eq!(n.status_value(503), "503");
    }
}

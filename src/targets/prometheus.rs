//! `prometheus/prometheus.yml`: global intervals and external labels, a scrape job for
//! Prometheus, Alertmanager, node-exporter, the Pushgateway the batch jobs report to, and every
//! service (directly, or through its exporter), blackbox probes for health endpoints and certificates, the generated rule files
//! and the generated Alertmanager. With `observability.prometheus.auth`, also `web.yml` (basic
//! authentication on every endpoint) and `client.yml` (what the healthcheck logs in with; see
//! `web_auth`); the scrape of Prometheus itself logs in too. With
//! `observability.alertmanager.auth`, the alerting client and the scrape of Alertmanager log in
//! to it. With `observability.prometheus.remote_write`, every sample is also written to each
//! receiver (with the external labels, as every sample leaves Prometheus).
//!
//! Written for Prometheus 3 (the tests run promtool of the pinned release): Prometheus 3 fails
//! a scrape whose `Content-Type` is missing or unknown, which an application's hand-rolled or
//! framework handler may send, so jobs that scrape an application say how to read such a
//! response (`fallback_scrape_protocol`, added in 3.0; the exporters' handlers set the header).

use super::Artifact;
use super::paths::{
    ALERTMANAGER_ADDR, BLACKBOX_ADDR, NODE_EXPORTER_ADDR, PROMETHEUS_ADDR, PROMETHEUS_CLIENT_CONFIG, PROMETHEUS_CONFIG,
    PROMETHEUS_WEB_CONFIG, PUSHGATEWAY_ADDR,
};
use super::web_auth::{self, BasicAuth};
use crate::ir::{Service, Stack, defaults};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Serialize)]
struct Config {
    global: Global,
    rule_files: Vec<String>,
    alerting: Alerting,
    scrape_configs: Vec<ScrapeConfig>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    remote_write: Vec<RemoteWrite>,
}

/// A remote-write receiver, as the manifest names it; the password read from its file.
#[derive(Serialize)]
struct RemoteWrite {
    url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "indexmap::IndexMap::is_empty")]
    headers: indexmap::IndexMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    basic_auth: Option<BasicAuth>,
}

#[derive(Serialize)]
struct Global {
    scrape_interval: String,
    scrape_timeout: String,
    evaluation_interval: String,
    external_labels: BTreeMap<String, String>,
}

#[derive(Serialize)]
struct Alerting {
    alertmanagers: Vec<AlertmanagerConfig>,
}

#[derive(Serialize)]
struct AlertmanagerConfig {
    api_version: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    basic_auth: Option<BasicAuth>,
    static_configs: Vec<StaticConfig>,
}

#[derive(Serialize)]
struct ScrapeConfig {
    job_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    metrics_path: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    params: BTreeMap<String, Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fallback_scrape_protocol: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    basic_auth: Option<BasicAuth>,
    static_configs: Vec<StaticConfig>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    relabel_configs: Vec<Relabel>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    metric_relabel_configs: Vec<Relabel>,
}

#[derive(Serialize)]
struct StaticConfig {
    targets: Vec<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    labels: BTreeMap<String, String>,
}

#[derive(Serialize, Default)]
struct Relabel {
    #[serde(skip_serializing_if = "Option::is_none")]
    action: Option<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    source_labels: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    regex: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    target_label: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    replacement: Option<String>,
}

fn addr((host, port): (&str, u16)) -> String {
    format!("{host}:{port}")
}

fn job(name: &str, target: String, labels: BTreeMap<String, String>, metrics_path: Option<String>) -> ScrapeConfig {
    ScrapeConfig {
        job_name: name.to_string(),
        metrics_path,
        params: BTreeMap::new(),
        fallback_scrape_protocol: None,
        basic_auth: None,
        static_configs: vec![StaticConfig { targets: vec![target], labels }],
        relabel_configs: Vec::new(),
        metric_relabel_configs: Vec::new(),
    }
}

/// The Pushgateway's series: a pushed `job` (the grouping key of `/metrics/job/<name>`) is
/// not honoured, so it arrives as `exported_job` (the Pushgateway's README, "About the job
/// and instance labels") and is renamed `batch_job`, the label the batch job rules select.
/// `job` and `instance` stay the Pushgateway's, as for every other target; its own metrics
/// have no `exported_job` and get no `batch_job`.
fn pushgateway_relabels() -> Vec<Relabel> {
    vec![
        Relabel {
            source_labels: vec!["exported_job".into()],
            target_label: Some(crate::targets::rules::jobs::LABEL.into()),
            ..Relabel::default()
        },
        Relabel { action: Some("labeldrop"), regex: Some("exported_job".into()), ..Relabel::default() },
    ]
}

/// Prometheus's size-based retention on a volume of `disk`, in megabytes (`921MB` of a GiB):
/// nine tenths of it, a tenth kept free for compaction. Compose's
/// `--storage.tsdb.retention.size`, the chart's `retentionSize`.
pub fn retention_size(disk: &crate::manifest::values::Size) -> String {
    format!("{}MB", disk.bytes() / (1 << 20) * 9 / 10)
}

/// The Pushgateway's metric relabelling as the Prometheus Operator writes it in a
/// ServiceMonitor's `metricRelabelings` (its `RelabelConfig`: the same fields, camel-cased),
/// for the Kubernetes tree's Pushgateway.
pub fn pushgateway_metric_relabelings() -> serde_json::Value {
    let camel = |key: &str| match key {
        "source_labels" => "sourceLabels".to_string(),
        "target_label" => "targetLabel".to_string(),
        other => other.to_string(),
    };
    pushgateway_relabels()
        .iter()
        .map(|r| {
            let v = serde_json::to_value(r).expect("a relabelling serializes");
            let fields = v.as_object().expect("a relabelling is a map").iter().map(|(k, v)| (camel(k), v.clone()));
            serde_json::Value::Object(fields.collect())
        })
        .collect()
}

/// How a scrape of an application reads a response without a known `Content-Type`: the text
/// format every instrumentation library writes.
pub const FALLBACK_SCRAPE_PROTOCOL: &str = "PrometheusText0.0.4";

/// The target label of a service's kind, which the built-in rules select (one rule over all
/// the services of a kind). Not `kind`: a target label takes the place of a scraped label of
/// the same name (renamed `exported_kind`), and libraries use `kind` (prom-client's
/// `nodejs_gc_duration_seconds`).
pub const SERVICE_KIND: &str = "service_kind";

/// The labels of every target of a service: its name and its kind. The rules select a
/// service's series by them, on every platform (`kubernetes::scrape` gives them too).
pub fn service_labels(s: &Service) -> BTreeMap<String, String> {
    BTreeMap::from([
        (SERVICE_KIND.to_string(), s.kind.as_str().to_string()),
        ("service".to_string(), s.name.to_string()),
    ])
}

/// A blackbox-exporter probe of `targets` with `module`, labelled `probe` (`health`, `tls`) so
/// the rules tell its `up` from the service's: the usual relabelling sends the target as the
/// `target` parameter and scrapes the exporter.
fn probe(s: &Service, probe: &str, module: &str, targets: Vec<String>) -> ScrapeConfig {
    let labels = probe_labels(s, probe);
    ScrapeConfig {
        job_name: format!("{}-{probe}", s.name),
        metrics_path: Some("/probe".into()),
        params: BTreeMap::from([("module".to_string(), vec![module.to_string()])]),
        fallback_scrape_protocol: None,
        basic_auth: None,
        static_configs: vec![StaticConfig { targets, labels }],
        relabel_configs: vec![
            Relabel {
                source_labels: vec!["__address__".into()],
                target_label: Some("__param_target".into()),
                ..Relabel::default()
            },
            Relabel {
                source_labels: vec!["__param_target".into()],
                target_label: Some("instance".into()),
                ..Relabel::default()
            },
            Relabel {
                target_label: Some("__address__".into()),
                replacement: Some(addr(BLACKBOX_ADDR)),
                ..Relabel::default()
            },
        ],
        metric_relabel_configs: Vec::new(),
    }
}

/// The labels of a service's probe's target: the service's, and which probe (`health`,
/// `tls`).
pub fn probe_labels(s: &Service, probe: &str) -> BTreeMap<String, String> {
    let mut labels = service_labels(s);
    labels.insert("probe".into(), probe.into());
    labels
}

/// The probes of a service, as (its name, the blackbox module, its target URL): its health
/// endpoint (`http`) and its certificate (`tls`).
pub fn probes(s: &Service) -> Vec<(&'static str, &'static str, String)> {
    let mut out = Vec::new();
    if let Some(path) = crate::kinds::http::health_path(s) {
        out.push(("health", "http_2xx", format!("http://{}:{}{path}", s.host, s.port)));
    }
    if let Some(domain) = &s.tls_domain {
        out.push(("tls", "http_2xx", format!("https://{domain}")));
    }
    out
}

/// Whose a scrape job is: one of the stack's own programs' (or the host's), a service's, or a
/// service's probe's.
#[derive(Clone, Copy)]
pub enum JobOf<'a> {
    Own,
    Service(&'a Service),
    Probe(&'a Service, &'static str),
}

impl<'a> JobOf<'a> {
    /// The service of a service's or a probe's job.
    pub fn service(self) -> Option<&'a Service> {
        match self {
            JobOf::Own => None,
            JobOf::Service(s) | JobOf::Probe(s, _) => Some(s),
        }
    }
}

/// Every scrape job's name with whose it is, in `prometheus.yml`'s order: what a check holds
/// to one job per name (Prometheus refuses a configuration with two).
pub fn job_names(stack: &Stack) -> Vec<(String, JobOf<'_>)> {
    scrape_jobs(stack).into_iter().map(|(of, j)| (j.job_name, of)).collect()
}

/// The scrape jobs, each with whose it is.
fn scrape_jobs(stack: &Stack) -> Vec<(JobOf<'_>, ScrapeConfig)> {
    // The stack's own programs (the monitoring rules watch the same list), and the host.
    let mut jobs: Vec<(JobOf, ScrapeConfig)> = crate::targets::rules::monitoring::jobs(stack)
        .into_iter()
        .map(|(name, target)| {
            let mut j = job(name, addr(target), BTreeMap::new(), None);
            if target == PUSHGATEWAY_ADDR {
                j.metric_relabel_configs = pushgateway_relabels();
            }
            if target == PROMETHEUS_ADDR {
                j.basic_auth = stack.prometheus_auth.as_ref().map(BasicAuth::of);
            }
            if target == ALERTMANAGER_ADDR {
                j.basic_auth = stack.alertmanager_auth.as_ref().map(|a| BasicAuth::of(&a.web));
            }
            (JobOf::Own, j)
        })
        .collect();
    if stack.component(defaults::NODE_EXPORTER.name).is_some() {
        jobs.push((JobOf::Own, job("node", addr(NODE_EXPORTER_ADDR), BTreeMap::new(), None)));
    }
    let exporters = stack.exporters();
    for s in &stack.services {
        let name = s.name.as_str();
        match (crate::kinds::def(s.kind).exporter.as_ref(), exporters.get(&s.name)) {
            (Some(e), Some(exporter)) => {
                let j = job(name, format!("{}:{}", exporter.name, e.port), service_labels(s), None);
                jobs.push((JobOf::Service(s), j));
            }
            // Scraped itself (`http`, `generic`, and the kinds with a `metrics_port` of their
            // own), unless `metrics: false`.
            _ => {
                if let Some(path) = &s.metrics_path {
                    let path = (path != "/metrics").then(|| path.clone());
                    let mut j = job(name, format!("{}:{}", s.host, s.metrics_port), service_labels(s), path);
                    j.fallback_scrape_protocol = Some(FALLBACK_SCRAPE_PROTOCOL);
                    jobs.push((JobOf::Service(s), j));
                }
            }
        }
        for (name, module, target) in probes(s) {
            jobs.push((JobOf::Probe(s, name), probe(s, name, module, vec![target])));
        }
    }
    jobs
}

pub fn lower(stack: &Stack) -> Vec<Artifact> {
    let jobs: Vec<ScrapeConfig> = scrape_jobs(stack).into_iter().map(|(_, j)| j).collect();
    let config = Config {
        global: Global {
            scrape_interval: stack.scrape_interval.canonical(),
            scrape_timeout: stack.scrape_timeout.canonical(),
            evaluation_interval: stack.evaluation_interval.canonical(),
            external_labels: BTreeMap::from([
                ("env".to_string(), stack.env.to_string()),
                ("stack".to_string(), stack.name.to_string()),
            ]),
        },
        // Relative to this file: the generated tree's `prometheus/rules/`, mounted beside it.
        rule_files: vec!["rules/*.yml".into()],
        alerting: Alerting {
            alertmanagers: vec![AlertmanagerConfig {
                api_version: "v2",
                basic_auth: stack.alertmanager_auth.as_ref().map(|a| BasicAuth::of(&a.web)),
                static_configs: vec![StaticConfig { targets: vec![addr(ALERTMANAGER_ADDR)], labels: BTreeMap::new() }],
            }],
        },
        scrape_configs: jobs,
        remote_write: stack
            .remote_write
            .iter()
            .map(|w| RemoteWrite {
                url: w.url.clone(),
                name: w.name.as_ref().map(|n| n.to_string()),
                headers: w.headers.iter().map(|(k, v)| (k.0.clone(), v.0.clone())).collect(),
                basic_auth: w.basic_auth.as_ref().map(|l| BasicAuth::login(&l.user, &l.password)),
            })
            .collect(),
    };
    let mut out =
        vec![Artifact::new(PROMETHEUS_CONFIG, serde_saphyr::to_string(&config).expect("prometheus.yml serializes"))];
    if let Some(auth) = &stack.prometheus_auth {
        out.extend(web_auth::files(auth, PROMETHEUS_WEB_CONFIG, PROMETHEUS_CLIENT_CONFIG));
    }
    out
}

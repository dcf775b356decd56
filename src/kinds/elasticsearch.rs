//! `kind: elasticsearch`: Elasticsearch or OpenSearch, read through elasticsearch_exporter (it
//! reads both: the same REST API for cluster health and node statistics).
//!
//! The exporter asks the service's node for its own statistics (`--es.all` off: the default,
//! `/_nodes/_local/stats`), the cluster's health (`/_cluster/health`) and, on every scrape, its
//! root (`/`), whose success is `elasticsearch_scrape_success{collector="cluster-info"}`, the one
//! collector of the new kind on by default (v1.11.0 `collector/cluster_info.go`). That success
//! is 0 when the node does not answer, but 1 when it answers 401 (security on, the exporter
//! without a login): `cluster_info.go` decodes the error's JSON body without looking at the
//! status. Then the health and node series are not written at all (`cluster_health.go` and
//! `nodes.go` return on a failed request, 401 included). So the node is up for sightline when the
//! collector succeeds and the cluster's health is there (`up`): ElasticsearchDown says when it
//! is not, and inhibits the rest.

use super::alert::*;
use super::{Catalogue, Exporter, KindDef, Run, Var, common};
use crate::ir::Service;
use crate::ir::defaults;
use crate::manifest::model::LogFormat;
use crate::manifest::model::Severity::{Critical, Warning};
use crate::targets::grafana::panels::*;

pub const DEF: KindDef = KindDef {
    fields: &["port", "host", "kubernetes", "user", "password"],
    requires: &["port"],
    exporter: Some(EXPORTER),
    catalogue: Some(CATALOGUE),
    alerts: ALERTS,
    rule,
    log_rule: common::error_log_spike,
    exposed: |_| CATALOGUE.exposed(false),
    log_format: |_| LogFormat::Elasticsearch,
    metrics_port: None,
    front_door: false,
    panels,
    // The exporter writes no count of open HTTP connections.
    connections: None,
    app,
    jobs: super::no_jobs,
    job_suffixes: &[],
    backup: None,
    overview: common::no_panels,
    security: common::no_panels,
    performance: |_| {
        vec![spec(
            Viz::TimeSeries,
            "Elasticsearch search latency",
            "s",
            "Average time a search's query phase took over the interval, by service.",
            vec![q(
                format!(
                    "sum by (service) (rate(elasticsearch_indices_search_query_time_seconds[{RATE}])) / sum by (service) (rate(elasticsearch_indices_search_query_total[{RATE}]))"
                ),
                "{{service}}",
            )],
        )]
    },
    refused_env: None,
    login: None,
    basic_login: true,
    own_env: |s| if s.image.is_some() { &["discovery.type"] } else { &[] },
    own_env_why: (
        "set for a one-node cluster",
        "leave it out: sightline runs the service as one node (`discovery.type=single-node`)",
    ),
    lacks: super::lacks_nothing,
};

/// Its exporter, as the compose file runs it.
const EXPORTER: Exporter = Exporter {
    image: &defaults::ELASTICSEARCH_EXPORTER,
    // Its default `--web.listen-address` (v1.11.0 `main.go`; the Dockerfile's EXPOSE 7979 is
    // stale).
    port: 9114,
    // The cluster-info collector's success: 0 when the node does not answer its root (but 1
    // when it refuses the exporter: `up`).
    up_metric: "elasticsearch_scrape_success",
    up_expr: Some(up),
    down_alert: "ElasticsearchDown",
    // Answered without asking the node (v1.11.0 `main.go`).
    health_path: "/healthz",
    run: exporter_run,
    program_alone: None,
};

/// The exporter, pointed at the node, with the service's login when it has one:
/// elasticsearch_exporter reads a login only from `ES_USERNAME` and `ES_PASSWORD` (or
/// `ES_API_KEY`; v1.11.0 `main.go`), and its image's busybox `sh` reads the password from the
/// file of its secret first.
fn exporter_run(s: &Service) -> Run<'_> {
    let mut run = common::exporter_login(
        s.login.as_ref(),
        "ES_USERNAME",
        ("ES_PASSWORD", "ES_PASSWORD_FILE"),
        common::PasswordAs::Raw,
        "/bin/elasticsearch_exporter",
    );
    run.command = vec![format!("--es.uri=http://{}:{}", s.host, s.port)];
    run
}

/// 1 when the exporter reads the node: its cluster-info collector succeeds and the cluster's
/// health is there (a node that refuses the exporter's requests with 401 leaves the first at 1
/// and the second missing), 0 when the exporter answers and does not; by service.
fn up(sel: &str) -> String {
    common::up_when_read(
        &format!("min by (service) (elasticsearch_scrape_success{{{sel},collector=\"cluster-info\"}})"),
        &format!("elasticsearch_cluster_health_status{{{sel}}}"),
    )
}

/// elasticsearch_exporter v1.11.0: `collector/cluster_health.go` (`cluster` and `color`),
/// `collector/nodes.go` (each node's series carry `cluster`, `host`, `name` and its roles as
/// `es_*_node`; the JVM's `area`, the data paths' `mount` and `path`, the thread pools' `type`,
/// the collectors' `gc`), `collector/collector.go` (`elasticsearch_scrape_success{collector}`),
/// and read off the exporter in the rehearsal.
const CATALOGUE: Catalogue = Catalogue {
    program: "elasticsearch_exporter",
    prefix: "elasticsearch_",
    metrics: METRICS,
    optional: &[],
    labels: &[
        ("elasticsearch_scrape_success", &["collector"]),
        ("elasticsearch_cluster_health_status", &["cluster", "color"]),
        ("elasticsearch_cluster_health_", &["cluster"]),
        ("elasticsearch_jvm_memory_", &["name", "area"]),
        ("elasticsearch_jvm_gc_", &["name", "gc"]),
        ("elasticsearch_filesystem_data_", &["name", "path"]),
        ("elasticsearch_thread_pool_", &["name", "type"]),
        ("elasticsearch_", &["name"]),
    ],
};

const METRICS: &[&str] = &[
    "elasticsearch_scrape_success",
    "elasticsearch_cluster_health_status",
    "elasticsearch_cluster_health_number_of_nodes",
    "elasticsearch_cluster_health_number_of_pending_tasks",
    "elasticsearch_cluster_health_unassigned_shards",
    "elasticsearch_cluster_health_relocating_shards",
    "elasticsearch_cluster_health_initializing_shards",
    "elasticsearch_jvm_memory_used_bytes",
    "elasticsearch_jvm_memory_max_bytes",
    "elasticsearch_jvm_gc_collection_seconds_sum",
    "elasticsearch_filesystem_data_available_bytes",
    "elasticsearch_filesystem_data_size_bytes",
    "elasticsearch_indices_docs",
    "elasticsearch_indices_indexing_index_total",
    "elasticsearch_indices_search_query_total",
    "elasticsearch_indices_search_query_time_seconds",
    "elasticsearch_thread_pool_rejected_count",
];

/// After awesome-prometheus-alerts' elasticsearch_exporter rules (the exporter's own mixin has
/// no alerts at v1.11.0: its `compiled/alerts.yaml` is `{}`), with Elasticsearch's disk
/// watermarks (low 85%, high 90%, flood stage 95% used) beside the disk thresholds. APA's
/// alerts on node counts below 3 are left out (one host runs one node), as are those on
/// cumulative counters crossing a fixed number.
#[rustfmt::skip]
const ALERTS: &[Builtin] = &[
    state(b("ElasticsearchDown", "operational", Critical, "1m", 0.0, Unit::Count, "the exporter cannot read the node: its cluster-info collector fails (the node does not answer), or succeeds with no cluster health (the node refuses it: 401); `for` 1m as the other databases")),
    common::EXPORTER_DOWN,
    state(b("ElasticsearchClusterRed", "operational", Critical, "1m", 0.0, Unit::Count, "cluster health red (a primary shard unassigned: some data cannot be read or written): APA ElasticsearchClusterRed, `for` 0m there; 1m here, so a restarted node recovering its primaries does not page")),
    state(b("ElasticsearchClusterYellow", "operational", Warning, "5m", 0.0, Unit::Count, "cluster health yellow (a replica shard unassigned): APA ElasticsearchClusterYellow, `for` 0m there; 5m here, so a new index's replicas can start")),
    b("ElasticsearchHeapUsageTooHigh", "performance", Critical, "2m", 0.9, Unit::Ratio, "heap above 90% of its maximum for 2m: APA ElasticsearchHeapUsageTooHigh (the parent circuit breaker refuses requests at 95% by default)"),
    b("ElasticsearchDiskSpaceLow", "operational", Warning, "2m", 0.2, Unit::Ratio, "less than 20% of a data path free for 2m: APA ElasticsearchDiskSpaceLow (before the low watermark, 85% used, stops new shards on the node)"),
    b("ElasticsearchDiskOutOfSpace", "operational", Critical, "0m", 0.1, Unit::Ratio, "less than 10% of a data path free: APA ElasticsearchDiskOutOfSpace (the high watermark, 90% used; at 95% the flood stage makes its indices read-only)"),
    b("ElasticsearchPendingTasks", "performance", Warning, "15m", 0.0, Unit::Count, "cluster-level changes pending for 15m: APA ElasticsearchPendingTasks"),
    common::ERROR_LOG_SPIKE,
];

fn rule(r: &ServiceAlert) -> AlertText {
    let (sel, who, tt, t, for_) = (SELECTOR, WHO, r.tt.as_str(), r.t, r.for_);
    // A node's series in the tests, as the exporter labels them.
    let node = |metric: &str, extra: &str| {
        r.exp(metric, &format!(",cluster=\"search\",host=\"10.0.0.2\",name=\"node-1\"{extra}"))
    };
    let status = |color: &str| {
        let on = |c: &str| if c == color { "1x60" } else { "0x60" };
        ["green", "yellow", "red"]
            .map(|c| {
                series(
                    &r.exp("elasticsearch_cluster_health_status", &format!(",cluster=\"search\",color=\"{c}\"")),
                    on(c),
                )
            })
            .to_vec()
    };
    let health = |what: &str, color: &str, meaning: &str, quiet: &str| {
        AlertText::new(
            format!("max by (service) (elasticsearch_cluster_health_status{{{sel},color=\"{color}\"}}) == 1"),
            format!("{who}: cluster health is {color}"),
            format!("The cluster of {who} is {color}: {what}. {meaning}"),
            status(color),
            status(quiet),
        )
    };
    let mut text = match r.def.name {
        // Fed the subtler way down: the node answers 401, so the collector succeeds and the
        // health is missing (the rehearsal stops a node, and makes one refuse the exporter).
        "ElasticsearchDown" => AlertText::new(
            format!("{} == 0", up(sel)),
            format!("{who} is down"),
            format!(
                "The exporter of {who} answers but cannot read the node: {who} does not answer, or refuses the exporter (security on: the exporter has no login)."
            ),
            vec![series(&r.exp("elasticsearch_scrape_success", ",collector=\"cluster-info\""), "1x60")],
            [
                vec![series(&r.exp("elasticsearch_scrape_success", ",collector=\"cluster-info\""), "1x60")],
                status("green"),
            ]
            .concat(),
        ),
        "ExporterDown" => common::exporter_down(r),
        "ElasticsearchClusterRed" => health(
            "a primary shard is unassigned",
            "red",
            "Some of its data cannot be searched, and writes to those indices fail.",
            "yellow",
        ),
        "ElasticsearchClusterYellow" => health(
            "a replica shard is unassigned",
            "yellow",
            "A single node cannot hold replicas: on one node, give its indices `number_of_replicas: 0`.",
            "green",
        ),
        "ElasticsearchHeapUsageTooHigh" => AlertText::new(
            format!(
                "max by (service, name) (elasticsearch_jvm_memory_used_bytes{{{sel},area=\"heap\"}} / elasticsearch_jvm_memory_max_bytes{{{sel},area=\"heap\"}}) > {}",
                num(t)
            ),
            format!("{who}: heap above {tt} on node {{{{ $labels.name }}}}"),
            format!(
                "Node {{{{ $labels.name }}}} of {who} has used more than {tt} of its heap for {for_}; its circuit breakers refuse requests near the top, and then it runs out of memory."
            ),
            share_series(
                &node("elasticsearch_jvm_memory_used_bytes", ",area=\"heap\""),
                &node("elasticsearch_jvm_memory_max_bytes", ",area=\"heap\""),
                above(t),
            ),
            share_series(
                &node("elasticsearch_jvm_memory_used_bytes", ",area=\"heap\""),
                &node("elasticsearch_jvm_memory_max_bytes", ",area=\"heap\""),
                t / 2.0,
            ),
        ),
        "ElasticsearchDiskSpaceLow" | "ElasticsearchDiskOutOfSpace" => {
            let path = ",mount=\"/ (/dev/sda1)\",path=\"/usr/share/elasticsearch/data\"";
            let free = |share: f64| {
                share_series(
                    &node("elasticsearch_filesystem_data_available_bytes", path),
                    &node("elasticsearch_filesystem_data_size_bytes", path),
                    share,
                )
            };
            let (summary, consequence) = if r.def.name == "ElasticsearchDiskOutOfSpace" {
                (
                    "almost out of disk",
                    "past the high watermark (90% used) it moves shards away, and at the flood stage (95%) its indices become read-only",
                )
            } else {
                ("disk space low", "at the low watermark (85% used) it takes no new shards")
            };
            AlertText::new(
                format!(
                    "min by (service, name, path) (elasticsearch_filesystem_data_available_bytes{{{sel}}} / elasticsearch_filesystem_data_size_bytes{{{sel}}}) < {}",
                    num(t)
                ),
                format!("{who}: {summary} on node {{{{ $labels.name }}}}"),
                format!(
                    "Less than {tt} of data path {{{{ $labels.path }}}} of node {{{{ $labels.name }}}} of {who} is free; {consequence}."
                ),
                free(t / 2.0),
                free(above(t)),
            )
        }
        "ElasticsearchPendingTasks" => AlertText::new(
            format!("max by (service) (elasticsearch_cluster_health_number_of_pending_tasks{{{sel}}}) > {}", num(t)),
            format!("{who}: cluster tasks pending"),
            format!(
                "The cluster of {who} has had more than {tt} cluster-level changes (index creations, mapping updates, shard moves) waiting for {for_}: its master is behind."
            ),
            vec![series(
                &r.exp("elasticsearch_cluster_health_number_of_pending_tasks", ",cluster=\"search\""),
                &format!("{}x60", num(t + 3.0)),
            )],
            vec![series(
                &r.exp("elasticsearch_cluster_health_number_of_pending_tasks", ",cluster=\"search\""),
                &format!("{}x60", num(t)),
            )],
        ),
        other => unreachable!("no expression for built-in alert {other}"),
    };
    match r.def.name {
        "ElasticsearchHeapUsageTooHigh" => text.kept.push(("name".into(), "node-1".into())),
        "ElasticsearchDiskSpaceLow" | "ElasticsearchDiskOutOfSpace" => {
            text.kept.push(("name".into(), "node-1".into()));
            text.kept.push(("path".into(), "/usr/share/elasticsearch/data".into()));
        }
        _ => {}
    }
    text
}

/// Its dashboard's panels, for the service the dashboard's `service` variable chooses
/// (`targets::grafana::panels` is the kit; the logs panel follows them).
#[rustfmt::skip]
fn panels(_: &Service) -> Vec<Spec> {
    let (n, sl) = (SERVICE, CHOSEN);
    vec![
        spec(Viz::Stat, "Up", "short", "Whether the exporter reads the node: its cluster-info collector succeeds and the cluster's health is there (a node that refuses the exporter has none).", vec![q(format!("min({})", up(sl)), n)]),
        spec(Viz::Stat, "Cluster health", "short", "0 green, 1 yellow (a replica unassigned), 2 red (a primary unassigned).", vec![q(format!("max(elasticsearch_cluster_health_status{{{sl},color=\"yellow\"}}) + 2 * max(elasticsearch_cluster_health_status{{{sl},color=\"red\"}})"), "health")]),
        spec(Viz::TimeSeries, "Shards", "short", "Unassigned, relocating and initializing shards, and pending cluster tasks.", vec![q(format!("max(elasticsearch_cluster_health_unassigned_shards{{{sl}}})"), "unassigned"), q(format!("max(elasticsearch_cluster_health_relocating_shards{{{sl}}})"), "relocating"), q(format!("max(elasticsearch_cluster_health_initializing_shards{{{sl}}})"), "initializing"), q(format!("max(elasticsearch_cluster_health_number_of_pending_tasks{{{sl}}})"), "pending tasks")]),
        spec(Viz::TimeSeries, "Heap", "bytes", "JVM heap used and its maximum, by node.", vec![q(format!("sum by (name) (elasticsearch_jvm_memory_used_bytes{{{sl},area=\"heap\"}})"), "{{name}} used"), q(format!("sum by (name) (elasticsearch_jvm_memory_max_bytes{{{sl},area=\"heap\"}})"), "{{name}} max")]),
        spec(Viz::TimeSeries, "Disk used", "percentunit", "Share of each data path used, by node; the watermarks are at 85%, 90% and 95% by default.", vec![q(format!("1 - min by (name, path) (elasticsearch_filesystem_data_available_bytes{{{sl}}} / elasticsearch_filesystem_data_size_bytes{{{sl}}})"), "{{name}} {{path}}")]),
        spec(Viz::TimeSeries, "Indexing and search", "ops", "Documents indexed and search queries per second.", vec![q(format!("sum(rate(elasticsearch_indices_indexing_index_total{{{sl}}}[{RATE}]))"), "indexed/s"), q(format!("sum(rate(elasticsearch_indices_search_query_total{{{sl}}}[{RATE}]))"), "queries/s")]),
        spec(Viz::TimeSeries, "Documents", "short", "Documents on the node's shards.", vec![q(format!("sum(elasticsearch_indices_docs{{{sl}}})"), "documents")]),
        spec(Viz::TimeSeries, "GC time", "s", "Seconds per second the JVM spent collecting, by collector.", vec![q(format!("sum by (gc) (rate(elasticsearch_jvm_gc_collection_seconds_sum{{{sl}}}[{RATE}]))"), "{{gc}}")]),
        spec(Viz::TimeSeries, "Rejected requests", "short", "Requests a thread pool refused because its queue was full, per second, by pool.", vec![q(format!("sum by (type) (rate(elasticsearch_thread_pool_rejected_count{{{sl}}}[{RATE}])) > 0"), "{{type}}")]),
    ]
}

/// Where the image keeps its data: OpenSearch's images under `/usr/share/opensearch`,
/// Elasticsearch's (and others that follow them) under `/usr/share/elasticsearch`; by the
/// image's own name, the repository's last part (not its registry or namespace).
fn data_dir(s: &Service) -> &'static str {
    let name =
        |i: &crate::manifest::values::ImageRef| i.repository().rsplit('/').next().unwrap_or_default().to_string();
    if s.image.as_ref().is_some_and(|i| name(i).contains("opensearch")) {
        "/usr/share/opensearch/data"
    } else {
        "/usr/share/elasticsearch/data"
    }
}

/// Its own container: one node (`discovery.type=single-node`, which both images read from
/// the environment, and which also spares it the production bootstrap checks a node bound to
/// a network address must otherwise pass), its data in a volume, and a healthcheck that the
/// node answers HTTP at its root: 200, or 401 when its security asks for a login, over `http`
/// or, where its security set up TLS, `https` (its security settings are the operator's, in
/// `compose.environment`), each try within 2 s of compose's 5. Both images have `curl`
/// (Elastic's and OpenSearch's own compose examples check their nodes with it).
fn app(s: &Service) -> Run<'_> {
    let check = format!(
        "for s in http https; do case $(curl -sk -m 2 -o /dev/null -w '%{{http_code}}' \"$s://127.0.0.1:{}/\") in 200|401) exit 0;; esac; done; exit 1",
        s.port
    );
    Run {
        data: Some(data_dir(s)),
        env: vec![("discovery.type", Var::Value("single-node".into()))],
        healthcheck: Some(vec!["CMD-SHELL".into(), check]),
        ..Default::default()
    }
}

//! What each language runtime's instrumentation library exports at its defaults beside the
//! application's own metrics: the process (open and maximum file descriptors, resident memory,
//! CPU) and the runtime (goroutines and heap for Go; the event loop, heap and garbage
//! collection for Node.js; garbage collection for Python). The panels and the
//! `FileDescriptorsNearLimit` alert of a service with a `runtime` read these, and the tests
//! hold every query to them; the rehearsal reads them from the running libraries.

use crate::manifest::model::Runtime;

/// One runtime's default metrics, by name with their labels, and where they come from.
pub struct Facts {
    pub library: &'static str,
    pub metrics: &'static [(&'static str, &'static [&'static str])],
    pub source: &'static str,
}

/// The process metrics every one of the three libraries exports on Linux (read from
/// `/proc/self`), under the same names.
pub const PROCESS: &[(&str, &[&str])] = &[
    ("process_open_fds", &[]),
    ("process_max_fds", &[]),
    ("process_resident_memory_bytes", &[]),
    ("process_cpu_seconds_total", &[]),
];

const GO: Facts = Facts {
    library: "client_golang v1.23.2, default registry",
    metrics: &[
        ("go_goroutines", &[]),
        ("go_memstats_heap_alloc_bytes", &[]),
        ("go_gc_duration_seconds_sum", &[]),
        ("go_gc_duration_seconds_count", &[]),
    ],
    source: "client_golang prometheus/{go_collector.go,process_collector.go}: the default registry registers NewGoCollector and NewProcessCollector",
};

const NODE: Facts = Facts {
    library: "prom-client 15.1.3, collectDefaultMetrics (fastify-metrics enables it by default; express-prom-bundle does not)",
    metrics: &[
        ("nodejs_eventloop_lag_p99_seconds", &[]),
        ("nodejs_heap_size_used_bytes", &[]),
        ("nodejs_heap_size_total_bytes", &[]),
        ("nodejs_gc_duration_seconds_sum", &["kind"]),
        ("nodejs_gc_duration_seconds_count", &["kind"]),
    ],
    source: "prom-client lib/metrics/{eventLoopLag.js,heapSizeAndUsed.js,gc.js,processOpenFileDescriptors.js,processMaxFileDescriptors.js}",
};

const PYTHON: Facts = Facts {
    library: "prometheus_client 0.26.0, default registry",
    metrics: &[("python_gc_collections_total", &["generation"])],
    source: "prometheus_client {process_collector.py,gc_collector.py}: the default REGISTRY has PROCESS_COLLECTOR and GC_COLLECTOR",
};

pub fn facts(r: Runtime) -> &'static Facts {
    match r {
        Runtime::Go => &GO,
        Runtime::Node => &NODE,
        Runtime::Python => &PYTHON,
    }
}

/// Every metric a service on runtime `r` exports by default, with its labels.
pub fn metrics(r: Runtime) -> impl Iterator<Item = &'static (&'static str, &'static [&'static str])> {
    PROCESS.iter().chain(facts(r).metrics)
}

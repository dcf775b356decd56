//! What each language runtime's instrumentation library exports at its defaults beside the
//! application's own metrics: the process (open and maximum file descriptors, resident memory
//! except on the JVM, CPU) and the runtime (goroutines and heap for Go; the event loop, heap and garbage
//! collection for Node.js; garbage collection for Python; heap, garbage collection and threads
//! for the JVM). The panels and the
//! `FileDescriptorsNearLimit` alert of a service with a `runtime` read these, and the tests
//! hold every query to them; the rehearsal reads them from the running libraries.

use crate::manifest::model::Runtime;

/// One runtime's default metrics, by name with their labels, and where they come from.
pub struct Facts {
    pub library: &'static str,
    /// Its process metrics (`PROCESS`, or a library's own names).
    pub process: &'static [(&'static str, &'static [&'static str])],
    /// The gauges of the process's open file descriptors and of their limit.
    pub fds: (&'static str, &'static str),
    /// Its runtime's own.
    pub metrics: &'static [(&'static str, &'static [&'static str])],
    pub source: &'static str,
}

/// The process metrics the three Prometheus client libraries (Go, Node.js, Python) export on
/// Linux (read from `/proc/self`), under the same names.
pub const PROCESS: &[(&str, &[&str])] = &[
    ("process_open_fds", &[]),
    ("process_max_fds", &[]),
    ("process_resident_memory_bytes", &[]),
    ("process_cpu_seconds_total", &[]),
];

/// The open and maximum descriptors of `PROCESS`.
const PROCESS_FDS: (&str, &str) = ("process_open_fds", "process_max_fds");

const GO: Facts = Facts {
    library: "client_golang v1.23.2, default registry",
    process: PROCESS,
    fds: PROCESS_FDS,
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
    process: PROCESS,
    fds: PROCESS_FDS,
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
    process: PROCESS,
    fds: PROCESS_FDS,
    metrics: &[("python_gc_collections_total", &["generation"])],
    source: "prometheus_client {process_collector.py,gc_collector.py}: the default REGISTRY has PROCESS_COLLECTOR and GC_COLLECTOR",
};

/// Micrometer's binders as Spring Boot's actuator registers them (read off a running Spring Boot
/// 4.0.7 with Micrometer 1.16.6). Micrometer has no resident-memory gauge; its process CPU is a
/// counter of nanoseconds. The pause timer has a series once a collection has happened.
const JVM: Facts = Facts {
    library: "Micrometer 1.16.6 (Spring Boot 4.0.7's actuator)",
    process: &[("process_files_open_files", &[]), ("process_files_max_files", &[]), ("process_cpu_time_ns_total", &[])],
    fds: ("process_files_open_files", "process_files_max_files"),
    metrics: &[
        ("jvm_memory_used_bytes", &["area", "id"]),
        ("jvm_memory_max_bytes", &["area", "id"]),
        ("jvm_gc_pause_seconds_sum", &["action", "cause", "gc"]),
        ("jvm_gc_pause_seconds_count", &["action", "cause", "gc"]),
        ("jvm_gc_overhead", &[]),
        ("jvm_threads_live_threads", &[]),
    ],
    source: "micrometer-core binder/system/{FileDescriptorMetrics,ProcessorMetrics}.java, binder/jvm/{JvmMemoryMetrics,JvmGcMetrics,JvmHeapPressureMetrics,JvmThreadMetrics}.java; spring-boot-micrometer-metrics registers them (JvmMetricsAutoConfiguration, SystemMetricsAutoConfiguration)",
};

pub fn facts(r: Runtime) -> &'static Facts {
    match r {
        Runtime::Go => &GO,
        Runtime::Node => &NODE,
        Runtime::Python => &PYTHON,
        Runtime::Jvm => &JVM,
    }
}

/// Every metric a service on runtime `r` exports by default, with its labels.
pub fn metrics(r: Runtime) -> impl Iterator<Item = &'static (&'static str, &'static [&'static str])> {
    let f = facts(r);
    f.process.iter().chain(f.metrics)
}

//! Batch job alerts (`prometheus/rules/jobs.yml`), from what each job pushes to the stack's
//! Pushgateway when it ends, as Prometheus's instrumentation guide recommends for batch jobs
//! ("the last time it succeeded"): `sightline_job_last_success_timestamp_seconds` when it
//! succeeded, `sightline_job_last_failure_timestamp_seconds` when it failed, both with the Unix
//! time of the end of the run (docs/manifest.md, "jobs", has the line that does it). Prometheus scrapes the
//! Pushgateway without honouring the pushed `job`, and `prometheus.yml` renames the pushed
//! `exported_job` to `batch_job`; `job` stays `pushgateway`.
//!
//! Per job:
//! - `BatchJobFailed` (warning): its last run failed (a failure newer than its last success, or
//!   a failure and no success at all);
//! - `BatchJobLate` (critical): its last success is older than its schedule's longest gap plus
//!   the longest a run may take (`BatchJob::late_after`);
//! - `BatchJobNeverSucceeded` (critical): no success has reached the Pushgateway for that long
//!   (the job never ran, cannot reach the Pushgateway, or its results were lost).
//!
//! Results are read with `last_over_time` over that window, so a Pushgateway restart or a
//! missed scrape does not resolve a failure nothing fixed (`MonitoringTargetDown` says when
//! Prometheus cannot scrape the Pushgateway).

use super::model::{AlertRule, InputSeries, Tested, alert_annotations, alert_labels};
use crate::ir::{Stack, defaults};
use crate::manifest::values::format_duration;
use crate::targets::paths::PUSHGATEWAY_ADDR;

pub const SUCCESS: &str = "sightline_job_last_success_timestamp_seconds";
pub const FAILURE: &str = "sightline_job_last_failure_timestamp_seconds";
/// The label that names a batch job on its series and alerts.
pub const LABEL: &str = "batch_job";

pub fn alerts(stack: &Stack) -> Vec<Tested> {
    if stack.component(defaults::PUSHGATEWAY.name).is_none() {
        return Vec::new();
    }
    let (host, port) = PUSHGATEWAY_ADDR;
    // Where the jobs push: the Pushgateway's compose name, or its Service in the cluster.
    let url = super::advice::Advice::of(stack).pushgateway_url();
    // The series as Prometheus stores them: the Pushgateway's target labels, the pushed job
    // renamed.
    let series = |metric: &str, job: &str| {
        format!("{metric}{{job=\"pushgateway\",instance=\"{host}:{port}\",{LABEL}=\"{job}\"}}")
    };
    // Every job's successes but `except`'s, long enough for the `absent` tests, which evaluate
    // at their window plus 10 minutes: the other jobs' `absent` stays quiet.
    let longest = stack.jobs.iter().map(|j| j.late_after().millis() / 60_000).max().unwrap_or(0) + 20;
    let successes = |except: Option<&str>| -> Vec<InputSeries> {
        stack
            .jobs
            .iter()
            .filter(|j| Some(j.name.as_str()) != except)
            .map(|j| InputSeries { series: series(SUCCESS, j.name.as_str()), values: format!("0x{longest}") })
            .collect()
    };
    let mut out = Vec::new();
    for j in &stack.jobs {
        let (job, service) = (j.name.as_str(), j.service.as_str());
        let late = j.late_after();
        let window = late.canonical();
        let sel = format!("{LABEL}=\"{job}\"");
        let last = |metric: &str| format!("max by ({LABEL}) (last_over_time({metric}{{{sel}}}[{window}]))");
        let series = |metric: &str| series(metric, job);
        let kept = vec![(LABEL.to_string(), job.to_string())];
        let schedule = j.schedule.normalized();
        let mk =
            |name: &str, expr: String, for_: Option<String>, severity: &str, summary: String, description: String| {
                AlertRule {
                    services: Vec::new(),
                    alert: name.to_string(),
                    expr,
                    for_,
                    labels: {
                        let mut l = alert_labels(stack, severity, "operational", Some(service));
                        l.insert(LABEL.into(), job.to_string());
                        l
                    },
                    annotations: alert_annotations(stack, name, Some(service), &summary, &description),
                }
            };
        // The tests evaluate at 10m (`time()` is 600) unless the rule has a `for`.
        let at = |age: u64| format!("{}x60", 600i64 - age as i64);
        out.push(Tested {
            rule: mk(
                "BatchJobFailed",
                format!("{} > ({} or {} * 0)", last(FAILURE), last(SUCCESS), last(FAILURE)),
                None,
                "warning",
                format!("Batch job {job} of {service} failed"),
                format!("The last run of batch job {job} (\"{schedule}\") reported a failure, after its last success if it had one; see the log of {service}. BatchJobLate fires if no run succeeds within {}.", format_duration(late.millis())),
            ),
            kept: kept.clone(),
            firing: vec![
                InputSeries { series: series(FAILURE), values: at(60) },
                InputSeries { series: series(SUCCESS), values: at(3600) },
            ],
            silent: vec![
                InputSeries { series: series(FAILURE), values: at(3600) },
                InputSeries { series: series(SUCCESS), values: at(60) },
            ],
        });
        let limit = late.millis() / 1000;
        out.push(Tested {
            rule: mk(
                "BatchJobLate",
                format!("time() - {} > {limit}", last(SUCCESS)),
                None,
                "critical",
                format!("Batch job {job} of {service} has not succeeded for more than {}", format_duration(late.millis())),
                format!("Batch job {job} runs on \"{schedule}\" (at most {} apart) and may take {}; its last success is older than both together. It failed since (BatchJobFailed), or did not run.", format_duration(j.interval.millis()), format_duration(j.max_duration.millis())),
            ),
            kept: kept.clone(),
            firing: vec![InputSeries { series: series(SUCCESS), values: at(limit + 3600) }],
            silent: vec![InputSeries { series: series(SUCCESS), values: at(limit / 2) }],
        });
        // `absent` keeps only the selector's labels; the rule adds `service`.
        out.push(Tested {
            rule: mk(
                "BatchJobNeverSucceeded",
                format!("absent({SUCCESS}{{{sel}}})"),
                Some(window.clone()),
                "critical",
                format!("Batch job {job} of {service} has reported no success for {}", format_duration(late.millis())),
                format!("No success of batch job {job} has reached the Pushgateway in {}: the job has not run, does not report its result, cannot reach {url}, or the Pushgateway lost it.", format_duration(late.millis())),
            ),
            kept,
            // This job failed, and never succeeded.
            firing: [successes(Some(job)), vec![InputSeries { series: series(FAILURE), values: format!("0x{longest}") }]]
                .concat(),
            silent: successes(None),
        });
    }
    out
}

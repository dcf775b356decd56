//! Backup alerts, from the metrics the backup scripts write for node-exporter's textfile
//! collector (on Kubernetes, push to the Pushgateway): `BackupFailed` (the last run failed), `BackupStale` (no good dump for longer than
//! the job's schedule allows: its longest gap between runs, plus a tenth of it, at least an
//! hour), `RestoreTestFailed`, `RestoreTestStale` (no restore test has finished for longer than
//! its schedule allows, likewise) and `RestoreTestMetricsMissing` (none has recorded a run for
//! that long), and the two that say the backups are not watched at all:
//! `BackupMetricsMissing` (no run has written its metrics for that long: cron not running, the
//! textfile directory not shared) and `BackupMetricsUnreadable` (node-exporter cannot parse or
//! read a metrics file). The label `backup_job` names the job (`job` is Prometheus's own).
//!
//! Results are read with `last_over_time` over the stale window: a node-exporter restart or
//! outage (HostDown says so) does not resolve a failure that nothing has fixed.

use super::advice::Advice;
use super::model::{AlertRule, InputSeries, Tested, alert_annotations, alert_labels};
use crate::ir::Stack;
use crate::manifest::values::{Duration, format_duration};

/// How long after the last good dump a job is stale.
pub fn stale_after(interval: &Duration) -> Duration {
    let slack = (interval.millis() / 10).max(3_600_000);
    Duration::from_millis(interval.millis() + slack)
}

/// `sightline_backup_last_run_timestamp_seconds` of every job but `missing`, long enough for a
/// test evaluated at `stale` plus 10 minutes.
fn run_series(jobs: &[crate::ir::BackupJob], node: &str, missing: Option<&str>, stale: &Duration) -> Vec<InputSeries> {
    jobs.iter()
        .filter(|j| Some(j.name.as_str()) != missing)
        .map(|j| InputSeries {
            series: format!(
                "sightline_backup_last_run_timestamp_seconds{{{node},backup_job=\"{}\",service=\"{}\"}}",
                j.name, j.service
            ),
            values: format!("0x{}", stale.millis().max(stale_after(&j.interval).millis()) / 60_000 + 20),
        })
        .collect()
}

/// A backup alert about job `job` of `service`: its labels (`backup_job` among them) and
/// annotations.
fn rule(
    stack: &Stack,
    (job, service): (&str, &str),
    name: &str,
    expr: String,
    severity: &str,
    summary: String,
    description: String,
) -> AlertRule {
    let mut labels = alert_labels(stack, severity, "operational", Some(service));
    labels.insert("backup_job".into(), job.to_string());
    AlertRule {
        services: Vec::new(),
        alert: name.to_string(),
        expr,
        for_: None,
        labels,
        annotations: alert_annotations(stack, name, Some(service), &summary, &description),
    }
}

/// A timestamp series' values, `age` seconds old when the tests evaluate (at 10m, where
/// `time()` is 600).
fn aged(age: u64) -> String {
    format!("{}x60", 600i64 - age as i64)
}

pub fn alerts(stack: &Stack) -> Vec<Tested> {
    let Some(b) = &stack.backups else { return Vec::new() };
    let advice = Advice::of(stack);
    let mut out = Vec::new();
    let node = "job=\"node\",instance=\"node-exporter:9100\"";
    for j in &b.jobs {
        let (job, service) = (j.name.as_str(), j.service.as_str());
        let sel = format!("backup_job=\"{job}\"");
        let labels = format!("{{{node},backup_job=\"{job}\",service=\"{service}\"}}");
        let kept = vec![("backup_job".to_string(), job.to_string())];
        let stale = stale_after(&j.interval);
        let window = stale.canonical();
        let mk = |name: &str, expr: String, severity: &str, summary: String, description: String| {
            rule(stack, (job, service), name, expr, severity, summary, description)
        };
        out.push(Tested {
            rule: mk(
                "BackupFailed",
                format!("max by (backup_job, service) (last_over_time(sightline_backup_last_result{{{sel}}}[{window}])) == 0"),
                "critical",
                format!("Backup job {job} of {service} failed"),
                format!("The last run of backup job {job} ({}) did not produce a verified dump of {service}; see {}.", j.schedule.normalized(), advice.backup_log(job)),
            ),
            kept: kept.clone(),
            firing: vec![InputSeries { series: format!("sightline_backup_last_result{labels}"), values: "0x60".into() }],
            silent: vec![InputSeries { series: format!("sightline_backup_last_result{labels}"), values: "1x60".into() }],
        });
        let limit = stale.millis() / 1000;
        out.push(Tested {
            rule: mk(
                "BackupStale",
                format!("time() - max by (backup_job, service) (sightline_backup_last_success_timestamp_seconds{{{sel}}}) > {limit}"),
                "critical",
                format!("No good backup of {service} from job {job} for more than {}", format_duration(stale.millis())),
                format!("Backup job {job} runs on \"{}\" (at most {} apart); its last good dump of {service} is older than {}.", j.schedule.normalized(), format_duration(j.interval.millis()), format_duration(stale.millis())),
            ),
            kept: kept.clone(),
            firing: vec![InputSeries { series: format!("sightline_backup_last_success_timestamp_seconds{labels}"), values: aged(limit + 3600) }],
            silent: vec![InputSeries { series: format!("sightline_backup_last_success_timestamp_seconds{labels}"), values: aged(limit / 2) }],
        });
        // `absent` keeps only the selector's labels; the rule adds `service`.
        out.push(Tested {
            rule: AlertRule {
                for_: Some(window.clone()),
                ..mk(
                    "BackupMetricsMissing",
                    format!("absent(sightline_backup_last_run_timestamp_seconds{{{sel}}})"),
                    "critical",
                    format!("Backup job {job} of {service} has written no metrics for {window}"),
                    format!(
                        "{} BackupFailed and BackupStale cannot fire until it does.",
                        advice.backup_metrics_missing(job, &window)
                    ),
                )
            },
            kept: kept.clone(),
            // Every job's run series, present until the test's evaluation (the window plus 10
            // minutes), but this job's when it must fire.
            firing: run_series(&b.jobs, node, Some(job), &stale),
            silent: run_series(&b.jobs, node, None, &stale),
        });
    }
    if let Some(rt) = &b.restore_test {
        // A run at most the schedule's longest gap apart, plus a tenth of it, at least an hour.
        let stale = stale_after(&crate::ir::longest_gap(rt));
        let limit = stale.millis() / 1000;
        for j in crate::targets::backup::restore_tested(b) {
            let (job, service) = (j.name.as_str(), j.service.as_str());
            let labels = format!("{{{node},backup_job=\"{job}\",service=\"{service}\"}}");
            let kept = vec![("backup_job".to_string(), job.to_string())];
            let mk = |name: &str, expr: String, summary: String, description: String| {
                rule(stack, (job, service), name, expr, "warning", summary, description)
            };
            let runs = format!("sightline_restore_test_last_run_timestamp_seconds{labels}");
            let why = advice.restore_test_not_recording(job);
            out.push(Tested {
                rule: mk(
                    "RestoreTestFailed",
                    format!("max by (backup_job, service) (last_over_time(sightline_restore_test_last_result{{backup_job=\"{job}\"}}[{}])) == 0", stale_after(&j.interval).canonical()),
                    format!("The newest dump of {service} did not restore"),
                    format!("The restore test of job {job} could not restore the newest dump of {service} into a scratch database, or its tables or row counts differ."),
                ),
                kept: kept.clone(),
                firing: vec![InputSeries { series: format!("sightline_restore_test_last_result{labels}"), values: "0x60".into() }],
                silent: vec![InputSeries { series: format!("sightline_restore_test_last_result{labels}"), values: "1x60".into() }],
            });
            out.push(Tested {
                rule: mk(
                    "RestoreTestStale",
                    format!("time() - max by (backup_job, service) (sightline_restore_test_last_run_timestamp_seconds{{backup_job=\"{job}\"}}) > {limit}"),
                    format!("The restore test of {service} has not finished a run for more than {}", format_duration(stale.millis())),
                    format!(
                        "The restore test of job {job} runs on \"{}\"; none has finished for more than {}: {why}. RestoreTestFailed cannot fire until one does.",
                        rt.normalized(),
                        format_duration(stale.millis())
                    ),
                ),
                kept: kept.clone(),
                firing: vec![InputSeries { series: runs.clone(), values: aged(limit + 3600) }],
                silent: vec![InputSeries { series: runs.clone(), values: aged(limit / 2) }],
            });
            // One that has never recorded a run: `absent` keeps only the selector's labels; the
            // rule adds `service`.
            let window = stale.canonical();
            out.push(Tested {
                rule: AlertRule {
                    for_: Some(window.clone()),
                    ..mk(
                        "RestoreTestMetricsMissing",
                        format!("absent(sightline_restore_test_last_run_timestamp_seconds{{backup_job=\"{job}\"}})"),
                        format!("The restore test of {service} has recorded no run for {window}"),
                        format!(
                            "No run of the restore test of job {job} (\"{}\") has recorded its result in {window}: {why}. RestoreTestFailed and RestoreTestStale cannot fire until one does.",
                            rt.normalized()
                        ),
                    )
                },
                kept,
                firing: Vec::new(),
                silent: vec![InputSeries { series: runs, values: format!("0x{}", stale.millis() / 60_000 + 20) }],
            });
        }
    }
    // On Kubernetes the results are pushed, not read from files.
    if !advice.backup_results_in_files() {
        return out;
    }
    out.push(Tested {
        rule: AlertRule {
            services: Vec::new(),
            alert: "BackupMetricsUnreadable".into(),
            expr: "max by (instance) (node_textfile_scrape_error{job=\"node\"}) == 1".into(),
            for_: Some("5m".into()),
            labels: alert_labels(stack, "critical", "operational", None),
            annotations: alert_annotations(
                stack,
                "BackupMetricsUnreadable",
                None,
                "node-exporter cannot read the backup metrics",
                "node-exporter's textfile collector failed to read or parse a file of the backup metrics directory; the series of that file are dropped, so backup alerts cannot fire. Look for `textfile` in node-exporter's log.",
            ),
        },
        kept: vec![("instance".into(), "node-exporter:9100".into())],
        firing: vec![InputSeries { series: format!("node_textfile_scrape_error{{{node}}}"), values: "1x60".into() }],
        silent: vec![InputSeries { series: format!("node_textfile_scrape_error{{{node}}}"), values: "0x60".into() }],
    });
    out
}

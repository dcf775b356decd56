//! Backup alerts, from the metrics the backup scripts write for node-exporter's textfile
//! collector: `BackupFailed` (the last run failed), `BackupStale` (no good dump for longer than
//! the job's schedule allows: its longest gap between runs, plus a tenth of it, at least an
//! hour) and `RestoreTestFailed`. The label `backup_job` names the job (`job` is Prometheus's
//! own, the scrape job).

use super::model::{AlertRule, InputSeries, alert_annotations, alert_labels};
use crate::ir::Stack;
use crate::manifest::values::{Duration, format_duration};

/// An alert with the series of its tests.
pub struct BackupAlert {
    pub rule: AlertRule,
    pub kept: Vec<(String, String)>,
    pub firing: Vec<InputSeries>,
    pub silent: Vec<InputSeries>,
}

/// How long after the last good dump a job is stale.
pub fn stale_after(interval: &Duration) -> Duration {
    let slack = (interval.millis() / 10).max(3_600_000);
    Duration::from_millis(interval.millis() + slack)
}

pub fn alerts(stack: &Stack) -> Vec<BackupAlert> {
    let Some(b) = &stack.backups else { return Vec::new() };
    let mut out = Vec::new();
    let node = "job=\"node\",instance=\"node-exporter:9100\"";
    for j in &b.jobs {
        let (job, service) = (j.name.as_str(), j.service.as_str());
        let sel = format!("backup_job=\"{job}\"");
        let labels = format!("{{{node},backup_job=\"{job}\",service=\"{service}\"}}");
        let kept = vec![("backup_job".to_string(), job.to_string())];
        let mk = |name: &str, expr: String, severity: &str, summary: String, description: String| AlertRule {
            alert: name.to_string(),
            expr,
            for_: None,
            labels: {
                let mut l = alert_labels(stack, severity, "operational", Some(service));
                l.insert("backup_job".into(), job.to_string());
                l
            },
            annotations: alert_annotations(stack, name, Some(service), &summary, &description),
        };
        out.push(BackupAlert {
            rule: mk(
                "BackupFailed",
                format!("max by (backup_job, service) (sightline_backup_last_result{{{sel}}}) == 0"),
                "critical",
                format!("Backup job {job} of {service} failed"),
                format!("The last run of backup job {job} ({}) did not produce a verified dump of {service}; see the backup container's log.", j.schedule.normalized()),
            ),
            kept: kept.clone(),
            firing: vec![InputSeries { series: format!("sightline_backup_last_result{labels}"), values: "0x60".into() }],
            silent: vec![InputSeries { series: format!("sightline_backup_last_result{labels}"), values: "1x60".into() }],
        });
        let stale = stale_after(&j.interval);
        let limit = stale.millis() / 1000;
        // The tests evaluate at 10m, where `time()` is 600.
        let at = |age: u64| format!("{}x60", 600i64 - age as i64);
        out.push(BackupAlert {
            rule: mk(
                "BackupStale",
                format!("time() - max by (backup_job, service) (sightline_backup_last_success_timestamp_seconds{{{sel}}}) > {limit}"),
                "critical",
                format!("No good backup of {service} from job {job} for more than {}", format_duration(stale.millis())),
                format!("Backup job {job} runs on \"{}\" (at most {} apart); its last good dump of {service} is older than {}.", j.schedule.normalized(), format_duration(j.interval.millis()), format_duration(stale.millis())),
            ),
            kept: kept.clone(),
            firing: vec![InputSeries { series: format!("sightline_backup_last_success_timestamp_seconds{labels}"), values: at(limit + 3600) }],
            silent: vec![InputSeries { series: format!("sightline_backup_last_success_timestamp_seconds{labels}"), values: at(limit / 2) }],
        });
    }
    if b.restore_test.is_some() {
        let mut seen = Vec::new();
        for j in b.jobs.iter().filter(|j| j.age_recipient.is_none()) {
            if seen.contains(&j.service) {
                continue;
            }
            seen.push(j.service.clone());
            let (job, service) = (j.name.as_str(), j.service.as_str());
            let labels = format!("{{{node},backup_job=\"{job}\",service=\"{service}\"}}");
            let mut l = alert_labels(stack, "warning", "operational", Some(service));
            l.insert("backup_job".into(), job.to_string());
            out.push(BackupAlert {
                rule: AlertRule {
                    alert: "RestoreTestFailed".into(),
                    expr: format!("max by (backup_job, service) (sightline_restore_test_last_result{{backup_job=\"{job}\"}}) == 0"),
                    for_: None,
                    labels: l,
                    annotations: alert_annotations(
                        stack,
                        "RestoreTestFailed",
                        Some(service),
                        &format!("The newest dump of {service} did not restore"),
                        &format!("The restore test of job {job} could not restore the newest dump of {service} into a scratch database, or its tables or row counts differ."),
                    ),
                },
                kept: vec![("backup_job".to_string(), job.to_string())],
                firing: vec![InputSeries { series: format!("sightline_restore_test_last_result{labels}"), values: "0x60".into() }],
                silent: vec![InputSeries { series: format!("sightline_restore_test_last_result{labels}"), values: "1x60".into() }],
            });
        }
    }
    out
}

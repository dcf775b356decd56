//! The stack watching itself: `MonitoringTargetDown` (one rule per program, with its `job`
//! label) when Prometheus cannot scrape one of the stack's own programs (Prometheus, Alertmanager, cAdvisor, the blackbox exporter). Without it
//! a dead blackbox exporter silently resolves every probe alert, and a dead cAdvisor empties
//! the container panels. node-exporter has `HostDown`.

use super::model::{AlertRule, InputSeries, Tested, alert_annotations, alert_labels};
use crate::ir::{Stack, defaults};
use crate::targets::paths::{ALERTMANAGER_ADDR, BLACKBOX_ADDR, CADVISOR_ADDR, PROMETHEUS_ADDR};

/// The scrape jobs of the stack's own programs, with their target.
pub fn jobs(stack: &Stack) -> Vec<(&'static str, (&'static str, u16))> {
    let mut out = vec![("prometheus", PROMETHEUS_ADDR), ("alertmanager", ALERTMANAGER_ADDR)];
    if stack.component(defaults::CADVISOR.name).is_some() {
        out.push(("cadvisor", CADVISOR_ADDR));
    }
    if stack.component(defaults::BLACKBOX_EXPORTER.name).is_some() {
        out.push(("blackbox", BLACKBOX_ADDR));
    }
    out
}

/// One alert per program: its name in the summary, no template to expand.
pub fn alerts(stack: &Stack) -> Vec<Tested> {
    jobs(stack)
        .into_iter()
        .map(|(job, (host, port))| {
            let series =
                |v: &str| InputSeries { series: format!("up{{job=\"{job}\",instance=\"{host}:{port}\"}}"), values: v.into() };
            let mut labels = alert_labels(stack, "warning", "operational", None);
            labels.insert("job".into(), job.into());
            Tested {
                rule: AlertRule {
                    alert: "MonitoringTargetDown".into(),
                    expr: format!("min by (job) (up{{job=\"{job}\"}}) == 0"),
                    for_: Some("2m".into()),
                    labels,
                    annotations: alert_annotations(
                        stack,
                        "MonitoringTargetDown",
                        None,
                        &format!("{job} of the monitoring stack is down"),
                        &format!(
                            "Prometheus cannot scrape {job}. While it is down, {}. Threshold: up == 0 for 2m, as TargetDown.",
                            match job {
                                "blackbox" => "every probe fails and the probe alerts (health, certificate) cannot be trusted",
                                "cadvisor" => "the container panels are empty",
                                "alertmanager" => "no notification goes out",
                                _ => "rules may not be evaluated",
                            }
                        ),
                    ),
                },
                kept: Vec::new(),
                firing: vec![series("0x60")],
                silent: vec![series("1x60")],
            }
        })
        .collect()
}

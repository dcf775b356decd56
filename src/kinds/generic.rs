//! `kind: generic`: anything else Prometheus scrapes: up or down, and its error lines.

use super::alert::*;
use super::{KindDef, common};
use crate::ir::Service;
use crate::manifest::model::LogFormat;
use crate::targets::grafana::panels::*;

pub const DEF: KindDef = KindDef {
    fields: &["port", "host", "kubernetes", "metrics", "metrics_port"],
    requires: &["port"],
    exporter: None,
    catalogue: None,
    alerts: ALERTS,
    rule,
    log_rule: common::error_log_spike,
    exposed: |_| Vec::new(),
    log_format: |_| LogFormat::Plain,
    metrics_port: None,
    front_door: false,
    panels,
    connections: None,
    app: common::health_probe,
    jobs: super::no_jobs,
    job_suffixes: &[],
    backup: None,
    overview: common::no_panels,
    security: common::no_panels,
    performance: common::no_panels,
    refused_env: None,
    login: None,
    basic_login: false,
    own_env: super::no_own_env,
    own_env_why: super::NO_OWN_ENV,
    lacks: super::lacks_nothing,
};

const ALERTS: &[Builtin] = &[common::TARGET_DOWN, common::ERROR_LOG_SPIKE];

fn rule(r: &ServiceAlert) -> AlertText {
    match r.def.name {
        "TargetDown" => common::target_down(r),
        other => unreachable!("no expression for built-in alert {other}"),
    }
}

/// Its dashboard's panels, for the service the dashboard's `service` variable chooses
/// (`targets::grafana::panels` is the kit; the logs panel follows them).
#[rustfmt::skip]
fn panels(_: &Service) -> Vec<Spec> {
    let (n, sl) = (SERVICE, CHOSEN);
    vec![
        spec(Viz::Stat, "Up", "short", "1 when Prometheus can scrape the service.", vec![q(format!("min(up{{{sl},probe=\"\"}})"), n)]),
        spec(Viz::TimeSeries, "Scrape duration", "s", "How long a scrape of the service takes.", vec![q(format!("max(scrape_duration_seconds{{{sl},probe=\"\"}})"), n)]),
    ]
}

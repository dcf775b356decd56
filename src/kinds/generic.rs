//! `kind: generic`: anything else Prometheus scrapes: up or down, and its error lines.

use super::alert::*;
use super::{KindDef, common};
use crate::manifest::model::LogFormat;

pub const DEF: KindDef = KindDef {
    exporter: None,
    catalogue: None,
    alerts: ALERTS,
    rule,
    log_rule: common::error_log_spike,
    exposed: |_| Vec::new(),
    log_format: |_| LogFormat::Plain,
    metrics_port: None,
    front_door: false,
};

const ALERTS: &[Builtin] = &[common::TARGET_DOWN, common::ERROR_LOG_SPIKE];

fn rule(r: &ServiceAlert) -> AlertText {
    match r.def.name {
        "TargetDown" => common::target_down(r),
        other => unreachable!("no expression for built-in alert {other}"),
    }
}

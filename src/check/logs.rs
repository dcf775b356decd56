//! Logs: labels promoted from log lines stay low-cardinality.

use super::Ctx;
use crate::code::Code;
use crate::diagnostic::{Diagnostic, Sink};

/// Field names that carry a value per request, user or client.
const HIGH_CARDINALITY: [&str; 22] = [
    "request_id",
    "requestid",
    "req_id",
    "x_request_id",
    "correlation_id",
    "trace_id",
    "traceid",
    "span_id",
    "spanid",
    "user_id",
    "userid",
    "user",
    "username",
    "email",
    "session_id",
    "sessionid",
    "ip",
    "client_ip",
    "remote_addr",
    "path",
    "url",
    "uri",
];

pub fn check(ctx: &Ctx, sink: &mut Sink) {
    for (name, s) in &ctx.manifest.services {
        let Some(logs) = &s.logs else { continue };
        for (i, label) in logs.labels.iter().enumerate() {
            if HIGH_CARDINALITY.contains(&label.0.to_ascii_lowercase().as_str()) {
                sink.push(
                    Diagnostic::warning(Code::HighCardinalityLabel, format!("`{}` has a value per request or user: a poor Loki label", label.0))
                        .at(ctx.value(["services", name.as_str(), "logs", "labels", &i.to_string()]))
                        .label("high cardinality")
                        .help(format!("drop it from `labels:`; keep it in the line (query it with `| json | {} = \"…\"`) or as structured metadata", label.0)),
                );
            }
        }
    }
}

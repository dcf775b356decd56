//! The platform a stack is built for. On Kubernetes: every object is named after the stack
//! (SL901), every secret is a key of the stack's one Secret (SL902), and what the platform does
//! not generate yet is said once (SL903). On compose, nothing here applies.
//!
//! Run on a manifest without errors, on its lowered stack (the platform may come from the
//! command line, not the manifest).

use super::Ctx;
use crate::code::Code;
use crate::diagnostic::{Diagnostic, Sink};
use crate::ir::Stack;
use crate::manifest::model::Platform;
use crate::targets::kubernetes::{secret_key, secrets_name};

/// An RFC 1123 label: what `<stack>-<what>` needs of the stack's name.
fn is_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// A key of a Secret's data.
fn is_secret_key(s: &str) -> bool {
    !s.is_empty() && s.len() <= 253 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

pub fn check(ctx: &Ctx, stack: &Stack, sink: &mut Sink) {
    if ctx.platform != Platform::Kubernetes {
        return;
    }
    if !is_label(stack.name.as_str()) {
        sink.push(
            Diagnostic::error(
                Code::PlatformName,
                format!("the stack name `{}` cannot name Kubernetes objects", stack.name),
            )
            .at(ctx.value(["stack"]))
            .label("a Kubernetes name is lower-case letters, digits and `-`, ending with a letter or digit")
            .help(format!(
                "every generated object is named `<stack>-<what>`; rename the stack, e.g. `{}`",
                stack.name.as_str().replace('_', "-").trim_end_matches('-')
            )),
        );
    }
    secret_keys(ctx, stack, sink);
    not_lowered(ctx, stack, sink);
}

/// Each secret reference's key of `<stack>-secrets`: valid, and one reference per key.
fn secret_keys(ctx: &Ctx, stack: &Stack, sink: &mut Sink) {
    let secret = secrets_name(stack);
    let mut seen: Vec<(&str, &crate::manifest::values::SecretRef, &str)> = Vec::new();
    for u in crate::targets::kubernetes::secrets_read(stack) {
        let key = secret_key(&u.reference);
        let at = ctx.value(u.setting.split('.'));
        if !is_secret_key(key) {
            sink.push(
                Diagnostic::error(
                    Code::SecretKeyClash,
                    format!("`{}` cannot be a key of the Secret `{secret}`", u.setting),
                )
                .at(at)
                .label("a Secret's key is letters, digits, `-`, `_` and `.`")
                .help("name the variable or the file with those characters only"),
            );
            continue;
        }
        match seen.iter().find(|(k, r, _)| *k == key && **r != u.reference) {
            Some((_, _, first)) => sink.push(
                Diagnostic::error(
                    Code::SecretKeyClash,
                    format!("`{}` and `{first}` would both be the key `{key}` of the Secret `{secret}`", u.setting),
                )
                .at(at)
                .label("same key, another secret")
                .help(
                    "rename one of the variables or files: on Kubernetes the key is the variable's name or the file's",
                ),
            ),
            None => seen.push((key, &u.reference, u.setting.as_str())),
        }
    }
}

/// One note naming what the manifest has that the kubernetes platform does not generate.
fn not_lowered(ctx: &Ctx, stack: &Stack, sink: &mut Sink) {
    let mut parts = vec![format!(
        "the scrape configuration of {} service{}",
        stack.services.len(),
        if stack.services.len() == 1 { "" } else { "s" }
    )];
    // Logs are always collected on compose (Alloy or Promtail into Loki).
    parts.push("log collection and Loki's rules".into());
    if stack.backups.is_some() {
        parts.push("backups".into());
    }
    if !stack.jobs.is_empty() {
        parts.push("batch jobs".into());
    }
    if stack.prometheus_auth.is_some() || stack.alertmanager_auth.is_some() {
        parts.push("basic authentication".into());
    }
    if stack.component(crate::ir::defaults::NODE_EXPORTER.name).is_some() {
        parts.push("the host's alerts (kube-prometheus-stack has its own node rules)".into());
    }
    sink.push(
        Diagnostic::note(Code::NotLowered, format!("not generated for kubernetes yet: {}", parts.join("; ")))
            .at(ctx.value(["stack"]))
            .label("built for kubernetes")
            .help("the rules, Alertmanager's configuration and the dashboards are generated; docs/kubernetes.md says what maps the rest"),
    );
}

//! Routes: each route can match something, and every receiver is used. An error for a match on
//! a label no alert carries (a typo routes everything past the route); warnings, with spans, for
//! a route shadowed by an earlier one, a receiver nobody routes to, a match on a label value no
//! alert ever carries.

use super::Ctx;
use crate::code::Code;
use crate::diagnostic::{Diagnostic, Sink};
use crate::ir::catalog;
use crate::manifest::model::Route;
use std::collections::BTreeSet;

/// Does every alert `later` matches also match `earlier`?
fn shadows(earlier: &Route, later: &Route) -> bool {
    earlier.matchers.iter().all(|(name, values)| {
        later.matchers.get(name).is_some_and(|l| l.as_slice().iter().all(|v| values.as_slice().contains(v)))
    })
}

/// The values a label can have on the alerts of this stack, for the labels sightline sets.
fn known_values(ctx: &Ctx, label: &str) -> Option<BTreeSet<String>> {
    let m = ctx.manifest;
    let rules = m.alerting.as_ref().map(|a| a.rules.as_slice()).unwrap_or(&[]);
    let mut set = BTreeSet::new();
    match label {
        "severity" => set.extend(["critical", "warning", "info"].map(String::from)),
        "category" => {
            set.extend(catalog::CATEGORIES.map(String::from));
            set.extend(rules.iter().map(|r| r.category.to_string()));
        }
        "service" => set.extend(m.services.keys().map(|k| k.to_string())),
        "alertname" => {
            for s in m.services.values() {
                set.extend(crate::kinds::builtin_alerts(s.kind).into_iter().map(String::from));
            }
            set.extend(catalog::HOST_ALERTS.map(String::from));
            set.extend(catalog::BACKUP_ALERTS.map(String::from));
            set.extend(catalog::MONITORING_ALERTS.map(String::from));
            set.extend(rules.iter().map(|r| r.alert.clone()));
            for kind in ["Availability", "Latency"] {
                for (long, ..) in catalog::SLO_WINDOWS {
                    set.insert(format!("{kind}BudgetBurn{long}"));
                }
            }
        }
        "stack" => {
            set.insert(m.stack.to_string());
        }
        "slo" => {
            for s in m.services.values().filter_map(|s| s.slo.as_ref()) {
                if s.availability.is_some() {
                    set.insert("availability".to_string());
                }
                if s.latency.is_some() {
                    set.insert("latency".to_string());
                }
            }
        }
        "env" => {
            set.insert(m.environment.to_string());
        }
        _ => return None,
    }
    Some(set)
}

/// The labels the user's rules name in their expressions (matchers and `by`), which their
/// alerts may carry.
fn user_rule_labels(rules: &[crate::manifest::model::UserRule]) -> BTreeSet<String> {
    use promql_parser::parser::Expr;
    struct Labels(BTreeSet<String>);
    impl promql_parser::util::ExprVisitor for Labels {
        type Error = ();
        fn pre_visit(&mut self, e: &Expr) -> Result<bool, ()> {
            match e {
                Expr::VectorSelector(v) => self.0.extend(v.matchers.matchers.iter().map(|m| m.name.clone())),
                Expr::MatrixSelector(m) => self.0.extend(m.vs.matchers.matchers.iter().map(|m| m.name.clone())),
                Expr::Aggregate(a) => self.0.extend(a.modifier.iter().flat_map(|m| m.labels().labels.clone())),
                _ => {}
            }
            Ok(true)
        }
    }
    let mut found = Labels(BTreeSet::new());
    for r in rules {
        if let Ok(expr) = promql_parser::parser::parse(&r.expr) {
            let _ = promql_parser::util::walk_expr(&mut found, &expr);
        }
    }
    found.0
}

/// A Prometheus label name, as Alertmanager's matchers take it.
fn is_label_name(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Every key of a route's `match` and of an inhibition's `source`/`target` is a label name:
/// anything else is written into a matcher (`alertname=~".+",severity` becomes a second
/// matcher that amtool takes and `sightline route` does not; `bad key!` makes amtool refuse
/// the file), whatever SL214 thinks of the label.
fn label_keys(ctx: &Ctx, a: &crate::manifest::model::Alerting, sink: &mut Sink) {
    let mut keys: Vec<(Vec<String>, &String)> = Vec::new();
    for (j, r) in a.routes.iter().enumerate() {
        keys.extend(r.matchers.keys().map(|k| (vec!["routes".into(), j.to_string(), "match".into()], k)));
    }
    if let Some(crate::manifest::model::Inhibit::Rules(rules)) = &a.inhibit {
        for (j, r) in rules.iter().enumerate() {
            for (side, map) in [("source", &r.source), ("target", &r.target)] {
                keys.extend(map.keys().map(|k| (vec!["inhibit".into(), j.to_string(), side.into()], k)));
            }
        }
    }
    for (at, key) in keys {
        if !is_label_name(key) {
            let path = ["alerting".to_string()].into_iter().chain(at).chain([key.clone()]);
            sink.push(
                Diagnostic::error(Code::InvalidValue, format!("`{key}` is not a label name"))
                    .at(ctx.key(path))
                    .label("a matcher's label")
                    .help("label names are letters, digits and `_`, not starting with a digit; a key matches one label by equality"),
            );
        }
    }
}

pub fn check(ctx: &Ctx, sink: &mut Sink) {
    let Some(a) = &ctx.manifest.alerting else { return };
    label_keys(ctx, a, sink);
    let user_labels = user_rule_labels(&a.rules);
    if a.heartbeat.is_none() && !a.receivers.is_empty() {
        sink.push(
            Diagnostic::warning(Code::NoHeartbeat, "no dead man's switch: nothing notices when alerting itself stops")
                .at(ctx.key(["alerting"]))
                .label("no `heartbeat:` receiver")
                .help(
                    "add a receiver for a heartbeat service (healthchecks.io, Dead Man's Snitch, a webhook) and name it in \
                     `alerting.heartbeat`; the always-firing Watchdog alert reaches it every 5 minutes",
                ),
        );
    }
    for (j, later) in a.routes.iter().enumerate() {
        if let Some(i) = (0..j).find(|&i| !a.routes[i].continue_.unwrap_or(false) && shadows(&a.routes[i], later)) {
            sink.push(
                Diagnostic::warning(Code::UnreachableRoute, format!("route {} can never match", j + 1))
                    .at(ctx.value(["alerting", "routes", &j.to_string(), "match"]))
                    .label("every alert this matches is caught earlier")
                    .related(
                        ctx.value(["alerting", "routes", &i.to_string(), "match"]),
                        "this route matches first and stops",
                    )
                    .help("move this route above the broader one, or give the broader one `continue: true`"),
            );
        }
        for (label, values) in &later.matchers {
            if !is_label_name(label) {
                continue;
            }
            if !catalog::ALERT_LABELS.contains(&label.as_str()) && !user_labels.contains(label) {
                let names: Vec<String> = catalog::ALERT_LABELS.iter().map(|l| l.to_string()).collect();
                // A user rule that does not aggregate keeps its metric's labels, which sightline
                // cannot know: then this is only a warning.
                let d = if a.rules.is_empty() { Diagnostic::error } else { Diagnostic::warning };
                sink.push(
                    d(Code::UnknownMatchLabel, format!("no alert of this stack has a label `{label}`"))
                        .at(ctx.key(["alerting", "routes", &j.to_string(), "match", label.as_str()]))
                        .label("this route can never match")
                        .help_suggesting(label, &names, format!("the labels alerts carry: {}", names.join(", "))),
                );
                continue;
            }
            let Some(known) = known_values(ctx, label) else { continue };
            let known: Vec<String> = known.into_iter().collect();
            for (k, v) in values.as_slice().iter().enumerate() {
                if !known.contains(v) {
                    let mut at =
                        vec!["alerting".to_string(), "routes".into(), j.to_string(), "match".into(), label.clone()];
                    if values.as_slice().len() > 1
                        || ctx.source.node(&crate::source::pointer(at.iter().chain([&k.to_string()]))).is_some()
                    {
                        at.push(k.to_string());
                    }
                    sink.push(
                        Diagnostic::warning(
                            Code::UnknownMatchValue,
                            format!("no alert of this stack has {label}=\"{v}\""),
                        )
                        .at(ctx.value(at))
                        .label("matches nothing")
                        .help(if label == "category" && v == "slo" {
                            "SLO burn alerts carry `category: operational` and `slo: availability` or `slo: latency`; \
                             match `slo:` to route them apart"
                                .to_string()
                        } else {
                            crate::diagnostic::did_you_mean(v, &known).map_or_else(
                                || format!("known values of `{label}`: {}", known.join(", ")),
                                |s| format!("did you mean `{s}`?"),
                            )
                        }),
                    );
                }
            }
        }
    }
    let used: BTreeSet<&str> = a
        .routes
        .iter()
        .flat_map(|r| r.to.as_slice().iter().map(|n| n.as_str()))
        .chain(a.default.as_ref().map(|d| d.as_str()))
        .chain(a.heartbeat.as_ref().map(|d| d.as_str()))
        .collect();
    for name in a.receivers.keys() {
        if !used.contains(name.as_str()) {
            sink.push(
                Diagnostic::warning(Code::UnusedReceiver, format!("no route sends anything to `{name}`"))
                    .at(ctx.key(["alerting", "receivers", name.as_str()]))
                    .label("unused receiver")
                    .help("name it in a route's `to` (or as `default`), or remove it"),
            );
        }
    }
}

//! `prometheus/rules/*.yml` (alerting and recording rules, one file per group) and
//! `prometheus/tests/*.yml` (a promtool unit test for every generated alert: one case that
//! makes it fire with the expected labels and annotations, one that keeps it silent).
//!
//! Files: `host.yml` (node-exporter alerts), `monitoring.yml` (the stack's own programs),
//! `services-<kind>.yml` (the built-in alerts of the services of a kind, one rule per alert and
//! set of services whose rule reads the same: `builtin`), `slo.yml` (recording rules and
//! burn-rate alerts of the objectives, one set per objective services share: `slo::shared`),
//! `backups.yml` and `jobs.yml` (backup jobs and the application's batch jobs),
//! `user.yml` (the manifest's own rules, which have no generated tests: their series are the
//! user's to know). What an alert's description tells the person paged about where things run
//! (which log, which command, where a job reports) is `advice`'s, the one part of a rule that
//! depends on the platform.

mod advice;
pub mod backups;
pub mod builtin;
pub mod doc;
pub mod jobs;
pub mod model;
pub mod monitoring;
pub mod slo;

use super::Artifact;
use super::paths::{PROMETHEUS_RULES_DIR, PROMETHEUS_TESTS_DIR};
use crate::ir::Stack;
use crate::manifest::model::Kind;
use crate::targets::grafana::dashboards::ServiceBoards;
use builtin::Concrete;
use model::*;
use std::collections::BTreeMap;

/// The test-case evaluation time: the alert's `for` plus 10 minutes of rate windows.
fn eval_time(for_: &str) -> String {
    let f = crate::manifest::values::Duration::parse(for_).map_or(0, |d| d.millis());
    crate::manifest::values::format_duration(f + 600_000)
}

fn yaml<T: serde::Serialize>(v: &T) -> String {
    serde_saphyr::to_string(v).expect("rule files serialize")
}

fn alert_rule(stack: &Stack, c: &Concrete) -> AlertRule {
    // The `service` label comes from the expression: a rule names no service of its own.
    let service = (!c.services.is_empty()).then_some(SERVICE_LABEL);
    AlertRule {
        services: c.services.clone(),
        alert: c.def.name.to_string(),
        expr: c.expr.clone(),
        for_: (c.for_ != "0m" && c.for_ != "0s").then(|| c.for_.clone()),
        labels: alert_labels(stack, &c.severity, c.def.category, None),
        annotations: alert_annotations(stack, c.def.name, service, &c.summary, &c.description),
    }
}

/// The group of built-in alerts, and their tests when `with_tests`.
fn builtin_group(stack: &Stack, name: &str, concrete: &[Concrete], with_tests: bool) -> (Group, Option<Vec<Tested>>) {
    let rules: Vec<AlertRule> = concrete.iter().map(|c| alert_rule(stack, c)).collect();
    let tested = with_tests.then(|| {
        concrete
            .iter()
            .zip(&rules)
            .map(|(c, rule)| Tested {
                rule: rule.clone(),
                kept: c.kept.clone(),
                firing: c.firing.clone(),
                silent: c.silent.clone(),
            })
            .collect()
    });
    (Group { name: name.to_string(), rules: rules.into_iter().map(Rule::Alert).collect() }, tested)
}

fn tests_for(group: &str, rules: &[Tested]) -> TestFile {
    let mut tests = Vec::new();
    for Tested { rule, kept, firing, silent } in rules {
        let eval = eval_time(rule.for_.as_deref().unwrap_or("0m"));
        let mut labels = rule.labels.clone();
        // A rule over several services is tested with the first one's series.
        let about = rule.services.first();
        if let Some(service) = about {
            labels.insert("service".into(), service.clone());
        }
        labels.extend(kept.iter().cloned());
        // Promtool compares the annotations as Prometheus expands them.
        let annotations = rule
            .annotations
            .iter()
            .map(|(k, v)| {
                let expanded =
                    labels.iter().fold(v.clone(), |v, (l, x)| v.replace(&format!("{{{{ $labels.{l} }}}}"), x));
                (k.clone(), expanded)
            })
            .collect();
        let about = about.map_or(String::new(), |s| format!(" ({s})"));
        tests.push(TestGroup {
            name: format!("{} fires{about}", rule.alert),
            interval: "1m".into(),
            input_series: firing.clone(),
            alert_rule_test: vec![AlertTest {
                eval_time: eval.clone(),
                alertname: rule.alert.clone(),
                exp_alerts: vec![ExpAlert { exp_labels: labels, exp_annotations: annotations }],
            }],
        });
        // The dead man's switch always fires: there is nothing to keep it quiet.
        if rule.alert == crate::targets::alertmanager::routing::WATCHDOG {
            continue;
        }
        tests.push(TestGroup {
            name: format!("{} stays silent{about}", rule.alert),
            interval: "1m".into(),
            input_series: silent.clone(),
            alert_rule_test: vec![AlertTest { eval_time: eval, alertname: rule.alert.clone(), exp_alerts: Vec::new() }],
        });
    }
    TestFile { rule_files: vec![format!("../rules/{group}.yml")], evaluation_interval: "1m".into(), tests }
}

/// A kind's rules in as few files as hold no two rules of one alert with the same labels
/// (severity; the category is the alert's): promtool's lint, on by default, calls such rules
/// duplicates within a file, whatever their expressions. The n-th such rule of an alert, for
/// the services whose override sets it apart, goes to the n-th file; the kind-wide rule of
/// every alert to the first.
fn apart(concrete: Vec<Concrete>) -> Vec<Vec<Concrete>> {
    let mut files: Vec<Vec<Concrete>> = Vec::new();
    let mut seen: BTreeMap<(&'static str, String), usize> = BTreeMap::new();
    // The kind-wide rule (the one of the most services) of each alert first.
    let mut order: Vec<usize> = (0..concrete.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(concrete[i].services.len()));
    let mut slot = vec![0; concrete.len()];
    for i in order {
        let n = seen.entry((concrete[i].def.name, concrete[i].severity.clone())).or_default();
        slot[i] = *n;
        *n += 1;
    }
    for (c, n) in concrete.into_iter().zip(slot) {
        if files.len() <= n {
            files.resize_with(n + 1, Vec::new);
        }
        files[n].push(c);
    }
    files
}

/// One rule file as a model: its name (`<file>.yml`), its one group, and the alerts its test
/// file tests with, if it has one (`eval_time` overriding each case's, for long windows).
pub struct File {
    pub name: String,
    /// The manifest part the file comes from (a JSON pointer).
    pub origin: String,
    pub group: Group,
    tested: Option<Vec<Tested>>,
    eval_time: Option<&'static str>,
}

impl File {
    /// Keep only the alerts `keep` takes (and every recording rule), with their tests: the file
    /// stays whole, its tests those of what it still has.
    pub fn retain_alerts(&mut self, keep: impl Fn(&AlertRule) -> bool) {
        self.group.rules.retain(|r| match r {
            Rule::Alert(a) => keep(a),
            Rule::Record(_) => true,
        });
        if let Some(tested) = &mut self.tested {
            tested.retain(|t| keep(&t.rule));
        }
    }
}

fn emit(out: &mut Vec<File>, file: &str, origin: String, group: Group, tested: Option<Vec<Tested>>) {
    out.push(File { name: file.to_string(), origin, group, tested, eval_time: None });
}

/// The rule files and test files.
pub fn lower(stack: &Stack, boards: &ServiceBoards) -> Vec<Artifact> {
    files(stack, boards, true)
        .into_iter()
        .flat_map(|f| render(&f, PROMETHEUS_RULES_DIR, PROMETHEUS_TESTS_DIR))
        .collect()
}

/// One rule file in `rules_dir` and its test file in `tests_dir`, serialized (the tests name
/// the rule file `../rules/<file>.yml`: the two directories are siblings, `rules` and `tests`).
pub fn render(f: &File, rules_dir: &str, tests_dir: &str) -> Vec<Artifact> {
    debug_assert!(rules_dir.ends_with("/rules") && tests_dir.ends_with("/tests"));
    let mut out = vec![
        Artifact::new(format!("{rules_dir}/{}.yml", f.name), yaml(&RuleFileRef { groups: [&f.group] }))
            .from_part(&f.origin),
    ];
    if let Some(tested) = &f.tested {
        let mut tests = tests_for(&f.name, tested);
        if let Some(at) = f.eval_time {
            for a in tests.tests.iter_mut().flat_map(|t| &mut t.alert_rule_test) {
                a.eval_time = at.into();
            }
        }
        out.push(Artifact::new(format!("{tests_dir}/{}.yml", f.name), yaml(&tests)).from_part(&f.origin));
    }
    out
}

/// A rule file of one group, serialized without copying the group.
#[derive(serde::Serialize)]
struct RuleFileRef<'a> {
    groups: [&'a Group; 1],
}

/// Every Prometheus rule file as the model `lower` serializes, so what reads the rules (routing
/// checks, `sightline route`) reads exactly what is written, without writing it; alerts linked
/// to `boards` (none, for a reader of their labels only: the labels do not depend on the
/// dashboards, and leaving them out is cheaper). The tests' series are made only `with_tests`.
pub fn files(stack: &Stack, boards: &ServiceBoards, with_tests: bool) -> Vec<File> {
    let mut out = Vec::new();
    if stack.component(crate::ir::defaults::NODE_EXPORTER.name).is_some() {
        let concrete = builtin::host_alerts(stack);
        let (group, tested) = builtin_group(stack, "host", &concrete, with_tests);
        emit(&mut out, "host", "/host".into(), group, tested);
    }
    for kind in Kind::ALL {
        let concrete = builtin::kind_alerts(stack, boards, kind);
        for (n, part) in apart(concrete).into_iter().enumerate() {
            let file = match n {
                0 => format!("services-{}", kind.as_str()),
                n => format!("services-{}-{}", kind.as_str(), n + 1),
            };
            let (group, tested) = builtin_group(stack, &file, &part, with_tests);
            let origin = super::services_part(part.iter().flat_map(|c| c.services.iter().map(String::as_str)), &[]);
            emit(&mut out, &file, origin, group, tested);
        }
    }
    let objectives = slo::shared(stack, boards);
    if !objectives.is_empty() {
        let mut group = Group { name: "slo".into(), rules: Vec::new() };
        let mut tested = Vec::new();
        for o in objectives.iter().map(|x| &x.objective) {
            for (record, expr) in slo::recording_rules(o) {
                group.rules.push(Rule::Record(RecordRule { record, expr, labels: BTreeMap::new() }));
            }
        }
        for slo::Shared { services, objective: o, alerts } in &objectives {
            for slo::BurnAlert { name, expr, severity, for_, factor, long, short } in alerts {
                let who = SERVICE_LABEL;
                let summary =
                    format!("{who}: {} error budget burning {}x too fast", o.kind, crate::kinds::alert::num(*factor));
                let description = format!(
                    "{who}'s {} objective ({}) is burning its error budget at more than {}x the sustainable rate over {long} and {short}; at this rate {} of the budget is gone within {long}.",
                    o.kind,
                    o.target_text,
                    crate::kinds::alert::num(*factor),
                    slo::WINDOWS
                        .iter()
                        .find(|w| w.0 == *long)
                        .map_or(String::new(), |w| format!("{}%", crate::kinds::alert::num(w.2 * 100.0)))
                );
                let rule = AlertRule {
                    services: services.iter().map(|s| s.name.to_string()).collect(),
                    alert: name.clone(),
                    expr: expr.clone(),
                    for_: Some(for_.to_string()),
                    // An objective's burn is the service failing its users: `operational`, so
                    // the routes that page for operational criticals page for fast burns too;
                    // the `slo` label says which objective.
                    labels: {
                        let mut l = alert_labels(stack, severity, "operational", None);
                        l.insert("slo".into(), o.kind.to_string());
                        l
                    },
                    annotations: alert_annotations(stack, name, Some(who), &summary, &description),
                };
                // Just above and just below the burn-rate limit.
                let limit = factor * (1.0 - o.target);
                if with_tests {
                    tested.push(Tested {
                        rule: rule.clone(),
                        kept: Vec::new(),
                        firing: (o.series)(limit * 1.1),
                        silent: (o.series)(limit * 0.9),
                    });
                }
                group.rules.push(Rule::Alert(rule));
            }
        }
        let origin =
            super::services_part(objectives.iter().flat_map(|x| &x.services).map(|s| s.name.as_str()), &["slo"]);
        // Burn-rate windows are long: evaluate after the longest `for` of the table.
        out.push(File {
            name: "slo".into(),
            origin,
            group,
            tested: with_tests.then_some(tested),
            eval_time: Some("4h"),
        });
    }
    let monitoring = monitoring::alerts(stack);
    let group =
        Group { name: "monitoring".into(), rules: monitoring.iter().map(|r| Rule::Alert(r.rule.clone())).collect() };
    emit(&mut out, "monitoring", "/observability".into(), group, with_tests.then_some(monitoring));
    let rules = backups::alerts(stack);
    if !rules.is_empty() {
        let group =
            Group { name: "backups".into(), rules: rules.iter().map(|r| Rule::Alert(r.rule.clone())).collect() };
        emit(&mut out, "backups", "/backups".into(), group, with_tests.then_some(rules));
    }
    let rules = jobs::alerts(stack);
    if !rules.is_empty() {
        let group = Group { name: "jobs".into(), rules: rules.iter().map(|r| Rule::Alert(r.rule.clone())).collect() };
        emit(&mut out, "jobs", "/jobs".into(), group, with_tests.then_some(rules));
    }
    if !stack.alerting.rules.is_empty() {
        let rules = stack
            .alerting
            .rules
            .iter()
            .map(|r| {
                let mut annotations = alert_annotations(
                    stack,
                    &r.alert,
                    r.service.as_ref().map(|s| s.as_str()),
                    &r.summary,
                    r.description.as_deref().unwrap_or(""),
                );
                if r.description.is_none() {
                    annotations.remove("description");
                }
                Rule::Alert(AlertRule {
                    services: Vec::new(),
                    alert: r.alert.clone(),
                    expr: r.expr.clone(),
                    for_: r.for_.as_ref().map(|f| f.canonical()),
                    labels: alert_labels(
                        stack,
                        r.severity.as_str(),
                        r.category.as_str(),
                        r.service.as_ref().map(|s| s.as_str()),
                    ),
                    annotations,
                })
            })
            .collect();
        emit(&mut out, "user", "/alerting/rules".into(), Group { name: "user".into(), rules }, None);
    }
    for f in &mut out {
        let rules = f.group.rules.iter_mut().filter_map(|r| match r {
            Rule::Alert(a) => Some(a),
            Rule::Record(_) => None,
        });
        link_dashboards(stack, boards, rules);
        for t in f.tested.iter_mut().flatten() {
            link_dashboards(stack, boards, [&mut t.rule]);
        }
    }
    out
}

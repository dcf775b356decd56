//! The routing tree: the manifest's first-match-wins routes become children of Alertmanager's
//! root route, and `to: [a, b]` becomes sibling routes with `continue: true` on all but the last.
//! The same tree is written to alertmanager.yml and walked by `sightline route`, with
//! Alertmanager's semantics, so what `route` prints is what Alertmanager does.

use crate::ir::Stack;
use crate::manifest::model::OneOrMany;
use std::collections::BTreeMap;

/// A label matcher: `name="value"`, or `name=~"a|b"` for a list (values are escaped).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Matcher {
    pub name: String,
    pub values: Vec<String>,
}

impl Matcher {
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let v = labels.get(&self.name).map(String::as_str).unwrap_or("");
        self.values.iter().any(|x| x == v)
    }

    /// The matcher in Alertmanager's syntax.
    pub fn render(&self) -> String {
        self.render_as(false)
    }

    /// The matcher that matches what this one does not (`!=`, `!~`).
    pub fn render_negated(&self) -> String {
        self.render_as(true)
    }

    fn render_as(&self, negated: bool) -> String {
        let (eq, re) = if negated { ("!=", "!~") } else { ("=", "=~") };
        match self.values.as_slice() {
            [one] => format!("{}{eq}\"{}\"", self.name, quote(one)),
            many => {
                let alternatives: Vec<String> =
                    many.iter().map(|v| crate::targets::promtail::pipeline::regex_escape(v)).collect();
                format!("{}{re}\"{}\"", self.name, quote(&alternatives.join("|")))
            }
        }
    }
}

/// Escape a value for a double-quoted matcher value.
fn quote(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

pub fn matchers(m: &indexmap::IndexMap<String, OneOrMany<String>>) -> Vec<Matcher> {
    m.iter().map(|(k, v)| Matcher { name: k.clone(), values: v.as_slice().to_vec() }).collect()
}

/// A node of the routing tree.
#[derive(Clone, Debug)]
pub struct Route {
    pub receiver: String,
    pub matchers: Vec<Matcher>,
    pub continue_: bool,
    pub group_wait: Option<String>,
    pub group_interval: Option<String>,
    pub repeat_interval: Option<String>,
    pub routes: Vec<Route>,
}

/// The always-firing alert of the dead man's switch.
pub const WATCHDOG: &str = "Watchdog";

/// The receiver of alerts no route matches when the manifest names none: it notifies nobody.
pub const BLACKHOLE: &str = "blackhole";

/// Build the tree from the stack.
pub fn tree(stack: &Stack) -> Route {
    let a = &stack.alerting;
    let mut children = Vec::new();
    // The dead man's switch first: the heartbeat service hears it every 5 minutes, and no
    // other receiver ever does.
    if let Some(h) = &a.heartbeat {
        children.push(Route {
            receiver: h.to_string(),
            matchers: vec![Matcher { name: "alertname".into(), values: vec![WATCHDOG.into()] }],
            continue_: false,
            group_wait: Some("0s".into()),
            group_interval: Some("1m".into()),
            repeat_interval: Some("5m".into()),
            routes: Vec::new(),
        });
    }
    for r in &a.routes {
        let to = r.to.as_slice();
        for (i, receiver) in to.iter().enumerate() {
            let last = i + 1 == to.len();
            children.push(Route {
                receiver: receiver.to_string(),
                matchers: matchers(&r.matchers),
                continue_: !last || r.continue_.unwrap_or(false),
                group_wait: r.group_wait.as_ref().map(|d| d.canonical()),
                group_interval: r.group_interval.as_ref().map(|d| d.canonical()),
                repeat_interval: r.repeat_interval.as_ref().map(|d| d.canonical()),
                routes: Vec::new(),
            });
        }
    }
    Route {
        receiver: a.default.as_ref().map_or(BLACKHOLE.to_string(), |d| d.to_string()),
        matchers: Vec::new(),
        continue_: false,
        group_wait: Some("30s".into()),
        group_interval: Some("5m".into()),
        repeat_interval: Some("4h".into()),
        routes: children,
    }
}

/// The receivers an alert with `labels` reaches, in order, as Alertmanager routes it: a route
/// that matches hands the alert to its first matching child and, while children have
/// `continue`, to the next ones; a route none of whose children match takes the alert itself.
pub fn receivers(root: &Route, labels: &BTreeMap<String, String>) -> Vec<String> {
    fn walk(r: &Route, labels: &BTreeMap<String, String>, out: &mut Vec<String>) {
        let mut matched = false;
        for child in &r.routes {
            if child.matchers.iter().all(|m| m.matches(labels)) {
                matched = true;
                walk(child, labels, out);
                if !child.continue_ {
                    break;
                }
            }
        }
        if !matched {
            out.push(r.receiver.clone());
        }
    }
    let mut out = Vec::new();
    walk(root, labels, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_become_escaped_regexes() {
        let m = Matcher { name: "service".into(), values: vec!["a.b".into(), "c".into()] };
        assert_eq!(m.render(), r#"service=~"a\\.b|c""#);
        let one = Matcher { name: "x".into(), values: vec!["say \"hi\"".into()] };
        assert_eq!(one.render(), r#"x="say \"hi\"""#);
    }
}

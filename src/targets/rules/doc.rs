//! `docs/alerts.md`: the reference of every built-in alert, generated from the catalogue and
//! the expressions the rule library really produces (for a FastAPI service named `api`, a
//! postgres service `db`, a mysql service `shopdb`, a redis service `cache`, a memcached service `sessions`, an nginx
//! service `proxy` with TLS, an haproxy service `lb`, a caddy service `web` with TLS, a
//! rabbitmq service `broker`, a traefik service `edge`, an elasticsearch service `search`, a
//! pgbouncer service `pooler` and a mongodb service `content`), with the kinds' metric catalogues and
//! the frameworks' and runtimes' defaults. A test keeps the committed file equal to this.

use super::{builtin, slo};
use crate::ir::Stack;

/// The markdown of `docs/alerts.md` for the reference stack.
pub fn render(stack: &Stack) -> String {
    let mut s = String::from(
        "# Built-in alerts\n\nGenerated from `src/kinds/`, `src/ir/catalog.rs` and `src/targets/rules/` by `UPDATE_DOCS=1 cargo test --test it alerts_doc`; a test fails when this file drifts. Expressions are shown for a FastAPI service `api` (and a Spring Boot service `orders`, for the alert only it has), a postgres service `db`, a mysql service `shopdb`, a redis service `cache`, a memcached service `sessions`, an nginx service `proxy` with TLS, an haproxy service `lb`, a caddy service `web` with TLS, a rabbitmq service `broker`, a traefik service `edge`, an elasticsearch service `search`, a pgbouncer service `pooler` and a mongodb service `content`. There is one rule per alert for all the services of a kind (`prometheus/rules/services-<kind>.yml`), selecting them by the `service_kind` label `prometheus.yml` gives every target of a service, so the number of rules grows with the kinds, not with the services. Thresholds, `for` and severity can be overridden per service under `alerts:` (an alert whose threshold reads `state` fires on a state and has none: a `threshold` on it is SL205), and `off` switches an alert off: services whose rule then reads differently (an override, other metric names, another dashboard) get a rule of their own that names them, and the kind's rule excludes them by name (`service!~\"...\"`), as it does the services without the alert's series. Every alert carries the labels `severity`, `category`, `service` (except host alerts), `stack` and `env`, and the annotations `summary`, `description`, `dashboard` (the service's dashboard with the service chosen) and, with `alerting.runbook_url`, `runbook_url`.\n\n",
    );
    s.push_str("| alert | category | severity | for | threshold | expression | threshold source |\n|---|---|---|---|---|---|---|\n");
    let mut rows: Vec<builtin::Concrete> = builtin::host_alerts(stack);
    let boards = crate::targets::grafana::dashboards::ServiceBoards::new(stack);
    for kind in crate::manifest::model::Kind::ALL {
        // One row an alert: the rule of the first service that has it (the reference's other
        // services are there for the alerts only they have).
        let mut shown: Vec<&str> = Vec::new();
        for c in builtin::kind_alerts(stack, &boards, kind) {
            if !shown.contains(&c.def.name) {
                shown.push(c.def.name);
                rows.push(c);
            }
        }
    }
    for c in rows {
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | `{}` | {} |\n",
            c.def.name,
            c.def.category,
            c.severity,
            c.for_,
            if c.def.state { "state" } else { c.threshold_text.as_str() },
            c.expr.replace('|', "\\|"),
            c.def.source
        ));
    }
    s.push_str("\n## The stack's own alerts\n\n`MonitoringTargetDown` (`prometheus/rules/monitoring.yml`) for each of the stack's own programs Prometheus scrapes; node-exporter has `HostDown`. With `backups:`, `prometheus/rules/backups.yml` holds one set per job; results are read with `last_over_time` over the job's stale window, so a node-exporter outage does not resolve a failure. Shown for a job `nightly` (daily at 02:00) of `db`. With `jobs:`, `prometheus/rules/jobs.yml` holds one set per batch job, read the same way; shown for a job `audit-cleanup` (daily at 03:30, at most 30m) of `api`. With `observability.prometheus.remote_write`, `PrometheusRemoteWriteFailing` and `PrometheusRemoteWriteBehind` watch each receiver's queue (`remote_name`), from Prometheus 3.13.5's `storage/remote` metrics; shown for a receiver `mimir`.\n\n| alert | severity | for | expression | what it means |\n|---|---|---|---|---|\n");
    let own = super::monitoring::alerts(stack)
        .into_iter()
        .chain(super::backups::alerts(stack))
        .chain(super::jobs::alerts(stack));
    for t in own {
        s.push_str(&format!(
            "| {} | {} | {} | `{}` | {} |\n",
            t.rule.alert,
            t.rule.labels["severity"],
            t.rule.for_.as_deref().unwrap_or("0m"),
            t.rule.expr.replace('|', "\\|"),
            t.rule.annotations["summary"]
        ));
    }
    s.push_str(&catalogues());
    s.push_str(&frameworks());
    s.push_str(&runtimes());
    s.push_str("\n## Log-based alerts\n\nEvaluated by Loki's ruler on the services' logs (`loki/rules/fake/services-<kind>.yml`, one rule per alert for the services of a kind whose rule reads the same, named in its stream selector) and sent to the same Alertmanager with the same labels. `ErrorLogSpike` reads the level the way the service's log format writes it (`| json`, `| logfmt`, or a line filter).\n\n| alert | category | severity | for | threshold | expression | threshold source |\n|---|---|---|---|---|---|---|\n");
    for kind in crate::manifest::model::Kind::ALL {
        let mut shown: Vec<String> = Vec::new();
        for r in crate::targets::loki::rules::kind_rules(stack, &boards, kind) {
            if shown.contains(&r.alert) {
                continue;
            }
            shown.push(r.alert.clone());
            let def = crate::kinds::builtin(kind, &r.alert).expect("log alerts are in the catalogue");
            s.push_str(&format!(
                "| {} | {} | {} | {} | {} | `{}` | {} |\n",
                r.alert,
                def.category,
                r.labels["severity"],
                r.for_.as_deref().unwrap_or("0m"),
                crate::kinds::alert::threshold_text(def.unit, def.threshold),
                r.expr.replace('|', "\\|"),
                def.source
            ));
        }
    }
    s.push_str("\n## SLO burn-rate alerts\n\nFor `slo.availability` and `slo.latency`, recording rules `sightline_slo:<kind>_errors:ratio_rate<window>` hold the ratio of bad events over each window, and four alerts per objective follow the multiwindow, multi-burn-rate table of the Google SRE workbook (\"Alerting on SLOs\"). An alert fires when both its long and its short window burn faster than `factor × (1 − objective)`, where `factor = budget share × SLO period / long window`; it is computed from the manifest's `slo.window` (default 30d), which gives 14.4, 6, 3 and 1 for 30 days. Fast burns page (`critical`), slow burns open a ticket (`warning`). They carry `category: operational` (a burning objective is the service failing its users, so the routes that page for operational criticals page for fast burns) and `slo: availability` or `slo: latency`, which routes can match to treat them apart.\n\n| alert | long window | short window | budget share | factor (30d) | severity | for |\n|---|---|---|---|---|---|---|\n");
    let period = crate::manifest::values::Duration::parse("30d").expect("valid");
    for (long, short, share, severity, for_) in slo::WINDOWS {
        s.push_str(&format!(
            "| `<Kind>BudgetBurn{long}` | {long} | {short} | {}% | {} | {severity} | {for_} |\n",
            crate::kinds::alert::num(share * 100.0),
            crate::kinds::alert::num(slo::factor(share, &period, long))
        ));
    }
    s.push_str("\nA latency objective (`p95: 500ms`) counts a request as bad when it is slower than the threshold, read from the duration histogram's bucket with that bound (`le`), so the threshold must be a bucket boundary of the service's histogram. The histogram's unit is read from its name (`_seconds`, or `_milliseconds` / `_ms`) and thresholds are converted.\n");
    s
}

/// Label names as a table cell: `a`, `b`; `none`.
fn labels(l: &[&str]) -> String {
    if l.is_empty() { "none".into() } else { l.iter().map(|x| format!("`{x}`")).collect::<Vec<_>>().join(", ") }
}

/// What each kind's exporter, or the service itself, exposes (`kinds::Catalogue`).
fn catalogues() -> String {
    let mut s = String::from(
        "\n## Exporter catalogues\n\nThe metrics each kind's rules and panels read, as its exporter (or, for haproxy, caddy, traefik and rabbitmq, the server itself) exposes them, with the labels they select or group by in braces (`src/kinds/`, each with the source it was read from; the rehearsal checks every one against the running exporter). A metric named with one of these prefixes that is not listed is checked against them (SL509).\n\n| kind | exposed by | metrics | behind an option |\n|---|---|---|---|\n",
    );
    for kind in crate::manifest::model::Kind::ALL {
        let Some(c) = crate::kinds::def(kind).catalogue.as_ref() else { continue };
        let cell = |names: &[&str]| -> String {
            let out: Vec<String> = names
                .iter()
                .map(|m| {
                    let l = c.labels_of(m);
                    if l.is_empty() { format!("`{m}`") } else { format!("`{m}{{{}}}`", l.join(",")) }
                })
                .collect();
            if out.is_empty() { "none".into() } else { out.join(", ") }
        };
        s.push_str(&format!("| {} | {} | {} | {} |\n", kind.as_str(), c.program, cell(c.metrics), cell(c.optional)));
    }
    s
}

/// What each runtime's library exports at its defaults (`ir::runtimes`).
fn runtimes() -> String {
    use crate::ir::runtimes::{facts, metrics};
    use crate::manifest::model::Runtime;
    let mut s = String::from(
        "\n## Runtime defaults\n\nAn `http` service with a `runtime` (python by default for fastapi, flask and django, node for fastify, jvm for spring) gets the process's and the runtime's panels and `FileDescriptorsNearLimit`, from the metrics its library exports at its defaults (`src/ir/runtimes.rs`; the rehearsal checks them against the running library), with their labels in braces.\n\n| runtime | library | metrics |\n|---|---|---|\n",
    );
    for r in Runtime::ALL {
        let names: Vec<String> = metrics(r)
            .map(|(m, l)| if l.is_empty() { format!("`{m}`") } else { format!("`{m}{{{}}}`", l.join(",")) })
            .collect();
        s.push_str(&format!("| {} | {} | {} |\n", r.as_str(), facts(r).library, names.join(", ")));
    }
    s.push_str("\nSources:\n\n");
    for r in Runtime::ALL {
        s.push_str(&format!("- {}: {}\n", r.as_str(), facts(r).source));
    }
    s
}

/// What each framework's instrumentation emits at its defaults, and what follows for alerts.
fn frameworks() -> String {
    use crate::ir::frameworks::{Requests, facts};
    use crate::manifest::model::{Framework, StatusCodes};
    let mut s = String::from(
        "\n## Framework defaults\n\nAn `http` service's alerts, objectives and panels read the metrics its framework's usual instrumentation library writes at its defaults (`src/ir/frameworks.rs`; the rehearsal checks them against the running library). `metric_names` overrides any of them. With grouped status codes (`4xx`), `AuthFailures` and `RateLimited` cannot be measured and are left out (asking for them is SL508). A `HighLatency` threshold at or above the top bucket is SL506; a latency objective between buckets is SL507.\n\n| framework | library | requests | duration histogram | buckets | status label | route label | requests labels | histogram labels |\n|---|---|---|---|---|---|---|---|---|\n",
    );
    for f in Framework::ALL {
        let x = facts(f);
        let requests = match x.requests {
            Requests::Counter(c) => format!("`{c}`"),
            Requests::DurationCount => format!("`{}_count`", x.duration),
        };
        // In full: Micrometer's bounds have nine decimals.
        let buckets: Vec<String> = x.buckets.iter().map(|b| b.to_string()).collect();
        s.push_str(&format!(
            "| {} | {} | {requests} | `{}` | {} | `{}` ({}) | {} | {} | {} |\n",
            serde_json::to_value(f).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default(),
            x.library,
            x.duration,
            buckets.join(", "),
            x.status_label,
            if x.status_codes == StatusCodes::Exact { "exact" } else { "grouped" },
            x.route_label.map_or("none".to_string(), |r| format!("`{r}`")),
            labels(x.request_labels),
            labels(x.duration_labels),
        ));
    }
    s.push_str("\nSources:\n\n");
    for f in Framework::ALL {
        let x = facts(f);
        s.push_str(&format!("- {}: {}\n", x.library, x.source));
    }
    for f in Framework::ALL {
        if let Some(set) = facts(f).histogram_setting {
            // The bounds a manifest duration (whole milliseconds) can name.
            let whole: Vec<String> = facts(f)
                .buckets
                .iter()
                .filter(|b| crate::ir::frameworks::whole_millis(**b))
                .map(|b| crate::ir::frameworks::bound_text(*b))
                .collect();
            s.push_str(&format!(
                "\n{library} writes the buckets above only with `{p}={v}`; without it the duration is a summary with no buckets, and `HighLatency` and a latency objective cannot fire. sightline sets `{e}={v}` on the container of a service it runs (`image`), and `DurationBucketsMissing` fires where the buckets are missing. Of these bounds a latency objective can name only {whole}: for another, add it to the histogram (`{b}`) and list the buckets in `metric_names.buckets`.\n",
                library = facts(f).library,
                p = set.property,
                v = set.value,
                e = set.env,
                whole = whole.join(" and "),
                b = set.bounds_property,
            ));
        }
    }
    s
}

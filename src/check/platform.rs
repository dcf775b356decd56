//! The platform a stack is built for. On Kubernetes: every object is named after the stack and
//! its services (SL901), every secret is a key of the stack's one Secret (SL902), what the
//! platform does not generate yet is said once (SL903), and each service's `kubernetes:` places
//! it somewhere (SL904) with names and labels Kubernetes takes (SL905); a web login the
//! operator cannot set is said where it is given (SL907), and a Prometheus or Alertmanager
//! version it cannot read is refused (SL908). On compose, nothing here applies.
//!
//! `places` runs with the other families, on the manifest; `check` on a manifest without
//! errors, on its lowered stack (the platform may come from the command line, not the
//! manifest).

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

/// An RFC 1035 label: a Service's name.
fn is_service_name(s: &str) -> bool {
    is_label(s) && s.starts_with(|c: char| c.is_ascii_lowercase())
}

/// An RFC 1123 subdomain: a label key's prefix.
fn is_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(is_label)
}

/// A label's name, or a value that is not empty: at most 63 letters, digits, `-`, `_` and `.`,
/// starting and ending with a letter or digit.
fn is_label_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.ends_with(|c: char| c.is_ascii_alphanumeric())
}

/// A label key: `[prefix/]name`.
fn is_label_key(k: &str) -> bool {
    match k.split_once('/') {
        Some((prefix, name)) => is_subdomain(prefix) && is_label_name(name),
        None => is_label_name(k),
    }
}

/// What each service's `kubernetes:` says, on Kubernetes (compose ignores it): a selector
/// that selects something and labels Kubernetes takes (SL905), and not both a Service and an
/// address (SL904).
pub fn places(ctx: &Ctx, sink: &mut Sink) {
    if ctx.platform != Platform::Kubernetes {
        return;
    }
    for (name, s) in &ctx.manifest.services {
        let Some(k) = &s.kubernetes else { continue };
        let at = |key: &str| ctx.value(["services", name.as_str(), "kubernetes", key]);
        // A celery worker listens on nothing: no Service, only its pods.
        if s.kind == crate::manifest::model::Kind::Celery {
            for (key, set) in [("service", k.service.is_some()), ("selector", k.selector.is_some())] {
                if set {
                    sink.push(
                        Diagnostic::error(Code::ServicePlace, format!("celery service `{name}` is behind no Service"))
                            .at(at(key))
                            .label("a celery worker listens on nothing")
                            .help("place its workers by `namespace` and `pods` (their pods' labels)"),
                    );
                }
            }
        }
        if k.address.is_some() {
            for (key, set) in [
                ("namespace", k.namespace.is_some()),
                ("service", k.service.is_some()),
                ("selector", k.selector.is_some()),
                ("pods", k.pods.is_some()),
                ("container", k.container.is_some()),
            ] {
                if set {
                    sink.push(
                        Diagnostic::error(
                            Code::ServicePlace,
                            format!("service `{name}` has both an address outside the cluster and a `{key}` inside it"),
                        )
                        .at(at(key))
                        .label("a Service's, in the cluster")
                        .help("keep `address` for a service outside the cluster, or drop it for one behind a Service"),
                    );
                }
            }
        }
        for (field, labels) in [("selector", &k.selector), ("pods", &k.pods)] {
            if let Some(labels) = labels {
                selects(ctx, sink, name.as_str(), field, labels);
            }
        }
    }
}

/// A service's `selector` (of its Service) or `pods` (of its pods): labels that select
/// something (SL904) and that Kubernetes takes (SL905).
fn selects(ctx: &Ctx, sink: &mut Sink, name: &str, field: &str, labels: &indexmap::IndexMap<String, String>) {
    if labels.is_empty() {
        let (every, own) = if field == "pods" { ("pod", "its pods") } else { ("Service", "its own Service") };
        sink.push(
            Diagnostic::error(Code::ServicePlace, format!("service `{name}`'s `{field}` selects every {every}"))
                .at(ctx.value(["services", name, "kubernetes", field]))
                .label("no labels")
                .help(format!(
                    "give the labels of {own}, e.g. `{{ app.kubernetes.io/name: {name} }}`, or its `address` outside the cluster"
                )),
        );
    }
    for (key, value) in labels {
        let what = if !is_label_key(key) {
            format!("`{key}` is not a label key")
        } else if !value.is_empty() && !is_label_name(value) {
            format!("`{value}` is not a label value")
        } else {
            continue;
        };
        sink.push(
            Diagnostic::error(Code::KubernetesLabel, format!("service `{name}`'s `{field}`: {what}"))
                .at(ctx.value(["services", name, "kubernetes", field, key.as_str()]))
                .label("not a Kubernetes label")
                .help("a label is `[prefix/]name: value`, names and values of at most 63 letters, digits, `-`, `_` and `.`, starting and ending with a letter or digit"),
        );
    }
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
    services(ctx, stack, sink);
    backups(ctx, stack, sink);
    shared_pods(ctx, stack, sink);
    secret_keys(ctx, stack, sink);
    not_lowered(ctx, stack, sink);
    web_auth(ctx, stack, sink);
    operator_versions(ctx, sink);
}

/// Whether the Prometheus Operator reads `v` as a version: blang/semver's `ParseTolerant`, step
/// for step (a `v` dropped, each of the first three `.` parts' leading zeros trimmed, a short
/// version without `-` or `+` padded with `.0`), then `Parse`: `MAJOR.MINOR.PATCH`, each a
/// number without leading zeros, then `-` pre-release identifiers (a number without leading
/// zeros, or letters, digits and `-`) and `+` build identifiers.
fn operator_reads(v: &str) -> bool {
    let v = v.trim();
    let v = v.strip_prefix('v').unwrap_or(v);
    let mut parts: Vec<String> = v
        .splitn(3, '.')
        .map(|p| {
            let trimmed = p.trim_start_matches('0');
            match p.len() > 1 {
                true if trimmed.starts_with(|c: char| c.is_ascii_digit()) => trimmed.to_string(),
                true => format!("0{trimmed}"),
                false => p.to_string(),
            }
        })
        .collect();
    if parts.len() < 3 {
        if parts.last().is_some_and(|p| p.contains(['+', '-'])) {
            return false;
        }
        parts.resize(3, "0".to_string());
    }
    let number = |p: &str| {
        !p.is_empty()
            && p.bytes().all(|b| b.is_ascii_digit())
            && !(p.len() > 1 && p.starts_with('0'))
            && p.parse::<u64>().is_ok()
    };
    let word = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    let (mut patch, mut pre, mut build) = (parts[2].as_str(), None, None);
    if let Some((p, b)) = patch.split_once('+') {
        (patch, build) = (p, Some(b));
    }
    if let Some((p, r)) = patch.split_once('-') {
        (patch, pre) = (p, Some(r));
    }
    let pre_ok =
        |r: &str| r.split('.').all(|id| if id.bytes().all(|b| b.is_ascii_digit()) { number(id) } else { word(id) });
    number(&parts[0])
        && number(&parts[1])
        && number(patch)
        && pre.is_none_or(pre_ok)
        && build.is_none_or(|b| b.split('.').all(word))
}

/// Prometheus's and Alertmanager's `version`, which the chart gives the operator as the
/// Prometheus's and Alertmanager's `spec.version` (their image's tag): one it cannot read
/// (`latest`, a branch name) is refused, and the operator then runs neither (SL908).
fn operator_versions(ctx: &Ctx, sink: &mut Sink) {
    let Some(obs) = &ctx.manifest.observability else { return };
    let operated = [crate::ir::defaults::PROMETHEUS.name, crate::ir::defaults::ALERTMANAGER.name];
    for (d, v) in super::images::versions(obs).into_iter().filter(|(d, _)| operated.contains(&d.name)) {
        let (name, default) = (d.name, d.version);
        let Some(v) = v.filter(|v| !operator_reads(&v.0)) else { continue };
        sink.push(
            Diagnostic::error(
                Code::OperatorVersion,
                format!("the Prometheus Operator cannot read {name}'s version `{}`", v.0),
            )
            .at(ctx.value(["observability", name, "version"]))
            .label("not a release number")
            .help(format!(
                "give the release, e.g. `{default}`, or leave `version` out for it, the one sightline is tested with"
            )),
        );
    }
}

/// A login on Prometheus's or Alertmanager's web endpoints, which the operator cannot set
/// (SL907): said where the manifest gives it.
fn web_auth(ctx: &Ctx, stack: &Stack, sink: &mut Sink) {
    let logins = [
        ("prometheus", "Prometheus", stack.prometheus_auth.is_some()),
        ("alertmanager", "Alertmanager", stack.alertmanager_auth.is_some()),
    ];
    for (key, program, _) in logins.into_iter().filter(|l| l.2) {
        sink.push(
            Diagnostic::note(
                Code::WebAuthNotSet,
                format!("no login on the cluster's {program}: the Prometheus Operator cannot set one"),
            )
            .at(ctx.value(["observability", key, "auth"]))
            .label("compose only")
            .help(format!(
                "the chart's {program} is a ClusterIP Service (its default), reached from inside the cluster; keep people out with `kubectl port-forward` or an Ingress that asks for a login, and pods with a NetworkPolicy (docs/kubernetes.md, \"Basic authentication\")"
            )),
        );
    }
}

/// The backups' CronJobs (`targets::kubernetes::backups`): names of at most 52 characters
/// (SL901), schedules the API server's cron parser takes (SL906).
fn backups(ctx: &Ctx, stack: &Stack, sink: &mut Sink) {
    let Some(b) = &stack.backups else { return };
    let restore_tested = crate::targets::backup::restore_tested(b);
    let mut schedules = Vec::new();
    for j in &b.jobs {
        // (The lowered jobs are those that run on Kubernetes: where each is in the manifest.)
        let index = ctx.manifest.backups.iter().flat_map(|b| &b.jobs).position(|m| m.name == j.name).unwrap_or(0);
        let at = |key: &str| ctx.value(["backups", "jobs", &index.to_string(), key]);
        // A CronJob's name is a DNS name of at most 52 characters (its Jobs' names add 11):
        // the job's, and its restore test's when it has one.
        let [backup, restore] = crate::targets::kubernetes::backups::cronjob_names(stack, j.name.as_str());
        let tested = b.restore_test.is_some() && restore_tested.iter().any(|t| t.name == j.name);
        let names = std::iter::once(backup).chain(tested.then_some(restore));
        if let Some(bad) = names.into_iter().find(|n| n.len() > 52 || !is_label(n)) {
            sink.push(
                Diagnostic::error(Code::PlatformName, format!("the backup job name `{}` cannot name its CronJob", j.name))
                    .at(at("name"))
                    .label(format!("its CronJob would be named `{bad}`, {} characters", bad.len()))
                    .help("a CronJob's name is lower-case letters, digits and `-`, at most 52 characters: rename the job (or shorten the stack's name)"),
            );
        }
        schedules.push((&j.schedule, at("schedule")));
    }
    if let Some(rt) = &b.restore_test {
        schedules.push((rt, ctx.value(["backups", "restore_test"])));
    }
    for (cron, at) in schedules {
        if let Some(why) = kubernetes_misreads(&cron.normalized()) {
            sink.push(
                Diagnostic::error(
                    Code::KubernetesSchedule,
                    format!("`{}`: Kubernetes reads this schedule otherwise", cron.normalized()),
                )
                .at(at)
                .label(why)
                .help("write Sunday as `0` or `sun`, and `*` for `*/1`: every cron reads those alike"),
            );
        }
    }
}

/// Why Kubernetes' cron parser (robfig/cron's standard one) reads a schedule otherwise than
/// cron does, if it does: it refuses a day of the week of 7 (cron's Sunday), and reads `*/1` in
/// the day of the month or week as `*` (which changes which of the two days a run needs). A
/// range that ends on `sun` after its start, which it would refuse too, no schedule has
/// (`Cron::parse`).
fn kubernetes_misreads(schedule: &str) -> Option<&'static str> {
    let fields: Vec<&str> = schedule.split_whitespace().collect();
    let day = |v: &str| -> Option<u32> {
        const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
        DAYS.iter().position(|d| d.eq_ignore_ascii_case(v)).map(|p| p as u32).or_else(|| v.parse().ok())
    };
    for part in fields.get(4)?.split(',') {
        let range = part.split('/').next().unwrap_or(part);
        let ends: Vec<Option<u32>> = range.split('-').map(day).collect();
        if ends.contains(&Some(7)) {
            return Some("a day of the week of 7, Sunday to cron: Kubernetes takes 0 to 6");
        }
    }
    // A part that starts with `*` at a step of 1 makes the field a wildcard to it (`*/1`,
    // `*/01`, `*/01`) where cron reads it as a list of days.
    let star = |f: &str| {
        f != "*" && f.split(',').any(|p| p == "*" || p.strip_prefix("*/").is_some_and(|s| s.parse::<u32>() == Ok(1)))
    };
    if fields[2..5].iter().step_by(2).any(|f| star(f)) {
        return Some(
            "`*/1` in the day of the month or week, which Kubernetes reads as `*`: the runs would not be cron's",
        );
    }
    None
}

/// Each service's objects can be named (SL901): `<stack>-<service>` (a ServiceMonitor,
/// ScrapeConfig or Probe, a name of up to 253 characters) needs a service name without `_`,
/// and its exporter's Service `<stack>-<service>-exporter` a name of at most 63; so does the
/// blackbox exporter's, `<stack>-blackbox-exporter`, said at the stack. And the Service a
/// service is behind unless `kubernetes.service` names it, after its `host` or its name, is a
/// Service's name (SL905).
fn services(ctx: &Ctx, stack: &Stack, sink: &mut Sink) {
    use crate::targets::kubernetes::object_name;
    // A stack name that cannot name objects is said once, above.
    if !is_label(stack.name.as_str()) {
        return;
    }
    if let Some(c) = stack.component(crate::ir::defaults::BLACKBOX_EXPORTER.name)
        && !is_service_name(&object_name(stack, &c.name))
    {
        sink.push(
            Diagnostic::error(
                Code::PlatformName,
                format!("the stack name `{}` is too long for the blackbox exporter's Service", stack.name),
            )
            .at(ctx.value(["stack"]))
            .label(format!("its Service would be named `{}`", object_name(stack, &c.name)))
            .help("a Kubernetes Service's name is at most 63 characters: shorten the stack's name"),
        );
    }
    for s in &stack.services {
        let exporter =
            crate::targets::kubernetes::exporters::exporter(stack, s).map(|(c, _)| object_name(stack, &c.name));
        // Its exporter's Service, and the init containers of the jobs before it (a container's
        // name is a label too: `<service>-query-stats`).
        let jobs = crate::targets::kubernetes::exporters::init_containers(stack, s);
        let too_long = exporter.as_ref().filter(|n| !is_service_name(n)).or(jobs.iter().find(|n| !is_label(n)));
        if !is_label(s.name.as_str()) || too_long.is_some() {
            let named = too_long.cloned().unwrap_or_else(|| object_name(stack, s.name.as_str()));
            sink.push(
                Diagnostic::error(Code::PlatformName, format!("the service name `{}` cannot name Kubernetes objects", s.name))
                    .at(ctx.key(["services", s.name.as_str()]))
                    .label(format!("its objects would be named `{named}`"))
                    .help("an object's name is lower-case letters, digits and `-`, and a Service's (its exporter's) or a container's (a job before it, `<service>-query-stats`) at most 63 characters: rename the service (or shorten the stack's name)"),
            );
        }
        // A kind not behind a Service of its own (celery: its workers listen on nothing).
        if s.kind == crate::manifest::model::Kind::Celery {
            continue;
        }
        let given =
            ctx.manifest.services.get(&s.name).and_then(|m| m.kubernetes.as_ref()).and_then(|k| k.service.as_ref());
        if let crate::ir::Place::Cluster { service, .. } = &s.place
            && given.is_none()
            && !is_service_name(service)
        {
            let from_host = ctx.manifest.services.get(&s.name).is_some_and(|m| m.host.is_some());
            let at = if from_host {
                ctx.value(["services", s.name.as_str(), "host"])
            } else {
                ctx.key(["services", s.name.as_str()])
            };
            sink.push(
                Diagnostic::error(
                    Code::KubernetesLabel,
                    format!(
                        "service `{}` would be behind the Service `{service}`, which is not a Service's name",
                        s.name
                    ),
                )
                .at(at)
                .label(if from_host { "its Service is named after its host" } else { "its Service is named after it" })
                .help(format!(
                    "name its Service: `kubernetes: {{ service: {} }}`",
                    service.to_ascii_lowercase().replace(['_', '.'], "-")
                )),
            );
        }
    }
}

/// A set of Kubernetes labels, as `ir::Place` holds them.
type Labels = Vec<(String, String)>;

/// No two services in the cluster read the same containers' logs (SL904): where one service's
/// pod labels are all among another's in the same namespace, every pod of the second is also
/// the first's, and Alloy would ship its lines twice, once as each, unless each names its own
/// `container`. The service to change is the wider one, whose labels select the other's pods.
fn shared_pods(ctx: &Ctx, stack: &Stack, sink: &mut Sink) {
    use crate::ir::Place;
    let placed: Vec<(&crate::ir::Service, &String, &Labels, &Option<String>)> = stack
        .services
        .iter()
        .filter_map(|s| match &s.place {
            Place::Cluster { namespace, pods, container, .. } => Some((s, namespace, pods, container)),
            Place::Outside { .. } => None,
        })
        .collect();
    let shown = |l: &Labels| {
        let l: Vec<String> =
            l.iter().map(|(k, v)| if v.is_empty() { format!("{k}: \"\"") } else { format!("{k}: {v}") }).collect();
        format!("{{ {} }}", l.join(", "))
    };
    for (i, (wide, namespace, labels, container)) in placed.iter().enumerate() {
        for (j, (narrow, n, their, theirs)) in placed.iter().enumerate() {
            let same = labels.len() == their.len() && labels.iter().all(|l| their.contains(l));
            // Equal sets are one pair, said once (at the later service).
            if i == j || n != namespace || !labels.iter().all(|l| their.contains(l)) || (same && j > i) {
                continue;
            }
            if let (Some(a), Some(b)) = (container, theirs)
                && a != b
            {
                continue;
            }
            let help = if same {
                format!(
                    "give `{}` or `{}` labels only its own pods have (`kubernetes: {{ pods: {{ ... }} }}`), or each its `container` when they share pods",
                    wide.name, narrow.name
                )
            } else {
                format!(
                    "give `{}` labels that `{}`'s pods do not have (`kubernetes: {{ pods: {{ ... }} }}`), or each its `container` when they share pods",
                    wide.name, narrow.name
                )
            };
            sink.push(
                Diagnostic::error(
                    Code::ServicePlace,
                    format!("the pods of service `{}` are also those of `{}`", narrow.name, wide.name),
                )
                .at(ctx.key(["services", wide.name.as_str()]))
                .label(format!("its pods, {} in `{namespace}`, are `{}`'s too", shown(labels), narrow.name))
                .help(format!("Alloy would ship their logs twice, as each service's; {help}")),
            );
        }
    }
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
    let mut parts = Vec::new();
    // Files on the compose host: Alloy's DaemonSet reads the pods' output.
    let quoted = |names: Vec<&str>| names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ");
    let files: Vec<&str> = stack
        .services
        .iter()
        .filter(|s| s.log_path.is_some() && s.place.in_cluster())
        .map(|s| s.name.as_str())
        .collect();
    if !files.is_empty() {
        parts.push(format!("the log files of {} (their pods' output is collected instead)", quoted(files)));
    }
    let sources: Vec<&str> = stack.logs.sources.iter().map(|s| s.name.as_str()).collect();
    if !sources.is_empty() {
        parts.push(format!("the compose host's log files ({})", quoted(sources)));
    }
    let outside: Vec<&str> = stack.services.iter().filter(|s| !s.place.in_cluster()).map(|s| s.name.as_str()).collect();
    if !outside.is_empty() {
        parts.push(format!("the logs of {}, outside the cluster", quoted(outside)));
    }
    for s in &stack.services {
        if crate::kinds::def(s.kind).exporter.is_some()
            && crate::targets::kubernetes::exporters::exporter(stack, s).is_none()
        {
            parts.push(format!(
                "the exporter of `{}` and its scrape (its image needs a shell to read the password's file)",
                s.name
            ));
        }
    }
    // (The lowered stack has left them out: `ir::lower_for`.)
    let run: Vec<&str> = stack.backups.iter().flat_map(|b| &b.jobs).map(|j| j.name.as_str()).collect();
    let backups_out: Vec<&str> = ctx
        .manifest
        .backups
        .iter()
        .flat_map(|b| &b.jobs)
        .map(|j| j.name.as_str())
        .filter(|n| !run.contains(n))
        .collect();
    if !backups_out.is_empty() {
        parts.push(format!(
            "the backup jobs {} (MySQL, encrypted or zstd: the CronJobs run the stock PostgreSQL image, which has no MySQL client, age or zstd; `kubernetes.backup_image`, an image built from compose's `backup/Dockerfile`, runs them)",
            quoted(backups_out)
        ));
    }
    // The Pushgateway's Service is reached in the cluster only (compose publishes it on the
    // host's loopback for the jobs of services outside the project).
    // (The lowered stack has left them out: `ir::lower_for`.)
    let jobs_outside: Vec<&str> = ctx
        .manifest
        .jobs
        .iter()
        .filter(|j| stack.services.iter().any(|s| s.name == j.service && !s.place.in_cluster()))
        .map(|j| j.name.as_str())
        .collect();
    if !jobs_outside.is_empty() {
        parts.push(format!(
            "a way in to the cluster's Pushgateway for the batch jobs of services outside it ({})",
            quoted(jobs_outside)
        ));
    }
    if parts.is_empty() {
        return;
    }
    sink.push(
        Diagnostic::note(Code::NotLowered, format!("not generated for kubernetes yet: {}", parts.join("; ")))
            .at(ctx.value(["stack"]))
            .label("built for kubernetes")
            .help("the rest of the stack is generated; docs/kubernetes.md says how each of these maps"),
    );
}

#[cfg(test)]
mod tests {
    use super::operator_reads;

    #[test]
    fn the_operator_reads_release_numbers_only() {
        // As blang/semver v4.0.0's ParseTolerant reads them (each case run through it).
        for v in [
            "3.5.0",
            "v3.5.0",
            "3.5",
            "3",
            "0.29.0-rc.1",
            "3.5.0+build.7",
            "3.05.0",
            "3.5.-rc",
            "3.5.+b",
            "3.5.0-rc-1",
            "00.1.2",
            "1.2.3-0a",
            "1.2.3-a.0",
            "1.2.3+00",
            "v3.13.5",
        ] {
            assert!(operator_reads(v), "{v}");
        }
        for v in [
            "latest",
            "main",
            "3.5.0.1",
            "3..0",
            "v",
            "3.5.x",
            "3.5.0-",
            "3.5.0-rc..1",
            "3.5-rc.1",
            "3-rc",
            "3.5+b",
            "3.5.0-rc.01",
            "3.5.0-01",
            "99999999999999999999.0.0",
        ] {
            assert!(!operator_reads(v), "{v}");
        }
    }
}

//! The alerts several kinds share: a target Prometheus cannot scrape, an exporter down, a
//! service its exporter cannot reach, a certificate about to expire, and error lines in the
//! logs.

use super::Run;
use super::alert::*;
use crate::ir::Service;
use crate::manifest::model::{
    LogFormat,
    Severity::{Critical, Warning},
};
use crate::manifest::values::SecretRef;

/// Prometheus cannot scrape the service itself.
pub const TARGET_DOWN: Builtin = state(b(
    "TargetDown",
    "operational",
    Critical,
    "2m",
    0.0,
    Unit::Count,
    "up == 0; the `for` of APA PrometheusTargetMissing, raised to 2m to ride out one restart",
));

/// Services scraped through an exporter: the exporter cannot be scraped. The service may be
/// fine, but none of its metric alerts can fire until the exporter is back; it inhibits nothing.
pub const EXPORTER_DOWN: Builtin = state(b(
    "ExporterDown",
    "operational",
    Warning,
    "2m",
    0.0,
    Unit::Count,
    "up == 0 for the service's exporter: APA PrometheusTargetMissing, for the exporter alone (the service's own state is the kind's Down alert)",
));

/// The healthcheck of a server scraped on its own metrics whose image has busybox `wget` (caddy,
/// traefik): a GET of its metrics, where the documented configuration serves them; none with
/// `metrics: false` (nothing says it serves them then).
pub fn wget_metrics(s: &Service) -> Option<Vec<String>> {
    let path = s.metrics_path.as_deref()?;
    let url = format!("http://127.0.0.1:{}{path}", s.metrics_port);
    Some(["CMD", "wget", "-q", "-O", "/dev/null", url.as_str()].map(String::from).to_vec())
}

/// An exporter's `up_expr` where its own success stays 1 when the service refuses it (it answers,
/// and the series its login would read go missing): 1 when `success` (by service) is 1 and
/// `present` has a series for the service, 0 when the exporter answers and either is not.
pub fn up_when_read(success: &str, present: &str) -> String {
    // In parentheses: `==` binds tighter than `or`.
    format!("(({success} and on (service) group by (service) ({present})) or 0 * {success})")
}

/// How an exporter's entrypoint puts the password's file into its variable.
pub enum PasswordAs {
    /// As it is (busybox `cat`; the shell drops trailing newlines).
    Raw,
    /// Percent-encoded, for an exporter that pastes it into a connection URL (its image's
    /// `python3`, reading bytes: whatever the locale; trailing newlines dropped as the shell
    /// drops them).
    UrlEncoded,
}

/// An exporter that reads a password only from a variable (`var`): its image's `sh` reads the
/// variable from the password secret's file (`file_var` names it) as `how` says, stops there,
/// saying so on its standard error (the container's log), when it cannot or the file is empty
/// (an exporter given no password skips its login without a word), and execs `program` (a
/// path, or a name its image's PATH finds) with the command's arguments. The entrypoint and
/// the file's variable; the caller adds its own variables and command (an entrypoint set in
/// compose drops the image's command).
pub fn password_from_file<'a>(
    (var, file_var): (&str, &'static str),
    how: PasswordAs,
    program: &str,
    password: &'a SecretRef,
) -> Run<'a> {
    let name = program.rsplit('/').next().unwrap_or(program);
    // The variable holds the password as the file does only when it is read raw.
    let raw = matches!(how, PasswordAs::Raw);
    let mut run = password_then((var, file_var), how, (name, program), &format!("export {var}"), password);
    run.password_var = raw.then(|| var.to_string());
    run
}

/// As [`password_from_file`], with `then` (shell text that reads the shell variable `var`,
/// which is not exported itself unless `then` says so) run before `program` (a command line of
/// the image's, named `name` in the message): an exporter that takes its password inside a
/// connection URL gets the URL in its own variable.
pub fn password_then<'a>(
    (var, file_var): (&str, &'static str),
    how: PasswordAs,
    (name, program): (&str, &str),
    then: &str,
    password: &'a SecretRef,
) -> Run<'a> {
    let read = match how {
        PasswordAs::Raw => format!("cat \"${file_var}\""),
        PasswordAs::UrlEncoded => format!(
            "python3 -c 'import sys, urllib.parse; sys.stdout.write(urllib.parse.quote(open(sys.argv[1], \"rb\").read().rstrip(b\"\\n\"), safe=\"\"))' \"${file_var}\""
        ),
    };
    let script = format!(
        "{var}=$({read}) && [ -n \"${var}\" ] || {{ echo \"{name}: no password in ${file_var}\" >&2; exit 1; }}; {then}; exec {program} \"$@\""
    );
    Run {
        entrypoint: vec!["/bin/sh".into(), "-c".into(), script, name.into()],
        env: vec![(file_var, super::Var::SecretFile(password))],
        ..Default::default()
    }
}

/// The entrypoint of an exporter that logs in with a service's optional `user` and `password`
/// (`KindDef::basic_login`): the user in `user_var`, the password through
/// [`password_from_file`]; nothing without a login (the image's own entrypoint).
pub fn exporter_login<'a>(
    login: Option<&'a crate::ir::Login>,
    user_var: &'static str,
    vars: (&str, &'static str),
    how: PasswordAs,
    program: &str,
) -> Run<'a> {
    let Some(login) = login else { return Run::default() };
    let mut run = password_from_file(vars, how, program, &login.password);
    run.env.insert(0, (user_var, super::Var::Value(login.user.clone())));
    run
}

/// With `tls: { domain }` (http and the front doors): the probed certificate expires soon.
pub const TLS_EXPIRING: Builtin = probed(
    |s| s.tls_domain.is_some(),
    b(
        "TlsCertificateExpiring",
        "security",
        Warning,
        "0m",
        14.0,
        Unit::Days,
        "certificate expires within 14 days: APA BlackboxSslCertificateWillExpireSoon (20d there; 14d still leaves two weekly renewal attempts)",
    ),
);

/// Every service's logs: a spike of error lines.
pub const ERROR_LOG_SPIKE: Builtin = log(b(
    "ErrorLogSpike",
    "operational",
    Warning,
    "5m",
    0.1,
    Unit::PerSecond,
    "more than 0.1 error, critical or fatal lines per second (6 a minute) for 5m: a quiet service logs errors rarely",
));

/// The container of an `http` or `generic` service the stack runs: checked on its `health`
/// path (`live`, else `ready`) with `wget` or `curl`, whichever its image has; nothing else to
/// set.
pub fn health_probe(s: &Service) -> Run<'_> {
    let healthcheck = s.health.as_ref().and_then(|h| h.live.as_ref().or(h.ready.as_ref())).map(|path| {
        // The URL as one shell word.
        let url = crate::targets::backup::sh_quote(&format!("http://127.0.0.1:{}{path}", s.port));
        vec!["CMD-SHELL".to_string(), format!("wget -q --spider {url} || curl -fsS -o /dev/null {url}")]
    });
    Run { healthcheck, ..Default::default() }
}

/// A proxy's 5xx responses (haproxy, caddy, traefik): which counter, and what part of the proxy
/// the alert is per.
pub struct ErrorShare<'a> {
    /// The proxy, as the description names it (`HAProxy`).
    pub program: &'static str,
    /// The counter of responses with a `code` label.
    pub metric: &'static str,
    /// More matchers of the counter's series (`,handler!="metrics"`), or none.
    pub filter: &'static str,
    /// The matcher of 5xx responses (`code="5xx"`, `code=~"5.."`).
    pub five: &'static str,
    /// The label of the part the share is per, and its name in words (`proxy`, `backend`), when
    /// it is per part; with the value the tests' series carry.
    pub part: Option<(&'static str, &'static str, &'static str)>,
    /// A series of the counter in the tests with the given code (`5xx`, `502`).
    pub series: &'a dyn Fn(&str) -> String,
    /// The codes of a bad and a good response, as the counter writes them.
    pub codes: (&'static str, &'static str),
}

/// `<Proxy>HighErrorRate`: a proxy's share of 5xx responses over 5m, by service and, where
/// it has one, by part (HAProxy's backend, Traefik's service).
pub fn error_share(r: &ServiceAlert, e: &ErrorShare) -> AlertText {
    let (sel, who, tt, t, for_) = (SELECTOR, WHO, r.tt.as_str(), r.t, r.for_);
    let (metric, filter, five, program) = (e.metric, e.filter, e.five, e.program);
    let by = e.part.map_or("service".to_string(), |(label, _, _)| format!("service, {label}"));
    let (summary, description) = match e.part {
        Some((label, noun, _)) => (
            format!("{who}: more than {tt} of {noun} {{{{ $labels.{label} }}}}'s responses are 5xx"),
            format!(
                "More than {tt} of the responses of {program} {who}'s {noun} {{{{ $labels.{label} }}}} have been 5xx for {for_}."
            ),
        ),
        None => (
            format!("{who}: more than {tt} of responses are 5xx"),
            format!("More than {tt} of the responses of {program} {who} have been 5xx for {for_}."),
        ),
    };
    let (bad, good) = ((e.series)(e.codes.0), (e.series)(e.codes.1));
    let mut text = AlertText::new(
        format!(
            "sum by ({by}) (rate({metric}{{{sel}{filter},{five}}}[5m])) / sum by ({by}) (rate({metric}{{{sel}{filter}}}[5m])) > {}",
            num(t)
        ),
        summary,
        description,
        ratio_series(&bad, &good, above(t)),
        ratio_series(&bad, &good, t / 2.0),
    );
    if let Some((label, _, value)) = e.part {
        text.kept.push((label.into(), value.into()));
    }
    text
}

/// A kind with no panels on a shared dashboard.
pub fn no_panels(_: &[&Service]) -> Vec<crate::targets::grafana::panels::Spec> {
    Vec::new()
}

/// `TargetDown`.
pub fn target_down(r: &ServiceAlert) -> AlertText {
    let (sel, who) = (SELECTOR, WHO);
    AlertText::new(
        format!("min by (service) (up{{{sel},probe=\"\"}}) == 0"),
        format!("{who} is down"),
        format!("Prometheus cannot scrape {who}: the service or its metrics endpoint is not answering."),
        vec![series(&r.svc("up", ""), "0x60")],
        vec![series(&r.svc("up", ""), "1x60")],
    )
}

/// The kind's own Down alert: its exporter answers, with `metric` at 0.
pub fn down(r: &ServiceAlert, metric: &str) -> AlertText {
    let (sel, who) = (SELECTOR, WHO);
    // Only the service's own state: when the exporter cannot be scraped, `{metric}` goes stale
    // and ExporterDown says so, without muting the service's alerts.
    AlertText::new(
        format!("min by (service) ({metric}{{{sel}}}) == 0"),
        format!("{who} is down"),
        format!("The exporter of {who} answers but cannot reach {who} ({metric} is 0)."),
        vec![series(&r.exp(metric, ""), "0x60")],
        vec![series(&r.exp(metric, ""), "1x60")],
    )
}

/// `ExporterDown`.
pub fn exporter_down(r: &ServiceAlert) -> AlertText {
    let (sel, who) = (SELECTOR, WHO);
    AlertText::new(
        // `up` of the exporter's job only: a TLS probe of the same service has its own.
        format!("min by (service) (up{{{sel},probe=\"\"}}) == 0"),
        format!("The exporter of {who} is down"),
        format!(
            "Prometheus cannot scrape the exporter of {who}; {who} may be fine, but its metric alerts cannot fire until the exporter is back."
        ),
        vec![series(&r.exp("up", ""), "0x60")],
        vec![series(&r.exp("up", ""), "1x60")],
    )
}

/// `TlsCertificateExpiring`, from the blackbox probe of the service's certificate.
pub fn tls_expiring(r: &ServiceAlert) -> AlertText {
    let (sel, who, tt, t, s) = (SELECTOR, WHO, &r.tt, r.t, r.s);
    let (name, kind) = (s.name.as_str(), s.kind.as_str());
    let instance = format!("https://{}", s.tls_domain.as_deref().unwrap_or(name));
    let probe = format!(
        "probe_ssl_earliest_cert_expiry{{job=\"{name}-tls\",instance=\"{instance}\",service_kind=\"{kind}\",probe=\"tls\",service=\"{name}\"}}"
    );
    // The expiry is a timestamp; the tests evaluate at `for` + 10m, where `time()` is that.
    let eval = crate::manifest::values::Duration::parse(r.for_).map_or(0, |d| d.millis() / 1000) + 600;
    let at = |days: f64| num(eval as f64 + days * 86_400.0);
    let mut text = AlertText::new(
        format!(
            "min by (service, instance) (probe_ssl_earliest_cert_expiry{{{sel},probe=\"tls\"}} - time()) / 86400 < {}",
            num(t)
        ),
        format!("{who}: TLS certificate expires within {tt}"),
        format!("The certificate of {{{{ $labels.instance }}}} expires in less than {tt}; renew it."),
        vec![series(&probe, &format!("{}x60", at(t / 2.0)))],
        vec![series(&probe, &format!("{}x60", at(t * 2.0 + 1.0)))],
    );
    text.kept.push(("instance".to_string(), instance));
    text
}

/// Lines at error level or worse from the streams `sel` selects, in the service's log format.
pub fn error_lines(sel: &str, format: LogFormat) -> String {
    let levels = "(?i)(err|error|crit|critical|fatal|panic|emerg|alert)";
    match format {
        LogFormat::Json => format!("{sel} | json | level=~`{levels}`"),
        LogFormat::Logfmt => format!("{sel} | logfmt | level=~`{levels}`"),
        LogFormat::Postgres => format!("{sel} |~ `(ERROR|FATAL|PANIC):`"),
        // The server's `[ERROR]` lines and the images' entrypoint's (`[ERROR] [Entrypoint]: …`).
        LogFormat::Mysql => format!("{sel} |~ `^\\d{{4}}-\\d{{2}}-\\d{{2}}[ T][^\\[]*\\[ERROR\\] `"),
        LogFormat::Nginx => format!("{sel} |~ `\\[(error|crit|alert|emerg)\\]`"),
        // HAProxy's own messages at its worst level on standard error (`[ALERT]    (7) : backend
        // 'app' has no server available!`; it prints ALERT, WARNING, NOTICE and DIAG there).
        LogFormat::Haproxy => format!("{sel} |~ `^\\[ALERT\\]`"),
        // Every line of a message carries its level (RabbitMQ 3.10 and 4.x).
        LogFormat::Rabbitmq => format!("{sel} |~ `^\\S+ \\S+ \\[(error|critical|alert|emergency)\\] `"),
        // Elasticsearch's JSON lines (8.x and later `"log.level":"ERROR"`, 7.x `"level"`) and
        // OpenSearch's (`[…][ERROR][o.o.x.Y] …`), at log4j's two worst levels.
        LogFormat::Elasticsearch => {
            format!("{sel} |~ `\"(log\\.)?level\": ?\"(ERROR|FATAL)|^\\[[^\\]]+\\]\\[(ERROR|FATAL) *\\]`")
        }
        // PgBouncer's two worst levels (a client's failed login is an ERROR line).
        LogFormat::Pgbouncer => format!("{sel} |~ `^\\S+ \\S+ \\S+ \\[\\d+\\] (ERROR|FATAL) `"),
        // MongoDB's two worst severities (`F` fatal, `E` error), in the field its lines open with.
        LogFormat::Mongodb => format!("{sel} |~ `^\\{{\"t\":\\{{[^}}]*\\}}, *\"s\":\"[FE]\"`"),
        // Celery's worker lines at its two worst levels (a task that raised is an ERROR line,
        // its traceback joined to it).
        LogFormat::Celery => format!("{sel} |~ `^\\[\\d{{4}}-\\d{{2}}-\\d{{2}} [\\d:,]+: (ERROR|CRITICAL)/`"),
        LogFormat::Syslog | LogFormat::Plain => format!("{sel} |~ `(?i)\\b(error|critical|fatal|panic)\\b`"),
    }
}

/// `ErrorLogSpike`, every kind's log alert.
pub fn error_log_spike(r: &ServiceAlert) -> LogText {
    let (sel, who, tt) = (SELECTOR, WHO, &r.tt);
    LogText {
        expr: format!("sum by (service) (rate({} [5m])) > {}", error_lines(sel, r.s.log_format), num(r.t)),
        summary: format!("{who}: error log lines above {tt}"),
        description: format!("{who} has logged more than {tt} lines at error level or worse for 5 minutes."),
    }
}

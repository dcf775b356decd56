//! Log pipelines, shared by Promtail and Alloy: per log format, the stages that parse a line
//! and the labels they promote; and the redaction expressions that mask secrets before a line
//! leaves the host. Expressions are Go RE2 syntax (Promtail and Alloy are Go programs).

use crate::ir::{Service, Stack};
use crate::manifest::model::LogFormat;

/// Services whose logs come from their container's output (through Docker discovery).
pub fn container_services(stack: &Stack) -> Vec<&Service> {
    stack.services.iter().filter(|s| s.log_path.is_none()).collect()
}

/// Host files read directly: services with `logs.path`, then `logs.sources`, as
/// (name, path, format, labels to promote).
pub fn file_jobs(stack: &Stack) -> Vec<(String, String, LogFormat, Vec<String>)> {
    stack
        .services
        .iter()
        .filter_map(|s| {
            s.log_path.as_ref().map(|p| (s.name.to_string(), p.clone(), s.log_format, s.log_labels.clone()))
        })
        .chain(
            stack.logs.sources.iter().map(|src| {
                (src.name.to_string(), src.path.clone(), src.format.unwrap_or(LogFormat::Plain), Vec::new())
            }),
        )
        .collect()
}

/// One parsing step of a pipeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Parse JSON, extracting these fields.
    Json(Vec<String>),
    /// Parse logfmt, extracting these fields.
    Logfmt(Vec<String>),
    /// Extract named groups with a regular expression (lines that do not match pass unchanged).
    Regex(String),
    /// Join continuation lines to the line matching `firstline`.
    Multiline(String),
    /// Promote extracted fields to labels.
    Labels(Vec<String>),
}

/// nginx's `combined` access-log format.
pub const NGINX_ACCESS: &str = r#"^(?P<remote_addr>\S+) \S+ (?P<remote_user>\S+) \[(?P<time_local>[^\]]+)\] "(?P<method>[A-Z]+) (?P<path>\S+) (?P<protocol>[^"]+)" (?P<status>\d{3}) (?P<body_bytes_sent>\d+|-)"#;
/// nginx's error log: `2024/05/01 12:00:00 [error] 7#7: *1 message`.
pub const NGINX_ERROR: &str = r"^(?P<time>\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}) \[(?P<level>[a-z]+)\]";
/// HAProxy's `option httplog` line: `10.0.0.1:53422 [03/Dec/2026:21:40:27.224] fe_main be_app/app1
/// 0/0/1/2/3 200 217 - - ---- 1/1/0/0/0 0/0 "GET / HTTP/1.1"` (a `<NOSRV>` server when none was
/// available; read off HAProxy 2.6's output in the rehearsal).
pub const HAPROXY_HTTP: &str = r"^(?P<client>\S+):\d+ \[(?P<time>[^\]]+)\] (?P<frontend>\S+) (?P<backend>[^/\s]+)/(?P<server>\S+) \S+ (?P<status>-?\d+) ";
/// HAProxy's own messages on its standard error: `[WARNING]  (4424) : Server be_app/app1 is DOWN…`.
pub const HAPROXY_MESSAGE: &str = r"^\[(?P<level>[A-Z]+)\] +\((?P<pid>\d+)\) : ";
/// RabbitMQ's lines (3.10 as Debian's wrote them, 4.x the same: `rabbit_logger_text_fmt`), each
/// line of a message with the prefix: `2026-12-04 04:04:56.257114+00:00 [warning] <0.288.0> …`.
pub const RABBITMQ_LINE: &str =
    r"^(?P<time>\d{4}-\d{2}-\d{2} [\d:.]+[+-]\d{2}:\d{2}) \[(?P<level>[a-z]+)\] <(?P<pid>[^>]+)> ";
/// MySQL's and MariaDB's error log, and their images' entrypoint's lines: `2026-12-04  9:12:01 0
/// [Warning] …` (MariaDB, the hour padded with a space), `2026-12-04T09:12:01.123456Z 0 [Warning]
/// [MY-010055] [Server] …` (MySQL 8), `2026-12-04 09:12:01+00:00 [Note] [Entrypoint]: …`.
pub const MYSQL_LINE: &str =
    r"^(?P<time>\d{4}-\d{2}-\d{2}[ T] ?[\d:.]+(Z|[+-]\d{2}:\d{2})?) (?P<thread>\d+ )?\[(?P<level>[A-Za-z]+)\] ";
/// Elasticsearch's JSON lines, 8.x and later (`{"@timestamp":"…", "log.level": "WARN", …}`:
/// ecs-logging pads the level to five characters with the space before it, so
/// `"log.level":"ERROR"`) and 7.x (`{"type": "server", "timestamp": "…", "level": "WARN", …}`), as
/// its image writes them.
pub const ELASTICSEARCH_JSON: &str = r#""(?:log\.)?level": ?"(?P<level>[A-Z]+)"#;
/// OpenSearch's lines (its image's log4j2 pattern `[%d{ISO8601}][%-5p][%-25c{1.}] …`):
/// `[2026-12-04T09:12:01,123][WARN ][o.o.n.Node               ] [node-1] …`.
pub const OPENSEARCH_LINE: &str = r"^\[(?P<time>[^\]]+)\]\[(?P<level>[A-Z]+) *\]";
/// PgBouncer's lines, to its log file or standard error alike (1.18's `log_generic` in
/// libusual: time with milliseconds and zone, pid, level, message; read off PgBouncer 1.18 in the
/// rehearsal): `2026-12-04 18:30:02.222 UTC [15361] ERROR C-0x55798388f6c0: app/app@127.0.0.1:44906
/// password authentication failed`. Levels: FATAL, ERROR, WARNING, LOG, DEBUG, NOISE.
pub const PGBOUNCER_LINE: &str = r"^(?P<time>\d{4}-\d{2}-\d{2} [\d:.]+ \S+) \[(?P<pid>\d+)\] (?P<level>[A-Z]+) ";
/// MongoDB's structured log (4.4 and later: one JSON object a line, its severity in `s`: `F`,
/// `E`, `W`, `I`, `D1` to `D5`; mongod pads the fields after it with spaces):
/// `{"t":{"$date":"2026-12-04T21:38:14.155+00:00"},"s":"I",  "c":"NETWORK",  "id":22943,   …}`.
pub const MONGODB_JSON: &str = r#"^\{"t":\{"\$date":"(?P<time>[^"]+)"\},\s*"s":"(?P<level>[A-Z]\d?)""#;
/// Celery's worker lines (its default `worker_log_format` and `worker_task_log_format`,
/// `[%(asctime)s: %(levelname)s/%(processName)s] …`; read off celery 5.5.2's worker in the
/// rehearsal): `[2026-12-05 00:44:42,765: ERROR/ForkPoolWorker-1] Task tasks.fail[…] raised
/// unexpected: ValueError('boom')`, the traceback on the lines after it.
pub const CELERY_FIRSTLINE: &str = r"^\[\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3}: ";
pub const CELERY_LINE: &str = r"^\[(?P<time>\d{4}-\d{2}-\d{2} [\d:,]+): (?P<level>[A-Z]+)/(?P<process>[^\]]+)\] ";
/// PostgreSQL with the docker image's `log_line_prefix` (`%m [%p] `).
pub const POSTGRES_FIRSTLINE: &str = r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}";
pub const POSTGRES_LINE: &str = r"^(?P<time>\d{4}-\d{2}-\d{2} [\d:.]+ \S+) \[(?P<pid>\d+)\] (?P<level>[A-Z]+\d?):";
/// RFC 3164 syslog as written to /var/log/syslog.
pub const SYSLOG_LINE: &str = r"^(?P<time>\w{3} +\d+ [\d:]+) (?P<host>\S+) (?P<program>[^:\[\s]+)(\[(?P<pid>\d+)\])?: ";

/// The stages of a format. `labels` are the manifest's `logs.labels`; `level` is always
/// promoted where the format has one (a handful of values: safe as a label).
pub fn stages(format: LogFormat, labels: &[String]) -> Vec<Stage> {
    let mut promote: Vec<String> = vec!["level".to_string()];
    promote.extend(labels.iter().filter(|l| l.as_str() != "level").cloned());
    match format {
        LogFormat::Json => vec![Stage::Json(promote.clone()), Stage::Labels(promote)],
        LogFormat::Logfmt => vec![Stage::Logfmt(promote.clone()), Stage::Labels(promote)],
        LogFormat::Nginx => vec![
            Stage::Regex(NGINX_ACCESS.to_string()),
            Stage::Regex(NGINX_ERROR.to_string()),
            Stage::Labels(vec!["method".into(), "level".into()]),
        ],
        LogFormat::Haproxy => vec![
            Stage::Regex(HAPROXY_HTTP.to_string()),
            Stage::Regex(HAPROXY_MESSAGE.to_string()),
            Stage::Labels(vec!["backend".into(), "level".into()]),
        ],
        LogFormat::Rabbitmq => vec![Stage::Regex(RABBITMQ_LINE.to_string()), Stage::Labels(vec!["level".into()])],
        LogFormat::Mysql => vec![Stage::Regex(MYSQL_LINE.to_string()), Stage::Labels(vec!["level".into()])],
        LogFormat::Elasticsearch => vec![
            Stage::Regex(ELASTICSEARCH_JSON.to_string()),
            Stage::Regex(OPENSEARCH_LINE.to_string()),
            Stage::Labels(vec!["level".into()]),
        ],
        LogFormat::Pgbouncer => vec![Stage::Regex(PGBOUNCER_LINE.to_string()), Stage::Labels(vec!["level".into()])],
        LogFormat::Mongodb => vec![Stage::Regex(MONGODB_JSON.to_string()), Stage::Labels(vec!["level".into()])],
        LogFormat::Celery => vec![
            Stage::Multiline(CELERY_FIRSTLINE.to_string()),
            Stage::Regex(CELERY_LINE.to_string()),
            Stage::Labels(vec!["level".into()]),
        ],
        LogFormat::Postgres => vec![
            Stage::Multiline(POSTGRES_FIRSTLINE.to_string()),
            Stage::Regex(POSTGRES_LINE.to_string()),
            Stage::Labels(vec!["level".into()]),
        ],
        LogFormat::Syslog => vec![Stage::Regex(SYSLOG_LINE.to_string())],
        LogFormat::Plain => Vec::new(),
    }
}

/// A literal as an RE2 expression: metacharacters escaped.
pub fn regex_escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if ".+*?()|[]{}^$\\".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// For every redacted key, expressions whose first capture group is the secret value, in the
/// three forms a line carries it: JSON (`"key": "value"`), logfmt (`key=value` or
/// `key="value"`) and header-like (`Key: value` to the end of the line).
pub fn redactions(keys: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for k in keys {
        let k = regex_escape(k);
        out.push(format!(r#"(?i)"{k}"\s*:\s*"((?:[^"\\]|\\.)*)""#));
        out.push(format!(r#"(?i)(?:^|[\s,;&?])\b{k}=("[^"]*"|[^\s,;&]+)"#));
        out.push(format!(r"(?i)(?:^|[\s,;{{])\b{k}:[ \t]*([^\r\n]+)"));
    }
    out
}

/// What masked values are replaced with.
pub const MASK: &str = "****";

//! promtail-config.yml, for every example and every manifest under `tests/fixtures/ok/`:
//! - there is no upstream schema for Promtail, so the file is read into a strict model of the
//!   fields sightline uses, written from Promtail's configuration reference (unknown fields are
//!   refused, so a misspelt key fails);
//! - every service is collected, with a pipeline for its format;
//! - the generated redaction expressions, run with RE2-compatible semantics (the `regex`
//!   crate), mask every redacted key in JSON, logfmt and header form and keep the rest.

// The model's fields are read by serde to refuse unknown keys and wrong types; not every one
// is asserted on afterwards.
#![allow(dead_code)]

use crate::prometheus::manifests;
use crate::support::build_into_tempdir;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    server: Server,
    positions: Positions,
    clients: Vec<Client>,
    scrape_configs: Vec<ScrapeConfig>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Server {
    http_listen_port: u16,
    grpc_listen_port: u16,
    log_level: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Positions {
    filename: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Client {
    url: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScrapeConfig {
    job_name: String,
    #[serde(default)]
    docker_sd_configs: Vec<DockerSd>,
    #[serde(default)]
    static_configs: Vec<StaticConfig>,
    #[serde(default)]
    relabel_configs: Vec<Relabel>,
    #[serde(default)]
    pipeline_stages: Vec<StageDef>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DockerSd {
    host: String,
    refresh_interval: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StaticConfig {
    targets: Vec<String>,
    labels: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Relabel {
    #[serde(default)]
    source_labels: Vec<String>,
    regex: Option<String>,
    action: Option<String>,
    target_label: Option<String>,
    replacement: Option<String>,
}

/// A pipeline stage: exactly one of the stage kinds Promtail documents (of those used).
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "lowercase")]
enum StageDef {
    Replace { expression: String, replace: String },
    Json { expressions: BTreeMap<String, String> },
    Logfmt { mapping: BTreeMap<String, String> },
    Regex { expression: String },
    Multiline { firstline: String, max_wait_time: String },
    Labels(BTreeMap<String, Option<String>>),
    Match { selector: String, stages: Vec<StageDef> },
}

fn config(m: &std::path::Path) -> Option<(Config, sightline::ir::Stack)> {
    let checked = sightline::check(&m.to_string_lossy(), &std::fs::read(m).unwrap());
    let stack = sightline::ir::lower(checked.manifest.as_ref().unwrap(), "m");
    let dir = build_into_tempdir(m);
    let text = std::fs::read_to_string(dir.path().join("promtail/promtail-config.yml")).ok()?;
    let c: Config = serde_saphyr::from_str(&text)
        .unwrap_or_else(|e| panic!("{}: not a Promtail config this model knows: {e}", m.display()));
    Some((c, stack))
}

#[test]
fn the_config_fits_the_strict_model_and_collects_every_service() {
    let mut seen = 0;
    for m in manifests() {
        let Some((c, stack)) = config(&m) else { continue };
        seen += 1;
        assert_eq!(c.clients[0].url, "http://loki:3100/loki/api/v1/push");
        assert!(c.positions.filename.starts_with("/var/lib/promtail/"), "positions on the volume");
        assert!(c.server.http_listen_port > 0 && c.server.grpc_listen_port == 0 && c.server.log_level == "info");
        for s in &stack.services {
            let collected = match &s.log_path {
                Some(p) => c.scrape_configs.iter().any(|j| {
                    j.static_configs.iter().any(|sc| {
                        sc.labels.get("__path__") == Some(p) && sc.labels.get("service") == Some(&s.name.to_string())
                    })
                }),
                None => c.scrape_configs.iter().any(|j| {
                    !j.docker_sd_configs.is_empty()
                        && j.relabel_configs.iter().any(|r| {
                            r.action.as_deref() == Some("keep")
                                && r.regex.as_deref().is_some_and(|re| re.split('|').any(|n| n == s.name.as_str()))
                        })
                }),
            };
            assert!(collected, "{}: service {} is not collected", m.display(), s.name);
            let expected = sightline::targets::promtail::pipeline::stages(s.log_format, &s.log_labels);
            if !expected.is_empty() && s.log_path.is_none() {
                let has_match = c.scrape_configs.iter().flat_map(|j| &j.pipeline_stages).any(|st| matches!(st, StageDef::Match { selector, stages } if *selector == format!("{{service=\"{}\"}}", s.name) && stages.len() == expected.len()));
                assert!(has_match, "{}: no pipeline for {} ({:?})", m.display(), s.name, s.log_format);
            }
        }
        for j in &c.scrape_configs {
            for l in ["stack", "env"] {
                let set =
                    j.relabel_configs.iter().any(|r| r.target_label.as_deref() == Some(l) && r.replacement.is_some())
                        || j.static_configs.iter().all(|sc| sc.labels.contains_key(l));
                assert!(set, "{}: job {} lacks the {l} label", m.display(), j.job_name);
            }
            for d in &j.docker_sd_configs {
                // The socket proxy's API, as compose names it (never the socket itself).
                assert_eq!(d.host, "tcp://docker-socket-proxy:2375");
                assert!(stack.component("docker-socket-proxy").is_some(), "{}: no socket proxy", m.display());
                assert!(!d.refresh_interval.is_empty());
            }
            for sc in &j.static_configs {
                assert_eq!(sc.targets, vec!["localhost"]);
            }
        }
    }
    assert!(seen >= 1, "no manifest uses the Promtail collector");
}

/// Apply a Promtail `replace` stage: every match's first capture group becomes the mask.
fn apply(expression: &str, mask: &str, line: &str) -> String {
    let re = regex::Regex::new(expression).unwrap_or_else(|e| panic!("not RE2-compatible: {expression}: {e}"));
    let mut out = String::new();
    let mut last = 0;
    for caps in re.captures_iter(line) {
        if let Some(g) = caps.get(1) {
            out.push_str(&line[last..g.start()]);
            out.push_str(mask);
            last = g.end();
        }
    }
    out.push_str(&line[last..]);
    out
}

fn replace_stages(stages: &[StageDef]) -> Vec<(String, String)> {
    stages
        .iter()
        .filter_map(|s| match s {
            StageDef::Replace { expression, replace } => Some((expression.clone(), replace.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn redaction_masks_every_key_in_every_form_and_keeps_the_rest() {
    for m in manifests() {
        let Some((c, stack)) = config(&m) else { continue };
        for job in &c.scrape_configs {
            let replaces = replace_stages(&job.pipeline_stages);
            assert!(!replaces.is_empty(), "{}: job {} has no redaction", m.display(), job.job_name);
            let run = |line: &str| replaces.iter().fold(line.to_string(), |l, (e, r)| apply(e, r, &l));
            for key in &stack.logs.redact {
                let upper = key.to_uppercase();
                let cases = [
                    (
                        format!(r#"{{"user":"bob","{key}":"s3cr3t-value","status":200}}"#),
                        vec![r#""user":"bob""#, r#""status":200"#],
                    ),
                    (format!(r#"{{"{upper}": "s3cr3t-value", "path": "/login"}}"#), vec![r#""path": "/login""#]),
                    (
                        format!("level=info user=bob {key}=s3cr3t-value path=/login"),
                        vec!["level=info user=bob", "path=/login"],
                    ),
                    (
                        format!(r#"msg="login" {key}="s3cr3t-value with spaces" ok=true"#),
                        vec![r#"msg="login""#, "ok=true"],
                    ),
                    (format!("{key}: s3cr3t-value"), vec![]),
                    (format!("GET /x HTTP/1.1 {upper}: Bearer s3cr3t-value"), vec!["GET /x HTTP/1.1"]),
                ];
                for (line, kept) in cases {
                    let out = run(&line);
                    assert!(!out.contains("s3cr3t"), "{}: `{key}` leaks in {line:?} -> {out:?}", m.display());
                    assert!(out.contains("****"), "{out}");
                    for k in kept {
                        assert!(
                            out.contains(k),
                            "{}: redaction of `{key}` removed {k:?} from {line:?} -> {out:?}",
                            m.display()
                        );
                    }
                }
            }
            // Lines without a redacted key pass unchanged.
            let plain = r#"{"user":"bob","path":"/login","passwordless":true} level=info tokenizer=on"#;
            assert_eq!(run(plain), plain, "{}", m.display());
        }
    }
}

#[test]
fn format_expressions_parse_sample_lines() {
    use sightline::targets::promtail::pipeline as p;
    let caps = |re: &str, line: &str| {
        regex::Regex::new(re).unwrap().captures(line).map(|c| c.iter().flatten().count()).unwrap_or(0)
    };
    assert!(
        caps(
            p::NGINX_ACCESS,
            r#"203.0.113.9 - - [01/May/2024:12:00:00 +0000] "GET /api/v1/items?x=1 HTTP/1.1" 502 157 "-" "curl/8.0""#
        ) > 5
    );
    assert!(caps(p::NGINX_ERROR, "2024/05/01 12:00:00 [error] 7#7: *1 connect() failed") > 1);
    let pg = "2024-05-01 12:00:00.123 UTC [42] FATAL:  password authentication failed for user \"app\"";
    let c = regex::Regex::new(p::POSTGRES_LINE).unwrap().captures(pg).unwrap();
    assert_eq!(&c["level"], "FATAL");
    assert!(regex::Regex::new(p::POSTGRES_FIRSTLINE).unwrap().is_match(pg));
    assert!(!regex::Regex::new(p::POSTGRES_FIRSTLINE).unwrap().is_match("\tSELECT 1"));
    let sys =
        regex::Regex::new(p::SYSLOG_LINE).unwrap().captures("May  1 12:00:00 host sshd[123]: Accepted key").unwrap();
    assert_eq!(&sys["program"], "sshd");
    // HAProxy 2.6's own lines, as the rehearsal's HAProxy wrote them: a request answered by a
    // server, one answered 503 with none up, and its messages on standard error.
    let http = regex::Regex::new(p::HAPROXY_HTTP).unwrap();
    let c = http
        .captures(r#"127.0.0.1:33712 [03/Dec/2026:21:40:27.224] fe_main be_app/app1 0/0/1/2/3 200 217 - - ---- 1/1/0/0/0 0/0 "GET / HTTP/1.1""#)
        .unwrap();
    assert_eq!((&c["frontend"], &c["backend"], &c["server"], &c["status"]), ("fe_main", "be_app", "app1", "200"));
    let c = http
        .captures(r#"127.0.0.1:33726 [03/Dec/2026:21:40:27.243] fe_main be_app/<NOSRV> 0/-1/-1/-1/0 503 217 - - SC-- 1/1/0/0/0 0/0 "GET / HTTP/1.1""#)
        .unwrap();
    assert_eq!((&c["server"], &c["status"]), ("<NOSRV>", "503"));
    let msg = regex::Regex::new(p::HAPROXY_MESSAGE).unwrap();
    assert_eq!(
        &msg.captures("[ALERT]    (4424) : backend 'be_app' has no server available!").unwrap()["level"],
        "ALERT"
    );
    assert_eq!(
        &msg.captures("[WARNING]  (4424) : Server be_app/app1 is DOWN, reason: Layer4 connection problem").unwrap()["level"],
        "WARNING"
    );
    assert!(!http.is_match("[NOTICE]   (4424) : haproxy version is 2.6.12-1+deb12u4"));
    // RabbitMQ 3.10's lines, as Debian's wrote them: every line of a message carries the
    // prefix, an empty one too.
    let rabbit = regex::Regex::new(p::RABBITMQ_LINE).unwrap();
    let c = rabbit
        .captures("2026-12-04 04:04:42.297003+00:00 [error] <0.781.0> ** Connection attempt from node 'rabbitmqcli-933-rabbit@localhost' rejected. Invalid challenge reply. **")
        .unwrap();
    assert_eq!((&c["level"], &c["pid"]), ("error", "0.781.0"));
    assert_eq!(&rabbit.captures("2026-12-04 04:04:42.297003+00:00 [error] <0.781.0> ").unwrap()["level"], "error");
    assert_eq!(
        &rabbit.captures("2026-12-04 04:04:56.257114+00:00 [warning] <0.288.0> *** Publishers will be blocked until this alarm clears ***").unwrap()["level"],
        "warning"
    );
    // MariaDB 10.11's lines as Debian's wrote them in the rehearsal (the hour padded with a
    // space), MySQL 8's, and the official images' entrypoint's.
    let mysql = regex::Regex::new(p::MYSQL_LINE).unwrap();
    let c = mysql
        .captures("2026-12-04  7:50:46 5 [Warning] Aborted connection 5 to db: 'unconnected' user: 'unauthenticated' host: '127.0.0.1' (This connection closed normally without authentication)")
        .unwrap();
    assert_eq!((&c["time"], &c["thread"], &c["level"]), ("2026-12-04  7:50:46", "5 ", "Warning"));
    let c = mysql.captures("2026-12-04T09:12:01.123456Z 0 [ERROR] [MY-010119] [Server] Aborting").unwrap();
    assert_eq!((&c["time"], &c["level"]), ("2026-12-04T09:12:01.123456Z", "ERROR"));
    let c = mysql
        .captures("2026-12-04 09:12:01+00:00 [Note] [Entrypoint]: Entrypoint script for MariaDB Server started.")
        .unwrap();
    assert_eq!((&c["time"], &c["level"]), ("2026-12-04 09:12:01+00:00", "Note"));
    assert!(
        !mysql.is_match(
            "Version: '10.11.19-MariaDB-0+deb12u1'  socket: '/run/mysqld/mysqld.sock'  port: 3306  Debian 12"
        )
    );
    // Elasticsearch's lines as its images write them (8.x, from the official image's output in
    // docker-library/docs#2173 and deviantony/docker-elk#781; 7.x from elastic/elasticsearch#65032)
    // and OpenSearch's (its log4j2 pattern `[%d{ISO8601}][%-5p][%-25c{1.}] [%node_name]%marker %m%n`).
    let es8 = r#"{"@timestamp":"2022-11-12T12:29:04.281Z", "log.level": "WARN", "message":"WARNING: You are running with Java 19.", "ecs.version": "1.2.0","service.name":"ES_ECS","event.dataset":"elasticsearch.server"}"#;
    let es7 = r#"{"type": "server", "timestamp": "2020-11-13T07:48:57,449Z", "level": "ERROR", "component": "o.e.g.DanglingIndicesState", "cluster.name": "docker-cluster", "node.name": "e2333260fcf0", "message": "failed" }"#;
    let os = "[2026-12-04T09:12:01,123][ERROR][o.o.b.OpenSearchUncaughtExceptionHandler] [node-1] uncaught exception in thread [main]";
    let os_info = "[2026-12-04T09:12:01,123][INFO ][o.o.n.Node               ] [node-1] started";
    let json = regex::Regex::new(p::ELASTICSEARCH_JSON).unwrap();
    assert_eq!(&json.captures(es8).unwrap()["level"], "WARN");
    assert_eq!(&json.captures(es7).unwrap()["level"], "ERROR");
    assert!(!json.is_match(os));
    let line = regex::Regex::new(p::OPENSEARCH_LINE).unwrap();
    assert_eq!(&line.captures(os).unwrap()["level"], "ERROR");
    assert_eq!(
        (&line.captures(os_info).unwrap()["level"], &line.captures(os_info).unwrap()["time"]),
        ("INFO", "2026-12-04T09:12:01,123")
    );
    assert!(!line.is_match(es8));
    // ErrorLogSpike's line filter takes the error lines of both, and no other.
    let filter = sightline::kinds::common::error_lines(
        "{service=\"search\"}",
        sightline::manifest::model::LogFormat::Elasticsearch,
    );
    let filter = regex::Regex::new(filter.split('`').nth(1).unwrap()).unwrap();
    assert!(
        filter.is_match(es7)
            && filter.is_match(os)
            && filter.is_match(&es8.replace(r#""log.level": "WARN""#, r#""log.level":"ERROR""#))
    );
    assert!(!filter.is_match(es8) && !filter.is_match(os_info));
    // PgBouncer 1.18's lines, as Debian's wrote them (to its log file and, in the rehearsal, to
    // standard error: the same format): a refused login is an ERROR line, a client's pooler
    // error a WARNING.
    let pgb = regex::Regex::new(p::PGBOUNCER_LINE).unwrap();
    let refused = "2026-12-04 18:30:02.222 UTC [15361] ERROR C-0x55798388f6c0: app/app@127.0.0.1:44906 password authentication failed";
    let warned = "2026-12-04 18:30:02.284 UTC [15361] WARNING C-0x55798388f6c0: (nodb)/app@127.0.0.1:44920 pooler error: no such database: nosuchdb";
    let stats = "2026-12-04 18:30:40.879 UTC [15361] LOG stats: 0 xacts/s, 0 queries/s, in 0 B/s, out 0 B/s, xact 0 us, query 0 us, wait 0 us";
    let c = pgb.captures(refused).unwrap();
    assert_eq!((&c["time"], &c["pid"], &c["level"]), ("2026-12-04 18:30:02.222 UTC", "15361", "ERROR"));
    assert_eq!((&pgb.captures(warned).unwrap()["level"], &pgb.captures(stats).unwrap()["level"]), ("WARNING", "LOG"));
    assert!(!pgb.is_match("2024-05-01 12:00:00.123 UTC [42] FATAL:  password authentication failed for user \"app\""));
    let filter =
        sightline::kinds::common::error_lines("{service=\"pool\"}", sightline::manifest::model::LogFormat::Pgbouncer);
    let filter = regex::Regex::new(filter.split('`').nth(1).unwrap()).unwrap();
    assert!(filter.is_match(refused) && filter.is_match(&stats.replace(" LOG ", " FATAL ")));
    assert!(!filter.is_match(warned) && !filter.is_match(stats));
    // mongod's structured lines (4.4 and later), as `docker logs` shows them: its JSON formatter
    // pads the severity, component and id with spaces; a data directory another server holds
    // is an E line, the startup warning without access control a W one.
    let mongo = regex::Regex::new(p::MONGODB_JSON).unwrap();
    let locked = r#"{"t":{"$date":"2026-04-18T19:48:59.990+00:00"},"s":"E",  "c":"CONTROL",  "id":20557,   "ctx":"initandlisten","msg":"DBException in initAndListen, terminating","attr":{"error":"DBPathInUse: Unable to lock the lock file: /data/db/mongod.lock (Resource temporarily unavailable). Another mongod instance is already running on the /data/db directory"}}"#;
    let fatal = r#"{"t":{"$date":"2023-10-26T19:24:05.300+02:00"},"s":"F",  "c":"-",        "id":23091,   "ctx":"initandlisten","msg":"Fatal assertion"}"#;
    let open = r#"{"t":{"$date":"2020-05-18T20:18:12.814+00:00"},"s":"W",  "c":"CONTROL",  "id":22120,   "ctx":"initandlisten","msg":"Access control is not enabled for the database. Read and write access to data and configuration is unrestricted","tags":["startupWarnings"]}"#;
    let options = r#"{"t":{"$date":"2021-03-09T07:59:14.639-07:00"},"s":"I",  "c":"CONTROL",  "id":21951,   "ctx":"initandlisten","msg":"Options set by command line","attr":{"options":{}}}"#;
    let c = mongo.captures(locked).unwrap();
    assert_eq!((&c["time"], &c["level"]), ("2026-04-18T19:48:59.990+00:00", "E"));
    assert_eq!(
        [fatal, open, options].map(|l| mongo.captures(l).unwrap()["level"].to_string()),
        ["F", "W", "I"].map(String::from)
    );
    assert_eq!(&mongo.captures(&options.replace(r#""s":"I",  "#, r#""s":"D1", "#)).unwrap()["level"], "D1");
    let filter =
        sightline::kinds::common::error_lines("{service=\"docs\"}", sightline::manifest::model::LogFormat::Mongodb);
    let filter = regex::Regex::new(filter.split('`').nth(1).unwrap()).unwrap();
    assert!(filter.is_match(locked) && filter.is_match(fatal));
    assert!(!filter.is_match(open) && !filter.is_match(options));
    // A message that quotes a severity field is not one.
    assert!(!filter.is_match(&options.replace("Options set by command line", r#"\"s\":\"E\""#)));
    // Celery's worker lines, as celery 5.5.2's worker wrote them (its broker stopped under it, a
    // task raising): a task that raised and a broker it cannot reach are ERROR lines, the
    // traceback on the lines after it (joined to it: they do not open with a time), a lost
    // connection a WARNING one.
    let first = regex::Regex::new(p::CELERY_FIRSTLINE).unwrap();
    let celery = regex::Regex::new(p::CELERY_LINE).unwrap();
    let raised = "[2026-12-05 00:44:42,765: ERROR/ForkPoolWorker-1] Task tasks.fail[7462f8ed-d12b-4e9a-b5ba-0430b23542a2] raised unexpected: ValueError('boom')";
    let ready = "[2026-12-05 00:58:36,081: INFO/MainProcess] celery@mailer ready.";
    let warned = "[2026-12-05 00:45:20,671: WARNING/MainProcess] consumer: Connection to broker lost. Trying to re-establish the connection...";
    let unreachable = "[2026-12-05 00:45:20,677: ERROR/MainProcess] consumer: Cannot connect to redis://127.0.0.1:16379//: Error 111 connecting to 127.0.0.1:16379. Connection refused..";
    let traceback = [
        "Traceback (most recent call last):",
        "  File \"/app/celery/app/trace.py\", line 453, in trace_task",
        "ValueError: boom",
    ];
    assert!(first.is_match(raised) && first.is_match(ready) && first.is_match(warned));
    assert!(traceback.iter().all(|l| !first.is_match(l)), "a traceback's lines join the line before");
    let c = celery.captures(raised).unwrap();
    assert_eq!((&c["time"], &c["level"], &c["process"]), ("2026-12-05 00:44:42,765", "ERROR", "ForkPoolWorker-1"));
    assert_eq!(
        (&celery.captures(ready).unwrap()["level"], &celery.captures(warned).unwrap()["level"]),
        ("INFO", "WARNING")
    );
    let filter =
        sightline::kinds::common::error_lines("{service=\"worker\"}", sightline::manifest::model::LogFormat::Celery);
    let filter = regex::Regex::new(filter.split('`').nth(1).unwrap()).unwrap();
    let joined = format!("{raised}\n{}", traceback.join("\n"));
    assert!(filter.is_match(raised) && filter.is_match(&joined) && filter.is_match(unreachable));
    assert!(filter.is_match(&ready.replace("INFO/", "CRITICAL/")));
    assert!(!filter.is_match(ready) && !filter.is_match(warned));
    // A message that quotes an error line is not one.
    assert!(!filter.is_match(&format!("{} {raised}", &ready[..ready.len() - 1])));
    let _: Value = Value::Null;
}

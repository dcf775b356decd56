//! alertmanager.yml and its templates, checked by amtool of the release the stack runs and the
//! SchemaStore schema; and `sightline route` agreeing with `amtool config routes test` on a
//! matrix of label sets, for every example and every manifest under `tests/fixtures/ok/`.

use crate::prometheus::manifests;
use crate::support::{build_into_tempdir, require_tool, run, schema_errors, schema_validator};
use serde_json::Value;
use std::process::Command;

#[test]
fn amtool_accepts_the_config_and_templates() {
    let amtool = require_tool("amtool");
    for m in manifests() {
        let dir = build_into_tempdir(&m);
        let am = dir.path().join("alertmanager");
        // In UTF-8 strict mode, which refuses the matchers that the default mode only accepts
        // by falling back to the classic parser (with a warning in the log).
        let (ok, out) = run(Command::new(&amtool)
            .args(["--enable-feature=utf8-strict-mode", "check-config", "alertmanager.yml"])
            .current_dir(&am));
        assert!(ok, "{}: amtool check-config (UTF-8 strict mode):\n{out}", m.display());
        assert!(out.contains("1 templates"), "{}: the templates were not loaded:\n{out}", m.display());
    }
}

#[test]
fn strict_mode_refuses_what_the_default_mode_lets_through() {
    // The check above can fail: a classic-only matcher passes the default mode, not strict.
    let amtool = require_tool("amtool");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("am.yml");
    std::fs::write(
        &file,
        "route:\n  receiver: a\n  routes:\n    - receiver: a\n      matchers: ['service=api-1 (x)']\nreceivers:\n  - name: a\n",
    )
    .unwrap();
    assert!(run(Command::new(&amtool).arg("check-config").arg(&file)).0);
    assert!(!run(Command::new(&amtool).args(["--enable-feature=utf8-strict-mode", "check-config"]).arg(&file)).0);
}

#[test]
fn the_config_matches_the_schemastore_schema() {
    let v = schema_validator("schemastore/prometheus-alertmanager.json");
    for m in manifests() {
        let dir = build_into_tempdir(&m);
        let doc: Value =
            serde_saphyr::from_str(&std::fs::read_to_string(dir.path().join("alertmanager/alertmanager.yml")).unwrap())
                .unwrap();
        let errors = schema_errors(&v, &doc);
        assert!(errors.is_empty(), "{}:\n{}", m.display(), errors.join("\n"));
    }
}

#[test]
fn sightline_route_agrees_with_amtool() {
    let amtool = require_tool("amtool");
    let mut compared = 0;
    for m in manifests() {
        let dir = build_into_tempdir(&m);
        let config = dir.path().join("alertmanager/alertmanager.yml");
        let text = std::fs::read_to_string(&m).unwrap();
        let checked = sightline::check(&m.to_string_lossy(), text.as_bytes());
        let services: Vec<String> = checked.manifest.unwrap().services.keys().map(|k| k.to_string()).collect();
        for severity in ["critical", "warning", "info"] {
            for category in ["security", "performance", "operational", "slo", "backup"] {
                for service in [Some(services[0].as_str()), None] {
                    let mut labels = vec![
                        format!("severity={severity}"),
                        format!("category={category}"),
                        "alertname=Test".to_string(),
                    ];
                    if let Some(s) = service {
                        labels.push(format!("service={s}"));
                    }
                    let (ok, theirs) = run(Command::new(&amtool)
                        .arg("config")
                        .arg("routes")
                        .arg("test")
                        .arg(format!("--config.file={}", config.display()))
                        .args(&labels));
                    assert!(ok, "amtool failed: {theirs}");
                    // amtool prints the receivers comma-separated (plus a warning about flags).
                    let printed: String =
                        theirs.lines().filter(|l| !l.starts_with("Warning:")).collect::<Vec<_>>().join(",");
                    let theirs: Vec<&str> = printed.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
                    let out = Command::new(env!("CARGO_BIN_EXE_sightline"))
                        .arg("route")
                        .arg("-f")
                        .arg(&m)
                        .args(&labels)
                        .output()
                        .unwrap();
                    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
                    let ours = String::from_utf8(out.stdout).unwrap();
                    let ours: Vec<&str> = ours.lines().collect();
                    assert_eq!(ours, theirs, "{} {labels:?}", m.display());
                    compared += 1;
                }
            }
        }
    }
    assert!(compared >= 100);
}

/// An independent linter agrees: amlint (PyPI), which simulates Alertmanager's routing against
/// the generated rules' labels, finds no warning and no error (`--strict`) in any example or
/// fixture. It flags what amtool accepts: dead inhibit entries, routes no alert reaches,
/// criticals that fall through to the default receiver.
#[test]
fn amlint_finds_nothing_to_warn_about() {
    let amlint = require_tool("amlint");
    for m in manifests() {
        let dir = build_into_tempdir(&m);
        let (ok, out) = run(Command::new(&amlint)
            .args([
                "check",
                "alertmanager/alertmanager.yml",
                "--rules",
                "prometheus/rules/*.yml",
                "--rules",
                "loki/rules/*/*.yml",
                "--strict",
            ])
            .current_dir(dir.path()));
        assert!(ok, "{}: amlint:\n{out}", m.display());
    }
}

/// "Fast burns page": in the bundled example, the critical SLO burn alerts reach the receivers
/// that page for operational criticals, as `sightline route` with the alert's own labels says.
#[test]
fn the_examples_fast_slo_burns_page() {
    let example = crate::support::root().join("examples/faceless-staging.yaml");
    for alert in ["AvailabilityBudgetBurn1h", "AvailabilityBudgetBurn6h", "LatencyBudgetBurn1h", "LatencyBudgetBurn6h"]
    {
        let out = Command::new(env!("CARGO_BIN_EXE_sightline"))
            .args(["route", "-f", &example.to_string_lossy(), alert, "service=api"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(String::from_utf8_lossy(&out.stdout), "pager\ngenie\n", "{alert}");
    }
}

/// With `observability.alertmanager.auth`, everything that talks to Alertmanager logs in with
/// the password's one file (Prometheus's alerting client and its scrape of Alertmanager, the
/// healthcheck's amtool with client.yml, Grafana's data source), Loki's ruler with the
/// credentials file; compose mounts each file where it is read and starts Alertmanager with
/// web.yml. Without it, none of that is generated.
#[test]
fn every_client_of_an_authenticated_alertmanager_logs_in() {
    use crate::prometheus::yaml_to_json;
    use sightline::targets::paths::secret_file;
    let read = |dir: &std::path::Path, f: &str| yaml_to_json(&std::fs::read_to_string(dir.join(f)).unwrap());
    let mut seen = 0;
    let mut trees: Vec<crate::support::Built> = manifests().iter().map(|m| crate::support::built(m)).collect();
    trees.push(crate::support::web_auth_from_env());
    for t in &trees {
        let (stack, dir, m) = (&t.stack, &t.dir, &t.name);
        let compose = read(dir.path(), "compose.yaml");
        let am = &compose["services"]["alertmanager"];
        let prometheus = read(dir.path(), "prometheus/prometheus.yml");
        let alerting = &prometheus["alerting"]["alertmanagers"][0];
        let scrape =
            prometheus["scrape_configs"].as_array().unwrap().iter().find(|j| j["job_name"] == "alertmanager").unwrap();
        let datasources = read(dir.path(), "grafana/provisioning/datasources/datasources.yml");
        let grafana =
            datasources["datasources"].as_array().unwrap().iter().find(|d| d["type"] == "alertmanager").unwrap();
        let ruler = &read(dir.path(), "loki/loki-config.yml")["ruler"];
        let Some(auth) = &stack.alertmanager_auth else {
            assert!(!dir.path().join("alertmanager/web.yml").exists(), "{}", m);
            assert!(alerting.get("basic_auth").is_none() && scrape.get("basic_auth").is_none());
            assert!(grafana.get("basicAuth").is_none() && ruler.get("alertmanager_client").is_none());
            continue;
        };
        seen += 1;
        let (password, credentials) = (&secret_file(&auth.web.password), &secret_file(&auth.credentials));
        for client in
            [&alerting["basic_auth"], &scrape["basic_auth"], &read(dir.path(), "alertmanager/client.yml")["basic_auth"]]
        {
            assert_eq!(client["username"], auth.web.user.as_str(), "{}", m);
            assert_eq!(client["password_file"], password.as_str(), "{}", m);
        }
        let web = read(dir.path(), "alertmanager/web.yml");
        assert_eq!(web["basic_auth_users"][auth.web.user.as_str()], auth.web.password_hash.as_str());
        let entrypoint = am["entrypoint"][2].as_str().unwrap();
        assert!(entrypoint.contains("--web.config.file=/etc/alertmanager/web.yml"), "{entrypoint}");
        let test: Vec<&str> =
            am["healthcheck"]["test"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
        assert_eq!(test[..4], ["CMD", "/bin/amtool", "cluster", "show"]);
        assert!(test.contains(&"--http.config.file=/etc/alertmanager/client.yml"), "{test:?}");
        assert_eq!(grafana["basicAuth"], true);
        assert_eq!(grafana["basicAuthUser"], auth.web.user.as_str());
        assert_eq!(grafana["secureJsonData"]["basicAuthPassword"], format!("$__file{{{password}}}"));
        assert_eq!(ruler["alertmanager_client"]["type"], "Basic");
        assert_eq!(ruler["alertmanager_client"]["credentials_file"], credentials.as_str());
        for service in ["prometheus", "alertmanager", "grafana"] {
            crate::support::assert_reads_secret(&compose, service, &auth.web.password, m);
        }
        crate::support::assert_reads_secret(&compose, "loki", &auth.credentials, m);
    }
    assert!(seen >= 1, "no manifest puts Alertmanager behind authentication");
}

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

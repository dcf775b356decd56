//! Every diagnostic code has at least one failing fixture (`tests/fixtures/err/<CODE>/*.yaml`),
//! each fixture produces its code, a manifest with errors plans nothing, the rendered
//! diagnostics are snapshotted, and no rendering ever contains a secret from a fixture.

use crate::support::{root, snapshot_settings};
use sightline::code::Code;
use sightline::diagnostic::{Format, Severity, render};
use std::path::PathBuf;

fn fixtures() -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    for dir in std::fs::read_dir(root().join("tests/fixtures/err")).expect("fixtures dir") {
        let dir = dir.unwrap().path();
        let code = dir.file_name().unwrap().to_string_lossy().into_owned();
        for f in std::fs::read_dir(&dir).unwrap() {
            out.push((code.clone(), f.unwrap().path()));
        }
    }
    out.sort();
    out
}

fn check(path: &PathBuf) -> sightline::Checked {
    let rel = path.strip_prefix(root()).unwrap().to_string_lossy().into_owned();
    sightline::check(&rel, &std::fs::read(path).unwrap())
}

#[test]
fn every_code_has_a_fixture_and_every_fixture_its_code() {
    let fx = fixtures();
    // The output's codes are about a directory, not a manifest: tests/it/cli.rs makes each.
    for code in Code::ALL.iter().filter(|c| !c.is_about_output()) {
        assert!(fx.iter().any(|(c, _)| c == code.as_str()), "no fixture under tests/fixtures/err/{}/", code.as_str());
    }
    for (code, path) in &fx {
        let code: Code = code.parse().unwrap_or_else(|_| panic!("{} is not a code", path.display()));
        let checked = check(path);
        let found = checked.diagnostics.iter().find(|d| d.code == code);
        let d =
            found.unwrap_or_else(|| panic!("{} does not produce {code}: {:?}", path.display(), checked.diagnostics));
        if d.severity == Severity::Error {
            assert!(sightline::plan(&checked).is_none(), "{}: an error must stop the build", path.display());
        }
        if code != Code::Limits && code != Code::EmptyManifest {
            assert!(d.span.is_some(), "{}: {code} has no span", path.display());
        }
    }
}

#[test]
fn rendered_diagnostics_match_snapshots() {
    for (code, path) in fixtures() {
        let checked = check(&path);
        let human = render(&checked.source, &checked.diagnostics, Format::Human, false);
        let json = render(&checked.source, &checked.diagnostics, Format::Json, false);
        let name = format!("{code}__{}", path.file_stem().unwrap().to_string_lossy());
        snapshot_settings("diagnostics").bind(|| {
            insta::assert_snapshot!(name, format!("{human}\n--- json\n{json}"));
        });
    }
}

#[test]
fn the_list_of_codes_is_stable() {
    let list: String = Code::ALL.iter().map(|c| format!("{}  {}\n", c.as_str(), c.summary())).collect();
    snapshot_settings("").bind(|| insta::assert_snapshot!("codes", list));
}

#[test]
fn secrets_are_never_printed() {
    let secrets = ["correct-horse-battery", "XXXXXXXXXXXXXXXXXXXXXXXX", "s3cr3t-pw", "hooks.slack.com/services/T0"];
    for (code, path) in fixtures().into_iter().filter(|(c, _)| c == "SL301" || c == "SL302") {
        let checked = check(&path);
        for format in [Format::Human, Format::Json, Format::Github] {
            let out = render(&checked.source, &checked.diagnostics, format, false);
            for s in secrets {
                assert!(!out.contains(s), "{code} {}: {format:?} output shows a secret:\n{out}", path.display());
            }
        }
    }
}

#[test]
fn diagnostics_are_sorted_by_position() {
    for (_, path) in fixtures() {
        let starts: Vec<usize> = check(&path).diagnostics.iter().map(|d| d.span.map_or(0, |s| s.start)).collect();
        let mut sorted = starts.clone();
        sorted.sort();
        assert_eq!(starts, sorted, "{}", path.display());
    }
}

/// A manifest with many independent mistakes reports them all in one run.
#[test]
fn a_broken_manifest_reports_every_independent_problem() {
    let path = root().join("tests/fixtures/many-errors.yaml");
    let checked = check(&path);
    let codes: Vec<&str> = checked.diagnostics.iter().map(|d| d.code.as_str()).collect();
    for expected in
        // SL005: a celery service without its `broker`, which leaves the service checked.
        [
            "SL014", "SL006", "SL003", "SL301", "SL010", "SL204", "SL102", "SL201", "SL501", "SL401", "SL013", "SL701",
            "SL005",
        ]
    {
        assert!(codes.contains(&expected), "missing {expected} in {codes:?}");
    }
}

#[test]
fn an_error_is_reported_once_not_with_its_echoes() {
    // Each of these fixtures has one mistake; its consequences elsewhere in the manifest (a
    // service left out, so a route's match finds no alert; a field read as a service, so it
    // misses `kind`) are not further findings.
    for (fixture, code) in [
        ("SL004/port-as-string.yaml", "SL004"),
        ("SL010/duration-in-words.yaml", "SL010"),
        ("SL009/misindented-health.yaml", "SL009"),
        ("SL009/retention-at-top-level.yaml", "SL009"),
    ] {
        let checked = check(&root().join("tests/fixtures/err").join(fixture));
        let errors: Vec<&str> = checked
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error || !d.code.reads_parts().is_empty())
            .map(|d| d.code.as_str())
            .collect();
        assert_eq!(errors, [code], "{fixture}: {:?}", checked.diagnostics);
    }
}

#[test]
fn a_receiver_named_like_a_receiver_field_is_a_receiver() {
    // Receivers have no required field: a receiver called `slack` with a mistake inside is
    // that mistake, not a `slack:` field to indent under another receiver.
    let text = "version: 1\nstack: s\nenvironment: e\nservices:\n  api: { kind: http, image: \"a:1\", port: 8000 }\nalerting:\n  receivers:\n    pager: { webhook: { url: \"http://pager.internal/hook\" } }\n    slack: { slack: { webhook_url: { env: SLACK_URL }, chanel: \"#ops\" } }\n  default: pager\n";
    let checked = sightline::check("stack.yaml", text.as_bytes());
    let codes: Vec<&str> = checked.diagnostics.iter().map(|d| d.code.as_str()).collect();
    assert!(codes.contains(&"SL003") && !codes.contains(&"SL009"), "{:?}", checked.diagnostics);
}

/// A field a service's kind requires, missing, is reported and leaves the service and the rest of
/// the manifest checked: a backup job's unknown service is still found, and so is a field the
/// service's kind does not take.
#[test]
fn a_missing_required_field_leaves_the_rest_checked() {
    let text = "version: 1\nstack: s\nenvironment: e\nnetwork: n\nservices:\n  api: { kind: http }\n  w: { kind: celery, port: 80 }\n  q: { kind: redis, port: 6379 }\nbackups:\n  jobs:\n    - { name: n, service: dbb, schedule: \"0 2 * * *\", keep: 3 }\n";
    let checked = sightline::check("m.yaml", text.as_bytes());
    let codes: Vec<(&str, &str)> = checked.diagnostics.iter().map(|d| (d.code.as_str(), d.message.as_str())).collect();
    for expected in [
        ("SL005", "missing field `port`"),
        ("SL005", "missing field `broker`"),
        ("SL202", "no service is named `dbb`"),
        ("SL205", "`port` has no effect on a celery service"),
    ] {
        assert!(codes.contains(&expected), "missing {expected:?} in {codes:?}");
    }
}

//! The kubernetes platform (`--platform kubernetes`), for every example and every manifest
//! under `tests/fixtures/ok/` (and the every-kind fixture), built once for all the tests here
//! (`built`), each beside its compose tree: the objects and the values overlay (`objects`), the
//! rules, Alertmanager's configuration and the dashboards (`rules`), the scrape configuration
//! (`scrape`), the exporters (`exporters`), logs (`logs`), the batch jobs' Pushgateway (`jobs`)
//! and the backups' CronJobs (`backups`). What more than one of them reads is here.

use crate::prometheus::{manifests, yaml_to_json};
use crate::support::{plan_of, require_tool, run, schema_errors, shared};
use serde_json::Value;
use sightline::manifest::model::Platform;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

mod backups;
mod exporters;
mod jobs;
mod logs;
mod objects;
mod rules;
mod scrape;

/// The kubernetes plan of a manifest: path → contents.
fn kubernetes_plan(path: &Path) -> BTreeMap<String, String> {
    let bytes = std::fs::read(path).unwrap();
    let checked = sightline::check_for(&path.to_string_lossy(), &bytes, Some(Platform::Kubernetes));
    assert!(!checked.has_errors(), "{}: errors on kubernetes", path.display());
    // The platform's checks ran: a login the operator cannot set is a note (SL907) exactly where
    // the manifest gives one.
    let obs = checked.manifest.as_ref().and_then(|m| m.observability.as_ref());
    let logins = obs.iter().flat_map(|o| o.prometheus.iter()).filter(|p| p.auth.is_some()).count()
        + obs.iter().flat_map(|o| o.alertmanager.iter()).filter(|a| a.auth.is_some()).count();
    let notes: Vec<_> = checked.diagnostics.iter().filter(|d| d.code == sightline::code::Code::WebAuthNotSet).collect();
    assert_eq!(notes.len(), logins, "{}", path.display());
    assert!(notes.iter().all(|d| d.severity == sightline::diagnostic::Severity::Note), "{}", path.display());
    let plan = sightline::plan_pinned(&checked, &BTreeMap::new(), Some(Platform::Kubernetes))
        .and_then(Result::ok)
        .unwrap_or_else(|| panic!("{} does not build for kubernetes", path.display()));
    plan.files
}

/// A plan's files: path → contents.
type Plan = BTreeMap<String, String>;

/// Every manifest of `manifests()` with its kubernetes plan and its compose plan, built once
/// for all the tests here.
fn built() -> &'static [(PathBuf, Plan, Plan)] {
    static BUILT: std::sync::OnceLock<Vec<(PathBuf, Plan, Plan)>> = std::sync::OnceLock::new();
    BUILT.get_or_init(|| {
        manifests()
            .into_iter()
            .map(|m| {
                let (k8s, compose) = (kubernetes_plan(&m), plan_of(&m));
                (m, k8s, compose)
            })
            .collect()
    })
}

/// The objects of a plan (every file under `manifests/`), as JSON, by path.
fn objects(plan: &BTreeMap<String, String>) -> Vec<(String, Value)> {
    plan.iter()
        .filter(|(p, _)| p.starts_with("manifests/"))
        .map(|(p, text)| {
            assert!(p.ends_with(".yaml"), "{p}: objects are .yaml files");
            (p.clone(), yaml_to_json(text))
        })
        .collect()
}

/// A CRD's schema for a version, closed: every object schema with `properties` and no
/// `additionalProperties` refuses other fields (the API server prunes them; a generated field
/// it would drop is a bug).
fn crd_schema(file: &str, version: &str) -> jsonschema::Validator {
    fn close(v: &mut Value) {
        match v {
            Value::Object(m) => {
                if m.contains_key("properties") && !m.contains_key("additionalProperties") {
                    m.insert("additionalProperties".into(), Value::Bool(false));
                }
                m.values_mut().for_each(close);
            }
            Value::Array(a) => a.iter_mut().for_each(close),
            _ => {}
        }
    }
    let crd: Value = serde_json::from_str(
        &std::fs::read_to_string(shared().join("schemas/prometheus-operator").join(file)).unwrap(),
    )
    .unwrap();
    let mut schema = crd["spec"]["versions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == version)
        .unwrap_or_else(|| panic!("{file} serves {version}"))["schema"]["openAPIV3Schema"]
        .clone();
    close(&mut schema);
    // `metadata` is the API server's own (ObjectMeta): the CRD leaves it open.
    schema["properties"]["metadata"] = serde_json::json!({ "type": "object" });
    jsonschema::validator_for(&schema).expect("the CRD schema compiles")
}

/// A PrometheusRule's one group, and the compose rule file's.
fn groups(k8s: &BTreeMap<String, String>, compose: &BTreeMap<String, String>) -> Vec<(String, Value, Value)> {
    objects(k8s)
        .into_iter()
        .filter(|(_, o)| o["kind"] == "PrometheusRule")
        .map(|(path, o)| {
            let name = path.rsplit('/').next().unwrap().trim_end_matches(".yaml").to_string();
            let spec = o["spec"]["groups"].as_array().unwrap();
            assert_eq!(spec.len(), 1, "{path}: one group per rule file");
            let file = compose
                .get(&format!("prometheus/rules/{name}.yml"))
                .unwrap_or_else(|| panic!("{name}: no compose file"));
            let theirs = yaml_to_json(file)["groups"][0].clone();
            (name, spec[0].clone(), theirs)
        })
        .collect()
}

/// The objects a chart makes of an overlay: `helm template` of the chart `scripts/tools`
/// fetched (`tools/<name>/chart`), as release `release` in `namespace`, at a current
/// Kubernetes release. The chart's own checks (its `fail`s) fail the render.
fn helm_template(chart: &str, release: &str, namespace: &str, values: &str) -> Vec<Value> {
    let helm = require_tool("helm");
    let chart_dir = crate::support::upstream_bin().join(chart);
    assert!(chart_dir.join("Chart.yaml").is_file(), "the chart {chart} is fetched by scripts/tools");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("values.yaml"), values).unwrap();
    let out = Command::new(&helm)
        .args(["template", release])
        .arg(&chart_dir)
        .args(["--namespace", namespace, "--kube-version", "1.35.0", "-f"])
        .arg(dir.path().join("values.yaml"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "helm template {chart}:\n{}", String::from_utf8_lossy(&out.stderr));
    // Every document parses; only those with nothing but comments are empty.
    text.split("\n---")
        .filter(|d| d.lines().any(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#')))
        .map(|d| serde_saphyr::from_str::<Value>(d).unwrap_or_else(|e| panic!("{chart}: {e}:\n{d}")))
        .collect()
}

/// What our values make of a chart's objects is valid Kubernetes: every object of the renders
/// (`tolerations`, volumes, environment, resources come from the overlays), but the custom
/// resources, written to `dir` and checked at once with `kubernetes-validate --strict`.
fn validate_renders(dir: &Path, renders: &[(String, Vec<Value>)]) {
    let validate = require_tool("kubernetes-validate");
    let mut files = Vec::new();
    for (what, objs) in renders {
        for (i, o) in objs.iter().enumerate() {
            if o["apiVersion"].as_str().unwrap().contains("monitoring.coreos.com") {
                continue;
            }
            let file = dir.join(format!("{what}-{i}.yaml"));
            std::fs::write(&file, serde_json::to_string(o).unwrap()).unwrap();
            files.push(file);
        }
    }
    assert!(!files.is_empty());
    let (ok, out) = run(Command::new(&validate).args(["--strict", "--quiet", "-k", "1.35"]).args(&files));
    assert!(ok && !out.contains("ERROR"), "kubernetes-validate of the charts' renders:\n{out}");
}

/// The one object of `kind` named `name` of a render.
fn rendered<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name} rendered"))
}

/// A pod template's container by name.
fn container<'a>(pod: &'a Value, name: &str) -> &'a Value {
    pod["spec"]["containers"].as_array().unwrap().iter().find(|c| c["name"] == name).unwrap()
}

/// A compose plan's compose file, Alloy's image in it (a Promtail stack's is Alloy's default,
/// which the Kubernetes tree runs).
fn alloy_compose(compose: &Plan) -> Plan {
    let mut c = yaml_to_json(&compose["compose.yaml"]);
    if c["services"].get("alloy").is_none() {
        let d = &sightline::ir::defaults::ALLOY;
        c["services"]["alloy"] = serde_json::json!({ "image": format!("{}:{}", d.repository, d.version) });
    }
    BTreeMap::from([("compose.yaml".to_string(), serde_json::to_string(&c).unwrap())])
}

/// A PromQL expression as a query string's value.
fn url_encoded(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The series an instant query of a running Prometheus returns.
fn query(port: u16, expr: &str) -> Vec<Value> {
    let answer = crate::support::http_get(port, &format!("/api/v1/query?query={}", url_encoded(expr))).unwrap();
    let body = answer.split_once("\r\n\r\n").unwrap().1;
    let v: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{expr}: {e}: {body}"));
    assert_eq!(v["status"], "success", "{expr}: {v}");
    v["data"]["result"].as_array().unwrap().clone()
}

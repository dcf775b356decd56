//! The upstream programs the tests run are the releases the generated stack runs: one source of
//! truth. `tools/<name>/go.mod` pins each program's Go module; the defaults table
//! (`sightline::ir::defaults`) pins each image. They must name the same release, except where
//! the Go module proxy does not serve the stack's release; each such exception is listed here
//! and in docs/versions.md, with the release built instead.

use crate::support::{pypi_tools, require_tool, root, run, tools_modules, upstream_bin};
use sightline::ir::defaults::{self, ComponentDefault};
use std::process::Command;

/// (tools directory, Go module, the image default it stands for).
const PINS: &[(&str, &str, &ComponentDefault)] = &[
    ("prometheus", "github.com/prometheus/prometheus", &defaults::PROMETHEUS),
    ("alertmanager", "github.com/prometheus/alertmanager", &defaults::ALERTMANAGER),
    ("node_exporter", "github.com/prometheus/node_exporter", &defaults::NODE_EXPORTER),
    ("blackbox_exporter", "github.com/prometheus/blackbox_exporter", &defaults::BLACKBOX_EXPORTER),
    ("postgres_exporter", "github.com/prometheus-community/postgres_exporter", &defaults::POSTGRES_EXPORTER),
    ("redis_exporter", "github.com/oliver006/redis_exporter", &defaults::REDIS_EXPORTER),
    ("nginx_exporter", "github.com/nginx/nginx-prometheus-exporter", &defaults::NGINX_EXPORTER),
    ("memcached_exporter", "github.com/prometheus/memcached_exporter", &defaults::MEMCACHED_EXPORTER),
    ("mysqld_exporter", "github.com/prometheus/mysqld_exporter", &defaults::MYSQLD_EXPORTER),
    (
        "elasticsearch_exporter",
        "github.com/prometheus-community/elasticsearch_exporter",
        &defaults::ELASTICSEARCH_EXPORTER,
    ),
    ("mongodb_exporter", "github.com/percona/mongodb_exporter", &defaults::MONGODB_EXPORTER),
    ("pushgateway", "github.com/prometheus/pushgateway", &defaults::PUSHGATEWAY),
];

/// Programs `scripts/tools` installs from PyPI: (tools directory, PyPI project, the image
/// default it stands for, the Python release line that image runs).
const PYPI: &[(&str, &str, &ComponentDefault, &str)] = &[
    ("celery_exporter", "prometheus-exporter-celery", &defaults::CELERY_EXPORTER, "3.12"),
    ("pgbouncer_exporter", "prometheus-pgbouncer-exporter", &defaults::PGBOUNCER_EXPORTER, "3.6"),
];

/// Programs of ours built on an upstream grammar: (tools directory, Go module, the release line
/// of the component whose `go.mod` requires that module version). Alloy 1.19 requires
/// `github.com/grafana/alloy/syntax` v0.1.2 (its go.mod at v1.19.0-rc.3).
const GRAMMARS: &[(&str, &str, &ComponentDefault, &str)] =
    &[("alloy_syntax", "github.com/grafana/alloy/syntax", &defaults::ALLOY, "1.19")];

/// Programs the generated files build from their Go module (the backup runner's Dockerfile):
/// (tools directory, the default it stands for).
const BUILT: &[(&str, &defaults::BuiltProgram)] = &[("supercronic", &defaults::SUPERCRONIC)];

/// Programs the tests talk to that the stack does not run: (tools directory, Go module). A
/// registry for `sightline pin` to ask, and crane to put images in it and read their digests.
const PEERS: &[(&str, &str)] = &[
    ("registry", "github.com/distribution/distribution/v3"),
    ("crane", "github.com/google/go-containerregistry"),
    // The rehearsal's Caddy and Traefik, standing in for a `kind: caddy` or `kind: traefik`
    // service's own image.
    ("caddy", "github.com/caddyserver/caddy/v2"),
    ("traefik", "github.com/traefik/traefik/v3"),
    // The Prometheus Operator's configuration generator over the Kubernetes tree's objects.
    ("operator_config", "github.com/prometheus-operator/prometheus-operator"),
    // Helm, which renders the Loki and Alloy charts with the Kubernetes tree's overlays.
    ("helm", "helm.sh/helm/v3"),
    // The cron parser of Kubernetes' API server and CronJob controller, for the backups'
    // CronJobs (the release Kubernetes 1.35 requires).
    ("kube_cron", "github.com/robfig/cron/v3"),
];

/// Where the proxy does not serve the stack's release: (tools directory, release built).
const NEAREST: &[(&str, &str)] =
    &[("postgres_exporter", "0.19.1"), ("redis_exporter", "1.88.0"), ("nginx_exporter", "1.5.1")];

/// `v3.13.5`, `3.13.5`, `v1.89.0-alpine` → `3.13.5`, `1.89.0`. Prometheus's Go module numbers
/// release 3.13.5 as v0.313.5.
fn release(tag: &str, module: &str) -> String {
    let (a, b, c) = defaults::release(tag).unwrap_or_else(|| panic!("{tag} is a release"));
    if module == "github.com/prometheus/prometheus" && a == 0 {
        return format!("{}.{}.{c}", b / 100, b % 100);
    }
    format!("{a}.{b}.{c}")
}

/// The version of `module` that `tools/<dir>/go.mod` requires.
fn required(dir: &str, module: &str) -> String {
    let gomod = std::fs::read_to_string(root().join("tools").join(dir).join("go.mod")).unwrap();
    gomod
        .lines()
        .map(|l| l.trim().trim_start_matches("require ").split_whitespace().collect::<Vec<_>>())
        .find_map(|f| (f.len() >= 2 && f[0] == module).then(|| f[1].to_string()))
        .unwrap_or_else(|| panic!("tools/{dir}/go.mod requires no {module}"))
}

#[test]
fn the_tools_modules_pin_the_releases_the_stack_runs() {
    let dirs: Vec<String> = tools_modules().into_iter().map(|(d, _)| d).collect();
    let mut pinned: Vec<&str> = PINS
        .iter()
        .map(|(d, ..)| *d)
        .chain(GRAMMARS.iter().map(|(d, ..)| *d))
        .chain(BUILT.iter().map(|(d, _)| *d))
        .chain(PEERS.iter().map(|(d, _)| *d))
        .collect();
    pinned.sort();
    assert_eq!(dirs, pinned, "every tools module is pinned against a default");
    let versions = std::fs::read_to_string(root().join("docs/versions.md")).unwrap();
    for (dir, module, d, line) in GRAMMARS {
        assert!(
            release(d.version, module).starts_with(&format!("{line}.")),
            "the stack now runs {} {}: check which {module} its go.mod requires and pin it in tools/{dir}",
            d.name,
            d.version
        );
        assert!(versions.contains(&format!("tools/{dir}")), "docs/versions.md lists tools/{dir}");
    }
    for (dir, p) in BUILT {
        assert_eq!(
            required(dir, p.module),
            p.version,
            "tools/{dir} builds {} at the release the generated Dockerfile builds",
            p.module
        );
        assert!(versions.contains(&format!("tools/{dir}")), "docs/versions.md lists tools/{dir}");
    }
    for (dir, module, d) in PINS {
        let built = release(&required(dir, module), module);
        let runs = release(d.version, module);
        match NEAREST.iter().find(|(n, _)| n == dir) {
            None => assert_eq!(
                built, runs,
                "tools/{dir} builds {module} {built}, the stack runs {} {}",
                d.repository, d.version
            ),
            Some((_, nearest)) => {
                assert_eq!(&built, nearest, "tools/{dir}: the documented nearest release");
                assert_ne!(
                    built, runs,
                    "tools/{dir} now builds the stack's release: drop it from NEAREST and docs/versions.md"
                );
                assert!(
                    versions.contains(&format!("tools/{dir}")) && versions.contains(nearest),
                    "docs/versions.md says why tools/{dir} builds {nearest} instead of {runs}"
                );
            }
        }
    }
}

#[test]
fn the_operator_config_tool_is_the_operator_of_the_crds_and_the_stacks_prometheus() {
    // The operator of the CRDs the objects are validated against, and the Prometheus the stack
    // runs (whose target labelling it applies).
    let crd =
        std::fs::read_to_string(crate::support::shared().join("schemas/prometheus-operator/servicemonitors-crd.json"))
            .unwrap();
    let crd: serde_json::Value = serde_json::from_str(&crd).unwrap();
    let version = crd["metadata"]["annotations"]["operator.prometheus.io/version"].as_str().unwrap();
    assert_eq!(
        required("operator_config", "github.com/prometheus-operator/prometheus-operator"),
        format!("v{version}")
    );
    // Prometheus's Go module numbers release 3.13.5 as v0.313.5.
    let (major, minor, patch) = defaults::release(defaults::PROMETHEUS.version).unwrap();
    let module = format!("v0.{major}{minor:02}.{patch}");
    assert_eq!(required("operator_config", "github.com/prometheus/prometheus"), module);
}

#[test]
fn the_built_programs_are_the_pinned_releases() {
    for (dir, bins) in tools_modules() {
        let module = PINS
            .iter()
            .map(|(d, m, _)| (*d, *m))
            .chain(GRAMMARS.iter().map(|(d, m, ..)| (*d, *m)))
            .chain(BUILT.iter().map(|(d, p)| (*d, p.module)))
            .chain(PEERS.iter().copied())
            .find(|(d, _)| *d == dir)
            .map(|(_, m)| m)
            .unwrap();
        let want = required(&dir, module);
        for bin in bins {
            let path = require_tool(&bin);
            assert!(path.starts_with(upstream_bin()), "{bin} comes from scripts/tools");
            // The module versions a Go binary was built from are embedded in it.
            let (ok, info) = run(Command::new("go").arg("version").arg("-m").arg(&path));
            assert!(ok, "go version -m {}: {info}", path.display());
            let line = info.lines().map(str::trim).find(|l| {
                let mut f = l.split_whitespace();
                matches!(f.next(), Some("mod" | "dep")) && f.next() == Some(module)
            });
            let got = line.and_then(|l| l.split_whitespace().nth(2));
            assert_eq!(got, Some(want.as_str()), "{bin} was built from {module} {got:?}, tools/{dir} pins {want}");
        }
    }
}

#[test]
fn the_pypi_tools_pin_and_install_the_releases_the_stack_runs() {
    let dirs: Vec<String> = pypi_tools().into_iter().map(|(d, _)| d).collect();
    let mut pinned: Vec<&str> = PYPI.iter().map(|(d, ..)| *d).collect();
    pinned.sort();
    assert_eq!(dirs, pinned, "every PyPI tool is pinned against a default");
    let versions = std::fs::read_to_string(root().join("docs/versions.md")).unwrap();
    for (dir, project, d, python) in PYPI {
        let tools = root().join("tools").join(dir);
        let requirements = std::fs::read_to_string(tools.join("requirements.txt")).unwrap();
        let pin = format!("{project}=={}", d.version);
        assert!(
            requirements.lines().any(|l| l.trim() == pin),
            "tools/{dir}/requirements.txt pins {pin}, the release the stack runs"
        );
        assert!(
            requirements
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .all(|l| l.contains("==")),
            "tools/{dir}/requirements.txt pins every dependency"
        );
        assert_eq!(std::fs::read_to_string(tools.join("python")).unwrap().trim(), *python, "tools/{dir}/python");
        assert!(versions.contains(&format!("tools/{dir}")), "docs/versions.md lists tools/{dir}");
        // What is installed: the pinned packages, on that Python.
        let (_, commands) = pypi_tools().into_iter().find(|(n, _)| n == dir).unwrap();
        for command in commands {
            let bin = require_tool(&command).canonicalize().unwrap();
            let cache = upstream_bin().canonicalize().unwrap().parent().unwrap().join(format!("{dir}."));
            assert!(
                bin.to_string_lossy().starts_with(&*cache.to_string_lossy()),
                "{command} is scripts/tools' virtualenv's ({}), not another",
                bin.display()
            );
            let venv = bin.parent().unwrap();
            let (ok, freeze) = run(Command::new(venv.join("pip")).arg("freeze").arg("--disable-pip-version-check"));
            assert!(ok, "pip freeze in {}: {freeze}", venv.display());
            for want in requirements.lines().map(str::trim).filter(|l| l.contains("==")) {
                let norm = |s: &str| s.to_lowercase().replace('_', "-");
                assert!(
                    freeze.lines().any(|l| norm(l.trim()) == norm(want)),
                    "{command}'s virtualenv has {want}: {freeze}"
                );
            }
            let (ok, version) = run(Command::new(venv.join("python3")).arg("--version"));
            assert!(
                ok && version.trim().starts_with(&format!("Python {python}.")),
                "{command} runs on Python {python}: {version}"
            );
        }
    }
}

/// Every default is a release its upstream supports and that the generated files work with
/// (Promtail, end of life, is run only on request and warned about).
#[test]
fn every_default_is_supported_and_new_enough() {
    for d in [
        defaults::PROMETHEUS,
        defaults::ALERTMANAGER,
        defaults::LOKI,
        defaults::ALLOY,
        defaults::GRAFANA,
        defaults::NODE_EXPORTER,
        defaults::CADVISOR,
        defaults::BLACKBOX_EXPORTER,
        defaults::POSTGRES_EXPORTER,
        defaults::REDIS_EXPORTER,
        defaults::NGINX_EXPORTER,
        defaults::MEMCACHED_EXPORTER,
        defaults::MYSQLD_EXPORTER,
        defaults::ELASTICSEARCH_EXPORTER,
        defaults::PGBOUNCER_EXPORTER,
        defaults::MONGODB_EXPORTER,
        defaults::CELERY_EXPORTER,
        defaults::PUSHGATEWAY,
    ] {
        assert_eq!(d.supports(d.version), Some(true), "{} {} is not a supported release", d.name, d.version);
        assert_eq!(d.lacks(d.version), None, "{} {} is older than the generated files need", d.name, d.version);
    }
    assert_eq!(defaults::PROMTAIL.supports(defaults::PROMTAIL.version), Some(false), "Promtail is end of life");
    // The version rules themselves.
    let p = defaults::PROMETHEUS;
    assert_eq!(p.supports("v3.13.0"), Some(true));
    assert_eq!(p.supports("v3.14.1"), Some(false), "between the LTS line and the newest");
    assert_eq!(p.supports("v3.17.0"), Some(true), "newer than the newest line listed");
    assert_eq!(p.supports("main"), None);
    assert_eq!(p.lacks("v2.53.2").map(|(v, _)| v), Some("3.0.0"));
    let loki = defaults::LOKI;
    assert_eq!(loki.lacks("3.6"), None, "3.6 names the newest 3.6 patch, which has -health");
    assert_eq!(loki.lacks("3.5").map(|(v, _)| v), Some("3.6.5"));
    assert_eq!(loki.lacks("3.6.5-rc.1").map(|(v, _)| v), Some("3.6.5"), "a pre-release comes before its release");
    assert_eq!(loki.lacks("3.6.5-amd64"), None, "a variant is the release");
    assert_eq!(defaults::release("v1.89.0-alpine"), Some((1, 89, 0)));
}

#[test]
fn the_charts_are_of_the_releases_the_stack_runs() {
    // (tools directory, the default it runs, what the chart's module version must be: the
    // release itself, or None for a chart repository at a commit).
    let charts: [(&str, &ComponentDefault, bool); 3] = [
        ("alloy_chart", &defaults::ALLOY, true),
        ("loki_chart", &defaults::LOKI, false),
        ("pushgateway_chart", &defaults::PUSHGATEWAY, false),
    ];
    for (dir, d, of_release) in charts {
        let line = std::fs::read_to_string(root().join("tools").join(dir).join("chart")).unwrap();
        let (module, _) = line.split_once(' ').unwrap();
        let (_, version) = module.split_once('@').unwrap();
        if of_release {
            assert_eq!(version, d.version, "tools/{dir}: the chart released with {} {}", d.name, d.version);
        }
        // The chart fetched is the one the tests render, and it runs the stack's release line
        // (the overlay pins the exact image).
        let chart = upstream_bin().join(dir.replace('_', "-")).join("Chart.yaml");
        let text = std::fs::read_to_string(&chart)
            .unwrap_or_else(|_| panic!("{} is fetched by scripts/tools", chart.display()));
        let app = text
            .lines()
            .find_map(|l| l.strip_prefix("appVersion:"))
            .map(|v| v.trim().trim_matches('"').to_string())
            .unwrap();
        let (a, b, _) = defaults::release(&app).unwrap();
        let (x, y, _) = defaults::release(d.version).unwrap();
        assert!(
            (a, b) == (x, y) || (a, b + 1) == (x, y),
            "tools/{dir}: the chart runs {} {app}, the stack {}",
            d.name,
            d.version
        );
        assert!(
            std::fs::read_to_string(root().join("docs/versions.md")).unwrap().contains(&format!("tools/{dir}")),
            "docs/versions.md lists tools/{dir}"
        );
    }
}

//! Every object valid against its schema (the operator's CRDs, closed; kubernetes-validate),
//! names and labels Kubernetes takes, and the values overlay: the releases compose runs, their
//! digests, the namespace, release and fullname reaching every object.

use super::*;

/// An RFC 1123 subdomain (an object's name).
fn is_subdomain(s: &str) -> bool {
    s.len() <= 253
        && s.split('.').all(|l| {
            !l.is_empty()
                && l.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
}

/// A label key (`[prefix/]name`) and value as Kubernetes takes them.
fn is_label(key: &str, value: &str) -> bool {
    let name_ok = |n: &str| {
        !n.is_empty()
            && n.len() <= 63
            && n.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
            && n.starts_with(|c: char| c.is_ascii_alphanumeric())
            && n.ends_with(|c: char| c.is_ascii_alphanumeric())
    };
    let key_ok = match key.split_once('/') {
        Some((prefix, name)) => is_subdomain(prefix) && name_ok(name),
        None => name_ok(key),
    };
    key_ok && (value.is_empty() || name_ok(value))
}

#[test]
fn every_object_validates_against_its_schema_and_names_are_valid() {
    let crds = [
        ("PrometheusRule", "monitoring.coreos.com/v1", crd_schema("prometheusrules-crd.json", "v1")),
        ("ServiceMonitor", "monitoring.coreos.com/v1", crd_schema("servicemonitors-crd.json", "v1")),
        ("Probe", "monitoring.coreos.com/v1", crd_schema("probes-crd.json", "v1")),
        ("ScrapeConfig", "monitoring.coreos.com/v1alpha1", crd_schema("scrapeconfigs-crd.json", "v1alpha1")),
    ];
    let validate = require_tool("kubernetes-validate");
    for (m, plan, _) in built() {
        let scratch = tempfile::tempdir().unwrap();
        let mut builtin = Vec::new();
        let objs = objects(plan);
        assert!(objs.iter().any(|(_, o)| o["kind"] == "PrometheusRule"), "{}: no rules", m.display());
        for (path, o) in &objs {
            let meta = &o["metadata"];
            let name = meta["name"].as_str().unwrap();
            assert!(is_subdomain(name), "{}: {path}: `{name}` is not a valid object name", m.display());
            assert!(meta["namespace"].as_str().is_some_and(|n| is_subdomain(n) && !n.contains('.')));
            for (k, v) in meta["labels"].as_object().unwrap() {
                assert!(is_label(k, v.as_str().unwrap()), "{}: {path}: label {k}={v}", m.display());
            }
            match o["kind"].as_str().unwrap() {
                kind if crds.iter().any(|(k, _, _)| *k == kind) => {
                    let (_, api_version, schema) = crds.iter().find(|(k, _, _)| *k == kind).unwrap();
                    assert_eq!(o["apiVersion"], *api_version, "{path}");
                    let errors = schema_errors(schema, o);
                    assert!(errors.is_empty(), "{}: {path}: {errors:#?}", m.display());
                }
                "ConfigMap" | "Secret" | "Deployment" | "Service" | "CronJob" | "PersistentVolumeClaim" => {
                    let file = scratch.path().join(path.replace('/', "_"));
                    std::fs::write(&file, &plan[path]).unwrap();
                    builtin.push(file);
                }
                other => panic!("{}: {path}: unexpected kind {other}", m.display()),
            }
        }
        // Two current releases; strict: a field the API does not have is an error.
        for version in ["1.35", "1.37"] {
            let (ok, out) = run(Command::new(&validate).args(["--strict", "--quiet", "-k", version]).args(&builtin));
            assert!(ok && !out.contains("ERROR"), "{}: kubernetes-validate {version}:\n{out}", m.display());
        }
    }
}

#[test]
fn the_closed_crd_schema_refuses_what_the_operator_would_drop() {
    // The check above can fail: a field the CRD does not have, and a name that is not one.
    let rules = crd_schema("prometheusrules-crd.json", "v1");
    let plan = kubernetes_plan(&crate::support::root().join("examples/minimal.yaml"));
    let (_, mut o) = objects(&plan).into_iter().find(|(_, o)| o["kind"] == "PrometheusRule").unwrap();
    assert!(schema_errors(&rules, &o).is_empty());
    o["spec"]["groups"][0]["rules"][0]["severity"] = "page".into();
    assert!(!schema_errors(&rules, &o).is_empty(), "an unknown field is refused");
    assert!(!is_subdomain("hello_world-rules") && !is_label("part-of", "-x"));
}

#[test]
fn the_values_overlay_pins_the_releases_compose_runs() {
    for (m, k8s, compose_plan) in built() {
        let compose = yaml_to_json(&compose_plan["compose.yaml"]);
        let values = yaml_to_json(&k8s["helm/kube-prometheus-stack.values.yaml"]);
        for (service, at) in [
            ("prometheus", &values["prometheus"]["prometheusSpec"]["image"]),
            ("alertmanager", &values["alertmanager"]["alertmanagerSpec"]["image"]),
            ("grafana", &values["grafana"]["image"]),
        ] {
            let image = compose["services"][service]["image"].as_str().unwrap();
            let registry = at["registry"].as_str().unwrap();
            let named = format!("{}:{}", at["repository"].as_str().unwrap(), at["tag"].as_str().unwrap());
            assert!(registry == "docker.io" && image == named, "{}: {service}: {image} vs {at}", m.display());
        }
        // The labels compose's Prometheus puts on every alert.
        let compose_prometheus = yaml_to_json(&compose_plan["prometheus/prometheus.yml"]);
        assert_eq!(
            values["prometheus"]["prometheusSpec"]["externalLabels"],
            compose_prometheus["global"]["external_labels"],
            "{}",
            m.display()
        );
        let spec = &values["prometheus"]["prometheusSpec"];
        for (field, global) in [
            ("scrapeInterval", "scrape_interval"),
            ("scrapeTimeout", "scrape_timeout"),
            ("evaluationInterval", "evaluation_interval"),
        ] {
            assert!(spec[field].is_string(), "{}: {field}", m.display());
            assert_eq!(spec[field], compose_prometheus["global"][global], "{}: {field}", m.display());
        }
        // Retention by time and by size, as compose's flags give them.
        let flags: Vec<&str> = compose["services"]["prometheus"]["command"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f.as_str().unwrap())
            .collect();
        let flag = |name: &str| flags.iter().find_map(|f| f.strip_prefix(name)).map(|v| serde_json::json!(v));
        assert_eq!(Some(spec["retention"].clone()), flag("--storage.tsdb.retention.time="), "{}", m.display());
        assert_eq!(
            flag("--storage.tsdb.retention.size=").unwrap_or(Value::Null),
            spec["retentionSize"],
            "{}",
            m.display()
        );
        // Alertmanager's silences on a volume, as on compose.
        let claim = &values["alertmanager"]["alertmanagerSpec"]["storage"]["volumeClaimTemplate"]["spec"];
        assert_eq!(claim["resources"]["requests"]["storage"], "1Gi", "{}", m.display());
        assert!(compose["services"]["alertmanager"]["volumes"].to_string().contains(":/alertmanager\""));
        // Grafana's settings: compose's GF_ variables, in the chart's grafana.ini; and none of
        // the chart's own datasources.
        let env = compose["services"]["grafana"]["environment"].as_object().unwrap();
        let ini = values["grafana"]["grafana.ini"].as_object().unwrap();
        let mut set = 0;
        for (section, keys) in ini {
            for (key, value) in keys.as_object().unwrap() {
                let var = format!("GF_{}_{}", section.replace('.', "_"), key).to_uppercase();
                assert_eq!(env.get(&var), Some(value), "{}: {var}", m.display());
                set += 1;
            }
        }
        let plain = ["GF_SECURITY_ADMIN_PASSWORD__FILE", "GF_SECURITY_ADMIN_USER", "GF_INSTALL_PLUGINS"];
        let compose_set = env.keys().filter(|k| k.starts_with("GF_") && !plain.contains(&k.as_str())).count();
        assert_eq!(set, compose_set, "{}: every GF_ setting of compose's: {env:?}", m.display());
        let sidecar = &values["grafana"]["sidecar"]["datasources"];
        assert!(sidecar["defaultDatasourceEnabled"] == false && sidecar["alertmanager"]["enabled"] == false);
        let config = &values["alertmanager"]["alertmanagerSpec"]["configSecret"];
        let secret = objects(k8s).into_iter().find(|(_, o)| o["kind"] == "Secret").unwrap().1;
        assert_eq!(config, &secret["metadata"]["name"], "{}: the overlay names the config Secret", m.display());
    }
}

#[test]
fn pinned_by_digest_the_overlay_names_the_digests_of_the_images_it_pins() {
    let text = std::fs::read_to_string(crate::support::root().join("examples/faceless-staging.yaml")).unwrap();
    // With a batch job, whose Pushgateway the chart runs too.
    let text = format!("{text}pin: digest\njobs:\n  - {{ name: nightly, service: api, schedule: \"0 2 * * *\" }}\n");
    let checked = sightline::check_for("stack.yaml", text.as_bytes(), Some(Platform::Kubernetes));
    assert!(!checked.has_errors());
    // Only the images the tree names: the chart's programs and the exporters, at compose's
    // releases.
    let wanted = sightline::unpinned_images(&checked, Some(Platform::Kubernetes)).unwrap();
    let compose = yaml_to_json(
        &sightline::plan_pinned(
            &sightline::check("stack.yaml", text.replace("pin: digest\n", "").as_bytes()),
            &BTreeMap::new(),
            None,
        )
        .unwrap()
        .unwrap()
        .files["compose.yaml"],
    );
    // The host's node-exporter is the chart's own.
    let exporters = compose["services"]
        .as_object()
        .unwrap()
        .keys()
        .filter(|s| s.ends_with("-exporter") && *s != "node-exporter")
        .cloned();
    let compose =
        yaml_to_json(&alloy_compose(&BTreeMap::from([("compose.yaml".into(), compose.to_string())]))["compose.yaml"]);
    let jobs: Vec<String> = compose["services"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(n, _)| n.ends_with("-query-stats"))
        .map(|(_, s)| s["image"].as_str().unwrap().to_string())
        .collect();
    assert!(!jobs.is_empty(), "faceless runs a query-statistics job");
    let expected: Vec<String> = ["prometheus", "alertmanager", "grafana", "loki", "alloy", "pushgateway"]
        .map(String::from)
        .into_iter()
        .chain(exporters)
        .map(|s| compose["services"][&s]["image"].as_str().unwrap().to_string())
        // And the database's, whose query-statistics job runs before its exporter.
        .chain(jobs)
        .collect();
    assert!(expected.len() > 5, "faceless has exporters");
    let mut sorted = wanted.clone();
    sorted.sort();
    let mut exp = expected.clone();
    exp.sort();
    assert_eq!(sorted, exp);
    assert!(sightline::plan_pinned(&checked, &BTreeMap::new(), Some(Platform::Kubernetes)).unwrap().is_err());
    let recorded: BTreeMap<String, String> = wanted
        .iter()
        .enumerate()
        .map(|(i, w)| (w.clone(), format!("sha256:{}", format!("{i:x}").repeat(64))))
        .collect();
    let plan = sightline::plan_pinned(&checked, &recorded, Some(Platform::Kubernetes)).unwrap().unwrap();
    let values = yaml_to_json(&plan.files["helm/kube-prometheus-stack.values.yaml"]);
    for image in [
        &values["prometheus"]["prometheusSpec"]["image"],
        &values["alertmanager"]["alertmanagerSpec"]["image"],
        &values["grafana"]["image"],
    ] {
        let named = format!("{}:{}", image["repository"].as_str().unwrap(), image["tag"].as_str().unwrap());
        let digest = &recorded[&named];
        assert_eq!(image["sha"], digest.trim_start_matches("sha256:"), "{named}");
        let lock = &plan.files["sightline.lock"];
        assert!(lock.contains(&format!("\"{named}\" = \"{digest}\"")), "the lock records {named}'s digest:\n{lock}");
    }
    // So do the Loki and Alloy charts' overlays (`digest`, which they name instead of the tag).
    for (file, image) in [("loki", "/loki/image"), ("alloy", "/image")] {
        let values = yaml_to_json(&plan.files[&format!("helm/{file}.values.yaml")]);
        let image = values.pointer(image).unwrap();
        let named = format!("{}:{}", image["repository"].as_str().unwrap(), image["tag"].as_str().unwrap());
        assert_eq!(image["digest"], recorded[&named].as_str(), "{named}");
    }
    // And the Pushgateway's (its chart writes `<repository>:<tag>`: the digest after the tag).
    let image = &yaml_to_json(&plan.files["helm/pushgateway.values.yaml"])["image"];
    let (tag, digest) = image["tag"].as_str().unwrap().split_once('@').unwrap();
    assert_eq!(recorded[&format!("{}:{tag}", image["repository"].as_str().unwrap())], digest);
    // The exporters' Deployments name their images by digest.
    // (And the init containers of the jobs before them, the database's.)
    for (path, o) in objects(&plan.files).into_iter().filter(|(_, o)| o["kind"] == "Deployment") {
        let spec = &o["spec"]["template"]["spec"];
        let inits = spec["initContainers"].as_array().cloned().unwrap_or_default();
        for c in spec["containers"].as_array().unwrap().iter().chain(&inits) {
            let image = c["image"].as_str().unwrap();
            let (named, digest) = image.split_once('@').unwrap_or_else(|| panic!("{path}: {image} has no digest"));
            assert_eq!(recorded[named], digest, "{path}");
        }
    }
}

#[test]
fn the_namespace_release_and_fullname_reach_every_object() {
    let base = std::fs::read_to_string(crate::support::root().join("examples/minimal.yaml")).unwrap();
    let build = |extra: &str| {
        let checked =
            sightline::check_for("stack.yaml", format!("{base}{extra}").as_bytes(), Some(Platform::Kubernetes));
        assert!(!checked.has_errors(), "{:?}", checked.diagnostics);
        sightline::plan_pinned(&checked, &BTreeMap::new(), Some(Platform::Kubernetes)).unwrap().unwrap().files
    };
    let urls = |plan: &BTreeMap<String, String>| {
        let ds = yaml_to_json(&plan["manifests/grafana/datasources.yaml"]);
        let sources = yaml_to_json(ds["data"]["sightline-datasources.yaml"].as_str().unwrap());
        sources["datasources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["url"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let plan = build("kubernetes: { namespace: observability, release: prometheus }\n");
    assert_eq!(
        urls(&plan),
        [
            "http://prometheus-kube-prometheus-prometheus.observability.svc:9090",
            "http://loki-gateway.observability.svc",
            "http://prometheus-kube-prometheus-alertmanager.observability.svc:9093"
        ]
    );
    for (path, o) in objects(&plan) {
        assert_eq!(o["metadata"]["namespace"], "observability", "{path}");
        if o["kind"] == "PrometheusRule" {
            assert_eq!(o["metadata"]["labels"]["release"], "prometheus", "{path}");
        }
    }
    let plan = build("kubernetes: { release: prometheus, fullname: monitoring-stack }\n");
    assert_eq!(urls(&plan)[0], "http://monitoring-stack-prometheus.monitoring.svc:9090");
    assert_eq!(urls(&plan)[2], "http://monitoring-stack-alertmanager.monitoring.svc:9093");
    // Cut to 26 characters as the chart cuts it, without the `-` the cut leaves at the end.
    let plan = build("kubernetes: { fullname: observability-platform-ab-cluster }\n");
    assert_eq!(urls(&plan)[0], "http://observability-platform-ab-prometheus.monitoring.svc:9090");
    assert_eq!(urls(&plan)[2], "http://observability-platform-ab-alertmanager.monitoring.svc:9093");
}

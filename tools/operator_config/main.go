// Command operator-config turns the Prometheus Operator objects sightline generates for
// Kubernetes (ServiceMonitor, Probe, ScrapeConfig) into the Prometheus configuration the
// operator itself writes for them, with the operator's own code at the release whose CRDs the
// tests validate against (github.com/prometheus-operator/prometheus-operator, pkg/prometheus).
// It selects the objects as kube-prometheus-stack's Prometheus does (its namespace, the label
// `release: <release>`), runs the operator's validation of each, and fails when one is not
// selected or is rejected; otherwise it prints the generated prometheus.yml on stdout, for
// promtool. No cluster is needed: the objects are read from files, the Secrets store is empty.
//
// Usage: operator-config -namespace NS -release R -version vX.Y.Z -scrape-interval 15s
//
//	-evaluation-interval 15s FILE...
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	monitoringv1alpha1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1alpha1"
	"github.com/prometheus-operator/prometheus-operator/pkg/assets"
	"github.com/prometheus-operator/prometheus-operator/pkg/operator"
	prompkg "github.com/prometheus-operator/prometheus-operator/pkg/prometheus"
	promclient "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	promconfig "github.com/prometheus/prometheus/config"
	// Registers kubernetes_sd_configs, which the operator writes for ServiceMonitors.
	_ "github.com/prometheus/prometheus/discovery/kubernetes"
	promlabels "github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/scrape"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/cache"
	"sigs.k8s.io/yaml"
)

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "operator-config: "+format+"\n", args...)
	os.Exit(1)
}

// list returns the operator's ListAllByNamespaceFn over objs: those in the namespace whose
// labels the selector matches, as the operator's informers would list them.
func list[T metav1.Object](objs []T) prompkg.ListAllByNamespaceFn {
	return func(ns string, sel labels.Selector, appendFn cache.AppendFunc) error {
		for _, o := range objs {
			if o.GetNamespace() == ns && sel.Matches(labels.Set(o.GetLabels())) {
				appendFn(o)
			}
		}
		return nil
	}
}

// accepted fails unless every object was selected and none was rejected.
func accepted[T operator.ConfigurationResource](kind string, sel operator.TypedResourcesSelection[T], total int) map[string]T {
	valid := sel.ValidResources()
	for key := range sel {
		if _, ok := valid[key]; !ok {
			fail("%s %s rejected by the operator (its reason is logged above)", kind, key)
		}
	}
	if len(sel) != total {
		fail("%d of %d %ss selected: the others lack the labels the chart's Prometheus selects by, or are in another namespace", len(sel), total, kind)
	}
	return valid
}

func main() {
	namespace := flag.String("namespace", "monitoring", "the namespace of the chart's Prometheus")
	release := flag.String("release", "kube-prometheus-stack", "the chart's release: its selectors' `release` label")
	version := flag.String("version", "", "Prometheus's release (the chart's prometheusSpec.version: the image tag)")
	interval := flag.String("scrape-interval", "30s", "prometheusSpec.scrapeInterval")
	evaluation := flag.String("evaluation-interval", "30s", "prometheusSpec.evaluationInterval")
	targets := flag.Bool("targets", false, "print each job's targets' labels instead of the configuration")
	flag.Parse()

	var (
		sMons  []*monitoringv1.ServiceMonitor
		probes []*monitoringv1.Probe
		sCons  []*monitoringv1alpha1.ScrapeConfig
	)
	for _, name := range flag.Args() {
		data, err := os.ReadFile(name)
		if err != nil {
			fail("%v", err)
		}
		var meta metav1.TypeMeta
		if err := yaml.Unmarshal(data, &meta); err != nil {
			fail("%s: %v", name, err)
		}
		var target any
		switch meta.Kind {
		case "ServiceMonitor":
			o := &monitoringv1.ServiceMonitor{}
			sMons, target = append(sMons, o), o
		case "Probe":
			o := &monitoringv1.Probe{}
			probes, target = append(probes, o), o
		case "ScrapeConfig":
			o := &monitoringv1alpha1.ScrapeConfig{}
			sCons, target = append(sCons, o), o
		default:
			fail("%s: not a scrape object: %q", name, meta.Kind)
		}
		if err := yaml.UnmarshalStrict(data, target); err != nil {
			fail("%s: %v", name, err)
		}
	}

	// As kube-prometheus-stack makes its Prometheus: the selectors match the release label
	// (`*SelectorNilUsesHelmValues: true`, its default); the objects are in its namespace.
	selector := &metav1.LabelSelector{MatchLabels: map[string]string{"release": *release}}
	p := &monitoringv1.Prometheus{
		ObjectMeta: metav1.ObjectMeta{Name: *release + "-prometheus", Namespace: *namespace},
		Spec: monitoringv1.PrometheusSpec{
			CommonPrometheusFields: monitoringv1.CommonPrometheusFields{
				Version:                *version,
				ScrapeInterval:         monitoringv1.Duration(*interval),
				ServiceMonitorSelector: selector,
				ProbeSelector:          selector,
				ScrapeConfigSelector:   selector,
			},
			EvaluationInterval: monitoringv1.Duration(*evaluation),
		},
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	client := fake.NewClientset()
	store := assets.NewStoreBuilder(client.CoreV1(), client.CoreV1())
	rs, err := prompkg.NewResourceSelector(logger, p, store, nil, operator.NewMetrics(promclient.NewPedanticRegistry()), operator.NewFakeRecorder(100, p))
	if err != nil {
		fail("%v", err)
	}
	ctx := context.Background()
	sm, err := rs.SelectServiceMonitors(ctx, list(sMons))
	if err != nil {
		fail("%v", err)
	}
	pr, err := rs.SelectProbes(ctx, list(probes))
	if err != nil {
		fail("%v", err)
	}
	sc, err := rs.SelectScrapeConfigs(ctx, list(sCons))
	if err != nil {
		fail("%v", err)
	}
	cg, err := prompkg.NewConfigGenerator(logger, p)
	if err != nil {
		fail("%v", err)
	}
	out, err := cg.GenerateServerConfiguration(
		p,
		accepted("ServiceMonitor", sm, len(sMons)),
		nil,
		accepted("Probe", pr, len(probes)),
		accepted("ScrapeConfig", sc, len(sCons)),
		store,
		nil, nil, nil, nil,
	)
	if err != nil {
		fail("%v", err)
	}
	if !*targets {
		os.Stdout.Write(out)
		return
	}
	printTargets(string(out), sMons, probes, sCons)
}

// discovered is what Kubernetes service discovery (role endpoints) gives a ready pod's port
// behind a Service that carries the ServiceMonitor's selector labels in the namespace it
// selects (the meta labels Prometheus documents for that role).
func discovered(sm *monitoringv1.ServiceMonitor) model.LabelSet {
	ns := sm.Namespace
	if names := sm.Spec.NamespaceSelector.MatchNames; len(names) > 0 {
		ns = names[0]
	}
	ls := model.LabelSet{
		"__meta_kubernetes_namespace":                    model.LabelValue(ns),
		"__meta_kubernetes_service_name":                 "the-service",
		"__meta_kubernetes_pod_name":                     "the-pod",
		"__meta_kubernetes_pod_container_name":           "the-container",
		"__meta_kubernetes_pod_phase":                    "Running",
		"__meta_kubernetes_pod_ready":                    "true",
		"__meta_kubernetes_endpoint_ready":               "true",
		"__meta_kubernetes_endpoint_address_target_kind": "Pod",
		"__meta_kubernetes_endpoint_address_target_name": "the-pod",
		"__meta_kubernetes_endpoints_name":               "the-service",
	}
	for k, v := range sm.Spec.Selector.MatchLabels {
		name := model.LabelName("__meta_kubernetes_service_label_" + strutil(k))
		ls[name] = model.LabelValue(v)
		ls[model.LabelName("__meta_kubernetes_service_labelpresent_"+strutil(k))] = "true"
	}
	port := 0
	for _, e := range sm.Spec.Endpoints {
		if e.Port != "" {
			ls["__meta_kubernetes_endpoint_port_name"] = model.LabelValue(e.Port)
			ls["__meta_kubernetes_pod_container_port_name"] = model.LabelValue(e.Port)
		}
		if e.TargetPort != nil && e.TargetPort.IntVal != 0 {
			port = int(e.TargetPort.IntVal)
		}
	}
	if port == 0 {
		port = 9100
	}
	ls["__meta_kubernetes_pod_container_port_number"] = model.LabelValue(strconv.Itoa(port))
	ls["__meta_kubernetes_endpoint_port_protocol"] = "TCP"
	ls["__meta_kubernetes_pod_container_port_protocol"] = "TCP"
	ls[model.AddressLabel] = model.LabelValue("10.0.0.1:" + strconv.Itoa(port))
	return ls
}

// strutil sanitizes a Kubernetes label name as service discovery does (every character that
// is not a letter, a digit or `_` becomes `_`).
func strutil(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			return r
		}
		return '_'
	}, s)
}

func printTargets(text string, sMons []*monitoringv1.ServiceMonitor, probes []*monitoringv1.Probe, sCons []*monitoringv1alpha1.ScrapeConfig) {
	text = strings.ReplaceAll(text, "$(SHARD)", "0")
	text = strings.ReplaceAll(text, "$(POD_NAME)", "prometheus-0")
	cfg, err := promconfig.Load(text, slog.New(slog.DiscardHandler))
	if err != nil {
		fail("the generated configuration does not load: %v", err)
	}
	byJob := map[string][]model.LabelSet{}
	for _, sm := range sMons {
		for i := range sm.Spec.Endpoints {
			job := fmt.Sprintf("serviceMonitor/%s/%s/%d", sm.Namespace, sm.Name, i)
			byJob[job] = append(byJob[job], discovered(sm))
		}
	}
	for _, p := range probes {
		job := fmt.Sprintf("probe/%s/%s", p.Namespace, p.Name)
		if sc := p.Spec.Targets.StaticConfig; sc != nil {
			for _, t := range sc.Targets {
				ls := model.LabelSet{model.AddressLabel: model.LabelValue(t)}
				for k, v := range sc.Labels {
					ls[model.LabelName(k)] = model.LabelValue(v)
				}
				byJob[job] = append(byJob[job], ls)
			}
		}
	}
	for _, c := range sCons {
		job := fmt.Sprintf("scrapeConfig/%s/%s", c.Namespace, c.Name)
		for _, s := range c.Spec.StaticConfigs {
			for _, t := range s.Targets {
				ls := model.LabelSet{model.AddressLabel: model.LabelValue(t)}
				for k, v := range s.Labels {
					ls[model.LabelName(k)] = model.LabelValue(v)
				}
				byJob[job] = append(byJob[job], ls)
			}
		}
	}
	scrapeConfigs, err := cfg.GetScrapeConfigs()
	if err != nil {
		fail("%v", err)
	}
	enc := json.NewEncoder(os.Stdout)
	seen := 0
	for _, sc := range scrapeConfigs {
		found, ok := byJob[sc.JobName]
		if !ok {
			fail("job %s: no object of ours", sc.JobName)
		}
		seen++
		for _, t := range found {
			lb := promlabels.NewBuilder(promlabels.EmptyLabels())
			res, err := scrape.PopulateLabels(lb, sc, t, nil)
			if err != nil {
				fail("job %s: %v", sc.JobName, err)
			}
			enc.Encode(map[string]any{"job_name": sc.JobName, "labels": res.Map()})
		}
	}
	if seen != len(byJob) {
		fail("%d jobs generated for %d objects' jobs", seen, len(byJob))
	}
}

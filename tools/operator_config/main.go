// Command operator-config turns the Prometheus Operator objects sightline generates for
// Kubernetes (ServiceMonitor, Probe, ScrapeConfig) into the Prometheus configuration the
// operator itself writes for them, with the operator's own code at the release whose CRDs the
// tests validate against (github.com/prometheus-operator/prometheus-operator, pkg/prometheus).
// It selects the objects as kube-prometheus-stack's Prometheus does (its namespace, the label
// `release: <release>`), runs the operator's validation of each, and fails when one is not
// selected or is rejected; otherwise it prints the generated prometheus.yml on stdout, for
// promtool. No cluster is needed: the objects are read from files, the Secrets store is empty.
//
// With -targets it prints instead, per job of that configuration, the labels of each target
// Prometheus would scrape, as Prometheus itself gives them (its scrape.PopulateLabels at the
// release the stack runs), one JSON object per line. The targets are what service discovery
// would find: for a ServiceMonitor's job (role endpoints), each port of each Service among the
// files, in the namespaces the job discovers, with the pods of the Deployments among the files
// that the Service selects (the meta labels Prometheus documents for that role, made from those
// objects, not from the ServiceMonitor); for a Probe or a ScrapeConfig, each static target. A
// target the job's relabelling drops is not printed. The config reloader's placeholders are
// filled as it fills them (`$(SHARD)` 0, `$(POD_NAME)` the pod's name).
//
// Usage:
//
//	operator-config [-targets] -namespace NS -release R -values OVERLAY FILE...
//
// OVERLAY is the kube-prometheus-stack values overlay, whose prometheus.prometheusSpec gives
// the Prometheus object its release (image.tag), intervals, external labels and remote-write
// receivers, as the chart passes them on. A FILE is a ServiceMonitor, Probe or ScrapeConfig to
// select; a Service or Deployment for service discovery to find (-targets); or a Secret the
// operator reads a login from (the remote-write receivers').
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"slices"
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
	"github.com/prometheus/prometheus/discovery/kubernetes"
	promlabels "github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/scrape"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/cache"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "operator-config: "+format+"\n", args...)
	os.Exit(1)
}

// strict decodes a YAML object as the API server does: a field the type does not have, or a
// field in another case than its own, is an error.
func strict(name string, data []byte, target any) {
	j, err := yaml.YAMLToJSON(data)
	if err != nil {
		fail("%s: %v", name, err)
	}
	strictJSON(name, j, target)
}

func strictJSON(name string, j []byte, target any) {
	strictErrs, err := sigsjson.UnmarshalStrict(j, target)
	if err != nil {
		fail("%s: %v", name, err)
	}
	if len(strictErrs) > 0 {
		fail("%s: %v", name, errors.Join(strictErrs...))
	}
}

// add appends a new object of the list's type to it, and returns the list and the object.
func add[T any](list []*T) ([]*T, *T) {
	o := new(T)
	return append(list, o), o
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
	valuesFile := flag.String("values", "", "the kube-prometheus-stack values overlay")
	targets := flag.Bool("targets", false, "print each job's targets' labels instead of the configuration")
	flag.Parse()

	var (
		sMons  []*monitoringv1.ServiceMonitor
		probes []*monitoringv1.Probe
		sCons  []*monitoringv1alpha1.ScrapeConfig
		// What a ServiceMonitor's service discovery finds (-targets).
		services    []*corev1.Service
		deployments []*appsv1.Deployment
		// What the operator reads logins from.
		secrets []*corev1.Secret
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
			sMons, target = add(sMons)
		case "Probe":
			probes, target = add(probes)
		case "ScrapeConfig":
			sCons, target = add(sCons)
		case "Service":
			services, target = add(services)
		case "Deployment":
			deployments, target = add(deployments)
		case "Secret":
			secrets, target = add(secrets)
		default:
			fail("%s: not an object this reads: %q", name, meta.Kind)
		}
		strict(name, data, target)
	}

	// What the chart passes on from the overlay's prometheus.prometheusSpec.
	var overlay struct {
		Prometheus struct {
			PrometheusSpec struct {
				Image              struct{ Tag string }
				ScrapeInterval     monitoringv1.Duration
				ScrapeTimeout      monitoringv1.Duration
				EvaluationInterval monitoringv1.Duration
				ExternalLabels     map[string]string
				RemoteWrite        []monitoringv1.RemoteWriteSpec
			}
		}
	}
	data, err := os.ReadFile(*valuesFile)
	if err != nil {
		fail("-values: %v", err)
	}
	if err := yaml.Unmarshal(data, &overlay); err != nil {
		fail("%s: %v", *valuesFile, err)
	}
	spec := overlay.Prometheus.PrometheusSpec
	// The receivers as the API server reads them from the Prometheus object: a field it does
	// not have, or one in another case, is an error, not dropped.
	var raw struct {
		Prometheus struct {
			PrometheusSpec struct {
				RemoteWrite json.RawMessage `json:"remoteWrite"`
			} `json:"prometheusSpec"`
		} `json:"prometheus"`
	}
	if j, err := yaml.YAMLToJSON(data); err != nil || json.Unmarshal(j, &raw) != nil {
		fail("%s: not YAML", *valuesFile)
	}
	if r := raw.Prometheus.PrometheusSpec.RemoteWrite; len(r) > 0 {
		var checked []monitoringv1.RemoteWriteSpec
		strictJSON(*valuesFile+": prometheus.prometheusSpec.remoteWrite", r, &checked)
	}
	// As kube-prometheus-stack makes its Prometheus: the selectors match the release label
	// (`*SelectorNilUsesHelmValues: true`, its default); the objects are in its namespace.
	selector := &metav1.LabelSelector{MatchLabels: map[string]string{"release": *release}}
	// And in every namespace (the chart's `*NamespaceSelector: {}`): the operator lists the
	// cluster's namespaces, here the ones the objects are in.
	every := &metav1.LabelSelector{}
	namespaces := cache.NewSharedIndexInformer(&cache.ListWatch{}, &corev1.Namespace{}, 0, cache.Indexers{})
	for _, ns := range append([]string{*namespace}, objectNamespaces(sMons, probes, sCons, services)...) {
		namespaces.GetStore().Add(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
	}
	p := &monitoringv1.Prometheus{
		ObjectMeta: metav1.ObjectMeta{Name: *release + "-prometheus", Namespace: *namespace},
		Spec: monitoringv1.PrometheusSpec{
			CommonPrometheusFields: monitoringv1.CommonPrometheusFields{
				Version:                         spec.Image.Tag,
				ScrapeInterval:                  spec.ScrapeInterval,
				ScrapeTimeout:                   spec.ScrapeTimeout,
				ExternalLabels:                  spec.ExternalLabels,
				RemoteWrite:                     spec.RemoteWrite,
				ServiceMonitorSelector:          selector,
				ServiceMonitorNamespaceSelector: every,
				ProbeSelector:                   selector,
				ProbeNamespaceSelector:          every,
				ScrapeConfigSelector:            selector,
				ScrapeConfigNamespaceSelector:   every,
			},
			EvaluationInterval: spec.EvaluationInterval,
		},
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	var objs []runtime.Object
	for _, s := range secrets {
		// As the API server stores it: `stringData` written into `data`.
		for k, v := range s.StringData {
			if s.Data == nil {
				s.Data = map[string][]byte{}
			}
			s.Data[k] = []byte(v)
		}
		objs = append(objs, s)
	}
	client := fake.NewClientset(objs...)
	store := assets.NewStoreBuilder(client.CoreV1(), client.CoreV1())
	rs, err := prompkg.NewResourceSelector(logger, p, store, namespaces, operator.NewMetrics(promclient.NewPedanticRegistry()), operator.NewFakeRecorder(100, p))
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
	// As the operator does before it writes the configuration: each receiver checked, its
	// login read from its Secrets.
	if err := cg.AddRemoteWriteToStore(ctx, store, p.Namespace, p.Spec.RemoteWrite); err != nil {
		fail("remoteWrite: %v", err)
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
	printTargets(string(out), sMons, probes, sCons, services, deployments)
}

// objectNamespaces is every namespace an object is in.
func objectNamespaces(sMons []*monitoringv1.ServiceMonitor, probes []*monitoringv1.Probe, sCons []*monitoringv1alpha1.ScrapeConfig, services []*corev1.Service) []string {
	var out []string
	for _, o := range sMons {
		out = append(out, o.Namespace)
	}
	for _, o := range probes {
		out = append(out, o.Namespace)
	}
	for _, o := range sCons {
		out = append(out, o.Namespace)
	}
	for _, o := range services {
		out = append(out, o.Namespace)
	}
	return out
}

// endpoints is what Kubernetes service discovery with role endpoints finds in the namespaces
// `names` (all when empty): for each Service, a target per Service port on a ready pod of each
// Deployment the Service selects, with the pod's container port that the Service's targetPort
// names or numbers, and a target per container port of the pod that no Service port covers
// (the meta labels of Prometheus's documentation of that role).
func endpoints(names []string, services []*corev1.Service, deployments []*appsv1.Deployment) []model.LabelSet {
	var out []model.LabelSet
	for _, svc := range services {
		if len(names) > 0 && !slices.Contains(names, svc.Namespace) {
			continue
		}
		for _, d := range deployments {
			pod := d.Spec.Template
			if d.Namespace != svc.Namespace || len(svc.Spec.Selector) == 0 || !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(pod.Labels)) {
				continue
			}
			podName := d.Name + "-0"
			seen := false
			for _, sp := range svc.Spec.Ports {
				if sp.TargetPort.Type == intstr.Int && sp.TargetPort.IntVal == 0 {
					// Unset: Kubernetes makes it the Service's port.
					sp.TargetPort = intstr.FromInt32(sp.Port)
				}
				ls := base(svc, pod, podName)
				ls["__meta_kubernetes_endpoint_port_name"] = model.LabelValue(sp.Name)
				ls["__meta_kubernetes_endpoint_port_protocol"] = model.LabelValue(protocol(sp.Protocol))
				ls["__meta_kubernetes_endpoint_ready"] = "true"
				ls["__meta_kubernetes_endpoint_address_target_kind"] = "Pod"
				ls["__meta_kubernetes_endpoint_address_target_name"] = model.LabelValue(podName)
				ls["__meta_kubernetes_endpoint_node_name"] = "the-node"
				port := 0
				for _, c := range pod.Spec.Containers {
					for _, cp := range c.Ports {
						if targets(sp, cp) {
							port = int(cp.ContainerPort)
							ls["__meta_kubernetes_pod_container_name"] = model.LabelValue(c.Name)
							ls["__meta_kubernetes_pod_container_image"] = model.LabelValue(c.Image)
							ls["__meta_kubernetes_pod_container_init"] = "false"
							ls["__meta_kubernetes_pod_container_image"] = model.LabelValue(c.Image)
							ls["__meta_kubernetes_pod_container_init"] = "false"
							ls["__meta_kubernetes_pod_container_port_name"] = model.LabelValue(cp.Name)
							ls["__meta_kubernetes_pod_container_port_number"] = model.LabelValue(strconv.Itoa(port))
							ls["__meta_kubernetes_pod_container_port_protocol"] = model.LabelValue(protocol(cp.Protocol))
						}
					}
				}
				if port == 0 {
					if sp.TargetPort.Type == intstr.String {
						// A name no container port has: the endpoints controller leaves the pod
						// out of this port.
						continue
					}
					// A number no container declares: the endpoint is that port.
					port = sp.TargetPort.IntValue()
				}
				seen = true
				ls[model.AddressLabel] = model.LabelValue("10.0.0.1:" + strconv.Itoa(port))
				out = append(out, ls)
			}
			if !seen {
				// In no endpoint: service discovery does not see the pod at all.
				continue
			}
			// And a target for each container port no Service port covers, with the pod's
			// and the Service's labels but no endpoint port's.
			for _, c := range pod.Spec.Containers {
				for _, cp := range c.Ports {
					if slices.ContainsFunc(svc.Spec.Ports, func(sp corev1.ServicePort) bool { return targets(sp, cp) }) {
						continue
					}
					ls := base(svc, pod, podName)
					ls["__meta_kubernetes_pod_container_name"] = model.LabelValue(c.Name)
					ls["__meta_kubernetes_pod_container_image"] = model.LabelValue(c.Image)
					ls["__meta_kubernetes_pod_container_init"] = "false"
					ls["__meta_kubernetes_pod_container_port_name"] = model.LabelValue(cp.Name)
					ls["__meta_kubernetes_pod_container_port_number"] = model.LabelValue(strconv.Itoa(int(cp.ContainerPort)))
					ls["__meta_kubernetes_pod_container_port_protocol"] = model.LabelValue(protocol(cp.Protocol))
					ls[model.AddressLabel] = model.LabelValue("10.0.0.1:" + strconv.Itoa(int(cp.ContainerPort)))
					out = append(out, ls)
				}
			}
		}
	}
	return out
}

// targets says whether a Service port's targetPort is a container port: by its name or its
// number.
func targets(sp corev1.ServicePort, cp corev1.ContainerPort) bool {
	if sp.TargetPort.Type == intstr.String {
		return cp.Name == sp.TargetPort.StrVal
	}
	return cp.ContainerPort == sp.TargetPort.IntVal
}

// base is the meta labels of every target of a pod behind a Service: the namespace, the
// Service's name and labels, the pod's name, state and labels.
func base(svc *corev1.Service, pod corev1.PodTemplateSpec, podName string) model.LabelSet {
	ls := model.LabelSet{
		"__meta_kubernetes_namespace":      model.LabelValue(svc.Namespace),
		"__meta_kubernetes_endpoints_name": model.LabelValue(svc.Name),
		"__meta_kubernetes_service_name":   model.LabelValue(svc.Name),
		"__meta_kubernetes_pod_name":       model.LabelValue(podName),
		"__meta_kubernetes_pod_ready":      "true",
		"__meta_kubernetes_pod_phase":      "Running",
		"__meta_kubernetes_pod_ip":         "10.0.0.1",
		"__meta_kubernetes_pod_node_name":  "the-node",
		"__meta_kubernetes_pod_host_ip":    "192.168.0.1",
		"__meta_kubernetes_pod_uid":        "00000000-0000-0000-0000-000000000001",
		// A Deployment's pod belongs to its ReplicaSet.
		"__meta_kubernetes_pod_controller_kind": "ReplicaSet",
		"__meta_kubernetes_pod_controller_name": model.LabelValue(podName + "-rs"),
	}
	// The Endpoints object carries the Service's labels too.
	for _, prefix := range []string{"service", "endpoints"} {
		for k, v := range svc.Labels {
			ls[model.LabelName("__meta_kubernetes_"+prefix+"_label_"+strutil(k))] = model.LabelValue(v)
			ls[model.LabelName("__meta_kubernetes_"+prefix+"_labelpresent_"+strutil(k))] = "true"
		}
	}
	for k, v := range pod.Labels {
		ls[model.LabelName("__meta_kubernetes_pod_label_"+strutil(k))] = model.LabelValue(v)
		ls[model.LabelName("__meta_kubernetes_pod_labelpresent_"+strutil(k))] = "true"
	}
	return ls
}

func protocol(p corev1.Protocol) string {
	if p == "" {
		return "TCP"
	}
	return string(p)
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

func printTargets(text string, sMons []*monitoringv1.ServiceMonitor, probes []*monitoringv1.Probe, sCons []*monitoringv1alpha1.ScrapeConfig, services []*corev1.Service, deployments []*appsv1.Deployment) {
	text = strings.ReplaceAll(text, "$(SHARD)", "0")
	text = strings.ReplaceAll(text, "$(POD_NAME)", "prometheus-0")
	cfg, err := promconfig.Load(text, slog.New(slog.DiscardHandler))
	if err != nil {
		fail("the generated configuration does not load: %v", err)
	}
	byJob := map[string][]model.LabelSet{}
	for _, sm := range sMons {
		for i := range sm.Spec.Endpoints {
			byJob[fmt.Sprintf("serviceMonitor/%s/%s/%d", sm.Namespace, sm.Name, i)] = nil
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
		for _, sd := range sc.ServiceDiscoveryConfigs {
			k, ok := sd.(*kubernetes.SDConfig)
			if !ok {
				continue
			}
			if k.Role != kubernetes.RoleEndpoint {
				fail("job %s: service discovery role %s, not endpoints", sc.JobName, k.Role)
			}
			found = append(found, endpoints(k.NamespaceDiscovery.Names, services, deployments)...)
		}
		for _, t := range found {
			lb := promlabels.NewBuilder(promlabels.EmptyLabels())
			res, err := scrape.PopulateLabels(lb, sc, t, nil)
			if err != nil {
				fail("job %s: %v", sc.JobName, err)
			}
			if res.IsEmpty() {
				continue
			}
			enc.Encode(map[string]any{"job_name": sc.JobName, "labels": res.Map()})
		}
	}
	if seen != len(byJob) {
		fail("%d jobs generated for %d objects' jobs", seen, len(byJob))
	}
}

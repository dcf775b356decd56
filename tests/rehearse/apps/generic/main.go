// An `http` service of framework `generic`, for the rehearsal: a Go server instrumented with
// client_golang's promhttp middleware at its defaults (http_requests_total{code,method},
// http_request_duration_seconds with the default buckets), the usual Go instrumentation.
//
// Routes: / (200), /status/{code}, /slow/{ms}, $LIVE_PATH and $READY_PATH (503 after
// POST /control/ready/0), POST /control/fds/{n} (opens n more file descriptors and keeps them
// open, as a leak would), and $METRICS_PATH (on its own listener at $METRICS_ADDR when that is
// set, as an application with a separate admin port serves it).
package main

import (
	"encoding/json"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func main() {
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "http_requests_total", Help: "HTTP requests."}, []string{"code", "method"})
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "http_request_duration_seconds", Help: "HTTP request duration.", Buckets: prometheus.DefBuckets}, []string{"code", "method"})
	prometheus.MustRegister(requests, duration)
	var ready atomic.Bool
	ready.Store(true)

	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("/status/{code}", func(w http.ResponseWriter, r *http.Request) {
		code, err := strconv.Atoi(r.PathValue("code"))
		if err != nil {
			code = 400
		}
		w.WriteHeader(code)
	})
	mux.HandleFunc("/slow/{ms}", func(w http.ResponseWriter, r *http.Request) {
		ms, _ := strconv.Atoi(r.PathValue("ms"))
		time.Sleep(time.Duration(ms) * time.Millisecond)
	})
	mux.HandleFunc("POST /control/ready/{ok}", func(w http.ResponseWriter, r *http.Request) { ready.Store(r.PathValue("ok") != "0") })
	var leaked []*os.File
	var leak sync.Mutex
	mux.HandleFunc("POST /control/fds/{n}", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.PathValue("n"))
		leak.Lock()
		defer leak.Unlock()
		for range n {
			f, err := os.Open(os.DevNull)
			if err != nil {
				w.WriteHeader(http.StatusInsufficientStorage)
				return
			}
			leaked = append(leaked, f)
		}
	})
	// One handler a path: the readiness one when both endpoints are the same path, none for
	// "/" (which answers 200 already).
	if p := os.Getenv("LIVE_PATH"); p != "" && p != "/" && p != os.Getenv("READY_PATH") {
		mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {})
	}
	if p := os.Getenv("READY_PATH"); p != "" && p != "/" {
		mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {
			if !ready.Load() {
				w.WriteHeader(http.StatusServiceUnavailable)
			}
		})
	}
	var app http.Handler = promhttp.InstrumentHandlerDuration(duration, promhttp.InstrumentHandlerCounter(requests, mux))
	app = custom(app)
	top := http.NewServeMux()
	metrics := os.Getenv("METRICS_PATH")
	if metrics == "" {
		metrics = "/metrics"
	}
	if addr := os.Getenv("METRICS_ADDR"); addr != "" {
		admin := http.NewServeMux()
		admin.Handle(metrics, promhttp.Handler())
		go func() { panic(http.ListenAndServe(addr, admin)) }()
	} else {
		top.Handle(metrics, promhttp.Handler())
	}
	top.Handle("/", app)
	if err := http.ListenAndServe(os.Args[1], top); err != nil {
		panic(err)
	}
}

// custom adds the metrics a manifest's `metric_names` names ($SIGHTLINE_METRICS, set by the
// rehearsal), as an application with its own instrumentation would expose them.
func custom(next http.Handler) http.Handler {
	raw := os.Getenv("SIGHTLINE_METRICS")
	if raw == "" {
		return next
	}
	var m struct {
		Requests    string    `json:"requests"`
		Duration    string    `json:"duration"`
		StatusLabel string    `json:"status_label"`
		Buckets     []float64 `json:"buckets"`
		Grouped     bool      `json:"grouped"`
		Scale       float64   `json:"scale"`
	}
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		panic(err)
	}
	labels := []string{m.StatusLabel, "method"}
	hist := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: m.Duration, Help: "Request duration.", Buckets: m.Buckets}, labels)
	prometheus.MustRegister(hist)
	var count *prometheus.CounterVec
	if m.Requests != m.Duration+"_count" {
		count = prometheus.NewCounterVec(prometheus.CounterOpts{Name: m.Requests, Help: "Requests."}, labels)
		prometheus.MustRegister(count)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &status{ResponseWriter: w, code: http.StatusOK}
		next.ServeHTTP(rec, r)
		code := strconv.Itoa(rec.code)
		if m.Grouped {
			code = code[:1] + "xx"
		}
		l := prometheus.Labels{m.StatusLabel: code, "method": r.Method}
		hist.With(l).Observe(time.Since(start).Seconds() * m.Scale)
		if count != nil {
			count.With(l).Inc()
		}
	})
}

type status struct {
	http.ResponseWriter
	code int
}

func (s *status) WriteHeader(code int) {
	s.code = code
	s.ResponseWriter.WriteHeader(code)
}

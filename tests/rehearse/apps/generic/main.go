// An `http` service of framework `generic`, for the rehearsal: a Go server instrumented with
// client_golang's promhttp middleware at its defaults (http_requests_total{code,method},
// http_request_duration_seconds with the default buckets), the usual Go instrumentation.
//
// Routes: / (200), /status/{code}, /slow/{ms}, $LIVE_PATH and $READY_PATH (503 after
// POST /control/ready/0), and $METRICS_PATH.
package main

import (
	"net/http"
	"os"
	"strconv"
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
	app := promhttp.InstrumentHandlerDuration(duration, promhttp.InstrumentHandlerCounter(requests, mux))
	top := http.NewServeMux()
	metrics := os.Getenv("METRICS_PATH")
	if metrics == "" {
		metrics = "/metrics"
	}
	top.Handle(metrics, promhttp.Handler())
	top.Handle("/", app)
	if err := http.ListenAndServe(os.Args[1], top); err != nil {
		panic(err)
	}
}

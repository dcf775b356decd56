// Metrics under the names a manifest's `metric_names` gives, when it gives them
// ($SIGHTLINE_METRICS, set by the rehearsal): what an application with its own instrumentation
// would expose. Without it the app keeps its library's defaults only.
const client = require("prom-client");

function customMetrics() {
  if (!process.env.SIGHTLINE_METRICS) return null;
  const m = JSON.parse(process.env.SIGHTLINE_METRICS);
  const labels = [m.status_label, "method"];
  const histogram = new client.Histogram({ name: m.duration, help: "Request duration.", labelNames: labels, buckets: m.buckets });
  const counter = m.requests === `${m.duration}_count` ? null : new client.Counter({ name: m.requests, help: "Requests.", labelNames: labels });
  return (method, status, seconds) => {
    const code = m.grouped ? `${String(status)[0]}xx` : String(status);
    const l = { [m.status_label]: code, method };
    histogram.observe(l, seconds * m.scale);
    if (counter) counter.inc(l);
  };
}

module.exports = { customMetrics };

// An `http` service of framework `express`, for the rehearsal: Express with express-prom-bundle
// at its defaults (only the metrics path follows the manifest; with `metric_names`, also the
// metrics those name, see custom_metrics.js). Routes as the other apps:
// / (200), /status/:code, /slow/:ms, $LIVE_PATH and $READY_PATH (503 after POST
// /control/ready/0), $METRICS_PATH.
const express = require("express");
const promBundle = require("express-prom-bundle");
const { customMetrics } = require("./custom_metrics");

const [host, port] = process.argv[2].split(":");
const app = express();
let ready = true;
app.use(promBundle({ metricsPath: process.env.METRICS_PATH || "/metrics" }));
const observe = customMetrics();
if (observe) {
  app.use((req, res, next) => {
    const start = process.hrtime.bigint();
    res.on("finish", () => observe(req.method, res.statusCode, Number(process.hrtime.bigint() - start) / 1e9));
    next();
  });
}
app.get("/", (req, res) => res.send("ok\n"));
app.get("/status/:code", (req, res) => res.sendStatus(Number(req.params.code)));
app.get("/slow/:ms", (req, res) => setTimeout(() => res.send("ok\n"), Number(req.params.ms)));
app.post("/control/ready/:ok", (req, res) => { ready = req.params.ok !== "0"; res.send("ok\n"); });
if (process.env.LIVE_PATH) app.get(process.env.LIVE_PATH, (req, res) => res.send("ok\n"));
if (process.env.READY_PATH) app.get(process.env.READY_PATH, (req, res) => res.sendStatus(ready ? 200 : 503));
app.listen(Number(port), host);

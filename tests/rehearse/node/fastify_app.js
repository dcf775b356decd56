// An `http` service of framework `fastify`, for the rehearsal: Fastify with fastify-metrics at
// its defaults (only the metrics endpoint follows the manifest; with `metric_names`, also the
// metrics those name, see custom_metrics.js). Routes as the other apps:
// / (200), /status/:code, /slow/:ms, $LIVE_PATH and $READY_PATH (503 after POST
// /control/ready/0), $METRICS_PATH.
const Fastify = require("fastify");
const metrics = require("fastify-metrics");
const { customMetrics } = require("./custom_metrics");

async function main() {
  const [host, port] = process.argv[2].split(":");
  const app = Fastify();
  let ready = true;
  await app.register(metrics.default || metrics, { endpoint: process.env.METRICS_PATH || "/metrics" });
  const observe = customMetrics();
  if (observe) app.addHook("onResponse", async (req, reply) => observe(req.method, reply.statusCode, reply.elapsedTime / 1000));
  app.get("/", async () => "ok\n");
  app.get("/status/:code", async (req, reply) => reply.code(Number(req.params.code)).send(""));
  app.get("/slow/:ms", async (req) => { await new Promise((r) => setTimeout(r, Number(req.params.ms))); return "ok\n"; });
  app.post("/control/ready/:ok", async (req) => { ready = req.params.ok !== "0"; return "ok\n"; });
  if (process.env.LIVE_PATH) app.get(process.env.LIVE_PATH, async () => "ok\n");
  if (process.env.READY_PATH) app.get(process.env.READY_PATH, async (req, reply) => reply.code(ready ? 200 : 503).send(""));
  await app.listen({ host, port: Number(port) });
}
main();

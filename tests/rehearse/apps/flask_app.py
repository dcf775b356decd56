"""An `http` service of framework `flask`, for the rehearsal: Flask instrumented with
prometheus-flask-exporter as its README shows (`PrometheusMetrics(app)`), at its defaults.

Routes, for traffic and faults (the same as the other apps'):
  GET /                      200
  GET /status/<code>         answers with that status (401, 429, 500, ...)
  GET /slow/<ms>             answers 200 after that many milliseconds
  GET $LIVE_PATH, $READY_PATH  200, or 503 once POST /control/ready/0 has been called
  GET $METRICS_PATH          the exporter's metrics

Run: python flask_app.py <address>:<port>
"""

import os
import sys
import time

from flask import Flask, Response
from prometheus_flask_exporter import PrometheusMetrics

app = Flask(__name__)
metrics = PrometheusMetrics(app, path=os.environ.get("METRICS_PATH") or "/metrics")
state = {"ready": True}


@app.get("/")
def root():
    return {"ok": True}


@app.get("/status/<int:code>")
def status(code: int):
    return Response(status=code)


@app.get("/slow/<int:ms>")
def slow(ms: int):
    time.sleep(ms / 1000)
    return {"slept_ms": ms}


@app.post("/control/ready/<int:ok>")
def control_ready(ok: int):
    state["ready"] = bool(ok)
    return {"ready": state["ready"]}


def health(path: str, gate: bool) -> None:
    def handler():
        return Response(status=200 if (state["ready"] or not gate) else 503)

    app.add_url_rule(path, endpoint=f"health{path}", view_func=handler)


if os.environ.get("LIVE_PATH"):
    health(os.environ["LIVE_PATH"], gate=False)
if os.environ.get("READY_PATH"):
    health(os.environ["READY_PATH"], gate=True)

if __name__ == "__main__":
    host, _, port = sys.argv[1].rpartition(":")
    app.run(host=host, port=int(port), threaded=True)

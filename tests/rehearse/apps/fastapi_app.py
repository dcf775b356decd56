"""An `http` service of framework `fastapi`, for the rehearsal: FastAPI instrumented with
prometheus-fastapi-instrumentator exactly as its README shows, with the library's defaults.

Routes, for traffic and faults:
  GET /                      200
  GET /status/{code}         answers with that status (401, 429, 500, ...)
  GET /slow/{ms}             answers 200 after that many milliseconds
  GET $LIVE_PATH, $READY_PATH  200, or 503 once POST /control/ready/0 has been called
  GET $METRICS_PATH          the instrumentator's metrics
"""

import asyncio
import os

from fastapi import FastAPI, Response
from prometheus_fastapi_instrumentator import Instrumentator

app = FastAPI()
state = {"ready": True}


@app.get("/")
async def root():
    return {"ok": True}


@app.get("/status/{code}")
async def status(code: int):
    return Response(status_code=code)


@app.get("/slow/{ms}")
async def slow(ms: int):
    await asyncio.sleep(ms / 1000)
    return {"slept_ms": ms}


@app.post("/control/ready/{ok}")
async def control_ready(ok: int):
    state["ready"] = bool(ok)
    return {"ready": state["ready"]}


def health(path: str, gate: bool):
    async def handler():
        return Response(status_code=200 if (state["ready"] or not gate) else 503)

    app.add_api_route(path, handler, methods=["GET"])


if os.environ.get("LIVE_PATH"):
    health(os.environ["LIVE_PATH"], gate=False)
if os.environ.get("READY_PATH"):
    health(os.environ["READY_PATH"], gate=True)

# With `metric_names` ($SIGHTLINE_METRICS, set by the rehearsal): also the metrics those name,
# as an application with its own instrumentation would expose them.
if os.environ.get("SIGHTLINE_METRICS"):
    import json
    import time

    from prometheus_client import Counter, Histogram

    m = json.loads(os.environ["SIGHTLINE_METRICS"])
    labels = [m["status_label"], "method"]
    histogram = Histogram(m["duration"], "Request duration.", labels, buckets=m["buckets"])
    counter = None if m["requests"] == m["duration"] + "_count" else Counter(m["requests"].removesuffix("_total"), "Requests.", labels)

    @app.middleware("http")
    async def observe(request, call_next):
        start = time.perf_counter()
        response = await call_next(request)
        code = f"{str(response.status_code)[0]}xx" if m["grouped"] else str(response.status_code)
        values = {m["status_label"]: code, "method": request.method}
        histogram.labels(**values).observe((time.perf_counter() - start) * m["scale"])
        if counter:
            counter.labels(**values).inc()
        return response


Instrumentator().instrument(app).expose(app, endpoint=os.environ.get("METRICS_PATH", "/metrics"))

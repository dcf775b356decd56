"""An `http` service of framework `django`, for the rehearsal: a one-file Django project with
django-prometheus as its README shows (its app, its before and after middlewares, its metrics
view), at its defaults.

Routes, for traffic and faults (the same as the other apps'):
  GET /                      200
  GET /status/<code>         answers with that status (401, 429, 500, ...)
  GET /slow/<ms>             answers 200 after that many milliseconds
  GET $LIVE_PATH, $READY_PATH  200, or 503 once POST /control/ready/0 has been called
  GET $METRICS_PATH          django-prometheus's metrics view

Run: python django_app.py <address>:<port>
"""

import os
import sys
import time

import django
from django.conf import settings

settings.configure(
    DEBUG=False,
    ALLOWED_HOSTS=["*"],
    SECRET_KEY="rehearsal-only",
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=["django_prometheus"],
    MIDDLEWARE=[
        "django_prometheus.middleware.PrometheusBeforeMiddleware",
        "django_prometheus.middleware.PrometheusAfterMiddleware",
    ],
)
django.setup()

from django.http import HttpResponse, JsonResponse  # noqa: E402
from django.urls import path  # noqa: E402
from django.views.decorators.csrf import csrf_exempt  # noqa: E402
from django_prometheus.exports import ExportToDjangoView  # noqa: E402

state = {"ready": True}


def root(request):
    return JsonResponse({"ok": True})


def status(request, code):
    return HttpResponse(status=code)


def slow(request, ms):
    time.sleep(ms / 1000)
    return JsonResponse({"slept_ms": ms})


@csrf_exempt
def control_ready(request, ok):
    state["ready"] = bool(ok)
    return JsonResponse({"ready": state["ready"]})


def health(gate: bool):
    def handler(request):
        return HttpResponse(status=200 if (state["ready"] or not gate) else 503)

    return handler


urlpatterns = [
    path("", root, name="root"),
    path("status/<int:code>", status, name="status"),
    path("slow/<int:ms>", slow, name="slow"),
    path("control/ready/<int:ok>", control_ready, name="control-ready"),
    path((os.environ.get("METRICS_PATH") or "/metrics").lstrip("/"), ExportToDjangoView, name="prometheus-django-metrics"),
]
for variable, gate in (("LIVE_PATH", False), ("READY_PATH", True)):
    if os.environ.get(variable):
        urlpatterns.append(path(os.environ[variable].lstrip("/"), health(gate), name=variable.lower()))

if __name__ == "__main__":
    from django.core.servers.basehttp import run
    from django.core.wsgi import get_wsgi_application

    host, _, port = sys.argv[1].rpartition(":")
    run(host, int(port), get_wsgi_application(), threading=True)

"""A stand-in for one Elasticsearch or OpenSearch node, for the rehearsal (neither server can run
here: no Debian package, no Go module). It answers the three requests elasticsearch_exporter
makes at its defaults (`/`, `/_cluster/health`, `/_nodes/_local/stats`) with responses
captured from real nodes: the exporter's own test fixtures at the release the stack runs
(`fixtures/clusterinfo/7.13.1.json`, `fixtures/clusterhealth/5.4.2.json`,
`fixtures/nodestats/7.13.1.json` in its Go module, read where `go mod download` puts it; none is
copied into this repository). The rehearsal changes what it reports through
`POST /_rehearsal/<setting>/<value>`: the cluster's health (`status`), the share of the heap
used (`heap`), the share of the data path free (`free`), the pending cluster tasks
(`pending`), and security asking for a login (`secure` 1: every request is answered 401 with
the body and header Elasticsearch's security answers a request without credentials with). Searches and indexed documents grow with time, so rates have something to show.
Each change is logged as the server logs, in its format (Elasticsearch's JSON lines,
OpenSearch's bracketed ones).

With `SEARCH_NODE_LOGIN=user:password` in its environment, its security is on from the start
and takes that login (HTTP basic authentication), as a node whose security asks for one;
`GET /_rehearsal/logins` says how many requests came with it and how many were refused.

Usage: search_node.py ADDRESS PORT FIXTURES elasticsearch|opensearch NAME
"""

import base64
import copy
import json
import os
import sys
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

address, port, fixtures, distribution, name = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3]), sys.argv[4], sys.argv[5]
INFO = json.loads((fixtures / "clusterinfo/7.13.1.json").read_text())
HEALTH = json.loads((fixtures / "clusterhealth/5.4.2.json").read_text())
STATS = json.loads((fixtures / "nodestats/7.13.1.json").read_text())
CLUSTER = f"{name}-cluster"
STARTED = time.time()
LOGIN = os.environ.get("SEARCH_NODE_LOGIN", "")
state = {"status": "green", "heap": 0.3, "free": 0.6, "pending": 0, "secure": 1 if LOGIN else 0}
logins = {"accepted": 0, "refused": 0}
# Elasticsearch's answer to a request without credentials, security on.
REFUSED = {
    "error": {
        "root_cause": [{"type": "security_exception", "reason": "missing authentication credentials for REST request [/]", "header": {"WWW-Authenticate": ['Basic realm="security" charset="UTF-8"', "ApiKey"]}}],
        "type": "security_exception",
        "reason": "missing authentication credentials for REST request [/]",
        "header": {"WWW-Authenticate": ['Basic realm="security" charset="UTF-8"', "ApiKey"]},
    },
    "status": 401,
}
lock = threading.Lock()


def log(level: str, message: str) -> None:
    now = datetime.now(timezone.utc)
    if distribution == "opensearch":
        stamp = now.strftime("%Y-%m-%dT%H:%M:%S,") + f"{now.microsecond // 1000:03d}"
        line = f"[{stamp}][{level:<5}][o.o.c.r.a.AllocationService] [{name}] {message}"
    else:
        stamp = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
        # ecs-logging pads the level to five characters with the space before it.
        padded = f'"log.level":{" " * (5 - len(level))}"{level}"'
        rest = json.dumps({"message": message, "ecs.version": "1.2.0", "service.name": "ES_ECS", "event.dataset": "elasticsearch.server", "elasticsearch.node.name": name, "elasticsearch.cluster.name": CLUSTER}, separators=(",", ":"))
        line = f'{{"@timestamp":"{stamp}", {padded}, {rest[1:]}'
    print(line, flush=True)


def info() -> dict:
    d = copy.deepcopy(INFO)
    d["name"], d["cluster_name"] = name, CLUSTER
    if distribution == "opensearch":
        d["version"]["distribution"] = "opensearch"
        d["tagline"] = "The OpenSearch Project: https://opensearch.org/"
    return d


def health() -> dict:
    d = copy.deepcopy(HEALTH)
    d["cluster_name"], d["status"], d["number_of_pending_tasks"] = CLUSTER, state["status"], state["pending"]
    unassigned = {"green": 0, "yellow": 5, "red": 10}[state["status"]]
    d["unassigned_shards"] = unassigned
    d["active_shards"] = 10 - unassigned
    d["active_primary_shards"] = 5 if state["status"] != "red" else 0
    return d


def stats() -> dict:
    d = copy.deepcopy(STATS)
    d["cluster_name"] = CLUSTER
    node = next(iter(d["nodes"].values()))
    node["name"], node["host"], node["ip"] = name, address, address
    mem = node["jvm"]["mem"]
    mem["heap_used_in_bytes"] = int(mem["heap_max_in_bytes"] * state["heap"])
    mem["heap_used_percent"] = int(state["heap"] * 100)
    fs = node["fs"]["data"][0]
    fs["path"] = f"/usr/share/{distribution}/data"
    fs["available_in_bytes"] = fs["free_in_bytes"] = int(fs["total_in_bytes"] * state["free"])
    up = time.time() - STARTED
    node["indices"]["indexing"]["index_total"] += int(up * 5)
    node["indices"]["search"]["query_total"] += int(up * 20)
    node["indices"]["search"]["query_time_in_millis"] += int(up * 20 * 3)
    return d


class Handler(BaseHTTPRequestHandler):
    def reply(self, code: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        if code == 401:
            self.send_header("WWW-Authenticate", 'Basic realm="security" charset="UTF-8"')
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0].rstrip("/") or "/"
        if path == "/_rehearsal/logins":
            self.reply(200, logins)
            return
        given = self.headers.get("Authorization", "")
        with lock:
            body = {"/": info, "/_cluster/health": health, "/_nodes/_local/stats": stats}.get(path)
            if state["secure"]:
                if LOGIN and given == "Basic " + base64.b64encode(LOGIN.encode()).decode():
                    logins["accepted"] += 1
                    self.reply(200, body()) if body else self.reply(404, {"status": 404})
                    return
                logins["refused"] += 1
                self.reply(401, REFUSED)
            elif body is None:
                self.reply(404, {"error": f"no handler for {path}", "status": 404})
            else:
                self.reply(200, body())

    def do_POST(self) -> None:
        parts = self.path.strip("/").split("/")
        if len(parts) != 3 or parts[0] != "_rehearsal" or parts[1] not in state:
            self.reply(404, {"error": "unknown control"})
            return
        key, value = parts[1], parts[2]
        with lock:
            state[key] = value if key == "status" else float(value) if key in ("heap", "free") else int(value)
        if key == "status":
            # AllocationService logs the change at INFO.
            log("INFO", f"Cluster health status changed to [{value.upper()}] (reason: [rehearsal]).")
        else:
            log("INFO", f"rehearsal: {key} set to {value}")
        self.reply(200, {"acknowledged": True})

    def log_message(self, *args) -> None:
        pass


log("INFO", f"started {distribution} stand-in on {address}:{port}")
ThreadingHTTPServer((address, port), Handler).serve_forever()

"""The rehearsal: run the stack a manifest generates, natively, and check that it works.

Started by scripts/rehearse inside a private network and mount namespace. It builds the
manifest, reads the generated compose file for each container's command, flags, environment
and mounts, and runs the same programs on loopback, one address per compose service:

- Prometheus, Alertmanager, node-exporter, the exporters, blackbox-exporter and the Pushgateway: the programs
  scripts/tools builds at the releases the stack pins, with the compose file's flags; paths
  inside the container are mapped to the generated tree and to per-volume directories, and
  each program listens on its service's address;
- PostgreSQL, MariaDB, Redis, memcached, nginx, HAProxy and RabbitMQ from Debian for the
  application's postgres, mysql, redis, memcached, nginx, haproxy and rabbitmq services, set up
  as their official
  images would be from the compose environment (HAProxy with the configuration
  docs/manifest.md asks for, in front of the generic app; RabbitMQ with its Prometheus plugin);
- Caddy and Traefik, built by scripts/tools, for the application's caddy and traefik
  services, with the configuration docs/manifest.md asks for, in front of the generic app;
- each `http` service: an app on its framework's instrumentation library with its defaults
  (tests/rehearse/apps/);
- Alertmanager runs a rewritten copy of alertmanager.yml whose receivers all post to a capture
  server in this process (routes, inhibitions and timers unchanged), so a notification is
  seen where Slack or PagerDuty would have received it.

What compose would run and cannot run here (cAdvisor reads a Docker host; Loki and Grafana are
AGPL and not built; Alloy and Promtail read Docker's API) is listed, never skipped silently.

Each check prints one line, `ok` or `FAIL`; the last line is `N passed, N failed`, and the
exit code is 0 only when nothing failed.
"""

from __future__ import annotations

import argparse
import base64
import http.server
import json
import math
import os
import re
import shlex
import shutil
import socketserver
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
import uuid
from concurrent.futures import ThreadPoolExecutor
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
TOOLS = Path(os.environ["SIGHTLINE_TOOLS_BIN"])
SIGHTLINE = os.environ["SIGHTLINE"]
PG_BIN = Path("/usr/lib/postgresql/15/bin")
CAPTURE = ("capture", 9999)
# The file-descriptor limit of the Go app, low enough for its leak control to pass 70% of it.
FD_LIMIT = 256
# memcached's smallest connection limit (`-c`) here. memcached makes it its file-descriptor
# limit too, and its own threads hold 23 descriptors (1.6.18, 4 threads), so a limit of 16
# does not even start (see memcached_limit).
MEMCACHED_CONNS = 256
# A value memcached stores in a slab class of its own (two to a 1 MB page): a few fill its 4 MB.
MEMCACHED_VALUE = 500_000
# PgBouncer's pools here: two server connections each (`default_pool_size`), so a few clients
# running slow queries leave the next ones waiting.
PGBOUNCER_POOL = 2
# What the clients run through PgBouncer to hold its server connections.
PGBOUNCER_SLOW_QUERY = "SELECT pg_sleep(900)"

# What compose would run that cannot run here, and why.
NOT_HERE = {
    "cadvisor": "reads a Docker host's cgroups; its calls to Docker and containerd are rehearsed with the proxies",
    "loki": "AGPL: no Loki binary is built for the tests",
    "grafana": "AGPL: no Grafana binary is built for the tests",
    "alloy": "reads containers through Docker's API",
    "promtail": "reads containers through Docker's API",
}


# --- output ----------------------------------------------------------------------------------


class Report:
    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0

    def check(self, ok: bool, what: str, detail: str = "") -> bool:
        if ok:
            self.passed += 1
            print(f"ok    {what}", flush=True)
        else:
            self.failed += 1
            print(f"FAIL  {what}" + (f": {detail}" if detail else ""), flush=True)
        return ok

    def note(self, what: str) -> None:
        print(f"--    {what}", flush=True)


# --- the capture server ------------------------------------------------------------------------


class Capture:
    """Receives Alertmanager's webhook posts; the path names the receiver."""

    def __init__(self, address: str) -> None:
        self.posts: list[tuple[str, dict]] = []
        capture = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                capture.posts.append((self.path.strip("/"), json.loads(body or b"{}")))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer((address, CAPTURE[1]), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def received(self, alertname: str, labels: dict, status: str = "firing") -> set[str]:
        """Receivers that were notified of an alert with these labels (firing, or resolved)."""
        out = set()
        for receiver, post in self.posts:
            for a in post.get("alerts", []):
                if a.get("status") == status and a["labels"].get("alertname") == alertname and all(
                    a["labels"].get(k) == v for k, v in labels.items()
                ):
                    out.add(receiver)
        return out


# --- processes ---------------------------------------------------------------------------------


class Limits:
    """The memory and process limits of a compose service, enforced by a cgroup of its own, as
    Docker enforces `mem_limit` and `pids_limit` (cgroup v1's `memory` and `pids` hierarchies,
    or v2's unified one). CPU limits are left out: they slow a program down, they do not stop
    it."""

    V1 = Path("/sys/fs/cgroup")
    V2 = Path("/sys/fs/cgroup/cgroup.controllers")
    # One name per run: rehearsals run side by side (scripts/test runs three), each as pid 1 of
    # its own namespace, and a cgroup left by an aborted run must not be reused.
    RUN = uuid.uuid4().hex[:8]

    def __init__(self, name: str, memory: int | None, pids: int | None) -> None:
        self.name, self.memory, self.pids = name, memory, pids
        leaf = f"sightline-rehearse-{self.RUN}-{name}"
        if self.V2.exists():
            # v2 enables controllers for children only where no process lives: the root.
            root = self.V2.parent
            (root / "cgroup.subtree_control").write_text("+memory +pids")
            self.dirs = {"memory": root / leaf, "pids": root / leaf}
        else:
            # v1: below the rehearsal's own cgroup of each hierarchy, so its limits still hold.
            own = {}
            for line in Path("/proc/self/cgroup").read_text().splitlines():
                _, controllers, path = line.split(":", 2)
                for c in controllers.split(","):
                    own[c] = path.lstrip("/")
            self.dirs = {c: self.V1 / c / own.get(c, "") / leaf for c in ("memory", "pids")}
        self.dirs = {c: Path(os.path.normpath(d)) for c, d in self.dirs.items()}
        for d in set(self.dirs.values()):
            d.mkdir()
        # cgroup v1 keeps no peak of processes: a thread samples the count every second.
        self.most = 0
        threading.Thread(target=self._sample, daemon=True).start()
        v2 = self.V2.exists()
        if memory:
            (self.dirs["memory"] / ("memory.max" if v2 else "memory.limit_in_bytes")).write_text(str(memory))
        if pids:
            (self.dirs["pids"] / "pids.max").write_text(str(pids))

    @classmethod
    def of(cls, name: str, service: dict) -> "Limits":
        """The limits a compose service sets (`mem_limit`, `pids_limit`)."""
        memory = size_bytes(service["mem_limit"]) if "mem_limit" in service else None
        return cls(name, memory, service.get("pids_limit"))

    def _sample(self) -> None:
        current = self.dirs["pids"] / "pids.current"
        while current.exists():
            try:
                self.most = max(self.most, int(current.read_text()))
            except (OSError, ValueError):
                return
            time.sleep(1)

    def wrap(self, argv: list[str]) -> list[str]:
        """argv, run by a shell that first moves itself into the cgroups (what it execs stays)."""
        procs = [str(d / "cgroup.procs") for d in sorted(set(self.dirs.values()))]
        return ["sh", "-c", 'while [ "$1" != -- ]; do echo $$ > "$1" || exit 125; shift; done; shift; exec "$@"', "sh", *procs, "--", *argv]

    def _events(self, d: Path, file: str) -> dict[str, int]:
        path = d / file
        if not path.exists():
            return {}
        return {k: int(v) for k, v in (line.split() for line in path.read_text().splitlines())}

    def outcome(self) -> tuple[bool, str]:
        """Whether the program stayed within both limits all along, and its peaks."""
        mem, pids = self.dirs["memory"], self.dirs["pids"]
        if self.V2.exists():
            peak = (mem / "memory.peak").read_text().strip() if (mem / "memory.peak").exists() else "?"
            hit_memory = self._events(mem, "memory.events").get("oom_kill", 0)
        else:
            peak = (mem / "memory.max_usage_in_bytes").read_text().strip()
            hit_memory = self._events(mem, "memory.oom_control").get("oom_kill", 0)
        hit_pids = self._events(pids, "pids.events").get("max", 0)
        peak_mib = f"{int(peak) / 2**20:.0f} MiB" if peak.isdigit() else peak
        limit = f"{self.memory / 2**20:.0f} MiB" if self.memory else "no limit"
        detail = f"memory peak {peak_mib} of {limit}, {hit_memory} killed; at most {self.most} processes and threads of {self.pids}, {hit_pids} refused"
        # A program never seen in its cgroup was not limited at all.
        return self.most > 0 and hit_memory == 0 and hit_pids == 0, detail

    def remove(self) -> None:
        for d in set(self.dirs.values()):
            try:
                d.rmdir()
            except OSError:
                pass


def size_bytes(text: str) -> int:
    """A compose size (`512m`, `1g`, `64k`, bytes) in bytes."""
    units = {"b": 1, "k": 2**10, "m": 2**20, "g": 2**30}
    text = str(text).strip().lower()
    return int(float(text[:-1]) * units[text[-1]]) if text[-1] in units else int(text)


class Processes:
    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.running: dict[str, subprocess.Popen] = {}
        self.limits: dict[str, Limits] = {}

    def start(self, name: str, argv: list[str], env: dict | None = None, user: str | None = None, cwd=None, limits: Limits | None = None, groups: list[str] | None = None) -> None:
        """Run `argv` as `user` ("uid:gid") with the supplementary `groups` (compose's
        `group_add`) and nothing else, under `limits`."""
        self.how = getattr(self, "how", {})
        self.how[name] = (argv, env, user, cwd, limits, groups)
        if user:
            uid, _, gid = user.partition(":")
            extra = [f"--groups={','.join(groups)}"] if groups else ["--clear-groups"]
            argv = ["setpriv", f"--reuid={uid}", f"--regid={gid or uid}", *extra, *argv]
        if limits:
            self.limits[name] = limits
            argv = limits.wrap(argv)
        log = open(self.logs / f"{name}.log", "ab")
        self.running[name] = subprocess.Popen(
            argv,
            env={"PATH": os.environ["PATH"], **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            start_new_session=True,
        )

    def stop(self, name: str) -> None:
        p = self.running.pop(name, None)
        if p and p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()

    def restart(self, name: str) -> None:
        """Start a stopped program again, as it was started."""
        self.start(name, *self.how[name])

    def stop_all(self) -> None:
        for name in list(self.running):
            self.stop(name)
        for limits in self.limits.values():
            limits.remove()
        self.limits.clear()

    def within_limits(self, report: "Report") -> None:
        """Each program started under its compose limits stayed within them all along."""
        for name, limits in sorted(self.limits.items()):
            ok, detail = limits.outcome()
            report.check(ok, f"{name} runs within its compose limits ({detail})", self.tail(name))

    def tail(self, name: str, lines: int = 5) -> str:
        path = self.logs / f"{name}.log"
        return " | ".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""


def wait_port(host: str, port: int, timeout: float = 30) -> bool:
    end = time.time() + timeout
    while time.time() < end:
        try:
            with socket.create_connection((host, port), 0.5):
                return True
        except OSError:
            time.sleep(0.2)
    return False


# The `Authorization` header the rehearsal sends to a `host:port` behind basic authentication
# (`observability.prometheus.auth`, `observability.alertmanager.auth`; see `web_auth`).
LOGINS: dict[str, str] = {}


def http_get(url: str, timeout: float = 5, login: str | None = None) -> tuple[int, bytes]:
    """GET, logged in where LOGINS says (or with `login`, an Authorization header; "" for none)."""
    if login is None:
        login = LOGINS.get(urllib.parse.urlsplit(url).netloc, "")
    request = urllib.request.Request(url, headers={"Authorization": login} if login else {})
    ctx = None
    if url.startswith("https"):
        import ssl

        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=ctx) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except OSError:
        return 0, b""


def api(base: str, path: str, **params) -> dict:
    query = ("?" + urllib.parse.urlencode(params)) if params else ""
    status, body = http_get(f"{base}{path}{query}", 30)
    if status != 200:
        raise RuntimeError(f"{path}: HTTP {status}: {body[:200]!r}")
    return json.loads(body)


# --- the stack ---------------------------------------------------------------------------------


class Stack:
    """The generated tree, the compose file, the manifest, and where each service runs."""

    def __init__(self, manifest: Path, work: Path) -> None:
        self.manifest_path = manifest
        self.work = work
        self.gen = work / "generated"
        build = subprocess.run(
            [SIGHTLINE, "build", "-f", str(manifest), "--out", str(self.gen)], capture_output=True, text=True
        )
        if build.returncode != 0:
            sys.exit(f"rehearse: {manifest} does not build:\n{build.stderr}")
        text = manifest.read_text()
        self.manifest = tomllib.loads(text) if manifest.suffix == ".toml" else yaml.safe_load(text)
        self.compose = yaml.safe_load((self.gen / "compose.yaml").read_text())
        self.services = self.compose["services"]
        # The remote-write receivers' hosts too: a receiver runs here at each (`start_receivers`).
        receivers = {urllib.parse.urlsplit(w["url"]).hostname for w in remote_writes(self.manifest)}
        names = sorted(set(self.services) | set(self.manifest.get("services", {})) | {CAPTURE[0]} | receivers)
        self.addr = {n: f"127.0.1.{10 + i}" for i, n in enumerate(names)}
        self.secrets: dict[str, str] = {}
        # One-shot jobs already run.
        self.ran: set[str] = set()
        self.volumes = work / "volumes"
        self.volumes.mkdir()
        # `--for`: the longest any alert or notification waits.
        self.timing: str | None = None
        # Generated directories replaced by a rehearsal copy (`--for`): directory → copy.
        self.copies: dict[str, Path] = {}
        # The applications run without the setting their framework writes its duration
        # histogram's buckets with (Spring Boot's, where the stack does not run them).
        self.no_buckets: set[str] = set()
        os.chmod(work, 0o755)

    def env_value(self, name: str) -> str:
        """A value for each `${VAR}` the compose file reads from .env: a fixed, safe secret."""
        return self.secrets.setdefault(name, f"rehearsal-{name.lower()}")

    def interpolate(self, value: str) -> str:
        """`value` as compose reads it: `$$` is a `$` (a shell's own `${var}` stays), `${VAR}`
        (with `:?`, `?`, `:-` or `-` after the name) is the variable's value."""
        return re.sub(
            r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(:?[?-][^}]*)?\}",
            lambda m: "$" if m.group(0) == "$$" else self.env_value(m.group(1)),
            value,
        )

    def environment(self, service: str) -> dict[str, str]:
        env = self.services[service].get("environment") or {}
        if isinstance(env, list):
            env = dict(e.split("=", 1) for e in env)
        return {k: self.interpolate(str(v)) for k, v in env.items()}

    def volume_map(self, service: str) -> list[tuple[str, str]]:
        """(path in the container, path here), longest first."""
        out = []
        for v in self.services[service].get("volumes", []):
            parts = v.split(":")
            src, dst = parts[0], parts[1]
            if src.startswith("./"):
                host = str(self.copies.get(src[2:], self.gen / src[2:]))
            elif src.startswith("/"):
                host = src
            else:
                d = self.volumes / src
                if not d.exists():
                    d.mkdir()
                    os.chmod(d, 0o777)
                host = str(d)
            out.append((dst, host))
        secrets = self.services[service].get("secrets", [])
        if secrets:
            # Its /run/secrets as a whole too, for a script that names a file in it by variable.
            run_secrets = self.work / "run-secrets" / service
            run_secrets.mkdir(parents=True, exist_ok=True)
            out.append(("/run/secrets", str(run_secrets)))
        for s in secrets:
            name, target = (s, s) if isinstance(s, str) else (s["source"], s.get("target", s["source"]))
            path = target if target.startswith("/") else f"/run/secrets/{target}"
            out.append((path, str(self.secret_file(name))))
            if path.startswith("/run/secrets/") and not (run_secrets / path[13:]).exists():
                (run_secrets / path[13:]).symlink_to(self.secret_file(name))
        return sorted(out, key=lambda p: -len(p[0]))

    def secret_file(self, name: str) -> Path:
        """A compose secret's file: a secret taken from the environment holds that variable's
        value (compose writes it into the container), any other a rehearsal value."""
        d = self.work / "secrets"
        d.mkdir(exist_ok=True)
        f = d / name
        if not f.exists():
            var = (self.compose.get("secrets") or {}).get(name, {}).get("environment")
            f.write_text(self.env_value(var) if var else f"rehearsal-{name}")
            os.chmod(f, 0o644)
        return f

    def host_path(self, service: str, arg: str, extra: dict[str, str] | None = None) -> str:
        """`arg` with each container path of the service's mounts (and `extra`'s: container
        path → path here) replaced by where it is here."""
        for dst, host in sorted([*self.volume_map(service), *(extra or {}).items()], key=lambda p: -len(p[0])):
            arg = container_path(dst).sub(host, arg)
        return arg

    def image(self, service: str) -> str:
        """A container's image; for one compose builds, the exporter image its Dockerfile builds
        on (an exporter built with a shell: `EXPORTER_IMAGE`), else nothing."""
        c = self.services[service]
        if "image" not in c and "build" in c:
            m = re.search(r"^ARG EXPORTER_IMAGE=(\S+)$", self.dockerfile(service), re.M)
            return m.group(1) if m else ""
        return str(c.get("image", ""))

    def dockerfile(self, service: str) -> str:
        """The Dockerfile compose builds a container's image from."""
        return (self.gen / self.services[service]["build"]["context"] / "Dockerfile").read_text()

    def secret_for(self, svc: dict) -> str:
        """The password a service's secret reference resolves to here."""
        ref = svc.get("password") or {}
        if "env" in ref:
            return self.env_value(ref["env"])
        if "file" in ref:
            # As a reader's `$(cat …)` gives it: trailing newlines dropped.
            return self.secret_file(Path(ref["file"]).name).read_text().rstrip("\n")
        return "rehearsal"

    def certificate(self, name: str, domain: str | None) -> tuple[Path, Path]:
        """A certificate for `name` (and its public `domain`) signed by the rehearsal's CA."""
        d = self.work / f"tls-{name}"
        d.mkdir(exist_ok=True)
        key, csr, cert, ext = d / "key.pem", d / "req.pem", d / "cert.pem", d / "ext.cnf"
        ext.write_text(f"subjectAltName=DNS:{name}" + (f",DNS:{domain}" if domain else "") + "\n")
        ca = self.ca()
        subprocess.run(["openssl", "req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={domain or name}", "-keyout", str(key), "-out", str(csr)], check=True, capture_output=True)
        subprocess.run(["openssl", "x509", "-req", "-in", str(csr), "-CA", str(ca / "ca.pem"), "-CAkey", str(ca / "ca.key"), "-CAcreateserial", "-days", "90", "-extfile", str(ext), "-out", str(cert)], check=True, capture_output=True)
        return cert, key

    def ca(self) -> Path:
        """A certificate authority for the services that serve TLS, trusted inside the namespace
        (the system bundle is replaced there by one that adds it), as a public CA is outside."""
        d = self.work / "ca"
        if not d.exists():
            d.mkdir()
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "365", "-subj", "/CN=sightline rehearsal CA", "-keyout", str(d / "ca.key"), "-out", str(d / "ca.pem")], check=True, capture_output=True)
            bundle = Path("/etc/ssl/certs/ca-certificates.crt")
            mine = d / "bundle.crt"
            mine.write_text((bundle.read_text() if bundle.exists() else "") + (d / "ca.pem").read_text())
            if bundle.exists():
                subprocess.run(["mount", "--bind", str(mine), str(bundle)], check=True)
        return d


def write_hosts(stack: Stack) -> None:
    hosts = stack.work / "hosts"
    # A service's public TLS domain is served by that service (the certificate probe reads it).
    domains = {
        (svc.get("tls") or {}).get("domain"): stack.addr[name]
        for name, svc in stack.manifest.get("services", {}).items()
        if (svc.get("tls") or {}).get("domain")
    }
    # A service the stack does not run is scraped at its `host`.
    domains |= {svc["host"]: stack.addr[name] for name, svc in stack.manifest.get("services", {}).items() if svc.get("host")}
    hosts.write_text(
        "127.0.0.1 localhost\n"
        + "".join(f"{a} {n}\n" for n, a in sorted(stack.addr.items()))
        + "".join(f"{a} {d}\n" for d, a in sorted(domains.items()))
    )
    subprocess.run(["mount", "--bind", str(hosts), "/etc/hosts"], check=True)
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    # A host has a network interface besides loopback; the namespace gets one, so the host
    # panels and alerts that leave `lo` out have something to read.
    subprocess.run(["ip", "link", "add", "eth0", "type", "veth", "peer", "name", "eth1"], check=True)
    for dev in ("eth0", "eth1"):
        subprocess.run(["ip", "link", "set", dev, "up"], check=True)


# --- starting each kind of service ------------------------------------------------------------


def alertmanager_config(stack: Stack, cap: str | None) -> Path:
    """alertmanager.yml with every receiver posting to the capture server, paths mapped; with
    `--for`, no route waits longer than it before a notification (`group_wait`,
    `group_interval`), so an alert joining a group that has notified arrives in time."""
    text = stack.host_path("alertmanager", (stack.gen / "alertmanager/alertmanager.yml").read_text())
    doc = yaml.safe_load(text)

    def timers(route: dict) -> None:
        for key in ("group_wait", "group_interval"):
            if key in route and seconds(route[key]) > seconds(cap):
                route[key] = cap
        if route is doc["route"]:
            route.setdefault("group_interval", cap)
        for child in route.get("routes", []):
            timers(child)

    if cap:
        timers(doc["route"])
    for r in doc.get("receivers", []):
        name = r["name"]
        for key in [k for k in r if k.endswith("_configs")]:
            del r[key]
        r["webhook_configs"] = [{"url": f"http://{CAPTURE[0]}:{CAPTURE[1]}/{name}", "send_resolved": True}]
    out = stack.work / "alertmanager.yml"
    out.write_text(yaml.safe_dump(doc, sort_keys=False))
    return out


def container_path(path: str) -> re.Pattern:
    """`path` where a command or file names it: not inside a longer path, and followed by its
    end, a `/`, a `:`, a space or a quote."""
    return re.compile(rf"(?<![\w/.-]){re.escape(path)}(?=$|[/:\s'\"])")


def tmpfs_dir(stack: Stack, path: str) -> Path:
    """Where a container's tmpfs at `path` is made here."""
    return stack.work / ("tmpfs" + path.replace("/", "-"))


def start_program(stack: Stack, procs: Processes, name: str, binary: str, args: list[str], port: int, listen_flag: str, shell_entrypoint: bool = False) -> None:
    """`binary` with the compose command's arguments; with `shell_entrypoint`, through the
    compose entrypoint (`/bin/sh -c SCRIPT NAME`) as written, the image's binary path replaced
    by the built one's."""
    c = stack.services[name]
    argv = [str(TOOLS / binary)] + [stack.host_path(name, stack.interpolate(a)) for a in args]
    argv = [a for a in argv if not a.startswith(listen_flag + "=")]
    argv.append(f"{listen_flag}={stack.addr[name]}:{port}")
    if shell_entrypoint:
        entry = [stack.interpolate(str(a)) for a in c["entrypoint"]]
        assert entry[:2] == ["/bin/sh", "-c"], entry
        # The shell runs as the container's user, who cannot reach into root's home: a copy of
        # the binary in the rehearsal's directory.
        local = stack.work / "bin" / binary
        if not local.exists():
            local.parent.mkdir(mode=0o755, exist_ok=True)
            shutil.copy(TOOLS / binary, local)
        argv = ["/bin/sh", "-c", entry[2].replace(f"/bin/{binary}", str(local)), *entry[3:], *argv[1:]]
    env = stack.environment(name)
    env = {k: stack.host_path(name, v) if k.endswith("_FILE") else v for k, v in env.items()}
    procs.start(name, argv, env=env, user=c.get("user"), limits=Limits.of(name, c))


def check_exporter_image(stack: Stack, report: Report, name: str, tool: str, module: str) -> None:
    """An exporter built with a shell (its own image is the program alone): its Dockerfile
    copies the program from where the upstream Dockerfile at the pinned release puts it, to
    where the compose entrypoint runs it."""
    copy = re.search(r"^COPY --from=exporter (\S+) (\S+)$", stack.dockerfile(name), re.M)
    upstream = (module_dir(tool, module) / "Dockerfile").read_text()
    put = re.search(r"^COPY \./(\S+) /$", upstream, re.M)
    report.check(
        bool(copy and put) and copy.group(1) == f"/{put.group(1)}",
        f"{name}: its Dockerfile copies the program from where the exporter's image keeps it",
        f"copies {copy.group(1) if copy else None}; the upstream Dockerfile: {put.group(0) if put else None}",
    )
    script = stack.services[name]["entrypoint"][2].replace("$$", "$")
    report.check(bool(copy) and f"exec {copy.group(2)} " in script, f"{name}: its entrypoint runs the program where the Dockerfile puts it", script)


def start_observability(stack: Stack, procs: Processes, report: Report) -> None:
    for name, c in stack.services.items():
        if c.get("restart") == "no":
            # A one-shot job on a component's image (the seeding job on Prometheus's):
            # `run_one_shots` runs it.
            continue
        image = stack.image(name)
        cmd = [str(a) for a in c.get("command", [])]
        if image.startswith("prom/prometheus:"):
            start_program(stack, procs, name, "prometheus", cmd, 9090, "--web.listen-address")
        elif image.startswith("prom/alertmanager:"):
            entry = c["entrypoint"][-1]
            argv = shlex.split(entry.split("exec ", 1)[1])[1:]
            argv = [a for a in argv if not a.startswith("--config.file=")]
            argv.append(f"--config.file={alertmanager_config(stack, stack.timing)}")
            start_program(stack, procs, name, "alertmanager", argv, 9093, "--web.listen-address")
        elif image.startswith("prom/node-exporter:"):
            host = {"--path.procfs=/host/proc": "--path.procfs=/proc", "--path.sysfs=/host/sys": "--path.sysfs=/sys", "--path.rootfs=/rootfs": "--path.rootfs=/"}
            start_program(stack, procs, name, "node_exporter", [host.get(a, a) for a in cmd], 9100, "--web.listen-address")
        elif "postgres-exporter" in image:
            start_program(stack, procs, name, "postgres_exporter", cmd, 9187, "--web.listen-address")
        elif "redis_exporter" in image:
            start_program(stack, procs, name, "redis_exporter", cmd, 9121, "--web.listen-address")
        elif "memcached-exporter" in image:
            start_program(stack, procs, name, "memcached_exporter", cmd, 9150, "--web.listen-address")
        elif "mysqld-exporter" in image:
            # Its password read from its secret's file by the compose entrypoint's shell.
            start_program(stack, procs, name, "mysqld_exporter", cmd, 9104, "--web.listen-address", shell_entrypoint=True)
        elif "nginx-prometheus-exporter" in image:
            start_program(stack, procs, name, "nginx-prometheus-exporter", cmd, 9113, "--web.listen-address")
        elif "elasticsearch-exporter" in image:
            # With a login, its password read from its secret's file by the compose entrypoint's shell.
            start_program(stack, procs, name, "elasticsearch_exporter", cmd, 9114, "--web.listen-address", shell_entrypoint="entrypoint" in c)
        elif "pgbouncer-exporter" in image:
            start_pgbouncer_exporter(stack, procs, name, report)
        elif "celery-exporter" in image:
            start_celery_exporter(stack, procs, name, report)
        elif "mongodb_exporter" in image:
            # With a login, built with a shell that reads its password's file (its own image has
            # none): the program where the entrypoint runs it.
            if "build" in c:
                check_exporter_image(stack, report, name, "mongodb_exporter", "github.com/percona/mongodb_exporter")
            start_program(stack, procs, name, "mongodb_exporter", cmd, 9216, "--web.listen-address", shell_entrypoint="entrypoint" in c)
        elif image.startswith("prom/pushgateway:"):
            start_program(stack, procs, name, "pushgateway", cmd, 9091, "--web.listen-address")
        elif image.startswith("prom/blackbox-exporter:"):
            # The image's own /etc/blackbox_exporter/config.yml (blackbox_exporter's
            # blackbox.yml at its release tag): the http_2xx module sightline's probes use.
            cfg = stack.work / "blackbox.yml"
            cfg.write_text("modules:\n  http_2xx:\n    prober: http\n    http:\n      preferred_ip_protocol: ip4\n")
            start_program(stack, procs, name, "blackbox_exporter", [f"--config.file={cfg}", *cmd], 9115, "--web.listen-address")


def start_postgres(stack: Stack, procs: Processes, name: str, svc: dict) -> None:
    env = stack.environment(name) if name in stack.services else {}
    user = env.get("POSTGRES_USER", svc.get("user", "postgres"))
    db = env.get("POSTGRES_DB", svc.get("database", user))
    password = env.get("POSTGRES_PASSWORD")
    if password is None and env.get("POSTGRES_PASSWORD_FILE"):
        password = Path(stack.host_path(name, env["POSTGRES_PASSWORD_FILE"])).read_text()
    password = password or stack.secret_for(svc)
    data = stack.work / f"pg-{name}"
    data.mkdir()
    shutil.chown(data, "postgres", "postgres")
    pw = stack.work / f"pg-{name}.pw"
    pw.write_text(password)
    shutil.chown(pw, "postgres", "postgres")
    subprocess.run(
        ["setpriv", "--reuid=postgres", "--regid=postgres", "--clear-groups", str(PG_BIN / "initdb"), "-D", str(data), "-U", user, f"--pwfile={pw}", "--auth=scram-sha-256", "-E", "UTF8"],
        check=True, capture_output=True,
    )
    with open(data / "pg_hba.conf", "a") as f:
        f.write("host all all 127.0.0.0/8 scram-sha-256\n")
    # The compose command's server options (`postgres -c …`).
    options = []
    cmd = [str(a) for a in stack.services.get(name, {}).get("command", [])]
    for i, a in enumerate(cmd):
        if a == "-c" and i + 1 < len(cmd):
            options += ["-c", cmd[i + 1]]
    # A PostgreSQL the user runs (no image) is set up as the README asks of it: with
    # pg_stat_statements preloaded and created, unless `query_stats: false`.
    own = "image" not in svc and svc.get("query_stats", True) is not False
    if own:
        options += ["-c", "shared_preload_libraries=pg_stat_statements"]
    port = int(svc.get("port", 5432))
    procs.start(
        name,
        [str(PG_BIN / "postgres"), "-D", str(data), "-c", f"listen_addresses={stack.addr[name]}", "-c", f"port={port}", "-c", f"unix_socket_directories={data}", *options],
        user="postgres:postgres",
    )
    wait_port(stack.addr[name], port)
    time.sleep(1)
    env_pg = {"PGPASSWORD": password, "PGHOST": stack.addr[name], "PGPORT": str(port), "PGUSER": user}
    if db != "postgres":
        subprocess.run([str(PG_BIN / "createdb"), db], env={**os.environ, **env_pg}, capture_output=True)
    if own:
        subprocess.run([str(PG_BIN / "psql"), "-d", db, "-c", "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"], env={**os.environ, **env_pg}, capture_output=True, check=True)


def mysql_login(stack: Stack, name: str) -> tuple[str, str]:
    """The user and password a mysql service's own container is set up with (its compose
    environment, the password from its file), else the manifest's."""
    env = stack.environment(name) if name in stack.services else {}
    svc = stack.manifest["services"][name]
    user = env.get("MYSQL_USER", svc.get("user", "root"))
    pw_file = env.get("MYSQL_PASSWORD_FILE") or env.get("MYSQL_ROOT_PASSWORD_FILE")
    # The images read the file as `$(< file)` does: trailing newlines dropped.
    password = Path(stack.host_path(name, pw_file)).read_text().rstrip("\n") if pw_file else stack.secret_for(svc)
    return user, password


def mysql_client(stack: Stack, name: str, login: tuple[str, str] | None = None) -> tuple[list[str], dict[str, str]]:
    """MariaDB's client and its environment: as root over the server's socket, or with `login`
    over TCP, as the exporter connects."""
    if login is None:
        return ["mariadb", "--no-defaults", "-B", f"--socket={stack.work / f'mysql-{name}' / 'mysqld.sock'}", "-u", "root"], dict(os.environ)
    port = str(int(stack.manifest["services"][name].get("port", 3306)))
    return ["mariadb", "--no-defaults", "-B", "-h", stack.addr[name], "-P", port, "-u", login[0]], {**os.environ, "MYSQL_PWD": login[1]}


def mysql_root(stack: Stack, name: str, sql: str) -> subprocess.CompletedProcess:
    argv, env = mysql_client(stack, name)
    return subprocess.run([*argv, "-e", sql], env=env, capture_output=True, text=True, timeout=60)


def sql_string(s: str) -> str:
    return "'" + s.replace("\\", "\\\\").replace("'", "''") + "'"


def start_mysql(stack: Stack, procs: Processes, name: str, svc: dict) -> None:
    """Debian's MariaDB (10.11) as the official `mysql` and `mariadb` images set it up: name
    resolution off (their configuration's skip-name-resolve), the database of `MYSQL_DATABASE`,
    and its user from anywhere with all privileges on it (or root from anywhere, for a manifest
    whose user is root), the password from its file."""
    addr, port = stack.addr[name], int(svc.get("port", 3306))
    d = stack.work / f"mysql-{name}"
    d.mkdir()
    shutil.chown(d, "mysql", "mysql")
    subprocess.run(
        ["mariadb-install-db", "--no-defaults", "--user=mysql", f"--datadir={d / 'data'}", "--auth-root-authentication-method=socket", "--skip-test-db"],
        check=True, capture_output=True,
    )
    procs.start(name, [
        "/usr/sbin/mariadbd", "--no-defaults", "--user=mysql", f"--datadir={d / 'data'}", f"--socket={d / 'mysqld.sock'}",
        f"--pid-file={d / 'mysqld.pid'}", f"--bind-address={addr}", f"--port={port}", "--skip-name-resolve",
    ])
    wait_port(addr, port, 60)
    env = stack.environment(name) if name in stack.services else {}
    db = env.get("MYSQL_DATABASE", svc.get("database"))
    user, password = mysql_login(stack, name)
    grant = f"ALL ON *.* TO 'root'@'%' WITH GRANT OPTION" if user == "root" else f"ALL ON `{db}`.* TO {sql_string(user)}@'%'"
    r = mysql_root(stack, name, f"CREATE DATABASE IF NOT EXISTS `{db}`; CREATE USER {sql_string(user)}@'%' IDENTIFIED BY {sql_string(password)}; GRANT {grant};")
    if r.returncode != 0:
        sys.exit(f"rehearse: {name}: MariaDB refuses the set-up: {r.stderr}")
    if user != "root" and (stack.manifest.get("backups") or {}).get("restore_test"):
        # The restore test's scratch databases, granted as docs/manifest.md says.
        r = mysql_root(stack, name, restore_grant().replace("'shop'", sql_string(user)))
        if r.returncode != 0:
            sys.exit(f"rehearse: {name}: MariaDB refuses the documented grant: {r.stderr}")


def restore_grant() -> str:
    """The statement docs/manifest.md gives to let a mysql job's user create the restore test's
    scratch databases (for its example user `shop`)."""
    lines = [l.strip() for l in (ROOT / "docs/manifest.md").read_text().splitlines() if l.strip().startswith("GRANT ALL ON `sightline")]
    if len(lines) != 1:
        sys.exit(f"rehearse: docs/manifest.md gives {len(lines)} restore-test grants, not one")
    return lines[0]


def mysql_status(stack: Stack, name: str, variable: str) -> int:
    r = mysql_root(stack, name, f"SHOW GLOBAL STATUS LIKE '{variable}'")
    return int(r.stdout.split()[-1])


def check_mysql_healthcheck(stack: Stack, report: Report, name: str) -> None:
    """A mysql service's compose healthcheck, run here as written (its password's file and the
    server's address mapped): it passes, and it logs in, so it is no failed connection
    (`Aborted_connects`, which MysqlConnectionFailures reads, stays as it was)."""
    test = stack.services[name]["healthcheck"]["test"]
    cmd = stack.host_path(name, stack.interpolate(test[1])).replace("127.0.0.1", stack.addr[name])
    before = mysql_status(stack, name, "Aborted_connects")
    r = subprocess.run(["sh", "-c", cmd], capture_output=True, text=True, timeout=60)
    after = mysql_status(stack, name, "Aborted_connects")
    report.check(
        test[0] == "CMD-SHELL" and r.returncode == 0 and after == before,
        f"{name}: its compose healthcheck passes, logged in as the manifest's user (Aborted_connects stays {before})",
        f"exit {r.returncode}, Aborted_connects {before} -> {after}: {(r.stdout + r.stderr)[-300:]}",
    )


def module_dir(tool: str, module: str) -> Path:
    """An exporter's Go module at the release tools/<tool> pins, where `go mod download` puts it:
    its test fixtures are responses captured from real servers."""
    tools = ROOT / "tools" / tool
    version = re.search(rf"{re.escape(module)} (v\S+)", (tools / "go.mod").read_text()).group(1)
    env = {**os.environ, "GOFLAGS": "-mod=readonly", "GOTOOLCHAIN": "local"}
    out = subprocess.run(["go", "mod", "download", "-json", f"{module}@{version}"], cwd=tools, env=env, capture_output=True, text=True, check=True)
    return Path(json.loads(out.stdout)["Dir"])


def search_distribution(svc: dict) -> str:
    """OpenSearch for a service whose image or host says so, else Elasticsearch."""
    return "opensearch" if "opensearch" in f"{svc.get('image', '')} {svc.get('host', '')}" else "elasticsearch"


def start_search_node(stack: Stack, procs: Processes, name: str, svc: dict) -> None:
    # Neither Elasticsearch nor OpenSearch can run here: a stand-in node that answers the
    # exporter with captured responses, and takes faults (tests/rehearse/search_node.py).
    # A service with a login: its node's security asks for it, from the start.
    env = {**os.environ, "SEARCH_NODE_LOGIN": f"{svc['user']}:{stack.secret_for(svc)}"} if svc.get("user") else None
    procs.start(name, [sys.executable, str(ROOT / "tests/rehearse/search_node.py"), stack.addr[name], str(svc["port"]), str(module_dir("elasticsearch_exporter", "github.com/prometheus-community/elasticsearch_exporter") / "fixtures"), search_distribution(svc), name], env=env)


def standin_control(stack: Stack, name: str, path: str) -> str:
    """The URL of a stand-in server's rehearsal control (`/_rehearsal/…`): a search node's on
    its own port (it speaks HTTP), MongoDB's on its port plus one (its own speaks MongoDB's
    wire protocol)."""
    svc = stack.manifest["services"][name]
    port = int(svc["port"]) + (1 if svc["kind"] == "mongodb" else 0)
    return f"http://{stack.addr[name]}:{port}{path}"


def search_node(stack: Stack, name: str, setting: str, value) -> int:
    """Set what the stand-in node reports (`status`, `heap`, `free`, `pending`)."""
    return http_get_post(standin_control(stack, name, f"/_rehearsal/{setting}/{value}"))


def start_mongo_node(stack: Stack, procs: Processes, name: str, svc: dict) -> None:
    # MongoDB cannot run here: a stand-in server that speaks its wire protocol and answers the
    # exporter with a captured getDiagnosticData, and takes faults (tests/rehearse/mongo_node.py).
    # A service with a login: its authorization is on, from the start.
    env = {**os.environ, "MONGO_NODE_LOGIN": f"{svc['user']}:{stack.secret_for(svc)}"} if svc.get("user") else None
    testdata = module_dir("mongodb_exporter", "github.com/percona/mongodb_exporter") / "exporter/testdata"
    procs.start(name, [sys.executable, str(ROOT / "tests/rehearse/mongo_node.py"), stack.addr[name], str(svc["port"]), str(testdata), name], env=env)


def mongo_node(stack: Stack, name: str, setting: str, value) -> int:
    """Set what the stand-in server reports (`connections`, `cursors`, `timeouts`, `auth`)."""
    return http_get_post(standin_control(stack, name, f"/_rehearsal/{setting}/{value}"))


# A password with every character a URL gives a meaning to, and a space: each celery service's
# broker login has it here, so its exporter's entrypoint must percent-encode it into the URL.
HOSTILE_PASSWORD = "p@ss:w/o%rd?#&+ x"


def hostile_broker_passwords(stack: Stack) -> None:
    """Each celery service's broker password (its `{ file }` or `{ env }` secret) is
    HOSTILE_PASSWORD, before anything reads it."""
    for svc in stack.manifest.get("services", {}).values():
        ref = svc.get("password") or {}
        if svc.get("kind") != "celery":
            continue
        if "file" in ref:
            stack.secret_file(Path(ref["file"]).name).write_text(HOSTILE_PASSWORD + "\n")
        elif "env" in ref:
            stack.secrets[ref["env"]] = HOSTILE_PASSWORD


def celery_broker(stack: Stack, name: str) -> tuple[str, dict]:
    """A celery service's broker: its name and its manifest entry."""
    broker = stack.manifest["services"][name]["broker"]["service"]
    return broker, stack.manifest["services"][broker]


def celery_login(stack: Stack, name: str) -> tuple[str, str]:
    """The login a celery service's workers use at a rabbitmq broker: the service's own, or the
    broker's default user (its compose environment's)."""
    svc = stack.manifest["services"][name]
    if svc.get("user"):
        return svc["user"], stack.secret_for(svc)
    broker, _ = celery_broker(stack, name)
    return rabbitmq_user(stack, broker)


def celery_url(stack: Stack, name: str) -> str:
    """The broker URL of a celery service's workers, and of the rehearsal's client sending them
    tasks: the broker at its address here, the database or virtual host the service names."""
    svc = stack.manifest["services"][name]
    broker, bsvc = celery_broker(stack, name)
    host = f"{stack.addr[broker]}:{int(bsvc['port'])}"
    if bsvc["kind"] == "rabbitmq":
        quote = lambda s: urllib.parse.quote(s, safe="")
        user, password = celery_login(stack, name)
        return f"amqp://{quote(user)}:{quote(password)}@{host}/{quote(svc['broker'].get('vhost', '/'))}"
    return f"redis://{host}/{int(svc['broker'].get('database', 0))}"


def celery_queues(svc: dict) -> list[str]:
    return svc.get("queues") or ["celery"]


def start_celery(stack: Stack, procs: Processes, name: str, svc: dict, report: Report) -> None:
    """A celery service's workers: tests/rehearse/apps/celery_app.py on Celery 5.5.2 (the release
    celery-exporter's image pins), consuming the service's queues at its broker, as node
    `celery@<service>` (so the exporter's `hostname` is the service's name). A rabbitmq broker
    first gets the service's virtual host and user, as its operator would give them. On a
    container the stack runs, with the compose file's environment: its task events on by the
    variable sightline sets, not by `-E`. Elsewhere, with `-E`, as docs/manifest.md asks."""
    broker, bsvc = celery_broker(stack, name)
    if bsvc["kind"] == "rabbitmq":
        vhost = svc["broker"].get("vhost", "/")
        user, password = celery_login(stack, name)
        steps = [["add_vhost", vhost]] if vhost != "/" else []
        if svc.get("user"):
            steps.append(["add_user", user, password])
        steps.append(["set_permissions", "-p", vhost, user, ".*", ".*", ".*"])
        for step in steps:
            r = rabbitmqctl(stack, broker, *step)
            report.check(r.returncode == 0, f"{name}: rabbitmqctl {step[0]} on {broker} for its workers", (r.stdout + r.stderr)[-300:])
    argv = [sys.executable, "-m", "celery", "-b", celery_url(stack, name), "-A", "celery_app", "worker", "--concurrency", "2", "-n", f"celery@{name}", "-Q", ",".join(celery_queues(svc)), "--loglevel", "INFO"]
    env = {"PATH": os.environ["PATH"], "HOME": str(stack.work)}
    if name in stack.services:
        env.update(stack.environment(name))
    else:
        argv.append("-E")
    procs.start(name, argv, env=env, cwd=ROOT / "tests/rehearse/apps")
    log = procs.logs / f"{name}.log"
    for _ in range(60):
        if "celery@" in log.read_text(errors="replace") and " ready." in log.read_text(errors="replace"):
            break
        time.sleep(1)
    banner = log.read_text(errors="replace")
    report.check(" ready." in banner and "task events: ON" in banner, f"{name}: its worker starts with its task events on ({'the compose environment' if name in stack.services else '-E'})", procs.tail(name, 12))


def celery_metric(stack: Stack, service: str, metric: str, **labels: str) -> float:
    """The sum of a celery service's exporter's `metric` series with `labels`, read off the
    exporter."""
    total = 0.0
    for line in exporter_lines(stack, service, 9808, metric + "{"):
        series, _, value = line.rpartition(" ")
        if all(f'{k}="{v}"' in series for k, v in labels.items()):
            total += float(value)
    return total


def celery_app(stack: Stack, name: str):
    """A Celery client of a celery service's broker, as the application's code is."""
    from celery import Celery

    return Celery("rehearsal-client", broker=celery_url(stack, name))


def start_celery_exporter(stack: Stack, procs: Processes, name: str, report: Report) -> None:
    """celery-exporter at the image's release (scripts/tools: PyPI, on the image's Python), with
    the compose command, through the compose entrypoint as written when there is one (the
    image's `python /app/cli.py` replaced by the installed command), listening on its own
    address here. It runs as root: its virtualenv is under root's home; that the container's
    user can read the password's file is checked apart."""
    c = stack.services[name]
    exporter = (TOOLS / "celery-exporter").resolve()
    if not exporter.exists():
        sys.exit(f"rehearse: {name}: celery-exporter is not in {TOOLS}: scripts/tools installs it on Python 3.12 (pyenv install 3.12), and said why it could not")
    command = [stack.interpolate(str(a)) for a in c.get("command", [])] + [f"--host={stack.addr[name]}", "--port=9808"]
    env = {k: stack.host_path(name, v) if k.endswith("_FILE") else v for k, v in stack.environment(name).items()}
    env["PATH"] = f"{exporter.parent}:/usr/bin:/bin"
    if "entrypoint" in c:
        entry = [stack.interpolate(str(a)) for a in c["entrypoint"]]
        assert entry[:2] == ["/bin/sh", "-c"] and "exec python /app/cli.py " in entry[2], entry
        argv = ["/bin/sh", "-c", entry[2].replace("exec python /app/cli.py ", f"exec {exporter} "), *entry[3:], *command]
        check_user_reads(report, name, c, env["CE_BROKER_PASSWORD_FILE"])
    else:
        argv = [str(exporter), *command]
    procs.start(name, argv, env=env, limits=Limits.of(name, c))
    check_python_healthcheck(stack, report, name, 9808, exporter.parent)


def check_user_reads(report: Report, name: str, c: dict, path: str) -> None:
    """The container's user (its compose `user`) reads the password's file at `path`, where the
    exporter itself runs as root here."""
    user = c.get("user", "0:0").split(":")
    r = subprocess.run(["setpriv", f"--reuid={user[0]}", f"--regid={user[-1]}", "--clear-groups", "cat", path], capture_output=True)
    report.check(r.returncode == 0 and r.stdout.strip() != b"", f"{name}: its user ({c.get('user')}) reads the password's file", r.stderr.decode(errors="replace")[-300:])


def check_python_healthcheck(stack: Stack, report: Report, name: str, port: int, python: Path) -> None:
    """A Python exporter's compose healthcheck (`CMD python[3] -c …`), run as written with the
    image's Python (the one in `python`, its virtualenv's bin directory), its address the
    exporter's here: it passes once the exporter listens on `port`."""
    test = stack.services[name]["healthcheck"]["test"]
    assert test[0] == "CMD" and test[1] in ("python", "python3") and test[2] == "-c", test
    wait_port(stack.addr[name], port, 30)
    args = [a.replace("127.0.0.1", stack.addr[name]) for a in test[2:]]
    r = subprocess.run([str(python / test[1]), *args], env={"PATH": f"{python}:/usr/bin:/bin"}, capture_output=True, text=True, timeout=10)
    report.check(r.returncode == 0, f"{name}: its compose healthcheck passes with the image's Python", r.stderr[-300:])


def start_redis(stack: Stack, procs: Processes, name: str, svc: dict) -> None:
    port = int(svc.get("port", 6379))
    d = stack.work / f"redis-{name}"
    d.mkdir()
    procs.start(name, ["redis-server", "--bind", stack.addr[name], "--port", str(port), "--save", "", "--appendonly", "no", "--protected-mode", "no", "--dir", str(d)], cwd=d)


def start_memcached(stack: Stack, procs: Processes, name: str, svc: dict) -> None:
    # Debian's memcached, in the foreground (its default), as the user Debian's package makes
    # (memcached refuses root without -u). A connection limit the connection fault can pass
    # 80% of, and 4 MB that, once full, refuse a write with "out of memory" (-M) where
    # memcached would evict: the faults of MemcachedConnectionLimitApproaching and
    # MemcachedOutOfMemoryErrors.
    port = int(svc.get("port", 11211))
    procs.start(name, ["memcached", "-u", "memcache", "-l", stack.addr[name], "-p", str(port), "-c", str(memcached_limit(stack, name)), "-m", "4", "-M"])


def pgbouncer_backend(stack: Stack) -> tuple[str, int, str, str, str] | None:
    """The stack's first postgres service, which every PgBouncer of the rehearsal pools: its
    address, port, user, password and database."""
    for n, svc in stack.manifest.get("services", {}).items():
        if svc.get("kind") == "postgres":
            env = stack.environment(n) if n in stack.services else {}
            user = env.get("POSTGRES_USER", svc.get("user", "postgres"))
            db = env.get("POSTGRES_DB", svc.get("database", user))
            return stack.addr[n], int(svc.get("port", 5432)), user, stack.secret_for(svc), db
    return None


def rule_threshold(stack: Stack, name: str, alert: str) -> float | None:
    """The threshold of the rule that raises `alert` for service `name` (`… > t`), if it has one."""
    rule = has_rule(stack, alert, service=name)
    return float(re.search(r">\s*([0-9.]+)\s*$", rule["expr"]).group(1)) if rule else None


# Connections a PgBouncer keeps free beyond the clients its faults hold: the exporter's login,
# and a second one should two scrapes overlap.
PGBOUNCER_SPARE = 3


def pgbouncer_clients(stack: Stack, name: str) -> tuple[int, int]:
    """The clients the faults hold through a PgBouncer, and the `max_client_conn` the rehearsal
    gives it: its pool's clients, busy, and the waiting ones, a few past
    PgbouncerClientsWaiting's threshold, and as many more as it takes to pass
    PgbouncerClientConnectionsNearLimit's share of the limit with PGBOUNCER_SPARE left free
    (held / (held + spare) > t); at most 200 (a share above 98% is not reached, and not
    expected)."""
    held = PGBOUNCER_POOL + int(rule_threshold(stack, name, "PgbouncerClientsWaiting") or 20) + 2
    t = rule_threshold(stack, name, "PgbouncerClientConnectionsNearLimit") or 0.8
    enough = int(PGBOUNCER_SPARE * t / (1 - t)) + 1 if t < 1 else held
    held = max(held, min(enough, 200))
    return held, held + PGBOUNCER_SPARE


def userlist_line(user: str, password: str) -> str:
    """A line of PgBouncer's auth_file: both quoted, a quote doubled."""
    quote = lambda v: '"' + v.replace('"', '""') + '"'
    return f"{quote(user)} {quote(password)}\n"


def start_pgbouncer(stack: Stack, procs: Processes, name: str, svc: dict) -> None:
    """Debian's PgBouncer (1.18) pooling the stack's PostgreSQL, as an image would set it up: the
    manifest's `user` (the exporter's login) among its `stats_users`, logging in with SCRAM
    and the secret's password; without a login, its admin console open to user `pgbouncer`
    without one (`auth_type = trust`), as the exporter's image logs in by default. Its lines on
    standard error, at its own format. PgBouncer refuses to run as root: as Debian's
    `postgres` user."""
    addr, port = stack.addr[name], int(svc.get("port", 6432))
    d = stack.work / f"pgbouncer-{name}"
    d.mkdir()
    users = {}
    backend = pgbouncer_backend(stack)
    if backend:
        users[backend[2]] = backend[3]
    stats = svc.get("user") or "pgbouncer"
    users[stats] = stack.secret_for(svc) if svc.get("user") else ""
    (d / "userlist.txt").write_text("".join(userlist_line(u, p) for u, p in users.items()))
    databases = f"* = host={backend[0]} port={backend[1]}" if backend else "* = host=127.0.0.1 port=1"
    (d / "pgbouncer.ini").write_text(
        f"[databases]\n{databases}\n"
        f"[pgbouncer]\nlisten_addr = {addr}\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = {'scram-sha-256' if svc.get('user') else 'trust'}\nauth_file = {d / 'userlist.txt'}\n"
        f"stats_users = {stats}\npool_mode = transaction\ndefault_pool_size = {PGBOUNCER_POOL}\n"
        f"max_client_conn = {pgbouncer_clients(stack, name)[1]}\n"
        # Waiting clients stay (the default, 120 s, drops them before an alert's `for` is over).
        "query_wait_timeout = 0\n"
    )
    for f in (d, d / "userlist.txt", d / "pgbouncer.ini"):
        shutil.chown(f, "postgres", "postgres")
    (d / "userlist.txt").chmod(0o600)
    procs.start(name, ["/usr/sbin/pgbouncer", str(d / "pgbouncer.ini")], user="postgres:postgres")
    if not wait_port(addr, port, 30):
        sys.exit(f"rehearse: {name}: PgBouncer does not listen on {addr}:{port}")


def start_pgbouncer_exporter(stack: Stack, procs: Processes, name: str, report: Report) -> None:
    """prometheus-pgbouncer-exporter at the image's release (scripts/tools: PyPI, on the image's
    Python), as its image runs it: the image's configuration (tests/rehearse/pgbouncer-exporter.yml:
    the exporter's and PgBouncer's addresses and the login from variables) and variables (its
    Dockerfile's ENV, under the compose file's), through the compose entrypoint as written when
    there is one. It listens on its own address here (the compose file's 0.0.0.0 would take the
    port on every address of the namespace). It runs as root: its virtualenv is under root's
    home; that the container's user can read the password's file is checked apart."""
    c = stack.services[name]
    if not (TOOLS / "pgbouncer-exporter").exists():
        sys.exit(f"rehearse: {name}: pgbouncer-exporter is not in {TOOLS}: scripts/tools installs it on Python 3.6 (pyenv install 3.6), and said why it could not")
    cfg = ROOT / "tests/rehearse/pgbouncer-exporter.yml"
    env = {"PGBOUNCER_EXPORTER_HOST": "127.0.0.1", "PGBOUNCER_EXPORTER_PORT": "9127", "PGBOUNCER_USER": "pgbouncer", "PGBOUNCER_PASS": "", "PGBOUNCER_HOST": "localhost", "PGBOUNCER_PORT": "6432"}
    env.update({k: stack.host_path(name, v) if k.endswith("_FILE") else v for k, v in stack.environment(name).items()})
    env["PGBOUNCER_EXPORTER_HOST"] = stack.addr[name]
    exporter = (TOOLS / "pgbouncer-exporter").resolve()
    env["PATH"] = f"{exporter.parent}:/usr/bin:/bin"
    command = [str(cfg) if a == "/etc/pgbouncer-exporter/config.yml" else str(a) for a in c.get("command", ["--config", "/etc/pgbouncer-exporter/config.yml"])]
    if "entrypoint" in c:
        entry = [stack.interpolate(str(a)) for a in c["entrypoint"]]
        assert entry[:2] == ["/bin/sh", "-c"], entry
        argv = [*entry, *command]
        check_user_reads(report, name, c, env["PGBOUNCER_PASS_FILE"])
    else:
        argv = [str(exporter), *command]
    procs.start(name, argv, env=env, limits=Limits.of(name, c))
    check_python_healthcheck(stack, report, name, 9127, exporter.parent)


def exporter_lines(stack: Stack, name: str, port: int, prefix: str) -> list[str]:
    """The lines of service `name`'s exporter's metrics that start with `prefix`."""
    _, body = http_get(f"http://{stack.addr[name + '-exporter']}:{port}/metrics")
    return [l for l in body.decode(errors="replace").splitlines() if l.startswith(prefix)]


def pgbouncer_login(stack: Stack, procs: Processes, name: str, password: str) -> None:
    """Give the exporter's user of PgBouncer `name` the password `password` in its auth_file,
    and have PgBouncer reload it (SIGHUP)."""
    svc = stack.manifest["services"][name]
    users = stack.work / f"pgbouncer-{name}" / "userlist.txt"
    mine = userlist_line(svc["user"], "").split(" ")[0] + " "
    lines = [l + "\n" for l in users.read_text().splitlines() if not l.startswith(mine)]
    users.write_text("".join([*lines, userlist_line(svc["user"], password)]))
    os.kill(procs.running[name].pid, signal.SIGHUP)


def memcached_limit(stack: Stack, name: str) -> int:
    """The connection limit the rehearsal gives a memcached service: room above the alert's
    threshold for the 4 connections the fault holds past it, memcached's own 23 descriptors
    (it refuses a connection once they and the connections reach the limit) and the idle
    connections memcached_exporter v0.14.4 leaves until Go's GC closes them (one per scrape,
    up to about 10 seen): 44 in all, and never below MEMCACHED_CONNS."""
    t = min(rule_threshold(stack, name, "MemcachedConnectionLimitApproaching") or 0.8, 0.99)
    return max(MEMCACHED_CONNS, math.ceil(44 / (1 - t)))


def memcached(address: tuple[str, int], *commands: bytes) -> list[bytes]:
    """Commands to memcached over its text protocol, on a connection of their own; the first
    line of each answer."""
    with socket.create_connection(address, 5) as s, s.makefile("rb") as f:
        out = []
        for c in commands:
            s.sendall(c)
            line = f.readline().strip()
            out.append(line)
            # A `get` answers with its value (if any), then END.
            while line.startswith(b"VALUE "):
                f.read(int(line.split()[3]) + 2)
                line = f.readline().strip()
        return out


def memcached_set(key: str, size: int) -> bytes:
    return f"set {key} 0 0 {size}\r\n".encode() + b"x" * size + b"\r\n"


def start_nginx(stack: Stack, procs: Processes, name: str, svc: dict) -> None:
    port = int(svc.get("port", 80))
    d = stack.work / f"nginx-{name}"
    d.mkdir()
    tls = ""
    domain = (svc.get("tls") or {}).get("domain")
    if domain or port == 443:
        cert, key = stack.certificate(name, domain)
        tls = f" ssl;\n    ssl_certificate {cert};\n    ssl_certificate_key {key}"
    (d / "nginx.conf").write_text(
        f"""daemon off;
pid {d}/nginx.pid;
error_log {d}/error.log info;
events {{ worker_connections 64; }}
http {{
  access_log {d}/access.log;
  client_body_temp_path {d}; proxy_temp_path {d}; fastcgi_temp_path {d}; uwsgi_temp_path {d}; scgi_temp_path {d};
  server {{
    listen {stack.addr[name]}:{port}{tls};
    location = /stub_status {{ stub_status; }}
    location / {{ return 200 "ok\\n"; }}
  }}
}}
"""
    )
    procs.start(name, ["nginx", "-e", str(d / "error.log"), "-c", str(d / "nginx.conf"), "-p", str(d)])


# HAProxy's backend in the rehearsal: the generic app, one connection at a time (a second
# request waits in the backend's queue), checked every second.
HAPROXY_BACKEND_PORT = 65080


def haproxy_documented() -> str:
    """The configuration docs/manifest.md asks a `haproxy` service for: its first code block
    after the `haproxy` section's opening."""
    text = (ROOT / "docs/manifest.md").read_text()
    after = text.split("A `haproxy` service's configuration is the application's own", 1)[1]
    return after.split("```\n", 2)[1]


def start_haproxy(stack: Stack, procs: Processes, name: str, svc: dict) -> None:
    """Debian's HAProxy with the configuration docs/manifest.md asks for, as written but for the
    exporter's bind address (the service's own here, `metrics_port`) and path; then a frontend
    on the service's port (TLS with `tls.domain`) and one backend `app` of one checked server,
    the generic app, one connection at a time. As the official image runs it: `-W -db`."""
    port = int(svc.get("port", 80))
    addr = stack.addr[name]
    d = stack.work / f"haproxy-{name}"
    d.mkdir()
    bind = f"{addr}:{port}"
    domain = (svc.get("tls") or {}).get("domain")
    if domain or port == 443:
        cert, key = stack.certificate(name, domain)
        (d / "site.pem").write_text(cert.read_text() + key.read_text())
        bind += f" ssl crt {d / 'site.pem'}"
    documented = haproxy_documented()
    assert "  bind :8405\n" in documented and "{ path /metrics }" in documented, documented
    path = svc.get("metrics") if isinstance(svc.get("metrics"), str) else "/metrics"
    documented = documented.replace("  bind :8405\n", f"  bind {addr}:{int(svc.get('metrics_port', 8405))}\n").replace("{ path /metrics }", f"{{ path {path} }}")
    procs.start(proxied_app(name), [os.environ["REHEARSE_GENERIC_APP"], f"{addr}:{HAPROXY_BACKEND_PORT}"])
    (d / "haproxy.cfg").write_text(
        documented
        + f"""frontend main
  bind {bind}
  timeout client 60s
  default_backend app
backend app
  timeout connect 2s
  timeout server 60s
  timeout queue 60s
  option httpchk GET /
  server app1 {addr}:{HAPROXY_BACKEND_PORT} check inter 1s fall 2 rise 2 maxconn 1
"""
    )
    wait_port(addr, HAPROXY_BACKEND_PORT, 30)
    procs.start(name, ["haproxy", "-W", "-db", "-f", str(d / "haproxy.cfg")])


def proxied_app(name: str) -> str:
    """The process name of the app a haproxy, caddy or traefik service proxies to (a `.`: no
    service is named so)."""
    return f"{name}.backend"


# Caddy's upstream in the rehearsal: the generic app, checked every second. Its admin endpoint
# (configuration reloads) on the service's own address.
CADDY_BACKEND_PORT = 65081
CADDY_ADMIN_PORT = 2019


# The queue the rehearsal publishes to on each rabbitmq service.
RABBITMQ_QUEUE = "celery"


def rabbitmq_user(stack: Stack, name: str) -> tuple[str, str]:
    """A rabbitmq service's default user and password, as its compose environment gives them
    (`RABBITMQ_DEFAULT_USER`, `RABBITMQ_DEFAULT_PASS`; `guest` otherwise)."""
    env = stack.environment(name) if name in stack.services else {}
    return env.get("RABBITMQ_DEFAULT_USER", "guest"), env.get("RABBITMQ_DEFAULT_PASS", "guest")


def rabbitmq_node(name: str) -> str:
    """The Erlang node name of a rabbitmq service (the official image's is `rabbit@<hostname>`,
    its compose hostname the service's name)."""
    return f"rabbit-{name}@localhost"


def rabbitmqctl(stack: Stack, name: str, *args: str, tool: str = "rabbitmqctl") -> subprocess.CompletedProcess:
    """Debian's rabbitmqctl (or rabbitmq-diagnostics) against a rabbitmq service's node."""
    d = stack.work / f"rabbitmq-{name}"
    env = {**os.environ, "HOME": str(d), "RABBITMQ_NODENAME": rabbitmq_node(name)}
    return subprocess.run([f"/usr/lib/rabbitmq/bin/{tool}", "-n", rabbitmq_node(name), *args], env=env, capture_output=True, text=True, timeout=120)


def start_rabbitmq(stack: Stack, procs: Processes, name: str, svc: dict) -> None:
    """Debian's RabbitMQ (3.10, with its Prometheus plugin) as the official image runs it: the
    plugin enabled, AMQP on the service's port and the plugin on `metrics_port`, both on the
    service's address, and the user of the compose environment (`RABBITMQ_DEFAULT_USER`,
    `RABBITMQ_DEFAULT_PASS`) allowed in from another host, as the image's `10-defaults.conf`
    does for its default one."""
    addr = stack.addr[name]
    d = stack.work / f"rabbitmq-{name}"
    d.mkdir()
    user, password = rabbitmq_user(stack, name)
    (d / "enabled_plugins").write_text("[rabbitmq_prometheus].\n")
    (d / "rabbitmq.conf").write_text(
        f"""loopback_users = none
listeners.tcp.1 = {addr}:{int(svc.get('port', 5672))}
prometheus.tcp.ip = {addr}
prometheus.tcp.port = {int(svc.get('metrics_port', 15692))}
default_user = {user}
default_pass = {password}
log.console = true
log.file = false
"""
    )
    (d / "rabbitmq-env.conf").write_text("")
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(d),
        "RABBITMQ_NODENAME": rabbitmq_node(name),
        "RABBITMQ_MNESIA_BASE": str(d / "mnesia"),
        "RABBITMQ_LOG_BASE": str(d / "log"),
        "RABBITMQ_ENABLED_PLUGINS_FILE": str(d / "enabled_plugins"),
        "RABBITMQ_CONFIG_FILE": str(d / "rabbitmq"),
        "RABBITMQ_CONF_ENV_FILE": str(d / "rabbitmq-env.conf"),
        "RABBITMQ_PID_FILE": str(d / "pid"),
        # Its Erlang distribution port, on every address: one per rabbitmq service.
        "RABBITMQ_DIST_PORT": str(25672 + sorted(n for n, v in stack.manifest["services"].items() if v.get("kind") == "rabbitmq").index(name)),
    }
    # In its own directory: the Erlang VM writes a crash dump where it runs.
    procs.start(name, ["/usr/lib/rabbitmq/bin/rabbitmq-server"], env=env, cwd=d)
    wait_port(addr, int(svc.get("metrics_port", 15692)), 60)


def amqp(stack: Stack, name: str):
    """A blocking AMQP connection to a rabbitmq service, as the compose environment's user."""
    import pika

    svc = stack.manifest["services"][name]
    credentials = pika.PlainCredentials(*rabbitmq_user(stack, name))
    return pika.BlockingConnection(pika.ConnectionParameters(stack.addr[name], int(svc.get("port", 5672)), credentials=credentials, blocked_connection_timeout=30))


# The alerts a front door's one upstream stopped raises, by kind: HAProxy's server marked DOWN
# and its backend left with none; Caddy's upstream marked down; Traefik's service left with no
# server up.
UPSTREAM_DOWN = {
    "haproxy": lambda stack, n: [
        ("HaproxyServerUnhealthy", {"service": n, "proxy": "app", "server": "app1"}),
        ("HaproxyNoServerAvailable", {"service": n, "proxy": "app"}),
    ],
    "caddy": lambda stack, n: [("CaddyUpstreamUnhealthy", {"service": n, "upstream": f"{stack.addr[n]}:{CADDY_BACKEND_PORT}"})],
    "traefik": lambda stack, n: [("TraefikServiceDown", {"service": n, "exported_service": "app@file"})],
}

# What the rehearsal lowers a mysql service's max_connections to, so a few clients fill it; how
# often it tries a login with a wrong password.
MYSQL_MAX_CONNECTIONS = 20
MYSQL_REFUSED_EVERY = 10

# Traefik's upstream in the rehearsal: the generic app, checked every second.
TRAEFIK_BACKEND_PORT = 65082


def traefik_documented() -> list[str]:
    """The flags docs/manifest.md asks a `traefik` service for: its first code block after the
    `traefik` section's opening, one flag a line."""
    text = (ROOT / "docs/manifest.md").read_text()
    after = text.split("A `traefik` service's configuration is the application's own", 1)[1]
    return after.split("```\n", 2)[1].split()


def start_traefik(stack: Stack, procs: Processes, name: str, svc: dict) -> None:
    """Traefik (built by scripts/tools) with the flags docs/manifest.md asks for, as written,
    then the entry points on the service's address (its own `traefik` one on `metrics_port`,
    `web` on `port`, TLS with `tls.domain` or port 443) and a file provider: one router to one
    service, `app`, of one server, the generic app, checked every second."""
    port = int(svc.get("port", 80))
    addr = stack.addr[name]
    d = stack.work / f"traefik-{name}"
    d.mkdir()
    documented = traefik_documented()
    assert "--metrics.prometheus=true" in documented and "--log.format=json" in documented, documented
    domain = (svc.get("tls") or {}).get("domain")
    tls = domain or port == 443
    router = {"rule": "PathPrefix(`/`)", "entryPoints": ["web"], "service": "app"}
    dynamic: dict = {
        "http": {
            "routers": {"app": {**router, **({"tls": {}} if tls else {})}},
            "services": {"app": {"loadBalancer": {"servers": [{"url": f"http://{addr}:{TRAEFIK_BACKEND_PORT}"}], "healthCheck": {"path": "/", "interval": "1s", "timeout": "1s"}}}},
        }
    }
    if tls:
        cert, key = stack.certificate(name, domain)
        dynamic["tls"] = {"certificates": [{"certFile": str(cert), "keyFile": str(key)}], "stores": {"default": {"defaultCertificate": {"certFile": str(cert), "keyFile": str(key)}}}}
    (d / "dynamic.yml").write_text(yaml.safe_dump(dynamic))
    procs.start(proxied_app(name), [os.environ["REHEARSE_GENERIC_APP"], f"{addr}:{TRAEFIK_BACKEND_PORT}"])
    wait_port(addr, TRAEFIK_BACKEND_PORT, 30)
    procs.start(
        name,
        [
            str(TOOLS / "traefik"),
            *documented,
            f"--entryPoints.traefik.address={addr}:{int(svc.get('metrics_port', 8080))}",
            f"--entryPoints.web.address={addr}:{port}",
            f"--providers.file.filename={d / 'dynamic.yml'}",
            "--accesslog=true",
            "--accesslog.format=json",
        ],
        env={"HOME": str(d)},
        cwd=d,
    )


def caddy_documented() -> str:
    """The configuration docs/manifest.md asks a `caddy` service for: its first code block after
    the `caddy` section's opening."""
    text = (ROOT / "docs/manifest.md").read_text()
    after = text.split("A `caddy` service's configuration is the application's own", 1)[1]
    return after.split("```\n", 2)[1]


def caddy_config(stack: Stack, name: str, svc: dict, extra_site: str = "") -> str:
    """The Caddyfile docs/manifest.md asks for, as written but for the metrics site's port (the
    service's `metrics_port`), with the global options a user merges in (every site and the
    admin endpoint on the service's address, which takes requests for that address (on a
    loopback address, Caddy's default origins are localhost's); no HTTP-to-HTTPS redirect on
    port 80, which
    another front door holds here), then a site on the service's port (TLS with `tls.domain` or
    port 443, with the rehearsal CA's certificate) logging its requests and proxying to the
    generic app, checked every second. A site address stays a bare port: one with a host (an
    IP address too) gets automatic HTTPS and answers only that host."""
    port = int(svc.get("port", 80))
    addr = stack.addr[name]
    documented = caddy_documented()
    assert documented.startswith("{\n\tmetrics\n}\n") and "\n:9180 {\n\tmetrics\n}\n" in documented, documented
    documented = documented.replace("{\n\tmetrics\n}\n", f"{{\n\tadmin {addr}:{CADDY_ADMIN_PORT} {{\n\t\torigins {addr}:{CADDY_ADMIN_PORT}\n\t}}\n\tdefault_bind {addr}\n\tauto_https disable_redirects\n\tmetrics\n}}\n", 1)
    documented = documented.replace("\n:9180 {\n", f"\n:{int(svc.get('metrics_port', 9180))} {{\n")
    domain = (svc.get("tls") or {}).get("domain")
    tls = ""
    if domain or port == 443:
        cert, key = stack.certificate(name, domain)
        tls = f"\ttls {cert} {key}\n"
    return (
        documented
        + f"""
:{port} {{
{tls}\tlog
\treverse_proxy {addr}:{CADDY_BACKEND_PORT} {{
\t\thealth_uri /
\t\thealth_interval 1s
\t}}
}}
"""
        + extra_site
    )


def start_caddy(stack: Stack, procs: Processes, name: str, svc: dict) -> None:
    """Caddy (the release the Go module proxy serves, built by scripts/tools) with the
    configuration docs/manifest.md asks for (`caddy_config`), its data and configuration under
    the work directory as the image's XDG directories are, in front of the generic app."""
    addr = stack.addr[name]
    d = stack.work / f"caddy-{name}"
    d.mkdir()
    (d / "Caddyfile").write_text(caddy_config(stack, name, svc))
    procs.start(proxied_app(name), [os.environ["REHEARSE_GENERIC_APP"], f"{addr}:{CADDY_BACKEND_PORT}"])
    wait_port(addr, CADDY_BACKEND_PORT, 30)
    env = {"PATH": os.environ["PATH"], "HOME": str(d), "XDG_DATA_HOME": str(d / "data"), "XDG_CONFIG_HOME": str(d / "config")}
    procs.start(name, [str(TOOLS / "caddy"), "run", "--config", str(d / "Caddyfile"), "--adapter", "caddyfile"], env=env)


def caddy_reload(stack: Stack, name: str, svc: dict, extra_site: str = "") -> subprocess.CompletedProcess:
    """`caddy reload` of the service's configuration (with `extra_site` added), as
    `docker compose exec <service> caddy reload` runs it."""
    d = stack.work / f"caddy-{name}"
    (d / "Caddyfile.next").write_text(caddy_config(stack, name, svc, extra_site))
    return subprocess.run(
        [str(TOOLS / "caddy"), "reload", "--config", str(d / "Caddyfile.next"), "--adapter", "caddyfile", "--address", f"{stack.addr[name]}:{CADDY_ADMIN_PORT}"],
        capture_output=True, text=True, timeout=60,
    )


def framework_facts() -> dict[str, dict]:
    """What sightline holds about each framework's instrumentation at its defaults, read from the
    table it generates into docs/alerts.md (a test keeps that table equal to the code)."""
    text = (ROOT / "docs/alerts.md").read_text()
    table = text.split("## Framework defaults", 1)[1].split("\n\n")[2]
    out = {}
    for row in table.splitlines()[2:]:
        framework, _library, requests, duration, buckets, status, route, req_labels, hist_labels = [c.strip().strip("`") for c in row.strip("|").split("|")]
        names = lambda cell: [] if cell == "none" else [x.strip().strip("`") for x in cell.split(",")]
        label, grouping = re.match(r"(\w+)` \((\w+)\)", status).groups()
        out[framework] = {
            "requests": requests,
            "duration": duration,
            "buckets": [float(b) for b in buckets.split(", ")],
            "status_label": label,
            "grouped": grouping == "grouped",
            "route_label": None if route == "none" else route,
            "request_labels": names(req_labels),
            "duration_labels": names(hist_labels),
        }
    return out


def metric_names(svc: dict) -> dict:
    """A service's metric names as sightline resolves them: the framework's facts under the
    manifest's `metric_names` (a requests counter that is the histogram's `_count` follows a
    renamed histogram; the framework's buckets hold for its own histogram only)."""
    f = framework_facts()[svc.get("framework", "generic")]
    given = svc.get("metric_names") or {}
    duration = given.get("duration", f["duration"])
    follows = f["requests"] == f["duration"] + "_count"
    scale = 1000.0 if duration.endswith(("_ms", "_milliseconds")) else 1.0
    buckets = given.get("buckets") or (f["buckets"] if duration == f["duration"] else None)
    return {
        "requests": given.get("requests") or (duration + "_count" if follows else f["requests"]),
        "duration": duration,
        "status_label": given.get("status_label", f["status_label"]),
        "grouped": given.get("status_codes", "grouped" if f["grouped"] else "exact") == "grouped",
        "route_label": given.get("route_label", f["route_label"]),
        # Unknown bounds (a renamed histogram without `buckets`): client_golang's defaults.
        "buckets": buckets or [b * scale for b in (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)],
        "scale": scale,
    }


def metrics_path(svc: dict) -> str | bool:
    """A service's metrics path as the manifest reference documents it: the given one, else
    Spring Boot's actuator endpoint for spring, else /metrics."""
    default = "/actuator/prometheus" if svc.get("kind") == "http" and svc.get("framework") == "spring" else "/metrics"
    return default if svc.get("metrics", True) is True else svc["metrics"]


def start_http(stack: Stack, procs: Processes, name: str, svc: dict, report: Report) -> bool:
    framework = svc.get("framework", "generic") if svc.get("kind") == "http" else "generic"
    port = int(svc["port"])
    health = svc.get("health") or {}
    metrics = metrics_path(svc)
    env = {
        "LIVE_PATH": health.get("live", ""),
        "READY_PATH": health.get("ready", ""),
        "METRICS_PATH": metrics if isinstance(metrics, str) else "/metrics",
        "PYTHONPATH": str(ROOT / "tests/rehearse/apps"),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    # Metrics on an admin port of their own (`metrics_port`: the Go app only).
    if svc.get("metrics_port"):
        env["METRICS_ADDR"] = f"{stack.addr[name]}:{svc['metrics_port']}"
    # An application that names its own metrics exposes them too.
    if svc.get("kind") == "http" and svc.get("metric_names"):
        env["SIGHTLINE_METRICS"] = json.dumps(metric_names(svc))
    domain = (svc.get("tls") or {}).get("domain")
    if domain:
        start_tls_front(stack, procs, name, domain)
    if framework == "fastapi":
        procs.start(name, [sys.executable, "-m", "uvicorn", "fastapi_app:app", "--host", stack.addr[name], "--port", str(port), "--log-level", "warning"], env=env)
        return True
    if framework in ("flask", "django"):
        procs.start(name, [sys.executable, str(ROOT / "tests/rehearse/apps" / f"{framework}_app.py"), f"{stack.addr[name]}:{port}"], env=env)
        return True
    if framework == "generic":
        # A file-descriptor limit a leak can reach (soft and hard: Go raises the soft one to the
        # hard at start), for FileDescriptorsNearLimit.
        limit = ["prlimit", f"--nofile={FD_LIMIT}:{FD_LIMIT}"]
        procs.start(name, [*limit, os.environ["REHEARSE_GENERIC_APP"], f"{stack.addr[name]}:{port}"], env=env)
        return True
    if framework == "spring":
        # What the compose file sets on its container (the histogram's setting, where the stack
        # runs it); a service the stack does not run, without.
        own = stack.environment(name) if name in stack.services else {}
        histogram = {k: v for k, v in own.items() if k.startswith("MANAGEMENT_METRICS_DISTRIBUTION_")}
        if not histogram:
            stack.no_buckets.add(name)
        limit = ["prlimit", f"--nofile={FD_LIMIT}:{FD_LIMIT}"]
        cmd = ["java", "-Xmx256m", "-jar", os.environ["REHEARSE_SPRING_APP"], f"--server.address={stack.addr[name]}", f"--server.port={port}"]
        procs.start(name, [*limit, *cmd], env={**env, **histogram})
        return True
    if framework in ("express", "fastify"):
        app = ROOT / "tests/rehearse/node" / f"{framework}_app.js"
        procs.start(name, ["node", str(app), f"{stack.addr[name]}:{port}"], env=env, cwd=app.parent)
        return True
    report.check(False, f"{name}: an app on the {framework} framework's instrumentation runs", "not rehearsed yet")
    return False


def start_tls_front(stack: Stack, procs: Processes, name: str, domain: str) -> None:
    """The https front of an `http` service with `tls.domain` (a proxy or load balancer in
    production): port 443 at the service's address, with a certificate for the domain, so the
    certificate probe reads a real chain."""
    cert, key = stack.certificate(name, domain)
    code = (
        "import http.server, ssl, sys\n"
        "class H(http.server.BaseHTTPRequestHandler):\n"
        "    def do_GET(self):\n"
        "        self.send_response(200); self.end_headers(); self.wfile.write(b'ok')\n"
        "    def log_message(self, *a): pass\n"
        "s = http.server.ThreadingHTTPServer((sys.argv[1], 443), H)\n"
        "c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); c.load_cert_chain(sys.argv[2], sys.argv[3])\n"
        "s.socket = c.wrap_socket(s.socket, server_side=True); s.serve_forever()\n"
    )
    procs.start(f"{name}-tls-front", [sys.executable, "-c", code, stack.addr[name], str(cert), str(key)])


def shorten_for(stack: Stack, cap: str | None) -> int:
    """Prometheus loads a copy of the generated `prometheus/` (the generated tree is left as
    built, and a fault can break the copy); with `--for`, every `for:` longer than `cap` is `cap`
    in it. Returns how many were shortened."""
    copy = stack.work / "prometheus-rehearsal"
    shutil.copytree(stack.gen / "prometheus", copy)
    stack.copies["prometheus"] = copy
    n = 0
    if not cap:
        return n
    for f in sorted((copy / "rules").glob("*.yml")):
        doc = yaml.safe_load(f.read_text())
        for g in doc["groups"]:
            for r in g["rules"]:
                if "for" in r and seconds(r["for"]) > seconds(cap):
                    r["for"] = cap
                    n += 1
        f.write_text(yaml.safe_dump(doc, sort_keys=False))
    return n


class FakeDocker:
    """A Docker Engine API on a unix socket, standing in for the daemon behind the socket proxy:
    one container on one network, a log stream, and 200 for any other path, so that whatever
    the proxy lets through shows. `seen` lists every request that reached it."""

    CONTAINER = "0123456789ab"

    def __init__(self, path: Path) -> None:
        self.seen: list[str] = []
        fake = self
        container = {
            "Id": self.CONTAINER, "Names": ["/rehearsal-web-1"], "Image": "web", "State": "running",
            "Labels": {"com.docker.compose.service": "web"}, "Ports": [{"PrivatePort": 8080, "Type": "tcp"}],
            "HostConfig": {"NetworkMode": "rehearsal"},
            "NetworkSettings": {"Networks": {"rehearsal": {"NetworkID": "n1", "IPAddress": "10.9.0.2"}}},
        }
        answers = {
            "/_ping": "OK",
            "/version": {"ApiVersion": "1.47", "MinAPIVersion": "1.24", "Version": "27.5.1", "Os": "linux"},
            "/info": {"ServerVersion": "27.5.1", "Driver": "overlayfs", "DockerRootDir": "/var/lib/docker"},
            "/containers/json": [container],
            "/networks": [{"Name": "rehearsal", "Id": "n1", "Scope": "local", "Driver": "bridge", "Internal": False, "Ingress": False, "Labels": {}}],
            f"/containers/{self.CONTAINER}/json": {"Id": self.CONTAINER, "Name": "/rehearsal-web-1", "Config": {"Tty": False, "Labels": container["Labels"]}, "State": {"Running": True}},
        }

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def answer(self, body: bool) -> None:
                path = re.sub(r"^/v[0-9.]+", "", urllib.parse.urlsplit(self.path).path)
                fake.seen.append(f"{self.command} {self.path}")
                value = answers.get(path, "reached")
                data = (value if isinstance(value, str) else json.dumps(value)).encode()
                if path.endswith("/logs"):
                    # The multiplexed stream: a stdout frame of one line.
                    line = b"2026-12-03T00:00:00.000000000Z hello from the container\n"
                    data = bytes([1, 0, 0, 0]) + len(line).to_bytes(4, "big") + line
                self.send_response(200)
                self.send_header("Api-Version", "1.47")
                self.send_header("Content-Type", "text/plain" if isinstance(value, str) else "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if body:
                    self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802
                self.answer(True)

            def do_HEAD(self) -> None:  # noqa: N802
                self.answer(False)

            def do_POST(self) -> None:  # noqa: N802
                self.answer(True)

            def do_DELETE(self) -> None:  # noqa: N802
                self.answer(True)

            def address_string(self) -> str:
                return "docker.sock"

            def log_message(self, *args) -> None:
                pass

        class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
            daemon_threads = True

        self.server = Server(str(path), Handler)
        os.chmod(path, 0o666)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def rehearse_docker_proxy(stack: Stack, procs: Processes, report: Report) -> None:
    """The socket proxy's generated haproxy.cfg, run by Debian's HAProxy under the compose
    service's user and limits, in front of a fake Docker API: Prometheus's own Docker discovery
    (promtool check service-discovery, the code Alloy's `discovery.docker` runs) finds the
    container through it, the collector's other calls pass, and every other request (a
    container's files, an attach, an exec, a write, another API section) is refused with 403
    before it reaches Docker."""
    name = "docker-socket-proxy"
    if name not in stack.services:
        return
    c = stack.services[name]
    sock = stack.work / "docker.sock"
    fake = FakeDocker(sock)
    cfg = stack.work / "haproxy.cfg"
    text = stack.host_path(name, (stack.gen / "docker-socket-proxy/haproxy.cfg").read_text())
    cfg.write_text(text.replace("/var/run/docker.sock", str(sock)))
    check = subprocess.run(["haproxy", "-c", "-f", str(cfg)], capture_output=True, text=True)
    report.check(check.returncode == 0, "the socket proxy's haproxy.cfg is valid (haproxy -c)", (check.stdout + check.stderr).strip())
    procs.start(name, ["haproxy", "-W", "-db", "-f", str(cfg)], user=c.get("user"), limits=Limits.of(name, c))
    base = f"http://{stack.addr[name]}:2375"
    if not report.check(wait_port(stack.addr[name], 2375, 30), f"{name} listens on {name}:2375", procs.tail(name)):
        return
    # Its clients: the log collector when it reads containers, cAdvisor when it runs.
    collector = any(not (svc.get("logs") or {}).get("path") for svc in stack.manifest.get("services", {}).values())
    cadvisor = "cadvisor" in stack.services
    # Prometheus's Docker discovery, through the proxy, as the collector's discovery.docker.
    sd = stack.work / "docker-sd.yml"
    sd.write_text(yaml.safe_dump({"scrape_configs": [{"job_name": "containers", "docker_sd_configs": [{"host": f"tcp://{name}:2375", "refresh_interval": "15s"}]}]}))
    r = subprocess.run([str(TOOLS / "promtool"), "check", "service-discovery", "--timeout=20s", str(sd), "containers"], capture_output=True, text=True, timeout=60)
    found = f"/rehearsal-web-1" in r.stdout and "com_docker_compose_service" in r.stdout
    if collector:
        report.check(r.returncode == 0 and found, "Prometheus's Docker discovery lists the containers through the socket proxy (promtool check service-discovery)", (r.stdout + r.stderr).strip()[-400:])
    else:
        report.check(not found, "without a collector that reads containers, Docker discovery through the socket proxy finds nothing", (r.stdout + r.stderr).strip()[-400:])
    # The log source's calls: inspect a container, follow its logs; and cAdvisor's: the
    # daemon's information, a container's inspection.
    inspect = f"/v1.47/containers/{FakeDocker.CONTAINER}/json"
    logs = f"/v1.47/containers/{FakeDocker.CONTAINER}/logs?follow=1&stdout=1&stderr=1&timestamps=1"
    passed = [inspect, "/version", "/_ping"] + ([logs, "/v1.47/containers/json", "/v1.47/networks"] if collector else []) + (["/v1.47/info"] if cadvisor else [])
    for path in passed:
        status, _ = http_get(base + path)
        report.check(status == 200, f"the socket proxy passes GET {path}", f"HTTP {status}")
    before = len(fake.seen)
    refused = [
        ("GET", f"/v1.47/containers/{FakeDocker.CONTAINER}/archive?path=/run/secrets"),
        ("GET", f"/containers/{FakeDocker.CONTAINER}/export"),
        ("GET", f"/v1.47/containers/{FakeDocker.CONTAINER}/attach/ws?stdin=1"),
        ("GET", f"/v1.47/containers/{FakeDocker.CONTAINER}/logs/../archive"),
        ("GET", f"/v1.47/containers/{FakeDocker.CONTAINER}%2Farchive"),
        ("GET", "/v1.47/images/json"),
        *([] if cadvisor else [("GET", "/v1.47/info")]),
        *([] if collector else [("GET", logs), ("GET", "/v1.47/containers/json"), ("GET", "/v1.47/networks")]),
        ("GET", "/v1.47/secrets"),
        ("GET", "/v1.47/events"),
        ("GET", "/v1.47/system/df"),
        ("POST", "/v1.47/containers/create"),
        ("POST", f"/v1.47/containers/{FakeDocker.CONTAINER}/exec"),
        ("POST", f"/v1.47/containers/{FakeDocker.CONTAINER}/json"),
        ("DELETE", f"/v1.47/containers/{FakeDocker.CONTAINER}"),
    ]
    for method, path in refused:
        status = http_request(method, base + path, b"{}", "application/json") if method == "POST" else http_request(method, base + path)
        report.check(status == 403, f"the socket proxy refuses {method} {path} (403)", f"HTTP {status}")
    leaked = fake.seen[before:]
    report.check(not leaked, "no refused request reached Docker", ", ".join(leaked))


def rehearse_containerd_proxy(stack: Stack, procs: Processes, report: Report) -> None:
    """The containerd socket proxy's generated haproxy.cfg, run by Debian's HAProxy as the
    compose service's user in its group (root's, for the socket), in front of Debian's
    containerd holding one container in Docker's namespace (`moby`): containerd's own client,
    ctr, through the proxy's socket, reads that container's record (cAdvisor's one call,
    `Containers/Get`), and every other call (another method, another namespace, a write) is
    refused before it reaches containerd, a call with two namespace headers too. Its healthcheck
    answers once it listens, and still when containerd stops (then a call gets 503)."""
    name = "containerd-socket-proxy"
    if name not in stack.services:
        return
    c = stack.services[name]
    d = stack.work / "containerd"
    (d / "rootfs").mkdir(parents=True)
    sock = d / "containerd.sock"
    (d / "config.toml").write_text(
        f'version = 2\nroot = "{d}/root"\nstate = "{d}/state"\ndisabled_plugins = ["io.containerd.grpc.v1.cri"]\n[grpc]\n  address = "{sock}"\n'
    )
    procs.start("containerd", ["containerd", "--config", str(d / "config.toml")])
    end = time.time() + 30
    while not sock.exists() and time.time() < end:
        time.sleep(0.2)
    ctr = lambda address, *args: subprocess.run(["ctr", "--address", str(address), *args], capture_output=True, text=True, timeout=30)
    made = ctr(sock, "-n", "moby", "containers", "create", "--rootfs", str(d / "rootfs"), "rehearsal-web")
    if not report.check(made.returncode == 0, "containerd runs and holds a container in Docker's namespace (ctr, on its own socket)", (made.stdout + made.stderr).strip() + procs.tail("containerd")):
        return
    # The generated file, with containerd's socket and the shared volume where they are here.
    shared = d / "shared"
    shared.mkdir()
    os.chown(shared, 65534, 65534)
    text = (stack.gen / "containerd-socket-proxy/haproxy.cfg").read_text()
    text = text.replace("/run/containerd/containerd.sock", str(sock)).replace("/run/containerd-proxy/", f"{shared}/")
    text = text.replace("127.0.0.1:8405", f"{stack.addr[name]}:8405")
    cfg = d / "haproxy.cfg"
    cfg.write_text(text)
    check = subprocess.run(["haproxy", "-c", "-f", str(cfg)], capture_output=True, text=True)
    report.check(check.returncode == 0, "the containerd proxy's haproxy.cfg is valid (haproxy -c)", (check.stdout + check.stderr).strip())
    procs.start(name, ["haproxy", "-W", "-db", "-f", str(cfg)], user=c.get("user"), groups=[str(g) for g in c.get("group_add", [])], limits=Limits.of(name, c))
    proxy = shared / "containerd.sock"
    end = time.time() + 30
    while not proxy.exists() and time.time() < end:
        time.sleep(0.2)
    health = f"http://{stack.addr[name]}:8405/healthz"
    wait_port(stack.addr[name], 8405, 30)
    status, _ = http_get(health)
    report.check(status == 200, f"{name}'s healthcheck answers 200 once it listens", f"HTTP {status}; " + procs.tail(name))
    got = ctr(proxy, "-n", "moby", "containers", "info", "rehearsal-web")
    ok = got.returncode == 0 and json.loads(got.stdout or "{}").get("Spec", {}).get("root", {}).get("path") == str(d / "rootfs")
    report.check(ok, "through the proxy, containerd's client reads the container's record and its root directory (Containers/Get in moby, cAdvisor's call)", (got.stdout + got.stderr).strip()[-300:])
    refused = [
        ("lists the containers", ["-n", "moby", "containers", "list"]),
        ("reads a container of another namespace", ["-n", "default", "containers", "info", "rehearsal-web"]),
        ("asks the version", ["version"]),
        ("lists the namespaces", ["namespaces", "list"]),
        ("lists the tasks", ["-n", "moby", "tasks", "list"]),
        ("lists the images", ["-n", "moby", "images", "list"]),
        ("deletes the container", ["-n", "moby", "containers", "delete", "rehearsal-web"]),
        # ctr asks for a lease first, which is refused before the create.
        ("creates a container", ["-n", "moby", "containers", "create", "--rootfs", str(d / "rootfs"), "intruder"]),
    ]
    for what, args in refused:
        r = ctr(proxy, *args)
        out = (r.stdout + r.stderr).strip()
        report.check(r.returncode != 0 and ("403" in out or "PermissionDenied" in out), f"the containerd proxy refuses a client that {what} (403)", out[-300:])
    # Raw gRPC requests (curl, HTTP/2 without TLS): one `moby` header passes, and containerd
    # answers; containerd reads the first of two headers, so two are refused, whatever the last.
    def grpc(*headers: str) -> str:
        argv = ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--http2-prior-knowledge", "--unix-socket", str(proxy), "-X", "POST",
                "-H", "content-type: application/grpc", "-H", "te: trailers", "--data-binary", "", "http://localhost/containerd.services.containers.v1.Containers/Get"]
        for h in headers:
            argv[-1:-1] = ["-H", f"containerd-namespace: {h}"]
        return subprocess.run(argv, capture_output=True, text=True, timeout=30).stdout
    code = grpc("moby")
    report.check(code == "200", "the containerd proxy passes a raw Containers/Get in moby to containerd (HTTP 200)", f"HTTP {code}")
    for headers in (("k8s.io", "moby"), ("moby,k8s.io",), ()):
        code = grpc(*headers)
        report.check(code == "403", f"the containerd proxy refuses a Containers/Get with namespace headers {list(headers)} (403)", f"HTTP {code}")
    left = ctr(sock, "-n", "moby", "containers", "list", "-q")
    report.check(left.stdout.split() == ["rehearsal-web"], "containerd still holds exactly its one container", left.stdout + left.stderr)
    # Without containerd the proxy stays healthy (cAdvisor, and Prometheus after it, are not
    # held back on a host where containerd is elsewhere), and a call gets 503.
    procs.stop("containerd")
    got = ctr(proxy, "-n", "moby", "containers", "info", "rehearsal-web")
    out = (got.stdout + got.stderr).strip()
    report.check(got.returncode != 0 and "503" in out, "with containerd stopped, a call through the proxy gets 503", out[-300:])
    status, _ = http_get(health)
    report.check(status == 200, f"with containerd stopped, {name}'s healthcheck still answers 200", f"HTTP {status}")


def http_request(method: str, url: str, data: bytes | None = None, content_type: str | None = None) -> int:
    """The status of a request (0 when nothing answers)."""
    headers = {"Content-Type": content_type} if content_type else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data, method=method, headers=headers), timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return 0


def remote_writes(manifest: dict) -> list[dict]:
    """The manifest's remote-write receivers (`observability.prometheus.remote_write`)."""
    return ((manifest.get("observability") or {}).get("prometheus") or {}).get("remote_write") or []


def start_receivers(stack: Stack, procs: Processes) -> list[tuple[dict, str]]:
    """Each remote-write receiver of the generated prometheus.yml, as its config names it: a
    Prometheus of the stack's release that takes remote writes on the same API as Mimir and
    Thanos Receive (`--web.enable-remote-write-receiver`, `/api/v1/write`), at the URL's host
    (an address of its own here), behind basic authentication with the password the stack's
    Prometheus reads from its file when the receiver has a login. Returns (the receiver's
    config, its base URL)."""
    config_dir = stack.copies.get("prometheus") or stack.gen / "prometheus"
    config = yaml.safe_load((config_dir / "prometheus.yml").read_text())
    out = []
    for w in config.get("remote_write") or []:
        url = urllib.parse.urlsplit(w["url"])
        addr, port = stack.addr[url.hostname], url.port or 80
        d = stack.work / f"receiver-{url.hostname}"
        d.mkdir(mode=0o755)
        (d / "prometheus.yml").write_text("global: {}\n")
        argv = [
            str(TOOLS / "prometheus"),
            f"--config.file={d / 'prometheus.yml'}",
            f"--storage.tsdb.path={d / 'data'}",
            "--web.enable-remote-write-receiver",
            f"--web.listen-address={addr}:{port}",
        ]
        login = w.get("basic_auth")
        if login:
            password = Path(login["password_file"]).read_text()
            hashed = subprocess.run(["htpasswd", "-nbBC", "10", "", password], check=True, capture_output=True, text=True).stdout
            (d / "web.yml").write_text(yaml.safe_dump({"basic_auth_users": {login["username"]: hashed.strip().lstrip(":")}}))
            argv.append(f"--web.config.file={d / 'web.yml'}")
            LOGINS[f"{addr}:{port}"] = basic(login["username"], password)
        procs.start(f"receiver-{url.hostname}", argv)
        wait_port(addr, port, 30)
        out.append((w, f"http://{addr}:{port}"))
    return out


def check_receivers(stack: Stack, report: Report, receivers: list[tuple[dict, str]], prom: str) -> None:
    """Every receiver holds the stack's samples with the external labels the stack gives them,
    refuses a client without the login, and the stack's Prometheus counts no sample refused."""
    for w, base in receivers:
        name = w["name"]
        labels = f'stack="{stack.manifest["stack"]}",env="{stack.manifest["environment"]}"'
        got = api(base, "/api/v1/query", query=f"count(up{{{labels}}})")["data"]["result"]
        report.check(bool(got) and float(got[0]["value"][1]) > 0, f"remote_write {name}: the receiver holds the stack's samples, labelled {labels}", json.dumps(got))
        if w.get("basic_auth"):
            status, _ = http_get(base + "/api/v1/status/buildinfo", login="")
            report.check(status == 401, f"remote_write {name}: the receiver refuses a client without the login", f"HTTP {status}")
        failed = api(prom, "/api/v1/query", query=f'sum(prometheus_remote_storage_samples_failed_total{{remote_name="{name}"}})')["data"]["result"]
        report.check(bool(failed) and float(failed[0]["value"][1]) == 0, f"remote_write {name}: Prometheus counts no sample refused", json.dumps(failed))


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


# The components that take basic authentication (`observability.<name>.auth`): their port, and
# the client their compose healthcheck runs (the image's /bin/<tool>, the pinned release here).
WEB_AUTH = {"prometheus": (9090, "promtool"), "alertmanager": (9093, "amtool")}


def web_auth(stack: Stack, report: Report) -> None:
    """With `observability.<component>.auth`: the manifest holds the hash of a password nobody
    here knows, so the component loads a copy of its web.yml with the hash (htpasswd's bcrypt)
    of the password the rehearsal wrote to the secret's file; the copies of its directory's
    files name that file where it is here. The rehearsal then logs in as Grafana does."""
    for name in WEB_AUTH:
        if (stack.gen / name / "web.yml").exists() and name not in stack.copies:
            stack.copies[name] = stack.work / f"{name}-rehearsal"
            shutil.copytree(stack.gen / name, stack.copies[name])
        # The secrets its files name (its own password, or another's it logs in with), where
        # they are here.
        for f in stack.copies[name].glob("*.yml") if name in stack.copies else []:
            text = f.read_text()
            for secret in stack.services[name].get("secrets", []):
                text = text.replace(f"/run/secrets/{secret}", str(stack.secret_file(secret)))
            # A `{ env }` one is a file of its seeded volume (seed_secrets has run).
            for dst, host in stack.volume_map(name):
                if dst == "/run/sightline-secrets":
                    text = text.replace(f"{dst}/", f"{host}/")
            f.write_text(text)
    for name in WEB_AUTH:
        copy = stack.copies.get(name)
        if copy is None or not (copy / "web.yml").exists():
            continue
        login = yaml.safe_load((copy / "client.yml").read_text())["basic_auth"]
        password = Path(login["password_file"]).read_text()
        hashed = subprocess.run(["htpasswd", "-nbBC", "10", "", password], check=True, capture_output=True, text=True).stdout
        web = copy / "web.yml"
        doc = yaml.safe_load(web.read_text())
        users = doc["basic_auth_users"]
        report.check(list(users) == [login["username"]], f"{name}'s web.yml's user is the one client.yml logs in as", str(list(users)))
        users[login["username"]] = hashed.strip().lstrip(":")
        web.write_text(yaml.safe_dump(doc))
        LOGINS[f"{stack.addr[name]}:{WEB_AUTH[name][0]}"] = basic(login["username"], password)
        report.note(f"{name} asks for a password: a copy of web.yml holds the hash of the rehearsal's {login['password_file']}")
    loki_credentials(stack)


def loki_credentials(stack: Stack) -> None:
    """Loki's ruler sends Alertmanager the contents of its credentials file: the rehearsal
    writes that file with the line docs/security.md gives the operator."""
    client = yaml.safe_load((stack.gen / "loki/loki-config.yml").read_text())["ruler"].get("alertmanager_client")
    if not client:
        return
    login = yaml.safe_load((stack.copies["alertmanager"] / "client.yml").read_text())["basic_auth"]
    credentials = Path(stack.host_path("loki", client["credentials_file"]))
    doc = (ROOT / "docs/security.md").read_text()
    line = re.search(r"""^printf '%s:%s' (\S+) "\$\(cat (\S+)\)" \| base64 -w0 > (\S+)$""", doc, re.M)
    assert line, "docs/security.md gives no line that writes Loki's credentials file"
    # The documented line, with this user, password's file and credentials file.
    script = line.group(0)
    for documented, here in zip(line.groups(), (login["username"], login["password_file"], str(credentials))):
        script = script.replace(documented, shlex.quote(here), 1)
    subprocess.run(["bash", "-c", script], check=True)


def check_web_auth(stack: Stack, report: Report) -> None:
    """Each component behind basic authentication refuses a request without the password or
    with a wrong one, and its compose healthcheck (logged in with client.yml) passes; Loki's
    ruler's login (its `Authorization` header from the credentials file) is let in."""
    for name, (port, tool) in WEB_AUTH.items():
        netloc = f"{stack.addr[name]}:{port}"
        if netloc not in LOGINS:
            continue
        url = f"http://{netloc}/api/v2/status" if name == "alertmanager" else f"http://{netloc}/api/v1/query?query=up"
        status, _ = http_get(url, login="")
        report.check(status == 401, f"{name} refuses a request without the password (401)", f"HTTP {status}")
        user = yaml.safe_load((stack.copies[name] / "client.yml").read_text())["basic_auth"]["username"]
        status, _ = http_get(url, login=basic(user, "not-the-password"))
        report.check(status == 401, f"{name} refuses a request with a wrong password (401)", f"HTTP {status}")
        test = [str(a) for a in stack.services[name]["healthcheck"]["test"][1:]]
        argv = [str(TOOLS / tool) if a == f"/bin/{tool}" else stack.host_path(name, a.replace("127.0.0.1", stack.addr[name])) for a in test]
        r = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        report.check(r.returncode == 0, f"{name}'s compose healthcheck passes: " + " ".join(test), (r.stdout + r.stderr).strip())
        if name == "alertmanager":
            client = yaml.safe_load((stack.gen / "loki/loki-config.yml").read_text())["ruler"]["alertmanager_client"]
            credentials = Path(stack.host_path("loki", client["credentials_file"])).read_text().strip()
            status, _ = http_get(url, login=f"{client['type']} {credentials}")
            report.check(status == 200, "alertmanager lets in the header Loki's ruler would send (`Authorization: <type> <credentials file>`, its notifier.go) from the credentials file written as documented", f"HTTP {status}")


SEED_JOB = "sightline-secrets"


def run_one_shots(stack: Stack, report: Report, names: list[str] | None = None) -> None:
    """Jobs compose runs once (`restart: "no"`), e.g. the query-stats job: their entrypoint,
    natively, with their environment and mounts, once each; a job that drops every capability
    runs as its user, with only those it takes back."""
    for name, c in stack.services.items():
        if c.get("restart") != "no" or not c.get("entrypoint") or name in stack.ran:
            continue
        if names is not None and name not in names:
            continue
        stack.ran.add(name)
        argv = [stack.host_path(name, stack.interpolate(str(a))) for a in c["entrypoint"]]
        if c.get("cap_drop") == ["ALL"]:
            argv = [*only_caps(c.get("cap_add", []), c.get("user")), *argv]
        env = {k: stack.host_path(name, v) if k.endswith("_FILE") else v for k, v in stack.environment(name).items()}
        env = {"PATH": f"{PG_BIN}:/usr/bin:/bin", **env}
        r = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
        report.check(r.returncode == 0, f"one-shot job {name} completes", (r.stdout + r.stderr)[-300:])
        if name.endswith("-query-stats"):
            # It always exits 0 (the exporter waits for it): what it did is in what it says.
            who = f"as {c['user']}, " if c.get("user") else ""
            report.check("pg_stat_statements is installed" in r.stdout, f"{name} creates pg_stat_statements ({who}reading the password file)", (r.stdout + r.stderr)[-300:])


def seed_secrets(stack: Stack, report: Report) -> None:
    """The seeding job first, as compose runs it before what reads its files: then no secret is
    in any container's environment but where the manifest's `compose.environment` puts it, and
    each reader's volume holds its files with the variables' values."""
    seeded = sorted({s["environment"] for s in (stack.compose.get("secrets") or {}).values() if "environment" in s})
    if SEED_JOB not in stack.services:
        report.check(not seeded, "no seeding job: no `{ env }` secret to seed", str(seeded))
        return
    run_one_shots(stack, report, [SEED_JOB])
    values = {n: stack.env_value(n) for n in seeded}
    # Except where the manifest asks for it there: an application's `compose.environment` entry
    # `{ env: NAME }` stays a variable, for a program that reads no file.
    asked = {
        (name, var)
        for name, svc in stack.manifest.get("services", {}).items()
        for var, v in ((svc.get("compose") or {}).get("environment") or {}).items()
        if isinstance(v, dict) and "env" in v
    }
    leaked = [
        f"{name}: {n}"
        for name in stack.services
        for n, v in values.items()
        for var, value in stack.environment(name).items()
        if value == v and (name, var) not in asked
    ]
    report.check(not leaked, f"no container's environment holds a secret given as `{{ env }}` ({', '.join(seeded)}; {len(stack.services)} containers)", ", ".join(leaked))
    for name, c in stack.services.items():
        for v in c.get("volumes", []):
            if v.endswith(":/run/sightline-secrets:ro"):
                d = stack.volumes / v.split(":")[0]
                files = {f.name: f.read_text() for f in d.iterdir()}
                wrong = [n for n, text in files.items() if values.get(n) != text]
                report.check(bool(files) and not wrong, f"{name} finds its `{{ env }}` secrets as files ({', '.join(sorted(files))}), each the variable's value", ", ".join(wrong))


RUNNER = "backup"


def runner_user(stack: Stack) -> tuple[int, int]:
    uid, _, gid = stack.services[RUNNER]["user"].partition(":")
    return int(uid), int(gid or uid)


def runner_env(stack: Stack) -> dict[str, str]:
    """What supercronic passes its jobs: its own environment (the image's PATH with the
    PostgreSQL client; HOME, the user's, /var/lib/postgresql, which is not the runner's to
    write, as on the image's read-only root) and the crontab's variables (`CRON_TZ`)."""
    env = {"PATH": f"{TOOLS}:{PG_BIN}:/usr/bin:/bin", "HOME": "/var/lib/postgresql", **stack.environment(RUNNER)}
    for line in (stack.gen / "backup/crontab").read_text().splitlines():
        m = re.match(r"^([^\s=#]+)\s*=\s*(.*)$", line)
        if m:
            env[m.group(1)] = m.group(2)
    return env


def start_backup_runner(stack: Stack, procs: Processes, report: Report) -> list[tuple[str, str]]:
    """The backup runner as compose runs it: its generated entrypoint, as its user with no
    capability, its tmpfs mounts made with their options, its volumes its user's; the
    entrypoint execs supercronic on the crontab (every schedule, each command behind `true ||`
    so that a run crossing a schedule's time starts nothing of its own beside the jobs the
    rehearsal runs). supercronic is not PID 1 here, so its reaper and the compose healthcheck's
    /proc/1 are not exercised: the check reads its process's comm instead. Returns the
    crontab's lines as (schedule, command) with the container's paths mapped here."""
    if RUNNER not in stack.services:
        return []
    c = stack.services[RUNNER]
    uid, gid = runner_user(stack)
    tmpfs = {}
    for t in c.get("tmpfs", []):
        path, _, opts = t.partition(":")
        if path == "/tmp":
            # Scratch: this machine's own /tmp stands for it.
            continue
        o = dict(kv.split("=", 1) for kv in opts.split(",") if "=" in kv)
        d = tmpfs_dir(stack, path)
        d.mkdir()
        os.chown(d, int(o.get("uid", 0)), int(o.get("gid", 0)))
        os.chmod(d, int(o.get("mode", "1777"), 8))
        tmpfs[path] = str(d)

    def here(text: str) -> str:
        return stack.host_path(RUNNER, text, tmpfs)

    jobs = []
    crontab = []
    for line in (stack.gen / "backup/crontab").read_text().splitlines():
        mapped = here(line)
        if not line.strip() or line.startswith("#") or re.match(r"^[^\s=]+\s*=", line):
            crontab.append(mapped)
            continue
        fields = mapped.split(None, 5)
        crontab.append(" ".join([*fields[:5], "true ||", fields[5]]))
        # Nothing may be written outside the working directory: every container path is mapped.
        for dst, _ in [*stack.volume_map(RUNNER), *((p, "") for p in tmpfs)]:
            if dst != "/" and container_path(dst).search(fields[5]):
                sys.exit(f"rehearse: {dst} is left unmapped in the backup job: {fields[5]}")
        jobs.append((" ".join(fields[:5]), fields[5]))
    mapped_crontab = stack.work / "backup-crontab"
    mapped_crontab.write_text("\n".join(crontab) + "\n")
    entry = stack.work / "backup-entrypoint.sh"
    # supercronic is the one scripts/tools built at the release the Dockerfile builds, copied
    # where the runner's user reaches it (the image's /usr/local/bin).
    supercronic = stack.work / "usr-local-bin" / "supercronic"
    supercronic.parent.mkdir()
    shutil.copy(TOOLS / "supercronic", supercronic)
    entry.write_text(
        here((stack.gen / "backup/entrypoint.sh").read_text())
        .replace(here("/opt/sightline/crontab"), str(mapped_crontab))
        .replace("exec supercronic ", f"exec {supercronic} ")
    )
    argv = [*only_caps(c.get("cap_add", []), f"{uid}:{gid}"), "bash", str(entry)]
    # Its volumes as an older runner (root) left them, whole, or with something root owns in a
    # directory only the runner may enter: the entrypoint refuses and prints the one-time
    # `docker compose run … chown`; that command, run here as compose would run it (root with
    # only the capabilities it adds), hands them over, and the entrypoint then starts.
    owned = [Path(host) for dst, host in stack.volume_map(RUNNER) if Path(host).is_relative_to(stack.volumes) and not dst.startswith("/run/")]

    def refuses_and_fixes(what: str) -> None:
        try:
            r = subprocess.run(argv, env=runner_env(stack), capture_output=True, text=True, timeout=30)
            fix = re.search(r"docker compose run (.*?) --entrypoint chown \S+ (.*)$", r.stderr.strip(), re.M)
            refused, detail = r.returncode == 1 and bool(fix), r.stderr.strip()[-400:]
        except subprocess.TimeoutExpired:
            refused, fix, detail = False, None, "it started on volumes that are not its own"
        report.check(refused, f"backup runner: on {what}, the entrypoint refuses and prints the command that hands them over", detail)
        if fix:
            caps = re.findall(r"--cap-add (\S+)", fix.group(1))
            r = subprocess.run([*only_caps(caps), "chown", *shlex.split(fix.group(2))], capture_output=True, text=True)
            strays = [str(f) for d in owned for f in [d, *d.rglob("*")] if f.lstat().st_uid != uid]
            report.check(r.returncode == 0 and not strays, f"backup runner: the printed command, as root with only {', '.join(caps)}, hands {what} over", (r.stderr + " ".join(strays))[-300:])

    for d in owned:
        os.chown(d, 0, 0)
        os.chmod(d, 0o755)
    refuses_and_fixes("volumes root owns (an older runner's)")
    old = owned[0] / "old-job"
    old.mkdir(mode=0o700)
    (old / "stray.dump").write_text("")
    os.chown(old, uid, gid)
    refuses_and_fixes("a root-owned file in a directory of the runner's, mode 0700")
    shutil.rmtree(old)
    procs.start(RUNNER, argv, env=runner_env(stack), limits=Limits.of(RUNNER, c))
    comm = ""
    for _ in range(50):
        p = procs.running[RUNNER]
        if p.poll() is not None:
            break
        try:
            comm = Path(f"/proc/{p.pid}/comm").read_text().strip()
        except OSError:
            comm = ""
        if comm == "supercronic":
            break
        time.sleep(0.2)
    time.sleep(1)
    alive = procs.running[RUNNER].poll() is None
    report.check(
        alive and comm == "supercronic",
        f"backup runner: its entrypoint, as {uid}:{gid} without capabilities, writes the pgpass file and hands over to supercronic, which loads the crontab and keeps running (the compose healthcheck: `grep -qx supercronic /proc/1/comm`)",
        procs.tail(RUNNER),
    )
    pgpass = tmpfs_dir(stack, "/run/sightline") / "pgpass"
    st = pgpass.stat() if pgpass.exists() else None
    report.check(bool(st) and st.st_uid == uid and st.st_mode & 0o077 == 0, "backup runner: its pgpass file is its user's alone (libpq ignores one others can read)", str(st))
    return jobs


def own_password_files(stack: Stack) -> None:
    """The databases' `{ file }` passwords, owned as docs/manifest.md asks (`chown 65534:999
    FILE; chmod 0440 FILE`), before anything reads them: the exporter (65534), and through
    their group the backup runner and the query-stats jobs (the postgres image's user, 999);
    the database's entrypoint is root."""
    for reader, c in stack.services.items():
        if reader != RUNNER and not reader.endswith("-query-stats"):
            continue
        gid = int(c["user"].partition(":")[2] or c["user"])
        for name in c.get("secrets", []):
            f = stack.secret_file(name if isinstance(name, str) else name["source"])
            os.chown(f, 65534, gid)
            os.chmod(f, 0o440)


def run_cron_job(stack: Stack, procs: Processes, command: str) -> int:
    """One crontab command as supercronic runs it: `sh -c`, supercronic's environment, the
    umask the entrypoint set, as the runner's user with no capability and no new privileges,
    within the runner's limits (its container's cgroup); its output appended to backup.log."""
    uid, gid = runner_user(stack)
    argv = [*only_caps(stack.services[RUNNER].get("cap_add", []), f"{uid}:{gid}"), "/bin/sh", "-c", f"umask 077; {command}"]
    argv = procs.limits[RUNNER].wrap(argv)
    with open(stack.work / "backup.log", "ab") as log:
        return subprocess.run(argv, env=runner_env(stack), stdout=log, stderr=subprocess.STDOUT, timeout=300).returncode


def only_caps(caps: list[str], user: str | None = None) -> list[str]:
    """A prefix that runs a program as compose runs a container with `cap_drop: [ALL]`,
    `cap_add: caps` and no-new-privileges: those capabilities in its bounding set, so the only
    ones root's execve grants, and none inheritable or ambient; with `user` ("uid:gid"), as that
    user in no other group (a non-root process keeps no capability at all)."""
    bounding = ",".join(["-all"] + [f"+{c.lower()}" for c in caps])
    who = []
    if user:
        uid, _, gid = user.partition(":")
        who = [f"--reuid={uid}", f"--regid={gid or uid}", "--clear-groups"]
    return ["setpriv", *who, f"--bounding-set={bounding}", "--inh-caps=-all", "--ambient-caps=-all", "--no-new-privs"]


def start_application(stack: Stack, procs: Processes, report: Report) -> list[str]:
    started = []
    for name, svc in stack.manifest.get("services", {}).items():
        kind = svc.get("kind")
        if kind == "postgres":
            start_postgres(stack, procs, name, svc)
        elif kind == "mysql":
            start_mysql(stack, procs, name, svc)
        elif kind == "redis":
            start_redis(stack, procs, name, svc)
        elif kind == "memcached":
            start_memcached(stack, procs, name, svc)
        elif kind == "nginx":
            start_nginx(stack, procs, name, svc)
        elif kind == "haproxy":
            start_haproxy(stack, procs, name, svc)
        elif kind == "caddy":
            start_caddy(stack, procs, name, svc)
        elif kind == "traefik":
            start_traefik(stack, procs, name, svc)
        elif kind == "rabbitmq":
            start_rabbitmq(stack, procs, name, svc)
        elif kind == "elasticsearch":
            start_search_node(stack, procs, name, svc)
        elif kind == "pgbouncer":
            start_pgbouncer(stack, procs, name, svc)
        elif kind == "mongodb":
            start_mongo_node(stack, procs, name, svc)
        elif kind in ("http", "generic"):
            if not start_http(stack, procs, name, svc, report):
                continue
        elif kind == "celery":
            # After the rest: its broker must be up.
            continue
        else:
            report.check(False, f"{name}: a {kind} service runs", "not rehearsed yet")
            continue
        started.append(name)
    for name, svc in stack.manifest.get("services", {}).items():
        if svc.get("kind") == "celery":
            start_celery(stack, procs, name, svc, report)
            started.append(name)
    return started


# --- checks ------------------------------------------------------------------------------------


def port_of(stack: Stack, name: str) -> int | None:
    svc = stack.manifest.get("services", {}).get(name)
    if svc:
        return int(svc.get("port", 0)) or None
    known = {"prometheus": 9090, "alertmanager": 9093, "node-exporter": 9100, "blackbox-exporter": 9115, "pushgateway": 9091}
    if name in known:
        return known[name]
    if name.endswith("-tls-front"):
        return 443
    if name not in stack.services:
        return None
    image = stack.image(name)
    for key, port in (("postgres-exporter", 9187), ("redis_exporter", 9121), ("memcached-exporter", 9150), ("mysqld-exporter", 9104), ("nginx-prometheus-exporter", 9113), ("elasticsearch-exporter", 9114), ("pgbouncer-exporter", 9127), ("mongodb_exporter", 9216), ("celery-exporter", 9808)):
        if key in image:
            return port
    return None


def selectors(prom: str, expr: str) -> list[str]:
    """The vector selectors of an expression, read by Prometheus's own parser."""
    ast = api(prom, "/api/v1/parse_query", query=expr)["data"]
    out: list[str] = []

    def walk(node) -> None:
        if isinstance(node, dict):
            if node.get("type") in ("vectorSelector", "matrixSelector") and "matchers" in node:
                matchers = ",".join(
                    f'{m["name"]}{ {"=": "=", "!=": "!=", "=~": "=~", "!~": "!~"}[m["type"]]}{json.dumps(m["value"])}'
                    for m in node.get("matchers", [])
                )
                out.append("{" + matchers + "}")
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(ast)
    return out


def concrete(expr: str, chosen: dict[str, str] | None = None) -> str:
    """A dashboard query with Grafana's variables as Grafana would fill them: its own at the
    value the dashboard opens with (`chosen`), a multi-value one left at All (`.+`)."""
    for var, value in (("$__rate_interval", "1m"), ("$__interval", "1m"), ("$__range", "1h"), ("${__range}", "1h")):
        expr = expr.replace(var, value)
    for name, value in (chosen or {}).items():
        expr = re.sub(r"\$\{?" + name + r"\b\}?", value, expr)
    return re.sub(r"\$\{?[A-Za-z_]+\}?", ".+", expr)


def choices(dashboard: dict) -> list[dict[str, str]]:
    """Each way to fill a dashboard's single-value custom variables (a kind's dashboard: one per
    service it shows), so every service's panels are checked; one empty choice when it has none."""
    out = [{}]
    for v in (dashboard.get("templating") or {}).get("list", []):
        if v.get("type") == "custom" and not v.get("multi"):
            out = [dict(c, **{v["name"]: value}) for c in out for value in v["query"].split(",")]
    return out


def without_buckets(stack: Stack, prom: str, sel: str, metric: str) -> bool:
    """Whether every service a histogram's bucket selector matches (those with its `_count`) runs
    without its framework's histogram setting, so has no buckets on purpose."""
    count = sel.replace(f'__name__="{metric}"', f'__name__="{metric.removesuffix("_bucket")}_count"')
    found = {r["metric"].get("service") for r in api(prom, "/api/v1/query", query=f"count by (service) ({count})")["data"]["result"]}
    return bool(found) and found <= stack.no_buckets


def generated_queries(stack: Stack) -> list[tuple[str, str]]:
    out = []
    for f in sorted((stack.gen / "prometheus/rules").glob("*.yml")):
        for g in yaml.safe_load(f.read_text())["groups"]:
            for r in g["rules"]:
                out.append((f"rule {r.get('alert') or r.get('record')} ({f.name})", r["expr"]))
    for f in sorted((stack.gen / "grafana/dashboards").glob("*.json")):
        d = json.loads(f.read_text())
        for chosen in choices(d):
            shown = "".join(f", {k}={v}" for k, v in chosen.items())
            for p in d.get("panels", []):
                for t in p.get("targets", []):
                    if (t.get("datasource") or {}).get("type") == "prometheus":
                        out.append((f"panel {p.get('title')!r} ({f.name}{shown})", concrete(t["expr"], chosen)))
    return out


def traffic(stack: Stack, apps: list[str]) -> None:
    """Healthy traffic with one response of each status the rules look for: enough 200s that no
    threshold or error budget is crossed (1 error in 2,000 stays under a 99.9% objective); on
    each memcached, an item stored, a hit and a miss; on each RabbitMQ, messages published to a
    queue and consumed from it."""
    for name in apps:
        svc = stack.manifest["services"][name]
        if svc.get("kind") == "rabbitmq":
            try:
                with amqp(stack, name) as conn:
                    ch = conn.channel()
                    ch.queue_declare(RABBITMQ_QUEUE)
                    for i in range(20):
                        ch.basic_publish("", RABBITMQ_QUEUE, f"task {i}".encode())
                    for _ in range(20):
                        method, _, _ = ch.basic_get(RABBITMQ_QUEUE)
                        if method:
                            ch.basic_ack(method.delivery_tag)
            except Exception as e:  # pika's errors: the selector checks then report what is missing
                print(f"--    {name}: RabbitMQ did not take the scripted traffic: {e!r}", flush=True)
            continue
        if svc.get("kind") == "celery":
            # Tasks on each of its queues, and of the flaky task one run in forty failing (its
            # failed counter's `exception` label appears with it), which keeps the task's
            # failure ratio below any threshold.
            try:
                app = celery_app(stack, name)
                for q in celery_queues(svc):
                    for _ in range(10):
                        app.send_task("rehearsal.ok", queue=q)
                for i in range(40):
                    app.send_task("rehearsal.flaky", args=[i == 0], queue=celery_queues(svc)[0])
            except Exception as e:  # the broker's errors: the selector checks then report what is missing
                print(f"--    {name}: its broker did not take the scripted tasks: {e!r}", flush=True)
            continue
        if svc.get("kind") == "memcached":
            # A stored item, a hit and a miss: memcached reports a slab class's counters (the
            # out-of-memory one among them) only once the class holds an item.
            try:
                memcached((stack.addr[name], int(svc.get("port", 11211))), memcached_set("rehearsal", 5), b"get rehearsal\r\n", b"get rehearsal-missing\r\n")
            except OSError as e:
                # Its slab counters then stay absent, which the selector checks report.
                print(f"--    {name}: memcached did not take the scripted traffic: {e}", flush=True)
            continue
        if svc.get("kind") in ("haproxy", "caddy", "traefik"):
            # Through its frontend (site) to its backend (upstream): requests, and each class of
            # response.
            base = f"{'https' if (svc.get('tls') or int(svc['port']) == 443) else 'http'}://{stack.addr[name]}:{svc['port']}"
            for _ in range(50):
                http_get(f"{base}/")
            if svc.get("kind") in ("caddy", "traefik"):
                # Caddy and Traefik have a status's series once they answered one (HAProxy has
                # every class's).
                http_get(f"{base}/status/500")
            continue
        if svc.get("kind") not in ("http", "generic"):
            continue
        base = f"http://{stack.addr[name]}:{svc['port']}"
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda _: http_get(f"{base}/"), range(2000)))
        for code in (401, 403, 429, 500):
            http_get(f"{base}/status/{code}")
        http_get(f"{base}/slow/300")
        if svc.get("framework") == "spring":
            # One garbage collection at least: the JVM's pause timer has a series from the first.
            http_get_post(f"{base}/control/heap/1")


def runtime_facts() -> dict[str, dict[str, list[str]]]:
    """What sightline holds about each runtime's default metrics (name -> labels), read from the
    table it generates into docs/alerts.md (a test keeps that table equal to the code)."""
    text = (ROOT / "docs/alerts.md").read_text()
    table = text.split("## Runtime defaults", 1)[1].split("\n\n")[2]
    out = {}
    for row in table.splitlines()[2:]:
        runtime, _library, metrics = [c.strip() for c in row.strip("|").split("|")]
        out[runtime] = {}
        for cell in re.findall(r"`([^`]+)`", metrics):
            name, _, labels = cell.partition("{")
            out[runtime][name] = [l for l in labels.rstrip("}").split(",") if l]
    return out


def catalogue_facts() -> dict[str, dict[str, dict[str, list[str]]]]:
    """What sightline holds about each kind's exporter (kind -> "metrics" and "optional", each
    name -> labels), read from the table it generates into docs/alerts.md (a test keeps that
    table equal to the code)."""
    text = (ROOT / "docs/alerts.md").read_text()
    table = text.split("## Exporter catalogues", 1)[1].split("\n\n")[2]
    out = {}
    for row in table.splitlines()[2:]:
        kind, _program, metrics, optional = [c.strip() for c in row.strip("|").split("|")]
        cells = {}
        for key, cell in (("metrics", metrics), ("optional", optional)):
            cells[key] = {}
            for m in re.findall(r"`([^`]+)`", cell):
                name, _, labels = m.partition("{")
                cells[key][name] = [l for l in labels.rstrip("}").split(",") if l]
        out[kind] = cells
    return out


def check_catalogues(stack: Stack, apps: list[str], prom: str, report: Report) -> None:
    """Each kind's catalogue against its running exporter, read through Prometheus: every
    catalogued metric is exposed for the service, and the labels the rules and panels read
    are on its series (one of them at least: a label with an empty value is dropped); a metric
    behind an option, when it is there."""
    facts = catalogue_facts()
    for name in apps:
        svc = stack.manifest["services"][name]
        kind = svc.get("kind")
        if kind not in facts or svc.get("metrics") is False:
            continue
        for key in ("metrics", "optional"):
            for metric, labels in facts[kind][key].items():
                series = api(prom, "/api/v1/query", query=f'{metric}{{service="{name}"}}')["data"]["result"]
                if key == "optional" and not series:
                    report.note(f"{kind} ({name}): `{metric}` is behind an option this service does not set")
                    continue
                seen = sorted({l for x in series for l in x["metric"]})
                missing = [l for l in labels if l not in seen]
                report.check(bool(series) and not missing, f"{kind} ({name}): `{metric}` is exposed with the catalogued labels {labels}", f"{len(series)} series, labels {seen}")


def open_fds(stack: Stack, name: str) -> int:
    """The file descriptors an app has open, as its runtime's library reports them (the first of
    the runtime's catalogued metrics is the open descriptors' gauge)."""
    from prometheus_client.parser import text_string_to_metric_families

    svc = stack.manifest["services"][name]
    metric = next(iter(runtime_facts()[runtime_of(svc)]))
    _, body = http_get(f"http://{stack.addr[name]}:{svc.get('metrics_port', svc['port'])}{metrics_path(svc)}")
    return int(next(x.value for fam in text_string_to_metric_families(body.decode()) for x in fam.samples if x.name == metric))


def runtime_of(svc: dict) -> str | None:
    """A service's runtime as the manifest reference documents it: the given one, else python for
    fastapi, flask and django, node for fastify, jvm for spring."""
    if svc.get("kind") != "http":
        return None
    return svc.get("runtime") or {"fastapi": "python", "flask": "python", "django": "python", "fastify": "node", "spring": "jvm"}.get(svc.get("framework", "generic"))


def check_runtime_facts(stack: Stack, apps: list[str], report: Report) -> None:
    """What sightline holds about each runtime's default metrics, against the running library:
    every catalogued metric is exposed, with exactly the catalogued labels."""
    from prometheus_client.parser import text_string_to_metric_families

    for name in apps:
        svc = stack.manifest["services"][name]
        runtime = runtime_of(svc)
        if runtime is None or svc.get("metrics") is False:
            continue
        path = metrics_path(svc)
        _, body = http_get(f"http://{stack.addr[name]}:{svc.get('metrics_port', svc['port'])}{path}")
        samples = [x for fam in text_string_to_metric_families(body.decode()) for x in fam.samples]
        for metric, labels in runtime_facts()[runtime].items():
            got = [x for x in samples if x.name == metric]
            keys = sorted({k for x in got for k in x.labels})
            report.check(
                bool(got) and keys == sorted(labels),
                f"{runtime} ({name}): `{metric}` is exposed with the catalogued labels {labels}",
                f"exposed: {bool(got)}, labels {keys}",
            )


def check_facts(stack: Stack, apps: list[str], report: Report) -> None:
    """What sightline holds about each framework, against the running library: the requests
    counter and histogram names, the status label and how it writes a code, the route label and
    the buckets (for the services that keep the framework's defaults)."""
    from prometheus_client.parser import text_string_to_metric_families

    for name in apps:
        svc = stack.manifest["services"][name]
        if svc.get("kind") != "http" or svc.get("metric_names") or svc.get("metrics") is False:
            continue
        framework = svc.get("framework", "generic")
        want = metric_names(svc)
        path = metrics_path(svc)
        _, body = http_get(f"http://{stack.addr[name]}:{svc.get('metrics_port', svc['port'])}{path}")
        samples = [x for fam in text_string_to_metric_families(body.decode()) for x in fam.samples]
        req = [x for x in samples if x.name == want["requests"]]
        codes = {x.labels.get(want["status_label"]) for x in req}
        error = "5xx" if want["grouped"] else "500"
        report.check(
            bool(req) and error in codes,
            f"{framework} ({name}): `{want['requests']}` carries `{want['status_label']}` written as {error!r}",
            f"the library writes {sorted(c for c in codes if c)} under {sorted({k for x in req for k in x.labels})}",
        )
        if want["route_label"]:
            report.check(
                any(want["route_label"] in x.labels for x in req),
                f"{framework} ({name}): `{want['requests']}` has the route label `{want['route_label']}`",
                f"labels: {sorted({k for x in req for k in x.labels})}",
            )
        facts = framework_facts()[framework]
        got = sorted({k for x in req for k in x.labels})
        report.check(got == sorted(facts["request_labels"]), f"{framework} ({name}): `{want['requests']}` has exactly the catalogued labels {facts['request_labels']}", f"the library's: {got}")
        hist = [x for x in samples if x.name == want["duration"] + "_count"]
        got = sorted({k for x in hist for k in x.labels})
        report.check(got == sorted(facts["duration_labels"]), f"{framework} ({name}): `{want['duration']}` has exactly the catalogued labels {facts['duration_labels']}", f"the library's: {got}")
        les = sorted({float(x.labels["le"]) for x in samples if x.name == want["duration"] + "_bucket" and x.labels.get("le") != "+Inf"})
        if name in stack.no_buckets:
            # Without its setting, the library writes no buckets (and DurationBucketsMissing fires).
            report.check(not les, f"{framework} ({name}): without its setting, `{want['duration']}` has no buckets", f"the library's: {les}")
            continue
        report.check(les == sorted(want["buckets"]), f"{framework} ({name}): `{want['duration']}` has the catalogued buckets", f"the library's: {les}")


def alert_rules(stack: Stack) -> list[dict]:
    """Every generated alerting rule."""
    out = []
    for f in sorted((stack.gen / "prometheus/rules").glob("*.yml")):
        for g in yaml.safe_load(f.read_text())["groups"]:
            out += [r for r in g["rules"] if "alert" in r]
    return out


def covers(stack: Stack, rule: dict, service: str) -> bool:
    """Whether a rule can raise its alert for `service`: its static `service` label, or, for a
    rule over several services (whose alerts take `service` from the expression), the
    `service_kind` and `service` matchers of its selectors, read as Prometheus reads them."""
    static = (rule.get("labels") or {}).get("service")
    if static is not None:
        return static == service
    expr = rule["expr"]
    kinds = set(re.findall(r'\bservice_kind="([^"]+)"', expr))
    names = re.findall(r'\bservice(=~|!~|!=|=)"((?:[^"\\]|\\.)*)"', expr)
    if not kinds and not names:
        return False
    if kinds and stack.manifest["services"].get(service, {}).get("kind") not in kinds:
        return False
    for op, value in names:
        value = re.sub(r"\\(.)", r"\1", value)
        hit = re.fullmatch(value, service) is not None if "~" in op else value == service
        if hit == op.startswith("!"):
            return False
    return True


def has_rule(stack: Stack, alert: str, **labels: str) -> dict | None:
    """The rule that raises `alert` with `labels` (a `service` among them: a rule covering it)."""
    for r in alert_rules(stack):
        if r["alert"] != alert:
            continue
        static = r.get("labels") or {}
        if all(covers(stack, r, v) if k == "service" else static.get(k) == v for k, v in labels.items()):
            return r
    return None


def down_alerts(stack: Stack) -> dict[str, set[str]]:
    """service → the names of the generated alerts that say it is down (not its exporter)."""
    out: dict[str, set[str]] = {}
    for r in alert_rules(stack):
        if r["alert"].endswith("Down") and r["alert"] != "ExporterDown":
            for svc in stack.manifest["services"]:
                if covers(stack, r, svc):
                    out.setdefault(svc, set()).add(r["alert"])
    return out


def matches(alert: dict, name: str, labels: dict) -> bool:
    return alert["labels"].get("alertname") == name and all(alert["labels"].get(k) == v for k, v in labels.items())


class Faults:
    """Inject a fault, wait for the alerts it must raise, and check each: active (not
    inhibited), routed to exactly the receivers `sightline route` names for its labels, and
    delivered there; and that the alerts it must not raise stay quiet."""

    def __init__(self, stack: Stack, report: Report, capture: Capture, am: str, wait: int) -> None:
        self.stack, self.report, self.capture, self.am, self.wait = stack, report, capture, am, wait

    def alerts(self) -> list[dict]:
        return api(self.am, "/api/v2/alerts")

    def expect(self, what: str, want: list[tuple[str, dict]], quiet: list[tuple[str, dict]] = ()) -> None:
        deadline = time.time() + self.wait
        found: dict[int, dict] = {}
        while time.time() < deadline and len(found) < len(want):
            for a in self.alerts():
                for i, (name, labels) in enumerate(want):
                    if i not in found and matches(a, name, labels):
                        found[i] = a
            time.sleep(3)
        for i, (name, labels) in enumerate(want):
            shown = ",".join(f"{k}={v}" for k, v in labels.items())
            a = found.get(i)
            if not self.report.check(a is not None, f"{what}: {name}{{{shown}}} fires"):
                continue
            inhibited = a.get("status", {}).get("inhibitedBy") or []
            self.report.check(not inhibited, f"{what}: {name}{{{shown}}} is not inhibited", f"inhibited by {inhibited}")
            want_r = routed(self.stack, a["labels"])
            got_r = {r["name"] for r in a.get("receivers", [])}
            self.report.check(got_r == want_r, f"{what}: {name}{{{shown}}} is routed to {sorted(want_r)}", f"Alertmanager routes it to {sorted(got_r)}")
            end = time.time() + 90
            while self.capture.received(name, labels) != want_r and time.time() < end:
                time.sleep(3)
            got_d = self.capture.received(name, labels)
            self.report.check(got_d == want_r, f"{what}: {name}{{{shown}}} is delivered to {sorted(want_r)}", f"delivered to {sorted(got_d)}")
        for name, labels in quiet:
            shown = ",".join(f"{k}={v}" for k, v in labels.items())
            loud = [a for a in self.alerts() if matches(a, name, labels)]
            self.report.check(not loud, f"{what}: {name}{{{shown}}} stays quiet")


class Load:
    """Bad traffic in the background: 401, 403, 429 and 500 responses and slow requests;
    connections held open and writes memcached refuses."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []
        self.held: list[socket.socket] = []

    def run(self, url: str, workers: int, pause: float = 0.0) -> None:
        def loop() -> None:
            while not self.stop.is_set():
                http_get(url, timeout=60)
                time.sleep(pause)

        for _ in range(workers):
            t = threading.Thread(target=loop, daemon=True)
            t.start()
            self.threads.append(t)

    def hold(self, address: tuple[str, int], count: int) -> int:
        """Open `count` connections to memcached and hold them until the load ends; how many it
        serves (a connection over its limit is answered with an error and closed)."""
        served = 0
        for _ in range(count):
            try:
                s = socket.create_connection(address, 5)
                self.held.append(s)
                s.sendall(b"version\r\n")
                served += s.recv(64).startswith(b"VERSION ")
            except OSError:
                pass
        return served

    def out_of_memory(self, address: tuple[str, int], pause: float = 5.0) -> None:
        """A write memcached refuses every `pause` seconds, each under a new key (a refused
        `set` unlinks the key's old item, and would free room), so the rate of its
        out-of-memory errors stays above 0."""
        def loop() -> None:
            i = 0
            while not self.stop.is_set():
                i += 1
                try:
                    memcached(address, memcached_set(f"rehearsal-refused-{i}", MEMCACHED_VALUE))
                except OSError:
                    pass
                self.stop.wait(pause)

        t = threading.Thread(target=loop, daemon=True)
        t.start()
        self.threads.append(t)

    def mysql_refused(self, client: tuple[list[str], dict[str, str]], pause: float = 10.0) -> None:
        """A login MySQL refuses (the client's wrong password) every `pause` seconds."""
        def loop() -> None:
            while not self.stop.is_set():
                subprocess.run([*client[0], "-e", "SELECT 1"], env=client[1], capture_output=True, timeout=30)
                self.stop.wait(pause)

        t = threading.Thread(target=loop, daemon=True)
        t.start()
        self.threads.append(t)

    def end(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(70)
        for s in self.held:
            s.close()


def latency_threshold(rule: dict) -> float:
    """The seconds a HighLatency rule compares the 95th percentile with."""
    limit = float(re.search(r">\s*([0-9.e+-]+)\s*$", rule["expr"]).group(1))
    return limit / 1000 if re.search(r"_(ms|milliseconds)_bucket", rule["expr"]) else limit


def seconds(duration: str) -> int:
    """A Prometheus duration (`15s`, `1m30s`) in seconds."""
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
    return int(sum(float(n) * units[u] for n, u in re.findall(r"(\d+)(ms|s|m|h|d|w|y)", duration)))


def routed(stack: Stack, labels: dict) -> set[str]:
    r = subprocess.run(
        [SIGHTLINE, "route", "-f", str(stack.manifest_path), *[f"{k}={v}" for k, v in labels.items()]],
        capture_output=True, text=True,
    )
    return {line.strip() for line in r.stdout.splitlines() if line.strip()}


def hold_idle_clients(stack: Stack, procs: Processes, apps: list[str]) -> None:
    """An application's idle connection to each postgres service, held open as a connection
    pool holds its own: postgres_exporter's pg_stat_activity labels that come from the
    connections themselves (usename, application_name, backend_type, wait_event_type,
    wait_event) are empty, so absent, while only the exporter is connected."""
    for name in apps:
        svc = stack.manifest["services"][name]
        if svc.get("kind") != "postgres":
            continue
        env = {"PGPASSWORD": stack.secret_for(svc), "PGHOST": stack.addr[name], "PGPORT": str(svc.get("port", 5432)), "PGUSER": svc.get("user", "postgres"), "PGAPPNAME": "rehearsal"}
        # psql waits on standard input for as long as `sleep` holds the pipe open.
        procs.start(f"{name}-client", ["sh", "-c", f"sleep 3600 | {PG_BIN / 'psql'} -d {shlex.quote(svc.get('database', 'postgres'))}"], env=env)


def write_rows(stack: Stack, sql: str, mysql_sql: str = "") -> None:
    """Run SQL in the database of every postgres service (and `mysql_sql` in every mysql one's,
    as its user)."""
    for name, svc in stack.manifest.get("services", {}).items():
        if svc.get("kind") == "mysql" and mysql_sql:
            argv, env = mysql_client(stack, name, mysql_login(stack, name))
            subprocess.run([*argv, "-D", svc.get("database", "mysql"), "-e", mysql_sql], env=env, capture_output=True, check=True)
        if svc.get("kind") != "postgres":
            continue
        env = {**os.environ, "PGPASSWORD": stack.secret_for(svc), "PGHOST": stack.addr[name], "PGPORT": str(svc.get("port", 5432)), "PGUSER": svc.get("user", "postgres")}
        subprocess.run([str(PG_BIN / "psql"), "-v", "ON_ERROR_STOP=1", "-d", svc.get("database", "postgres"), "-c", sql], env=env, capture_output=True, check=True)


def baseline(stack: Stack, report: Report, am: str, prom: str) -> None:
    """Before any fault: nothing fires but what cannot run here, and the host's real state."""
    for a in api(am, "/api/v2/alerts"):
        l = a["labels"]
        name = l["alertname"]
        if l.get("job") in NOT_HERE or l.get("service") in NOT_HERE or (name == "MonitoringTargetDown" and l.get("job") in NOT_HERE):
            report.note(f"before any fault: {name}{{job={l.get('job')}}} fires for what is not run here")
        elif name.startswith("Host"):
            report.note(f"before any fault: {name} fires on this machine's real state")
        elif name == "Watchdog":
            report.note("before any fault: Watchdog fires, as it always does")
        elif name == "DurationBucketsMissing" and l.get("service") in stack.no_buckets:
            report.note(f"before any fault: DurationBucketsMissing fires for {l['service']}, run without its framework's setting (checked below)")
        else:
            report.check(False, f"before any fault: {name} stays quiet", json.dumps(l))


def inject(stack: Stack, procs: Processes, report: Report, faults: Faults, apps: list[str], jobs: list[tuple[str, str]]) -> None:
    services = stack.manifest.get("services", {})
    http_apps = [n for n in apps if services[n].get("kind") == "http" and services[n].get("metrics") is not False]

    # 0. The applications run without their framework's histogram setting: their requests are
    #    counted and have no buckets. The ones run with it stay quiet.
    missing = [n for n in http_apps if has_rule(stack, "DurationBucketsMissing", service=n)]
    if missing:
        faults.expect(
            "an application without its framework's histogram setting",
            [("DurationBucketsMissing", {"service": n}) for n in missing if n in stack.no_buckets],
            [("DurationBucketsMissing", {"service": n}) for n in missing if n not in stack.no_buckets],
        )

    # 1. Bad traffic, a failing readiness probe, a failed backup; then slow traffic apart (fast
    #    error responses would hide the slow ones from the 95th percentile).
    want: list[tuple[str, dict]] = []
    slow_want: list[tuple[str, dict]] = []
    slow_runs: list[tuple[str, int]] = []
    load = Load()
    for n in http_apps:
        base = f"http://{stack.addr[n]}:{services[n]['port']}"
        for alert, path in (("HighErrorRate", "/status/500"), ("AuthFailures", "/status/401"), ("RateLimited", "/status/429")):
            rule = has_rule(stack, alert, service=n)
            if rule:
                # Over 1/s; a ratio threshold gets as many as the app answers, so the share of
                # errors outgrows the healthy traffic still in the 5-minute window.
                ratio = alert == "HighErrorRate" and float(re.search(r">\s*([0-9.]+)\s*$", rule["expr"]).group(1)) >= 0.05
                load.run(base + path, 4 if ratio else 2, pause=0.02 if ratio else 0.25)
                want.append((alert, {"service": n}))
        rule = has_rule(stack, "HighLatency", service=n)
        if rule and n in stack.no_buckets:
            report.note(f"{n}: HighLatency cannot fire without its histogram's buckets (DurationBucketsMissing is checked instead)")
        elif rule:
            # Half again the threshold (below any top bucket SL506 allows), from enough workers
            # that slow requests are well over 5% of the healthy ones in the window.
            slow = 1.5 * latency_threshold(rule)
            slow_runs.append((f"{base}/slow/{int(slow * 1000)}", min(64, max(8, int(6 * slow) + 1))))
            slow_want.append(("HighLatency", {"service": n}))
        # A descriptor leak in the Go and Spring apps (those with a control for it): past 70% of
        # their limit.
        if services[n].get("framework", "generic") in ("generic", "spring") and has_rule(stack, "FileDescriptorsNearLimit", service=n):
            # To 80% of the limit in all: the JVM starts with more open than the Go app.
            leak = int(FD_LIMIT * 0.8) - open_fds(stack, n)
            code = http_get_post(f"{base}/control/fds/{leak}")
            report.check(code == 200, f"{n}: the app leaks {leak} file descriptors when told to, to {int(FD_LIMIT * 0.8)} of {FD_LIMIT}", f"it answers {code}")
            want.append(("FileDescriptorsNearLimit", {"service": n}))
        ready = (services[n].get("health") or {}).get("ready")
        if ready and has_rule(stack, "HealthCheckFailed", service=n):
            http_get_post(f"{base}/control/ready/0")
            code, _ = http_get(base + ready)
            report.check(code == 503, f"{n}: {ready} answers 503 once the app is told it is not ready", f"it answers {code}")
            want.append(("HealthCheckFailed", {"service": n}))
    jobs_m = batch_jobs(stack)
    backup_jobs = [c for _, c in jobs if re.search(r"backup-(postgres|mysql)\.sh", c)]
    failed_job = None
    if backup_jobs:
        failed_job = re.search(r"--job[= ](\S+)", backup_jobs[0]) or re.search(r"\bJOB=(\S+)", backup_jobs[0])
        failed_job = failed_job.group(1).strip("'\"") if failed_job else None
        # The job's password made wrong: in a copy of the pgpass file (PostgreSQL), or of its
        # password's file (MySQL).
        pgpass = tmpfs_dir(stack, "/run/sightline") / "pgpass"
        mysql_pw = re.search(r"MYSQL_PASSWORD_FILE=(\S+)", backup_jobs[0])
        real = Path(mysql_pw.group(1).strip("'")) if mysql_pw else pgpass
        wrong = pgpass.with_name("password-wrong")
        wrong.write_text("wrong-password" if mysql_pw else re.sub(r":[^:\n]*$", ":wrong-password", pgpass.read_text(), flags=re.M))
        os.chown(wrong, *runner_user(stack))
        os.chmod(wrong, 0o600)
        code = run_cron_job(stack, procs, backup_jobs[0].replace(str(real), str(wrong)))
        report.check(code != 0, "backup runner: a job with a wrong password fails", f"exit {code}")
        if failed_job:
            want.append(("BackupFailed", {"backup_job": failed_job}))
    # A batch job that fails, reporting as documented; another (or the same) whose last success
    # is older than its schedule's longest gap plus its longest run.
    if jobs_m:
        failed_batch, late_batch = jobs_m[0], jobs_m[-1]
        code = report_job(failed_batch["name"], succeeds=False)
        report.check(code == 1, f"batch job {failed_batch['name']}: the documented line reports a failure and exits with the job's status", f"exit {code}")
        want.append(("BatchJobFailed", {"batch_job": failed_batch["name"]}))
        rule = has_rule(stack, "BatchJobLate", batch_job=late_batch["name"])
        limit = int(re.search(r">\s*([0-9]+)\s*$", rule["expr"]).group(1))
        code = push_job(late_batch["name"], f"sightline_job_last_success_timestamp_seconds {int(time.time()) - limit - 600}\n")
        report.check(code == 200, f"batch job {late_batch['name']}: a success {limit + 600} s ago is pushed", f"the Pushgateway answers {code}")
        want.append(("BatchJobLate", {"batch_job": late_batch["name"]}))
    # HAProxy: requests queued behind the backend's one connection (slow ones, from more workers
    # than it serves), and 5xx answers from its server over 5% of the backend's responses.
    for n in [a for a in apps if services[a].get("kind") == "haproxy"]:
        svc = services[n]
        base = f"{'https' if (svc.get('tls') or int(svc['port']) == 443) else 'http'}://{stack.addr[n]}:{svc['port']}"
        if has_rule(stack, "HaproxyRequestsQueued", service=n):
            load.run(f"{base}/slow/2000", 4)
            want.append(("HaproxyRequestsQueued", {"service": n, "proxy": "app"}))
        if has_rule(stack, "HaproxyHighErrorRate", service=n):
            load.run(f"{base}/status/500", 2, pause=0.05)
            want.append(("HaproxyHighErrorRate", {"service": n, "proxy": "app"}))
    # Caddy and Traefik: 5xx answers from their upstream over 5% of their responses.
    for n in [a for a in apps if services[a].get("kind") in ("caddy", "traefik")]:
        svc = services[n]
        base = f"{'https' if (svc.get('tls') or int(svc['port']) == 443) else 'http'}://{stack.addr[n]}:{svc['port']}"
        alert, labels = ("CaddyHighErrorRate", {"service": n}) if svc["kind"] == "caddy" else ("TraefikHighErrorRate", {"service": n, "exported_service": "app@file"})
        if has_rule(stack, alert, service=n):
            load.run(f"{base}/status/500", 2, pause=0.05)
            want.append((alert, labels))
    # RabbitMQ: a queue no consumer reads, filling past the threshold; messages published
    # where no queue is bound; its memory watermark set below what it uses and its disk limit
    # above what is free, which raise both alarms (set back after this phase).
    rabbit_alarms = []
    for n in [a for a in apps if services[a].get("kind") == "rabbitmq"]:
        ready = has_rule(stack, "RabbitmqTooManyReadyMessages", service=n)
        count = int(re.search(r">\s*([0-9]+)\s*$", ready["expr"]).group(1)) + 100 if ready else 100
        try:
            with amqp(stack, n) as conn:
                ch = conn.channel()
                ch.queue_declare(RABBITMQ_QUEUE)
                for i in range(count):
                    ch.basic_publish("", RABBITMQ_QUEUE, f"task {i}".encode())
                for i in range(10):
                    ch.basic_publish("amq.direct", "no-queue-is-bound-to-this", b"lost")
            published = True
        except Exception as e:
            published, count = False, f"none: {e!r}"
        report.check(published, f"{n}: RabbitMQ takes {count} messages for queue {RABBITMQ_QUEUE} and 10 no queue is bound to")
        if ready:
            want.append(("RabbitmqTooManyReadyMessages", {"service": n}))
        if has_rule(stack, "RabbitmqNoQueueConsumer", service=n):
            want.append(("RabbitmqNoQueueConsumer", {"service": n}))
        if has_rule(stack, "RabbitmqUnroutableMessages", service=n):
            want.append(("RabbitmqUnroutableMessages", {"service": n}))
        r = rabbitmqctl(stack, n, "set_vm_memory_high_watermark", "absolute", "10MB")
        d = rabbitmqctl(stack, n, "set_disk_free_limit", "100000GB")
        report.check(r.returncode == 0 and d.returncode == 0, f"{n}: rabbitmqctl sets its memory watermark to 10 MB and its disk limit to 100,000 GB", (r.stdout + r.stderr + d.stdout + d.stderr)[-400:])
        rabbit_alarms.append(n)
        want += [(a, {"service": n}) for a in ("RabbitmqMemoryAlarm", "RabbitmqDiskAlarm", "RabbitmqMemoryHigh") if has_rule(stack, a, service=n)]
    # MySQL: max_connections lowered to 20 and clients held open past the alert's share of it,
    # most of them running queries slower than long_query_time (its default, 10 s) one after
    # another, which also keeps the threads running past theirs; a login with a wrong password
    # every 10 s. Set back after this phase.
    # (An exception ends the rehearsal, and its PID namespace every client with it.)
    mysql_held: list[subprocess.Popen] = []
    mysql_set: list[tuple[str, str]] = []
    pgbouncer_held: list[subprocess.Popen] = []
    for n in [a for a in apps if services[a].get("kind") == "mysql"]:
        # The collectors the exporter runs need no privilege beyond the manifest's user's.
        prom = f"http://{stack.addr['prometheus']}:9090"
        collectors = api(prom, "/api/v1/query", query=f'mysql_exporter_collector_success{{service="{n}"}}')["data"]["result"]
        failing = [c["metric"].get("collector") for c in collectors if c["value"][1] != "1"]
        report.check(bool(collectors) and not failing, f"{n}: every collector mysqld_exporter runs succeeds as the manifest's user ({len(collectors)})", f"failing: {failing}")
        before = mysql_root(stack, n, "SELECT @@global.max_connections").stdout.split()[-1]
        r = mysql_root(stack, n, f"SET GLOBAL max_connections = {MYSQL_MAX_CONNECTIONS}")
        report.check(r.returncode == 0, f"{n}: MariaDB takes max_connections = {MYSQL_MAX_CONNECTIONS}", r.stderr[-400:])
        mysql_set.append((n, before))
        threshold = lambda alert: float(re.search(r">\s*([0-9.]+)\s*$", has_rule(stack, alert, service=n)["expr"]).group(1)) if has_rule(stack, alert, service=n) else None
        connected = int((threshold("MysqlTooManyConnections") or 0.8) * MYSQL_MAX_CONNECTIONS) + 1
        running = int((threshold("MysqlHighThreadsRunning") or 0.6) * MYSQL_MAX_CONNECTIONS) + 1
        # One connection left for the exporter (not SUPER: refused at max_connections, where
        # MysqlDown would fire instead), whose own connection, running SHOW STATUS, counts in
        # both gauges.
        held = min(max(connected, running), MYSQL_MAX_CONNECTIONS - 1)
        running = min(running, held)
        argv, env = mysql_client(stack, n, mysql_login(stack, n))
        for i in range(held):
            p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
            if i < running:
                p.stdin.write(b"SELECT SLEEP(11);\n" * 100)
                p.stdin.flush()
            mysql_held.append(p)
        time.sleep(3)
        r = mysql_root(stack, n, "SHOW GLOBAL STATUS WHERE Variable_name IN ('Threads_connected', 'Threads_running')")
        status = dict(l.split("\t") for l in r.stdout.splitlines()[1:])
        report.check(int(status.get("Threads_connected", 0)) >= held, f"{n}: MariaDB holds {held} clients of its {MYSQL_MAX_CONNECTIONS} connections, {running} running slow queries", r.stdout + r.stderr[-300:])
        wrong = (mysql_login(stack, n)[0], "not-the-password")
        load.mysql_refused(mysql_client(stack, n, wrong), pause=MYSQL_REFUSED_EVERY)
        # What the load reaches, against each alert's threshold (an override may put it out of
        # reach: then the alert is not expected).
        reached = {
            "MysqlTooManyConnections": (held + 1) / MYSQL_MAX_CONNECTIONS,
            "MysqlHighThreadsRunning": (running + 1) / MYSQL_MAX_CONNECTIONS,
            # Slow queries a minute: each running client finishes one every 11 s.
            "MysqlSlowQueries": running * 60 / 11 * 0.8,
            # Refused logins in 5 minutes.
            "MysqlConnectionFailures": 300 / MYSQL_REFUSED_EVERY * 0.8,
        }
        for alert, value in reached.items():
            t = threshold(alert)
            if t is None:
                continue
            if value > t:
                want.append((alert, {"service": n}))
            else:
                report.note(f"{n}: {alert} not expected: its threshold {t} is above what the rehearsal reaches ({value:.2f})")
    # memcached: connections held open past the alert's share of its limit (`-c`); writes once
    # its 4 MB are full (-M), which memcached refuses rather than evict.
    for n in [a for a in apps if services[a].get("kind") == "memcached"]:
        address = (stack.addr[n], int(services[n].get("port", 11211)))
        limit = rule_threshold(stack, n, "MemcachedConnectionLimitApproaching")
        if limit is not None:
            # A few over the threshold: the exporter's own connections only add to them, and
            # the descriptors left (memcached's limit is its `-c`) keep the exporter scraping.
            conns = memcached_limit(stack, n)
            count = int(limit * conns) + 4
            served = load.hold(address, count)
            report.check(served == count, f"{n}: memcached serves {count} connections held open, over {limit:.0%} of its {conns}", f"it serves {served}")
            want.append(("MemcachedConnectionLimitApproaching", {"service": n}))
        if has_rule(stack, "MemcachedOutOfMemoryErrors", service=n):
            answers = []
            try:
                for i in range(4 * 2**20 // MEMCACHED_VALUE * 2):
                    answers += memcached(address, memcached_set(f"rehearsal-fill-{i}", MEMCACHED_VALUE))
                    if not answers[-1].startswith(b"STORED"):
                        break
            except OSError as e:
                answers.append(f"no answer: {e}".encode())
            refused = answers[-1].decode(errors="replace")
            report.check(refused == "SERVER_ERROR out of memory storing object", f"{n}: memcached, its 4 MB full ({len(answers) - 1} values of {MEMCACHED_VALUE} bytes), refuses the next write with out of memory; one more every 5 s", f"it answers {refused!r}")
            load.out_of_memory(address)
            want.append(("MemcachedOutOfMemoryErrors", {"service": n}))
    # PgBouncer: its pool's server connections held by slow queries, and more clients behind
    # them, waiting, a few past PgbouncerClientsWaiting's threshold and, all told, past
    # PgbouncerClientConnectionsNearLimit's share of max_client_conn (set so at start); the
    # oldest waiting client's wait grows past PgbouncerClientWaitTooLong's. Let go after this
    # phase. (An exception ends the rehearsal, and its PID namespace every client with it.)
    backend = pgbouncer_backend(stack)
    pgbouncers = [a for a in apps if services[a].get("kind") == "pgbouncer"]
    if pgbouncers and not backend:
        report.note(f"{', '.join(pgbouncers)}: no postgres service to pool here, so no client can wait: PgBouncer's pool alerts are in the promtool tests only")
    for n in pgbouncers if backend else []:
        held, limit = pgbouncer_clients(stack, n)
        env = {"PATH": "/usr/bin:/bin", "PGPASSWORD": backend[3], "PGCONNECT_TIMEOUT": "10"}
        argv = ["psql", "-X", "-q", "-h", stack.addr[n], "-p", str(services[n].get("port", 6432)), "-U", backend[2], "-d", backend[4], "-c", PGBOUNCER_SLOW_QUERY]
        for i in range(held):
            pgbouncer_held.append(subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env))
            if i == PGBOUNCER_POOL - 1:
                # The pool's clients first, so the rest wait.
                time.sleep(1)
        waiting = held - PGBOUNCER_POOL
        seen = None
        for _ in range(30):
            seen = sum(float(l.rsplit(" ", 1)[1]) for l in exporter_lines(stack, n, 9127, "pgbouncer_pools_client_waiting_connections{") if f'database="{backend[4]}"' in l)
            if seen == waiting:
                break
            time.sleep(1)
        report.check(seen == waiting, f"{n}: PgBouncer holds {PGBOUNCER_POOL} clients on its pool's server connections and {waiting} waiting (read off its exporter), {held} of its max_client_conn {limit}", f"the exporter reports {seen} waiting")
        for alert in ("PgbouncerClientsWaiting", "PgbouncerClientWaitTooLong"):
            if has_rule(stack, alert, service=n):
                want.append((alert, {"service": n}))
        # The exporter's own login counts while it scrapes; without it, the share is held/limit.
        t = rule_threshold(stack, n, "PgbouncerClientConnectionsNearLimit")
        if t is not None and held / limit > t:
            want.append(("PgbouncerClientConnectionsNearLimit", {"service": n}))
        elif t is not None:
            report.note(f"{n}: PgbouncerClientConnectionsNearLimit not expected: its threshold {t} is above what the rehearsal surely reaches ({held}/{limit})")
    # Elasticsearch and OpenSearch (stand-ins): the first node yellow, its heap past the alert's
    # share and its disk below the low-space share; the others red, almost out of disk, with
    # cluster tasks pending.
    searches = [a for a in apps if services[a].get("kind") == "elasticsearch"]
    for i, n in enumerate(searches):
        def share(alert: str) -> float | None:
            rule = has_rule(stack, alert, service=n)
            return float(re.search(r"[<>]\s*([0-9.]+)\s*$", rule["expr"]).group(1)) if rule else None

        low, out, heap = share("ElasticsearchDiskSpaceLow"), share("ElasticsearchDiskOutOfSpace"), share("ElasticsearchHeapUsageTooHigh")
        pending = share("ElasticsearchPendingTasks")
        # The disk alerts by their thresholds (an override may put either above the other).
        disk = sorted([(t, a) for t, a in ((low, "ElasticsearchDiskSpaceLow"), (out, "ElasticsearchDiskOutOfSpace")) if t is not None])
        settings = [("status", "yellow" if i == 0 else "red")]
        if i == 0:
            if heap is not None:
                settings.append(("heap", round(heap + (1 - heap) / 2, 3)))
                want.append(("ElasticsearchHeapUsageTooHigh", {"service": n}))
            if disk and (len(disk) == 1 or disk[0][0] < disk[-1][0]):
                # Free space below the higher threshold and above the lower one: one alert.
                top, alert = disk[-1]
                settings.append(("free", round((top + (disk[0][0] if len(disk) > 1 else 0)) / 2, 3)))
                want.append((alert, {"service": n}))
            elif disk:
                # The same threshold for both: below it, both.
                settings.append(("free", round(disk[0][0] / 2, 3)))
                want += [(a, {"service": n}) for _, a in disk]
        else:
            if disk:
                # Below both.
                settings.append(("free", round(disk[0][0] / 2, 3)))
                want += [(a, {"service": n}) for _, a in disk]
            if pending is not None:
                settings.append(("pending", int(pending) + 3))
                want.append(("ElasticsearchPendingTasks", {"service": n}))
        want.append(("ElasticsearchClusterYellow" if i == 0 else "ElasticsearchClusterRed", {"service": n}))
        for setting, value in settings:
            code = search_node(stack, n, setting, value)
            report.check(code == 200, f"{n}: the stand-in node reports {setting} {value}", f"it answers {code}")
    # MongoDB (stand-ins): the first server's connections past the alert's share of its limit
    # and its open cursors past the alert's count; the last one's cursors timing out at ten
    # times the alert's rate (its average over 5 minutes then passes it within a minute).
    mongos = [a for a in apps if services[a].get("kind") == "mongodb"]
    for n in mongos[:1]:
        t = rule_threshold(stack, n, "MongodbTooManyConnections")
        if t is not None:
            code = mongo_node(stack, n, "connections", round(t + (1 - t) / 2, 3))
            report.check(code == 200, f"{n}: the stand-in server reports {round(t + (1 - t) / 2, 3):.1%} of its connection limit in use", f"it answers {code}")
            want.append(("MongodbTooManyConnections", {"service": n}))
        t = rule_threshold(stack, n, "MongodbNumberCursorsOpen")
        if t is not None:
            code = mongo_node(stack, n, "cursors", int(t) + 100)
            report.check(code == 200, f"{n}: the stand-in server reports {int(t) + 100} cursors open", f"it answers {code}")
            want.append(("MongodbNumberCursorsOpen", {"service": n}))
    for n in mongos[-1:]:
        t = rule_threshold(stack, n, "MongodbCursorsTimeouts")
        if t is not None:
            code = mongo_node(stack, n, "timeouts", round(t * 10 / 60, 3))
            report.check(code == 200, f"{n}: the stand-in server times out {t * 10:g} cursors a minute", f"it answers {code}")
            want.append(("MongodbCursorsTimeouts", {"service": n}))
    faults.expect(
        "bad traffic, readiness 503, a failed backup"
        + (", a failed and a late batch job" if jobs_m else "")
        + (", memcached near its connection limit and out of memory" if any(a.startswith("Memcached") for a, _ in want) else "")
        + (", HAProxy's backend queued and answering 5xx" if any(a.startswith("Haproxy") for a, _ in want) else "")
        + (", Caddy answering 5xx" if any(a.startswith("Caddy") for a, _ in want) else "")
        + (", Traefik answering 5xx" if any(a.startswith("Traefik") for a, _ in want) else "")
        + (", RabbitMQ's queue left by its consumers, unroutable messages and both its alarms" if any(a.startswith("Rabbitmq") for a, _ in want) else "")
        + (", MySQL near max_connections, running slow queries and refusing logins" if any(a.startswith("Mysql") for a, _ in want) else "")
        + (", Elasticsearch nodes yellow and red, their heap and disks filling, cluster tasks pending" if searches else "")
        + (", PgBouncer's pools full with clients waiting" if pgbouncers else "")
        + (", MongoDB near its connection limit, with cursors left open and timing out" if mongos else ""),
        want,
        # The first node's disk is past one threshold, not the other.
        [(a, {"service": n}) for n in searches[:1] for a in ("ElasticsearchDiskSpaceLow", "ElasticsearchDiskOutOfSpace") if has_rule(stack, a, service=n) and (a, {"service": n}) not in want],
    )
    load.end()
    for p in mysql_held:
        p.kill()
        p.wait()
        p.stdin.close()
    for p in pgbouncer_held:
        p.kill()
        p.wait()
        p.stderr.close()
    if pgbouncer_held:
        # PostgreSQL would keep sleeping for the killed clients (PgBouncer's server connections
        # are closed, which a sleeping backend does not notice): ended here.
        env = {"PATH": "/usr/bin:/bin", "PGPASSWORD": backend[3]}
        sql = f"SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE query = '{PGBOUNCER_SLOW_QUERY}' AND pid <> pg_backend_pid()"
        r = subprocess.run(["psql", "-X", "-qAt", "-h", backend[0], "-p", str(backend[1]), "-U", backend[2], "-d", backend[4], "-c", sql], capture_output=True, text=True, env=env)
        report.check(r.returncode == 0, f"PostgreSQL ends the slow queries PgBouncer's clients left ({r.stdout.strip()})", r.stderr[-300:])
    for n, before in mysql_set:
        r = mysql_root(stack, n, f"SET GLOBAL max_connections = {before}")
        report.check(r.returncode == 0, f"{n}: MariaDB takes max_connections back to what it was, {before}", r.stderr[-400:])
    for n in searches:
        codes = [search_node(stack, n, k, v) for k, v in (("status", "green"), ("heap", 0.3), ("free", 0.6), ("pending", 0))]
        report.check(codes == [200] * 4, f"{n}: the stand-in node is healthy again", f"it answers {codes}")
    for n in mongos:
        codes = [mongo_node(stack, n, k, v) for k, v in (("connections", 0.001), ("cursors", 3), ("timeouts", 0))]
        report.check(codes == [200] * 3, f"{n}: the stand-in server is quiet again", f"it answers {codes}")
    for n in [a for a in mongos if not services[a].get("user")][:1]:
        # The first server without a login: its authorization is turned on, which the exporter
        # has no login for. `ping` needs none, so mongodb_up stays 1; getDiagnosticData is
        # refused and serverStatus goes missing: MongodbDown.
        code = mongo_node(stack, n, "auth", 1)
        report.check(code == 200, f"{n}: the stand-in server's authorization is on, the exporter without a login", f"it answers {code}")
        faults.expect("a MongoDB server refusing the exporter", [("MongodbDown", {"service": n})])
        up = next(iter(exporter_lines(stack, n, 9216, "mongodb_up")), None)
        report.check(up is not None and up.endswith(" 1"), f"{n}: refused, the exporter still reports mongodb_up 1 (a ping needs no login)", f"it reports {up}")
        code = mongo_node(stack, n, "auth", 0)
        report.check(code == 200, f"{n}: the stand-in server's authorization is off again", f"it answers {code}")
    for n in [a for a in pgbouncers if services[a].get("user")][:1]:
        # The first PgBouncer with a login: the exporter's user's password changed in its
        # auth_file (reloaded), so PgBouncer refuses the exporter's login: pgbouncer_up 0,
        # PgbouncerDown. Then given back.
        pgbouncer_login(stack, procs, n, "not-the-exporters-password")
        faults.expect("a PgBouncer refusing the exporter's login", [("PgbouncerDown", {"service": n})])
        pgbouncer_login(stack, procs, n, stack.secret_for(services[n]))
        up = None
        for _ in range(30):
            up = next(iter(exporter_lines(stack, n, 9127, "pgbouncer_up ")), None)
            if up == "pgbouncer_up 1.0":
                break
            time.sleep(1)
        report.check(up == "pgbouncer_up 1.0", f"{n}: the exporter logs in again once its password is given back", f"it reports {up}")
    for n in [a for a in searches if not services[a].get("user")][:1]:
        # The first node without a login: its security now asks for one the exporter does not
        # have, every request answered 401. The exporter's cluster-info collector still
        # succeeds (it decodes the error's body), and the cluster's health goes missing:
        # ElasticsearchDown.
        code = search_node(stack, n, "secure", 1)
        report.check(code == 200, f"{n}: the stand-in node refuses every request without a login (401)", f"it answers {code}")
        faults.expect("an Elasticsearch node refusing the exporter", [("ElasticsearchDown", {"service": n})])
        code = search_node(stack, n, "secure", 0)
        report.check(code == 200, f"{n}: the stand-in node answers without a login again", f"it answers {code}")
    for n in rabbit_alarms:
        r = rabbitmqctl(stack, n, "set_vm_memory_high_watermark", "0.4")
        d = rabbitmqctl(stack, n, "set_disk_free_limit", "50MB")
        report.check(r.returncode == 0 and d.returncode == 0, f"{n}: rabbitmqctl sets its memory watermark and disk limit back", (r.stdout + r.stderr + d.stdout + d.stderr)[-400:])
        # RabbitMQ checks its memory and disk every few seconds: both alarms clear.
        url = f"http://{stack.addr[n]}:{int(services[n].get('metrics_port', 15692))}/metrics"
        raised = ["not read"]
        for _ in range(30):
            _, body = http_get(url)
            raised = [l for l in body.decode(errors="replace").splitlines() if l.startswith("rabbitmq_alarms_") and not l.endswith(" 0")]
            if not raised:
                break
            time.sleep(1)
        report.check(not raised, f"{n}: both its alarms clear once its limits are set back", "; ".join(raised))
        try:
            with amqp(stack, n) as conn:
                conn.channel().queue_delete(RABBITMQ_QUEUE)
        except Exception as e:
            report.check(False, f"{n}: the rehearsal's queue is deleted after the faults", repr(e))
    # Celery (after RabbitMQ's alarms: a blocked broker holds the exporter's scrapes): each
    # service's flaky task failing on most runs, and its first queue left by its worker (told to
    # stop consuming it, still up) while tasks arrive, past the alert's threshold.
    celeries = [a for a in apps if services[a].get("kind") == "celery"]
    want = []
    for n in celeries:
        app = celery_app(stack, n)
        queue = celery_queues(services[n])[0]
        if has_rule(stack, "CeleryTaskHighFailRate", service=n):
            done = lambda: sum(celery_metric(stack, n, f"celery_task_{m}_total", name="rehearsal.flaky") for m in ("failed", "succeeded"))
            before = done()
            for i in range(60):
                app.send_task("rehearsal.flaky", args=[i % 4 != 0], queue=queue)
            # All run before the queue is left (below), and none after.
            for _ in range(60):
                if done() >= before + 60:
                    break
                time.sleep(1)
            report.check(done() >= before + 60, f"{n}: its worker runs the 60 flaky tasks sent, 45 failing", f"{done() - before:g} counted")
            # Without task-sent events (the client's `task_send_sent_event`) the exporter does not
            # know a task's queue and labels it `celery` (v0.11.2 `track_task_event`).
            want.append(("CeleryTaskHighFailRate", {"service": n, "name": "rehearsal.flaky", "queue_name": "celery"}))
        t = rule_threshold(stack, n, "CeleryHighQueueLength")
        if t is not None:
            replies = app.control.cancel_consumer(queue, destination=[f"celery@{n}"], reply=True, timeout=5)
            report.check(bool(replies), f"{n}: its worker stops consuming queue {queue} when told to", repr(replies))
            for _ in range(int(t) + 15):
                app.send_task("rehearsal.ok", queue=queue)
            want.append(("CeleryHighQueueLength", {"service": n, "queue_name": queue}))
    if want:
        faults.expect("Celery tasks failing, a queue its worker left", want)
    for n in celeries:
        queue = celery_queues(services[n])[0]
        if rule_threshold(stack, n, "CeleryHighQueueLength") is not None:
            replies = celery_app(stack, n).control.add_consumer(queue, destination=[f"celery@{n}"], reply=True, timeout=5)
            report.check(bool(replies), f"{n}: its worker consumes queue {queue} again", repr(replies))
    if slow_runs:
        load = Load()
        for url, workers in slow_runs:
            load.run(url, workers)
        faults.expect("slow traffic", slow_want)
        load.end()
    for n in http_apps:
        if (services[n].get("health") or {}).get("ready"):
            http_get_post(f"http://{stack.addr[n]}:{services[n]['port']}/control/ready/1")
    if failed_job:
        prom = f"http://{stack.addr['prometheus']}:9090"
        for _, c in jobs:
            j = re.search(r"--job[= ](\S+)", c) or re.search(r"\bJOB=(\S+)", c)
            if j and re.search(r"backup-(postgres|mysql)\.sh", c):
                name = j.group(1).strip("'\"")
                series = api(prom, "/api/v1/query", query=f'count(sightline_backup_last_success_timestamp_seconds{{backup_job="{name}"}})')["data"]["result"]
                report.check(bool(series), f"after job {failed_job} failed: job {name}'s last good dump is still known")

    # 2. Exporters, node-exporter and blackbox-exporter down: ExporterDown, not the service's
    #    Down; HostDown; MonitoringTargetDown; a failed backup stays failed (no false "resolved");
    #    HAProxy's backend server down.
    want, quiet, stopped = [], [], []
    for n in apps:
        exporter = f"{n}-exporter"
        if exporter in procs.running:
            procs.stop(exporter)
            stopped.append(exporter)
            want.append(("ExporterDown", {"service": n}))
            quiet += [(d, {"service": n}) for d in sorted(down_alerts(stack).get(n, ()))]
    # Each front door's one upstream down: its health checks mark it down; the proxy itself still
    # answers (503) and is scraped, so its TargetDown stays quiet.
    for n in [a for a in apps if services[a].get("kind") in UPSTREAM_DOWN]:
        if proxied_app(n) in procs.running:
            procs.stop(proxied_app(n))
            stopped.append(proxied_app(n))
            want += [(a, labels) for a, labels in UPSTREAM_DOWN[services[n]["kind"]](stack, n) if has_rule(stack, a, service=n)]
            quiet.append(("TargetDown", {"service": n}))
    if "node-exporter" in procs.running:
        procs.stop("node-exporter")
        stopped.append("node-exporter")
        want.append(("HostDown", {}))
    if "blackbox-exporter" in procs.running:
        procs.stop("blackbox-exporter")
        stopped.append("blackbox-exporter")
        want.append(("MonitoringTargetDown", {"job": "blackbox"}))
    if "pushgateway" in procs.running:
        # No job's success reaches Prometheus: each job's BatchJobNeverSucceeded (its `for:`
        # shortened here), and the failed job stays failed.
        procs.stop("pushgateway")
        stopped.append("pushgateway")
        want.append(("MonitoringTargetDown", {"job": "pushgateway"}))
        want += [("BatchJobNeverSucceeded", {"batch_job": j["name"]}) for j in jobs_m]
    # A configuration reload refused: a broken rule file for Prometheus, a broken config for
    # Alertmanager (each keeps running its previous configuration), then put back.
    rule_file = sorted((stack.copies["prometheus"] / "rules").glob("*.yml"))[0]
    rules_text = rule_file.read_text()
    rule_file.write_text(rules_text + "\nthis is: [not a rule file\n")
    am_file = stack.work / "alertmanager.yml"
    am_text = am_file.read_text()
    am_file.write_text(am_text + "\nroute: [broken\n")
    for p in ("prometheus", "alertmanager"):
        os.kill(procs.running[p].pid, signal.SIGHUP)
    want += [("PrometheusConfigReloadFailed", {"job": "prometheus"}), ("AlertmanagerConfigReloadFailed", {"job": "alertmanager"})]
    # Caddy: a reload whose new site cannot listen (Prometheus holds the port) is refused, and
    # Caddy keeps the configuration it runs.
    for n in [a for a in apps if services[a].get("kind") == "caddy"]:
        r = caddy_reload(stack, n, services[n], f"\n:9090 {{\n\tbind {stack.addr['prometheus']}\n\trespond ok\n}}\n")
        report.check(r.returncode != 0 and "address already in use" in r.stderr, f"{n}: caddy reload of a site on a port in use is refused", (r.stdout + r.stderr)[-400:])
        if has_rule(stack, "CaddyConfigReloadFailed", service=n):
            want.append(("CaddyConfigReloadFailed", {"service": n}))
    faults.expect(
        "exporters, node-exporter and blackbox-exporter down; configuration reloads refused"
        + (", HAProxy's server down" if any(a.startswith("Haproxy") for a, _ in want) else "")
        + (", Caddy's upstream down and its reload refused" if any(a.startswith("Caddy") for a, _ in want) else "")
        + (", Traefik's server down" if any(a.startswith("Traefik") for a, _ in want) else ""),
        want,
        quiet,
    )
    rule_file.write_text(rules_text)
    am_file.write_text(am_text)
    for p in ("prometheus", "alertmanager"):
        os.kill(procs.running[p].pid, signal.SIGHUP)
    for n in [a for a in apps if services[a].get("kind") == "caddy"]:
        r = caddy_reload(stack, n, services[n])
        report.check(r.returncode == 0, f"{n}: caddy reload of its own configuration is taken", (r.stdout + r.stderr)[-400:])
    if failed_job and "node-exporter" in stopped:
        still = [a for a in faults.alerts() if matches(a, "BackupFailed", {"backup_job": failed_job})]
        report.check(bool(still), f"node-exporter down: BackupFailed{{backup_job={failed_job}}} keeps firing")
        report.check(
            not faults.capture.received("BackupFailed", {"backup_job": failed_job}, status="resolved"),
            f"node-exporter down: no resolved notice for BackupFailed{{backup_job={failed_job}}}",
        )
    if "pushgateway" in stopped:
        j = jobs_m[0]["name"]
        still = [a for a in faults.alerts() if matches(a, "BatchJobFailed", {"batch_job": j})]
        report.check(bool(still), f"Pushgateway down: BatchJobFailed{{batch_job={j}}} keeps firing")
        report.check(
            not faults.capture.received("BatchJobFailed", {"batch_job": j}, status="resolved"),
            f"Pushgateway down: no resolved notice for BatchJobFailed{{batch_job={j}}}",
        )
    for p in stopped:
        procs.restart(p)
    if "pushgateway" in stopped:
        # Its persistence file brings every job's last result back.
        wait_port(stack.addr["pushgateway"], 9091, 30)
        kept = api("http://pushgateway:9091", "/api/v1/metrics")["data"]
        names = {g["labels"].get("job") for g in kept if "sightline_job_last_failure_timestamp_seconds" in g}
        report.check(jobs_m[0]["name"] in names, f"Pushgateway restarted: batch job {jobs_m[0]['name']}'s failure is still there", json.dumps(sorted(n or "" for n in names)))
        # Every job succeeds again, as documented: its alerts resolve before the services stop.
        jobs_succeed(stack, report)

    # 2b. Celery workers stopped (a warm shutdown: each says it goes offline) with their broker
    #     up: CeleryWorkersDown; then started again. Step 3 stops their brokers too, and without
    #     its broker the exporter reads nothing (`/metrics` answers 500: ExporterDown).
    celeries = [a for a in apps if services[a].get("kind") == "celery" and has_rule(stack, "CeleryWorkersDown", service=a)]
    for n in celeries:
        procs.stop(n)
        # Its offline event, not the exporter's 5-minute timeout, sets it to 0.
        up = 1.0
        for _ in range(15):
            up = celery_metric(stack, n, "celery_worker_up", hostname=n)
            if up == 0:
                break
            time.sleep(1)
        report.check(up == 0, f"{n}: its worker, stopped, says it goes offline: celery_worker_up is 0 at once", f"it is {up}")
    if celeries:
        faults.expect("Celery workers stopped", [("CeleryWorkersDown", {"service": n}) for n in celeries])
    for n in celeries:
        log = procs.logs / f"{n}.log"
        ready = log.read_text(errors="replace").count(" ready.")
        procs.restart(n)
        for _ in range(60):
            if log.read_text(errors="replace").count(" ready.") > ready:
                break
            time.sleep(1)
        report.check(log.read_text(errors="replace").count(" ready.") > ready, f"{n}: its worker, started again, is ready", procs.tail(n))

    # 3. Each service stopped: its Down alert fires, routed and delivered; the service's other
    #    alerts are inhibited by it, and nothing else is.
    down = down_alerts(stack)
    for name in [a for a in apps if a not in down]:
        report.note(f"{name} has no down alert (not scraped)")
    targets = [a for a in apps if a in down and services[a].get("kind") != "celery"]
    for name in [a for a in apps if a in down and a not in targets]:
        report.note(f"{name}: its workers were stopped with their broker up (2b); here their broker stops with them")
    for name in targets:
        procs.stop(name)
        report.note(f"stopped {name}")
    want = [(sorted(down[n])[0], {"service": n}) for n in targets]
    faults.expect("services stopped", want)
    time.sleep(20)
    names = {d for n in targets for d in down[n]}
    for a in faults.alerts():
        l = a["labels"]
        inhibited = a.get("status", {}).get("inhibitedBy") or []
        if l.get("service") in targets and l["alertname"] not in names:
            report.check(bool(inhibited), f"{l['service']} down: {l['alertname']} is inhibited by its Down alert")
        elif inhibited and l.get("severity") != "warning" and not l["alertname"].startswith("Host"):
            report.check(False, f"{l['alertname']} is inhibited only as designed", json.dumps(l))
    # Its broker stopped, each celery exporter has logged its errors (every 5 s, with the
    # retry interval) for a while: none of its lines holds the broker's password, encoded or not
    # (the exporter's logger would print its caller's variables, the URL among them, without
    # the variables sightline sets).
    for n in [a for a in apps if services[a].get("kind") == "celery" and services[a].get("password")]:
        text = (procs.logs / f"{n}-exporter.log").read_text(errors="replace")
        secret = stack.secret_for(services[n])
        errors = text.count("retrying in")
        leaked = secret in text or urllib.parse.quote(secret, safe="") in text
        report.check(errors > 0 and not leaked, f"{n}-exporter: its log holds no password (broker errors logged: {errors})", "the password is in its log" if leaked else "no broker error logged")


def report_line() -> str:
    """The one line docs/manifest.md gives a batch job to report its result with, for its
    example job `audit-cleanup`: the rehearsal runs that very line."""
    doc = (ROOT / "docs/manifest.md").read_text()
    lines = [l for l in doc.splitlines() if "sightline_job_last_" in l and "curl" in l and not l.startswith("|")]
    if len(lines) != 1:
        sys.exit(f"rehearse: docs/manifest.md gives {len(lines)} report lines, not one")
    return lines[0]


def report_job(name: str, succeeds: bool) -> int:
    """A run of batch job `name` that succeeds or fails, reporting as the documented line does;
    the line's exit status, which is the job's."""
    line = report_line()
    if not line.startswith("audit-cleanup;"):
        sys.exit(f"rehearse: the documented report line does not start with the job: {line}")
    line = ("true" if succeeds else "false") + line.removeprefix("audit-cleanup")
    line = line.replace("/metrics/job/audit-cleanup", f"/metrics/job/{urllib.parse.quote(name)}")
    return subprocess.run(["/bin/sh", "-c", line], capture_output=True, timeout=30).returncode


def push_job(name: str, text: str) -> int:
    """A push of `text` (the exposition format) to the Pushgateway's group of batch job `name`."""
    return http_post(f"http://pushgateway:9091/metrics/job/{urllib.parse.quote(name)}", text.encode(), "text/plain")


def batch_jobs(stack: Stack) -> list[dict]:
    return stack.manifest.get("jobs") or []


def jobs_succeed(stack: Stack, report: Report) -> None:
    """Every batch job runs and succeeds, reporting as documented."""
    for j in batch_jobs(stack):
        code = report_job(j["name"], succeeds=True)
        report.check(code == 0, f"batch job {j['name']}: the documented line reports a success", f"exit {code}")


def http_post(url: str, data: bytes, content_type: str) -> int:
    return http_request("POST", url, data, content_type)


def http_get_post(url: str) -> int:
    return http_post(url, b"{}", "application/json")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("manifest", type=Path)
    parser.add_argument("--keep", action="store_true", help="keep the working directory")
    parser.add_argument(
        "--for", dest="for_", metavar="DURATION",
        help="for the rehearsal only: Prometheus loads copies of the rules with every `for:` longer than DURATION shortened to it",
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="sightline-rehearse-"))
    report = Report()
    procs = Processes(work)
    try:
        stack = Stack(args.manifest.resolve(), work)
        print(f"rehearsing {args.manifest} in {work}", flush=True)
        write_hosts(stack)
        n = shorten_for(stack, args.for_)
        if args.for_:
            stack.timing = args.for_
            report.note(f"--for {args.for_}: {n} alerts wait {args.for_} instead of their `for:`, and Alertmanager's group_wait and group_interval are at most {args.for_} (in copies of the rule files and of alertmanager.yml)")
        capture = Capture(stack.addr[CAPTURE[0]])
        report.note(f"Alertmanager's receivers all post to http://{CAPTURE[0]}:{CAPTURE[1]}/<receiver> (a rewritten copy of alertmanager.yml)")
        for name, why in NOT_HERE.items():
            if name in stack.services:
                report.note(f"not run here: {name} ({why})")
        hostile_broker_passwords(stack)
        seed_secrets(stack, report)
        own_password_files(stack)
        web_auth(stack, report)
        apps = start_application(stack, procs, report)
        run_one_shots(stack, report)
        start_observability(stack, procs, report)
        receivers = start_receivers(stack, procs)
        jobs = start_backup_runner(stack, procs, report)
        # The databases hold data, and are written to between the dumps and the restore test,
        # as a live database is.
        write_rows(
            stack,
            "CREATE TABLE IF NOT EXISTS rehearsal_writes (id serial PRIMARY KEY, at timestamptz DEFAULT now()); INSERT INTO rehearsal_writes DEFAULT VALUES;",
            "CREATE TABLE IF NOT EXISTS rehearsal_writes (id int AUTO_INCREMENT PRIMARY KEY, note text, at timestamp DEFAULT now()); INSERT INTO rehearsal_writes (note) VALUES ('it''s (a), (b); c\\\\');",
        )
        restores = re.compile(r"restore-(postgres|mysql)\.sh")
        for schedule, command in sorted(jobs, key=lambda j: bool(restores.search(j[1]))):
            if restores.search(command):
                write_rows(stack, "INSERT INTO rehearsal_writes DEFAULT VALUES;", "INSERT INTO rehearsal_writes (note) VALUES ('after the dump');")
            code = run_cron_job(stack, procs, command)
            report.check(code == 0, f"backup runner: `{schedule}` job succeeds as the runner's user, without capabilities", f"exit {code}; see backup.log")
        # Every batch job has run once and succeeded, reporting as documented.
        if "pushgateway" in procs.running:
            wait_port(stack.addr["pushgateway"], 9091, 30)
        jobs_succeed(stack, report)
        for name in list(procs.running):
            port = port_of(stack, name)
            if port:
                up = wait_port(stack.addr[name.removesuffix("-tls-front")], port, 60)
                report.check(up, f"{name} listens on {name}:{port}", procs.tail(name))
        prom = f"http://{stack.addr['prometheus']}:9090"
        am = f"http://{stack.addr['alertmanager']}:9093"
        hold_idle_clients(stack, procs, apps)
        traffic(stack, apps)
        glob = yaml.safe_load((stack.gen / "prometheus/prometheus.yml").read_text())["global"]
        interval = max(seconds(glob["scrape_interval"]), seconds(glob["evaluation_interval"]))
        report.note(f"waiting for three scrapes and rule evaluations ({3 * interval + 5} s)")
        time.sleep(3 * interval + 5)
        traffic(stack, apps)

        # Rule groups load and evaluate without errors.
        for g in api(prom, "/api/v1/rules")["data"]["groups"]:
            bad = [r["name"] for r in g["rules"] if r.get("health") != "ok"]
            report.check(not bad, f"rule group {g['name']} evaluates", ", ".join(bad))
        # Every target is up, except what cannot run here.
        for t in api(prom, "/api/v1/targets")["data"]["activeTargets"]:
            job = t["labels"].get("job", "?")
            host = t["labels"].get("instance", "").split(":")[0]
            if host in NOT_HERE or job in NOT_HERE:
                report.note(f"target {job} ({t['scrapeUrl']}) not run here")
                continue
            report.check(t["health"] == "up", f"target {job} is up ({t['scrapeUrl']})", t.get("lastError", ""))
        check_web_auth(stack, report)
        check_receivers(stack, report, receivers, prom)
        rehearse_docker_proxy(stack, procs, report)
        rehearse_containerd_proxy(stack, procs, report)
        # Every selector of every rule and panel returns series after the traffic; or its metric
        # is there and only the label values wait for an event (a 5xx, a firing alert), and
        # then a panel still shows a value, not "No data".
        def has(q: str) -> bool:
            return bool(api(prom, "/api/v1/query", query=q)["data"]["result"])

        for what, expr in generated_queries(stack):
            absent, events = [], []
            for sel in selectors(prom, expr):
                if has(f"count({sel})"):
                    continue
                name = re.search(r'__name__="([^"]+)"', sel)
                metric = name.group(1) if name else None
                # The traffic sent every status and latency the rules look for; what is still
                # missing is missing for good, except the user's own metrics, which nothing
                # here exposes, and what only an event makes:
                # A firing alert, a batch job's failure: each has to happen first.
                if metric in ("ALERTS", "sightline_job_last_failure_timestamp_seconds"):
                    events.append(sel)
                elif what.endswith("(user.yml)"):
                    events.append(sel + " (the user's own metric)")
                elif metric and metric.startswith("container_") and "cadvisor" in stack.services:
                    absent.append(sel + " (cAdvisor, not run here)")
                elif metric and metric.startswith("loki_") and "loki" in stack.services:
                    absent.append(sel + " (Loki, not run here)")
                elif metric and metric.endswith("_bucket") and without_buckets(stack, prom, sel, metric):
                    absent.append(sel + " (absent on purpose: an app run without its framework's histogram setting has no buckets, and DurationBucketsMissing fires)")
                else:
                    absent.append(sel)
            if absent and all("not run here" in a or "absent on purpose" in a for a in absent):
                report.note(f"{what} reads what is not run here or absent on purpose: {' '.join(absent)}")
            elif absent:
                report.check(False, f"{what} selects series", "no such series: " + " ".join(absent))
            elif events and what.startswith("panel"):
                report.check(has(expr), f"{what} shows a value before its event", "No data until: " + " ".join(events))
            elif events:
                report.note(f"{what} waits for an event: {' '.join(events)}")
            else:
                report.check(True, f"{what} selects series")

        check_facts(stack, apps, report)
        check_runtime_facts(stack, apps, report)
        check_catalogues(stack, apps, prom, report)
        for n in [a for a in apps if a in stack.services and stack.manifest["services"][a].get("kind") == "mysql"]:
            check_mysql_healthcheck(stack, report, n)
        for n in [a for a in apps if stack.manifest["services"][a].get("kind") in ("elasticsearch", "mongodb") and stack.manifest["services"][a].get("user")]:
            # Its security on from the start: every request the exporter made came with the
            # manifest's login, through the compose entrypoint's shell.
            _, body = http_get(standin_control(stack, n, "/_rehearsal/logins"))
            seen = json.loads(body)
            report.check(seen["accepted"] > 0 and seen["refused"] == 0, f"{n}: the exporter logs in to the server with its user and password", json.dumps(seen))
        for n in [c for c, s in stack.services.items() if "build" in s and "ARG EXPORTER_IMAGE=" in stack.dockerfile(c)]:
            # An exporter built with a shell: its compose healthcheck, the shell image's busybox
            # `wget`, run as written with this machine's wget (the same flags), at its address.
            test = [str(a).replace("127.0.0.1", stack.addr[n]) for a in stack.services[n]["healthcheck"]["test"]]
            r = subprocess.run(test[1:], capture_output=True, text=True, timeout=10) if test[:2] == ["CMD", "wget"] else None
            report.check(r is not None and r.returncode == 0, f"{n}: its compose healthcheck passes: {' '.join(test[1:])}", (r.stdout + r.stderr)[-300:] if r else f"not a wget: {test}")
        rules_for = max([seconds(r.get("for", "0s")) for r in alert_rules(stack)] + [0])
        cap = min(rules_for, seconds(args.for_)) if args.for_ else rules_for
        faults = Faults(stack, report, capture, am, cap + 4 * interval + 120)
        baseline(stack, report, am, prom)
        if (stack.manifest.get("alerting") or {}).get("heartbeat"):
            faults.expect("the dead man's switch", [("Watchdog", {})])
        inject(stack, procs, report, faults, apps, jobs)
        # Remote storage down: sending falls behind, and the alert says which receiver.
        for w, _ in receivers:
            procs.stop(f"receiver-{urllib.parse.urlsplit(w['url']).hostname}")
            faults.expect(f"remote storage {w['name']} down", [("PrometheusRemoteWriteBehind", {"remote_name": w["name"]})])
        procs.within_limits(report)
    finally:
        procs.stop_all()
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(f"{report.passed} passed, {report.failed} failed", flush=True)
    return 0 if report.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

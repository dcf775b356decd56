"""The rehearsal: run the stack a manifest generates, natively, and check that it works.

Started by scripts/rehearse inside a private network and mount namespace. It builds the
manifest, reads the generated compose file for each container's command, flags, environment
and mounts, and runs the same programs on loopback, one address per compose service:

- Prometheus, Alertmanager, node-exporter, the exporters and blackbox-exporter: the programs
  scripts/tools builds at the releases the stack pins, with the compose file's flags; paths
  inside the container are mapped to the generated tree and to per-volume directories, and
  each program listens on its service's address;
- PostgreSQL, Redis and nginx from Debian for the application's postgres, redis and nginx
  services, set up as their official images would be from the compose environment;
- each `http` service: an app on its framework's instrumentation library with its defaults
  (tests/rehearse/apps/);
- Alertmanager runs a rewritten copy of alertmanager.yml whose receivers all post to a capture
  server in this process (routes, inhibitions and timers unchanged), so a notification is
  seen where Slack or PagerDuty would have received it.

What compose would run and cannot run here (cAdvisor reads a Docker host; Loki and Grafana are
AGPL and not built; Alloy and Promtail need Docker's socket) is listed, never skipped silently.

Each check prints one line, `ok` or `FAIL`; the last line is `N passed, N failed`, and the
exit code is 0 only when nothing failed.
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
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

# What compose would run that cannot run here, and why.
NOT_HERE = {
    "cadvisor": "reads a Docker host's cgroups and socket",
    "loki": "AGPL: no Loki binary is built for the tests",
    "grafana": "AGPL: no Grafana binary is built for the tests",
    "alloy": "reads containers through Docker's socket",
    "promtail": "reads containers through Docker's socket",
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

    def received(self, alertname: str, labels: dict) -> set[str]:
        """Receivers that were notified of a firing alert with these labels."""
        out = set()
        for receiver, post in self.posts:
            for a in post.get("alerts", []):
                if a.get("status") == "firing" and a["labels"].get("alertname") == alertname and all(
                    a["labels"].get(k) == v for k, v in labels.items()
                ):
                    out.add(receiver)
        return out


# --- processes ---------------------------------------------------------------------------------


class Processes:
    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.running: dict[str, subprocess.Popen] = {}

    def start(self, name: str, argv: list[str], env: dict | None = None, user: str | None = None, cwd=None) -> None:
        if user:
            uid, _, gid = user.partition(":")
            argv = ["setpriv", f"--reuid={uid}", f"--regid={gid or uid}", "--clear-groups", *argv]
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

    def stop_all(self) -> None:
        for name in list(self.running):
            self.stop(name)

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


def http_get(url: str, timeout: float = 5) -> tuple[int, bytes]:
    ctx = None
    if url.startswith("https"):
        import ssl

        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    try:
        with urllib.request.urlopen(url, timeout=timeout, context=ctx) as r:
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
        names = sorted(set(self.services) | set(self.manifest.get("services", {})) | {CAPTURE[0]})
        self.addr = {n: f"127.0.1.{10 + i}" for i, n in enumerate(names)}
        self.secrets: dict[str, str] = {}
        self.volumes = work / "volumes"
        self.volumes.mkdir()
        os.chmod(work, 0o755)

    def env_value(self, name: str) -> str:
        """A value for each `${VAR}` the compose file reads from .env: a fixed, safe secret."""
        return self.secrets.setdefault(name, f"rehearsal-{name.lower()}")

    def interpolate(self, value: str) -> str:
        value = re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(:?[?-][^}]*)?\}", lambda m: self.env_value(m.group(1)), value)
        return value.replace("$$", "$")

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
                host = str(self.gen / src[2:])
            elif src.startswith("/"):
                host = src
            else:
                d = self.volumes / src
                d.mkdir(exist_ok=True)
                os.chmod(d, 0o777)
                host = str(d)
            out.append((dst, host))
        for s in self.services[service].get("secrets", []):
            name = s if isinstance(s, str) else s["source"]
            out.append((f"/run/secrets/{name}", str(self.secret_file(name))))
        return sorted(out, key=lambda p: -len(p[0]))

    def secret_file(self, name: str) -> Path:
        d = self.work / "secrets"
        d.mkdir(exist_ok=True)
        f = d / name
        if not f.exists():
            f.write_text(f"rehearsal-{name}")
            os.chmod(f, 0o644)
        return f

    def host_path(self, service: str, arg: str) -> str:
        for dst, host in self.volume_map(service):
            arg = re.sub(rf"(?<![\w/.-]){re.escape(dst)}(?=$|[/:\s'\"])", host, arg)
        return arg

    def image(self, service: str) -> str:
        return str(self.services[service].get("image", ""))

    def secret_for(self, svc: dict) -> str:
        """The password a service's secret reference resolves to here."""
        ref = svc.get("password") or {}
        if "env" in ref:
            return self.env_value(ref["env"])
        if "file" in ref:
            return self.secret_file(Path(ref["file"]).name).read_text()
        return "rehearsal"

    def ca(self) -> Path:
        """A certificate authority for the services that serve TLS, trusted inside the namespace
        (the system bundle is replaced there by one that adds it), as a public CA is outside."""
        d = self.work / "ca"
        if not d.exists():
            d.mkdir()
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-subj", "/CN=sightline rehearsal CA", "-keyout", str(d / "ca.key"), "-out", str(d / "ca.pem")], check=True, capture_output=True)
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


def alertmanager_config(stack: Stack) -> Path:
    """alertmanager.yml with every receiver posting to the capture server, paths mapped."""
    text = stack.host_path("alertmanager", (stack.gen / "alertmanager/alertmanager.yml").read_text())
    doc = yaml.safe_load(text)
    for r in doc.get("receivers", []):
        name = r["name"]
        for key in [k for k in r if k.endswith("_configs")]:
            del r[key]
        r["webhook_configs"] = [{"url": f"http://{CAPTURE[0]}:{CAPTURE[1]}/{name}", "send_resolved": True}]
    out = stack.work / "alertmanager.yml"
    out.write_text(yaml.safe_dump(doc, sort_keys=False))
    return out


def start_program(stack: Stack, procs: Processes, name: str, binary: str, args: list[str], port: int, listen_flag: str) -> None:
    c = stack.services[name]
    argv = [str(TOOLS / binary)] + [stack.host_path(name, stack.interpolate(a)) for a in args]
    argv = [a for a in argv if not a.startswith(listen_flag + "=")]
    argv.append(f"{listen_flag}={stack.addr[name]}:{port}")
    env = stack.environment(name)
    env = {k: stack.host_path(name, v) if k.endswith("_FILE") else v for k, v in env.items()}
    procs.start(name, argv, env=env, user=c.get("user"))


def start_observability(stack: Stack, procs: Processes, report: Report) -> None:
    for name, c in stack.services.items():
        image = stack.image(name)
        cmd = [str(a) for a in c.get("command", [])]
        if image.startswith("prom/prometheus:"):
            start_program(stack, procs, name, "prometheus", cmd, 9090, "--web.listen-address")
        elif image.startswith("prom/alertmanager:"):
            entry = c["entrypoint"][-1]
            argv = shlex.split(entry.split("exec ", 1)[1])[1:]
            argv = [a for a in argv if not a.startswith("--config.file=")]
            argv.append(f"--config.file={alertmanager_config(stack)}")
            start_program(stack, procs, name, "alertmanager", argv, 9093, "--web.listen-address")
        elif image.startswith("prom/node-exporter:"):
            host = {"--path.procfs=/host/proc": "--path.procfs=/proc", "--path.sysfs=/host/sys": "--path.sysfs=/sys", "--path.rootfs=/rootfs": "--path.rootfs=/"}
            start_program(stack, procs, name, "node_exporter", [host.get(a, a) for a in cmd], 9100, "--web.listen-address")
        elif "postgres-exporter" in image:
            start_program(stack, procs, name, "postgres_exporter", cmd, 9187, "--web.listen-address")
        elif "redis_exporter" in image:
            start_program(stack, procs, name, "redis_exporter", cmd, 9121, "--web.listen-address")
        elif "nginx-prometheus-exporter" in image:
            start_program(stack, procs, name, "nginx-prometheus-exporter", cmd, 9113, "--web.listen-address")
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


def start_redis(stack: Stack, procs: Processes, name: str, svc: dict) -> None:
    port = int(svc.get("port", 6379))
    d = stack.work / f"redis-{name}"
    d.mkdir()
    procs.start(name, ["redis-server", "--bind", stack.addr[name], "--port", str(port), "--save", "", "--appendonly", "no", "--protected-mode", "no", "--dir", str(d)], cwd=d)


def start_nginx(stack: Stack, procs: Processes, name: str, svc: dict) -> None:
    port = int(svc.get("port", 80))
    d = stack.work / f"nginx-{name}"
    d.mkdir()
    tls = ""
    domain = (svc.get("tls") or {}).get("domain")
    if domain or port == 443:
        key, csr, cert = d / "key.pem", d / "req.pem", d / "cert.pem"
        ext = d / "ext.cnf"
        ext.write_text(f"subjectAltName=DNS:{name}" + (f",DNS:{domain}" if domain else "") + "\n")
        ca = stack.ca()
        subprocess.run(["openssl", "req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={domain or name}", "-keyout", str(key), "-out", str(csr)], check=True, capture_output=True)
        subprocess.run(["openssl", "x509", "-req", "-in", str(csr), "-CA", str(ca / "ca.pem"), "-CAkey", str(ca / "ca.key"), "-CAcreateserial", "-days", "30", "-extfile", str(ext), "-out", str(cert)], check=True, capture_output=True)
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


def start_http(stack: Stack, procs: Processes, name: str, svc: dict, report: Report) -> bool:
    framework = svc.get("framework", "generic") if svc.get("kind") == "http" else "generic"
    port = int(svc["port"])
    health = svc.get("health") or {}
    metrics = svc.get("metrics", "/metrics")
    env = {
        "LIVE_PATH": health.get("live", ""),
        "READY_PATH": health.get("ready", ""),
        "METRICS_PATH": metrics if isinstance(metrics, str) else "/metrics",
        "PYTHONPATH": str(ROOT / "tests/rehearse/apps"),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    if framework == "fastapi":
        procs.start(name, [sys.executable, "-m", "uvicorn", "fastapi_app:app", "--host", stack.addr[name], "--port", str(port), "--log-level", "warning"], env=env)
        return True
    if framework == "generic":
        procs.start(name, [os.environ["REHEARSE_GENERIC_APP"], f"{stack.addr[name]}:{port}"], env=env)
        return True
    if framework in ("express", "fastify"):
        app = ROOT / "tests/rehearse/node" / f"{framework}_app.js"
        procs.start(name, ["node", str(app), f"{stack.addr[name]}:{port}"], env=env, cwd=app.parent)
        return True
    report.check(False, f"{name}: an app on the {framework} framework's instrumentation runs", "not rehearsed yet")
    return False


def run_one_shots(stack: Stack, report: Report) -> None:
    """Jobs compose runs once (`restart: "no"`), e.g. the query-stats job: their entrypoint,
    natively, with their environment and mounts."""
    for name, c in stack.services.items():
        if c.get("restart") != "no" or not c.get("entrypoint"):
            continue
        argv = [stack.host_path(name, str(a)) for a in c["entrypoint"]]
        env = {k: stack.host_path(name, v) if k.endswith("_FILE") else v for k, v in stack.environment(name).items()}
        env = {"PATH": f"{PG_BIN}:/usr/bin:/bin", **env}
        r = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
        report.check(r.returncode == 0, f"one-shot job {name} completes", (r.stdout + r.stderr)[-300:])


def cron_jobs(stack: Stack) -> list[tuple[str, str]]:
    """The backup runner's crontab lines, as (schedule, command) with the container's paths
    mapped here. Its entrypoint writes the pgpass file and starts cron under `umask 077`."""
    runner = "backup"
    if runner not in stack.services:
        return []
    pgpass = stack.work / "pgpass"
    entry = (stack.gen / "backup/entrypoint.sh").read_text()
    lines = stack.host_path(runner, "\n".join(l for l in entry.splitlines() if l.startswith("entry ")))
    subprocess.run(
        ["bash", "-c", f"umask 077; entry() {{ printf '%s:%s:*:%s:%s\\n' \"$1\" \"$2\" \"$3\" \"$(printf '%s' \"$4\" | sed 's/[\\\\:]/\\\\&/g')\" >>{pgpass}; }}\n{lines}"],
        env={"PATH": "/usr/bin:/bin", **stack.environment(runner)},
        check=True,
    )
    jobs = []
    for line in (stack.gen / "backup/crontab").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split(None, 5)
        command = stack.host_path(runner, fields[5]).replace("/run/sightline/pgpass", str(pgpass))
        command = command.replace(">> /proc/1/fd/1", f">> {stack.work}/backup.log")
        # Nothing may be written outside the working directory: every container path is mapped.
        for dst, _ in stack.volume_map(runner):
            if dst != "/" and re.search(rf"(?<![\w/.-]){re.escape(dst)}(?=$|[/:\s'\"])", command):
                sys.exit(f"rehearse: {dst} is left unmapped in the backup job: {command}")
        jobs.append((" ".join(fields[:5]), command))
    return jobs


def run_cron_job(command: str) -> int:
    """One crontab command as cron runs it: /bin/sh, cron's environment, the umask the
    runner's entrypoint set (cron's children inherit it)."""
    env = {"PATH": f"{PG_BIN}:/usr/bin:/bin", "SHELL": "/bin/sh", "HOME": "/root", "LOGNAME": "root"}
    return subprocess.run(["/bin/sh", "-c", f"umask 077; {command}"], env=env, timeout=300).returncode


def start_application(stack: Stack, procs: Processes, report: Report) -> list[str]:
    started = []
    for name, svc in stack.manifest.get("services", {}).items():
        kind = svc.get("kind")
        if kind == "postgres":
            start_postgres(stack, procs, name, svc)
        elif kind == "redis":
            start_redis(stack, procs, name, svc)
        elif kind == "nginx":
            start_nginx(stack, procs, name, svc)
        elif kind in ("http", "generic"):
            if not start_http(stack, procs, name, svc, report):
                continue
        else:
            report.check(False, f"{name}: a {kind} service runs", "not rehearsed yet")
            continue
        started.append(name)
    return started


# --- checks ------------------------------------------------------------------------------------


def port_of(stack: Stack, name: str) -> int | None:
    svc = stack.manifest.get("services", {}).get(name)
    if svc:
        return int(svc.get("port", 0)) or None
    known = {"prometheus": 9090, "alertmanager": 9093, "node-exporter": 9100, "blackbox-exporter": 9115}
    if name in known:
        return known[name]
    image = stack.image(name)
    for key, port in (("postgres-exporter", 9187), ("redis_exporter", 9121), ("nginx-prometheus-exporter", 9113)):
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


def concrete(expr: str) -> str:
    """A dashboard query with Grafana's variables as Grafana would fill them."""
    for var, value in (("$__rate_interval", "1m"), ("$__interval", "1m"), ("$__range", "1h"), ("${__range}", "1h")):
        expr = expr.replace(var, value)
    return re.sub(r"\$\{?[A-Za-z_]+\}?", ".+", expr)


def generated_queries(stack: Stack) -> list[tuple[str, str]]:
    out = []
    for f in sorted((stack.gen / "prometheus/rules").glob("*.yml")):
        for g in yaml.safe_load(f.read_text())["groups"]:
            for r in g["rules"]:
                out.append((f"rule {r.get('alert') or r.get('record')} ({f.name})", r["expr"]))
    for f in sorted((stack.gen / "grafana/dashboards").glob("*.json")):
        d = json.loads(f.read_text())
        for p in d.get("panels", []):
            for t in p.get("targets", []):
                if (t.get("datasource") or {}).get("type") == "prometheus":
                    out.append((f"panel {p.get('title')!r} ({f.name})", concrete(t["expr"])))
    return out


def traffic(stack: Stack, apps: list[str]) -> None:
    for name in apps:
        svc = stack.manifest["services"][name]
        if svc.get("kind") not in ("http", "generic"):
            continue
        base = f"http://{stack.addr[name]}:{svc['port']}"
        for _ in range(20):
            http_get(f"{base}/")
        for code in (401, 403, 429, 500):
            for _ in range(3):
                http_get(f"{base}/status/{code}")
        http_get(f"{base}/slow/300")


def down_alerts(stack: Stack) -> dict[str, set[str]]:
    """service → the names of the generated alerts that say it is down."""
    out: dict[str, set[str]] = {}
    for f in sorted((stack.gen / "prometheus/rules").glob("service-*.yml")):
        for g in yaml.safe_load(f.read_text())["groups"]:
            for r in g["rules"]:
                svc = (r.get("labels") or {}).get("service")
                if svc and r.get("alert", "").endswith("Down"):
                    out.setdefault(svc, set()).add(r["alert"])
    return out


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("manifest", type=Path)
    parser.add_argument("--keep", action="store_true", help="keep the working directory")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="sightline-rehearse-"))
    report = Report()
    procs = Processes(work)
    try:
        stack = Stack(args.manifest.resolve(), work)
        print(f"rehearsing {args.manifest} in {work}", flush=True)
        write_hosts(stack)
        capture = Capture(stack.addr[CAPTURE[0]])
        report.note(f"Alertmanager's receivers all post to http://{CAPTURE[0]}:{CAPTURE[1]}/<receiver> (a rewritten copy of alertmanager.yml)")
        for name, why in NOT_HERE.items():
            if name in stack.services:
                report.note(f"not run here: {name} ({why})")
        apps = start_application(stack, procs, report)
        run_one_shots(stack, report)
        start_observability(stack, procs, report)
        jobs = cron_jobs(stack)
        for schedule, command in jobs:
            code = run_cron_job(command)
            report.check(code == 0, f"backup runner: `{schedule}` job succeeds", f"exit {code}; see backup.log")
        for name in list(procs.running):
            port = port_of(stack, name)
            if port:
                up = wait_port(stack.addr[name], port, 60)
                report.check(up, f"{name} listens on {name}:{port}", procs.tail(name))
        prom = f"http://{stack.addr['prometheus']}:9090"
        am = f"http://{stack.addr['alertmanager']}:9093"
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
                # missing is missing for good, except alerts (an alert has to fire) and the
                # user's own metrics, which nothing here exposes.
                if metric == "ALERTS":
                    events.append(sel)
                elif what.endswith("(user.yml)"):
                    events.append(sel + " (the user's own metric)")
                elif metric and metric.startswith("container_") and "cadvisor" in stack.services:
                    absent.append(sel + " (cAdvisor, not run here)")
                else:
                    absent.append(sel)
            if absent and all("not run here" in a for a in absent):
                report.note(f"{what} reads what is not run here: {' '.join(absent)}")
            elif absent:
                report.check(False, f"{what} selects series", "no such series: " + " ".join(absent))
            elif events and what.startswith("panel"):
                report.check(has(expr), f"{what} shows a value before its event", "No data until: " + " ".join(events))
            elif events:
                report.note(f"{what} waits for an event: {' '.join(events)}")
            else:
                report.check(True, f"{what} selects series")

        # Faults: each application service stopped, its down alert fires and reaches exactly the
        # receivers `sightline route` names for its labels. (A service that is not scraped,
        # `metrics: false`, has no down alert.)
        down = down_alerts(stack)
        for name in [a for a in apps if a not in down]:
            report.note(f"{name} has no down alert (not scraped)")
        apps = [a for a in apps if a in down]
        for name in apps:
            procs.stop(name)
            report.note(f"stopped {name}")
        deadline = time.time() + 240
        fired: dict[str, dict] = {}
        while time.time() < deadline and len(fired) < len(apps):
            for a in api(am, "/api/v2/alerts"):
                svc = a["labels"].get("service")
                if svc in apps and a["labels"]["alertname"] in down[svc] and svc not in fired:
                    fired[svc] = a
            time.sleep(5)
        for name in apps:
            a = fired.get(name)
            if not report.check(a is not None, f"{name} stopped: its down alert fires"):
                continue
            labels = {k: v for k, v in a["labels"].items()}
            want = routed(stack, labels)
            got = {r["name"] for r in a.get("receivers", [])}
            report.check(got == want, f"{labels['alertname']} for {name} is routed to {sorted(want)}", f"Alertmanager routes it to {sorted(got)}")
            fired[name] = {"labels": labels, "want": want}
        # And the notifications arrive where the routes send them (after each route's
        # group_wait), at every receiver named and none other.
        deadline = time.time() + 120
        pending = {n for n, a in fired.items() if a is not None and "want" in a}
        while pending and time.time() < deadline:
            pending = {n for n in pending if capture.received(fired[n]["labels"]["alertname"], {"service": n}) != fired[n]["want"]}
            time.sleep(3)
        for n, a in sorted(fired.items()):
            if a is None or "want" not in a:
                continue
            got = capture.received(a["labels"]["alertname"], {"service": n})
            report.check(got == a["want"], f"{a['labels']['alertname']} for {n} is delivered to {sorted(a['want'])}", f"delivered to {sorted(got)}")
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

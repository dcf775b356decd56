"""A stand-in for one MongoDB server (mongod, standalone), for the rehearsal: MongoDB cannot run
here (no Debian package, no Go module, and its downloads are not reachable). It speaks MongoDB's
wire protocol (BSON, the handshake over OP_QUERY, commands over OP_MSG, SCRAM-SHA-256 logins) and
answers mongodb_exporter's commands with a document captured from a real server: the exporter's
own test fixture at the release the stack runs (`exporter/testdata/get_diagnostic_data.json` in
its Go module, MongoDB 4.2.8's `getDiagnosticData`, read where `go mod download` puts it; none
is copied into this repository), as a standalone server reports it (its replica set sections
left out). The metric names and labels the rehearsal reads are the exporter's own work on that
document.

With `MONGO_NODE_LOGIN=user:password` in its environment, its authorization is on, as
`mongod --auth`: every command but the handshake's, `ping`, `buildInfo` and the login's own is
refused with MongoDB's `Unauthorized` (13) until the connection logs in as that user
(SCRAM-SHA-256, on `admin`). `GET /_rehearsal/logins` on the control port says how many logins
were accepted and refused, and how many commands were refused for want of one.

The rehearsal changes what it reports through `POST /_rehearsal/<setting>/<value>` on the control
port (the server's port plus one): the share of the connection limit in use (`connections`), the
open cursors (`cursors`), cursors timed out per second (`timeouts`), and `auth` 1 to turn
authorization on without a login (every command that needs one refused). Operations and
connections created grow with time, so rates have something to show. Each connection and each
change is logged as mongod logs, in its structured JSON lines (MongoDB 4.4 and newer).

Usage: mongo_node.py ADDRESS PORT TESTDATA NAME
"""

import base64
import copy
import hashlib
import hmac
import json
import os
import socketserver
import struct
import sys
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class Int64(int):
    """An integer BSON writes as an int64 whatever its size (the driver insists on some: a
    cursor's id)."""


def encode(doc: dict) -> bytes:
    """A BSON document (bsonspec.org): the types the replies use."""
    out = b""
    for key, value in doc.items():
        name = key.encode() + b"\0"
        if isinstance(value, bool):
            out += b"\x08" + name + (b"\x01" if value else b"\x00")
        elif isinstance(value, Int64) or (isinstance(value, int) and not -(2**31) <= value < 2**31):
            out += b"\x12" + name + struct.pack("<q", value)
        elif isinstance(value, int):
            out += b"\x10" + name + struct.pack("<i", value)
        elif isinstance(value, float):
            out += b"\x01" + name + struct.pack("<d", value)
        elif isinstance(value, str):
            data = value.encode() + b"\0"
            out += b"\x02" + name + struct.pack("<i", len(data)) + data
        elif isinstance(value, dict):
            out += b"\x03" + name + encode(value)
        elif isinstance(value, list):
            out += b"\x04" + name + encode({str(i): v for i, v in enumerate(value)})
        elif isinstance(value, bytes):
            out += b"\x05" + name + struct.pack("<iB", len(value), 0) + value
        elif isinstance(value, datetime):
            out += b"\x09" + name + struct.pack("<q", int(value.timestamp() * 1000))
        elif value is None:
            out += b"\x0a" + name
        else:
            raise TypeError(f"no BSON for {key}: {type(value).__name__}")
    return struct.pack("<i", len(out) + 5) + out + b"\0"


def decode(data: bytes, offset: int = 0) -> dict:
    """A BSON document the driver sends (its commands use these types)."""
    size = struct.unpack_from("<i", data, offset)[0]
    end, i, doc = offset + size - 1, offset + 4, {}
    while i < end:
        kind = data[i]
        stop = data.index(b"\0", i + 1)
        key, i = data[i + 1 : stop].decode(), stop + 1
        if kind == 0x01:
            doc[key], i = struct.unpack_from("<d", data, i)[0], i + 8
        elif kind in (0x02, 0x0D, 0x0E):
            n = struct.unpack_from("<i", data, i)[0]
            doc[key], i = data[i + 4 : i + 3 + n].decode(), i + 4 + n
        elif kind in (0x03, 0x04):
            n = struct.unpack_from("<i", data, i)[0]
            sub = decode(data, i)
            doc[key], i = (list(sub.values()) if kind == 0x04 else sub), i + n
        elif kind == 0x05:
            n = struct.unpack_from("<i", data, i)[0]
            doc[key], i = data[i + 5 : i + 5 + n], i + 5 + n
        elif kind == 0x07:
            doc[key], i = data[i : i + 12], i + 12
        elif kind == 0x08:
            doc[key], i = data[i] == 1, i + 1
        elif kind in (0x09, 0x11, 0x12):
            doc[key], i = struct.unpack_from("<q", data, i)[0], i + 8
        elif kind == 0x0A:
            doc[key] = None
        elif kind == 0x10:
            doc[key], i = struct.unpack_from("<i", data, i)[0], i + 4
        elif kind == 0x13:
            doc[key], i = data[i : i + 16], i + 16
        else:
            raise ValueError(f"BSON type {kind:#x} at {key}")
    return doc

address, port, testdata, name = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3]), sys.argv[4]
CAPTURED = json.loads((testdata / "get_diagnostic_data.json").read_text())
STARTED = time.time()
LOGIN = os.environ.get("MONGO_NODE_LOGIN", "")
USER, _, PASSWORD = LOGIN.partition(":")
# The captured server's connection limit: `current` plus `available`.
LIMIT = CAPTURED["serverStatus"]["connections"]["current"] + CAPTURED["serverStatus"]["connections"]["available"]
state = {"connections": 22 / LIMIT, "cursors": 3, "timeouts": 0.0, "auth": 1 if LOGIN else 0}
# Cursors timed out so far (`timeouts` a second are added).
timed_out = [float(CAPTURED["serverStatus"]["metrics"]["cursor"]["timedOut"])]
counts = {"accepted": 0, "refused": 0, "unauthorized": 0}
lock = threading.Lock()
# What a server answers without a login: the commands the driver and the exporter send whose
# `requiresAuth()` is false in mongod (`ping` and `buildInfo` in src/mongo/db/commands/generic.cpp,
# the handshake and the login's own).
OPEN = {"hello", "ismaster", "ping", "buildinfo", "saslstart", "saslcontinue", "endsessions", "logout", "getnonce"}
WIRE_VERSION = 8  # MongoDB 4.2, the captured server's release


def log(severity: str, component: str, ident: int, message: str, attr: dict | None = None) -> None:
    """One line of mongod's structured log."""
    now = datetime.now(timezone.utc)
    stamp = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}+00:00"
    rest = {"ctx": "conn", "msg": message, **({"attr": attr} if attr else {})}
    # mongod's JSON formatter pads the severity, the component and the id with spaces.
    head = f'{{"t":{{"$date":"{stamp}"}},"s":"{severity}",{" " * (3 - len(severity))}"c":"{component}",{" " * (9 - len(component))}"id":{ident},{" " * (8 - len(str(ident)))}'
    # One write per line: connections log from threads of their own.
    sys.stdout.write(head + json.dumps(rest, separators=(",", ":"))[1:] + "\n")
    sys.stdout.flush()


def server_status() -> dict:
    """The captured serverStatus, as a standalone server reports it now."""
    ss = copy.deepcopy(CAPTURED["serverStatus"])
    for section in ("repl", "electionMetrics", "opcountersRepl", "oplogTruncation"):
        ss.pop(section, None)
    up = time.time() - STARTED
    ss["host"], ss["process"] = name, "mongod"
    ss["uptime"] = float(int(up))
    ss["uptimeMillis"], ss["uptimeEstimate"] = int(up * 1000), int(up)
    ss["localTime"] = datetime.now(timezone.utc)
    with lock:
        current = max(1, int(LIMIT * state["connections"]))
        cursors, timeouts = state["cursors"], timed_out[0]
    ss["connections"].update(current=current, available=LIMIT - current, totalCreated=ss["connections"]["totalCreated"] + int(up / 10))
    ss["metrics"]["cursor"]["open"]["total"] = cursors
    ss["metrics"]["cursor"]["timedOut"] = int(timeouts)
    for op, per_second in (("query", 20), ("insert", 5), ("update", 3), ("delete", 1), ("getmore", 2), ("command", 40)):
        ss["opcounters"][op] += int(up * per_second)
    return ss


def diagnostic_data() -> dict:
    """getDiagnosticData's `data`: serverStatus and the system's metrics, no replica set."""
    now = datetime.now(timezone.utc)
    return {"start": now, "serverStatus": server_status(), "systemMetrics": copy.deepcopy(CAPTURED["systemMetrics"]), "end": now}


def hello(cmd: dict) -> dict:
    reply = {
        "ismaster": True,
        "isWritablePrimary": True,
        "maxBsonObjectSize": 16777216,
        "maxMessageSizeBytes": 48000000,
        "maxWriteBatchSize": 100000,
        "localTime": datetime.now(timezone.utc),
        "logicalSessionTimeoutMinutes": 30,
        "connectionId": 1,
        "minWireVersion": 0,
        "maxWireVersion": WIRE_VERSION,
        "readOnly": False,
        "ok": 1.0,
    }
    if "saslSupportedMechs" in cmd:
        reply["saslSupportedMechs"] = ["SCRAM-SHA-1", "SCRAM-SHA-256"]
    return reply


def error(code: int, code_name: str, message: str) -> dict:
    return {"ok": 0.0, "errmsg": message, "code": code, "codeName": code_name}


class Scram:
    """The server's side of one SCRAM-SHA-256 conversation (RFC 5802, RFC 7677), with MongoDB's
    framing (`saslStart`, `saslContinue`, a conversation id)."""

    def __init__(self) -> None:
        self.salt = os.urandom(16)
        self.iterations = 4096
        self.nonce = ""
        self.first_bare = ""
        self.server_first = ""
        self.user = ""

    def start(self, payload: bytes) -> dict:
        # "n,,n=user,r=nonce": no channel binding.
        text = payload.decode()
        self.first_bare = text.split(",", 2)[2]
        fields = dict(f.split("=", 1) for f in self.first_bare.split(","))
        self.user = fields["n"].replace("=2C", ",").replace("=3D", "=")
        self.nonce = fields["r"] + base64.b64encode(os.urandom(18)).decode()
        self.server_first = f"r={self.nonce},s={base64.b64encode(self.salt).decode()},i={self.iterations}"
        return {"conversationId": 1, "done": False, "payload": self.server_first.encode(), "ok": 1.0}

    def finish(self, payload: bytes) -> tuple[bool, dict]:
        text = payload.decode()
        without_proof, _, proof = text.rpartition(",p=")
        fields = dict(f.split("=", 1) for f in without_proof.split(","))
        salted = hashlib.pbkdf2_hmac("sha256", PASSWORD.encode(), self.salt, self.iterations)
        client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
        stored_key = hashlib.sha256(client_key).digest()
        message = f"{self.first_bare},{self.server_first},{without_proof}".encode()
        signature = hmac.new(stored_key, message, hashlib.sha256).digest()
        given = base64.b64decode(proof)
        recovered = bytes(a ^ b for a, b in zip(given, signature))
        ok = self.user == USER and fields.get("r") == self.nonce and hashlib.sha256(recovered).digest() == stored_key
        if not ok:
            return False, error(18, "AuthenticationFailed", "Authentication failed.")
        server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
        verifier = base64.b64encode(hmac.new(server_key, message, hashlib.sha256).digest()).decode()
        return True, {"conversationId": 1, "done": True, "payload": f"v={verifier}".encode(), "ok": 1.0}


class Connection(socketserver.BaseRequestHandler):
    def setup(self) -> None:
        self.authenticated = False
        self.scram: Scram | None = None
        peer = f"{self.client_address[0]}:{self.client_address[1]}"
        log("I", "NETWORK", 22943, "Connection accepted", {"remote": peer, "connectionCount": 1})

    def command(self, cmd: dict) -> dict:
        verb = next(iter(cmd)).lower()
        with lock:
            secure = bool(state["auth"])
        if secure and not self.authenticated and verb not in OPEN:
            with lock:
                counts["unauthorized"] += 1
            return error(13, "Unauthorized", f"command {next(iter(cmd))} requires authentication")
        if verb in ("hello", "ismaster"):
            return hello(cmd)
        if verb == "ping":
            return {"ok": 1.0}
        if verb == "buildinfo":
            version = CAPTURED["serverStatus"]["version"]
            return {"version": version, "versionArray": [int(p) for p in version.split(".")] + [0], "maxBsonObjectSize": 16777216, "ok": 1.0}
        if verb == "saslstart":
            if cmd.get("mechanism") != "SCRAM-SHA-256":
                return error(334, "MechanismUnavailable", f"Received authentication for mechanism {cmd.get('mechanism')} which is not enabled")
            self.scram = Scram()
            return self.scram.start(cmd["payload"])
        if verb == "saslcontinue":
            if self.scram is None:
                return error(17, "ProtocolError", "No SASL session state found")
            ok, reply = self.scram.finish(cmd["payload"])
            self.scram = None
            with lock:
                counts["accepted" if ok else "refused"] += 1
            if ok and LOGIN:
                self.authenticated = True
                log("I", "ACCESS", 20250, "Authentication succeeded", {"mechanism": "SCRAM-SHA-256", "principalName": USER, "authenticationDatabase": "admin"})
            else:
                log("I", "ACCESS", 20249, "Authentication failed", {"mechanism": "SCRAM-SHA-256", "result": "AuthenticationFailed: SCRAM authentication failed, storedKey mismatch"})
            return reply
        if verb == "getdiagnosticdata":
            return {"data": diagnostic_data(), "ok": 1.0}
        if verb == "serverstatus":
            return {**server_status(), "ok": 1.0}
        if verb == "getcmdlineopts":
            argv = ["mongod", "--bind_ip_all"] + (["--auth"] if secure else [])
            parsed = {"net": {"bindIp": "*"}, "security": {"authorization": "enabled"}} if secure else {"net": {"bindIp": "*"}}
            return {"argv": argv, "parsed": parsed, "ok": 1.0}
        if verb in ("replsetgetstatus", "replsetgetconfig"):
            return error(76, "NoReplicationEnabled", "not running with --replSet")
        if verb == "getparameter":
            return {"featureCompatibilityVersion": {"version": ".".join(CAPTURED["serverStatus"]["version"].split(".")[:2])}, "ok": 1.0}
        if verb == "listdatabases":
            return {"databases": [{"name": "admin", "sizeOnDisk": 40960, "empty": False}], "totalSize": 40960, "ok": 1.0}
        if verb in ("find", "listcollections", "aggregate"):
            # No collections and no documents (the exporter looks for Percona Backup's).
            db = cmd.get("$db", "admin")
            return {"cursor": {"id": Int64(0), "ns": f"{db}.$cmd", "firstBatch": []}, "ok": 1.0}
        if verb in ("endsessions", "logout"):
            return {"ok": 1.0}
        log("W", "COMMAND", 51803, "Unknown command", {"command": next(iter(cmd))})
        return error(59, "CommandNotFound", f"no such command: '{next(iter(cmd))}'")

    def handle(self) -> None:
        sock = self.request
        while True:
            header = recv(sock, 16)
            if header is None:
                return
            length, request_id, _, opcode = struct.unpack("<iiii", header)
            body = recv(sock, length - 16)
            if body is None:
                return
            if opcode == 2004:  # OP_QUERY: the legacy handshake
                end = body.index(b"\0", 4)
                offset = end + 1 + 8
                size = struct.unpack_from("<i", body, offset)[0]
                query = decode(body, offset)
                if "$query" in query:
                    query = query["$query"]
                reply = encode(self.command(query))
                out = struct.pack("<iqii", 8, 0, 0, 1) + reply
                sock.sendall(struct.pack("<iiii", 16 + len(out), request_id + 1, request_id, 1) + out)
            elif opcode == 2013:  # OP_MSG
                flags = struct.unpack_from("<I", body)[0]
                end = len(body) - (4 if flags & 1 else 0)
                offset, cmd = 4, None
                while offset < end:
                    kind = body[offset]
                    offset += 1
                    size = struct.unpack_from("<i", body, offset)[0]
                    if kind == 0:
                        cmd = decode(body, offset)
                    offset += size
                reply = encode(self.command(cmd))
                if flags & 2:  # moreToCome: no reply
                    continue
                out = struct.pack("<IB", 0, 0) + reply
                sock.sendall(struct.pack("<iiii", 16 + len(out), request_id + 1, request_id, 2013) + out)
            else:
                log("E", "NETWORK", 22988, "Error receiving request from client", {"error": f"unsupported opcode {opcode}"})
                return

    def finish(self) -> None:
        log("I", "NETWORK", 22944, "Connection ended", {"remote": f"{self.client_address[0]}:{self.client_address[1]}"})


def recv(sock, n: int) -> bytes | None:
    data = b""
    while len(data) < n:
        try:
            chunk = sock.recv(n - len(data))
        except ConnectionResetError:
            return None
        if not chunk:
            return None
        data += chunk
    return data


class Control(BaseHTTPRequestHandler):
    def reply(self, code: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path.rstrip("/") == "/_rehearsal/logins":
            with lock:
                self.reply(200, dict(counts))
        else:
            self.reply(404, {"error": "unknown"})

    def do_POST(self) -> None:
        parts = self.path.strip("/").split("/")
        if len(parts) != 3 or parts[0] != "_rehearsal" or parts[1] not in state:
            self.reply(404, {"error": "unknown control"})
            return
        key, value = parts[1], float(parts[2])
        with lock:
            state[key] = value
        log("I", "CONTROL", 0, "rehearsal", {"setting": key, "value": value})
        self.reply(200, {"acknowledged": True})

    def log_message(self, *args) -> None:
        pass


def timeouts() -> None:
    """Cursors time out at the set rate."""
    while True:
        time.sleep(1)
        with lock:
            timed_out[0] += state["timeouts"]


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


threading.Thread(target=timeouts, daemon=True).start()
threading.Thread(target=ThreadingHTTPServer((address, port + 1), Control).serve_forever, daemon=True).start()
log("I", "NETWORK", 23016, "Waiting for connections", {"port": port, "ssl": "off"})
Server((address, port), Connection).serve_forever()

"""A small App Server client for the tests: spawns `wright app-server` (stdio) or connects to
one over WebSocket, speaks JSONL, and keeps every message it sees.

Every server→client message of every client is also appended to the module-level `RECORD`
(with the method of the request a response answers), so that the schema test can check the
whole suite's traffic against Codex's schema."""

import json
import os
import re
import subprocess
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
WRIGHT = os.environ.get("WRIGHT_BIN", os.path.join(ROOT, "target", "debug", "wright"))
MOCK = os.environ.get("WRIGHT_MOCK_BIN", os.path.join(ROOT, "target", "debug", "wright-mock-model"))

# Every server→client message seen by any client of this process:
# {"test", "kind": "notification"|"request"|"response"|"error"|"unparseable", "method", "msg"}.
RECORD = []
RECORD_LOCK = threading.Lock()
# Name of the running test, stamped on each record (set by the tests' setUp).
CURRENT_TEST = [""]


def _wait_for_binary(path, timeout=120):
    """Another engineer may be relinking the binaries; wait for them to reappear."""
    deadline = time.time() + timeout
    while not (os.path.isfile(path) and os.access(path, os.X_OK)):
        if time.time() > deadline:
            raise FileNotFoundError(path)
        time.sleep(0.5)


def _spawn(argv, **kw):
    """Popen that retries briefly if the binary is being relinked (ETXTBSY / ENOENT)."""
    for attempt in range(60):
        _wait_for_binary(argv[0])
        try:
            return subprocess.Popen(argv, **kw)
        except (OSError, FileNotFoundError) as e:  # ETXTBSY while the linker writes it
            if attempt == 59:
                raise
            last = e
            time.sleep(0.5)
    raise last  # pragma: no cover


class Mock:
    """The scripted mock model (`wright-mock-model`), serving Responses SSE."""

    def __init__(self, steps, workdir, models=None):
        path = os.path.join(workdir, "script.json")
        script = {"steps": steps}
        if models is not None:
            script["models"] = models  # what GET /v1/models lists
        with open(path, "w") as f:
            json.dump(script, f)
        self.log = os.path.join(workdir, "requests.jsonl")
        self.proc = _spawn(
            [MOCK, "--script", path, "--log", self.log],
            stdout=subprocess.PIPE,
            text=True,
        )
        self.url = self.proc.stdout.readline().strip()
        if not self.url:
            raise RuntimeError("wright-mock-model printed no URL")

    def requests(self):
        """Bodies of the model requests so far (only POSTs with a JSON body)."""
        if not os.path.exists(self.log):
            return []
        out = []
        with open(self.log) as f:
            for line in f:
                if line.strip():
                    try:
                        out.append(json.loads(line))
                    except ValueError:
                        pass  # a line being written right now
        return out

    def bodies(self):
        return [r["body"] for r in self.requests() if isinstance(r.get("body"), dict)]

    def wait_requests(self, n, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if len(self.bodies()) >= n:
                return self.bodies()
            time.sleep(0.05)
        return self.bodies()

    def close(self):
        self.proc.kill()
        self.proc.wait()
        self.proc.stdout.close()


def write_config(home, url, extra=""):
    os.makedirs(home, exist_ok=True)
    with open(os.path.join(home, "config.toml"), "w") as f:
        f.write(
            'model_provider = "mock"\n'
            f"{extra}\n"
            "[model_providers.mock]\n"
            'name = "mock"\n'
            f'base_url = "{url}"\n'
            "request_max_retries = 0\n"
            "stream_max_retries = 0\n"
        )


def server_env(home, env=None):
    full_env = dict(os.environ)
    # HOME points into the test's own dir: commands run as `bash -lc`, and the login profile
    # of whoever runs the suite (pyenv init, ...) must not slow them down or hang them.
    user_home = os.path.join(os.path.dirname(os.path.abspath(home)), "user-home")
    os.makedirs(user_home, exist_ok=True)
    # An empty models dir: `model/list` offers installed local models, and the machine's own
    # (CI caches the test models) must not change what the tests see.
    models = os.path.join(os.path.dirname(os.path.abspath(home)), "models")
    full_env.update({"WRIGHT_HOME": home, "SHELL": "/bin/bash", "HOME": user_home,
                     "WRIGHT_MODELS_DIR": models})
    full_env.pop("OPENAI_API_KEY", None)
    full_env.update(env or {})
    return full_env


class BaseClient:
    """Message bookkeeping shared by the stdio and WebSocket clients.

    Messages are never consumed: `wait(pred, since=i)` scans everything received from index
    `i` on, so a notification that arrives before the response of the request that caused it
    is not lost. `mark()` gives the index to wait from."""

    def __init__(self):
        self.transcript = []  # (direction, message)
        self.messages = []  # every message received, in order
        self.cond = threading.Condition()
        self.closed = False
        self.next_id = 1
        self.sent_methods = {}  # our request id -> method

    # --- transport hooks -------------------------------------------------------------------
    def _write(self, text):
        raise NotImplementedError

    def alive(self):
        raise NotImplementedError

    def stderr(self):
        return ""

    # --- receiving -------------------------------------------------------------------------
    def _on_line(self, line):
        line = line.strip()
        if not line:
            return
        try:
            msg = json.loads(line)
        except ValueError:
            with RECORD_LOCK:
                RECORD.append({"test": CURRENT_TEST[0], "kind": "unparseable", "method": None, "msg": line})
            return
        self._record(msg)
        with self.cond:
            self.transcript.append(("<-", msg))
            self.messages.append(msg)
            self.cond.notify_all()

    def _on_close(self):
        with self.cond:
            self.closed = True
            self.cond.notify_all()

    def _record(self, msg):
        kind, method = "other", None
        if isinstance(msg, dict):
            if "method" in msg and "id" in msg:
                kind, method = "request", msg["method"]
            elif "method" in msg:
                kind, method = "notification", msg["method"]
            elif "error" in msg:
                kind = "error"
                method = self.sent_methods.get(msg.get("id"))
            elif "result" in msg:
                kind = "response"
                method = self.sent_methods.get(msg.get("id"))
        with RECORD_LOCK:
            RECORD.append({"test": CURRENT_TEST[0], "kind": kind, "method": method, "msg": msg})

    # --- sending ---------------------------------------------------------------------------
    def send_raw(self, text):
        self._write(text)

    def send(self, msg):
        self.transcript.append(("->", msg))
        self._write(json.dumps(msg))

    def send_request(self, method, params=None):
        """Sends a request without waiting; returns its id."""
        rid = self.next_id
        self.next_id += 1
        msg = {"id": rid, "method": method}
        if params is not None:
            msg["params"] = params
        self.sent_methods[rid] = method
        self.send(msg)
        return rid

    def response(self, rid, timeout=20):
        return self.wait(lambda m: m.get("id") == rid and "method" not in m and ("result" in m or "error" in m), timeout)

    def request(self, method, params=None, timeout=20):
        return self.response(self.send_request(method, params), timeout)

    def call(self, method, params=None, timeout=20):
        """request() that insists on a result."""
        reply = self.request(method, params, timeout)
        if "error" in reply:
            raise AssertionError("%s failed: %s" % (method, reply["error"]))
        return reply["result"]

    def notify(self, method, params=None):
        msg = {"method": method}
        if params is not None:
            msg["params"] = params
        self.send(msg)

    def reply(self, request_msg, result):
        self.send({"id": request_msg["id"], "result": result})

    # --- waiting ---------------------------------------------------------------------------
    def mark(self):
        with self.cond:
            return len(self.messages)

    def wait(self, pred, timeout=20, since=0):
        """First message at index >= since matching pred."""
        i = since
        for msg in self.iter_messages(since, timeout):
            if pred(msg):
                return msg
        raise AssertionError("unreachable")  # pragma: no cover

    def iter_messages(self, since=0, timeout=20):
        """Yields messages from index `since` on, blocking for new ones until `timeout`."""
        deadline = time.time() + timeout
        i = since
        while True:
            with self.cond:
                while i >= len(self.messages):
                    left = deadline - time.time()
                    if self.closed:
                        raise EOFError("server closed the connection; stderr: %s" % self.stderr())
                    if left <= 0:
                        raise TimeoutError("no matching message within %ss; last: %s" % (timeout, self.messages[-5:]))
                    self.cond.wait(left)
                msg = self.messages[i]
            i += 1
            yield msg

    def wait_method(self, method, timeout=20, since=0, **params):
        return self.wait(
            lambda m: m.get("method") == method
            and all((m.get("params") or {}).get(k) == v for k, v in params.items()),
            timeout,
            since,
        )

    def find(self, method, since=0, **params):
        """Every message so far with this method (and these params), without waiting."""
        with self.cond:
            msgs = list(self.messages[since:])
        return [
            m for m in msgs
            if m.get("method") == method and all((m.get("params") or {}).get(k) == v for k, v in params.items())
        ]

    def initialize(self):
        reply = self.request("initialize", {"clientInfo": {"name": "wright_tests", "title": "wright tests", "version": "0.1"}, "capabilities": {"experimentalApi": False}})
        self.notify("initialized")
        return reply

    # --- turns -----------------------------------------------------------------------------
    def start_thread(self, cwd, policy="never", sandbox="workspace-write", **extra):
        params = {"cwd": cwd, "approvalPolicy": policy, "sandbox": sandbox}
        params.update(extra)
        return self.call("thread/start", params)["thread"]["id"]

    def start_turn(self, thread_id, text, **extra):
        params = {"threadId": thread_id, "input": [{"type": "text", "text": text, "text_elements": []}]}
        params.update(extra)
        return self.call("turn/start", params)["turn"]["id"]

    def run_turn(self, thread_id, text, decide=None, timeout=15):
        """Starts a turn and drives it to turn/completed, answering approvals with
        `decide(request) -> decision` (default: accept). Returns a Turn."""
        since = self.mark()
        turn_id = self.start_turn(thread_id, text)
        return self.drive(thread_id, turn_id, since, decide, timeout)

    def drive(self, thread_id, turn_id, since, decide=None, timeout=15):
        decide = decide or (lambda req: "accept")
        seen = []
        for msg in self.iter_messages(since, timeout):
            params = msg.get("params") or {}
            if params.get("threadId") not in (None, thread_id) and msg.get("method") != "turn/completed":
                continue
            if "method" in msg and "id" in msg and params.get("threadId") == thread_id:
                decision = decide(msg)
                if isinstance(decision, dict) and "error" in decision:
                    self.send({"id": msg["id"], "error": decision["error"]})
                else:
                    self.reply(msg, {"decision": decision})
            if "method" in msg and params.get("threadId") == thread_id:
                seen.append(msg)
            if msg.get("method") == "turn/completed" and params.get("threadId") == thread_id \
                    and params.get("turn", {}).get("id") == turn_id:
                return Turn(turn_id, seen)
        raise AssertionError("unreachable")  # pragma: no cover


class Turn:
    """The messages of one turn, with lookups."""

    def __init__(self, turn_id, messages):
        self.id = turn_id
        self.messages = messages

    @property
    def completed(self):
        return [m for m in self.messages if m["method"] == "turn/completed"][-1]["params"]["turn"]

    @property
    def status(self):
        return self.completed["status"]

    def of(self, method):
        return [m for m in self.messages if m["method"] == method]

    def items(self, event="item/completed", type=None):
        return [m["params"]["item"] for m in self.of(event) if type is None or m["params"]["item"]["type"] == type]

    def approvals(self):
        return [m for m in self.messages if "id" in m and m["method"].endswith("requestApproval")]

    def agent_text(self):
        return "\n".join(i["text"] for i in self.items(type="agentMessage"))


class Client(BaseClient):
    """`wright app-server` over stdio."""

    def __init__(self, home, args=(), env=None):
        super().__init__()
        self.proc = _spawn(
            [WRIGHT, "app-server", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=server_env(home, env),
        )
        self._stderr = []
        self.write_lock = threading.Lock()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.err_reader = threading.Thread(target=self._read_err, daemon=True)
        self.err_reader.start()

    def _read(self):
        for raw in self.proc.stdout:
            self._on_line(raw.decode("utf-8", "replace"))
        self._on_close()

    def _read_err(self):
        for raw in self.proc.stderr:
            self._stderr.append(raw.decode("utf-8", "replace"))

    def _write(self, text):
        data = text.encode() if isinstance(text, str) else text
        with self.write_lock:
            self.proc.stdin.write(data + b"\n")
            self.proc.stdin.flush()

    def alive(self):
        return self.proc.poll() is None

    def stderr(self):
        return "".join(self._stderr)[-4000:]

    def kill(self):
        self.proc.kill()
        self.proc.wait()
        self._close_pipes()

    def _close_pipes(self):
        self.reader.join(5)
        self.err_reader.join(5)
        for pipe in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                pipe.close()
            except Exception:
                pass

    def close(self):
        try:
            self.proc.stdin.close()
        except Exception:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._close_pipes()


class WsServer:
    """`wright app-server --listen ws://127.0.0.1:0`; `url` is read from its stderr and the
    capability token from the file it writes (`token`)."""

    def __init__(self, home, env=None, extra=(), token_file=True):
        os.makedirs(home, exist_ok=True)
        self.token_file = os.path.join(home, "ws-token")
        argv = [WRIGHT, "app-server", "--listen", "ws://127.0.0.1:0"]
        if token_file:
            argv += ["--ws-token-file", self.token_file]
        self.proc = _spawn(
            argv + list(extra),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=server_env(home, env),
        )
        self.banner = None
        self.url = None
        self.lines = []
        got = threading.Event()

        def read():
            for raw in self.proc.stderr:
                line = raw.decode("utf-8", "replace").rstrip("\n")
                self.lines.append(line)
                m = re.search(r"wright app-server listening on (ws://\S+)", line)
                if m and not got.is_set():
                    self.banner, self.url = line, m.group(1)
                    got.set()
            got.set()

        threading.Thread(target=read, daemon=True).start()
        got.wait(20)

    @property
    def token(self):
        with open(self.token_file) as f:
            return f.read().strip()

    def close(self):
        self.proc.kill()
        self.proc.wait()
        self.proc.stderr.close()


class WsClient(BaseClient):
    """One WebSocket connection (websocket-client); one text frame per message."""

    def __init__(self, url, token=None, **kw):
        super().__init__()
        import websocket  # websocket-client

        headers = kw.pop("header", [])
        if token is not None:
            headers = headers + ["Authorization: Bearer %s" % token]
        # websocket-client sends an Origin by default; only browsers should (the server refuses
        # origins it was not told to allow).
        kw.setdefault("suppress_origin", True)
        self.ws = websocket.create_connection(url, timeout=10, header=headers, **kw)
        self.ws.settimeout(None)
        self.write_lock = threading.Lock()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        try:
            while True:
                data = self.ws.recv()
                if data is None or data == "":
                    break
                if isinstance(data, bytes):
                    data = data.decode("utf-8", "replace")
                self._on_line(data)
        except Exception:
            pass
        self._on_close()

    def _write(self, text):
        with self.write_lock:
            self.ws.send(text)

    def alive(self):
        return not self.closed

    def close(self):
        try:
            self.ws.close()
        except Exception:
            pass


def function_call(name, args, call_id=None):
    item = {"type": "function_call", "name": name, "arguments": json.dumps(args)}
    if call_id:
        item["call_id"] = call_id
    return item


def exec_call(cmd, call_id=None):
    return function_call("exec_command", {"cmd": cmd}, call_id)


def patch_call(patch, call_id=None):
    item = {"type": "custom_tool_call", "name": "apply_patch", "input": patch}
    if call_id:
        item["call_id"] = call_id
    return item


def reply(*items):
    return {"kind": "reply", "items": list(items)}


def message(text):
    return reply({"type": "message", "text": text})


def delay(ms, then):
    return {"kind": "delay", "ms": ms, "then": then}

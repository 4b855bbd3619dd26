#!/usr/bin/env python3
"""A stdio MCP server that misbehaves on purpose, so tests can check how wright copes.

Usage: broken_server.py MODE

It speaks newline-delimited JSON-RPC 2.0 on stdin/stdout (MCP stdio transport, protocol
version 2025-06-18). MODE picks the misbehaviour:

  hang-start     never answers `initialize` (keeps reading stdin until it closes)
  exit-start     writes a message to stderr and exits 1 before reading anything
  exit-mid-call  tools `ok` and `crash`; calling `crash` exits with code 3, unanswered
  garbage        tools `ok` and `garble`; calling `garble` writes a non-JSON line and never
                 answers that call, but keeps serving (so `ok` still works afterwards)
  hang-call      tools `ok` and `slow`; calling `slow` is never answered (`ok` still is)
  ok             well-behaved: tool `ok`, for control tests

Every tool `ok` returns the text "fine".

If the environment variable BROKEN_SERVER_STARTS names a file, each process start appends
one line ("MODE PID") to it, so tests can count (re)starts.

Python 3 standard library only.
"""

import json
import os
import sys

PROTOCOL_VERSION = "2025-06-18"

# The tools each serving mode lists. hang-start and exit-start never get that far.
TOOLS = {
    "ok": ["ok"],
    "exit-mid-call": ["ok", "crash"],
    "garbage": ["ok", "garble"],
    "hang-call": ["ok", "slow"],
    "hang-start": [],
    "exit-start": [],
}


def record_start(mode):
    path = os.environ.get("BROKEN_SERVER_STARTS")
    if path:
        # One short append per start; O_APPEND keeps concurrent starts from clobbering.
        with open(path, "a") as f:
            f.write(f"{mode} {os.getpid()}\n")


def send(message):
    sys.stdout.write(json.dumps(message, separators=(",", ":")) + "\n")
    # Flush every message: a client waiting on a line must not wait on our buffer.
    sys.stdout.flush()


def reply(request_id, result):
    send({"jsonrpc": "2.0", "id": request_id, "result": result})


def reply_error(request_id, code, message):
    send({"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message}})


def tool_description(name):
    return {
        "name": name,
        "description": f"broken_server test tool '{name}'",
        "inputSchema": {"type": "object", "properties": {}},
    }


def call_tool(mode, request_id, name):
    """Answers (or deliberately doesn't answer) one tools/call."""
    if name not in TOOLS[mode]:
        reply_error(request_id, -32602, f"Unknown tool: {name}")
    elif name == "ok":
        reply(request_id, {"content": [{"type": "text", "text": "fine"}], "isError": False})
    elif name == "crash":
        # Die with the call in flight: the client sees EOF instead of a response.
        sys.stdout.flush()
        os._exit(3)
    elif name == "garble":
        # A line that is not JSON at all; the call itself is then left unanswered.
        sys.stdout.write("this is not json {{{\n")
        sys.stdout.flush()
    elif name == "slow":
        pass  # Never answered; the client has to time out or cancel.


def handle(mode, message):
    method = message.get("method")
    request_id = message.get("id")
    if method is None or request_id is None:
        return  # A notification (initialized, cancelled, ...) or a response: nothing to say.
    if method == "initialize":
        if mode == "hang-start":
            return  # The whole point of this mode.
        reply(
            request_id,
            {
                "protocolVersion": PROTOCOL_VERSION,
                "capabilities": {"tools": {}},
                "serverInfo": {"name": f"broken-server-{mode}", "version": "0.0.0"},
            },
        )
    elif method == "ping":
        reply(request_id, {})
    elif method == "tools/list":
        reply(request_id, {"tools": [tool_description(name) for name in TOOLS[mode]]})
    elif method == "tools/call":
        params = message.get("params") or {}
        call_tool(mode, request_id, params.get("name"))
    else:
        reply_error(request_id, -32601, f"Method not found: {method}")


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else ""
    if mode not in TOOLS:
        sys.stderr.write(f"usage: broken_server.py {{{'|'.join(TOOLS)}}}\n")
        return 2
    record_start(mode)
    if mode == "exit-start":
        sys.stderr.write("broken_server: exit-start: failing on purpose before initialize\n")
        return 1
    # readline() rather than iterating sys.stdin, so each line is handled as soon as it arrives.
    while True:
        line = sys.stdin.readline()
        if not line:
            return 0  # stdin closed: the client has gone, so do we (every mode, hang-start too).
        line = line.strip()
        if not line:
            continue
        try:
            message = json.loads(line)
        except ValueError:
            continue  # Ignore what we cannot parse; this server only misbehaves on purpose.
        if isinstance(message, dict):
            handle(mode, message)


if __name__ == "__main__":
    sys.exit(main())

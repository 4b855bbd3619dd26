#!/usr/bin/env python3
"""A stdio MCP server with N made-up tools (argv[1], default 100), each with a realistic
description and input schema, for measuring what a large catalogue costs the prompt.

Every tool answers with the text "called <name>". Python 3 standard library only.
"""

import json
import sys

VERBS = ["create", "update", "delete", "list", "get", "search", "archive", "restore", "sync", "export"]
NOUNS = ["issue", "comment", "label", "milestone", "project", "pull_request", "branch", "release", "webhook", "team"]


def tools(count):
    out = []
    for i in range(count):
        verb, noun = VERBS[i % len(VERBS)], NOUNS[(i // len(VERBS)) % len(NOUNS)]
        name = f"{verb}_{noun}" if i < len(VERBS) * len(NOUNS) else f"{verb}_{noun}_{i}"
        out.append({
            "name": name,
            "description": f"{verb.capitalize()} a {noun.replace('_', ' ')} in the tracker. "
            f"Use this to {verb} {noun.replace('_', ' ')}s by id or by query; returns the "
            f"resulting {noun.replace('_', ' ')} as JSON.",
            "inputSchema": {
                "type": "object",
                "properties": {
                    "owner": {"type": "string", "description": "Owner of the repository."},
                    "repo": {"type": "string", "description": "Name of the repository."},
                    "id": {"type": "integer", "description": f"Id of the {noun.replace('_', ' ')}."},
                    "query": {"type": "string", "description": "Free-text filter."},
                },
                "required": ["owner", "repo"],
            },
        })
    return out


def main():
    catalogue = tools(int(sys.argv[1]) if len(sys.argv) > 1 else 100)
    for line in sys.stdin:
        try:
            msg = json.loads(line)
        except ValueError:
            continue
        if "id" not in msg:
            continue
        method, rid = msg.get("method"), msg["id"]
        if method == "initialize":
            result = {
                "protocolVersion": msg.get("params", {}).get("protocolVersion", "2025-06-18"),
                "capabilities": {"tools": {}},
                "serverInfo": {"name": "many-tools", "version": "1"},
            }
        elif method == "tools/list":
            result = {"tools": catalogue}
        elif method == "tools/call":
            name = msg.get("params", {}).get("name", "")
            result = {"content": [{"type": "text", "text": f"called {name}"}]}
        elif method == "ping":
            result = {}
        else:
            reply = {"jsonrpc": "2.0", "id": rid, "error": {"code": -32601, "message": "not found"}}
            print(json.dumps(reply), flush=True)
            continue
        print(json.dumps({"jsonrpc": "2.0", "id": rid, "result": result}), flush=True)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Validate JSON samples against Codex's App Server JSON Schema (draft 7).

Usage: validate_schema.py SCHEMA_DIR SAMPLES.jsonl

SCHEMA_DIR is shared/reference/codex-app-server-schema. Each line of SAMPLES.jsonl is
{"label": str, "schema": spec, "value": any} where spec is one of
  "ServerNotification" | "ServerRequest" | "ClientRequest"   (the top-level oneOf files)
  "v2:<Name>"          definitions.<Name> of codex_app_server_protocol.v2.schemas.json
  "file:<rel path>"    any schema file under SCHEMA_DIR (e.g. file:v1/InitializeResponse.json)
Prints one line per failure and exits 1 if any sample fails. Needs `pip install jsonschema`.
"""

import json
import os
import sys

import jsonschema

DRAFT7 = "http://json-schema.org/draft-07/schema#"


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    schema_dir, samples_path = sys.argv[1], sys.argv[2]
    cache = {}
    v2_defs = None

    def load(rel):
        with open(os.path.join(schema_dir, rel), encoding="utf-8") as f:
            return json.load(f)

    def validator(spec):
        nonlocal v2_defs
        if spec in cache:
            return cache[spec]
        if spec in ("ServerNotification", "ServerRequest", "ClientRequest"):
            schema = load(spec + ".json")
        elif spec.startswith("v2:"):
            if v2_defs is None:
                v2_defs = load("codex_app_server_protocol.v2.schemas.json")["definitions"]
            name = spec[3:]
            if name not in v2_defs:
                raise KeyError(f"no definition {name} in the v2 bundle")
            schema = {"$schema": DRAFT7, "$ref": f"#/definitions/{name}", "definitions": v2_defs}
        elif spec.startswith("file:"):
            schema = load(spec[5:])
        else:
            raise KeyError(f"unknown schema spec {spec!r}")
        jsonschema.Draft7Validator.check_schema(schema)
        v = jsonschema.Draft7Validator(schema)
        cache[spec] = v
        return v

    failures = 0
    total = 0
    with open(samples_path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            sample = json.loads(line)
            total += 1
            label, spec, value = sample["label"], sample["schema"], sample["value"]
            try:
                v = validator(spec)
            except (KeyError, OSError) as e:
                failures += 1
                print(f"FAIL {label} [{spec}]: {e}")
                continue
            errors = sorted(v.iter_errors(value), key=lambda e: list(e.absolute_path))
            if errors:
                failures += 1
                best = jsonschema.exceptions.best_match(errors)
                path = "/".join(str(p) for p in best.absolute_path)
                print(f"FAIL {label} [{spec}] at /{path}: {best.message[:500]}")
    print(f"validated {total} samples, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

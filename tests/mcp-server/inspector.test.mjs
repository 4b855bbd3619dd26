// The official MCP inspector CLI (@modelcontextprotocol/inspector, pinned in
// tests/mcp/package.json) drives `wright mcp-server` as another agent's MCP client would,
// against the scripted mock model (wright-mock-model).
//
// Binaries (build first: `cargo build -p wright-cli -p wright-mock-model`; see tests/common/fixtures.mjs):
//   WRIGHT_BIN       default <repo>/target/debug/wright
//   WRIGHT_MOCK_BIN  default <repo>/target/debug/wright-mock-model

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { promisify } from "node:util";

import { REPO_ROOT, WRIGHT_BIN, gitRepo, startMock, tempDir } from "../common/fixtures.mjs";

const INSPECTOR = path.join(
  REPO_ROOT,
  "tests/mcp/node_modules/@modelcontextprotocol/inspector/clients/launcher/build/index.js",
);

const ok = { timeout: 90_000 };

/** A WRIGHT_HOME whose config points wright at the mock model. */
function wrightHome(t, mockUrl) {
  const home = tempDir(t, "home");
  fs.writeFileSync(
    path.join(home, "config.toml"),
    `model_provider = "mock"\n[model_providers.mock]\nname = "mock"\nbase_url = "${mockUrl}"\nwire_api = "responses"\n`,
  );
  return home;
}

/**
 * Runs `inspector --cli <wright> mcp-server` with `args` and returns its JSON `result`. The
 * inspector starts the server with a clean environment: WRIGHT_HOME and HOME go in with `-e`.
 */
async function inspect(home, args) {
  const argv = [
    INSPECTOR,
    "--cli",
    "-e",
    `WRIGHT_HOME=${home}`,
    "-e",
    `HOME=${home}`,
    "-e",
    "SHELL=/bin/bash",
    WRIGHT_BIN,
    "mcp-server",
    ...args,
    "--format",
    "json",
    "-q",
  ];
  let stdout;
  try {
    ({ stdout } = await promisify(execFile)(process.execPath, argv, { timeout: 80_000 }));
  } catch (err) {
    assert.fail(`inspector failed (${err.code}):\n${err.stdout}\n${err.stderr}`);
  }
  const printed = JSON.parse(stdout);
  assert.ok(printed.result, `no result in ${stdout}`);
  return printed.result;
}

test("the inspector lists both tools and their required arguments", ok, async (t) => {
  const mock = await startMock(t, []);
  const result = await inspect(wrightHome(t, mock.url), ["--method", "tools/list"]);
  const tools = Object.fromEntries(result.tools.map((tool) => [tool.name, tool]));
  assert.deepEqual(Object.keys(tools), ["wright", "wright-reply"]);
  assert.deepEqual(tools.wright.inputSchema.required, ["prompt"]);
  for (const arg of ["cwd", "model", "approval-policy", "sandbox", "config"]) {
    assert.ok(tools.wright.inputSchema.properties[arg], `wright takes ${arg}`);
  }
  assert.deepEqual(tools["wright-reply"].inputSchema.required, ["prompt"]);
  assert.ok(tools["wright-reply"].inputSchema.properties.threadId);
  assert.deepEqual(tools.wright.outputSchema.required, ["threadId", "content"]);
});

test("the inspector runs a wright session that runs a command and answers", ok, async (t) => {
  const repo = gitRepo(t);
  const mock = await startMock(t, [
    {
      kind: "reply",
      items: [
        {
          type: "function_call",
          name: "exec_command",
          call_id: "call_echo",
          arguments: JSON.stringify({ cmd: "echo seen-by-the-inspector" }),
        },
      ],
    },
    { kind: "reply", items: [{ type: "message", text: "The inspector's answer." }] },
  ]);
  const result = await inspect(wrightHome(t, mock.url), [
    "--method",
    "tools/call",
    "--tool-name",
    "wright",
    "--tool-arg",
    "prompt=run echo and report",
    `cwd=${repo}`,
    "approval-policy=never",
  ]);
  assert.notEqual(result.isError, true, JSON.stringify(result));
  assert.equal(result.content[0].text, "The inspector's answer.");
  assert.match(result.structuredContent.threadId, /\S/);
  assert.equal(result.structuredContent.content, "The inspector's answer.");

  const turns = mock.requests().filter((r) => r.path.endsWith("/responses"));
  assert.equal(turns.length, 2);
  const output = turns[1].body.input.find((i) => i.call_id === "call_echo" && i.type.endsWith("_output"));
  assert.match(String(output?.output), /seen-by-the-inspector/);
});

// Conformance test: the official Codex TypeScript SDK (@openai/codex-sdk) drives `wright exec`
// exactly as it drives `codex exec`, against the scripted mock model (wright-mock-model).
//
// Binaries (build first: `cargo build -p wright-cli -p wright-mock-model`; see tests/common/fixtures.mjs):
//   WRIGHT_BIN       default <repo>/target/debug/wright
//   WRIGHT_MOCK_BIN  default <repo>/target/debug/wright-mock-model

import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";

import { Codex } from "@openai/codex-sdk";

import {
  WRIGHT_BIN,
  gitRepo,
  tempDir,
  startMock as startSharedMock,
} from "../common/fixtures.mjs";

const API_KEY = "test-key";
const MODEL = "gpt-5.5";
const TEST_TIMEOUT_MS = 20_000;
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const ok = { timeout: TEST_TIMEOUT_MS };

// ------------------------------------------------------------------------------ fixtures

/** The mock model (see tests/common/fixtures.mjs), its URL checked. */
async function startMock(t, steps) {
  const mock = await startSharedMock(t, steps);
  assert.match(mock.url, /^http:\/\/127\.0\.0\.1:\d+\/v1$/);
  return mock;
}

/**
 * A pass-through HTTP proxy in front of the mock that records request headers (the mock's log
 * holds only path and body). Streams the SSE answer through unchanged.
 */
async function startHeaderProxy(t, targetBaseUrl) {
  const target = new URL(targetBaseUrl);
  const seen = [];
  const server = http.createServer((req, res) => {
    seen.push({ method: req.method, path: req.url, headers: { ...req.headers } });
    const upstream = http.request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (up) => {
        res.writeHead(up.statusCode, up.headers);
        up.pipe(res);
      },
    );
    upstream.on("error", (err) => res.destroy(err));
    req.pipe(upstream);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return { url: `http://127.0.0.1:${server.address().port}/v1`, seen };
}

/**
 * A Codex SDK client pointed at wright. The environment is explicit (the SDK then does not
 * inherit process.env): an empty WRIGHT_HOME and HOME, and no OPENAI_API_KEY, so the key can
 * only arrive the SDK's way (CODEX_API_KEY).
 */
function codexFor(t, baseUrl, { env: extraEnv = {}, config } = {}) {
  const home = tempDir(t, "home");
  const wrightHome = path.join(home, ".wright");
  fs.mkdirSync(wrightHome);
  return new Codex({
    codexPathOverride: WRIGHT_BIN,
    baseUrl,
    apiKey: API_KEY,
    config,
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: home,
      WRIGHT_HOME: wrightHome,
      ...extraEnv,
    },
  });
}

const message = (text) => ({ kind: "reply", items: [{ type: "message", text }] });
const execCall = (cmd) => ({
  type: "function_call",
  name: "exec_command",
  arguments: JSON.stringify({ cmd }),
});
const PATCH_ADD = "*** Begin Patch\n*** Add File: x.txt\n+hi\n*** End Patch\n";

/** Text of the `input_text` parts of the user messages in a Responses request body. */
function userTexts(body) {
  return body.input
    .filter((i) => i.type === "message" && i.role === "user")
    .flatMap((i) => i.content.filter((c) => c.type === "input_text").map((c) => c.text));
}

function assertUsage(usage) {
  assert.ok(usage, "result.usage is set");
  for (const key of [
    "input_tokens",
    "cached_input_tokens",
    "cache_write_input_tokens",
    "output_tokens",
    "reasoning_output_tokens",
  ]) {
    assert.equal(typeof usage[key], "number", `usage.${key} is a number`);
    assert.ok(Number.isInteger(usage[key]) && usage[key] >= 0, `usage.${key} >= 0`);
  }
  assert.ok(usage.input_tokens > 0, "usage.input_tokens > 0");
  assert.ok(usage.output_tokens > 0, "usage.output_tokens > 0");
}

// --------------------------------------------------------------------------------- tests

test("run(): plan, command, patch and answer in a git repo", ok, async (t) => {
  const repo = gitRepo(t);
  const mock = await startMock(t, [
    {
      kind: "reply",
      items: [
        {
          type: "function_call",
          name: "update_plan",
          arguments: JSON.stringify({
            plan: [
              { step: "Say hi", status: "completed" },
              { step: "Write x.txt", status: "in_progress" },
            ],
          }),
        },
        execCall("echo hi"),
        { type: "custom_tool_call", name: "apply_patch", input: PATCH_ADD },
      ],
    },
    message("Created x.txt."),
  ]);
  const proxy = await startHeaderProxy(t, mock.url);
  // update_plan is off by default in Codex 0.169; the SDK's `config` option turns it on
  // (it becomes `--config tools.update_plan.enabled=true`).
  const codex = codexFor(t, proxy.url, { config: { tools: { update_plan: { enabled: true } } } });
  const thread = codex.startThread({
    workingDirectory: repo,
    sandboxMode: "workspace-write",
    model: MODEL,
  });
  assert.equal(thread.id, null, "no id before the first turn");

  const result = await thread.run("Say hi and create x.txt");

  // thread.started carried a UUIDv7 thread id
  assert.match(thread.id ?? "", UUID_V7);

  assert.equal(result.finalResponse, "Created x.txt.");
  assertUsage(result.usage);

  // item.completed items, in completion order; ids item_N, unique
  const ids = result.items.map((i) => i.id);
  for (const id of ids) assert.match(id, /^item_\d+$/);
  assert.equal(new Set(ids).size, ids.length, `item ids are unique: ${ids}`);
  assert.deepEqual(
    result.items.map((i) => i.type).sort(),
    ["agent_message", "command_execution", "file_change", "todo_list"],
  );

  const cmd = result.items.find((i) => i.type === "command_execution");
  assert.match(cmd.command, /^\/\S+ -lc 'echo hi'$/, "command is `<shell> -lc 'echo hi'`");
  assert.equal(cmd.aggregated_output, "hi\n");
  assert.equal(cmd.exit_code, 0);
  assert.equal(cmd.status, "completed");

  const patch = result.items.find((i) => i.type === "file_change");
  assert.deepEqual(patch.changes, [{ path: path.join(repo, "x.txt"), kind: "add" }]);
  assert.equal(patch.status, "completed");
  assert.equal(fs.readFileSync(path.join(repo, "x.txt"), "utf8"), "hi\n");

  const todo = result.items.find((i) => i.type === "todo_list");
  assert.deepEqual(todo.items, [
    { text: "Say hi", completed: true },
    { text: "Write x.txt", completed: false },
  ]);
  // Codex completes the todo list at turn end, after the final agent message.
  assert.equal(result.items.at(-1).type, "todo_list");
  assert.deepEqual(result.items.at(-2), {
    id: result.items.at(-2).id,
    type: "agent_message",
    text: "Created x.txt.",
  });

  // What reached the model: two Responses requests, the prompt, the tool outputs.
  const requests = mock.requests();
  assert.deepEqual(
    requests.map((r) => r.path),
    ["/v1/responses", "/v1/responses"],
  );
  const [first, second] = requests.map((r) => r.body);
  assert.equal(first.model, MODEL);
  assert.equal(first.stream, true);
  assert.equal(userTexts(first).at(-1), "Say hi and create x.txt");
  assert.equal(first.prompt_cache_key, thread.id, "prompt_cache_key is the thread id");
  const toolNames = first.tools.map((tool) => tool.name);
  for (const name of ["exec_command", "apply_patch", "update_plan"]) {
    assert.ok(toolNames.includes(name), `tool ${name} is offered: ${toolNames}`);
  }
  const outputs = second.input.filter(
    (i) => i.type === "function_call_output" || i.type === "custom_tool_call_output",
  );
  assert.equal(outputs.length, 3, "one output per tool call");
  assert.ok(
    outputs.some((o) => typeof o.output === "string" && /Output:\nhi\n/.test(o.output)),
    "the command output went back to the model",
  );

  // The key the SDK was given reached the server (SDK -> CODEX_API_KEY -> Authorization).
  assert.equal(proxy.seen.length, 2);
  for (const req of proxy.seen) {
    assert.equal(req.method, "POST");
    assert.equal(req.headers.authorization, `Bearer ${API_KEY}`);
  }
});

test("run(): outside a git repo with skipGitRepoCheck", ok, async (t) => {
  const dir = tempDir(t, "plain");
  const mock = await startMock(t, [message("Hello from the mock.")]);
  const thread = codexFor(t, mock.url).startThread({
    workingDirectory: dir,
    skipGitRepoCheck: true,
    sandboxMode: "read-only",
  });
  const result = await thread.run("Say hello");
  assert.match(thread.id ?? "", UUID_V7);
  assert.equal(result.finalResponse, "Hello from the mock.");
  assert.equal(result.items.length, 1);
  assert.deepEqual(result.items[0], {
    id: "item_0",
    type: "agent_message",
    text: "Hello from the mock.",
  });
  assertUsage(result.usage);
  const requests = mock.requests();
  assert.equal(requests.length, 1);
  assert.equal(userTexts(requests[0].body).at(-1), "Say hello");
});

test("run(): outside a git repo without skipGitRepoCheck is refused", ok, async (t) => {
  const dir = tempDir(t, "plain");
  const mock = await startMock(t, [message("unreachable")]);
  const thread = codexFor(t, mock.url).startThread({ workingDirectory: dir });
  await assert.rejects(thread.run("Say hello"), (err) => {
    assert.match(err.message, /^Codex Exec exited with code 1: /);
    assert.match(
      err.message,
      /Not inside a trusted directory and --skip-git-repo-check was not specified\./,
    );
    return true;
  });
  assert.equal(mock.requests().length, 0, "no model request before the git check");
});

test("runStreamed(): event sequence of a failing command", ok, async (t) => {
  const repo = gitRepo(t);
  const mock = await startMock(t, [
    { kind: "reply", items: [execCall("echo oops >&2; exit 3")] },
    message("The command failed with exit code 3."),
  ]);
  const thread = codexFor(t, mock.url).startThread({
    workingDirectory: repo,
    sandboxMode: "workspace-write",
  });
  const { events } = await thread.runStreamed("Run the failing command");
  const seen = [];
  for await (const event of events) seen.push(event);

  assert.deepEqual(
    seen.map((e) => (e.item ? `${e.type}:${e.item.type}` : e.type)),
    [
      "thread.started",
      "turn.started",
      "item.started:command_execution",
      "item.completed:command_execution",
      "item.completed:agent_message",
      "turn.completed",
    ],
  );
  assert.match(seen[0].thread_id, UUID_V7);
  assert.equal(thread.id, seen[0].thread_id);

  const started = seen[2].item;
  assert.equal(started.id, "item_0");
  assert.match(started.command, /^\/\S+ -lc 'echo oops >&2; exit 3'$/);
  assert.equal(started.status, "in_progress");
  assert.equal(started.aggregated_output, "");
  assert.equal(started.exit_code ?? null, null, "no exit code while running");

  assert.deepEqual(seen[3].item, {
    ...started,
    aggregated_output: "oops\n",
    exit_code: 3,
    status: "failed",
  });
  assert.deepEqual(seen[4].item, {
    id: "item_1",
    type: "agent_message",
    text: "The command failed with exit code 3.",
  });
  assertUsage(seen[5].usage);
});

test("run(): HTTP 400 from the model rejects with the server's message", ok, async (t) => {
  const repo = gitRepo(t);
  const mock = await startMock(t, [
    { kind: "http_error", status: 400 },
    { kind: "http_error", status: 400 },
  ]);
  const thread = codexFor(t, mock.url).startThread({ workingDirectory: repo });
  await assert.rejects(thread.run("Say hello"), (err) => {
    assert.match(err.message, /injected 400/);
    // The error comes from turn.failed, not from the SDK's non-zero-exit fallback.
    assert.doesNotMatch(err.message, /Codex Exec exited/);
    return true;
  });
  assert.match(thread.id ?? "", UUID_V7, "thread.started came before the failure");
  assert.equal(mock.requests().length, 1, "a 400 is not retried");
});

test("runStreamed(): HTTP 400 ends with error then turn.failed", ok, async (t) => {
  const repo = gitRepo(t);
  const mock = await startMock(t, [{ kind: "http_error", status: 400 }]);
  const thread = codexFor(t, mock.url).startThread({ workingDirectory: repo });
  const { events } = await thread.runStreamed("Say hello");
  const seen = [];
  await assert.rejects(async () => {
    for await (const event of events) seen.push(event);
  }, /Codex Exec exited with code 1/);
  assert.deepEqual(
    seen.map((e) => e.type),
    ["thread.started", "turn.started", "error", "turn.failed"],
  );
  assert.match(seen[3].error.message, /injected 400/);
  assert.equal(seen[2].message, seen[3].error.message);
  assert.equal(mock.requests().length, 1);
});

// ------------------------------------------------------------- options the SDK passes

test(
  "apiKey wins over an ambient OPENAI_API_KEY (CODEX_API_KEY has precedence in codex exec)",
  ok,
  async (t) => {
    const repo = gitRepo(t);
    const mock = await startMock(t, [message("ok")]);
    const proxy = await startHeaderProxy(t, mock.url);
    const thread = codexFor(t, proxy.url, { env: { OPENAI_API_KEY: "ambient-key" } }).startThread({
      workingDirectory: repo,
    });
    const result = await thread.run("Say ok");
    assert.equal(result.finalResponse, "ok");
    assert.equal(proxy.seen.length, 1);
    assert.equal(proxy.seen[0].headers.authorization, `Bearer ${API_KEY}`);
  },
);

/** Text of the developer messages (permissions instructions) of a Responses request body. */
function developerText(body) {
  return body.input
    .filter((i) => i.type === "message" && i.role === "developer")
    .flatMap((i) => i.content.map((c) => c.text ?? ""))
    .join("\n");
}

test(
  "networkAccessEnabled reaches the prompt (`sandbox_workspace_write.network_access=true`)",
  ok,
  async (t) => {
    const repo = gitRepo(t);
    const mock = await startMock(t, [message("ok")]);
    const thread = codexFor(t, mock.url).startThread({
      workingDirectory: repo,
      sandboxMode: "workspace-write",
      networkAccessEnabled: true,
    });
    assert.equal((await thread.run("Say ok")).finalResponse, "ok");
    const text = developerText(mock.requests()[0].body);
    assert.match(text, /`sandbox_mode` is `workspace-write`/);
    assert.match(text, /Network access is enabled\./);
  },
);

test(
  "additionalDirectories become writable roots (`--add-dir`)",
  ok,
  async (t) => {
    const repo = gitRepo(t);
    const extra = tempDir(t, "extra");
    const mock = await startMock(t, [message("ok")]);
    const thread = codexFor(t, mock.url).startThread({
      workingDirectory: repo,
      sandboxMode: "workspace-write",
      additionalDirectories: [extra],
    });
    assert.equal((await thread.run("Say ok")).finalResponse, "ok");
    const roots = developerText(mock.requests()[0].body).match(/The writable roots are (.*)\./);
    assert.ok(roots, "the permissions text lists writable roots");
    assert.ok(roots[1].includes(`\`${repo}\``), roots[1]);
    assert.ok(roots[1].includes(`\`${extra}\``), roots[1]);
  },
);

test(
  "second run() on the same thread resumes it (`exec … resume <id>`)",
  ok,
  async (t) => {
    const repo = gitRepo(t);
    const mock = await startMock(t, [message("First answer."), message("Second answer.")]);
    const thread = codexFor(t, mock.url).startThread({ workingDirectory: repo });
    const first = await thread.run("First question");
    const id = thread.id;
    assert.match(id ?? "", UUID_V7);
    assert.equal(first.finalResponse, "First answer.");

    const second = await thread.run("Second question");
    assert.equal(thread.id, id, "resume keeps the thread id");
    assert.equal(second.finalResponse, "Second answer.");
    assert.deepEqual(second.items, [
      { id: "item_0", type: "agent_message", text: "Second answer." },
    ]);
    // usage is cumulative over the thread
    assert.ok(second.usage.input_tokens > first.usage.input_tokens);

    const requests = mock.requests();
    assert.equal(requests.length, 2);
    const texts = userTexts(requests[1].body);
    assert.ok(texts.includes("First question"), "history carries turn 1");
    assert.equal(texts.at(-1), "Second question");
    assert.ok(
      JSON.stringify(requests[1].body.input).includes("First answer."),
      "history carries the turn-1 answer",
    );
    assert.equal(requests[1].body.prompt_cache_key, id);
  },
);

test(
  "threadSource is accepted (`--thread-source`)",
  ok,
  async (t) => {
    const repo = gitRepo(t);
    const mock = await startMock(t, [message("ok")]);
    const thread = codexFor(t, mock.url).startThread({
      workingDirectory: repo,
      threadSource: "sdk-conformance",
    });
    const result = await thread.run("Say ok");
    assert.equal(result.finalResponse, "ok");
  },
);

test(
  "cyberAccessProgram is accepted (`--cyber-access-program`)",
  ok,
  async (t) => {
    const repo = gitRepo(t);
    const mock = await startMock(t, [message("ok")]);
    const thread = codexFor(t, mock.url).startThread({ workingDirectory: repo });
    const result = await thread.run("Say ok", { cyberAccessProgram: "standard" });
    assert.equal(result.finalResponse, "ok");
  },
);

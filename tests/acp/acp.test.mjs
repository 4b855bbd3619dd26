// Conformance test: the official ACP TypeScript SDK (@agentclientprotocol/sdk) drives
// `wright acp` as an editor would (Zed, JetBrains, Neovim, Emacs), against the scripted mock
// model (wright-mock-model).
//
// Binaries (build first: `cargo build -p wright-cli -p wright-mock-model`; see tests/common/fixtures.mjs):
//   WRIGHT_BIN       default <repo>/target/debug/wright
//   WRIGHT_MOCK_BIN  default <repo>/target/debug/wright-mock-model

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { Readable, Writable } from "node:stream";

import { client, methods, ndJsonStream, PROTOCOL_VERSION } from "@agentclientprotocol/sdk";

import { WRIGHT_BIN, gitRepo, tempDir, startMock as startSharedMock } from "../common/fixtures.mjs";

const TEST_TIMEOUT_MS = 30_000;

const ok = { timeout: TEST_TIMEOUT_MS };

// ------------------------------------------------------------------------------ fixtures

/** The mock model (see tests/common/fixtures.mjs); `requests()` keeps model turns only:
 * `model/list` also asks the provider for its models. */
async function startMock(t, steps) {
  const mock = await startSharedMock(t, steps);
  return { url: mock.url, requests: () => mock.requests().filter((r) => r.path.endsWith("/responses")) };
}

/** A temp WRIGHT_HOME whose config points at the mock model. */
function wrightHome(t, mockUrl, extra = "") {
  const home = tempDir(t, "home");
  fs.writeFileSync(
    path.join(home, "config.toml"),
    `${extra}model_provider = "mock"\n[model_providers.mock]\nname = "mock"\nbase_url = "${mockUrl}"\nwire_api = "responses"\n`,
  );
  return home;
}

/** Confined to the workspace alone: /tmp (where the tests' other folders are) is not writable. */
const WORKSPACE_ONLY =
  'sandbox_mode = "workspace-write"\nsandbox_workspace_write = { exclude_slash_tmp = true, exclude_tmpdir_env_var = true }\n';

/** What the test client's own environment holds and a delegated command must never see. */
const EDITOR_SECRET = "acp-test-secret-9f31";
const EDITOR_ONLY = "editor-only-value-51c2";

/**
 * An editor's terminals for the test client: `terminal/create` really spawns the command, with
 * the client's own environment merged under the one it is given, as editors do (so a secret
 * of the editor reaches any command that does not clear it).
 */
function terminalHost(seen) {
  const terminals = new Map();
  let next = 1;
  const spawnLikeAnEditor = (command, args, cwd, env = []) => {
    const child = spawn(command, args, {
      cwd,
      env: {
        ...process.env,
        SECRET_TOKEN: EDITOR_SECRET,
        EDITOR_ONLY_MARKER: EDITOR_ONLY,
        ...Object.fromEntries(env.map((v) => [v.name, v.value])),
      },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    const term = { child, output: "", exitStatus: null };
    child.stdout.on("data", (d) => (term.output += d));
    child.stderr.on("data", (d) => (term.output += d));
    term.exited = new Promise((resolve) => {
      const done = (code, signal) => {
        if (term.exitStatus) return;
        term.exitStatus = signal ? { signal } : { exitCode: code ?? 127 };
        resolve(term.exitStatus);
      };
      child.on("close", done);
      child.on("error", (e) => {
        term.output += String(e);
        done(127, null);
      });
    });
    return term;
  };
  const get = (params) => {
    const term = terminals.get(params.terminalId);
    if (!term) throw new Error(`no terminal ${params.terminalId}`);
    return term;
  };
  const kill = (term) => {
    if (term.exitStatus) return;
    try {
      process.kill(-term.child.pid, "SIGKILL");
    } catch {
      term.child.kill("SIGKILL");
    }
  };
  return {
    spawnLikeAnEditor,
    create: ({ params }) => {
      seen.terminals.push(params);
      const id = `term_${next++}`;
      terminals.set(id, spawnLikeAnEditor(params.command, params.args ?? [], params.cwd, params.env ?? []));
      return { terminalId: id };
    },
    output: ({ params }) => {
      const term = get(params);
      return {
        output: term.output,
        truncated: false,
        ...(term.exitStatus ? { exitStatus: term.exitStatus } : {}),
      };
    },
    // The exit status is the whole result (ACP flattens it).
    waitForExit: async ({ params }) => await get(params).exited,
    kill: ({ params }) => {
      seen.kills.push(params.terminalId);
      kill(get(params));
      return {};
    },
    release: ({ params }) => {
      seen.releases.push(params.terminalId);
      const term = get(params);
      kill(term);
      seen.released.push(term);
      terminals.delete(params.terminalId);
      return {};
    },
  };
}

/**
 * Spawns `wright acp` and connects the SDK's client to it. The client records every
 * session/update, answers permission requests with `permission` (default: allow once) and
 * records fs/write_text_file calls without writing anything, so a test can tell the editor's
 * write from the engine's. `readTextFile` (default: the disk) is what the editor's buffers
 * hold; `terminal` offers the editor's terminals (see `terminalHost`).
 */
function startAgent(t, home, repo, { permission, writeTextFile = true, readTextFile, terminal = false } = {}) {
  const child = spawn(WRIGHT_BIN, ["acp"], {
    cwd: repo,
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: home,
      WRIGHT_HOME: home,
      SHELL: "/bin/bash",
    },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });
  const seen = {
    updates: [],
    permissions: [],
    writes: [],
    reads: [],
    terminals: [],
    kills: [],
    releases: [],
    released: [],
    stderr: () => stderr,
  };
  const host = terminalHost(seen);
  t.after(() => {
    for (const term of seen.released) if (!term.exitStatus) term.child.kill("SIGKILL");
  });
  const read = readTextFile ?? ((p) => fs.readFileSync(p, "utf8"));
  let app = client({ name: "wright-acp-test" })
    .onNotification(methods.client.session.update, ({ params }) => {
      seen.updates.push(params);
    })
    .onRequest(methods.client.session.requestPermission, ({ params }) => {
      seen.permissions.push(params);
      const choose = permission ?? ((p) => p.options.find((o) => o.kind === "allow_once"));
      return { outcome: { outcome: "selected", optionId: choose(params).optionId } };
    })
    .onRequest(methods.client.fs.writeTextFile, ({ params }) => {
      seen.writes.push(params);
      return {};
    })
    .onRequest(methods.client.fs.readTextFile, ({ params }) => {
      seen.reads.push(params);
      return { content: read(params.path) };
    });
  if (terminal) {
    app = app
      .onRequest(methods.client.terminal.create, host.create)
      .onRequest(methods.client.terminal.output, host.output)
      .onRequest(methods.client.terminal.waitForExit, host.waitForExit)
      .onRequest(methods.client.terminal.kill, host.kill)
      .onRequest(methods.client.terminal.release, host.release);
  }
  const stream = ndJsonStream(Writable.toWeb(child.stdin), Readable.toWeb(child.stdout));
  const run = (op) =>
    app.connectWith(stream, async (agent) => {
      const init = await agent.request(methods.agent.initialize, {
        protocolVersion: PROTOCOL_VERSION,
        clientCapabilities: { fs: { readTextFile: true, writeTextFile }, terminal },
        clientInfo: { name: "wright-acp-test", version: "0.0.0" },
      });
      return op(agent, init);
    });
  return { child, seen, run, host };
}

const updatesOf = (seen, kind) => seen.updates.map((u) => u.update).filter((u) => u.sessionUpdate === kind);
const text = (seen, kind) =>
  updatesOf(seen, kind)
    .map((u) => u.content.text)
    .join("");

/** A model reply that runs `cmd` with exec_command. */
const runs = (callId, cmd) => ({
  kind: "reply",
  items: [{ type: "function_call", name: "exec_command", call_id: callId, arguments: JSON.stringify({ cmd }) }],
});

/** What the model was told a call returned. */
function toolOutput(mock, callId) {
  for (const request of mock.requests()) {
    const found = request.body.input.find((i) => i.call_id === callId && i.type.endsWith("_output"));
    if (found) return found.output;
  }
  return undefined;
}

const prompt = (agent, sessionId, words) =>
  agent.request(methods.agent.session.prompt, {
    sessionId,
    prompt: [{ type: "text", text: words }],
  });

// --------------------------------------------------------------------------------- tests

test("a command that needs approval asks the editor, runs, and streams its output", ok, async (t) => {
  const repo = gitRepo(t);
  const mock = await startMock(t, [
    {
      kind: "reply",
      items: [
        {
          type: "function_call",
          name: "exec_command",
          call_id: "call_cmd",
          arguments: JSON.stringify({
            cmd: "echo approved-output",
            sandbox_permissions: "require_escalated",
            justification: "to show approvals",
          }),
        },
      ],
    },
    { kind: "reply", items: [{ type: "message", text: "All done." }] },
  ]);
  const home = wrightHome(t, mock.url);
  const { seen, run } = startAgent(t, home, repo);

  const sessionId = await run(async (agent, init) => {
    assert.equal(init.protocolVersion, PROTOCOL_VERSION);
    assert.equal(init.agentCapabilities.loadSession, true);
    const session = await agent.request(methods.agent.session.new, { cwd: repo, mcpServers: [] });
    assert.ok(session.sessionId, "a session id");
    assert.deepEqual(
      session.modes.availableModes.map((m) => m.id).filter((id) => id !== "as-configured"),
      ["read-only", "auto", "full-access"],
    );
    const model = session.configOptions.find((o) => o.id === "model");
    assert.equal(model?.category, "model", "the model is offered as a config option");

    const result = await prompt(agent, session.sessionId, "run it");
    assert.equal(result.stopReason, "end_turn", seen.stderr());
    return session.sessionId;
  });

  // The App Server's approval question reached the editor as session/request_permission,
  // about the command's tool call, with allow once / allow always / reject.
  assert.equal(seen.permissions.length, 1, "one permission request");
  const asked = seen.permissions[0];
  assert.equal(asked.sessionId, sessionId);
  assert.equal(asked.toolCall.toolCallId, "call_cmd");
  assert.match(asked.toolCall.title, /to show approvals/);
  assert.deepEqual(
    asked.options.map((o) => o.kind),
    ["allow_once", "allow_always", "reject_once"],
  );

  // The tool call was announced, then completed with the command's output.
  const call = updatesOf(seen, "tool_call").find((u) => u.toolCallId === "call_cmd");
  assert.ok(call, "a tool_call for the command");
  assert.equal(call.kind, "execute");
  const done = updatesOf(seen, "tool_call_update").find((u) => u.toolCallId === "call_cmd");
  assert.ok(done, "a tool_call_update for the command");
  assert.equal(done.status, "completed");
  assert.match(JSON.stringify(done.content), /approved-output/);
  assert.equal(text(seen, "agent_message_chunk"), "All done.");

  // session/load in a fresh agent replays the thread's history before answering.
  const again = startAgent(t, home, repo);
  await again.run(async (agent) => {
    await agent.request(methods.agent.session.load, { sessionId, cwd: repo, mcpServers: [] });
    assert.match(text(again.seen, "user_message_chunk"), /run it/);
    assert.equal(text(again.seen, "agent_message_chunk"), "All done.");
    const replayed = updatesOf(again.seen, "tool_call").find((u) => u.toolCallId === "call_cmd");
    assert.equal(replayed?.status, "completed");
  });
  assert.equal(mock.requests().length, 2);
});

test("an apply_patch edit is written by the editor, not by the engine", ok, async (t) => {
  const repo = gitRepo(t);
  const file = path.join(repo, "hello.txt");
  fs.writeFileSync(file, "keep\nold line\n");
  const patch = "*** Begin Patch\n*** Update File: hello.txt\n@@\n keep\n-old line\n+new line\n*** End Patch\n";
  const mock = await startMock(t, [
    {
      kind: "reply",
      items: [{ type: "custom_tool_call", name: "apply_patch", call_id: "call_patch", input: patch }],
    },
    { kind: "reply", items: [{ type: "message", text: "Edited." }] },
  ]);
  const home = wrightHome(t, mock.url);
  const { seen, run } = startAgent(t, home, repo);

  await run(async (agent) => {
    const session = await agent.request(methods.agent.session.new, { cwd: repo, mcpServers: [] });
    const result = await prompt(agent, session.sessionId, "edit hello.txt");
    assert.equal(result.stopReason, "end_turn", seen.stderr());
  });

  // The editor's fs/write_text_file got the whole new text, at the absolute path.
  assert.deepEqual(
    seen.writes.map((w) => ({ path: w.path, content: w.content })),
    [{ path: file, content: "keep\nnew line\n" }],
  );
  // The engine did not write the file itself (this client's handler writes nothing).
  assert.equal(fs.readFileSync(file, "utf8"), "keep\nold line\n");

  // The edit showed as a tool call with its diff and location, then completed.
  const call = updatesOf(seen, "tool_call").find((u) => u.toolCallId === "call_patch");
  assert.equal(call?.kind, "edit");
  assert.deepEqual(call.locations, [{ path: file }]);
  const diff = call.content.find((c) => c.type === "diff");
  assert.equal(diff.path, file);
  assert.match(diff.newText, /new line/);
  assert.match(diff.oldText, /old line/);
  const done = updatesOf(seen, "tool_call_update").find((u) => u.toolCallId === "call_patch");
  assert.equal(done?.status, "completed");

  // The model heard that the patch applied.
  const second = mock.requests()[1].body;
  const output = second.input.find(
    (i) => i.type === "custom_tool_call_output" && i.call_id === "call_patch",
  );
  assert.match(output?.output ?? "", /Success\. Updated the following files:\nM hello\.txt/);
});

test("session/cancel stops a stalled turn and the prompt ends cancelled", ok, async (t) => {
  const repo = gitRepo(t);
  const mock = await startMock(t, [
    { kind: "delay", ms: 60_000, then: { kind: "reply", items: [{ type: "message", text: "too late" }] } },
  ]);
  const home = wrightHome(t, mock.url);
  const { seen, run } = startAgent(t, home, repo);

  await run(async (agent) => {
    const session = await agent.request(methods.agent.session.new, { cwd: repo, mcpServers: [] });
    const pending = prompt(agent, session.sessionId, "take your time");
    // Cancel once the model request is in flight (the turn is really running).
    const deadline = Date.now() + 10_000;
    while (mock.requests().length === 0) {
      assert.ok(Date.now() < deadline, `the model was never asked: ${seen.stderr()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    await agent.notify(methods.agent.session.cancel, { sessionId: session.sessionId });
    const result = await pending;
    assert.equal(result.stopReason, "cancelled");
  });
  assert.equal(text(seen, "agent_message_chunk"), "", "nothing from the stalled reply");
});

test("an editor that cannot write files leaves the patch to the engine", ok, async (t) => {
  const repo = gitRepo(t);
  const patch = "*** Begin Patch\n*** Add File: added.txt\n+by the engine\n*** End Patch\n";
  const mock = await startMock(t, [
    {
      kind: "reply",
      items: [{ type: "custom_tool_call", name: "apply_patch", call_id: "call_add", input: patch }],
    },
    { kind: "reply", items: [{ type: "message", text: "Added." }] },
  ]);
  const home = wrightHome(t, mock.url);
  const { seen, run } = startAgent(t, home, repo, { writeTextFile: false });
  await run(async (agent) => {
    const session = await agent.request(methods.agent.session.new, { cwd: repo, mcpServers: [] });
    const result = await prompt(agent, session.sessionId, "add a file");
    assert.equal(result.stopReason, "end_turn", seen.stderr());
  });
  assert.deepEqual(seen.writes, [], "no fs/write_text_file without the capability");
  assert.equal(fs.readFileSync(path.join(repo, "added.txt"), "utf8"), "by the engine\n");
});

test("a patch applies to the editor's unsaved buffer, read with fs/read_text_file", ok, async (t) => {
  const repo = gitRepo(t);
  const file = path.join(repo, "notes.txt");
  fs.writeFileSync(file, "keep\nsaved line\n");
  // The editor's buffer holds a line the disk does not: the patch edits that line, so it
  // cannot apply to the disk at all.
  const buffer = "keep\nunsaved line\n";
  const patch = "*** Begin Patch\n*** Update File: notes.txt\n@@\n keep\n-unsaved line\n+patched line\n*** Add File: fresh.txt\n+new\n*** End Patch\n";
  const mock = await startMock(t, [
    { kind: "reply", items: [{ type: "custom_tool_call", name: "apply_patch", call_id: "call_buf", input: patch }] },
    { kind: "reply", items: [{ type: "message", text: "Edited the buffer." }] },
    { kind: "reply", items: [{ type: "custom_tool_call", name: "apply_patch", call_id: "call_disk", input: patch }] },
    { kind: "reply", items: [{ type: "message", text: "Tried the disk." }] },
  ]);
  // The workspace is writable: only then does the engine ask the editor about its files.
  const home = wrightHome(t, mock.url, WORKSPACE_ONLY);
  const { seen, run } = startAgent(t, home, repo, {
    readTextFile: (p) => (p === file ? buffer : fs.readFileSync(p, "utf8")),
  });
  await run(async (agent) => {
    const session = await agent.request(methods.agent.session.new, { cwd: repo, mcpServers: [] });
    const result = await prompt(agent, session.sessionId, "edit notes.txt");
    assert.equal(result.stopReason, "end_turn", seen.stderr());
  });
  // Only the updated file was read (not the added one), at its absolute path.
  assert.deepEqual(seen.reads.map((r) => r.path), [file]);
  const written = Object.fromEntries(seen.writes.map((w) => [w.path, w.content]));
  assert.equal(written[file], "keep\npatched line\n", "the patch applied to the buffer");
  assert.equal(written[path.join(repo, "fresh.txt")], "new\n");
  assert.match(toolOutput(mock, "call_buf"), /Success\. Updated the following files/);

  // The same patch from an editor that does not offer its buffers is planned against the
  // disk, where it does not apply: nothing is written.
  const plain = startAgent(t, home, repo, { readTextFile: false });
  await plain.run(async (agent, init) => {
    const session = await agent.request(methods.agent.session.new, { cwd: repo, mcpServers: [] });
    await prompt(agent, session.sessionId, "edit notes.txt again");
  });
  assert.deepEqual(plain.seen.writes, []);
  assert.match(toolOutput(mock, "call_disk"), /verification failed/);
});

test("commands run in the editor's terminal, wrapped in wright's sandbox, without the editor's env", ok, async (t) => {
  const repo = gitRepo(t);
  const mock = await startMock(t, [
    runs("call_env", "echo from-the-terminal; env"),
    { kind: "reply", items: [{ type: "message", text: "Ran it." }] },
  ]);
  const home = wrightHome(t, mock.url, WORKSPACE_ONLY);
  const { seen, run, host } = startAgent(t, home, repo, { terminal: true });
  await run(async (agent) => {
    const session = await agent.request(methods.agent.session.new, { cwd: repo, mcpServers: [] });
    const result = await prompt(agent, session.sessionId, "show the environment");
    assert.equal(result.stopReason, "end_turn", seen.stderr());
  });

  // One terminal/create: env -i, then the engine's variables, then the sandbox launcher with
  // its policy around the shell command.
  assert.equal(seen.terminals.length, 1, seen.stderr());
  const created = seen.terminals[0];
  assert.equal(created.command, "/usr/bin/env");
  assert.deepEqual(created.args.slice(0, 2), ["-i", "--"]);
  const policy = created.args.indexOf("--policy");
  assert.ok(policy > 0, `the sandbox launcher wraps the command: ${created.args.join(" ")}`);
  assert.match(created.args[policy - 1], /wright-sandbox|wright|\/proc\/\d+\/fd\/\d+/);
  assert.deepEqual(created.args.slice(-2), ["-lc", "echo from-the-terminal; env"]);
  assert.equal(created.cwd, repo);
  assert.deepEqual(seen.releases, ["term_1"], "the terminal was released");

  // The terminal is shown in the command's tool call, live and once it finished.
  const shown = updatesOf(seen, "tool_call_update").filter(
    (u) => u.toolCallId === "call_env" && (u.content ?? []).some((c) => c.type === "terminal"),
  );
  assert.ok(shown.length >= 1, "a terminal embedded in the tool call");
  assert.equal(shown.at(-1).status, "completed");

  // The model got the output; the editor's own environment did not reach the command.
  const output = toolOutput(mock, "call_env");
  assert.match(output, /Process exited with code 0/);
  assert.match(output, /from-the-terminal/);
  assert.doesNotMatch(output, new RegExp(EDITOR_SECRET));
  assert.doesNotMatch(output, new RegExp(EDITOR_ONLY));
  assert.match(output, /^PATH=/m, "the engine's variables are set");

  // Without `env -i`, this editor's terminal hands its secrets to whatever it runs.
  const leaky = host.spawnLikeAnEditor("/usr/bin/env", [], repo);
  await leaky.exited;
  assert.match(leaky.output, new RegExp(EDITOR_SECRET));
  assert.match(leaky.output, new RegExp(EDITOR_ONLY));
});

test("a delegated command is confined by the sandbox, and the same write works in full access", ok, async (t) => {
  const repo = gitRepo(t);
  const outside = tempDir(t, "outside");
  const target = path.join(outside, "escaped.txt");
  const cmd = `echo escaped > ${target}`;
  const mock = await startMock(t, [
    runs("call_confined", cmd),
    { kind: "reply", items: [{ type: "message", text: "Tried." }] },
    runs("call_free", cmd),
    { kind: "reply", items: [{ type: "message", text: "Wrote." }] },
  ]);
  const home = wrightHome(t, mock.url, WORKSPACE_ONLY);
  const { seen, run } = startAgent(t, home, repo, { terminal: true });
  await run(async (agent) => {
    const session = await agent.request(methods.agent.session.new, { cwd: repo, mcpServers: [] });
    const first = await prompt(agent, session.sessionId, "write outside");
    assert.equal(first.stopReason, "end_turn", seen.stderr());
    assert.equal(fs.existsSync(target), false, "the sandbox kept the write out");
    const denied = toolOutput(mock, "call_confined");
    assert.doesNotMatch(denied, /exited with code 0/);
    assert.match(denied, /Read-only file system|Permission denied/, "the kernel refused the write");

    await agent.request(methods.agent.session.setMode, { sessionId: session.sessionId, modeId: "full-access" });
    const second = await prompt(agent, session.sessionId, "write outside, unconfined");
    assert.equal(second.stopReason, "end_turn", seen.stderr());
  });
  // Both ran in the editor's terminal; only the confined one through the launcher.
  assert.equal(seen.terminals.length, 2);
  assert.ok(seen.terminals[0].args.includes("--policy"));
  assert.ok(!seen.terminals[1].args.includes("--policy"), "full access has no launcher");
  assert.equal(fs.readFileSync(target, "utf8"), "escaped\n", "unconfined, the same write lands");
  assert.match(toolOutput(mock, "call_free"), /exited with code 0/);
});

test("session/cancel kills and releases the editor's terminal", ok, async (t) => {
  const repo = gitRepo(t);
  const mock = await startMock(t, [runs("call_sleep", "echo sleeping; sleep 60")]);
  const home = wrightHome(t, mock.url, WORKSPACE_ONLY);
  const { seen, run } = startAgent(t, home, repo, { terminal: true });
  await run(async (agent) => {
    const session = await agent.request(methods.agent.session.new, { cwd: repo, mcpServers: [] });
    const pending = prompt(agent, session.sessionId, "sleep");
    const deadline = Date.now() + 10_000;
    while (seen.terminals.length === 0) {
      assert.ok(Date.now() < deadline, `no terminal was created: ${seen.stderr()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    await agent.notify(methods.agent.session.cancel, { sessionId: session.sessionId });
    const result = await pending;
    assert.equal(result.stopReason, "cancelled");
    const released = Date.now() + 5_000;
    while (seen.releases.length === 0) {
      assert.ok(Date.now() < released, "the terminal was never released");
      await new Promise((r) => setTimeout(r, 20));
    }
  });
  assert.deepEqual(seen.kills.slice(0, 1), ["term_1"], "the terminal was killed");
  assert.deepEqual(seen.releases, ["term_1"]);
  const term = seen.released[0];
  await term.exited;
  assert.equal(term.exitStatus.signal, "SIGKILL", "the command died with its terminal");
  assert.equal(mock.requests().length, 1, "the model was not asked again");
});

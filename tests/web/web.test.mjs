// The web UI of `wright serve` in headless Chromium against the mock model: the token, a
// thread with an approved command, its output and diff, interrupt, resume from the list, and
// two tabs (and the terminal UI) on one thread.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import {
  WRIGHT, root, startWorld, launchBrowser, openPage, tid, snapshot, message, call, patch, delay,
} from './harness.mjs';

let browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

const T = 15_000;

async function newContext() {
  return browser.newContext({ viewport: { width: 1280, height: 800 } });
}

async function send(page, text) {
  const composer = tid(page, 'composer');
  await composer.click();
  await composer.fill(text);
  await composer.press('Enter');
}

async function connected(page) {
  await tid(page, 'composer').waitFor({ state: 'visible', timeout: T });
  await page.waitForFunction(
    () => performance.getEntriesByName('wright:interactive').length > 0,
    null,
    { timeout: T },
  );
}

test('the link opens the UI once; a wrong or missing token is refused', async () => {
  const world = await startWorld([]);
  const ctx = await newContext();
  try {
    const page = await openPage(ctx, world.url);
    await connected(page);
    // The token left the address bar and the history entry.
    assert.ok(!page.url().includes('token'), page.url());
    assert.ok(!(await page.evaluate(() => location.hash)).includes('token'));
    // A reload in the same tab keeps working (the token stays in the tab's session storage).
    await page.reload();
    await connected(page);
    await snapshot(page, 'connected');

    // The same page with a wrong token: the server refuses the socket, the page says so.
    const other = await newContext();
    const wrong = await openPage(other, `http://${world.addr}/#token=${'0'.repeat(64)}`);
    await tid(wrong, 'auth-error').waitFor({ timeout: T });
    assert.match(await tid(wrong, 'auth-error').innerText(), /refused/i);
    assert.equal(await tid(wrong, 'composer').count(), 0);
    // No token at all.
    const none = await openPage(other, `http://${world.addr}/`);
    await tid(none, 'auth-error').waitFor({ timeout: T });
    assert.match(await tid(none, 'auth-error').innerText(), /wright serve/);
    await snapshot(none, 'no-token');
    await other.close();
    assert.deepEqual(page.problems, []);
  } finally {
    await ctx.close();
    world.stop();
  }
});

test('a thread: an approved command with its output, a diff, the plan, the answer', async () => {
  const world = await startWorld(
    [
      call('update_plan', { plan: [{ step: 'Write the greeting', status: 'in_progress' }, { step: 'Check it', status: 'pending' }] }, 'plan1'),
      call('exec_command', { cmd: "printf 'hi from wright\\n' && printf 'made\\n' > made.txt", justification: 'Create made.txt to start' }, 'cmd1'),
      patch('*** Begin Patch\n*** Add File: hello.txt\n+hello\n+world\n*** End Patch\n', 'patch1'),
      message('Done: **hello.txt** is written.'),
    ],
    'approval_policy = "untrusted"\nsandbox_mode = "workspace-write"',
  );
  const ctx = await newContext();
  try {
    const page = await openPage(ctx, world.url);
    await connected(page);
    await send(page, 'Write a greeting file');
    await tid(page, 'message-user').filter({ hasText: 'Write a greeting file' }).waitFor({ timeout: T });

    // The command waits for the user: the prompt shows the command, its cwd and the reason.
    const approval = tid(page, 'approval');
    await approval.waitFor({ timeout: T });
    const asked = await approval.innerText();
    assert.match(asked, /hi from wright/);
    assert.ok(asked.includes(world.repo), `cwd missing from: ${asked}`);
    assert.match(asked, /Create made\.txt to start/);
    assert.ok(!existsSync(join(world.repo, 'made.txt')), 'ran before approval');
    await snapshot(page, 'approval');
    await page.keyboard.press('y');

    // The patch asks too (untrusted); approve it with the button this time.
    await approval.filter({ hasText: 'hello.txt' }).waitFor({ timeout: T });
    await tid(page, 'approval-approve').click();

    await tid(page, 'message-agent').filter({ hasText: 'hello.txt is written' }).waitFor({ timeout: T });
    await tid(page, 'turn-status').filter({ hasText: /idle/i }).waitFor({ timeout: T });
    assert.match(await tid(page, 'command-output').first().innerText(), /hi from wright/);
    assert.equal(await tid(page, 'command').first().getAttribute('data-status'), 'completed');
    const change = tid(page, 'file-change').first();
    const diffText = await change.innerText();
    assert.match(diffText, /hello\.txt/);
    assert.match(diffText, /world/);
    assert.match(await tid(page, 'plan').innerText(), /Write the greeting/);
    // Markdown from the model is rendered, not shown raw.
    assert.equal(await tid(page, 'message-agent').last().locator('strong').count(), 1);
    assert.equal(readFileSync(join(world.repo, 'made.txt'), 'utf8'), 'made\n');
    assert.equal(readFileSync(join(world.repo, 'hello.txt'), 'utf8'), 'hello\nworld\n');

    // Side by side and unified are both offered.
    const before = await change.innerHTML();
    await tid(page, 'diff-mode-toggle').first().click();
    assert.notEqual(await change.innerHTML(), before);
    assert.match(await change.innerText(), /world/);
    await snapshot(page, 'turn-done');

    // Usage reached the status bar.
    assert.match(await tid(page, 'token-usage').innerText(), /\d/);
    assert.deepEqual(page.problems, []);
  } finally {
    await ctx.close();
    world.stop();
  }
});

test('Escape interrupts a running turn and the thread goes on', async () => {
  const world = await startWorld([delay(60_000, message('too late')), message('after the interrupt')]);
  const ctx = await newContext();
  try {
    const page = await openPage(ctx, world.url);
    await connected(page);
    await send(page, 'Take your time');
    await tid(page, 'turn-status').filter({ hasText: /running/i }).waitFor({ timeout: T });
    const started = Date.now();
    await page.keyboard.press('Escape');
    await tid(page, 'turn-status').filter({ hasText: /idle|interrupted/i }).waitFor({ timeout: 5_000 });
    assert.ok(Date.now() - started < 5_000);
    assert.equal(await tid(page, 'message-agent').filter({ hasText: 'too late' }).count(), 0);
    await send(page, 'Go on');
    try {
      await tid(page, 'message-agent').filter({ hasText: 'after the interrupt' }).waitFor({ timeout: T });
    } catch (e) {
      // Rare in CI: say what the model got, what the page saw and what the server said.
      const toasts = await page.locator('.toast').allInnerTexts().catch(() => []);
      console.log('the turn after the interrupt did not answer:', JSON.stringify({
        requests: world.requests().map((r) => (r.body.input || []).slice(-2)),
        problems: page.problems,
        toasts,
        server: world.serveStderr(),
      }));
      throw e;
    }
    assert.deepEqual(page.problems, []);
  } finally {
    await ctx.close();
    world.stop();
  }
});

test('resume a thread from the list in a new tab', async () => {
  const world = await startWorld([message('the first answer')]);
  const ctx = await newContext();
  try {
    const page = await openPage(ctx, world.url);
    await connected(page);
    await send(page, 'Remember this question');
    await tid(page, 'message-agent').filter({ hasText: 'the first answer' }).waitFor({ timeout: T });
    await page.close();

    const fresh = await openPage(ctx, world.url);
    await connected(fresh);
    const item = tid(fresh, 'thread-item').filter({ hasText: 'Remember this question' });
    await item.waitFor({ timeout: T });
    await item.click();
    await tid(fresh, 'message-user').filter({ hasText: 'Remember this question' }).waitFor({ timeout: T });
    await tid(fresh, 'message-agent').filter({ hasText: 'the first answer' }).waitFor({ timeout: T });
    await snapshot(fresh, 'resumed');
    assert.deepEqual(fresh.problems, []);
  } finally {
    await ctx.close();
    world.stop();
  }
});

test('two tabs on one thread both see every turn as it streams', async () => {
  const world = await startWorld([
    message('answer one'),
    delay(300, message('answer two, started in tab A')),
    message('answer three, started in tab B'),
  ]);
  const ctx = await newContext();
  try {
    const a = await openPage(ctx, world.url);
    await connected(a);
    await send(a, 'first from A');
    await tid(a, 'message-agent').filter({ hasText: 'answer one' }).waitFor({ timeout: T });

    const b = await openPage(ctx, world.url);
    await connected(b);
    await tid(b, 'thread-item').filter({ hasText: 'first from A' }).click({ timeout: T });
    await tid(b, 'message-agent').filter({ hasText: 'answer one' }).waitFor({ timeout: T });

    await send(a, 'second from A');
    // B sees A's turn: the user's message, the running state, the answer.
    await tid(b, 'message-user').filter({ hasText: 'second from A' }).waitFor({ timeout: T });
    await tid(b, 'message-agent').filter({ hasText: 'answer two, started in tab A' }).waitFor({ timeout: T });

    await send(b, 'third from B');
    await tid(a, 'message-user').filter({ hasText: 'third from B' }).waitFor({ timeout: T });
    await tid(a, 'message-agent').filter({ hasText: 'answer three, started in tab B' }).waitFor({ timeout: T });
    await snapshot(b, 'two-tabs');
    assert.deepEqual([...a.problems, ...b.problems], []);
  } finally {
    await ctx.close();
    world.stop();
  }
});

test('the terminal UI attached with --connect and a tab drive the same thread', async () => {
  const world = await startWorld([
    message('answer one'),
    delay(300, message('answer two, from the browser')),
    message('answer three, from the terminal'),
  ]);
  const ctx = await newContext();
  const socket = `wright-web-${process.pid}`;
  const tmux = (...args) => {
    const r = spawnSync('tmux', ['-L', socket, ...args], { encoding: 'utf8', env: world.env });
    if (r.status !== 0) throw new Error(`tmux ${args[0]}: ${r.stderr}`);
    return r.stdout;
  };
  const screen = async (text) => {
    const until = Date.now() + T;
    let last = '';
    while (Date.now() < until) {
      last = tmux('capture-pane', '-p', '-J', '-t', 'tui');
      if (last.includes(text)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`the terminal never showed ${JSON.stringify(text)}:\n${last}`);
  };
  try {
    const page = await openPage(ctx, world.url);
    await connected(page);
    await send(page, 'first from the browser');
    await tid(page, 'message-agent').filter({ hasText: 'answer one' }).waitFor({ timeout: T });
    const id = await tid(page, 'thread-item').first().getAttribute('data-thread-id');
    assert.ok(id, 'thread-item has no data-thread-id');

    tmux('new-session', '-d', '-s', 'tui', '-x', '120', '-y', '40',
      `${WRIGHT} resume ${id} --connect ws://${world.addr} --token-file ${world.tokenFile}`);
    await screen('answer one');
    await send(page, 'second from the browser');
    await screen('answer two, from the browser');

    tmux('send-keys', '-t', 'tui', '-l', 'third from the terminal');
    tmux('send-keys', '-t', 'tui', 'Enter');
    await tid(page, 'message-user').filter({ hasText: 'third from the terminal' }).waitFor({ timeout: T });
    await tid(page, 'message-agent').filter({ hasText: 'answer three, from the terminal' }).waitFor({ timeout: T });
    await screen('answer three, from the terminal');
    assert.deepEqual(page.problems, []);
  } finally {
    spawnSync('tmux', ['-L', socket, 'kill-server']);
    await ctx.close();
    world.stop();
  }
});

test('keyboard only, at phone width', async () => {
  const world = await startWorld([message('small screens work')]);
  const ctx = await browser.newContext({ viewport: { width: 375, height: 740 }, hasTouch: true });
  try {
    const page = await openPage(ctx, world.url);
    await connected(page);
    // Nothing wider than the screen.
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the page is ${overflow}px wider than the screen`);
    // Tab reaches the composer without a mouse, and Enter sends.
    await page.keyboard.press('Escape');
    for (let i = 0; i < 40; i++) {
      if (await page.evaluate(() => document.activeElement?.dataset?.testid === 'composer')) break;
      await page.keyboard.press('Tab');
    }
    assert.equal(await page.evaluate(() => document.activeElement?.dataset?.testid), 'composer');
    await page.keyboard.type('hello from a phone');
    await page.keyboard.press('Enter');
    await tid(page, 'message-agent').filter({ hasText: 'small screens work' }).waitFor({ timeout: T });
    await snapshot(page, 'phone');
    assert.deepEqual(page.problems, []);
  } finally {
    await ctx.close();
    world.stop();
  }
});

test('an approval is put to every tab on the thread; the first answer closes it everywhere', async () => {
  const world = await startWorld(
    [
      // Not a known-safe command, so `untrusted` asks.
      call('exec_command', { cmd: "python3 -c \"print('approved in tab B')\"", justification: 'Show who answered' }, 'cmd1'),
      message('ran it'),
    ],
    'approval_policy = "untrusted"\nsandbox_mode = "workspace-write"',
  );
  const ctx = await newContext();
  try {
    const a = await openPage(ctx, world.url);
    await connected(a);
    await send(a, 'run something');
    await tid(a, 'approval').waitFor({ timeout: T });
    // B opens the thread while the question waits: it is asked too.
    const b = await openPage(ctx, world.url);
    await connected(b);
    await tid(b, 'thread-item').filter({ hasText: 'run something' }).click({ timeout: T });
    await tid(b, 'approval').waitFor({ timeout: T });
    assert.match(await tid(b, 'approval').innerText(), /Show who answered/);
    await b.keyboard.press('y');
    await tid(a, 'approval').waitFor({ state: 'detached', timeout: T });
    for (const page of [a, b]) {
      await tid(page, 'message-agent').filter({ hasText: 'ran it' }).waitFor({ timeout: T });
      assert.match(await tid(page, 'command-output').first().innerText(), /approved in tab B/);
    }
    assert.deepEqual([...a.problems, ...b.problems], []);
  } finally {
    await ctx.close();
    world.stop();
  }
});

test('an MCP tool call is put to the user and runs once allowed', async () => {
  const server = join(root, 'tests/mcp/broken_server.py');
  const world = await startWorld(
    // The model waits a moment, so the server is ready when it calls.
    [delay(1500, call('mcp__tracker__ok', {}, 'mcp1')), message('The tool said fine.')],
    'approval_policy = "on-request"\nsandbox_mode = "workspace-write"\n' +
      `[mcp_servers.tracker]\ncommand = "python3"\nargs = ["${server}", "ok"]\n` +
      'default_tools_approval_mode = "prompt"',
  );
  const ctx = await newContext();
  try {
    const page = await openPage(ctx, world.url);
    await connected(page);
    await send(page, 'Use the tracker');
    const approval = tid(page, 'approval');
    await approval.waitFor({ timeout: T });
    assert.equal(await approval.getAttribute('data-kind'), 'mcpTool');
    assert.match(await tid(page, 'approval-question').innerText(), /Allow the tracker MCP server to run tool "ok"\?/);
    // Nothing went to the server before the answer.
    const answered = () =>
      world.requests().some((r) => (r.body.input ?? []).some((i) => i.call_id === 'mcp1' && i.type === 'function_call_output'));
    assert.ok(!answered(), 'the call was answered before approval');
    await page.keyboard.press('y');
    await tid(page, 'message-agent').filter({ hasText: 'The tool said fine.' }).waitFor({ timeout: T });
    const last = world.requests().filter((r) => r.path.endsWith('/responses')).at(-1);
    const output = last.body.input.find((i) => i.call_id === 'mcp1' && i.type === 'function_call_output');
    assert.equal(output.output[1].text, 'fine');
    assert.deepEqual(page.problems, []);
  } finally {
    await ctx.close();
    world.stop();
  }
});

test('thread actions from the list: rename, fork, archive, delete', async () => {
  const world = await startWorld([message('the original answer')]);
  const ctx = await newContext();
  try {
    const page = await openPage(ctx, world.url);
    await connected(page);
    await send(page, 'Original question');
    await tid(page, 'message-agent').filter({ hasText: 'the original answer' }).waitFor({ timeout: T });
    const items = tid(page, 'thread-item');
    const act = async (row, what) => {
      await row.locator('[data-testid="thread-actions"] summary').click();
      await row.locator(`[data-testid="${what}"]`).click();
    };

    await act(items.first(), 'rename');
    await tid(page, 'rename-input').fill('Renamed thread');
    await tid(page, 'rename-input').press('Enter');
    await items.filter({ hasText: 'Renamed thread' }).waitFor({ timeout: T });

    await act(items.first(), 'fork');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="thread-item"]').length === 2, null, { timeout: T });

    // Stored, not just drawn: a fresh tab lists both, the first under its new name.
    const fresh = await openPage(ctx, world.url);
    await connected(fresh);
    await tid(fresh, 'thread-item').filter({ hasText: 'Renamed thread' }).first().waitFor({ timeout: T });
    assert.equal(await tid(fresh, 'thread-item').count(), 2);
    await fresh.close();

    const forkId = await items.first().getAttribute('data-thread-id');
    await act(items.first(), 'archive');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="thread-item"]').length === 1, null, { timeout: T });
    assert.notEqual(await items.first().getAttribute('data-thread-id'), forkId);
    await act(items.first(), 'delete');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="thread-item"]').length === 0, null, { timeout: T });
    const again = await openPage(ctx, world.url);
    await connected(again);
    await again.waitForTimeout(500);
    assert.equal(await tid(again, 'thread-item').count(), 0, 'archived or deleted threads came back');
    assert.deepEqual(page.problems, []);
  } finally {
    await ctx.close();
    world.stop();
  }
});

test('the composer: @ mentions, an attached image, and the pickers reach the model; the file view', async () => {
  const world = await startWorld([
    patch('*** Begin Patch\n*** Update File: README.md\n@@\n-A small repository.\n+A small, changed repository.\n*** End Patch\n', 'p1'),
    message('looked at it'),
  ]);
  const ctx = await newContext();
  try {
    const page = await openPage(ctx, world.url);
    await connected(page);
    await tid(page, 'approval-picker').selectOption('never');
    await tid(page, 'sandbox-picker').selectOption('workspace-write');
    const composer = tid(page, 'composer');
    await composer.click();
    await page.keyboard.type('Explain @READ');
    await page.locator('[role="option"]').filter({ hasText: 'README.md' }).first().waitFor({ timeout: T });
    await page.keyboard.press('Tab');
    assert.match(await composer.inputValue(), /README\.md/);
    // A 1x1 PNG, attached with the file picker.
    const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==', 'base64');
    await page.locator('input[type="file"]').setInputFiles({ name: 'dot.png', mimeType: 'image/png', buffer: png });
    await composer.press('Enter');
    await tid(page, 'message-agent').filter({ hasText: 'looked at it' }).waitFor({ timeout: T });
    const first = JSON.stringify(world.requests().find((r) => r.path.endsWith('/responses'))?.body ?? '');
    assert.match(first, /Explain @?README\.md/);
    assert.match(first, /data:image\/png;base64,iVBORw0KGgo/);
    assert.match(first, /approval_policy[^a-z]*never/);
    // The file view marks what the turn changed and shows it.
    if (!(await tid(page, 'file-view').isVisible())) await tid(page, 'file-view-toggle').click();
    const changed = tid(page, 'changed-files');
    await changed.filter({ hasText: 'README.md' }).waitFor({ timeout: T });
    assert.equal(readFileSync(join(world.repo, 'README.md'), 'utf8'), '# demo\n\nA small, changed repository.\n');
    assert.deepEqual(page.problems, []);
  } finally {
    await ctx.close();
    world.stop();
  }
});

const storageQuestion = {
  id: 'storage',
  header: 'Storage',
  question: 'Where should sessions be kept?',
  options: [
    { label: 'SQLite (Recommended)', description: 'One file, no server.' },
    { label: 'Postgres', description: 'Needs a server.' },
  ],
};

/** What the model was told for call `callId`, from the mock's request log. */
function outputOf(world, callId) {
  const responses = world.requests().filter((r) => r.path.endsWith('/responses'));
  for (const r of responses) {
    const out = (r.body.input ?? []).find((i) => i.type === 'function_call_output' && i.call_id === callId);
    if (out) return out.output;
  }
  return undefined;
}

test("the model's question is put to the user in a picker and the answer reaches it", async () => {
  const world = await startWorld([
    call('request_user_input', { questions: [storageQuestion] }, 'ask1'),
    message('Postgres it is.'),
  ]);
  const ctx = await newContext();
  try {
    const page = await openPage(ctx, world.url);
    await connected(page);
    await send(page, 'Set up session storage');
    const picker = tid(page, 'questions');
    await picker.waitFor({ timeout: T });
    // Not an approval: no yes or no, the question and its options.
    assert.equal(await tid(page, 'approval').count(), 0);
    assert.equal(await tid(page, 'question-header').innerText(), 'Storage');
    assert.equal(await tid(page, 'question-text').innerText(), 'Where should sessions be kept?');
    const options = tid(page, 'question-option');
    assert.equal(await options.count(), 2);
    assert.match(await options.nth(0).innerText(), /SQLite \(Recommended\)\s+One file, no server\./);
    assert.match(await options.nth(1).innerText(), /Postgres\s+Needs a server\./);
    // wright offers a free-form answer with every question of the model's (isOther).
    assert.match(await tid(page, 'question-other').innerText(), /Other/);
    assert.equal(outputOf(world, 'ask1'), undefined, 'the call was answered before the user picked');
    await snapshot(page, 'questions');
    await options.filter({ hasText: 'Postgres' }).click();
    await picker.waitFor({ state: 'detached', timeout: T });
    await tid(page, 'message-agent').filter({ hasText: 'Postgres it is.' }).waitFor({ timeout: T });
    const responses = world.requests().filter((r) => r.path.endsWith('/responses'));
    assert.equal(responses.length, 2);
    const output = responses[1].body.input.find((i) => i.type === 'function_call_output' && i.call_id === 'ask1');
    assert.equal(output?.output, '{"answers":{"storage":{"answers":["Postgres"]}}}');
    assert.deepEqual(page.problems, []);
  } finally {
    await ctx.close();
    world.stop();
  }
});

test("the model's questions by keyboard: arrows, a typed Other, one reply; Esc dismisses", async () => {
  const nameQuestion = {
    id: 'name',
    header: 'Name',
    question: 'What should the crate be called?',
    options: [
      { label: 'wright-store', description: 'Matches the other crates.' },
      { label: 'sessions', description: 'Short.' },
    ],
  };
  const world = await startWorld([
    call('request_user_input', { questions: [storageQuestion, nameQuestion] }, 'ask1'),
    call('request_user_input', { questions: [storageQuestion] }, 'ask2'),
    message('Done asking.'),
  ]);
  const ctx = await newContext();
  try {
    const page = await openPage(ctx, world.url);
    await connected(page);
    await send(page, 'Ask me twice');
    await tid(page, 'question-header').filter({ hasText: 'Storage' }).waitFor({ timeout: T });
    assert.equal(await tid(page, 'question-progress').innerText(), '1 of 2');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    // The second question; 3 is "Other", whose field takes digits and j/k as text.
    await tid(page, 'question-header').filter({ hasText: 'Name' }).waitFor({ timeout: T });
    assert.equal(outputOf(world, 'ask1'), undefined, 'replied before the last question');
    await page.keyboard.press('3');
    await tid(page, 'question-other-input').waitFor({ timeout: T });
    await page.keyboard.type('store-kit 2');
    await page.keyboard.press('Enter');
    // The next request's question: Esc dismisses it, with no answers at all.
    await tid(page, 'question-header').filter({ hasText: 'Storage' }).waitFor({ timeout: T });
    assert.equal(await tid(page, 'question-progress').count(), 0);
    await page.keyboard.press('Escape');
    await tid(page, 'message-agent').filter({ hasText: 'Done asking.' }).waitFor({ timeout: T });
    assert.equal(
      outputOf(world, 'ask1'),
      '{"answers":{"name":{"answers":["store-kit 2"]},"storage":{"answers":["Postgres"]}}}',
    );
    assert.match(outputOf(world, 'ask2') ?? '', /dismissed the questions/);
    // Esc went to the questions, not to interrupting the turn.
    assert.equal(await tid(page, 'message-agent').filter({ hasText: 'Done asking.' }).count(), 1);
    assert.deepEqual(page.problems, []);
  } finally {
    await ctx.close();
    world.stop();
  }
});

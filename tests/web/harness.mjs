// Shared parts of the browser tests: the mock model, `wright serve`, Chromium, screenshots.
import { spawn } from 'node:child_process';
import { writeFileSync, mkdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';
import { PNG } from 'pngjs';
import pixelmatch from 'pixelmatch';
import { REPO_ROOT, WRIGHT_BIN, gitRepo, tempDir, startMock } from '../common/fixtures.mjs';

export const root = REPO_ROOT;
export const WRIGHT = WRIGHT_BIN;
const CHROMIUM = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';
export const ARTIFACTS = process.env.WRIGHT_WEB_ARTIFACTS ?? join(root, 'target/web-artifacts');
const BASELINES = join(root, 'tests/web/baseline');

// What each world must undo (processes, directories): run by `stop()`, or at exit for a
// world whose test died first.
const worlds = new Set();
process.on('exit', () => worlds.forEach((undo) => undo()));

/** A node:test-like scope for the shared fixtures: `after(fn)` until `undo()`. */
function scope() {
  const pending = [];
  const undo = () => {
    worlds.delete(undo);
    pending.splice(0).reverse().forEach((fn) => fn());
  };
  worlds.add(undo);
  return { after: (fn) => pending.push(fn), undo };
}

/** The first stdout line of a child (a URL), or the child's stderr if it dies first. */
function firstLine(child, what) {
  return new Promise((ok, fail) => {
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const rl = createInterface({ input: child.stdout });
    rl.once('line', (line) => ok({ line: line.trim(), stderr: () => stderr }));
    child.once('exit', (code) => fail(new Error(`${what} exited (${code}) before printing its URL:\n${stderr}`)));
  });
}

/**
 * A fresh world: a git repo, a WRIGHT_HOME whose config points at a mock model playing
 * `steps`, and `wright serve` on a free port. `config` adds top-level config.toml lines.
 */
export async function startWorld(steps, config = '') {
  const world = scope();
  const dir = tempDir(world, 'web');
  const repo = gitRepo(world, 'web-repo');
  const home = join(dir, 'home');
  mkdirSync(home);
  writeFileSync(join(repo, 'README.md'), '# demo\n\nA small repository.\n');
  const mock = await startMock(world, steps);
  writeFileSync(
    join(home, 'config.toml'),
    `model_provider = "mock"\nmodel = "mock-model"\n${config}\n` +
      `[model_providers.mock]\nname = "mock"\nbase_url = "${mock.url}"\nwire_api = "responses"\n`,
  );
  const tokenFile = join(dir, 'token');
  const env = { ...process.env, WRIGHT_HOME: home, HOME: home, SHELL: '/bin/bash' };
  delete env.OPENAI_API_KEY;
  const serve = spawn(WRIGHT, ['serve', '--token-file', tokenFile], {
    cwd: repo,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  world.after(() => serve.kill('SIGKILL'));
  const { line: url, stderr } = await firstLine(serve, 'wright serve');
  const m = url.match(/^http:\/\/(127\.0\.0\.1:\d+)\/#token=([0-9a-f]{64})$/);
  if (!m) throw new Error(`unexpected link: ${url}`);
  return {
    dir, repo, home, url, addr: m[1], token: m[2], tokenFile, env, serveStderr: stderr,
    requests: mock.requests,
    stop() {
      serve.kill('SIGTERM');
      world.undo();
    },
  };
}

/** Headless Chromium (Debian's), or a clear failure naming what is missing. */
export async function launchBrowser() {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install chromium (or set CHROMIUM_BIN)`);
  }
  // Chromium's own sandbox needs user namespaces that CI containers (as root) lack.
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
}

/** A page whose console errors and uncaught exceptions fail the test at the end. */
export async function openPage(context, url) {
  const page = await context.newPage();
  page.problems = [];
  page.on('pageerror', (e) => page.problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    // A refused WebSocket logs a network error by design (the token tests).
    if (m.type() === 'error' && !/WebSocket|401|403/.test(m.text())) page.problems.push(`console: ${m.text()}`);
  });
  if (url) await page.goto(url);
  return page;
}

export const tid = (page, id) => page.locator(`[data-testid="${id}"]`);

/**
 * Saves a screenshot as a CI artefact and compares it loosely with the committed baseline:
 * same size, and at most `tolerance` of the pixels differ (paths, ids and times change).
 * WRIGHT_UPDATE_BASELINES=1 writes the baseline instead.
 */
export async function snapshot(page, name, tolerance = 0.1) {
  mkdirSync(ARTIFACTS, { recursive: true });
  const file = join(ARTIFACTS, `${name}.png`);
  const buf = await page.screenshot({ path: file, animations: 'disabled', caret: 'hide' });
  const baseline = join(BASELINES, `${name}.png`);
  if (process.env.WRIGHT_UPDATE_BASELINES === '1') {
    mkdirSync(BASELINES, { recursive: true });
    writeFileSync(baseline, buf);
    return;
  }
  if (!existsSync(baseline)) {
    throw new Error(`no baseline ${baseline}: run with WRIGHT_UPDATE_BASELINES=1 and commit it`);
  }
  const a = PNG.sync.read(buf);
  const b = PNG.sync.read(readFileSync(baseline));
  if (a.width !== b.width || a.height !== b.height) {
    throw new Error(`${name}: ${a.width}x${a.height}, baseline ${b.width}x${b.height} (${file})`);
  }
  const diff = new PNG({ width: a.width, height: a.height });
  const changed = pixelmatch(a.data, b.data, diff.data, a.width, a.height, { threshold: 0.2 });
  const share = changed / (a.width * a.height);
  if (share > tolerance) {
    writeFileSync(join(ARTIFACTS, `${name}.diff.png`), PNG.sync.write(diff));
    throw new Error(`${name}: ${(share * 100).toFixed(1)}% of pixels differ from the baseline (see ${file})`);
  }
}

// Mock model steps (the Responses stream the mock plays for request i).
export const message = (text) => ({ kind: 'reply', items: [{ type: 'message', text }] });
export const call = (name, args, callId) => ({
  kind: 'reply',
  items: [{ type: 'function_call', name, arguments: JSON.stringify(args), call_id: callId }],
});
export const patch = (input, callId) => ({
  kind: 'reply',
  items: [{ type: 'custom_tool_call', name: 'apply_patch', input, call_id: callId }],
});
export const delay = (ms, then) => ({ kind: 'delay', ms, then });

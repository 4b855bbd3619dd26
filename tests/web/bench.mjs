// Figures for the web UI (`npm run bench` in tests/web; binaries and web/dist built first):
// page load to interactive, model delta to pixel, bundle size (gzipped), and a tab's memory
// after a 200-step thread. Prints one line per figure with its target.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { root, startWorld, launchBrowser, openPage, tid, message, call } from './harness.mjs';

const STEPS = Number(process.env.STEPS ?? 200);

function files(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

function quantile(xs, q) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

const dist = join(root, 'web/dist');
const shipped = files(dist).filter((f) => !f.endsWith('.map'));
const gz = shipped.reduce((n, f) => n + gzipSync(readFileSync(f), { level: 9 }).length, 0);
const raw = shipped.reduce((n, f) => n + statSync(f).size, 0);
console.log(`bundle: ${(gz / 1024).toFixed(1)} KB gzipped (${(raw / 1024).toFixed(1)} KB raw, ${shipped.length} files); target < 300 KB`);

// One turn of STEPS model steps: commands with a few lines of output each, then an answer
// long enough to stream in pieces.
const steps = [];
for (let i = 0; i < STEPS - 1; i++) {
  const { items } = call('exec_command', { cmd: `printf 'step ${i}\\nline two\\nline three\\n'` }, `c${i}`);
  // A short message before each call, streamed in pieces: the deltas measured.
  steps.push({ kind: 'reply', items: [{ type: 'message', text: `Now step ${i}: printing three lines.` }, ...items] });
}
steps.push(message('All steps done. '.repeat(40)));
const world = await startWorld(steps, 'approval_policy = "never"\nsandbox_mode = "workspace-write"');
const browser = await launchBrowser();
try {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const loads = [];
  for (let i = 0; i < 12; i++) {
    const page = await ctx.newPage();
    await page.goto(world.url, { waitUntil: 'commit' });
    // Nothing is evaluated in the page while it loads: Playwright's injected script would
    // compete with the page's own work on its main thread.
    await new Promise((r) => setTimeout(r, 1500));
    const t = await page.evaluate(() => performance.getEntriesByName('wright:interactive')[0]?.startTime);
    if (t === undefined) throw new Error('the page never became interactive');
    // The first two warm Chromium up.
    if (i >= 2) loads.push(t);
    await page.close();
  }
  console.log(`page load to interactive: median ${quantile(loads, 0.5).toFixed(0)} ms, p90 ${quantile(loads, 0.9).toFixed(0)} ms over ${loads.length} loads (connected, composer usable); target < 300 ms`);

  const page = await openPage(ctx, world.url);
  await tid(page, 'composer').waitFor();
  const cdp = await ctx.newCDPSession(page);
  await cdp.send('Performance.enable');
  const metric = async (name) => (await cdp.send('Performance.getMetrics')).metrics.find((m) => m.name === name)?.value ?? 0;
  await cdp.send('HeapProfiler.collectGarbage');
  const heapBefore = await metric('JSHeapUsedSize');
  const started = Date.now();
  await tid(page, 'composer').fill('Run the steps');
  await tid(page, 'composer').press('Enter');
  await tid(page, 'message-agent').filter({ hasText: 'All steps done.' }).waitFor({ timeout: 600_000 });
  await tid(page, 'turn-status').filter({ hasText: /idle/i }).waitFor({ timeout: 60_000 });
  const turnMs = Date.now() - started;
  const deltas = await page.evaluate(() => window.__wrightPerf?.deltaToPaintMs ?? []);
  if (deltas.length) {
    console.log(`model delta to pixel: p50 ${quantile(deltas, 0.5).toFixed(1)} ms, p95 ${quantile(deltas, 0.95).toFixed(1)} ms, max ${Math.max(...deltas).toFixed(1)} ms over ${deltas.length} deltas; target < 50 ms`);
  } else {
    console.log('model delta to pixel: no deltas recorded (window.__wrightPerf missing)');
  }
  await cdp.send('HeapProfiler.collectGarbage');
  const heap = await metric('JSHeapUsedSize');
  const nodes = await metric('Nodes');
  console.log(`tab after a ${STEPS}-step thread (${turnMs} ms): JS heap ${(heap / 1048576).toFixed(1)} MB (${(heapBefore / 1048576).toFixed(1)} MB before), ${nodes} DOM nodes`);
  await ctx.close();
} finally {
  await browser.close();
  world.stop();
}

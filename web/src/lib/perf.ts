// Bench hooks: `wright:interactive` once the composer is usable, and for every
// `item/agentMessage/delta` the time from receipt to the frame that shows it.

declare global {
  interface Window {
    __wrightPerf: { deltaToPaintMs: number[] };
  }
}

window.__wrightPerf = window.__wrightPerf ?? { deltaToPaintMs: [] };

let marked = false;
export function markInteractive(): void {
  if (marked) return;
  marked = true;
  performance.mark('wright:interactive');
}

let waiting: number[] = [];
let scheduled = false;
const channel = new MessageChannel();
let afterPaint: number[] = [];
channel.port1.onmessage = () => {
  const now = performance.now();
  const out = window.__wrightPerf.deltaToPaintMs;
  for (const t of afterPaint) out.push(now - t);
  afterPaint = [];
  // Bounded: a bench reads it; a long session must not grow it forever.
  if (out.length > 100_000) out.splice(0, out.length - 50_000);
};

/**
 * Call when a delta arrives (before applying it); resolves after Svelte's update, the next
 * animation frame, and the paint that follows it (a message posted from the frame callback
 * runs after the frame is drawn).
 */
export function deltaReceived(t0: number, flush: () => Promise<void>): void {
  waiting.push(t0);
  if (scheduled) return;
  scheduled = true;
  void flush().then(() => {
    requestAnimationFrame(() => {
      afterPaint = afterPaint.concat(waiting);
      waiting = [];
      scheduled = false;
      channel.port2.postMessage(0);
    });
  });
}

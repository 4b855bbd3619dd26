// Streamed text (agent messages, reasoning, command output) kept outside Svelte's
// reactivity: a delta appends one text node to the DOM (O(delta)), instead of re-rendering
// the whole text.

type Listener = (delta: string, reset: boolean) => void;

export class Stream {
  text = '';
  private listeners = new Set<Listener>();

  /** `cap`: keep only about the last `cap` characters (command output). */
  constructor(
    initial = '',
    private readonly cap = 0,
  ) {
    this.text = initial;
    this.trim();
  }

  append(delta: string): void {
    if (!delta) return;
    this.text += delta;
    if (this.trim()) this.emit('', true);
    else this.emit(delta, false);
  }

  set(text: string): void {
    if (text === this.text) return;
    this.text = text;
    this.trim();
    this.emit('', true);
  }

  get truncated(): boolean {
    return this.cut;
  }

  subscribe(fn: Listener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private cut = false;

  /** Drops the head once the text is a quarter over the cap (amortised O(1) per char). */
  private trim(): boolean {
    if (this.cap > 0 && this.text.length > this.cap * 1.25) {
      let start = this.text.length - this.cap;
      const nl = this.text.indexOf('\n', start);
      if (nl !== -1 && nl - start < 4096) start = nl + 1;
      this.text = this.text.slice(start);
      this.cut = true;
      return true;
    }
    return false;
  }

  private emit(delta: string, reset: boolean): void {
    for (const fn of this.listeners) fn(delta, reset);
  }
}

/** Svelte action: the node shows the stream's text and follows its deltas. */
export function streamText(node: HTMLElement, stream: Stream) {
  let unsub = attach(stream);
  function attach(s: Stream) {
    node.textContent = s.text;
    return s.subscribe((delta, reset) => {
      if (reset) node.textContent = s.text;
      else node.appendChild(document.createTextNode(delta));
    });
  }
  return {
    update(next: Stream) {
      if (next === stream) return;
      unsub();
      stream = next;
      unsub = attach(next);
    },
    destroy() {
      unsub();
    },
  };
}

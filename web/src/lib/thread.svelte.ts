// The open thread as the UI shows it: turns and their items, built from `thread/resume`
// (or start/fork) and kept current from notifications — including turns other clients
// started, which arrive only as notifications.

import type {
  AskForApproval,
  SandboxMode,
  SandboxPolicy,
  ServerNotification,
  Thread,
  ThreadItem,
  ThreadStartResponse,
  ThreadStatus,
  ThreadTokenUsage,
  Turn,
  TurnError,
  TurnPlanStep,
  TurnStatus,
} from '../generated/wright_app_server_protocol';
import { Stream } from './stream';

/** Kept of one command's output (the tail). */
export const OUTPUT_CAP = 256 * 1024;

export type ItemOf<T extends ThreadItem['type']> = Extract<ThreadItem, { type: T }>;

export class ItemView {
  item = $state.raw<ThreadItem>() as ThreadItem;
  /** Agent message text / reasoning summary / command output, streamed. */
  stream: Stream | null = null;
  /** An agent message still streaming (rendered as plain text until completed). */
  streaming = $state(false);
  done = $state(false);
  private summaryParts = 0;

  constructor(
    readonly id: string,
    readonly turnId: string,
    item: ThreadItem,
    done: boolean,
  ) {
    this.item = item;
    this.done = done;
    this.sync(item, done);
  }

  update(item: ThreadItem, done: boolean): void {
    this.item = item;
    if (done) this.done = true;
    this.sync(item, this.done);
  }

  private sync(item: ThreadItem, done: boolean): void {
    switch (item.type) {
      case 'agentMessage':
        this.stream ??= new Stream(item.text);
        if (done || item.text.length >= this.stream.text.length) this.stream.set(item.text);
        this.streaming = !done;
        break;
      case 'reasoning': {
        const text = (item.summary ?? []).join('\n\n');
        this.stream ??= new Stream(text);
        if (done || text.length >= this.stream.text.length) this.stream.set(text);
        this.summaryParts = Math.max(this.summaryParts, item.summary?.length ?? 0);
        break;
      }
      case 'commandExecution':
        this.stream ??= new Stream(item.aggregatedOutput ?? '', OUTPUT_CAP);
        if (item.aggregatedOutput != null && (done || item.aggregatedOutput.length >= this.stream.text.length))
          this.stream.set(item.aggregatedOutput);
        break;
    }
  }

  appendText(delta: string): void {
    this.stream ??= new Stream('', this.item.type === 'commandExecution' ? OUTPUT_CAP : 0);
    this.stream.append(delta);
  }

  appendSummary(delta: string, index: number): void {
    this.stream ??= new Stream();
    if (index >= this.summaryParts) {
      if (this.stream.text) this.stream.append('\n\n');
      this.summaryParts = index + 1;
    }
    this.stream.append(delta);
  }
}

export class TurnView {
  items = $state<ItemView[]>([]);
  status = $state<TurnStatus>('inProgress');
  error = $state.raw<TurnError | null>(null);
  diff = $state('');
  plan = $state.raw<TurnPlanStep[] | null>(null);
  explanation = $state<string | null>(null);
  durationMs = $state<number | null>(null);

  constructor(readonly id: string) {}
}

export interface ThreadSettings {
  model: string;
  approval: string;
  sandbox: SandboxMode | '';
}

export function sandboxModeOf(p: SandboxPolicy | null | undefined): SandboxMode | '' {
  switch (p?.type) {
    case 'readOnly':
      return 'read-only';
    case 'workspaceWrite':
      return 'workspace-write';
    case 'dangerFullAccess':
      return 'danger-full-access';
    default:
      return '';
  }
}

export function sandboxPolicyOf(mode: SandboxMode): SandboxPolicy {
  switch (mode) {
    case 'read-only':
      return { type: 'readOnly' };
    case 'workspace-write':
      return { type: 'workspaceWrite' };
    case 'danger-full-access':
      return { type: 'dangerFullAccess' };
  }
}

export function approvalName(p: AskForApproval | null | undefined): string {
  if (!p) return '';
  return typeof p === 'string' ? p : 'granular';
}

/** Called for every agent-message delta (the bench hook). */
export type DeltaHook = (t0: number) => void;

export class ThreadView {
  thread = $state.raw<Thread>() as Thread;
  cwd = $state('');
  turns = $state<TurnView[]>([]);
  status = $state.raw<ThreadStatus>({ type: 'idle' });
  usage = $state.raw<ThreadTokenUsage | null>(null);
  /** What the server has for the thread (from start/resume and the turns we started). */
  settings = $state<ThreadSettings>({ model: '', approval: '', sandbox: '' });
  loading = $state(true);
  /** Notifications that arrived while `thread/resume` was in flight. */
  private buffer: ServerNotification[] | null = [];
  private turnIndex = new Map<string, TurnView>();
  private itemIndex = new Map<string, ItemView>();

  constructor(
    readonly id: string,
    private readonly onDelta: DeltaHook,
  ) {}

  get running(): TurnView | undefined {
    for (let i = this.turns.length - 1; i >= 0; i--) {
      if (this.turns[i].status === 'inProgress') return this.turns[i];
    }
    return undefined;
  }

  get waitingOnApproval(): boolean {
    return this.status.type === 'active' && this.status.activeFlags.includes('waitingOnApproval');
  }

  /** Fills the view from a start/resume/fork answer, then replays what arrived meanwhile. */
  load(res: ThreadStartResponse): void {
    this.thread = res.thread;
    this.cwd = res.cwd;
    this.status = res.thread.status;
    this.settings = {
      model: res.model,
      approval: approvalName(res.approvalPolicy),
      sandbox: sandboxModeOf(res.sandbox),
    };
    this.turnIndex.clear();
    this.itemIndex.clear();
    const turns: TurnView[] = [];
    for (const t of res.thread.turns ?? []) {
      const view = this.makeTurn(t);
      turns.push(view);
    }
    this.turns = turns;
    this.loading = false;
    const buffered = this.buffer ?? [];
    this.buffer = null;
    for (const n of buffered) this.apply(n);
  }

  /** Marks the view as waiting for a fresh resume (after a reconnect). */
  reloading(): void {
    this.buffer = [];
  }

  private makeTurn(t: Turn): TurnView {
    const view = new TurnView(t.id);
    view.status = t.status;
    view.error = t.error ?? null;
    view.durationMs = t.durationMs ?? null;
    const done = t.status !== 'inProgress';
    view.items = t.items.map((item) => {
      const iv = new ItemView(item.id, t.id, item, done || isFinished(item));
      this.itemIndex.set(item.id, iv);
      return iv;
    });
    this.turnIndex.set(t.id, view);
    return view;
  }

  ensureTurn(id: string): TurnView {
    let t = this.turnIndex.get(id);
    if (!t) {
      t = new TurnView(id);
      this.turnIndex.set(id, t);
      this.turns.push(t);
    }
    return t;
  }

  private upsertItem(turnId: string, item: ThreadItem, done: boolean): ItemView {
    const existing = this.itemIndex.get(item.id);
    if (existing) {
      existing.update(item, done);
      return existing;
    }
    const turn = this.ensureTurn(turnId);
    const iv = new ItemView(item.id, turnId, item, done);
    this.itemIndex.set(item.id, iv);
    turn.items.push(iv);
    return iv;
  }

  /** The item a delta is for; a placeholder when its `item/started` was missed. */
  private itemFor(turnId: string, itemId: string, make: () => ThreadItem): ItemView {
    return this.itemIndex.get(itemId) ?? this.upsertItem(turnId, make(), false);
  }

  item(id: string): ItemView | undefined {
    return this.itemIndex.get(id);
  }

  apply(n: ServerNotification): void {
    if (this.buffer) {
      this.buffer.push(n);
      return;
    }
    switch (n.method) {
      case 'thread/status/changed':
        this.status = n.params.status;
        break;
      case 'thread/name/updated':
        this.thread = { ...this.thread, name: n.params.threadName ?? null };
        break;
      case 'thread/tokenUsage/updated':
        this.usage = n.params.tokenUsage;
        break;
      case 'turn/started': {
        const t = this.ensureTurn(n.params.turn.id);
        t.status = n.params.turn.status;
        break;
      }
      case 'turn/completed': {
        const turn = n.params.turn;
        const t = this.ensureTurn(turn.id);
        // `items` is a summary (the final message): add what we never saw, keep the rest.
        for (const item of turn.items) {
          const seen = this.itemIndex.get(item.id);
          if (!seen) this.upsertItem(turn.id, item, true);
          else if (!seen.done) seen.update(item, true);
        }
        // A message whose `item/completed` never came: keep what streamed.
        for (const iv of t.items) {
          if (iv.streaming && iv.item.type === 'agentMessage') iv.update({ ...iv.item, text: iv.stream?.text ?? iv.item.text }, true);
        }
        t.status = turn.status;
        t.error = turn.error ?? t.error;
        t.durationMs = turn.durationMs ?? null;
        break;
      }
      case 'turn/diff/updated':
        this.ensureTurn(n.params.turnId).diff = n.params.diff;
        break;
      case 'turn/plan/updated': {
        const t = this.ensureTurn(n.params.turnId);
        t.plan = n.params.plan;
        t.explanation = n.params.explanation ?? null;
        break;
      }
      case 'item/started':
        this.upsertItem(n.params.turnId, n.params.item, false);
        break;
      case 'item/completed':
        this.upsertItem(n.params.turnId, n.params.item, true);
        break;
      case 'item/agentMessage/delta': {
        const t0 = performance.now();
        const p = n.params;
        const iv = this.itemFor(p.turnId, p.itemId, () => ({ type: 'agentMessage', id: p.itemId, text: '' }));
        if (!iv.done) iv.appendText(p.delta);
        this.onDelta(t0);
        break;
      }
      case 'item/reasoning/summaryTextDelta': {
        const p = n.params;
        const iv = this.itemFor(p.turnId, p.itemId, () => ({ type: 'reasoning', id: p.itemId, summary: [] }));
        if (!iv.done) iv.appendSummary(p.delta, p.summaryIndex);
        break;
      }
      case 'item/commandExecution/outputDelta': {
        const p = n.params;
        const iv = this.itemFor(p.turnId, p.itemId, () => ({
          type: 'commandExecution',
          id: p.itemId,
          command: '',
          cwd: this.cwd,
          status: 'inProgress',
          commandActions: [],
        }));
        if (!iv.done) iv.appendText(p.delta);
        break;
      }
      case 'error': {
        const t = this.ensureTurn(n.params.turnId);
        if (!n.params.willRetry) t.error = n.params.error;
        break;
      }
    }
  }
}

function isFinished(item: ThreadItem): boolean {
  switch (item.type) {
    case 'commandExecution':
    case 'fileChange':
    case 'mcpToolCall':
    case 'collabAgentToolCall':
      return item.status !== 'inProgress';
    default:
      return true;
  }
}

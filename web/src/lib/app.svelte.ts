// Application state: the connection (with reconnects), the thread list, the open thread,
// approval requests, pickers. Components read it; user actions call its methods.

import { tick } from 'svelte';
import type {
  AskForApproval,
  CommandExecutionRequestApprovalParams,
  FileChangeRequestApprovalParams,
  InitializeResponse,
  Model,
  ModelListResponse,
  RequestId,
  SandboxMode,
  ServerNotification,
  ServerRequest,
  Thread,
  ThreadForkResponse,
  ThreadListResponse,
  ThreadResumeResponse,
  ThreadStartResponse,
  ToolRequestUserInputParams,
  ToolRequestUserInputResponse,
  TurnStartParams,
  TurnStartResponse,
  UserInput,
} from '../generated/wright_app_server_protocol';
import { deltaReceived, markInteractive } from './perf';
import { RpcConnection, RpcError, type Method, type ParamsOf } from './rpc';
import { ThreadView, sandboxPolicyOf } from './thread.svelte';
import { rpcUrl, takeToken } from './token';

export type ConnState = 'noToken' | 'connecting' | 'open' | 'reconnecting' | 'refused';

export type Approval =
  | { kind: 'command'; id: RequestId; params: CommandExecutionRequestApprovalParams }
  | { kind: 'fileChange'; id: RequestId; params: FileChangeRequestApprovalParams }
  | { kind: 'mcpTool'; id: RequestId; params: ToolRequestUserInputParams & { reason?: null } }
  // The model's own questions (`request_user_input`), asked by QuestionsModal; they queue
  // with approvals so one modal has the keyboard at a time.
  | { kind: 'questions'; id: RequestId; params: ToolRequestUserInputParams };

export type Questions = Extract<Approval, { kind: 'questions' }>;
/** What ApprovalModal asks: a yes or no. */
export type YesNo = Exclude<Approval, Questions>;

/** Codex's question id for the approval of an MCP tool call. */
const MCP_APPROVAL = 'mcp_tool_call_approval_';
/** Its options, by the decision they stand for. */
const MCP_LABELS: Record<Decision, string> = {
  accept: 'Allow',
  acceptForSession: 'Allow for this session',
  decline: 'Cancel',
  cancel: 'Cancel',
};

export type Decision = 'accept' | 'acceptForSession' | 'decline' | 'cancel';

export interface Toast {
  id: number;
  text: string;
  kind: 'info' | 'error';
}

const THREAD_KEY = 'wright.thread';
const DIFF_KEY = 'wright.diffMode';

function stored(key: string, storage: Storage | null): string | null {
  try {
    return storage?.getItem(key) ?? null;
  } catch {
    return null;
  }
}

function store(key: string, value: string | null, storage: Storage | null): void {
  try {
    if (value === null) storage?.removeItem(key);
    else storage?.setItem(key, value);
  } catch {
    // ignore
  }
}

function safeStorage(kind: 'session' | 'local'): Storage | null {
  try {
    return kind === 'session' ? sessionStorage : localStorage;
  } catch {
    return null;
  }
}

export function errorText(err: unknown): string {
  if (err instanceof RpcError) return err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}

export class App {
  conn = $state<ConnState>('connecting');
  everConnected = $state(false);
  retryIn = $state(0);
  server = $state.raw<InitializeResponse | null>(null);

  threads = $state.raw<Thread[]>([]);
  listLoading = $state(false);
  search = $state('');

  current = $state<ThreadView | null>(null);
  opening = $state(false);

  models = $state.raw<Model[]>([]);
  /** Pickers: '' keeps what the thread has. Applied on the next turn. */
  pick = $state({ model: '', approval: '', sandbox: '' as SandboxMode | '' });

  approvals = $state<Approval[]>([]);
  toasts = $state<Toast[]>([]);
  diffMode = $state<'unified' | 'split'>(stored(DIFF_KEY, safeStorage('local')) === 'split' ? 'split' : 'unified');

  sidebarOpen = $state(false);
  fileViewOpen = $state(typeof window !== 'undefined' && window.innerWidth >= 1100);
  helpOpen = $state(false);

  private rpc: RpcConnection | null = null;
  private token: string | null = null;
  private attempt = 0;
  private toastId = 0;
  private listTimer: ReturnType<typeof setTimeout> | null = null;
  private retryTimer: ReturnType<typeof setInterval> | null = null;

  start(): void {
    // The printed link pasted into a tab already showing this page only changes the fragment:
    // start over with the new token.
    addEventListener('hashchange', () => {
      if (/(^#|&)token=/.test(location.hash)) location.reload();
    });
    this.token = takeToken();
    if (!this.token) {
      this.conn = 'noToken';
      return;
    }
    // The file view is a side pane on wide screens and an overlay on narrow ones: follow
    // the width.
    matchMedia('(min-width: 1100px)').addEventListener('change', (e) => {
      this.fileViewOpen = e.matches;
      if (e.matches) this.sidebarOpen = false;
    });
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible' && this.conn === 'open') void this.loadThreads();
    });
    // Threads other clients start are announced only to their subscribers: poll the list.
    setInterval(() => {
      if (document.visibilityState === 'visible' && this.conn === 'open') void this.loadThreads();
    }, 20_000);
    void this.connect();
  }

  // ------------------------------------------------------------------ connection

  private async connect(): Promise<void> {
    if (!this.token) return;
    const rpc = new RpcConnection(rpcUrl(this.token), {
      notification: (n) => {
        if (this.rpc === rpc) this.onNotification(n);
      },
      request: (r) => {
        if (this.rpc === rpc) this.onServerRequest(r);
      },
      closed: (opened) => {
        if (this.rpc === rpc) this.onClosed(opened);
      },
    });
    this.rpc = rpc;
    let info: InitializeResponse;
    try {
      info = await rpc.handshake();
    } catch {
      return; // onClosed decides what to show
    }
    if (this.rpc !== rpc) return;
    const reconnect = this.everConnected;
    this.server = info;
    this.conn = 'open';
    this.everConnected = true;
    this.attempt = 0;
    void this.loadThreads();
    void this.loadModels();
    if (reconnect) {
      if (this.current) await this.resume(this.current, true);
    } else {
      const last = stored(THREAD_KEY, safeStorage('session'));
      if (last) void this.openThread(last, true);
    }
    await tick();
    markInteractive();
  }

  private onClosed(opened: boolean): void {
    this.rpc = null;
    // The server withdraws its questions when the connection goes.
    this.approvals = [];
    if (!this.everConnected) {
      // Refused (wrong/expired token → 401, foreign origin → 403) or nobody listening.
      this.conn = opened ? 'reconnecting' : 'refused';
      if (!opened) return;
    }
    this.conn = 'reconnecting';
    this.current?.reloading();
    const delay = Math.min(10_000, 500 * 2 ** this.attempt) * (0.8 + Math.random() * 0.4);
    this.attempt++;
    this.retryIn = Math.ceil(delay / 1000);
    if (this.retryTimer) clearInterval(this.retryTimer);
    this.retryTimer = setInterval(() => {
      this.retryIn = Math.max(0, this.retryIn - 1);
    }, 1000);
    setTimeout(() => {
      if (this.retryTimer) clearInterval(this.retryTimer);
      this.retryTimer = null;
      void this.connect();
    }, delay);
  }

  /** Retry now (the "refused" screen and the banner offer it). */
  retry(): void {
    if (this.rpc) return;
    this.conn = this.everConnected ? 'reconnecting' : 'connecting';
    this.attempt = 0;
    void this.connect();
  }

  request<M extends Method>(method: M, params: ParamsOf<M>): Promise<unknown> {
    if (!this.rpc || this.conn !== 'open') return Promise.reject(new RpcError(-1, 'not connected'));
    return this.rpc.request(method, params);
  }

  toast(text: string, kind: Toast['kind'] = 'error'): void {
    const id = ++this.toastId;
    this.toasts = [...this.toasts, { id, text, kind }];
    setTimeout(() => this.dismiss(id), kind === 'error' ? 8000 : 4000);
  }

  dismiss(id: number): void {
    this.toasts = this.toasts.filter((t) => t.id !== id);
  }

  // ------------------------------------------------------------------ server → client

  private onNotification(n: ServerNotification): void {
    switch (n.method) {
      case 'thread/started':
        if (!n.params.thread.ephemeral && !this.threads.some((t) => t.id === n.params.thread.id) && !this.search)
          this.threads = [n.params.thread, ...this.threads];
        break;
      case 'thread/name/updated':
        this.patchThread(n.params.threadId, { name: n.params.threadName ?? null });
        break;
      case 'thread/status/changed':
        this.patchThread(n.params.threadId, { status: n.params.status });
        break;
      case 'thread/archived':
      case 'thread/deleted':
        this.threads = this.threads.filter((t) => t.id !== n.params.threadId);
        if (this.current?.id === n.params.threadId) this.closeThread();
        break;
      case 'thread/unarchived':
        void this.loadThreads();
        break;
      case 'serverRequest/resolved':
        this.approvals = this.approvals.filter(
          (a) => !(a.id === n.params.requestId && a.params.threadId === n.params.threadId),
        );
        break;
      case 'configWarning':
        this.toast(n.params.summary, 'info');
        break;
      case 'turn/completed':
        // The preview and recency changed.
        this.scheduleListRefresh();
        break;
    }
    const cur = this.current;
    if (cur && 'params' in n && n.params && (n.params as { threadId?: string }).threadId === cur.id) {
      cur.apply(n);
    } else if (cur && n.method === 'thread/started' && n.params.thread.id === cur.id) {
      // nothing: the start/fork answer fills the view
    }
  }

  private onServerRequest(r: ServerRequest): void {
    switch (r.method) {
      case 'item/commandExecution/requestApproval':
        this.approvals = [...this.approvals, { kind: 'command', id: r.id, params: r.params }];
        return;
      case 'item/fileChange/requestApproval':
        this.approvals = [...this.approvals, { kind: 'fileChange', id: r.id, params: r.params }];
        return;
      case 'item/tool/requestUserInput':
        // The approval of an MCP tool call is a one-question form asked as an approval; any
        // other questions are the model's, put to the user by QuestionsModal.
        if (r.params.questions.length === 1 && r.params.questions[0].id.startsWith(MCP_APPROVAL)) {
          this.approvals = [...this.approvals, { kind: 'mcpTool', id: r.id, params: r.params }];
          return;
        }
        if (r.params.questions.length === 0) {
          // Nothing to ask; answered at once (as dismissed) so the turn does not wait.
          this.rpc?.respond(r.id, { answers: {} } satisfies ToolRequestUserInputResponse);
          return;
        }
        this.approvals = [...this.approvals, { kind: 'questions', id: r.id, params: r.params }];
        return;
      default: {
        const unknown = r as { id: RequestId; method: string };
        this.rpc?.respondError(unknown.id, -32601, `wright web UI does not handle ${unknown.method}`);
      }
    }
  }

  answer(a: YesNo, decision: Decision): void {
    this.approvals = this.approvals.filter((x) => x !== a);
    if (a.kind === 'mcpTool') {
      const q = a.params.questions[0];
      const offered = (q.options ?? []).map((o) => o.label);
      const label = offered.includes(MCP_LABELS[decision]) ? MCP_LABELS[decision] : 'Cancel';
      this.rpc?.respond(a.id, { answers: { [q.id]: { answers: [label] } } });
      return;
    }
    this.rpc?.respond(a.id, { decision });
  }

  /**
   * Replies to the model's questions once, with every answer (the label picked or the text
   * typed) by question id; no answers at all means the user dismissed them.
   */
  answerQuestions(a: Questions, answers: Record<string, string>): void {
    this.approvals = this.approvals.filter((x) => x !== a);
    const reply: ToolRequestUserInputResponse = { answers: {} };
    for (const [id, answer] of Object.entries(answers)) reply.answers[id] = { answers: [answer] };
    this.rpc?.respond(a.id, reply);
  }

  // ------------------------------------------------------------------ thread list

  async loadThreads(): Promise<void> {
    this.listLoading = true;
    try {
      const res = (await this.request('thread/list', {
        limit: 200,
        searchTerm: this.search.trim() || null,
      })) as ThreadListResponse;
      this.threads = res.data;
    } catch (err) {
      if (this.conn === 'open') this.toast(`Thread list: ${errorText(err)}`);
    } finally {
      this.listLoading = false;
    }
  }

  scheduleListRefresh(delay = 300): void {
    if (this.listTimer) clearTimeout(this.listTimer);
    this.listTimer = setTimeout(() => {
      this.listTimer = null;
      void this.loadThreads();
    }, delay);
  }

  private patchThread(id: string, patch: Partial<Thread>): void {
    if (!this.threads.some((t) => t.id === id)) return;
    this.threads = this.threads.map((t) => (t.id === id ? { ...t, ...patch } : t));
  }

  private async loadModels(): Promise<void> {
    try {
      const res = (await this.request('model/list', { limit: 100 })) as ModelListResponse;
      this.models = res.data.filter((m) => !m.hidden);
    } catch {
      this.models = [];
    }
  }

  // ------------------------------------------------------------------ open thread

  private view(id: string): ThreadView {
    return new ThreadView(id, (t0) => deltaReceived(t0, tick));
  }

  private setCurrent(view: ThreadView | null): void {
    const prev = this.current;
    if (prev && prev !== view && !prev.running && this.conn === 'open') {
      void this.request('thread/unsubscribe', { threadId: prev.id }).catch(() => {});
    }
    this.current = view;
    this.approvals = this.approvals.filter((a) => a.params.threadId === view?.id);
    store(THREAD_KEY, view?.id ?? null, safeStorage('session'));
    if (view) {
      this.pick = { model: '', approval: '', sandbox: '' };
    }
  }

  async openThread(id: string, quiet = false): Promise<void> {
    if (this.current?.id === id && !this.current.loading) return;
    const view = this.view(id);
    this.setCurrent(view);
    this.sidebarOpen = false;
    await this.resume(view, quiet);
  }

  private async resume(view: ThreadView, quiet: boolean): Promise<void> {
    this.opening = true;
    try {
      const res = (await this.request('thread/resume', { threadId: view.id })) as ThreadResumeResponse;
      if (this.current !== view) return;
      view.load(res);
    } catch (err) {
      if (this.current !== view) return;
      if (this.conn !== 'open') return; // resumed again after the reconnect
      if (!quiet) this.toast(`Cannot open the thread: ${errorText(err)}`);
      this.setCurrent(null);
    } finally {
      this.opening = false;
    }
  }

  closeThread(): void {
    this.setCurrent(null);
  }

  private startParams() {
    return {
      model: this.pick.model || null,
      approvalPolicy: (this.pick.approval || null) as AskForApproval | null,
      sandbox: this.pick.sandbox || null,
    };
  }

  async newThread(): Promise<ThreadView | null> {
    try {
      const res = (await this.request('thread/start', this.startParams())) as ThreadStartResponse;
      const view = this.view(res.thread.id);
      view.load(res);
      this.setCurrent(view);
      this.sidebarOpen = false;
      if (!this.threads.some((t) => t.id === res.thread.id)) this.threads = [res.thread, ...this.threads];
      return view;
    } catch (err) {
      this.toast(`New thread: ${errorText(err)}`);
      return null;
    }
  }

  async fork(id: string): Promise<void> {
    try {
      const res = (await this.request('thread/fork', { threadId: id })) as ThreadForkResponse;
      const view = this.view(res.thread.id);
      view.load(res);
      this.setCurrent(view);
      this.threads = [res.thread, ...this.threads.filter((t) => t.id !== res.thread.id)];
      this.toast('Forked the thread', 'info');
    } catch (err) {
      this.toast(`Fork: ${errorText(err)}`);
    }
  }

  async rename(id: string, name: string): Promise<void> {
    try {
      await this.request('thread/name/set', { threadId: id, name });
      const n = name.trim() || null;
      this.patchThread(id, { name: n });
      if (this.current?.id === id) this.current.thread = { ...this.current.thread, name: n };
    } catch (err) {
      this.toast(`Rename: ${errorText(err)}`);
    }
  }

  async archive(id: string): Promise<void> {
    try {
      await this.request('thread/archive', { threadId: id });
      this.threads = this.threads.filter((t) => t.id !== id);
      if (this.current?.id === id) this.closeThread();
    } catch (err) {
      this.toast(`Archive: ${errorText(err)}`);
    }
  }

  async remove(id: string): Promise<void> {
    try {
      await this.request('thread/delete', { threadId: id });
      this.threads = this.threads.filter((t) => t.id !== id);
      if (this.current?.id === id) this.closeThread();
    } catch (err) {
      this.toast(`Delete: ${errorText(err)}`);
    }
  }

  // ------------------------------------------------------------------ turns

  /** Sends the composer's input: a new turn, or a steer of the running one. */
  async send(input: UserInput[]): Promise<boolean> {
    let view = this.current;
    if (!view) {
      view = await this.newThread();
      if (!view) return false;
    }
    const running = view.running;
    try {
      if (running) {
        await this.request('turn/steer', { threadId: view.id, expectedTurnId: running.id, input });
        return true;
      }
      const params: TurnStartParams = { threadId: view.id, input };
      const s = view.settings;
      if (this.pick.model && this.pick.model !== s.model) params.model = this.pick.model;
      if (this.pick.approval && this.pick.approval !== s.approval)
        params.approvalPolicy = this.pick.approval as AskForApproval;
      if (this.pick.sandbox && this.pick.sandbox !== s.sandbox) params.sandboxPolicy = sandboxPolicyOf(this.pick.sandbox);
      const res = (await this.request('turn/start', params)) as TurnStartResponse;
      if (params.model) s.model = params.model;
      if (params.approvalPolicy) s.approval = this.pick.approval;
      if (params.sandboxPolicy) s.sandbox = this.pick.sandbox;
      if (this.current === view) {
        const t = view.ensureTurn(res.turn.id);
        if (t.items.length === 0 && res.turn.status === 'inProgress') t.status = 'inProgress';
      }
      return true;
    } catch (err) {
      this.toast(`${running ? 'Steer' : 'Send'}: ${errorText(err)}`);
      return false;
    }
  }

  async interrupt(): Promise<void> {
    const view = this.current;
    const running = view?.running;
    if (!view || !running) return;
    try {
      await this.request('turn/interrupt', { threadId: view.id, turnId: running.id });
    } catch (err) {
      this.toast(`Interrupt: ${errorText(err)}`);
    }
  }

  setDiffMode(mode: 'unified' | 'split'): void {
    this.diffMode = mode;
    store(DIFF_KEY, mode, safeStorage('local'));
  }
}

export const app = new App();

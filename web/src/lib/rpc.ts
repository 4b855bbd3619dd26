// A small JSON-RPC client for the App Server protocol v2 over one WebSocket: one message
// per text frame, no "jsonrpc" member. Method and params types come from the generated
// protocol file; results are `unknown` and cast by the caller to the named `…Response`.

import type {
  ClientRequest,
  InitializeResponse,
  JsonRpcErrorObject,
  RequestId,
  ServerNotification,
  ServerRequest,
} from '../generated/wright_app_server_protocol';

export type Method = ClientRequest['method'];
export type ParamsOf<M extends Method> = Extract<ClientRequest, { method: M }>['params'];

export class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
  }
}

export type SocketState = 'connecting' | 'open' | 'closed';

export interface RpcHandlers {
  notification(n: ServerNotification): void;
  request(r: ServerRequest): void;
  /** `opened` is false when the socket closed before it ever opened (refused). */
  closed(opened: boolean): void;
}

interface Pending {
  resolve(value: unknown): void;
  reject(err: Error): void;
}

export class RpcConnection {
  private ws: WebSocket;
  private nextId = 1;
  private pending = new Map<RequestId, Pending>();
  private opened = false;
  private done = false;

  constructor(
    url: string,
    private readonly handlers: RpcHandlers,
  ) {
    this.ws = new WebSocket(url);
    this.ws.addEventListener('open', () => {
      this.opened = true;
    });
    this.ws.addEventListener('message', (ev) => this.onMessage(ev));
    this.ws.addEventListener('close', () => this.finish());
    this.ws.addEventListener('error', () => this.finish());
  }

  /** Resolves once the socket is open; rejects if it closes first. */
  waitOpen(): Promise<void> {
    if (this.opened) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.ws.addEventListener('open', () => resolve(), { once: true });
      this.ws.addEventListener('close', () => reject(new Error('closed')), { once: true });
      this.ws.addEventListener('error', () => reject(new Error('closed')), { once: true });
    });
  }

  /** `initialize` then the `initialized` notification. */
  async handshake(): Promise<InitializeResponse> {
    await this.waitOpen();
    const res = (await this.request('initialize', {
      clientInfo: { name: 'wright_web', title: 'wright web UI', version: '0.1.0' },
      capabilities: { experimentalApi: false },
    })) as InitializeResponse;
    this.send({ method: 'initialized' });
    return res;
  }

  request<M extends Method>(method: M, params: ParamsOf<M>): Promise<unknown> {
    if (this.done) return Promise.reject(new RpcError(-1, 'not connected'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.send({ id, method, params });
    });
  }

  respond(id: RequestId, result: unknown): void {
    this.send({ id, result });
  }

  respondError(id: RequestId, code: number, message: string): void {
    this.send({ id, error: { code, message } });
  }

  close(): void {
    this.ws.close();
    this.finish();
  }

  private send(msg: unknown): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
  }

  private onMessage(ev: MessageEvent): void {
    if (typeof ev.data !== 'string') return;
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(ev.data);
    } catch {
      return;
    }
    if (!msg || typeof msg !== 'object') return;
    const hasId = 'id' in msg && msg.id !== null && msg.id !== undefined;
    if (typeof msg.method === 'string') {
      if (hasId) this.handlers.request(msg as unknown as ServerRequest);
      else this.handlers.notification(msg as unknown as ServerNotification);
      return;
    }
    if (!hasId) return;
    const p = this.pending.get(msg.id as RequestId);
    if (!p) return;
    this.pending.delete(msg.id as RequestId);
    if ('error' in msg && msg.error) {
      const e = msg.error as JsonRpcErrorObject;
      p.reject(new RpcError(e.code, e.message, e.data));
    } else {
      p.resolve(msg.result);
    }
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    for (const p of this.pending.values()) p.reject(new RpcError(-1, 'connection lost'));
    this.pending.clear();
    this.handlers.closed(this.opened);
  }
}

import type { ServerResponse } from 'node:http';

export interface ConfigStreamsOptions {
  /** A comment line is sent this often so proxies and clients keep the connection (ms). */
  readonly heartbeatMs: number;
  /** Open streams this process accepts at most (a stream is one socket). */
  readonly maxConnections: number;
}

/**
 * Server-sent event streams of config environments (OFREP `eventStreams`, ADR-0008): each
 * connection hears `refetchEvaluation` whenever anything in its app environment changes. The
 * event only says "refetch" — values are never pushed — so a stream needs no per-device state.
 */
export class ConfigStreams {
  readonly #opts: ConfigStreamsOptions;
  readonly #byEnv = new Map<string, Set<ServerResponse>>();
  #count = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(opts: ConfigStreamsOptions) {
    this.#opts = opts;
  }

  /** Open streams in this process. */
  get size(): number {
    return this.#count;
  }

  /** Whether another stream may be opened now. */
  hasRoom(): boolean {
    return this.#count < this.#opts.maxConnections;
  }

  /** Takes over a response as an event stream of `appId`/`env` (headers already decided here). */
  open(appId: string, env: string, res: ServerResponse): void {
    const id = `${appId}\u0000${env}`;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    // Reconnect quickly after a drop; the first comment flushes the headers through proxies.
    res.write('retry: 1000\n: connected\n\n');
    let set = this.#byEnv.get(id);
    if (set === undefined) this.#byEnv.set(id, (set = new Set()));
    set.add(res);
    this.#count++;
    const done = (): void => {
      const s = this.#byEnv.get(id);
      if (s?.delete(res) === true) {
        this.#count--;
        if (s.size === 0) this.#byEnv.delete(id);
      }
      if (this.#count === 0) this.#stopHeartbeat();
    };
    res.on('close', done);
    res.on('error', done);
    this.#startHeartbeat();
  }

  /** Tells every stream of `appId`/`env` to refetch. */
  notify(appId: string, env: string, revision: number, lastModified: number): void {
    const set = this.#byEnv.get(`${appId}\u0000${env}`);
    if (set === undefined) return;
    const data = JSON.stringify({ type: 'refetchEvaluation', etag: String(revision), lastModified });
    const frame = `event: message\ndata: ${data}\n\n`;
    for (const res of set) res.write(frame);
  }

  /** Ends every stream (server shutdown). */
  closeAll(): void {
    for (const set of this.#byEnv.values()) for (const res of set) res.end();
    this.#byEnv.clear();
    this.#count = 0;
    this.#stopHeartbeat();
  }

  #startHeartbeat(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => {
      for (const set of this.#byEnv.values()) for (const res of set) res.write(': ping\n\n');
    }, this.#opts.heartbeatMs);
    this.#timer.unref();
  }

  #stopHeartbeat(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

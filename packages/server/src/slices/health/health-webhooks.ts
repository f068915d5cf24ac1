import { createHmac } from 'node:crypto';

/** One configured receiver (`health.webhooks`). */
export interface WebhookTarget {
  readonly url: string;
  readonly secret?: string | undefined;
}

export interface WebhookOptions {
  readonly targets: readonly WebhookTarget[];
  /** Attempts per delivery (the first one included). */
  readonly maxAttempts: number;
  /** Wait before the second attempt; doubles each time (capped at 60 s). */
  readonly backoffMs: number;
  readonly timeoutMs: number;
  /** Deliveries waiting beyond this are dropped, oldest first. */
  readonly maxQueue?: number;
  readonly log: (level: 'warn' | 'info', msg: string, data: Record<string, unknown>) => void;
  /** Injected for tests; defaults to the global fetch. */
  readonly fetch?: typeof fetch;
}

/** `sha256=<hex HMAC-SHA256 of the body with the secret>`, the X-Halftone-Signature value. */
export function signature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** Only scheme, host and path of a URL go to the log (no credentials, no query). */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(invalid url)';
  }
}

interface Delivery {
  readonly target: WebhookTarget;
  readonly id: string;
  readonly event: string;
  readonly body: string;
  attempt: number;
}

/**
 * Sends health events to the configured webhooks: JSON POSTs with `X-Halftone-Event`,
 * `X-Halftone-Delivery` and, when the target has a secret, `X-Halftone-Signature: sha256=…`.
 * `send` only queues (it never waits for a receiver); failures are retried with exponential
 * backoff and then logged (the URL without query or credentials, never the secret).
 */
export class WebhookDispatcher {
  readonly #o: WebhookOptions;
  readonly #queue: Delivery[] = [];
  readonly #timers = new Set<NodeJS.Timeout>();
  #running = 0;
  #closed = false;
  #idle: (() => void)[] = [];

  constructor(options: WebhookOptions) {
    this.#o = options;
  }

  get enabled(): boolean {
    return this.#o.targets.length > 0;
  }

  /** Queues one event for every target. */
  send(id: string, event: string, payload: unknown): void {
    if (this.#closed || this.#o.targets.length === 0) return;
    const body = JSON.stringify(payload);
    for (const target of this.#o.targets) {
      this.#queue.push({ target, id, event, body, attempt: 0 });
    }
    const max = this.#o.maxQueue ?? 1000;
    while (this.#queue.length > max) {
      const dropped = this.#queue.shift();
      if (dropped) this.#o.log('warn', 'health webhook queue full; dropped a delivery', { url: safeUrl(dropped.target.url), event: dropped.event });
    }
    this.#pump();
  }

  /** Resolves when nothing is queued, sending or waiting for a retry (tests). */
  idle(): Promise<void> {
    if (this.#busy()) return new Promise((resolve) => this.#idle.push(resolve));
    return Promise.resolve();
  }

  close(): void {
    this.#closed = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    this.#queue.length = 0;
    this.#settle();
  }

  #busy(): boolean {
    return this.#queue.length > 0 || this.#running > 0 || this.#timers.size > 0;
  }

  #settle(): void {
    if (this.#busy()) return;
    const waiting = this.#idle;
    this.#idle = [];
    for (const r of waiting) r();
  }

  #pump(): void {
    while (!this.#closed && this.#running < 4 && this.#queue.length > 0) {
      const d = this.#queue.shift();
      if (d === undefined) break;
      this.#running++;
      void this.#attempt(d).finally(() => {
        this.#running--;
        this.#pump();
        this.#settle();
      });
    }
  }

  async #attempt(d: Delivery): Promise<void> {
    d.attempt++;
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'halftone-health-webhook',
      'x-halftone-event': d.event,
      'x-halftone-delivery': d.id,
    };
    if (d.target.secret !== undefined && d.target.secret !== '') headers['x-halftone-signature'] = signature(d.target.secret, d.body);
    let failure: string | undefined;
    try {
      const res = await (this.#o.fetch ?? fetch)(d.target.url, {
        method: 'POST',
        headers,
        body: d.body,
        signal: AbortSignal.timeout(this.#o.timeoutMs),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.status >= 200 && res.status < 300) return;
      failure = `HTTP ${res.status}`;
    } catch (err) {
      failure = err instanceof Error ? err.name === 'TimeoutError' ? 'timeout' : err.message : 'failed';
    }
    const url = safeUrl(d.target.url);
    if (this.#closed) return;
    if (d.attempt >= this.#o.maxAttempts) {
      this.#o.log('warn', 'health webhook delivery failed; giving up', { url, event: d.event, delivery: d.id, attempts: d.attempt, failure });
      return;
    }
    const wait = Math.min(this.#o.backoffMs * 2 ** (d.attempt - 1), 60_000);
    this.#o.log('info', 'health webhook delivery failed; retrying', { url, event: d.event, delivery: d.id, attempt: d.attempt, failure, retryInMs: wait });
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      this.#queue.push(d);
      this.#pump();
      this.#settle();
    }, wait);
    timer.unref();
    this.#timers.add(timer);
  }
}

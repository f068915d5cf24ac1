import { Pool } from 'undici';

/** A non-2xx answer from the server, with its problem+json body when there is one. */
export class HttpError extends Error {
  readonly status: number;
  readonly body: string;
  readonly retryAfterSeconds: number | undefined;

  constructor(method: string, path: string, status: number, body: string, retryAfter?: string) {
    super(`${method} ${path} → ${status}: ${body.slice(0, 400)}`);
    this.name = 'HttpError';
    this.status = status;
    this.body = body;
    this.retryAfterSeconds = retryAfter === undefined ? undefined : Number(retryAfter);
  }
}

/**
 * The simulator's only way to reach the server: JSON over a few keep-alive connections (undici
 * Pool; one connection per concurrent sender, no pipelining, so a slow ingest never stalls a
 * check queued behind it on the same socket).
 */
export class HttpClient {
  readonly #pool: Pool;
  readonly #base: string;
  /** Requests sent, by kind (what a run cost in HTTP calls). */
  readonly counts: Record<string, number> = {};

  constructor(baseUrl: string, connections: number) {
    this.#base = baseUrl.replace(/\/+$/, '');
    const u = new URL(this.#base);
    this.#pool = new Pool(u.origin, { connections, pipelining: 1, keepAliveTimeout: 60_000 });
  }

  /** Sends JSON (or nothing), answers the parsed JSON body; throws {@link HttpError} on non-2xx. */
  async json<T>(method: string, path: string, body: unknown, headers: Record<string, string>, kind = 'other'): Promise<T> {
    this.counts[kind] = (this.counts[kind] ?? 0) + 1;
    const prefix = new URL(this.#base).pathname.replace(/\/+$/, '');
    const res = await this.#pool.request({
      method: method as 'GET',
      path: prefix + path,
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.body.text();
    if (res.statusCode < 200 || res.statusCode >= 300) {
      const ra = res.headers['retry-after'];
      throw new HttpError(method, path, res.statusCode, text, typeof ra === 'string' ? ra : undefined);
    }
    return (text === '' ? undefined : JSON.parse(text)) as T;
  }

  /** Publishing is multipart; a handful of calls per run, so plain fetch. */
  async multipart<T>(path: string, form: FormData, headers: Record<string, string>): Promise<T> {
    this.counts.publish = (this.counts.publish ?? 0) + 1;
    const res = await fetch(this.#base + path, { method: 'POST', body: form, headers });
    const text = await res.text();
    if (!res.ok) throw new HttpError('POST', path, res.status, text);
    return JSON.parse(text) as T;
  }

  async close(): Promise<void> {
    await this.#pool.close();
  }
}

/** Runs `fn` over `items` with at most `limit` in flight (results in order). */
export async function pool<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i] as T, i);
      }
    }),
  );
  return out;
}

import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { GatewayService } from './gateway-service.js';

/** The label value used when no upstream / no policy decided a request. */
export const NO_LABEL = 'none';

export type GatewayErrorKind = 'unreachable' | 'timeout' | 'no_upstream';

const CODE_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;

/** Pre-bound label children of one upstream (so the hot path does no label lookups). */
interface UpstreamChildren {
  readonly duration: Histogram.Internal<'upstream'>;
  readonly errors: Readonly<Record<GatewayErrorKind, Counter.Internal>>;
  /** policy → one counter child per code class (index = status / 100 - 1). */
  readonly requests: Map<string, Counter.Internal[]>;
}

/**
 * Prometheus metrics of the gray gateway, in a dedicated registry (not prom-client's global one):
 * requests per upstream / policy / status class, latency per upstream, upstream errors, and the
 * age and health of the policy table loaded from the store.
 */
export class GatewayMetrics {
  readonly registry = new Registry();
  readonly #requests: Counter<'upstream' | 'policy' | 'code_class'>;
  readonly #duration: Histogram<'upstream'>;
  readonly #errors: Counter<'upstream' | 'kind'>;
  readonly #children = new Map<string, UpstreamChildren>();

  constructor(gateway: Pick<GatewayService, 'status'>) {
    const registers = [this.registry];
    this.#requests = new Counter({
      name: 'halftone_gateway_requests_total',
      help: 'Requests answered by the gateway, per upstream, deciding policy and status class.',
      labelNames: ['upstream', 'policy', 'code_class'],
      registers,
    });
    this.#duration = new Histogram({
      name: 'halftone_gateway_request_duration_seconds',
      help: 'Time from receiving a request to the end of its answer, per upstream.',
      labelNames: ['upstream'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.#errors = new Counter({
      name: 'halftone_gateway_upstream_errors_total',
      help: 'Requests the gateway answered itself because the upstream failed or none was configured.',
      labelNames: ['upstream', 'kind'],
      registers,
    });
    new Gauge({
      name: 'halftone_gateway_policy_table_age_seconds',
      help: 'Seconds since the policy table in force was loaded from the store.',
      registers,
      collect() {
        const s = gateway.status;
        this.set(s.loadedAt === undefined ? -1 : Math.max(0, (Date.now() - Date.parse(s.loadedAt)) / 1000));
      },
    });
    new Gauge({
      name: 'halftone_gateway_policy_store_ok',
      help: '1 when the last reload of the policy table from the store succeeded, 0 when it failed (the last table stays in force).',
      registers,
      collect() {
        this.set(gateway.status.storeOk ? 1 : 0);
      },
    });
  }

  /** The pre-bound children of an upstream (created on first use). */
  upstream(name: string): UpstreamChildren {
    let c = this.#children.get(name);
    if (c === undefined) {
      const e = (kind: GatewayErrorKind) => this.#errors.labels({ upstream: name, kind });
      c = {
        duration: this.#duration.labels({ upstream: name }),
        errors: { unreachable: e('unreachable'), timeout: e('timeout'), no_upstream: e('no_upstream') },
        requests: new Map(),
      };
      this.#children.set(name, c);
    }
    return c;
  }

  /** Pre-binds the children of these upstreams (called when the table changes). */
  prebind(names: Iterable<string>): void {
    for (const n of names) this.upstream(n);
  }

  /** Records one answered request: `startMs` is a `performance.now()` reading. */
  observe(c: UpstreamChildren, upstream: string, policy: string, status: number, startMs: number): void {
    let byClass = c.requests.get(policy);
    if (byClass === undefined) {
      byClass = CODE_CLASSES.map((code_class) => this.#requests.labels({ upstream, policy, code_class }));
      c.requests.set(policy, byClass);
    }
    const i = Math.min(4, Math.max(0, Math.floor(status / 100) - 1));
    (byClass[i] as Counter.Internal).inc();
    c.duration.observe((performance.now() - startMs) / 1000);
  }

  /** The text exposition of every gateway metric. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

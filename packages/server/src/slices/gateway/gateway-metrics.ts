import { Counter, Gauge, type Histogram, Registry } from 'prom-client';
import type { GatewayService } from './gateway-service.js';

/** The label value used when no upstream / no policy decided a request. */
export const NO_LABEL = 'none';

export type GatewayErrorKind = 'unreachable' | 'timeout' | 'no_upstream';

const CODE_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;

const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

/** One upstream's latency histogram, recorded into plain arrays (no label work per request). */
interface LatencyCells {
  /** Per bucket (non-cumulative), the last cell is +Inf. */
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

/** Pre-bound cells of one upstream (so the hot path does no label lookups or validation). */
interface UpstreamChildren {
  readonly duration: LatencyCells;
  readonly errors: Readonly<Record<GatewayErrorKind, Counter.Internal>>;
  /** policy → one plain counter per code class (index = status / 100 - 1), flushed on scrape. */
  readonly requests: Map<string, Float64Array>;
}

interface HistogramValue {
  readonly metricName: string;
  readonly labels: Readonly<Record<string, string | number>>;
  readonly value: number;
}

/**
 * A prom-client-compatible histogram whose observations are plain array increments: the gateway
 * records one per request, and prom-client's own `Histogram.observe` (label hashing, validation)
 * cost more than the rest of the request's bookkeeping. Exposed through the same registry.
 */
class LatencyHistogram {
  readonly name = 'halftone_gateway_request_duration_seconds';
  readonly help = 'Time from receiving a request to the end of its answer, per upstream.';
  readonly cells = new Map<string, LatencyCells>();

  cellsFor(upstream: string): LatencyCells {
    let c = this.cells.get(upstream);
    if (c === undefined) {
      c = { counts: new Float64Array(BUCKETS.length + 1), sum: 0, count: 0 };
      this.cells.set(upstream, c);
    }
    return c;
  }

  /** What prom-client's registry reads from a metric (the shape its own Histogram returns). */
  get(): { name: string; help: string; type: 'histogram'; aggregator: 'sum'; values: HistogramValue[] } {
    const values: HistogramValue[] = [];
    for (const [upstream, c] of this.cells) {
      let cumulative = 0;
      for (let i = 0; i < BUCKETS.length; i++) {
        cumulative += c.counts[i] as number;
        values.push({ metricName: `${this.name}_bucket`, labels: { le: BUCKETS[i] as number, upstream }, value: cumulative });
      }
      values.push({ metricName: `${this.name}_bucket`, labels: { le: '+Inf', upstream }, value: c.count });
      values.push({ metricName: `${this.name}_sum`, labels: { upstream }, value: c.sum });
      values.push({ metricName: `${this.name}_count`, labels: { upstream }, value: c.count });
    }
    return { name: this.name, help: this.help, type: 'histogram', values, aggregator: 'sum' };
  }

  reset(): void {
    this.cells.clear();
  }
}

/**
 * Prometheus metrics of the gray gateway, in a dedicated registry (not prom-client's global one):
 * requests per upstream / policy / status class, latency per upstream, upstream errors, and the
 * age and health of the policy table loaded from the store.
 */
export class GatewayMetrics {
  readonly registry = new Registry();
  readonly #requests: Counter<'upstream' | 'policy' | 'code_class'>;
  readonly #duration = new LatencyHistogram();
  readonly #errors: Counter<'upstream' | 'kind'>;
  readonly #children = new Map<string, UpstreamChildren>();

  constructor(gateway: Pick<GatewayService, 'status'>) {
    const registers = [this.registry];
    const children = this.#children;
    this.#requests = new Counter({
      name: 'halftone_gateway_requests_total',
      help: 'Requests answered by the gateway, per upstream, deciding policy and status class.',
      labelNames: ['upstream', 'policy', 'code_class'],
      registers,
      // The hot path counts in plain arrays; a scrape moves the counts into the counter.
      collect() {
        for (const [upstream, c] of children) {
          for (const [policy, byClass] of c.requests) {
            for (let i = 0; i < CODE_CLASSES.length; i++) {
              const n = byClass[i] as number;
              if (n === 0) continue;
              this.labels({ upstream, policy, code_class: CODE_CLASSES[i] as string }).inc(n);
              byClass[i] = 0;
            }
          }
        }
      },
    });
    this.registry.registerMetric(this.#duration as unknown as Histogram);
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
        duration: this.#duration.cellsFor(name),
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
      byClass = new Float64Array(CODE_CLASSES.length);
      c.requests.set(policy, byClass);
      // Every (upstream, policy) pair shows up at the next scrape, with zeros where nothing happened.
      for (const code_class of CODE_CLASSES) this.#requests.labels({ upstream, policy, code_class }).inc(0);
    }
    const i = Math.min(4, Math.max(0, Math.floor(status / 100) - 1));
    (byClass[i] as number)++;
    const seconds = (performance.now() - startMs) / 1000;
    const d = c.duration;
    let b = 0;
    while (b < BUCKETS.length && seconds > (BUCKETS[b] as number)) b++;
    (d.counts[b] as number)++;
    d.sum += seconds;
    d.count++;
  }

  /** The text exposition of every gateway metric. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

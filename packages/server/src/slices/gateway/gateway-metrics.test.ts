import { describe, expect, it } from 'vitest';
import { GatewayMetrics } from './gateway-metrics.js';

const status = { loadedAt: '2026-01-01T00:00:00.000Z', revision: 1, storeOk: true };

describe('GatewayMetrics', () => {
  it('exposes cumulative latency buckets, sum and count per upstream, and request counts flushed on scrape', async () => {
    const m = new GatewayMetrics({ status });
    const b = m.upstream('b');
    const now = performance.now();
    m.observe(b, 'b', 'gwp_1', 200, now); // ~0 s → first bucket
    m.observe(b, 'b', 'gwp_1', 503, now - 30); // ~30 ms → the 0.05 bucket
    m.observe(b, 'b', 'none', 404, now - 20_000); // 20 s → +Inf only
    const text = await m.text();
    const line = (prefix: string) => text.split('\n').find((l) => l.startsWith(prefix));
    expect(line('halftone_gateway_request_duration_seconds_bucket{le="0.001",upstream="b"}')).toMatch(/ 1$/);
    expect(line('halftone_gateway_request_duration_seconds_bucket{le="0.025",upstream="b"}')).toMatch(/ 1$/);
    expect(line('halftone_gateway_request_duration_seconds_bucket{le="0.05",upstream="b"}')).toMatch(/ 2$/);
    expect(line('halftone_gateway_request_duration_seconds_bucket{le="10",upstream="b"}')).toMatch(/ 2$/);
    expect(line('halftone_gateway_request_duration_seconds_bucket{le="+Inf",upstream="b"}')).toMatch(/ 3$/);
    expect(line('halftone_gateway_request_duration_seconds_count{upstream="b"}')).toMatch(/ 3$/);
    expect(Number(line('halftone_gateway_request_duration_seconds_sum{upstream="b"}')?.split(' ')[1])).toBeGreaterThan(20);
    expect(text).toContain('# TYPE halftone_gateway_request_duration_seconds histogram');
    expect(text).toContain('halftone_gateway_requests_total{upstream="b",policy="gwp_1",code_class="2xx"} 1');
    expect(text).toContain('halftone_gateway_requests_total{upstream="b",policy="gwp_1",code_class="5xx"} 1');
    expect(text).toContain('halftone_gateway_requests_total{upstream="b",policy="none",code_class="4xx"} 1');
    // Counts accumulate across scrapes (the flush moves them, it does not reset the counter).
    m.observe(b, 'b', 'gwp_1', 200, performance.now());
    expect(await m.text()).toContain('halftone_gateway_requests_total{upstream="b",policy="gwp_1",code_class="2xx"} 2');
  });
});

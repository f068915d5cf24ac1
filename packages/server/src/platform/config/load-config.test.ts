import { describe, expect, it } from 'vitest';
import { HalftoneError } from '../errors/halftone-error.js';
import { type ConfigOverrides, configFields, envVarName } from './config-schema.js';
import { describeConfig, loadConfig } from './load-config.js';

function configError(fn: () => unknown): HalftoneError {
  try {
    fn();
  } catch (err) {
    if (err instanceof HalftoneError) return err;
    throw err;
  }
  throw new Error('expected loadConfig to throw');
}

describe('loadConfig', () => {
  it('returns the schema defaults for an empty environment', () => {
    expect(loadConfig({ env: {} })).toEqual({
      dataDir: './.halftone',
      host: '127.0.0.1',
      port: 8080,
      dbUrl: 'sqlite:./.halftone/halftone.db',
      blobUrl: 'file:./.halftone/blobs',
      busUrl: 'memory:',
      logLevel: 'info',
      role: 'all',
      limits: {
        uploadMaxBytes: 512 * 1024 * 1024,
        archiveMaxUncompressedBytes: 2 * 1024 * 1024 * 1024,
        archiveMaxEntries: 20000,
        archiveMaxRatio: 200,
        jsonBodyMaxBytes: 1024 * 1024,
      },
      delta: {
        workers: 1,
        jobTimeoutMs: 120_000,
        maxInputBytes: 256 * 1024 * 1024,
        leaseMs: 30 * 60_000,
      },
      gateway: {
        upstreams: {},
        upstreamTimeoutsMs: {},
        trustedProxies: ['loopback'],
        locations: [],
        timeoutMs: 30_000,
        adminCompat: false,
      },
      events: {
        retentionHours: 72,
        purgeIntervalMs: 600_000,
        maxBatchBytes: 5 * 1024 * 1024,
        maxBatchItems: 1000,
        feedbackMaxChars: 4000,
        rateLimitScope: 'device',
        rateLimitWindowSeconds: 60,
        rateLimits: { session: 600, crash: 300, anr: 300, install: 600, event: 6000, feedback: 60, clientReport: 300 },
      },
      flags: { sseHeartbeatMs: 15_000, sseMaxConnections: 10_000, sseInactivityDelaySec: 120 },
      diagnostics: {
        uploadMaxBytes: 50 * 1024 * 1024,
        defaultExpirySeconds: 7 * 86_400,
        maxExpirySeconds: 30 * 86_400,
        sweepIntervalMs: 60_000,
      },
      clock: { mode: 'system' },
      health: {
        evaluateIntervalMs: 60_000,
        breakerWindowMinutes: 30,
        webhooks: [],
        webhookTimeoutMs: 5000,
        webhookMaxAttempts: 5,
        webhookBackoffMs: 1000,
      },
    });
  });

  it('reads the clock and health sections (manual clock, webhooks as JSON)', () => {
    const config = loadConfig({
      env: {
        HALFTONE_CLOCK_MODE: 'manual',
        HALFTONE_CLOCK_START: '2026-01-01T00:00:00Z',
        HALFTONE_HEALTH_WEBHOOKS: '[{"url":"https://hooks.example.com/h","secret":"s3cr3t-value"}]',
      },
    });
    expect(config.clock).toEqual({ mode: 'manual', start: '2026-01-01T00:00:00Z' });
    expect(config.health.webhooks).toEqual([{ url: 'https://hooks.example.com/h', secret: 's3cr3t-value' }]);
    let detail = '';
    try {
      loadConfig({ env: { HALFTONE_HEALTH_WEBHOOKS: '[{"url":"ftp://x","secret":"s3cr3t-value"}]' } });
    } catch (err) {
      detail = (err as { detail?: string }).detail ?? '';
    }
    expect(detail).toMatch(/HALFTONE_HEALTH_WEBHOOKS/);
    expect(detail).not.toContain('s3cr3t-value');
    expect(() => loadConfig({ env: { HALFTONE_CLOCK_MODE: 'fast' } })).toThrow();
  });

  it('reads the gateway section: JSON upstreams, comma-separated or JSON lists', () => {
    const config = loadConfig({
      env: {
        HALFTONE_GATEWAY_PORT: '9090',
        HALFTONE_GATEWAY_UPSTREAMS: '{"a":["http://10.0.0.1:80"],"b":["http://10.0.0.2:80","http://10.0.0.3:80"]}',
        HALFTONE_GATEWAY_DEFAULT_UPSTREAM: 'a',
        HALFTONE_GATEWAY_TRUSTED_PROXIES: '10.0.0.9, 127.0.0.1',
        HALFTONE_GATEWAY_LOCATIONS: '[{"pattern":"/abc/(i|f)/","suffix":".abc"}]',
      },
    });
    expect(config.gateway).toEqual({
      port: 9090,
      upstreams: { a: ['http://10.0.0.1:80'], b: ['http://10.0.0.2:80', 'http://10.0.0.3:80'] },
      upstreamTimeoutsMs: {},
      defaultUpstream: 'a',
      trustedProxies: ['10.0.0.9', '127.0.0.1'],
      locations: [{ pattern: '/abc/(i|f)/', suffix: '.abc' }],
      timeoutMs: 30_000,
      adminCompat: false,
    });
    expect(loadConfig({ env: { HALFTONE_GATEWAY_TRUSTED_PROXIES: '["::1"]' } }).gateway.trustedProxies).toEqual(['::1']);
    const detail = (env: Record<string, string>) => {
      try {
        loadConfig({ env });
      } catch (err) {
        return (err as { detail?: string }).detail;
      }
      return undefined;
    };
    expect(detail({ HALFTONE_GATEWAY_UPSTREAMS: '{nope' })).toMatch(/HALFTONE_GATEWAY_UPSTREAMS: expected a JSON object/);
    expect(detail({ HALFTONE_GATEWAY_UPSTREAMS: '{"a":["ftp://x"]}' })).toMatch(/HALFTONE_GATEWAY_UPSTREAMS/);
  });

  it('reads HALFTONE_* variables, parsing numbers', () => {
    const config = loadConfig({
      env: {
        HALFTONE_DATA_DIR: '/var/lib/halftone',
        HALFTONE_HOST: '0.0.0.0',
        HALFTONE_PORT: '0',
        HALFTONE_PUBLIC_URL: 'https://updates.example.com',
        HALFTONE_BUS_URL: 'redis://127.0.0.1:6379',
        HALFTONE_ADMIN_TOKEN: 'a'.repeat(32),
        HALFTONE_LOG_LEVEL: 'debug',
        HALFTONE_LIMITS_UPLOAD_MAX_BYTES: '1048576',
        HALFTONE_LIMITS_ARCHIVE_MAX_RATIO: '150.5',
        UNRELATED: 'x',
      },
    });
    expect(config.dataDir).toBe('/var/lib/halftone');
    expect(config.host).toBe('0.0.0.0');
    expect(config.port).toBe(0);
    expect(config.publicUrl).toBe('https://updates.example.com');
    expect(config.dbUrl).toBe('sqlite:/var/lib/halftone/halftone.db');
    expect(config.blobUrl).toBe('file:/var/lib/halftone/blobs');
    expect(config.busUrl).toBe('redis://127.0.0.1:6379');
    expect(config.adminToken).toBe('a'.repeat(32));
    expect(config.logLevel).toBe('debug');
    expect(config.limits.uploadMaxBytes).toBe(1048576);
    expect(config.limits.archiveMaxRatio).toBe(150.5);
    expect(config.limits.archiveMaxEntries).toBe(20000);
  });

  it('lets overrides win over the environment', () => {
    const config = loadConfig({
      env: { HALFTONE_PORT: '9000', HALFTONE_LIMITS_ARCHIVE_MAX_ENTRIES: '10' },
      overrides: { port: 1234, limits: { jsonBodyMaxBytes: 2048 } },
    });
    expect(config.port).toBe(1234);
    expect(config.limits.archiveMaxEntries).toBe(10);
    expect(config.limits.jsonBodyMaxBytes).toBe(2048);
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ env: { HALFTONE_PORT: '', HALFTONE_ADMIN_TOKEN: '' } })).toMatchObject({
      port: 8080,
    });
    expect(loadConfig({ env: { HALFTONE_ADMIN_TOKEN: '' } }).adminToken).toBeUndefined();
  });

  it('expands {dataDir} in explicit values too', () => {
    const config = loadConfig({
      env: { HALFTONE_DATA_DIR: '/data/', HALFTONE_DB_URL: 'sqlite:{dataDir}/other.db' },
    });
    expect(config.dbUrl).toBe('sqlite:/data/other.db');
  });

  it('accepts every documented URL form', () => {
    for (const dbUrl of [
      'sqlite::memory:',
      'sqlite:/tmp/x.db',
      'postgres://u:p@h:5432/d',
      'postgresql://h/d',
    ]) {
      expect(loadConfig({ env: {}, overrides: { dbUrl } }).dbUrl).toBe(dbUrl);
    }
    for (const blobUrl of ['memory:', 'file:/srv/blobs']) {
      expect(loadConfig({ env: {}, overrides: { blobUrl } }).blobUrl).toBe(blobUrl);
    }
    for (const busUrl of ['memory:', 'redis://h:6379/2', 'rediss://:pw@h:6380']) {
      expect(loadConfig({ env: {}, overrides: { busUrl } }).busUrl).toBe(busUrl);
    }
  });

  it('rejects non-numeric numbers instead of falling back to the default', () => {
    const err = configError(() => loadConfig({ env: { HALFTONE_PORT: 'abc' } }));
    expect(err.code).toBe('HT_CONFIG_INVALID');
    expect(err.status).toBe(500);
    expect(err.detail).toBe('HALFTONE_PORT: expected an integer, got "abc"');
    expect(err.fields).toEqual([
      { pointer: '/port', message: 'HALFTONE_PORT: expected an integer, got "abc"' },
    ]);
  });

  it.each([
    ['HALFTONE_PORT', '80.5'],
    ['HALFTONE_PORT', '8080abc'],
    ['HALFTONE_PORT', ' 8080'],
    ['HALFTONE_PORT', '0x50'],
    ['HALFTONE_LIMITS_UPLOAD_MAX_BYTES', '1e3'],
    ['HALFTONE_LIMITS_ARCHIVE_MAX_RATIO', 'NaN'],
    ['HALFTONE_LIMITS_ARCHIVE_MAX_RATIO', 'Infinity'],
    ['HALFTONE_LIMITS_ARCHIVE_MAX_ENTRIES', '99999999999999999999'],
  ])('rejects %s=%j', (name, value) => {
    const err = configError(() => loadConfig({ env: { [name]: value } }));
    expect(err.detail).toContain(name);
  });

  it('collects every problem into one error', () => {
    const err = configError(() =>
      loadConfig({
        env: {
          HALFTONE_PORT: '70000',
          HALFTONE_LOG_LEVEL: 'loud',
          HALFTONE_DB_URL: 'mysql://h/d',
          HALFTONE_BLOB_URL: 's3://bucket',
          HALFTONE_BUS_URL: 'nats://h',
          HALFTONE_PUBLIC_URL: 'ftp://x',
          HALFTONE_LIMITS_JSON_BODY_MAX_BYTES: '0',
          HALFTONE_ROLE: 'everything',
        },
        overrides: { nope: 1, limits: { what: 2 } } as unknown as ConfigOverrides,
      }),
    );
    const pointers = err.fields?.map((f) => f.pointer);
    expect(pointers).toEqual([
      '/nope',
      '/limits/what',
      '/port',
      '/publicUrl',
      '/dbUrl',
      '/blobUrl',
      '/busUrl',
      '/logLevel',
      '/role',
      '/limits/jsonBodyMaxBytes',
    ]);
    expect(err.detail?.split('\n')).toHaveLength(10);
    expect(err.detail).toContain(
      'HALFTONE_LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent, got "loud"',
    );
    expect(err.detail).toContain(
      'HALFTONE_DB_URL: must start with sqlite:, postgres:// or postgresql://',
    );
    expect(err.detail).toContain('HALFTONE_PORT: expected integer to be less or equal to 65535');
    expect(err.detail).toContain('nope (override): is not a configuration setting');
  });

  it('rejects override values of the wrong type', () => {
    const err = configError(() =>
      loadConfig({ env: {}, overrides: { port: '8080' } as unknown as ConfigOverrides }),
    );
    expect(err.detail).toBe('port (override): expected integer, got "8080"');
  });

  it('never echoes the admin token or URL passwords in errors', () => {
    const err = configError(() =>
      loadConfig({
        env: {
          HALFTONE_ADMIN_TOKEN: 'short-secret',
          HALFTONE_BUS_URL: 'nats://user:hunter2@h',
        },
      }),
    );
    expect(err.detail).toContain('HALFTONE_ADMIN_TOKEN');
    expect(err.detail).not.toContain('short-secret');
    expect(err.detail).not.toContain('hunter2');
  });

  describe('roles', () => {
    it('accepts role=all with any adapters', () => {
      expect(loadConfig({ env: { HALFTONE_ROLE: 'all' } }).role).toBe('all');
    });

    it('rejects a split role on SQLite, an in-memory bus or in-memory blobs', () => {
      const err = configError(() =>
        loadConfig({ env: { HALFTONE_ROLE: 'api', HALFTONE_BLOB_URL: 'memory:' } }),
      );
      expect(err.fields?.map((f) => f.pointer)).toEqual(['/dbUrl', '/blobUrl', '/busUrl']);
      expect(err.detail).toContain('needs a postgres:// database');
      expect(err.detail).toContain('needs a redis:// bus');
    });

    it('accepts a split role on PostgreSQL and Redis', () => {
      const config = loadConfig({
        env: {
          HALFTONE_ROLE: 'gateway',
          HALFTONE_DB_URL: 'postgres://u:p@db/halftone',
          HALFTONE_BUS_URL: 'redis://redis:6379',
        },
      });
      expect(config.role).toBe('gateway');
    });
  });

  it('returns a deep-frozen object', () => {
    const config = loadConfig({ env: {} });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.limits)).toBe(true);
    expect(() => {
      (config.limits as { uploadMaxBytes: number }).uploadMaxBytes = 1;
    }).toThrow(TypeError);
  });

  it('does not freeze or mutate the caller’s overrides', () => {
    const overrides = { limits: { uploadMaxBytes: 10 } };
    loadConfig({ env: {}, overrides });
    expect(Object.isFrozen(overrides.limits)).toBe(false);
    expect(overrides).toEqual({ limits: { uploadMaxBytes: 10 } });
  });
});

describe('describeConfig', () => {
  it('redacts the admin token and URL passwords', () => {
    const config = loadConfig({
      env: {
        HALFTONE_ROLE: 'api',
        HALFTONE_ADMIN_TOKEN: 'super-secret-token-123',
        HALFTONE_DB_URL: 'postgres://halftone:pg-pass@db:5432/halftone',
        HALFTONE_BUS_URL: 'redis://:redis-pass@redis:6379',
      },
    });
    const described = describeConfig(config);
    const text = JSON.stringify(described);
    expect(text).not.toContain('super-secret-token-123');
    expect(text).not.toContain('pg-pass');
    expect(text).not.toContain('redis-pass');
    expect(described.adminToken).toBe('[redacted]');
    expect(described.dbUrl).toBe('postgres://halftone:***@db:5432/halftone');
    expect(described.busUrl).toBe('redis://:***@redis:6379');
    expect(described.limits).toEqual(config.limits);
    expect(config.adminToken).toBe('super-secret-token-123');
  });

  it('leaves an unset admin token absent', () => {
    expect(describeConfig(loadConfig({ env: {} }))).not.toHaveProperty('adminToken');
  });
});

describe('configFields', () => {
  it('maps every leaf to a HALFTONE_* variable with a description', () => {
    const fields = configFields();
    expect(fields.map((f) => f.env)).toContain('HALFTONE_LIMITS_ARCHIVE_MAX_UNCOMPRESSED_BYTES');
    for (const field of fields) {
      expect(field.env).toMatch(/^HALFTONE_[A-Z0-9_]+$/);
      expect(typeof field.schema.description).toBe('string');
      expect(field.optional || field.schema.default !== undefined).toBe(true);
    }
    expect(envVarName(['limits', 'uploadMaxBytes'])).toBe('HALFTONE_LIMITS_UPLOAD_MAX_BYTES');
  });
});

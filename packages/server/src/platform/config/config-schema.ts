import { isIP } from 'node:net';
import { FormatRegistry, KindGuard, type Static, type TSchema, Type } from '@sinclair/typebox';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** One block of `gateway.trustedProxies`: an address (no prefix) or a CIDR block. */
export interface TrustedProxyEntry {
  readonly address: string;
  readonly family: 'ipv4' | 'ipv6';
  /** Prefix length of a CIDR block; undefined for one address. */
  readonly prefix?: number;
}

const MAPPED_V4 = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;

/**
 * Parses one `gateway.trustedProxies` entry: an IPv4/IPv6 address, a CIDR block
 * (`10.0.0.0/8`, `fd00::/8`) or `loopback` (127.0.0.0/8 and ::1). IPv4-mapped IPv6 entries
 * (`::ffff:10.0.0.1`, `::ffff:10.0.0.0/104`) become their IPv4 equivalent. Returns undefined for
 * anything else (zone ids, out-of-range prefixes, host names).
 *
 * @example
 * parseTrustedProxyEntry('10.0.0.0/8'); // [{ address: '10.0.0.0', family: 'ipv4', prefix: 8 }]
 */
export function parseTrustedProxyEntry(raw: string): TrustedProxyEntry[] | undefined {
  const text = raw.trim();
  if (text.toLowerCase() === 'loopback') {
    return [
      { address: '127.0.0.0', family: 'ipv4', prefix: 8 },
      { address: '::1', family: 'ipv6' },
    ];
  }
  const slash = text.indexOf('/');
  const address = slash < 0 ? text : text.slice(0, slash);
  const prefixText = slash < 0 ? undefined : text.slice(slash + 1);
  const version = isIP(address);
  if (version === 0 || address.includes('%')) return undefined;
  let prefix: number | undefined;
  if (prefixText !== undefined) {
    if (!/^\d{1,3}$/.test(prefixText)) return undefined;
    prefix = Number(prefixText);
    if (prefix > (version === 4 ? 32 : 128)) return undefined;
  }
  const mapped = MAPPED_V4.exec(address)?.[1];
  if (mapped !== undefined && isIP(mapped) === 4 && (prefix === undefined || prefix >= 96)) {
    return [prefix === undefined ? { address: mapped, family: 'ipv4' } : { address: mapped, family: 'ipv4', prefix: prefix - 96 }];
  }
  const family = version === 4 ? 'ipv4' : 'ipv6';
  return [prefix === undefined ? { address, family } : { address, family, prefix }];
}

// Checked by TypeBox wherever the schema is (config loading, docs tests).
FormatRegistry.Set('trusted-proxy', (value) => parseTrustedProxyEntry(value) !== undefined);

/** What a value failing each custom string format should be, for configuration errors. */
export const FORMAT_HINTS: Readonly<Record<string, string>> = {
  'trusted-proxy': 'is not an IP address, a CIDR block (10.0.0.0/8, fd00::/8) or "loopback"',
};

/** Log levels accepted by `logLevel` (pino's, plus `silent`). */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Server roles. `all` runs every role in one process; the others are for scaling out. */
export const ROLES = ['all', 'api', 'gateway', 'sync'] as const;

/**
 * The one schema of the server configuration. It is the only place a default lives; the
 * loader, the validation and docs/configuration.md (via `renderConfigDocs`) all derive from it.
 *
 * Each leaf maps to one environment variable, `HALFTONE_` + its path in upper snake case
 * (`limits.uploadMaxBytes` → `HALFTONE_LIMITS_UPLOAD_MAX_BYTES`). `{dataDir}` in a string
 * value (default or not) expands to the resolved `dataDir`. Fields marked `secret` are never
 * printed by `describeConfig` or echoed in validation errors.
 */
export const ConfigSchema = Type.Object(
  {
    dataDir: Type.String({
      minLength: 1,
      default: './.halftone',
      description:
        'Directory for the embedded defaults: the SQLite database and the blob store. ' +
        '`{dataDir}` in other settings expands to this value.',
    }),
    host: Type.String({
      minLength: 1,
      default: '127.0.0.1',
      description:
        'Interface the HTTP server listens on. Use `0.0.0.0` to listen on every interface.',
    }),
    port: Type.Integer({
      minimum: 0,
      maximum: 65535,
      default: 8080,
      description: 'TCP port the HTTP server listens on. `0` picks a free port.',
    }),
    publicUrl: Type.Optional(
      Type.String({
        description:
          'Base URL (`http://` or `https://`) devices use to reach this server, e.g. for download ' +
          'links. When unset, links are derived from each request.',
      }),
    ),
    dbUrl: Type.String({
      default: 'sqlite:{dataDir}/halftone.db',
      description:
        'Database. `sqlite:<path>` (a file, created if missing), `sqlite::memory:` (lost on ' +
        'exit), or `postgres://user:password@host:5432/db` (`postgresql://` also works).',
    }),
    blobUrl: Type.String({
      default: 'file:{dataDir}/blobs',
      description:
        'Content-addressed storage for uploaded bundles. `file:<dir>` or `memory:` (lost on exit).',
    }),
    busUrl: Type.String({
      default: 'memory:',
      description:
        'Event bus between roles. `memory:` (in-process, for `role=all`) or ' +
        '`redis://[:password@]host:6379[/db]` (`rediss://` for TLS).',
    }),
    adminToken: Type.Optional(
      Type.String({
        minLength: 16,
        secret: true,
        description:
          'Bootstrap admin bearer token, at least 16 characters. Grants full admin access; ' +
          'generate it with `openssl rand -base64 32`.',
      }),
    ),
    logLevel: Type.Union(
      LOG_LEVELS.map((level) => Type.Literal(level)),
      { default: 'info', description: 'Minimum level written to the log.' },
    ),
    role: Type.Union(
      ROLES.map((role) => Type.Literal(role)),
      {
        default: 'all',
        description:
          'Which roles this process runs. `all` runs everything in one process and works with ' +
          'every adapter. `api`, `gateway` and `sync` run one role each, for scaling out; they ' +
          'need a shared PostgreSQL `dbUrl`, a Redis `busUrl` and a non-memory `blobUrl`, and ' +
          'are rejected otherwise.',
      },
    ),
    limits: Type.Object(
      {
        uploadMaxBytes: Type.Integer({
          minimum: 1,
          default: 512 * MiB,
          description: 'Largest upload (a bundle archive) accepted, in bytes.',
        }),
        archiveMaxUncompressedBytes: Type.Integer({
          minimum: 1,
          default: 2 * GiB,
          description: 'Largest total uncompressed size of an uploaded archive, in bytes.',
        }),
        archiveMaxEntries: Type.Integer({
          minimum: 1,
          default: 20000,
          description: 'Most entries (files and directories) an uploaded archive may contain.',
        }),
        archiveMaxRatio: Type.Number({
          minimum: 1,
          default: 200,
          description:
            'Highest compression ratio (uncompressed / compressed) of one archive entry; ' +
            'beyond it the archive is rejected as a zip bomb.',
        }),
        jsonBodyMaxBytes: Type.Integer({
          minimum: 1,
          default: 1 * MiB,
          description: 'Largest JSON request body accepted, in bytes.',
        }),
      },
      { additionalProperties: false, description: 'Size limits that protect the server.' },
    ),
    delta: Type.Object(
      {
        workers: Type.Integer({
          minimum: 0,
          maximum: 64,
          default: 1,
          description:
            'Worker threads computing patches between package versions on demand. `0` turns ' +
            'patches off (devices always get full packages).',
        }),
        jobTimeoutMs: Type.Integer({
          minimum: 1000,
          default: 120_000,
          description: 'Time budget of one patch job; a job past it is stopped and the pair is served in full.',
        }),
        maxInputBytes: Type.Integer({
          minimum: 1,
          default: 256 * MiB,
          description:
            'Largest old + new uncompressed package size a patch is computed for (memory is about ' +
            'six times this); larger pairs are served in full.',
        }),
        leaseMs: Type.Integer({
          minimum: 1000,
          default: 30 * 60_000,
          description:
            'How long a job in progress is marked as such (the seeds keep the mark 30 minutes); ' +
            'a mark older than this is taken over by another process.',
        }),
      },
      { additionalProperties: false, description: 'On-demand binary patches between package versions.' },
    ),
    gateway: Type.Object(
      {
        port: Type.Optional(
          Type.Integer({
            minimum: 0,
            maximum: 65535,
            description:
              'TCP port of the gray gateway (layer-7 reverse proxy). When unset, no gateway listens. ' +
              '`0` picks a free port.',
          }),
        ),
        upstreams: Type.Record(
          Type.String({ pattern: '^[A-Za-z0-9_.-]{1,64}$' }),
          Type.Array(Type.String({ pattern: '^https?://' }), { minItems: 1, maxItems: 64 }),
          {
            default: {},
            description:
              'Upstreams known from the configuration, as JSON: `{"name":["http://10.0.0.1:8080",…]}`. ' +
              'Upstreams set through the admin API win over these.',
          },
        ),
        upstreamTimeoutsMs: Type.Record(
          Type.String({ pattern: '^[A-Za-z0-9_.-]{1,64}$' }),
          Type.Integer({ minimum: 1, maximum: 3_600_000 }),
          {
            default: {},
            description:
              'Per-upstream inactivity timeouts overriding `gateway.timeoutMs`, as JSON: ' +
              '`{"slow-batch":120000}`. An upstream set through the admin API with its own ' +
              '`timeoutMs` wins.',
          },
        ),
        defaultUpstream: Type.Optional(
          Type.String({
            minLength: 1,
            description: 'Upstream of requests no policy maps (when unset they answer 502).',
          }),
        ),
        trustedProxies: Type.Array(Type.String({ minLength: 1, format: 'trusted-proxy' }), {
          default: ['loopback'],
          description:
            'Peers whose `X-Real-IP` / `X-Forwarded-For` headers are believed, as JSON or ' +
            'comma-separated: IPv4/IPv6 addresses, CIDR blocks (`10.0.0.0/8`, `fd00::/8`) or ' +
            '`loopback` (127.0.0.0/8 and ::1). IPv4-mapped IPv6 peers (`::ffff:10.1.2.3`) match ' +
            'the IPv4 entries. An entry that is none of these is a configuration error.',
        }),
        locations: Type.Array(
          Type.Object(
            {
              pattern: Type.String({ minLength: 1 }),
              suffix: Type.String({ pattern: '^[A-Za-z0-9_.-]{1,64}$' }),
            },
            { additionalProperties: false },
          ),
          {
            default: [],
            description:
              'Location-level runtime keys, as JSON: `[{"pattern":"/abc/(i|f)/","suffix":".abc"}]`. A request ' +
              'whose path (without the query) matches `pattern` (a case-insensitive regular expression, ' +
              'like nginx `location ~*`; the first match wins) is diverted by the binding of ' +
              '`<host><suffix>` (e.g. `api.weibo.cn.abc`) instead of `<host>`, and goes to the default ' +
              'upstream when that key has none — the ABTestingGateway `$hostkey` of a location.',
          },
        ),
        timeoutMs: Type.Integer({
          minimum: 1,
          default: 30_000,
          description: 'Per-upstream timeout for the response headers and between body chunks.',
        }),
        adminCompat: Type.Boolean({
          default: false,
          description:
            'Also serve the ABTestingGateway admin dialects (`/ab_admin?action=…`, `/admin/policy/…`, ' +
            '`/admin/runtime/…`) on the gateway port, to loopback peers only and without the admin ' +
            'token, like the original. They are always served on the admin port, with the token.',
        }),
      },
      { additionalProperties: false, description: 'The gray gateway.' },
    ),
    events: Type.Object(
      {
        retentionHours: Type.Integer({
          minimum: 1,
          default: 72,
          description:
            'How long raw client events (`POST /client/v1/events`) are kept, in hours, by the time ' +
            'they were received; older ones are purged periodically. Resent items are recognised ' +
            '(deduplicated) within this window. Rollups and crash groups are kept indefinitely.',
        }),
        purgeIntervalMs: Type.Integer({
          minimum: 1000,
          default: 10 * 60_000,
          description: 'How often raw events past `retentionHours` are purged, in milliseconds.',
        }),
        maxBatchBytes: Type.Integer({
          minimum: 1024,
          default: 5 * MiB,
          description:
            'Largest event batch accepted, in bytes, both as sent and after gzip decompression; ' +
            'larger batches (and gzip bombs) answer 413.',
        }),
        maxBatchItems: Type.Integer({
          minimum: 1,
          default: 1000,
          description: 'Most items one event batch may carry; more answers 413.',
        }),
        feedbackMaxChars: Type.Integer({
          minimum: 1,
          default: 4000,
          description: 'Longest `feedback` text kept, in characters; longer texts are truncated and flagged.',
        }),
        rateLimitScope: Type.Union([Type.Literal('device'), Type.Literal('app')], {
          default: 'device',
          description:
            'What the per-category rate limits count: each device (`device`) or each app as a whole (`app`).',
        }),
        rateLimitWindowSeconds: Type.Integer({
          minimum: 1,
          maximum: 86_400,
          default: 60,
          description: 'Length of the fixed window the per-category rate limits count in, in seconds.',
        }),
        rateLimits: Type.Object(
          {
            session: Type.Integer({ minimum: 1, default: 600, description: '`session` items per window.' }),
            crash: Type.Integer({ minimum: 1, default: 300, description: '`crash` items per window.' }),
            anr: Type.Integer({ minimum: 1, default: 300, description: '`anr` items per window.' }),
            install: Type.Integer({
              minimum: 1,
              default: 600,
              description: '`download` and `install` items per window.',
            }),
            event: Type.Integer({
              minimum: 1,
              default: 6000,
              description: '`page_view` and `custom` items per window.',
            }),
            feedback: Type.Integer({ minimum: 1, default: 60, description: '`feedback` items per window.' }),
            clientReport: Type.Integer({
              minimum: 1,
              default: 300,
              description: '`client_report` items per window.',
            }),
          },
          {
            additionalProperties: false,
            description:
              'Per-category limits (per `rateLimitScope`, per window). A batch that would pass any of ' +
              'them is refused whole with 429 and `Retry-After`, so nothing is sampled or dropped: ' +
              'the device keeps the batch and retries.',
          },
        ),
      },
      { additionalProperties: false, description: 'Client event ingestion (release health).' },
    ),
    flags: Type.Object(
      {
        sseHeartbeatMs: Type.Integer({
          minimum: 1000,
          default: 15_000,
          description:
            'How often an open config event stream (OFREP `eventStreams`, `/ofrep/v1/events/…`) gets a ' +
            'comment line so proxies and clients keep it open, in milliseconds.',
        }),
        sseMaxConnections: Type.Integer({
          minimum: 1,
          default: 10_000,
          description:
            'Config event streams one server process keeps open at most; one more answers 429 with ' +
            '`Retry-After` (each stream is one socket and file descriptor).',
        }),
        sseInactivityDelaySec: Type.Integer({
          minimum: 1,
          default: 120,
          description:
            'The `inactivityDelaySec` advertised with the event stream: how long a hidden web client ' +
            'keeps its stream before closing it (it refetches when it becomes visible again).',
        }),
      },
      { additionalProperties: false, description: 'Dynamic config and switches: delivery to devices and OpenFeature clients.' },
    ),
    diagnostics: Type.Object(
      {
        uploadMaxBytes: Type.Integer({
          minimum: 1,
          default: 50 * MiB,
          description:
            'Largest diagnostic upload (`POST /client/v1/diagnostics/:commandId`) accepted, in bytes; ' +
            'a larger one answers 413 and nothing is stored.',
        }),
        defaultExpirySeconds: Type.Integer({
          minimum: 1,
          default: 7 * 86_400,
          description:
            'How long a diagnostic command waits for its upload when the request names no expiry, in ' +
            'seconds (7 days). At most `maxExpirySeconds`.',
        }),
        maxExpirySeconds: Type.Integer({
          minimum: 1,
          default: 30 * 86_400,
          description: 'Longest expiry a diagnostic command may ask for, in seconds (30 days).',
        }),
        sweepIntervalMs: Type.Integer({
          minimum: 1000,
          default: 60_000,
          description:
            'How often diagnostic commands past their expiry are marked `expired`, in milliseconds ' +
            '(they read as expired at once either way).',
        }),
        blobUrl: Type.Optional(
          Type.String({
            minLength: 1,
            description:
              'Where diagnostic uploads are kept: `file:<dir>` or `memory:`. A store of its own, so ' +
              'uploads are never served by the public `/client/v1/blobs/…` route. When unset: ' +
              '`memory:` if `blobUrl` is `memory:`, else a `diagnostics` directory next to the ' +
              '`blobUrl` directory (`{dataDir}/diagnostics` by default).',
          }),
        ),
      },
      { additionalProperties: false, description: 'Diagnostic commands to devices and their uploads.' },
    ),
    clock: Type.Object(
      {
        mode: Type.Union([Type.Literal('system'), Type.Literal('manual')], {
          default: 'system',
          description:
            'The server\'s clock. `system`: the wall clock. `manual` (for simulations and tests): the ' +
            'time stands still until `PUT /admin/v1/clock {"now": ISO}` moves it forward; it drives ' +
            'event ingestion, the health windows and decisions, release and package timestamps and ' +
            'diagnostics expiry, and the periodic health evaluator does not run (call ' +
            '`POST /admin/v1/health/evaluate`). Timers (stats flush, purges, sweeps) keep real time.',
        }),
        start: Type.Optional(
          Type.String({
            pattern: '^\\d{4}-\\d{2}-\\d{2}T',
            description: 'Where the manual clock starts (ISO 8601); the current wall-clock time when unset.',
          }),
        ),
      },
      { additionalProperties: false, description: 'The clock (system, or manual for simulations).' },
    ),
    health: Type.Object(
      {
        evaluateIntervalMs: Type.Integer({
          minimum: 1000,
          default: 60_000,
          description:
            'How often the health evaluator judges every running health-gated release and evaluates ' +
            'the circuit breakers, in milliseconds (one process at a time holds the evaluator lease). ' +
            'Not used with `clock.mode=manual`.',
        }),
        breakerWindowMinutes: Type.Integer({
          minimum: 1,
          maximum: 10_080,
          default: 30,
          description:
            'The window a circuit-breaker rule reads its crash and ANR rates over when the rule names ' +
            'none, in minutes (Crashlytics velocity alerts use 30).',
        }),
        webhooks: Type.Array(
          Type.Object(
            {
              url: Type.String({ pattern: '^https?://' }),
              secret: Type.Optional(Type.String({ minLength: 1 })),
            },
            { additionalProperties: false },
          ),
          {
            default: [],
            secret: true,
            description:
              'Receivers of health decisions (advance, await, halt, rollback, breaker actions, feedback ' +
              'alerts), as JSON: `[{"url":"https://hooks.example.com/halftone","secret":"…"}]`. Each ' +
              'decision is POSTed as JSON; with a `secret`, `X-Halftone-Signature: sha256=<hex HMAC-SHA256 ' +
              'of the body>`.',
          },
        ),
        webhookTimeoutMs: Type.Integer({
          minimum: 100,
          default: 5000,
          description: 'How long one webhook delivery attempt may take, in milliseconds.',
        }),
        webhookMaxAttempts: Type.Integer({
          minimum: 1,
          maximum: 20,
          default: 5,
          description: 'Attempts per webhook delivery, the first included; then the failure is logged.',
        }),
        webhookBackoffMs: Type.Integer({
          minimum: 1,
          default: 1000,
          description: 'Wait before the second webhook attempt, in milliseconds; doubled each retry (at most 60 s).',
        }),
      },
      { additionalProperties: false, description: 'Release health gates, circuit breakers and their webhooks.' },
    ),
  },
  { additionalProperties: false },
);

/** The configuration shape, as the schema describes it (mutable; see `Config`). */
export type ConfigShape = Static<typeof ConfigSchema>;

type DeepReadonly<T> = { readonly [K in keyof T]: T[K] extends object ? DeepReadonly<T[K]> : T[K] };

/** The validated, deep-frozen configuration returned by `loadConfig`. */
export type Config = DeepReadonly<ConfigShape>;

/** Programmatic overrides (CLI flags, tests): any subset of the configuration. */
export type ConfigOverrides = {
  [K in keyof ConfigShape]?: ConfigShape[K] extends object
    ? Partial<ConfigShape[K]>
    : ConfigShape[K];
};

/** One leaf of the schema, with what the loader and the docs need to know about it. */
export interface ConfigField {
  /** Path into the config object, e.g. `['limits', 'uploadMaxBytes']`. */
  readonly path: readonly string[];
  /** Dotted path, e.g. `limits.uploadMaxBytes`. */
  readonly key: string;
  /** Environment variable, e.g. `HALFTONE_LIMITS_UPLOAD_MAX_BYTES`. */
  readonly env: string;
  /** The leaf's TypeBox schema (with `default` and `description`). */
  readonly schema: TSchema;
  /** Whether the field may be absent (it has no default). */
  readonly optional: boolean;
  /** Whether the value is a secret (never printed). */
  readonly secret: boolean;
}

/** `limits.uploadMaxBytes` → `HALFTONE_LIMITS_UPLOAD_MAX_BYTES`. */
export function envVarName(path: readonly string[]): string {
  return `HALFTONE_${path
    .map((segment) => segment.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase())
    .join('_')}`;
}

function collectFields(schema: TSchema, prefix: readonly string[], out: ConfigField[]): void {
  if (!KindGuard.IsObject(schema)) throw new TypeError('Config schema must be an object');
  const required = new Set(schema.required ?? []);
  for (const [name, child] of Object.entries(schema.properties)) {
    const path = [...prefix, name];
    if (KindGuard.IsObject(child)) {
      collectFields(child, path, out);
      continue;
    }
    out.push(
      Object.freeze({
        path: Object.freeze(path),
        key: path.join('.'),
        env: envVarName(path),
        schema: child,
        optional: !required.has(name),
        secret: child.secret === true,
      }),
    );
  }
}

/** Every leaf of {@link ConfigSchema}, in schema order. */
export function configFields(): readonly ConfigField[] {
  const fields: ConfigField[] = [];
  collectFields(ConfigSchema, [], fields);
  return Object.freeze(fields);
}

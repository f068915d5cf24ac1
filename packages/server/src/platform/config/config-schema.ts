import { KindGuard, type Static, type TSchema, Type } from '@sinclair/typebox';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

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
        defaultUpstream: Type.Optional(
          Type.String({
            minLength: 1,
            description: 'Upstream of requests no policy maps (when unset they answer 502).',
          }),
        ),
        trustedProxies: Type.Array(Type.String({ minLength: 1 }), {
          default: ['127.0.0.1', '::1'],
          description:
            'Peer IPs whose `X-Real-IP` / `X-Forwarded-For` headers are believed, as JSON or ' +
            'comma-separated.',
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

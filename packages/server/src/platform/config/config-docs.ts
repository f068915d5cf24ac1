import { KindGuard, type TSchema } from '@sinclair/typebox';
import { type ConfigField, configFields } from './config-schema.js';

const UNITS: readonly [number, string][] = [
  [1024 ** 3, 'GiB'],
  [1024 ** 2, 'MiB'],
  [1024, 'KiB'],
];

function cell(text: string): string {
  return text.replaceAll('|', '\\|').replaceAll('\n', ' ');
}

function describeType(schema: TSchema): string {
  if (KindGuard.IsUnion(schema)) {
    return `one of ${schema.anyOf.map((m: TSchema) => `\`${String(m.const)}\``).join(', ')}`;
  }
  const bounds: string[] = [];
  if (typeof schema.minimum === 'number' && typeof schema.maximum === 'number') {
    bounds.push(`${schema.minimum}–${schema.maximum}`);
  } else if (typeof schema.minimum === 'number') {
    bounds.push(`≥ ${schema.minimum}`);
  }
  if (typeof schema.minLength === 'number' && schema.minLength > 1) {
    bounds.push(`at least ${schema.minLength} characters`);
  }
  const base = KindGuard.IsRecord(schema)
    ? 'JSON object'
    : KindGuard.IsArray(schema)
      ? 'list'
      : KindGuard.IsInteger(schema)
    ? 'integer'
    : KindGuard.IsNumber(schema)
      ? 'number'
      : 'string';
  return bounds.length === 0 ? base : `${base}, ${bounds.join(', ')}`;
}

function describeDefault(field: ConfigField): string {
  const value: unknown = field.schema.default;
  if (value === undefined) return 'unset';
  if (typeof value === 'number') {
    const unit = field.key.endsWith('Bytes')
      ? UNITS.find(([size]) => value % size === 0)
      : undefined;
    return unit === undefined ? `\`${value}\`` : `\`${value}\` (${value / unit[0]} ${unit[1]})`;
  }
  if (typeof value === 'object' && value !== null) return `\`${JSON.stringify(value)}\``;
  return `\`${String(value)}\``;
}

/**
 * Renders docs/configuration.md from the config schema. `scripts/gen-config-docs.mjs` writes
 * its output, and `config-docs.test.ts` fails when the committed file differs.
 *
 * @example
 * writeFileSync('docs/configuration.md', renderConfigDocs());
 */
export function renderConfigDocs(): string {
  const rows = configFields().map((field) =>
    [
      `\`${field.env}\``,
      `\`${field.key}\``,
      cell(describeType(field.schema)),
      describeDefault(field),
      cell(`${String(field.schema.description ?? '')}${field.secret ? ' **Secret.**' : ''}`),
    ].join(' | '),
  );
  return `# Configuration

<!-- Generated from packages/server/src/platform/config/config-schema.ts by
     scripts/gen-config-docs.mjs. Do not edit by hand: change the schema and run
     \`npm run build && node scripts/gen-config-docs.mjs\`. -->

The server reads its configuration once, at startup, from three sources; each one wins over
the one before it:

1. the defaults below;
2. \`HALFTONE_*\` environment variables;
3. command-line flags and programmatic overrides.

Rules:

- An empty variable (\`HALFTONE_PORT=\`) counts as unset.
- Numbers are parsed strictly: \`HALFTONE_PORT=abc\` stops the server; it never falls back to
  the default. Integers are plain decimal digits (no \`1e3\`, no \`0x\`).
- \`{dataDir}\` in any setting expands to the resolved \`dataDir\`, so moving \`dataDir\` moves
  the default database and blob store with it.
- When anything is wrong, the server does not start. It fails with
  [\`HT_CONFIG_INVALID\`](errors.md#ht_config_invalid), listing every problem and the variable
  that caused it.
- The startup log prints the configuration with secrets and URL passwords redacted.

## Settings

| Variable | Setting | Type | Default | Description |
|---|---|---|---|---|
${rows.map((row) => `| ${row} |`).join('\n')}

## Running split roles

By default one process runs every role (\`HALFTONE_ROLE=all\`) on SQLite, the filesystem and an
in-process bus. To scale out, run the \`api\`, \`gateway\` and \`sync\` roles as separate
processes. Every process then needs the same PostgreSQL database (\`HALFTONE_DB_URL\`), the same
Redis bus (\`HALFTONE_BUS_URL\`) and shared blob storage (\`HALFTONE_BLOB_URL\`, not
\`memory:\`). The server refuses to start a split role without them.
`;
}

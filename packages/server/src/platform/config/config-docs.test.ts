import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderConfigDocs } from './config-docs.js';
import { configFields } from './config-schema.js';

// docs/configuration.md is generated from the schema (Fastify test:validator:integrity).
// On failure, regenerate it: npm run build && node scripts/gen-config-docs.mjs
const docsPath = new URL('../../../../../docs/configuration.md', import.meta.url);

describe('docs/configuration.md', () => {
  const rendered = renderConfigDocs();

  it('lists every HALFTONE_* variable', () => {
    for (const field of configFields()) expect(rendered).toContain(`| \`${field.env}\` |`);
  });

  it('matches what renderConfigDocs() generates from the schema', () => {
    expect(readFileSync(docsPath, 'utf8')).toBe(rendered);
  });
});

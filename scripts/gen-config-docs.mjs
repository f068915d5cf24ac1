#!/usr/bin/env node
// Writes docs/configuration.md from the server's config schema (the only source of defaults
// and descriptions). Run after `npm run build`:
//
//   node scripts/gen-config-docs.mjs          # regenerate the file
//   node scripts/gen-config-docs.mjs --check  # exit 1 if the committed file is out of date
//
// packages/server/src/platform/config/config-docs.test.ts performs the same check in `npm test`.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = new URL('../', import.meta.url);
const modulePath = fileURLToPath(
  new URL('packages/server/dist/platform/config/config-docs.js', root),
);
const target = fileURLToPath(new URL('docs/configuration.md', root));

let renderConfigDocs;
try {
  ({ renderConfigDocs } = await import(pathToFileURL(modulePath).href));
} catch (err) {
  console.error(`Cannot load ${modulePath}; run \`npm run build\` first.\n${err}`);
  process.exit(2);
}

const markdown = renderConfigDocs();
if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(target, 'utf8');
  } catch {
    // A missing file is out of date.
  }
  if (current !== markdown) {
    console.error('docs/configuration.md is out of date; run node scripts/gen-config-docs.mjs');
    process.exit(1);
  }
  console.log('docs/configuration.md is up to date');
} else {
  writeFileSync(target, markdown);
  console.log(`wrote ${target}`);
}

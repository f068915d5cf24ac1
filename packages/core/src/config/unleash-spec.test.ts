/**
 * Unleash client-specification conformance: every spec file's state is adapted to Halftone
 * config items (`unleash-adapter.test-helpers.ts`) and every `tests`/`variantTests` case runs
 * through `compileConfigSet`. The spec version is pinned in packages/core/package.json.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileConfigSet } from './compile.js';
import {
  isEnabledOf,
  type UnleashContext,
  type UnleashState,
  type UnleashVariantResult,
  unleashContext,
  unleashStateToItems,
  variantOf,
} from './unleash-adapter.test-helpers.js';
import { validateConfigItem } from './validate.js';

const require = createRequire(import.meta.url);
const specDir = join(dirname(require.resolve('@unleash/client-specification/package.json')), 'specifications');
const specVersion = (require('@unleash/client-specification/package.json') as { version: string }).version;

interface SpecFile {
  name: string;
  state: UnleashState & { events?: unknown[] };
  tests?: { description: string; context: UnleashContext; toggleName: string; expectedResult: boolean }[];
  variantTests?: {
    description: string;
    context: UnleashContext;
    toggleName: string;
    expectedResult: UnleashVariantResult;
  }[];
}

/** The profiles Halftone claims (issue 6); a regression in any of them fails CI. */
const REQUIRED = ['01', '07', '08', '09', '10', '11', '12', '13', '14', '15', '16', '17', '18', '21', '22'];

/** Whole files not run, each with its reason. */
const SKIPPED_FILES: Record<string, string> = {
  '19':
    'delta API hydration: tests the Unleash delta event wire format (`state.events`), not evaluation; Halftone ships whole revisions to the evaluator (the server slice owns revisions/sync)',
  '20':
    'delta API events: same as 19, an Unleash transport format rather than an evaluation rule',
};

/** Single cases not run, keyed `file/description`, each with its reason. */
const SKIPPED_CASES: Record<string, string> = {};

const index = JSON.parse(readFileSync(join(specDir, 'index.json'), 'utf8')) as string[];

it(`runs @unleash/client-specification ${specVersion} (pinned)`, () => {
  expect(specVersion).toBe('6.1.0');
  for (const p of REQUIRED) expect(index.some((f) => f.startsWith(`${p}-`))).toBe(true);
});

for (const file of index) {
  const prefix = file.slice(0, 2);
  const skip = SKIPPED_FILES[prefix];
  if (skip !== undefined) {
    describe.skip(`${file} — skipped: ${skip}`, () => {
      it('not run', () => {});
    });
    continue;
  }
  const spec = JSON.parse(readFileSync(join(specDir, file), 'utf8')) as SpecFile;
  describe(`${file}${REQUIRED.includes(prefix) ? ' (required)' : ''}`, () => {
    const items = unleashStateToItems(spec.state);
    const set = compileConfigSet(items, { transitiveDependencies: false });

    it('adapts to valid Halftone config items', () => {
      for (const item of items) expect(validateConfigItem(item), item.key).toEqual([]);
    });

    for (const t of spec.tests ?? []) {
      const reason = SKIPPED_CASES[`${prefix}/${t.description}`];
      const name = `isEnabled: ${t.description}`;
      if (reason !== undefined) {
        it.skip(`${name} — skipped: ${reason}`, () => {});
        continue;
      }
      it(name, () => {
        expect(isEnabledOf(set.evaluate(t.toggleName, unleashContext(t.context)))).toBe(t.expectedResult);
      });
    }
    for (const t of spec.variantTests ?? []) {
      const reason = SKIPPED_CASES[`${prefix}/${t.description}`];
      const name = `getVariant: ${t.description}`;
      if (reason !== undefined) {
        it.skip(`${name} — skipped: ${reason}`, () => {});
        continue;
      }
      it(name, () => {
        const got = variantOf(set.evaluate(t.toggleName, unleashContext(t.context)));
        const want = { ...t.expectedResult };
        // Older spec files omit feature_enabled; compare it only where the spec states it.
        const gotCmp: Partial<UnleashVariantResult> = { ...got };
        if (want.feature_enabled === undefined) delete gotCmp.feature_enabled;
        expect(gotCmp).toEqual(want);
      });
    }
  });
}

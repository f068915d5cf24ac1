import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { errorCatalogue, RETIRED_CODES } from '../../error-codes.js';
import { defineError, ERROR_CODE_PATTERN } from './halftone-error.js';

// The catalogue is the public API; docs/errors.md is its documentation. Neither may drift
// (Fastify test/internals/errors.test.js).
const docsPath = new URL('../../../../../docs/errors.md', import.meta.url);
const docs = readFileSync(docsPath, 'utf8');

/** Code → status for every table row (`| <a id…></a>`HT_X` | 404 | …`) and heading. */
function documentedCodes(markdown: string): Map<string, number | undefined> {
  const documented = new Map<string, number | undefined>();
  for (const line of markdown.split('\n')) {
    const row = /^\|([^|]*)\|([^|]*)\|/.exec(line);
    if (row) {
      const code = /`(HT_[A-Z0-9_]+)`/.exec(row[1] ?? '')?.[1];
      if (code !== undefined) documented.set(code, Number((row[2] ?? '').trim()));
      continue;
    }
    const heading = /^#{1,6}\s+`?(HT_[A-Z0-9_]+)`?\s*$/.exec(line);
    if (heading?.[1] !== undefined) documented.set(heading[1], undefined);
  }
  return documented;
}

describe('error catalogue', () => {
  const catalogue = errorCatalogue();
  const codes = catalogue.map((e) => e.code);

  it('has the platform codes', () => {
    expect(codes).toEqual(expect.arrayContaining(['HT_VALIDATION', 'HT_INTERNAL', 'HT_NOT_FOUND']));
  });

  it('has unique codes matching HT_<SLICE>_<REASON>', () => {
    expect(new Set(codes).size).toBe(codes.length);
    for (const code of codes) expect(code).toMatch(ERROR_CODE_PATTERN);
  });

  it('has statuses in 400–599', () => {
    for (const { code, status } of catalogue) {
      expect({ code, status: Number.isInteger(status) && status >= 400 && status <= 599 }).toEqual({
        code,
        status: true,
      });
    }
  });

  it('documents every code in docs/errors.md with its status', () => {
    const documented = documentedCodes(docs);
    const missing = codes.filter((code) => !documented.has(code));
    expect(missing, 'codes missing from docs/errors.md').toEqual([]);
    const wrongStatus = catalogue
      .filter(({ code, status }) => {
        const docStatus = documented.get(code);
        return docStatus !== undefined && docStatus !== status;
      })
      .map(({ code, status }) => `${code}: defined ${status}, documented ${documented.get(code)}`);
    expect(wrongStatus, 'statuses that differ from docs/errors.md').toEqual([]);
  });

  it('documents nothing that does not exist (except retired codes)', () => {
    const mentioned = new Set(docs.match(/\bHT_[A-Z0-9_]+\b/g) ?? []);
    const unknown = [...mentioned].filter(
      (code) => !codes.includes(code) && !RETIRED_CODES.includes(code),
    );
    expect(unknown, 'codes in docs/errors.md that are not defined').toEqual([]);
  });

  it('never defines a retired code', () => {
    for (const code of RETIRED_CODES) expect(codes).not.toContain(code);
  });

  it('refuses to define a code twice or a malformed code', () => {
    expect(() => defineError('HT_VALIDATION', 400, 'again')).toThrow(/already defined/);
    expect(() => defineError('HT_lower', 400, 'x')).toThrow(TypeError);
    expect(() => defineError('HT_TEST_STATUS_RANGE', 302, 'x')).toThrow(TypeError);
  });
});

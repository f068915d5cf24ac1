import { describe, expect, it } from 'vitest';
import { defineError, errorCatalogue, HalftoneError, isHalftoneError } from './halftone-error.js';

describe('defineError', () => {
  const outOfRange = defineError(
    'HT_TEST_PERCENT_OUT_OF_RANGE',
    422,
    'Percent {percent} is outside 0–{max} for {percent}',
  );

  it('fills {name} placeholders and carries code and status', () => {
    const err = outOfRange({ percent: 140, max: 100 });
    expect(err).toBeInstanceOf(HalftoneError);
    expect(err).toBeInstanceOf(Error);
    expect(err.message).toBe('Percent 140 is outside 0–100 for 140');
    expect(err.code).toBe('HT_TEST_PERCENT_OUT_OF_RANGE');
    expect(err.status).toBe(422);
    expect(outOfRange.code).toBe('HT_TEST_PERCENT_OUT_OF_RANGE');
    expect(outOfRange.status).toBe(422);
    expect(outOfRange.is(err)).toBe(true);
    expect(outOfRange.is(new Error('x'))).toBe(false);
  });

  it('leaves unknown placeholders alone', () => {
    expect(outOfRange({ percent: 5 }).message).toBe('Percent 5 is outside 0–{max} for 5');
    expect(outOfRange().message).toBe('Percent {percent} is outside 0–{max} for {percent}');
  });

  it('passes detail, fields and cause through', () => {
    const cause = new Error('root');
    const err = outOfRange(
      { percent: 1, max: 2 },
      { detail: 'more', cause, fields: [{ pointer: '/body/percent', message: 'too big' }] },
    );
    expect(err.detail).toBe('more');
    expect(err.cause).toBe(cause);
    expect(err.fields).toEqual([{ pointer: '/body/percent', message: 'too big' }]);
  });

  it('gives every instance its own errorId', () => {
    const a = outOfRange();
    const b = outOfRange();
    expect(a.errorId).toMatch(/^[0-9a-f-]{36}$/);
    expect(a.errorId).not.toBe(b.errorId);
  });

  it('registers in the catalogue and refuses duplicates', () => {
    expect(errorCatalogue()).toContainEqual({
      code: 'HT_TEST_PERCENT_OUT_OF_RANGE',
      status: 422,
      template: 'Percent {percent} is outside 0–{max} for {percent}',
    });
    expect(() => defineError('HT_TEST_PERCENT_OUT_OF_RANGE', 400, 'x')).toThrow(/already defined/);
  });

  it('rejects bad codes and statuses', () => {
    expect(() => defineError('NOT_HT', 400, 'x')).toThrow(TypeError);
    expect(() => defineError('HT_TEST_OK_STATUS', 200, 'x')).toThrow(TypeError);
    expect(() => defineError('HT_TEST_BIG_STATUS', 600, 'x')).toThrow(TypeError);
    expect(() => new HalftoneError({ code: 'ht_x', status: 400, message: 'x' })).toThrow(TypeError);
  });
});

describe('isHalftoneError', () => {
  it('recognises HalftoneErrors only', () => {
    expect(isHalftoneError(new HalftoneError({ code: 'HT_X', status: 400, message: 'x' }))).toBe(
      true,
    );
    expect(isHalftoneError(new Error('x'))).toBe(false);
    expect(isHalftoneError({ code: 'HT_X' })).toBe(false);
    expect(isHalftoneError(null)).toBe(false);
  });
});

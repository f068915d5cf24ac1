import { describe, expect, it } from 'vitest';
import * as core from './index.js';

describe('@halftone/core public surface', () => {
  it('exports the whole API by name', () => {
    const names = [
      'BUILTIN_ATTRIBUTES',
      'RULE_OPERATORS',
      'parseVersion',
      'isValidVersion',
      'compareVersions',
      'compareParsed',
      'versionInRange',
      'encodeUtf8',
      'encodeUtf8Into',
      'murmurHash3_x86_32',
      'murmurHash3String',
      'BUCKET_COUNT',
      'bucketOf',
      'percentToBuckets',
      'isInPercent',
      'isValidPercent',
      'stickinessKeyOf',
      'validateRule',
      'compileRule',
      'evaluateRule',
      'attributeValue',
      'isRuleAttribute',
      'unsafeRegexReason',
      'InvalidRuleError',
      'packageContentHash',
      'sha256Hex',
      'isContentExcluded',
    ];
    for (const name of names) expect(core).toHaveProperty(name);
    expect('default' in core).toBe(false);
  });
});

/**
 * The diff engine: new files (diffed as one stream) against one old reference buffer.
 *
 * 1. Block pre-match: anchors (long exact matches) through {@link BlockIndex}.
 * 2. A suffix array (SA-IS) over the old bytes the anchors did not use, or over all of the old
 *    data when it is small enough to index whole.
 * 3. Per file, {@link searchCovers}: exact matches in the gaps, then link / extend / select.
 * 4. {@link encodeDiff} into the four diff streams.
 */
import { BLOCK, BlockIndex, type OldRange } from './block-index.js';
import { DEFAULT_COSTS, searchCovers, type SearchOptions } from './cover-search.js';
import { CoverList } from './cover-list.js';
import { encodeDiff, type DiffStreams } from './diff-codec.js';
import { packResidual, SuffixMatcher, type OldRanges } from './suffix-matcher.js';

/** Tuning knobs (internal; the public options are `level` and `minMatch`). */
export interface EngineTuning {
  /** Old data up to this size is indexed whole by the suffix array. */
  readonly indexWholeBelow: number;
  readonly search: SearchOptions;
}

export const DEFAULT_TUNING: EngineTuning = {
  indexWholeBelow: 8 << 20,
  search: { minMatch: 8, minDiagMatch: 2, minGain: 6, searchStride: 4, maxLink: 4096, maxExtend: 2048, costs: DEFAULT_COSTS },
};

/** One file of the diffed stream. */
export interface EngineFile {
  readonly data: Uint8Array;
  /** Where this file's previous version is in the old reference, if it has one. */
  readonly home?: OldRange | undefined;
}

/** Old-reference ranges to leave out of the suffix array when it cannot index everything. */
function mergeRanges(starts: number[], ends: number[]): OldRanges {
  const order = starts.map((_, i) => i).sort((a, b) => starts[a]! - starts[b]!);
  const s: number[] = [];
  const e: number[] = [];
  for (const i of order) {
    const a = starts[i]!;
    const b = ends[i]!;
    if (s.length > 0 && a <= e[e.length - 1]!) {
      if (b > e[e.length - 1]!) e[e.length - 1] = b;
    } else {
      s.push(a);
      e.push(b);
    }
  }
  return { start: s, end: e, count: s.length };
}

/** Statistics of the last diff, for benchmarks and tests. */
export interface EngineStats {
  anchoredBytes: number;
  indexedBytes: number;
  covers: number;
  /** The covers of each file, when the caller asks for them (debugging). */
  fileCovers?: CoverList[];
}

/**
 * Diffs `files` (in stream order) against `old`. `skipWhenLarge` lists old ranges the suffix
 * array may leave out when the old data is too large to index whole (e.g. old files that the
 * new package keeps unchanged: they stay available to the block pre-match).
 */
export function diffAgainst(
  old: Uint8Array,
  files: readonly EngineFile[],
  skipWhenLarge: { start: number; end: number }[],
  tuning: EngineTuning = DEFAULT_TUNING,
  stats?: EngineStats,
): DiffStreams {
  const index = old.length >= BLOCK ? new BlockIndex(old) : null;
  const anchors: CoverList[] = [];
  let anchoredBytes = 0;
  for (const f of files) {
    const a = index !== null ? index.anchors(f.data, f.home) : null;
    if (a !== null) {
      for (let i = 0; i < a.count; i++) anchoredBytes += a.len[i]!;
    }
    anchors.push(a ?? new CoverList(0));
  }

  let matcher: SuffixMatcher | null = null;
  if (old.length >= 2) {
    if (old.length < tuning.indexWholeBelow) {
      matcher = new SuffixMatcher(old, old, Int32Array.of(0), Int32Array.of(0));
    } else {
      const starts: number[] = [];
      const ends: number[] = [];
      for (const a of anchors) {
        for (let i = 0; i < a.count; i++) {
          starts.push(a.oldPos[i]!);
          ends.push(a.oldPos[i]! + a.len[i]!);
        }
      }
      for (const r of skipWhenLarge) {
        starts.push(r.start);
        ends.push(r.end);
      }
      const residual = packResidual(old, mergeRanges(starts, ends), 16);
      if (residual.text.length > old.length * 0.75) {
        // Mostly unanchored (unrelated versions): index the old data itself, saving a copy.
        matcher = new SuffixMatcher(old, old, Int32Array.of(0), Int32Array.of(0));
      } else if (residual.text.length >= 2) {
        matcher = new SuffixMatcher(old, residual.text, residual.segPacked, residual.segFull);
      }
    }
  }

  const withCovers: { data: Uint8Array; covers: CoverList; exact: CoverList }[] = [];
  let coverCount = 0;
  for (let i = 0; i < files.length; i++) {
    const f = files[i]!;
    const { covers, exact } = searchCovers(old, f.data, anchors[i]!, matcher, f.home, tuning.search);
    coverCount += covers.count;
    stats?.fileCovers?.push(covers);
    withCovers.push({ data: f.data, covers, exact });
  }
  if (stats) {
    stats.anchoredBytes = anchoredBytes;
    stats.indexedBytes = matcher?.indexedSize ?? 0;
    stats.covers = coverCount;
  }
  return encodeDiff(old, withCovers);
}


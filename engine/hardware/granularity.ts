// Design principle 1 of HALOC: a layer's latency moves in steps as its rank grows (vector width, tile
// sizes), so only ranks at the end of a step are worth having. The step size (granularity) is found
// from a measured latency-vs-rank curve; candidate ranks are its multiples.

/** Step sizes tried, largest first (a larger step that fits the curve explains it with fewer ranks). */
export const granularityCandidates = [64, 32, 16, 8, 4, 2, 1] as const;

/**
 * The step size of a latency curve sampled at every rank 1..n (`latencyMs[r - 1]`): the largest g for
 * which latency is flat inside each block (k g, (k + 1) g] compared with the rise between blocks. Noise
 * is tolerated by comparing medians; a curve without steps gives 1.
 */
export function detectGranularity(latencyMs: readonly number[], candidates: readonly number[] = granularityCandidates): number {
  const n = latencyMs.length;
  for (const g of candidates) {
    if (g === 1 || n < 3 * g) continue;
    if (fitsSteps(latencyMs, g)) return g;
  }
  return 1;
}

/**
 * True when the curve rises in steps of g: the typical jump across block boundaries is at least twice
 * the typical jump inside blocks, and no position inside a block has a large jump in more blocks than
 * half the boundaries (a finer step recurs at the same position in every block, which rejects g = 16 on
 * a curve that steps every 8; a single slow sample does not).
 */
export function fitsSteps(latencyMs: readonly number[], g: number): boolean {
  const across: number[] = [];
  const within: number[] = [];
  for (let r = 2; r <= latencyMs.length; r++) {
    const jump = (latencyMs[r - 1] ?? 0) - (latencyMs[r - 2] ?? 0);
    ((r - 1) % g === 0 ? across : within).push(jump);
  }
  const rise = median(across);
  if (rise <= 0) return false;
  const flat = median(within.map(Math.abs));
  const largeAt = new Map<number, number>();
  for (let r = 2; r <= latencyMs.length; r++) {
    const jump = (latencyMs[r - 1] ?? 0) - (latencyMs[r - 2] ?? 0);
    if ((r - 1) % g !== 0 && jump > rise / 2) largeAt.set((r - 1) % g, (largeAt.get((r - 1) % g) ?? 0) + 1);
  }
  return rise >= 2 * flat && Math.max(0, ...largeAt.values()) <= 0.5 * across.length;
}

/** Candidate ranks: the multiples of g up to `maxRank`, plus `maxRank` itself when it is not one. */
export function candidateRanks(maxRank: number, granularity: number): number[] {
  if (!Number.isInteger(granularity) || granularity < 1) throw new RangeError(`rank granularity must be a positive integer, not ${granularity}`);
  const ranks: number[] = [];
  for (let r = granularity; r < maxRank; r += granularity) ranks.push(r);
  ranks.push(maxRank);
  return ranks;
}

function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

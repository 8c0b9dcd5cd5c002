// MACs of the low-rank rewrites, used to find a layer's useful ranks: Tucker-2 of a k x k conv
// (1x1 Cin->r_in at the input resolution, k x k r_in->r_out, 1x1 r_out->Cout) and a two-layer SVD
// (in -> r -> out) for Gemm, MatMul and 1x1 convs.

/** The dimensions of a compressible layer that its factorized cost depends on. */
export type LowRankShape =
  | {
      readonly kind: 'tucker2';
      readonly inChannels: number;
      readonly outChannels: number;
      /** kH x kW (product of the kernel's spatial sizes). */
      readonly kernelElements: number;
      /** N x H_in x W_in: positions the first 1x1 conv runs at. */
      readonly inputPositions: number;
      /** N x H_out x W_out. */
      readonly outputPositions: number;
    }
  | {
      readonly kind: 'svd';
      /** Rows (M, or N x H_out x W_out for a 1x1 conv) times any batch of a MatMul. */
      readonly rows: number;
      readonly inFeatures: number;
      readonly outFeatures: number;
    };

/** Per-mode Tucker-2 ranks for an equal-rank setting r, clipped to each mode's size. */
export function tuckerRanks(shape: Extract<LowRankShape, { kind: 'tucker2' }>, rank: number): { rankIn: number; rankOut: number } {
  return { rankIn: Math.min(rank, shape.inChannels), rankOut: Math.min(rank, shape.outChannels) };
}

/** MACs of the layer factorized at rank r. */
export function lowRankMacs(shape: LowRankShape, rank: number): number {
  if (shape.kind === 'svd') return shape.rows * rank * (shape.inFeatures + shape.outFeatures);
  const { rankIn, rankOut } = tuckerRanks(shape, rank);
  return shape.inputPositions * shape.inChannels * rankIn + shape.outputPositions * (rankIn * rankOut * shape.kernelElements + rankOut * shape.outChannels);
}

/** MACs of the original layer. */
export function fullRankMacs(shape: LowRankShape): number {
  if (shape.kind === 'svd') return shape.rows * shape.inFeatures * shape.outFeatures;
  return shape.outputPositions * shape.inChannels * shape.outChannels * shape.kernelElements;
}

/** The smallest rank at which the factorization is exact (equal ranks, clipped per mode). */
export function maxUsefulRank(shape: LowRankShape): number {
  if (shape.kind === 'svd') return Math.min(shape.inFeatures, shape.outFeatures);
  const k = shape.kernelElements;
  return Math.max(Math.min(shape.inChannels, shape.outChannels * k), Math.min(shape.outChannels, shape.inChannels * k));
}

/** The largest rank whose factorized layer needs fewer MACs than the original; 0 if none does. */
export function breakEvenRank(shape: LowRankShape): number {
  const full = fullRankMacs(shape);
  let low = 0;
  let high = maxUsefulRank(shape);
  // Beyond 2^53 (a damaged file's dims) mid - 1 can round back to mid: stop when a step makes no progress.
  while (low < high && high - 1 < high) {
    const mid = Math.ceil((low + high) / 2);
    if (lowRankMacs(shape, mid) < full) low = mid;
    else high = mid - 1;
  }
  return low;
}

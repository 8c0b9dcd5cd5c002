// The factor tensors of one factorized layer, as the rewrite consumes them.

/** Tucker-2 factors of a conv weight W[Cout, Cin, k...] ~ last x1 core x2 first. */
export interface TuckerFactors {
  readonly kind: 'tucker2';
  readonly rankIn: number;
  readonly rankOut: number;
  /** [rankIn, Cin] (the first 1x1 conv's weight, U_in transposed), row-major. */
  readonly firstRC: Float32Array;
  /** [rankOut, rankIn, k...] (the core conv's weight), row-major. */
  readonly core: Float32Array;
  /** [Cout, rankOut] (the last 1x1 conv's weight, U_out), row-major. */
  readonly lastCR: Float32Array;
}

/** Two-factor SVD of a weight used as y = x W with W [inFeatures, outFeatures] ~ left x right. */
export interface SvdFactors {
  readonly kind: 'svd';
  readonly rank: number;
  /** [inFeatures, rank] = U_r sqrt(S_r), row-major. */
  readonly leftIR: Float32Array;
  /** [rank, outFeatures] = sqrt(S_r) V_r^T, row-major. */
  readonly rightRO: Float32Array;
}

/** Factors of one layer. */
export type LayerFactors = TuckerFactors | SvdFactors;

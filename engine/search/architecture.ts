// HALOC's architecture parameters: per layer a vector alpha over the candidate ranks; the branches
// are mixed by Gumbel-softmax weights m = softmax((alpha + g) / tau) with g ~ Gumbel(0, 1) and tau
// annealed geometrically; the latency term is the expected latency under softmax(alpha). Gradients
// of both with respect to alpha are written out here (the step graph returns d loss / d m).

/** Gumbel-softmax mixing weights of one layer and the noise drawn for them. */
export interface MixingSample {
  readonly weights: Float32Array;
}

/** softmax of `values` (numerically stable), as float64. */
export function softmax(values: ArrayLike<number>, temperature = 1): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) max = Math.max(max, values[i]! / temperature);
  const out = new Float64Array(values.length);
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += out[i] = Math.exp(values[i]! / temperature - max);
  for (let i = 0; i < values.length; i++) out[i]! /= sum;
  return out;
}

/** Mixing weights softmax((alpha + g) / tau), g ~ Gumbel(0, 1) drawn from `random` (uniform in [0, 1)). */
export function gumbelSoftmax(alpha: ArrayLike<number>, tau: number, random: () => number): MixingSample {
  const noisy = new Float64Array(alpha.length);
  for (let i = 0; i < alpha.length; i++) {
    const u = Math.min(Math.max(random(), 1e-12), 1 - 1e-12);
    noisy[i] = alpha[i]! - Math.log(-Math.log(u));
  }
  return { weights: Float32Array.from(softmax(noisy, tau)) };
}

/** d loss / d alpha from d loss / d m for m = softmax((alpha + g) / tau): (m * (dm - <m, dm>)) / tau. */
export function gumbelSoftmaxBackward(weights: ArrayLike<number>, dWeights: ArrayLike<number>, tau: number): Float64Array {
  let dot = 0;
  for (let i = 0; i < weights.length; i++) dot += weights[i]! * dWeights[i]!;
  const out = new Float64Array(weights.length);
  for (let i = 0; i < weights.length; i++) out[i] = (weights[i]! * (dWeights[i]! - dot)) / tau;
  return out;
}

/** Expected cost sum_k softmax(alpha)_k * cost_k of one layer, and its gradient with respect to alpha. */
export function expectedCost(alpha: ArrayLike<number>, cost: ArrayLike<number>): { value: number; gradient: Float64Array } {
  const p = softmax(alpha);
  let value = 0;
  for (let i = 0; i < p.length; i++) value += p[i]! * cost[i]!;
  const gradient = new Float64Array(p.length);
  for (let i = 0; i < p.length; i++) gradient[i] = p[i]! * (cost[i]! - value);
  return { value, gradient };
}

/** tau at `step` of `total`, geometric from `start` to `end` (HALOC: 5 -> 0.1). */
export function annealedTemperature(step: number, total: number, start = 5, end = 0.1): number {
  if (total <= 1) return end;
  return start * (end / start) ** (Math.min(step, total - 1) / (total - 1));
}

/** The index of the largest entry (the final rank choice). */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}

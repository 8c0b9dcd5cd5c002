// The training loss on the logits, in double precision on the host (the logits are small):
// (1 - alpha) * mean cross-entropy to the hard targets + alpha * T^2 * mean cross-entropy of
// softmax(logits / T) to the soft targets, and its gradient with respect to the logits.

/** The loss terms and d loss / d logits. */
export interface SoftmaxLoss {
  readonly crossEntropy: number;
  readonly distillCrossEntropy: number;
  /** [batch, classes]. */
  readonly dLogits: Float32Array;
}

/** Log-softmax of `row / temperature` into `out`; returns the softmax too (in `probs`). */
function logSoftmax(row: Float32Array, temperature: number, out: Float64Array, probs: Float64Array): void {
  let max = -Infinity;
  for (let k = 0; k < row.length; k++) max = Math.max(max, row[k]! / temperature);
  let sum = 0;
  for (let k = 0; k < row.length; k++) sum += Math.exp(row[k]! / temperature - max);
  const logSum = max + Math.log(sum);
  for (let k = 0; k < row.length; k++) {
    out[k] = row[k]! / temperature - logSum;
    probs[k] = Math.exp(out[k]!);
  }
}

/** Loss and gradient for logits [batch, classes] against hard and soft targets of the same shape. */
export function softmaxLoss(logits: Float32Array, batch: number, hardTargets: Float32Array, softTargets: Float32Array, distillWeight: number, temperature: number): SoftmaxLoss {
  const classes = logits.length / batch;
  const dLogits = new Float32Array(logits.length);
  const logProbs = new Float64Array(classes);
  const probs = new Float64Array(classes);
  let crossEntropy = 0;
  let distill = 0;
  const hardWeight = (1 - distillWeight) / batch;
  const softWeight = (distillWeight * temperature) / batch; // T^2 * (1 / T) from the chain rule
  for (let b = 0; b < batch; b++) {
    const row = logits.subarray(b * classes, (b + 1) * classes);
    const hard = hardTargets.subarray(b * classes, (b + 1) * classes);
    const soft = softTargets.subarray(b * classes, (b + 1) * classes);
    const grad = new Float64Array(classes);
    logSoftmax(row, 1, logProbs, probs);
    let hardMass = 0;
    for (let k = 0; k < classes; k++) {
      crossEntropy -= hard[k]! * logProbs[k]!;
      hardMass += hard[k]!;
    }
    for (let k = 0; k < classes; k++) grad[k] = hardWeight * (probs[k]! * hardMass - hard[k]!);
    logSoftmax(row, temperature, logProbs, probs);
    let softMass = 0;
    for (let k = 0; k < classes; k++) {
      distill -= soft[k]! * logProbs[k]!;
      softMass += soft[k]!;
    }
    for (let k = 0; k < classes; k++) dLogits[b * classes + k] = grad[k]! + softWeight * (probs[k]! * softMass - soft[k]!);
  }
  return { crossEntropy: crossEntropy / batch, distillCrossEntropy: (temperature * temperature * distill) / batch, dLogits };
}

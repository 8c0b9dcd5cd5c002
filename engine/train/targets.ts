// Training targets from labels and teacher logits: one-hot rows, softmax(logits / T), and the
// entropy that turns the distillation cross-entropy into the KL divergence.

/** One-hot rows [labels.length, classes]; a label outside 0..classes-1 is an error. */
export function oneHot(labels: Int32Array, classes: number, out = new Float32Array(labels.length * classes)): Float32Array {
  out.fill(0);
  labels.forEach((label, i) => {
    if (!(label >= 0 && label < classes)) throw new RangeError(`label ${label} is outside the model's ${classes} classes`);
    out[i * classes + label] = 1;
  });
  return out;
}

/** softmax(logits / temperature) per row of [rows, classes]. */
export function softmaxRows(logits: Float32Array, classes: number, temperature = 1): Float32Array {
  const out = new Float32Array(logits.length);
  for (let r = 0; r < logits.length / classes; r++) {
    let max = -Infinity;
    for (let c = 0; c < classes; c++) max = Math.max(max, logits[r * classes + c]! / temperature);
    let sum = 0;
    for (let c = 0; c < classes; c++) sum += out[r * classes + c] = Math.exp(logits[r * classes + c]! / temperature - max);
    for (let c = 0; c < classes; c++) out[r * classes + c]! /= sum;
  }
  return out;
}

/** Mean over rows of the entropy -sum p log p of probability rows. */
export function meanEntropy(probabilities: Float32Array, classes: number): number {
  let total = 0;
  for (let i = 0; i < probabilities.length; i++) {
    const p = probabilities[i]!;
    if (p > 0) total -= p * Math.log(p);
  }
  return total / (probabilities.length / classes);
}

/** Number of rows whose largest logit is at the label. */
export function correctTop1(logits: Float32Array, labels: Int32Array, classes: number): number {
  let correct = 0;
  labels.forEach((label, r) => {
    let best = 0;
    for (let c = 1; c < classes; c++) if (logits[r * classes + c]! > logits[r * classes + best]!) best = c;
    if (best === label) correct++;
  });
  return correct;
}

// BatchNormalization with channels last (NHWC for 4-D inputs, [N, C] for 2-D). In 'batch-statistics'
// mode it normalises with the batch mean and biased variance and returns the updated running
// statistics (the variance update uses the unbiased batch variance, as PyTorch does); in
// 'running-statistics' mode it is the inference form. Written for wasm, where every pass over an
// activation counts: per-channel sums are global average pools (sumLeadingAxes), and per-channel
// affine maps a*t + b are one 1x1 depthwise conv instead of two broadcasting ops.
import { HalocError } from '../../errors';
import { attributeFloat } from '../../onnx/attributes';
import { gradInLayoutOf, nhwc, nhwcTensor, plain, plainTensor, sumLeadingAxes } from './tfjsLayout';
import type { Act, Backward, OpContext, Tensor, Tf, TfjsOp } from './tfjsTypes';

/** Sum over every axis but the last: [..., C] -> [C]. */
function channelSum(tf: Tf, t: Tensor): Tensor {
  return sumLeadingAxes(tf, t, t.rank - 1);
}

/** a * t + b per channel (last axis); b optional. */
function affine(tf: Tf, t: Tensor, a: Tensor, b?: Tensor): Tensor {
  if (t.rank !== 4) return b ? tf.add(tf.mul(t, a), b) : tf.mul(t, a);
  const filter = tf.reshape(a, [1, 1, a.size, 1]);
  return tf.fused.depthwiseConv2d({ x: t as never, filter: filter as never, strides: 1, pad: 'valid', ...(b ? { bias: b } : {}) });
}

/** The input in channels-last order and the number of elements per channel. */
function channelsLast(context: OpContext, input: Act): { x: Tensor; count: number; nhwcOut: boolean } {
  const { tf, label } = context;
  const rank = input.t.rank;
  if (rank !== 4 && rank !== 2) throw new HalocError('UNSUPPORTED', `tensorflow.js training: BatchNormalization node '${label}' has a rank-${rank} input; only 2-D and 4-D are supported`);
  const x = rank === 4 ? nhwcTensor(tf, input, label) : plainTensor(tf, input);
  return { x, count: x.size / x.shape[x.rank - 1]!, nhwcOut: rank === 4 };
}

/** Batch mean and biased variance per channel: E[x^2] - mean^2, two-pass where that would cancel badly. */
function batchMoments(tf: Tf, x: Tensor, count: number): { mean: Tensor; variance: Tensor } {
  const mean = tf.div(channelSum(tf, x), count);
  const meanSquare = tf.div(channelSum(tf, tf.square(x)), count);
  const variance = tf.relu(tf.sub(meanSquare, tf.square(mean)));
  // float32 keeps ~7 digits of E[x^2]: when the mean dominates, centre first
  const ratio = tf.max(tf.div(meanSquare, tf.add(variance, 1e-30))).dataSync()[0]!;
  if (ratio < 1e3) return { mean, variance };
  return { mean, variance: tf.div(channelSum(tf, tf.square(tf.sub(x, mean))), count) };
}

/** BatchNormalization. */
export const batchNormOp: TfjsOp = {
  forward: (context, inputs) => {
    const { tf, node } = context;
    const [input, scaleAct, biasAct, meanAct, varAct] = inputs as [Act, Act, Act, Act, Act];
    const { x, count, nhwcOut } = channelsLast(context, input);
    const gamma = plainTensor(tf, scaleAct);
    const beta = plainTensor(tf, biasAct);
    const eps = attributeFloat(node, 'epsilon', 1e-5);
    const training = context.batchNorm === 'batch-statistics';
    const { mean, variance } = training ? batchMoments(tf, x, count) : { mean: plainTensor(tf, meanAct), variance: plainTensor(tf, varAct) };
    const invStd = tf.rsqrt(tf.add(variance, eps));
    // y = (x - mean) * invStd * gamma + beta = k * x + (beta - k * mean)
    const k = tf.mul(gamma, invStd);
    const y = affine(tf, x, k, tf.sub(beta, tf.mul(k, mean)));
    const output = nhwcOut ? nhwc(y) : plain(y);
    const backward: Backward = ([dy], wanted) => {
      if (!dy) return [];
      const dBeta = channelSum(tf, dy);
      // sum(dy * xhat) = (sum(dy * x) - mean * sum(dy)) * invStd
      const dGamma = wanted[1] || (wanted[0] && training) ? tf.mul(tf.sub(channelSum(tf, tf.mul(dy, x)), tf.mul(mean, dBeta)), invStd) : undefined;
      let dx: Tensor | undefined;
      if (wanted[0]) {
        if (training) {
          // dx = k * (dy - dBeta / M - xhat * dGamma / M) = k * dy + b * x + c
          const b = tf.neg(tf.div(tf.mul(tf.mul(k, invStd), dGamma!), count));
          const c = tf.div(tf.mul(k, tf.sub(tf.mul(tf.mul(invStd, dGamma!), mean), dBeta)), count);
          dx = tf.add(affine(tf, dy, k, c), affine(tf, x, b));
        } else {
          dx = affine(tf, dy, k);
        }
      }
      return [
        dx && gradInLayoutOf(tf, dx, nhwcOut, input),
        wanted[1] && dGamma ? gradInLayoutOf(tf, dGamma, false, scaleAct) : undefined,
        wanted[2] ? gradInLayoutOf(tf, dBeta, false, biasAct) : undefined,
      ];
    };
    if (!training) return { outputs: [output], backward };
    const momentum = attributeFloat(node, 'momentum', 0.9);
    const unbiased = count > 1 ? count / (count - 1) : 1;
    const running = new Map<string, Tensor>([
      [node.input?.[3] ?? '', tf.add(tf.mul(plainTensor(tf, meanAct), momentum), tf.mul(mean, 1 - momentum))],
      [node.input?.[4] ?? '', tf.add(tf.mul(plainTensor(tf, varAct), momentum), tf.mul(variance, (1 - momentum) * unbiased))],
    ]);
    return { outputs: [output], backward, running };
  },
};

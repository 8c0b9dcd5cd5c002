// MaxPool, AveragePool and GlobalAveragePool on NHWC activations. The tfjs pool gradient kernels are
// not used (on wasm they are wrong with padding, and MaxPoolGrad drops gradients even without):
// MaxPool pads explicitly and has its own gradient; AveragePool runs as a depthwise conv with a
// constant filter (whose gradient convKernels has), rescaled where padding is not counted.
import { HalocError } from '../../errors';
import { attributeInt } from '../../onnx/attributes';
import { convForward, convInputGrad, insertZeros, subsample } from './convKernels';
import { dimsOf, gradInLayoutOf, nhwc, nhwcTensor } from './tfjsLayout';
import type { Act, OpContext, Tensor, Tf, TfjsOp } from './tfjsTypes';
import { padsForOutput, windowOf, type Window2D } from './windowGeometry';

/** The pool's window; dilated pools and second outputs (MaxPool indices) are not supported. */
function poolWindow(context: OpContext, x: Act): Window2D {
  const { node, label } = context;
  const window = windowOf(node, label, dimsOf(x));
  if (window.dilations.some((d) => d !== 1)) throw new HalocError('UNSUPPORTED', `tensorflow.js training: ${node.opType} node '${label}' has dilations, which are not supported`);
  if ((node.output ?? []).slice(1).some((name) => name)) throw new HalocError('UNSUPPORTED', `tensorflow.js training: ${node.opType} node '${label}' has a second output, which is not supported`);
  return window;
}

/** A value below any activation, padded around MaxPool inputs (finite, so that 0 * pad stays 0). */
const LOWEST = -3.4e38;

/**
 * The gradient of an unpadded max pool: for each window tap in row-major order, dy goes to the input
 * under the tap where it holds the window's maximum and no earlier tap did (ties go to the first, as
 * in onnxruntime and PyTorch). tfjs-wasm's MaxPoolGrad kernel drops some of them.
 */
function maxPoolGrad(tf: Tf, x: Tensor, y: Tensor, dy: Tensor, window: Window2D): Tensor {
  const [n, h, w, c] = x.shape as [number, number, number, number];
  const [ho, wo] = y.shape.slice(1, 3) as [number, number];
  const [sh, sw] = window.strides;
  let taken: Tensor | undefined;
  let dx: Tensor | undefined;
  for (let i = 0; i < window.kernel[0]; i++) {
    for (let j = 0; j < window.kernel[1]; j++) {
      const under = subsample(tf, tf.slice(x, [0, i, j, 0], [n, (ho - 1) * sh + 1, (wo - 1) * sw + 1, c]), [sh, sw]);
      let hit = tf.equal(under, y);
      if (taken) hit = tf.logicalAnd(hit, tf.logicalNot(taken));
      taken = taken ? tf.logicalOr(taken, hit) : hit;
      const spread = insertZeros(tf, tf.mul(dy, tf.cast(hit, 'float32')), [sh, sw]);
      const placed = tf.pad(tf.slice(spread, [0, 0, 0, 0], [n, Math.min(ho * sh, h - i), Math.min(wo * sw, w - j), c]), [[0, 0], [i, Math.max(h - i - ho * sh, 0)], [j, Math.max(w - j - wo * sw, 0)], [0, 0]]);
      dx = dx ? tf.add(dx, placed) : placed;
    }
  }
  return dx!;
}

/** MaxPool: padding (incl. ceil_mode's extra bottom/right padding) is explicit, so the pool runs unpadded. */
const maxPoolOp: TfjsOp = {
  forward: (context, [input]) => {
    const { tf, label } = context;
    const window = poolWindow(context, input!);
    const [top, left, bottom, right] = padsForOutput(window);
    const x = nhwcTensor(tf, input!, label);
    const padded = top || left || bottom || right ? tf.pad(x, [[0, 0], [top, bottom], [left, right], [0, 0]], LOWEST) : x;
    const y = tf.maxPool(padded as never, [window.kernel[0], window.kernel[1]], [window.strides[0], window.strides[1]], 'valid');
    return {
      outputs: [nhwc(y)],
      backward: ([dy], wanted) => {
        if (!wanted[0] || !dy) return [];
        let dx = maxPoolGrad(tf, padded, y, dy, window);
        if (padded !== x) dx = tf.slice(dx, [0, top, left, 0], x.shape);
        return [gradInLayoutOf(tf, dx, true, input!)];
      },
    };
  },
};

/** AveragePool as a depthwise conv with the constant filter 1 / (kh kw), rescaled by in-bounds counts where padding is not counted. */
const averagePoolOp: TfjsOp = {
  forward: (context, [input]) => {
    const { tf, label } = context;
    const window = poolWindow(context, input!);
    return averagePool(context, input!, nhwcTensor(tf, input!, label), window);
  },
};

/** Per output position: window size / elements of the window inside the input (count_include_pad = 0). */
function inBoundsRatio(window: Window2D, pads: readonly number[]): Float32Array {
  const [ho, wo] = window.output;
  const ratio = new Float32Array(ho * wo);
  const inside = (start: number, size: number, limit: number): number => Math.min(start + size, limit) - Math.max(start, 0);
  for (let i = 0; i < ho; i++) {
    for (let j = 0; j < wo; j++) {
      const rows = inside(i * window.strides[0] - pads[0]!, window.kernel[0], window.input[0]);
      const columns = inside(j * window.strides[1] - pads[1]!, window.kernel[1], window.input[1]);
      ratio[i * wo + j] = (window.kernel[0] * window.kernel[1]) / (rows * columns);
    }
  }
  return ratio;
}

function averagePool(context: OpContext, input: Act, x: Tensor, window: Window2D): ReturnType<TfjsOp['forward']> {
  const { tf, node, label } = context;
  const pads = padsForOutput(window);
  const countPadding = attributeInt(node, 'count_include_pad', 0) === 1;
  if (countPadding && pads.some((p, i) => p !== window.pads[i])) throw new HalocError('UNSUPPORTED', `tensorflow.js training: AveragePool node '${label}' combines ceil_mode with count_include_pad, which is not supported`);
  const [kh, kw] = window.kernel;
  const filter = tf.fill([kh, kw, x.shape[3]!, 1], 1 / (kh * kw));
  const geometry = { ...window, pads };
  const ratio = countPadding || pads.every((p) => p === 0) ? undefined : tf.tensor4d(inBoundsRatio(window, pads), [1, window.output[0], window.output[1], 1]);
  const sum = convForward(tf, 'depthwise', x, filter, undefined, geometry, false);
  const y = ratio ? tf.mul(sum, ratio) : sum;
  return {
    outputs: [nhwc(y)],
    backward: ([dy], wanted) => {
      if (!wanted[0] || !dy) return [];
      const dx = convInputGrad(tf, 'depthwise', ratio ? tf.mul(dy, ratio) : dy, filter, geometry);
      return [gradInLayoutOf(tf, dx, true, input)];
    },
  };
}

/** GlobalAveragePool of a 4-D input: a pool over the whole plane, [N, 1, 1, C] in NHWC. */
const globalAveragePoolOp: TfjsOp = {
  forward: ({ tf, label }, [input]) => {
    const x = nhwcTensor(tf, input!, label);
    const [, h, w] = x.shape as [number, number, number, number];
    const y = tf.avgPool(x as never, [h, w], [1, 1], 'valid');
    return {
      outputs: [nhwc(y)],
      backward: ([dy], wanted) => {
        if (!wanted[0] || !dy) return [];
        const dx = tf.mul(dy, tf.fill([1, h, w, 1], 1 / (h * w)));
        return [gradInLayoutOf(tf, dx, true, input!)];
      },
    };
  },
};

/** Pooling ops by ONNX op type. */
export const poolOps: Record<string, TfjsOp> = {
  MaxPool: maxPoolOp,
  AveragePool: averagePoolOp,
  GlobalAveragePool: globalAveragePoolOp,
};

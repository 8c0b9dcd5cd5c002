// 2-D convolution on NHWC tensors and its two gradients, expressed through forward convolutions so
// that they run fast on every tfjs backend (tfjs-wasm has no filter-gradient kernels, and its
// input-gradient kernel is ~10x slower than a forward conv):
// - input gradient: the output gradient convolved with the flipped filter; strided convs compute all
//   output phases in one conv and interleave them (sub-pixel), or insert zeros into dy;
// - filter gradient: a convolution of the input (batch and channels swapped) by the output gradient,
//   with the forward's strides as dilations (or of dy by the input, whichever packs less filter).
import type { Window2D } from './windowGeometry';
import { explicitPadding } from './windowGeometry';
import type { Tensor, Tf } from './tfjsTypes';

/** Dense (filter [kh, kw, Cin, Cout]) or depthwise with multiplier 1 (filter [kh, kw, C, 1]). */
export type ConvKind = 'dense' | 'depthwise';

/** A stride of more than 1 together with a dilation of more than 1, which tfjs convolutions refuse. */
function stridedAndDilated(window: Window2D): boolean {
  return Math.max(...window.strides) > 1 && Math.max(...window.dilations) > 1;
}

/** y = conv(x, filter) + bias on NHWC, optionally followed by relu. */
export function convForward(tf: Tf, kind: ConvKind, x: Tensor, filter: Tensor, bias: Tensor | undefined, window: Window2D, relu: boolean): Tensor {
  const split = stridedAndDilated(window);
  const strides: [number, number] = split ? [1, 1] : [window.strides[0], window.strides[1]];
  const pad = explicitPadding(window.pads);
  const dilations: [number, number] = [window.dilations[0], window.dilations[1]];
  let y: Tensor;
  if (kind === 'dense') {
    y = tf.fused.conv2d({ x: x as never, filter: filter as never, strides, pad: pad as never, dilations, ...(bias ? { bias } : {}), ...(relu ? { activation: 'relu' as const } : {}) });
  } else {
    // the fused depthwise op takes no explicit padding
    y = tf.depthwiseConv2d(x as never, filter as never, strides, pad, 'NHWC', dilations);
    if (bias) y = tf.add(y, bias);
    if (relu) y = tf.relu(y);
  }
  return split ? subsample(tf, y, window.strides) : y;
}

/** Every s-th row and column of an NHWC tensor, starting at the first (a 1x1 pool, cheap everywhere). */
export function subsample(tf: Tf, x: Tensor, strides: readonly [number, number]): Tensor {
  return tf.avgPool(x as never, [1, 1], [strides[0], strides[1]], 'valid');
}

/** [N, h, w, C] -> [N, h*sh, w*sw, C] with sh-1 zero rows after every row (and likewise columns). */
export function insertZeros(tf: Tf, dy: Tensor, strides: readonly [number, number]): Tensor {
  const [sh, sw] = strides;
  if (sh === 1 && sw === 1) return dy;
  const [n, h, w, c] = dy.shape as [number, number, number, number];
  const spread = tf.reshape(dy, [n, h, 1, w, 1, c]);
  const padded = tf.pad(spread, [[0, 0], [0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]]);
  return tf.reshape(padded, [n, h * sh, w * sw, c]);
}

/** Pads of a stride-1 convolution whose operand has `size` rows and whose output must have `out` rows; negative = crop. */
function fullPads(size: number, out: number, extent: number, before: number): [number, number] {
  return [before, out + extent - 1 - size - before];
}

/** Crops an NHWC tensor where pads are negative and returns the remaining (non-negative) pads. */
function cropNegative(tf: Tf, t: Tensor, rows: [number, number], columns: [number, number]): { t: Tensor; pads: [number, number, number, number] } {
  const cut = [rows, columns].map(([a, b]) => [Math.max(-a, 0), Math.max(-b, 0)] as const);
  const pads: [number, number, number, number] = [Math.max(rows[0], 0), Math.max(columns[0], 0), Math.max(rows[1], 0), Math.max(columns[1], 0)];
  if (cut.every(([a, b]) => a === 0 && b === 0)) return { t, pads };
  const [n, h, w, c] = t.shape as [number, number, number, number];
  const [[top, bottom], [left, right]] = cut as [[number, number], [number, number]];
  return { t: tf.slice(t, [0, top, left, 0], [n, h - top - bottom, w - left - right, c]), pads };
}

/** dL/dx [N, H, W, Cin] of convForward, given dy [N, Ho, Wo, Cout]. */
export function convInputGrad(tf: Tf, kind: ConvKind, dy: Tensor, filter: Tensor, window: Window2D): Tensor {
  // depthToSpace needs one block size: unequal strides take the zero-insertion path
  const [sh, sw] = window.strides;
  if (sh > 1 && sh === sw && kind === 'dense' && window.dilations.every((d) => d === 1)) return stridedInputGrad(tf, dy, filter, window);
  const source = insertZeros(tf, dy, window.strides);
  const extent = (axis: 0 | 1): number => (window.kernel[axis] - 1) * window.dilations[axis] + 1;
  const rows = fullPads(source.shape[1]!, window.input[0], extent(0), extent(0) - 1 - window.pads[0]);
  const columns = fullPads(source.shape[2]!, window.input[1], extent(1), extent(1) - 1 - window.pads[1]);
  const { t, pads } = cropNegative(tf, source, rows, columns);
  const flipped = tf.reverse(filter, [0, 1]);
  const dilations: [number, number] = [window.dilations[0], window.dilations[1]];
  if (kind === 'depthwise') return tf.depthwiseConv2d(t as never, flipped as never, 1, explicitPadding(pads), 'NHWC', dilations);
  return tf.conv2d(t as never, tf.transpose(flipped, [0, 1, 3, 2]) as never, 1, explicitPadding(pads), 'NHWC', dilations);
}

/** Along one axis of a strided conv's input gradient: the dy window of every output phase, and which kernel tap each (phase, offset) uses. */
interface PhaseTaps {
  /** First dy index of the window of output position a (relative to a). */
  readonly base: number;
  /** Window length. */
  readonly size: number;
  /** taps[phase * size + offset]: kernel index, or -1 for none. */
  readonly taps: readonly number[];
}

/** Input row s*a + p takes kernel tap i = p + pad - s*(base + u) from dy row a + base + u. */
function phaseTaps(kernel: number, stride: number, padBefore: number): PhaseTaps {
  let base = Infinity;
  let top = -Infinity;
  for (let p = 0; p < stride; p++) {
    base = Math.min(base, Math.ceil((p + padBefore - kernel + 1) / stride));
    top = Math.max(top, Math.floor((p + padBefore) / stride));
  }
  const size = top - base + 1;
  const taps: number[] = [];
  for (let p = 0; p < stride; p++) {
    for (let u = 0; u < size; u++) {
      const i = p + padBefore - stride * (base + u);
      taps.push(i >= 0 && i < kernel ? i : -1);
    }
  }
  return { base, size, taps };
}

/**
 * The input gradient of a strided dense conv without zero insertion (sub-pixel form): one stride-1 conv
 * of dy computes all s*s output phases as channel groups, which a transpose then interleaves. It does
 * ~2.2x fewer multiply-adds than a conv over the zero-inserted dy.
 */
function stridedInputGrad(tf: Tf, dy: Tensor, filter: Tensor, window: Window2D): Tensor {
  const [kh, kw, cIn, cOut] = filter.shape as [number, number, number, number];
  const [sh, sw] = window.strides;
  const rows = phaseTaps(kh, sh, window.pads[0]);
  const columns = phaseTaps(kw, sw, window.pads[1]);
  // combined filter [rows.size, columns.size, Cout, (p, q, Cin)] gathered from [kh*kw + 1 (zeros), Cin, Cout]
  const index: number[] = [];
  for (let u = 0; u < rows.size; u++) {
    for (let v = 0; v < columns.size; v++) {
      for (let p = 0; p < sh; p++) {
        for (let q = 0; q < sw; q++) {
          const i = rows.taps[p * rows.size + u]!;
          const j = columns.taps[q * columns.size + v]!;
          index.push(i < 0 || j < 0 ? kh * kw : i * kw + j);
        }
      }
    }
  }
  const taps = tf.concat([tf.reshape(filter, [kh * kw, cIn, cOut]), tf.zeros([1, cIn, cOut])], 0);
  const gathered = tf.reshape(tf.gather(taps, tf.tensor1d(index, 'int32')), [rows.size, columns.size, sh * sw, cIn, cOut]);
  const combined = tf.reshape(tf.transpose(gathered, [0, 1, 4, 2, 3]), [rows.size, columns.size, cOut, sh * sw * cIn]);
  const [ho, wo] = window.output;
  const outRows = Math.ceil(window.input[0] / sh);
  const outColumns = Math.ceil(window.input[1] / sw);
  const padRows: [number, number] = [-rows.base, outRows + rows.base + rows.size - 1 - ho];
  const padColumns: [number, number] = [-columns.base, outColumns + columns.base + columns.size - 1 - wo];
  const { t, pads } = cropNegative(tf, dy, padRows, padColumns);
  const phases = tf.conv2d(t as never, combined as never, 1, explicitPadding(pads));
  // interleave (tfjs-wasm's depthToSpace is ~30x slower than this transpose of whole channel rows)
  const n = dy.shape[0]!;
  const split = tf.reshape(phases, [n, outRows, outColumns, sh, sw, cIn]);
  const interleaved = tf.reshape(tf.transpose(split, [0, 1, 3, 2, 4, 5]), [n, outRows * sh, outColumns * sw, cIn]);
  if (outRows * sh === window.input[0] && outColumns * sw === window.input[1]) return interleaved;
  return tf.slice(interleaved, [0, 0, 0, 0], [n, window.input[0], window.input[1], cIn]);
}

/** dL/dW of convForward in the ONNX weight layout: [Cout, Cin, kh, kw] (dense) or [C, 1, kh, kw] (depthwise). */
export function convFilterGrad(tf: Tf, kind: ConvKind, x: Tensor, dy: Tensor, window: Window2D): Tensor {
  if (kind === 'dense' && window.strides.every((st) => st === 1) && x.size < dy.size) return denseFilterGradByInput(tf, x, dy, window);
  // With a stride and a dilation both above 1, the zero-inserted dy acts as a stride-1 output gradient.
  const split = stridedAndDilated(window);
  const grad = split ? insertZeros(tf, dy, window.strides) : dy;
  const strides = split ? [1, 1] : window.strides;
  const [kh, kw] = window.kernel;
  const [dh, dw] = window.dilations;
  const rows: [number, number] = [window.pads[0], (kh - 1) * dh + (grad.shape[1]! - 1) * strides[0]! + 1 - window.input[0] - window.pads[0]];
  const columns: [number, number] = [window.pads[1], (kw - 1) * dw + (grad.shape[2]! - 1) * strides[1]! + 1 - window.input[1] - window.pads[1]];
  const { t, pads } = cropNegative(tf, x, rows, columns);
  const [n, h, w, c] = t.shape as [number, number, number, number];
  const [, ho, wo, cOut] = grad.shape as [number, number, number, number];
  const dilations: [number, number] = [strides[0]!, strides[1]!];
  if (kind === 'dense') {
    // [Cin, H, W, N] conv [Ho, Wo, N, Cout] -> [Cin, kh, kw, Cout]
    const out = tf.conv2d(tf.transpose(t, [3, 1, 2, 0]) as never, tf.transpose(grad, [1, 2, 0, 3]) as never, [dh, dw], explicitPadding(pads), 'NHWC', dilations);
    return tf.transpose(out, [3, 0, 1, 2]);
  }
  // depthwise: channels (n, c) side by side, [1, H, W, N*C] conv [Ho, Wo, N*C, 1] -> [1, kh, kw, N*C], summed over n
  const input = tf.reshape(tf.transpose(t, [1, 2, 0, 3]), [1, h, w, n * c]);
  const filter = tf.reshape(tf.transpose(grad, [1, 2, 0, 3]), [ho, wo, n * cOut, 1]);
  const out = tf.depthwiseConv2d(input as never, filter as never, [dh, dw], explicitPadding(pads), 'NHWC', dilations);
  const perTap = tf.sum(tf.reshape(out, [kh * kw, n, c]), 1);
  return tf.reshape(tf.transpose(perTap, [1, 0]), [c, 1, kh, kw]);
}

/**
 * The dense filter gradient of a stride-1 conv with x as the (packed) filter and dy as the input:
 * [Cout, Ho, Wo, N] conv [H, W, N, Cin] -> [Cout, kh, kw, Cin] with flipped taps. XNNPACK repacks a
 * conv's filter on every call, so the smaller of x and dy should be the filter (x when Cin < Cout).
 */
function denseFilterGradByInput(tf: Tf, x: Tensor, dy: Tensor, window: Window2D): Tensor {
  const [kh, kw] = window.kernel;
  const [dh, dw] = window.dilations;
  const [, h, w] = x.shape as [number, number, number, number];
  const [, ho, wo] = dy.shape as [number, number, number, number];
  // input row r of the padded dy meets x row u at output tap p = kh - 1 - i when r = p * dh + u
  const rows: [number, number] = [dh * (kh - 1) - window.pads[0], h - ho + window.pads[0]];
  const columns: [number, number] = [dw * (kw - 1) - window.pads[1], w - wo + window.pads[1]];
  const { t, pads } = cropNegative(tf, dy, rows, columns);
  const out = tf.conv2d(tf.transpose(t, [3, 1, 2, 0]) as never, tf.transpose(x, [1, 2, 0, 3]) as never, [dh, dw], explicitPadding(pads), 'NHWC', 1);
  return tf.transpose(tf.reverse(out, [1, 2]), [0, 3, 1, 2]);
}

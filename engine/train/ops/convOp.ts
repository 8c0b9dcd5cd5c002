// Conv's gradients as ONNX ops, each in the form onnxruntime runs fastest:
// - dX: for stride 1, a Conv of dY with the flipped, transposed kernel; otherwise ConvTranspose(dY, W)
//   with the forward window.
// - dW: for 2-D group-1 convs, the sum over images of im2col(X) x dY^T (batched GEMMs; im2col as a
//   Conv with one-hot kernels, built in the backward so that it is never held from the forward: that
//   measured as fast as sharing one im2col with a GEMM forward, at a fraction of the memory);
//   otherwise a Conv of the input against the output gradient with batch and channels swapped and
//   stride and dilation exchanged, per group.
// - dB: dY summed over batch and space.
import type { onnx } from '../../onnx/proto';
import type { TrainingGraph } from '../trainingGraph';
import { convWindow, transposeAttributes, type ConvWindow } from './convWindow';
import { inputOf, type TrainingOp } from './trainingOp';

/** dW [O, C/G, k...] by the swapped-roles Conv (any group and spatial rank). */
function weightGradientByConv(g: TrainingGraph, x: string, dy: string, weightDims: readonly number[], window: ConvWindow): string {
  const [n, c, ...space] = g.dims(x) as number[];
  const [, o, ...outSpace] = g.dims(dy) as number[];
  const groups = window.group;
  const cg = c! / groups;
  const og = o! / groups;
  const spatialAxes = space.map((_, i) => i + 3);
  // x' = [C/G, G*N, s...]: batch = input channel within the group, channels = (group, image)
  const x5 = g.reshape(x, [n!, groups, cg, ...space]);
  const xT = g.reshape(g.transpose(x5, [2, 1, 0, ...spatialAxes]), [cg, groups * n!, ...space]);
  // dy' = [O, N, o...]: filters = output channels, filter channels = images
  const dy5 = g.reshape(dy, [n!, groups, og, ...outSpace]);
  const dyT = g.reshape(g.transpose(dy5, [1, 2, 0, ...spatialAxes]), [o!, n!, ...outSpace]);
  const full = space.map((size, i) => Math.floor((size + window.padsBegin[i]! + window.padsEnd[i]! - ((outSpace[i]! - 1) * window.strides[i]! + 1)) / window.dilations[i]!) + 1);
  let dw = g.node('Conv', [xT, dyT], [cg, o!, ...full], {
    strides: [...window.dilations],
    dilations: [...window.strides],
    pads: [...window.padsBegin, ...window.padsEnd],
    group: groups,
  });
  const kernel = weightDims.slice(2);
  if (full.some((f, i) => f !== kernel[i])) {
    const axes = kernel.map((_, i) => i + 2);
    dw = g.node('Slice', [dw, g.int64(kernel.map(() => 0)), g.int64(kernel), g.int64(axes)], [cg, o!, ...kernel]);
  }
  return g.transpose(dw, [1, 0, ...kernel.map((_, i) => i + 2)]);
}

/**
 * im2col(X) [N, C*kh*kw, Ho*Wo] as a Conv of every channel with one-hot kernels (onnxruntime's own
 * im2col: strides, pads and dilations included); a plain reshape for an unpadded 1x1 stride-1 conv.
 */
function columns(g: TrainingGraph, x: string, weightDims: readonly number[], window: ConvWindow, yDims: readonly number[]): string {
  const [n, c, h, w] = g.dims(x) as [number, number, number, number];
  const [kh, kw] = weightDims.slice(2) as [number, number];
  const taps = kh * kw;
  const pixels = yDims[2]! * yDims[3]!;
  const plain = taps === 1 && window.strides.every((s) => s === 1) && [...window.padsBegin, ...window.padsEnd].every((p) => p === 0);
  const source = plain
    ? x
    : g.node('Conv', [g.reshape(x, [n * c, 1, h, w]), g.float(oneHot(taps), [taps, 1, kh, kw])], [n * c, taps, yDims[2]!, yDims[3]!], {
        strides: [...window.strides],
        dilations: [...window.dilations],
        pads: [...window.padsBegin, ...window.padsEnd],
      });
  return g.reshape(source, [n, c * taps, pixels]);
}

function oneHot(taps: number): Float32Array {
  const kernel = new Float32Array(taps * taps);
  for (let t = 0; t < taps; t++) kernel[t * taps + t] = 1;
  return kernel;
}

/** dW [O, C, kh, kw] from im2col(X): per image im2col(X) x dY^T [N, C*kh*kw, O] (batched GEMMs), summed over the batch. */
function weightGradientByColumns(g: TrainingGraph, cols: string, dy: string, weightDims: readonly number[]): string {
  const [n, o, ho, wo] = g.dims(dy) as [number, number, number, number];
  const taps = g.dims(cols)[1]!;
  const dyT = g.reshape(g.transpose(dy, [0, 2, 3, 1]), [n, ho * wo, o]);
  const perImage = g.node('MatMul', [cols, dyT], [n, taps, o]);
  const summed = g.reduceSum(perImage, [0], false); // [C * kh * kw, O]
  return g.reshape(g.transpose(summed, [1, 0]), weightDims);
}

/** dX by a stride-1 Conv with the flipped, per-group transposed kernel; undefined when it does not apply. */
function inputGradientByConv(g: TrainingGraph, w: string, dy: string, xDims: readonly number[], window: ConvWindow): string | undefined {
  const wDims = g.dims(w);
  const kernel = wDims.slice(2);
  if (window.strides.some((s) => s !== 1) || kernel.length !== 2) return undefined;
  const reach = kernel.map((k, i) => (k - 1) * window.dilations[i]!);
  const padsBegin = reach.map((r, i) => r - window.padsBegin[i]!);
  const padsEnd = reach.map((r, i) => r - window.padsEnd[i]!);
  if ([...padsBegin, ...padsEnd].some((p) => p < 0)) return undefined;
  const groups = window.group;
  const [o, cg] = wDims as [number, number];
  const og = o / groups;
  // W [O, C/G, kh, kw] -> [C, O/G, kh, kw], then both spatial axes reversed
  const perGroup = g.reshape(w, [groups, og, cg, ...kernel]);
  const swapped = g.reshape(g.transpose(perGroup, [0, 2, 1, 3, 4]), [groups * cg, og, ...kernel]);
  const last = -(2 ** 31);
  const flipped = g.node('Slice', [swapped, g.int64([-1, -1]), g.int64([last, last]), g.int64([2, 3]), g.int64([-1, -1])], [groups * cg, og, ...kernel]);
  return g.node('Conv', [dy, flipped], xDims, { dilations: [...window.dilations], pads: [...padsBegin, ...padsEnd], group: groups });
}

/** The Conv training op. */
export const convOp: TrainingOp = {
  differentiable: () => [0, 1, 2],
  backward: (g, node: onnx.INodeProto, [dy], wanted) => {
    if (!dy) return [];
    const x = inputOf(node, 0);
    const w = inputOf(node, 1);
    const xDims = g.dims(x);
    const wDims = g.dims(w);
    const window = convWindow(node, xDims, wDims.slice(2));
    const yDims = g.dims(dy);
    const dx = wanted[0] ? (inputGradientByConv(g, w, dy, xDims, window) ?? g.node('ConvTranspose', [dy, w], xDims, transposeAttributes(window, xDims, yDims))) : undefined;
    let dw: string | undefined;
    if (wanted[1]) dw = window.group === 1 && xDims.length === 4 ? weightGradientByColumns(g, columns(g, x, wDims, window, yDims), dy, wDims) : weightGradientByConv(g, x, dy, wDims, window);
    const db = wanted[2] && inputOf(node, 2) ? g.reduceSum(dy, [0, ...yDims.slice(2).map((_, i) => i + 2)], false) : undefined;
    return [dx, dw, db];
  },
};

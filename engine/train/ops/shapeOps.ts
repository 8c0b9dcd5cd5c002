// Gradients of the ops that move values without changing them: Flatten, Reshape, Squeeze, Unsqueeze
// (the gradient reshaped back), Transpose (the inverse permutation), Concat (sliced apart), Slice
// (scattered back: a 0/1 selection GEMM on the last two axes, zero-insertion and padding elsewhere) and constant Pad (cropped), and of
// ReduceMean / ReduceSum (spread back over the reduced axes).
import { attributeInt, attributeInts, attributeString } from '../../onnx/attributes';
import { normaliseAxis } from '../../onnx/constants';
import { HalocError } from '../../errors';
import type { onnx } from '../../onnx/proto';
import type { TrainingGraph } from '../trainingGraph';
import { inputOf, unaryOp, type TrainingOp } from './trainingOp';

const reshapeBack = unaryOp((g, node, dy) => g.reshape(dy, g.dims(inputOf(node, 0))));

/** Integer values of input `index` (a constant) or of attribute `name`. */
function constantInts(g: TrainingGraph, node: onnx.INodeProto, index: number, name: string): number[] | undefined {
  const input = inputOf(node, index);
  if (input) {
    const values = g.constantNumbers(input);
    if (!values) throw new HalocError('UNSUPPORTED', `training: ${node.opType} '${node.name ?? ''}' takes its ${name} from a computed tensor`);
    return values;
  }
  return attributeInts(node, name);
}

const transposeOp = unaryOp((g, node, dy) => {
  const rank = g.dims(dy).length;
  const perm = attributeInts(node, 'perm') ?? Array.from({ length: rank }, (_, i) => rank - 1 - i);
  const inverse = new Array<number>(rank);
  perm.forEach((p, i) => (inverse[p] = i));
  return g.transpose(dy, inverse);
});

const concatOp: TrainingOp = {
  differentiable: (node) => (node.input ?? []).map((_, i) => i),
  backward: (g, node, [dy], wanted) => {
    if (!dy) return [];
    const yDims = g.dims(dy);
    const axis = normaliseAxis(attributeInt(node, 'axis', 0), yDims.length);
    let start = 0;
    return (node.input ?? []).map((input, i) => {
      const size = g.dims(input)[axis]!;
      const begin = start;
      start += size;
      if (!wanted[i] || size === 0) return undefined;
      return g.node('Slice', [dy, g.int64([begin]), g.int64([begin + size]), g.int64([axis])], g.dims(input));
    });
  },
};

/** One sliced axis: the first index taken, the step and the count. */
interface SlicedAxis { readonly axis: number; readonly start: number; readonly step: number; readonly count: number }

function slicedAxes(g: TrainingGraph, node: onnx.INodeProto): SlicedAxis[] {
  const xDims = g.dims(inputOf(node, 0));
  const yDims = g.dims(node.output?.[0] ?? '');
  const starts = constantInts(g, node, 1, 'starts') ?? [];
  const axes = constantInts(g, node, 3, 'axes') ?? starts.map((_, i) => i);
  const steps = (node.input?.length ?? 0) > 4 ? constantInts(g, node, 4, 'steps') : undefined;
  return axes.map((a, i) => {
    const axis = normaliseAxis(a, xDims.length);
    const step = steps?.[i] ?? 1;
    if (step < 1) throw new HalocError('UNSUPPORTED', `training: Slice '${node.name ?? ''}' with a negative step`);
    const size = xDims[axis]!;
    const raw = starts[i]!;
    const start = Math.min(Math.max(raw < 0 ? raw + size : raw, 0), size);
    return { axis, start, step, count: yDims[axis]! };
  });
}

/**
 * The gradient of slicing one of the last two axes, as a product with a 0/1 selection matrix S
 * [size, count] (S[start + i * step, i] = 1): zero-insertion, offset and crop in one small GEMM.
 */
function scatterBySelection(g: TrainingGraph, grad: string, { axis, start, step, count }: SlicedAxis, size: number): string {
  const dims = g.dims(grad);
  const rank = dims.length;
  const selection = new Float32Array(size * count);
  for (let i = 0; i < count; i++) selection[(start + i * step) * count + i] = 1;
  const out = dims.map((d, i) => (i === axis ? size : d));
  if (axis === rank - 1) return g.node('MatMul', [grad, g.transpose(g.float(selection, [size, count]), [1, 0])], out);
  return g.node('MatMul', [g.float(selection, [size, count]), grad], out);
}

/** The gradient of slicing any axis: zero-insertion by padding a new inner axis, then Slice / Pad to the input's extent. */
function scatterByPadding(g: TrainingGraph, grad: string, { axis, start, step, count }: SlicedAxis, size: number): string {
  let dims = [...g.dims(grad)];
  let out = grad;
  if (step > 1) {
    // [.., count, ..] -> [.., count, 1, ..] -> pad to [.., count, step, ..] -> [.., count * step, ..]
    const inserted = [...dims.slice(0, axis + 1), 1, ...dims.slice(axis + 1)];
    const pads = [...inserted.map(() => 0), ...inserted.map((_, i) => (i === axis + 1 ? step - 1 : 0))];
    const padded = g.node('Pad', [g.reshape(out, inserted), g.int64(pads)], inserted.map((d, i) => (i === axis + 1 ? step : d)));
    dims = dims.map((d, i) => (i === axis ? count * step : d));
    out = g.reshape(padded, dims);
  }
  if (start + dims[axis]! > size) {
    dims[axis] = size - start;
    out = g.node('Slice', [out, g.int64([0]), g.int64([dims[axis]!]), g.int64([axis])], [...dims]);
  }
  const after = size - start - dims[axis]!;
  if (start > 0 || after > 0) {
    const pads = [...dims.map((_, i) => (i === axis ? start : 0)), ...dims.map((_, i) => (i === axis ? after : 0))];
    dims[axis] = size;
    out = g.node('Pad', [out, g.int64(pads)], [...dims]);
  }
  return out;
}

const sliceOp: TrainingOp = {
  differentiable: () => [0],
  backward: (g, node, [dy], wanted) => {
    if (!wanted[0] || !dy) return [undefined];
    const xDims = g.dims(inputOf(node, 0));
    let grad = dy;
    for (const sliced of slicedAxes(g, node)) {
      const size = xDims[sliced.axis]!;
      if (sliced.count === size) continue;
      const lastTwo = sliced.axis >= xDims.length - 2 && xDims.length >= 2;
      grad = lastTwo ? scatterBySelection(g, grad, sliced, size) : scatterByPadding(g, grad, sliced, size);
    }
    return [grad];
  },
};

const padOp: TrainingOp = {
  differentiable: () => [0],
  backward: (g, node, [dy], wanted) => {
    if (!wanted[0] || !dy) return [undefined];
    const mode = attributeString(node, 'mode', 'constant');
    if (mode !== 'constant') throw new HalocError('UNSUPPORTED', `training: Pad '${node.name ?? ''}' in ${mode} mode`);
    const xDims = g.dims(inputOf(node, 0));
    const rank = xDims.length;
    const pads = constantInts(g, node, 1, 'pads') ?? [];
    const axes = (node.input?.length ?? 0) > 3 && inputOf(node, 3) ? constantInts(g, node, 3, 'axes')!.map((a) => normaliseAxis(a, rank)) : xDims.map((_, i) => i);
    const begin = new Array<number>(rank).fill(0);
    axes.forEach((a, i) => (begin[a] = pads[i]!));
    if (pads.some((p) => p < 0)) throw new HalocError('UNSUPPORTED', `training: Pad '${node.name ?? ''}' with negative pads`);
    const all = xDims.map((_, i) => i);
    return [g.node('Slice', [dy, g.int64(begin), g.int64(begin.map((b, i) => b + xDims[i]!)), g.int64(all)], xDims)];
  },
};

/** ReduceMean / ReduceSum: the gradient broadcast back over the reduced axes (scaled for the mean). */
function reduceOp(mean: boolean): TrainingOp {
  return unaryOp((g, node, dy) => {
    const xDims = g.dims(inputOf(node, 0));
    const listed = constantInts(g, node, 1, 'axes');
    const noop = attributeInt(node, 'noop_with_empty_axes', 0) === 1;
    if ((!listed || listed.length === 0) && noop) return dy;
    const axes = listed && listed.length > 0 ? listed.map((a) => normaliseAxis(a, xDims.length)) : xDims.map((_, i) => i);
    const kept = xDims.map((d, i) => (axes.includes(i) ? 1 : d));
    let grad = g.reshape(dy, kept);
    if (mean) grad = g.node('Mul', [grad, g.scalar(1 / axes.reduce((p, a) => p * xDims[a]!, 1))], kept);
    return g.node('Expand', [grad, g.int64(xDims)], xDims);
  });
}

/** Training ops of this file by op type. */
export const shapeOps: Record<string, TrainingOp> = {
  Flatten: reshapeBack,
  Reshape: { ...reshapeBack, differentiable: () => [0] },
  Squeeze: reshapeBack,
  Unsqueeze: reshapeBack,
  Transpose: transposeOp,
  Concat: concatOp,
  Slice: sliceOp,
  Pad: padOp,
  ReduceMean: reduceOp(true),
  ReduceSum: reduceOp(false),
};

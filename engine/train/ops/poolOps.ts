// Gradients of the pools: GlobalAveragePool (spread evenly), AveragePool (a depthwise ConvTranspose of
// the gradient divided by each window's count), MaxPool (the forward also returns the argmax indices;
// the gradient is scattered back onto them, adding where windows overlap).
import { attributeInt, attributeInts } from '../../onnx/attributes';
import { HalocError } from '../../errors';
import type { onnx } from '../../onnx/proto';
import type { TrainingGraph } from '../trainingGraph';
import { convWindow, transposedSize, type ConvWindow } from './convWindow';
import { inputOf, outputOf, unaryOp, type TrainingOp } from './trainingOp';

function poolWindow(g: TrainingGraph, node: onnx.INodeProto): ConvWindow {
  const kernel = attributeInts(node, 'kernel_shape');
  if (!kernel) throw new HalocError('UNSUPPORTED', `training: pool '${node.name ?? ''}' has no kernel_shape`);
  return convWindow(node, g.dims(inputOf(node, 0)), kernel);
}

/** Number of input elements (excluding padding) under each output window along one axis. */
function windowCounts(window: ConvWindow, axis: number, inSize: number, outSize: number, includePad: boolean): number[] {
  return Array.from({ length: outSize }, (_, o) => {
    const start = o * window.strides[axis]! - window.padsBegin[axis]!;
    const end = start + (window.kernel[axis]! - 1) * window.dilations[axis]! + 1;
    if (includePad) return Math.min(end, inSize + window.padsEnd[axis]!) - start;
    return Math.min(end, inSize) - Math.max(start, 0);
  });
}

/** `dx` (natural ConvTranspose size) cut or padded with zeros to `target` spatial dims. */
function fitSpatial(g: TrainingGraph, dx: string, target: readonly number[]): string {
  const dims = g.dims(dx);
  const axes = target.map((_, i) => i).slice(2);
  if (axes.every((a) => dims[a] === target[a])) return dx;
  const cut = axes.filter((a) => dims[a]! > target[a]!);
  let out = dx;
  if (cut.length > 0) out = g.node('Slice', [out, g.int64(cut.map(() => 0)), g.int64(cut.map((a) => target[a]!)), g.int64(cut)], dims.map((d, a) => (cut.includes(a) ? target[a]! : d)));
  const now = g.dims(out);
  if (now.every((d, a) => d === target[a])) return out;
  const pads = [...now.map(() => 0), ...now.map((d, a) => target[a]! - d)];
  return g.node('Pad', [out, g.int64(pads)], target);
}

const averagePool: TrainingOp = unaryOp((g, node, dy) => {
  const x = inputOf(node, 0);
  const xDims = g.dims(x);
  const yDims = g.dims(dy);
  const window = poolWindow(g, node);
  const includePad = attributeInt(node, 'count_include_pad', 0) === 1;
  const channels = xDims[1]!;
  // 1 / count per output position (a product of per-axis counts), broadcast over batch and channels
  const perAxis = window.kernel.map((_, a) => windowCounts(window, a, xDims[a + 2]!, yDims[a + 2]!, includePad));
  const outSpace = yDims.slice(2);
  const inverse = new Float32Array(outSpace.reduce((p, d) => p * d, 1));
  inverse.forEach((_, flat) => {
    let rest = flat;
    let count = 1;
    for (let a = outSpace.length - 1; a >= 0; a--) {
      count *= perAxis[a]![rest % outSpace[a]!]!;
      rest = Math.floor(rest / outSpace[a]!);
    }
    inverse[flat] = 1 / count;
  });
  const scaled = g.node('Mul', [dy, g.float(inverse, [1, 1, ...outSpace])], yDims);
  const ones = new Float32Array(channels * window.kernel.reduce((p, k) => p * k, 1)).fill(1);
  const natural = window.kernel.map((_, a) => transposedSize(window, a, yDims[a + 2]!));
  const outputPadding = natural.map((n, a) => Math.max(0, Math.min(xDims[a + 2]! - n, window.strides[a]! - 1)));
  const dx = g.node('ConvTranspose', [scaled, g.float(ones, [channels, 1, ...window.kernel])], [xDims[0]!, channels, ...natural.map((n, a) => n + outputPadding[a]!)], {
    strides: [...window.strides],
    dilations: [...window.dilations],
    pads: [...window.padsBegin, ...window.padsEnd],
    group: channels,
    output_padding: outputPadding,
  });
  return fitSpatial(g, dx, xDims);
});

const maxPool: TrainingOp = {
  differentiable: () => [0],
  forward: (g, node) => {
    const indices = `haloc_train/${outputOf(node)}/argmax`;
    g.copy({ ...node, output: [outputOf(node), indices] });
    g.setDims(indices, g.dims(outputOf(node)));
  },
  backward: (g, node, [dy], wanted) => {
    if (!wanted[0] || !dy) return [undefined];
    const xDims = g.dims(inputOf(node, 0));
    if (attributeInt(node, 'storage_order', 0) !== 0) throw new HalocError('UNSUPPORTED', `training: MaxPool '${node.name ?? ''}' with storage_order 1`);
    const total = xDims.reduce((p, d) => p * d, 1);
    const count = g.dims(dy).reduce((p, d) => p * d, 1);
    const indices = g.reshape(`haloc_train/${outputOf(node)}/argmax`, [count]);
    const zeros = g.float(new Float32Array(total), [total]);
    const flat = g.node('ScatterElements', [zeros, indices, g.reshape(dy, [count])], [total], { axis: 0, reduction: 'add' });
    return [g.reshape(flat, xDims)];
  },
};

const globalAveragePool: TrainingOp = unaryOp((g, node, dy) => {
  const xDims = g.dims(inputOf(node, 0));
  const area = xDims.slice(2).reduce((p, d) => p * d, 1);
  const scaled = g.node('Mul', [dy, g.scalar(1 / area)], g.dims(dy));
  return g.node('Expand', [scaled, g.int64(xDims)], xDims);
});

/** Training ops of this file by op type. */
export const poolOps: Record<string, TrainingOp> = { AveragePool: averagePool, MaxPool: maxPool, GlobalAveragePool: globalAveragePool };

// Slice (positive steps), Pad (constant mode) and Concat, in whichever layout their input is stored
// (axes are mapped onto NHWC storage). Stepped slices of the spatial axes of an NHWC tensor run as
// 1x1 pools, which are far faster on wasm than strided slices; their gradient inserts zeros.
import { HalocError } from '../../errors';
import { attributeFloat, attributeInt, attributeInts, attributeString } from '../../onnx/attributes';
import { subsample } from './convKernels';
import { dimsOf, gradInLayoutOf, normalAxis, plainTensor, storageAxis } from './tfjsLayout';
import type { Act, OpContext, Tensor, Tf, TfjsOp } from './tfjsTypes';

/** `t` with s-1 zeros after every element along `axis`: length n -> n * s. */
function dilateAxis(tf: Tf, t: Tensor, axis: number, s: number): Tensor {
  if (s === 1) return t;
  const shape = t.shape;
  const spread = [...shape.slice(0, axis + 1), 1, ...shape.slice(axis + 1)];
  const pads = spread.map((_, i): [number, number] => (i === axis + 1 ? [0, s - 1] : [0, 0]));
  const out = [...shape];
  out[axis] = shape[axis]! * s;
  return tf.reshape(tf.pad(tf.reshape(t, spread), pads), out);
}

/** Pads (negative: crops) every axis of `t` by [before, after]. */
function padOrCrop(tf: Tf, t: Tensor, pads: readonly (readonly [number, number])[], value = 0): Tensor {
  let out = t;
  if (pads.some(([a, b]) => a < 0 || b < 0)) {
    const begin = pads.map(([a]) => Math.max(-a, 0));
    const size = pads.map(([a, b], i) => t.shape[i]! - Math.max(-a, 0) - Math.max(-b, 0));
    out = tf.slice(out, begin, size);
  }
  if (pads.some(([a, b]) => a > 0 || b > 0)) out = tf.pad(out, pads.map(([a, b]) => [Math.max(a, 0), Math.max(b, 0)] as [number, number]), value);
  return out;
}

/** Per storage axis: first index, element count and step of a Slice node. */
function sliceRanges(context: OpContext, input: Act): { begin: number[]; count: number[]; step: number[] } {
  const { node, label } = context;
  const dims = dimsOf(input);
  const fromInputs = context.opset >= 10;
  const starts = (fromInputs ? context.ints(1) : attributeInts(node, 'starts')) ?? [];
  const ends = (fromInputs ? context.ints(2) : attributeInts(node, 'ends')) ?? [];
  const axes = (fromInputs ? context.ints(3) : attributeInts(node, 'axes')) ?? starts.map((_, i) => i);
  const steps = (fromInputs ? context.ints(4) : undefined) ?? starts.map(() => 1);
  const rank = dims.length;
  const begin = new Array<number>(rank).fill(0);
  const count = [...input.t.shape];
  const step = new Array<number>(rank).fill(1);
  axes.forEach((rawAxis, i) => {
    const axis = normalAxis(rawAxis, rank, label);
    const dim = dims[axis]!;
    const s = steps[i] ?? 1;
    if (s <= 0) throw new HalocError('UNSUPPORTED', `tensorflow.js training: Slice node '${label}' has step ${s}; only positive steps are supported`);
    const clamp = (v: number): number => Math.min(Math.max(v < 0 ? v + dim : v, 0), dim);
    const start = clamp(starts[i] ?? 0);
    const end = clamp(ends[i] ?? dim);
    const n = Math.max(Math.ceil((end - start) / s), 0);
    if (n === 0) throw new HalocError('UNSUPPORTED', `tensorflow.js training: Slice node '${label}' produces an empty tensor`);
    const at = storageAxis(input, axis);
    begin[at] = start;
    count[at] = n;
    step[at] = s;
  });
  return { begin, count, step };
}

const sliceOp: TfjsOp = {
  forward: (context, [input]) => {
    const { tf } = context;
    const act = input!;
    const { begin, count, step } = sliceRanges(context, act);
    const shape = act.t.shape;
    const stepped = step.map((s, i) => (s > 1 ? i : -1)).filter((i) => i >= 0);
    const spatial = act.nhwc && stepped.every((i) => i === 1 || i === 2);
    // a spatial subsample reads only every s-th element: its axes are not cropped at the end first (wasm slices are slow)
    const extent = count.map((n, i) => (spatial && step[i]! > 1 ? shape[i]! - begin[i]! : (n - 1) * step[i]! + 1));
    let y = begin.some((b, i) => b !== 0 || extent[i] !== shape[i]) ? tf.slice(act.t, begin, extent) : act.t;
    if (stepped.length > 0) y = spatial ? subsample(tf, y, [step[1]!, step[2]!]) : tf.stridedSlice(y, y.shape.map(() => 0), [...y.shape], step);
    if (y.shape.some((d, i) => d !== count[i])) y = tf.slice(y, y.shape.map(() => 0), count);
    return {
      outputs: [{ t: y, nhwc: act.nhwc }],
      backward: ([dy], wanted) => {
        if (!wanted[0] || !dy) return [];
        let g = dy;
        for (const axis of stepped) g = dilateAxis(tf, g, axis, step[axis]!);
        return [padOrCrop(tf, g, shape.map((d, i) => [begin[i]!, d - begin[i]! - g.shape[i]!] as const))];
      },
    };
  },
};

/** Pad in constant mode; negative pads crop. */
const padOp: TfjsOp = {
  forward: (context, [input]) => {
    const { tf, node, label } = context;
    const act = input!;
    const mode = attributeString(node, 'mode', 'constant');
    if (mode !== 'constant') throw new HalocError('UNSUPPORTED', `tensorflow.js training: Pad node '${label}' uses mode '${mode}'; only constant padding is supported`);
    const rank = act.t.rank;
    const fromInputs = context.opset >= 11;
    const raw = (fromInputs ? context.ints(1) : attributeInts(node, 'pads')) ?? [];
    const value = fromInputs ? (context.floats(2)?.[0] ?? 0) : attributeFloat(node, 'value', 0);
    const axes = (context.opset >= 18 ? context.ints(3) : undefined)?.map((a) => normalAxis(a, rank, label)) ?? Array.from({ length: rank }, (_, i) => i);
    if (raw.length !== 2 * axes.length) throw new HalocError('UNSUPPORTED', `tensorflow.js training: Pad node '${label}' has ${raw.length} pads for ${axes.length} axes`);
    const pads = new Array<[number, number]>(rank).fill([0, 0]).map((p) => [...p] as [number, number]);
    axes.forEach((axis, i) => (pads[storageAxis(act, axis)] = [raw[i]!, raw[i + axes.length]!]));
    const y = padOrCrop(tf, act.t, pads, value);
    return {
      outputs: [{ t: y, nhwc: act.nhwc }],
      backward: ([dy], wanted) => [wanted[0] && dy ? padOrCrop(tf, dy, pads.map(([a, b]) => [-a, -b] as const)) : undefined],
    };
  },
};

const concatOp: TfjsOp = {
  forward: ({ tf, node, label }, inputs) => {
    const acts = inputs.filter((a): a is Act => a !== undefined);
    const allNhwc = acts.every((a) => a.nhwc);
    const rank = acts[0]!.t.rank;
    const axis = normalAxis(attributeInt(node, 'axis', 0), rank, label);
    const at = allNhwc ? storageAxis(acts[0]!, axis) : axis;
    const parts = acts.map((a) => (allNhwc ? a.t : plainTensor(tf, a)));
    const y = tf.concat(parts, at);
    return {
      outputs: [{ t: y, nhwc: allNhwc }],
      backward: ([dy], wanted) => {
        if (!dy) return [];
        const pieces = tf.split(dy, parts.map((p) => p.shape[at]!), at);
        let next = 0;
        return inputs.map((a, i) => {
          if (!a) return undefined;
          const piece = pieces[next++]!;
          return wanted[i] ? gradInLayoutOf(tf, piece, allNhwc, a) : undefined;
        });
      },
    };
  },
};

/** Slicing and padding ops by ONNX op type. */
export const sliceOps: Record<string, TfjsOp> = { Slice: sliceOp, Pad: padOp, Concat: concatOp };

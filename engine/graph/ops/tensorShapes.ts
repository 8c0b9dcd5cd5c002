// Shapes of the data-movement ops: Flatten, Reshape, Transpose, Concat, Split, Slice, Pad, Squeeze,
// Unsqueeze, Gather, Shape, Size, ConstantOfShape, Expand, Tile. Small integer results are folded so
// that Shape -> Gather -> Unsqueeze -> Concat -> Reshape chains resolve statically.
import { attributeInt, attributeInts, findAttribute } from '../../onnx/attributes';
import { normaliseAxis, resolveReshape } from '../../onnx/constants';
import { DataType } from '../../onnx/dataType';
import { axisWithin, intInput, requireInput, type ShapeContext, type ShapeFunction } from '../shapeContext';
import { derivedFromDims, isStatic, ShapeError, staticProduct, type Dim, type ValueInfo } from '../valueInfo';
import { broadcastDims } from './broadcast';

/** Axes from the `axes` attribute (old opsets) or from input `index` (newer opsets). */
function axesOf(context: ShapeContext, index: number): readonly number[] | undefined {
  return attributeInts(context.node, 'axes') ?? intInput(context, index);
}

function requireInts(context: ShapeContext, index: number, what: string): readonly number[] {
  const values = intInput(context, index);
  if (!values) throw new ShapeError(`${context.node.opType}: ${what} (input ${index}) is computed at run time`);
  return values;
}

function withInts(elemType: number, dims: readonly Dim[], intValues: readonly number[] | undefined): ValueInfo {
  return intValues ? { elemType, dims, intValues } : { elemType, dims };
}

const flatten: ShapeFunction = (context) => {
  const x = requireInput(context, 0);
  const axis = normaliseAxis(attributeInt(context.node, 'axis', 1), x.dims.length);
  const left = staticProduct(x.dims.slice(0, axis));
  const right = staticProduct(x.dims.slice(axis));
  return [{ elemType: x.elemType, dims: [left ?? (axis === 1 ? (x.dims[0] ?? '?') : derivedFromDims(x.dims.slice(0, axis))), right ?? derivedFromDims(x.dims.slice(axis))] }];
};

const reshape: ShapeFunction = (context) => {
  const x = requireInput(context, 0);
  const target = attributeInts(context.node, 'shape') ?? requireInts(context, 1, 'the target shape');
  const allowZero = attributeInt(context.node, 'allowzero', 0) === 1;
  if (isStatic(x.dims)) {
    const dims = resolveReshape(x.dims, target, allowZero);
    if (!dims) throw new ShapeError(`cannot reshape [${x.dims.join(', ')}] to [${target.join(', ')}]`);
    return [withInts(x.elemType, dims, x.intValues)];
  }
  // Symbolic input: copy dims for 0, keep the symbol for -1 when the rest matches what remains.
  const dims: Dim[] = target.map((d, i) => (d === 0 && !allowZero ? (x.dims[i] ?? '?') : d));
  const inferred = dims.indexOf(-1);
  if (inferred >= 0) dims[inferred] = `${x.dims.find((d) => typeof d === 'string') ?? '?'}'`;
  return [{ elemType: x.elemType, dims }];
};

const transpose: ShapeFunction = (context) => {
  const x = requireInput(context, 0);
  const perm = attributeInts(context.node, 'perm') ?? x.dims.map((_, i) => x.dims.length - 1 - i);
  return [{ elemType: x.elemType, dims: perm.map((axis) => x.dims[axis] ?? '?') }];
};

const concat: ShapeFunction = (context) => {
  const inputs = context.inputs.map((_, i) => requireInput(context, i));
  const first = inputs[0];
  if (!first) throw new ShapeError('Concat has no inputs');
  const axis = normaliseAxis(attributeInt(context.node, 'axis', 0), first.dims.length);
  const sizes = inputs.map((input) => input.dims[axis]);
  const total = sizes.every((s): s is number => typeof s === 'number') ? sizes.reduce((a, b) => a + b, 0) : derivedFromDims(sizes.filter((d) => d !== undefined));
  const dims = first.dims.map((d, i) => (i === axis ? total : d));
  const ints = inputs.every((input) => input.intValues) ? inputs.flatMap((input) => input.intValues ?? []) : undefined;
  return [withInts(first.elemType, dims, ints)];
};

const split: ShapeFunction = (context) => {
  const x = requireInput(context, 0);
  const axis = normaliseAxis(attributeInt(context.node, 'axis', 0), x.dims.length);
  const count = context.node.output?.length ?? 1;
  const size = x.dims[axis];
  const parts = attributeInts(context.node, 'split') ?? intInput(context, 1);
  const sizes: Dim[] = parts
    ? [...parts]
    : typeof size === 'number'
      ? Array.from({ length: count }, (_, i) => Math.min(Math.ceil(size / count), size - i * Math.ceil(size / count)))
      : new Array<Dim>(count).fill(`${size ?? '?'}'`);
  return sizes.map((s) => ({ elemType: x.elemType, dims: x.dims.map((d, i) => (i === axis ? s : d)) }));
};

const slice: ShapeFunction = (context) => {
  const x = requireInput(context, 0);
  const old = context.opset < 10;
  const starts = old ? attributeInts(context.node, 'starts') : intInput(context, 1);
  const ends = old ? attributeInts(context.node, 'ends') : intInput(context, 2);
  if (!starts || !ends) throw new ShapeError('Slice starts/ends are computed at run time');
  const axes = (old ? attributeInts(context.node, 'axes') : intInput(context, 3)) ?? starts.map((_, i) => i);
  const steps = (old ? undefined : intInput(context, 4)) ?? starts.map(() => 1);
  const dims = [...x.dims];
  let ints = x.intValues ? [...x.intValues] : undefined;
  axes.forEach((rawAxis, i) => {
    const axis = axisWithin(rawAxis, x.dims.length, 'Slice');
    const size = x.dims[axis];
    if (typeof size !== 'number') {
      dims[axis] = `${size ?? '?'}'`;
      ints = undefined;
      return;
    }
    const range = sliceRange(size, starts[i] ?? 0, ends[i] ?? size, steps[i] ?? 1);
    dims[axis] = range.length;
    // Values are folded only for small shape tensors; a damaged file may declare any size, so never list huge ranges.
    if (ints && axis === 0) ints = range.length <= ints.length ? Array.from({ length: range.length }, (_, k) => ints?.[range.first + k * range.step] ?? 0) : undefined;
  });
  return [withInts(x.elemType, dims, ints)];
};

/** The indices one axis of Slice selects (ONNX clamping rules): first, first + step, ... (`length` of them). */
export function sliceRange(size: number, start: number, end: number, step: number): { first: number; step: number; length: number } {
  if (step === 0) throw new ShapeError('Slice step is 0');
  const clamp = (v: number, lo: number, hi: number): number => Math.min(Math.max(v < 0 ? v + size : v, lo), hi);
  const first = step > 0 ? clamp(start, 0, size) : clamp(start, 0, size - 1); // ONNX: start in [0, size - 1] when stepping back
  const last = step > 0 ? clamp(end, 0, size) : clamp(end, -1, size - 1);
  // Counted, not listed: a damaged file can declare a size of 2^62.
  const length = Math.max(0, Math.ceil((last - first) / step));
  return { first, step, length };
}

const pad: ShapeFunction = (context) => {
  const x = requireInput(context, 0);
  const pads = attributeInts(context.node, 'pads') ?? attributeInts(context.node, 'paddings') ?? requireInts(context, 1, 'the pads');
  const axes = intInput(context, 3)?.map((a) => axisWithin(a, x.dims.length, 'Pad')) ?? x.dims.map((_, i) => i);
  const dims = [...x.dims];
  axes.forEach((axis, i) => {
    const d = dims[axis];
    const extra = (pads[i] ?? 0) + (pads[i + axes.length] ?? 0);
    dims[axis] = typeof d === 'number' ? d + extra : `${d ?? '?'}'`;
  });
  return [{ elemType: x.elemType, dims }];
};

const squeeze: ShapeFunction = (context) => {
  const x = requireInput(context, 0);
  const axes = axesOf(context, 1)?.map((a) => normaliseAxis(a, x.dims.length));
  const dims = x.dims.filter((d, i) => (axes ? !axes.includes(i) : d !== 1));
  return [withInts(x.elemType, dims, x.intValues)];
};

const unsqueeze: ShapeFunction = (context) => {
  const x = requireInput(context, 0);
  const axes = axesOf(context, 1);
  if (!axes) throw new ShapeError('Unsqueeze axes are computed at run time');
  const rank = x.dims.length + axes.length;
  const inserted = new Set(axes.map((a) => normaliseAxis(a, rank)));
  const rest = [...x.dims];
  const dims = Array.from({ length: rank }, (_, i) => (inserted.has(i) ? 1 : (rest.shift() ?? '?')));
  return [withInts(x.elemType, dims, x.intValues)];
};

const gather: ShapeFunction = (context) => {
  const data = requireInput(context, 0);
  const indices = requireInput(context, 1);
  const axis = normaliseAxis(attributeInt(context.node, 'axis', 0), data.dims.length);
  const dims = [...data.dims.slice(0, axis), ...indices.dims, ...data.dims.slice(axis + 1)];
  const indexValues = intInput(context, 1);
  const size = data.intValues?.length ?? 0;
  const ints = data.intValues && indexValues && data.dims.length === 1 ? indexValues.map((i) => data.intValues?.[i < 0 ? i + size : i] ?? 0) : undefined;
  return [withInts(data.elemType, dims, ints)];
};

const shape: ShapeFunction = (context) => {
  const x = requireInput(context, 0);
  const start = normaliseAxis(attributeInt(context.node, 'start', 0), x.dims.length);
  const end = normaliseAxis(attributeInt(context.node, 'end', x.dims.length), x.dims.length);
  const picked = x.dims.slice(start, end);
  return [withInts(DataType.INT64, [picked.length], isStatic(picked) ? picked : undefined)];
};

const size: ShapeFunction = (context) => {
  const count = staticProduct(requireInput(context, 0).dims);
  return [withInts(DataType.INT64, [], count === undefined ? undefined : [count])];
};

const constantOfShape: ShapeFunction = (context) => {
  const dims = requireInts(context, 0, 'the shape');
  const elemType = findAttribute(context.node, 'value')?.t?.dataType ?? DataType.FLOAT;
  return [{ elemType, dims }];
};

const expand: ShapeFunction = (context) => {
  const x = requireInput(context, 0);
  return [{ elemType: x.elemType, dims: broadcastDims([x.dims, requireInts(context, 1, 'the shape')]) }];
};

const tile: ShapeFunction = (context) => {
  const x = requireInput(context, 0);
  const repeats = requireInts(context, 1, 'the repeats');
  return [{ elemType: x.elemType, dims: x.dims.map((d, i) => (typeof d === 'number' ? d * (repeats[i] ?? 1) : `${d}'`)) }];
};

/** Shape functions of this file by op type. */
export const tensorShapeFunctions: Record<string, ShapeFunction> = {
  Flatten: flatten,
  Reshape: reshape,
  Transpose: transpose,
  Concat: concat,
  Split: split,
  Slice: slice,
  Pad: pad,
  Squeeze: squeeze,
  Unsqueeze: unsqueeze,
  Gather: gather,
  Shape: shape,
  Size: size,
  ConstantOfShape: constantOfShape,
  Expand: expand,
  Tile: tile,
};

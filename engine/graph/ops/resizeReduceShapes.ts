// Shapes of Resize / Upsample (scales or sizes) and of the reductions (Reduce*, ArgMax, ArgMin).
import { attributeFloat, attributeInt, attributeInts, findAttribute } from '../../onnx/attributes';
import { normaliseAxis } from '../../onnx/constants';
import { DataType } from '../../onnx/dataType';
import { axisWithin, intInput, requireInput, type ShapeContext, type ShapeFunction } from '../shapeContext';
import { derivedDim, ShapeError, type Dim } from '../valueInfo';

function floatsOf(context: ShapeContext, index: number): readonly number[] | undefined {
  const constant = context.constant(index);
  return constant && constant.elementCount > 0 ? Array.from(constant.toFloat32()) : undefined;
}

const resize: ShapeFunction = (context) => {
  const x = requireInput(context, 0);
  const opset = context.opset;
  const sizes = opset >= 11 ? intInput(context, 3) : undefined;
  const scales = findAttribute(context.node, 'scales')?.floats ?? floatsOf(context, opset >= 11 ? 2 : 1);
  const axes = attributeInts(context.node, 'axes')?.map((a) => axisWithin(a, x.dims.length, 'Resize')) ?? x.dims.map((_, i) => i);
  const dims: Dim[] = [...x.dims];
  if (sizes && sizes.length > 0) {
    axes.forEach((axis, i) => (dims[axis] = sizes[i] ?? dims[axis] ?? '?'));
  } else if (scales && scales.length > 0) {
    axes.forEach((axis, i) => (dims[axis] = derivedDim(dims[axis] ?? '?', (d) => Math.floor(d * (scales[i] ?? 1)))));
  } else if (context.node.opType === 'Upsample' && findAttribute(context.node, 'height_scale')) {
    dims[2] = derivedDim(dims[2] ?? '?', (d) => Math.floor(d * attributeFloat(context.node, 'height_scale', 1)));
    dims[3] = derivedDim(dims[3] ?? '?', (d) => Math.floor(d * attributeFloat(context.node, 'width_scale', 1)));
  } else {
    throw new ShapeError(`${context.node.opType}: scales and sizes are computed at run time`);
  }
  return [{ elemType: x.elemType, dims }];
};

/** Opset from which each reduction takes its axes as an input instead of an attribute. */
const axesInputSince: Record<string, number> = { ReduceSum: 13 };

const reduce: ShapeFunction = (context) => {
  const x = requireInput(context, 0);
  const op = context.node.opType ?? '';
  const fromInput = context.opset >= (axesInputSince[op] ?? 18);
  const axes = (fromInput ? intInput(context, 1) : attributeInts(context.node, 'axes'))?.map((a) => normaliseAxis(a, x.dims.length));
  if (fromInput && !axes && context.inputs.length > 1 && context.inputs[1]) throw new ShapeError(`${op}: axes are computed at run time`);
  const noopWithEmptyAxes = attributeInt(context.node, 'noop_with_empty_axes', 0) === 1;
  if ((!axes || axes.length === 0) && noopWithEmptyAxes) return [{ elemType: x.elemType, dims: x.dims }];
  const reduced = new Set(axes && axes.length > 0 ? axes : x.dims.map((_, i) => i));
  const keep = attributeInt(context.node, 'keepdims', 1) === 1;
  const dims = x.dims.flatMap((d, i) => (reduced.has(i) ? (keep ? [1] : []) : [d]));
  return [{ elemType: x.elemType, dims }];
};

const argReduce: ShapeFunction = (context) => {
  const x = requireInput(context, 0);
  const axis = normaliseAxis(attributeInt(context.node, 'axis', 0), x.dims.length);
  const keep = attributeInt(context.node, 'keepdims', 1) === 1;
  return [{ elemType: DataType.INT64, dims: x.dims.flatMap((d, i) => (i === axis ? (keep ? [1] : []) : [d])) }];
};

const reductions = ['ReduceMean', 'ReduceSum', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceL1', 'ReduceL2', 'ReduceLogSum', 'ReduceLogSumExp', 'ReduceSumSquare'];

/** Shape functions of this file by op type. */
export const resizeReduceShapeFunctions: Record<string, ShapeFunction> = {
  Resize: resize,
  Upsample: resize,
  ...Object.fromEntries(reductions.map((op) => [op, reduce])),
  ArgMax: argReduce,
  ArgMin: argReduce,
};

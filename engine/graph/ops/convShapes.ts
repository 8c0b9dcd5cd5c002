// Shapes of Conv, ConvTranspose and the windowed pools (Max/Average/Lp), with group, dilation,
// strides, explicit pads, auto_pad and ceil_mode.
import { attributeInt, attributeInts, attributeString } from '../../onnx/attributes';
import { DataType } from '../../onnx/dataType';
import { requireInput, type ShapeContext, type ShapeFunction } from '../shapeContext';
import { derivedDim, ShapeError, type Dim, type ValueInfo } from '../valueInfo';

/** Spatial window of a conv or pool along each spatial axis. */
interface Window {
  readonly kernel: readonly number[];
  readonly strides: readonly number[];
  readonly dilations: readonly number[];
  readonly pads: readonly number[];
  readonly autoPad: string;
}

function windowOf(context: ShapeContext, kernel: readonly number[]): Window {
  const spatial = kernel.length;
  const node = context.node;
  return {
    kernel,
    strides: attributeInts(node, 'strides') ?? new Array<number>(spatial).fill(1),
    dilations: attributeInts(node, 'dilations') ?? new Array<number>(spatial).fill(1),
    pads: attributeInts(node, 'pads') ?? new Array<number>(spatial * 2).fill(0),
    autoPad: attributeString(node, 'auto_pad', 'NOTSET'),
  };
}

/** Output size of a sliding window along one axis. */
export function windowOutputSize(input: number, axis: number, window: Window, ceilMode = false): number {
  const stride = window.strides[axis] ?? 1;
  const extent = ((window.kernel[axis] ?? 1) - 1) * (window.dilations[axis] ?? 1) + 1;
  if (window.autoPad === 'SAME_UPPER' || window.autoPad === 'SAME_LOWER') return Math.ceil(input / stride);
  if (window.autoPad === 'VALID') return Math.floor((input - extent) / stride) + 1;
  const padded = input + (window.pads[axis] ?? 0) + (window.pads[axis + window.kernel.length] ?? 0);
  const size = (ceilMode ? Math.ceil : Math.floor)((padded - extent) / stride) + 1;
  // With ceil_mode the last window must start inside the input or the left padding (ONNX / PyTorch rule).
  return ceilMode && (size - 1) * stride >= input + (window.pads[axis] ?? 0) ? size - 1 : size;
}

function spatialOutput(inputDims: readonly Dim[], window: Window, ceilMode = false): Dim[] {
  return inputDims.slice(2).map((d, axis) => derivedDim(d, (size) => windowOutputSize(size, axis, window, ceilMode)));
}

function weightDims(context: ShapeContext): readonly Dim[] {
  const weight = requireInput(context, 1).dims;
  if (weight.length < 3) throw new ShapeError(`${context.node.opType} weight has rank ${weight.length}; expected at least 3`);
  return weight;
}

function kernelOf(context: ShapeContext, weight: readonly Dim[]): number[] {
  const fromAttribute = attributeInts(context.node, 'kernel_shape');
  if (fromAttribute) return fromAttribute;
  const spatial = weight.slice(2);
  if (!spatial.every((d): d is number => typeof d === 'number')) throw new ShapeError('kernel size is symbolic');
  return spatial;
}

const conv: ShapeFunction = (context) => {
  const x = requireInput(context, 0);
  const weight = weightDims(context);
  const outChannels = weight[0] ?? '?';
  return [{ elemType: x.elemType, dims: [x.dims[0] ?? 1, outChannels, ...spatialOutput(x.dims, windowOf(context, kernelOf(context, weight)))] }];
};

const convTranspose: ShapeFunction = (context) => {
  const x = requireInput(context, 0);
  const weight = weightDims(context);
  const group = attributeInt(context.node, 'group', 1);
  const outChannels = typeof weight[1] === 'number' ? weight[1] * group : '?';
  const window = windowOf(context, kernelOf(context, weight));
  const outputShape = attributeInts(context.node, 'output_shape');
  const outputPadding = attributeInts(context.node, 'output_padding') ?? [];
  const spatial = outputShape
    ? outputShape.slice(-window.kernel.length)
    : x.dims.slice(2).map((d, axis) =>
        derivedDim(d, (size) => {
          const stride = window.strides[axis] ?? 1;
          if (window.autoPad === 'SAME_UPPER' || window.autoPad === 'SAME_LOWER') return size * stride;
          const extent = ((window.kernel[axis] ?? 1) - 1) * (window.dilations[axis] ?? 1) + 1;
          const pads = window.autoPad === 'VALID' ? 0 : (window.pads[axis] ?? 0) + (window.pads[axis + window.kernel.length] ?? 0);
          return stride * (size - 1) + (outputPadding[axis] ?? 0) + extent - pads;
        }),
      );
  return [{ elemType: x.elemType, dims: [x.dims[0] ?? 1, outChannels, ...spatial] }];
};

const pool: ShapeFunction = (context) => {
  const x = requireInput(context, 0);
  const kernel = attributeInts(context.node, 'kernel_shape');
  if (!kernel) throw new ShapeError(`${context.node.opType} has no kernel_shape`);
  const ceilMode = attributeInt(context.node, 'ceil_mode', 0) === 1;
  const dims = [x.dims[0] ?? 1, x.dims[1] ?? '?', ...spatialOutput(x.dims, windowOf(context, kernel), ceilMode)];
  const outputs: ValueInfo[] = [{ elemType: x.elemType, dims }];
  if ((context.node.output?.length ?? 0) > 1) outputs.push({ elemType: DataType.INT64, dims });
  return outputs;
};

const globalPool: ShapeFunction = (context) => {
  const x = requireInput(context, 0);
  return [{ elemType: x.elemType, dims: x.dims.map((d, i) => (i < 2 ? d : 1)) }];
};

/** Shape functions of this file by op type. */
export const convShapeFunctions: Record<string, ShapeFunction> = {
  Conv: conv,
  ConvInteger: conv,
  ConvTranspose: convTranspose,
  MaxPool: pool,
  AveragePool: pool,
  LpPool: pool,
  GlobalAveragePool: globalPool,
  GlobalMaxPool: globalPool,
  GlobalLpPool: globalPool,
};

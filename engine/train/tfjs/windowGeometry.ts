// The sliding-window geometry of Conv and the pools (kernel, strides, dilations, pads incl. auto_pad
// and ceil_mode), resolved against static input dims; only 2-D windows (NCHW inputs) are supported.
import { HalocError } from '../../errors';
import { attributeInt, attributeInts, attributeString } from '../../onnx/attributes';
import type { onnx } from '../../onnx/proto';

/** A 2-D window over an NCHW input of height/width `in`. */
export interface Window2D {
  readonly kernel: readonly [number, number];
  readonly strides: readonly [number, number];
  readonly dilations: readonly [number, number];
  /** [top, left, bottom, right]. */
  readonly pads: readonly [number, number, number, number];
  readonly input: readonly [number, number];
  readonly output: readonly [number, number];
}

/** Pair of an INTS attribute, with a default when absent; throws when it is not 2-D. */
function pair(node: onnx.INodeProto, name: string, fallback: number, label: string): [number, number] {
  const values = attributeInts(node, name) ?? [fallback, fallback];
  if (values.length !== 2) throw new HalocError('UNSUPPORTED', `tensorflow.js training: node '${label}' has a ${values.length}-D '${name}'; only 2-D windows are supported`);
  return [values[0]!, values[1]!];
}

/** The window of a Conv / MaxPool / AveragePool node over input dims [N, C, H, W]. */
export function windowOf(node: onnx.INodeProto, label: string, inputDims: readonly number[], kernelFromWeight?: readonly [number, number]): Window2D {
  if (inputDims.length !== 4) throw new HalocError('UNSUPPORTED', `tensorflow.js training: node '${label}' (${node.opType}) needs a 4-D NCHW input, got rank ${inputDims.length}`);
  const input: [number, number] = [inputDims[2]!, inputDims[3]!];
  const kernelAttr = attributeInts(node, 'kernel_shape');
  const kernel: [number, number] = kernelAttr && kernelAttr.length === 2 ? [kernelAttr[0]!, kernelAttr[1]!] : kernelFromWeight ? [kernelFromWeight[0], kernelFromWeight[1]] : [0, 0];
  if (kernel[0] <= 0 || kernel[1] <= 0) throw new HalocError('UNSUPPORTED', `tensorflow.js training: node '${label}' has no usable 2-D kernel_shape`);
  const strides = pair(node, 'strides', 1, label);
  const dilations = pair(node, 'dilations', 1, label);
  const ceil = attributeInt(node, 'ceil_mode', 0) === 1;
  const extent = (axis: 0 | 1): number => (kernel[axis] - 1) * dilations[axis] + 1;
  const pads = resolvePads(node, label, input, strides, [extent(0), extent(1)]);
  const outputAt = (axis: 0 | 1): number => {
    const span = input[axis] + pads[axis] + pads[axis + 2]! - extent(axis);
    if (!ceil) return Math.floor(span / strides[axis]) + 1;
    let out = Math.ceil(span / strides[axis]) + 1;
    if ((out - 1) * strides[axis] >= input[axis] + pads[axis]) out--; // the last window must start inside the input or left pad
    return out;
  };
  const output: [number, number] = [outputAt(0), outputAt(1)];
  if (output[0] <= 0 || output[1] <= 0) throw new HalocError('UNSUPPORTED', `tensorflow.js training: node '${label}' has an empty output for input [${inputDims.join(', ')}]`);
  return { kernel, strides, dilations, pads, input, output };
}

function resolvePads(node: onnx.INodeProto, label: string, input: readonly [number, number], strides: readonly [number, number], extent: readonly [number, number]): [number, number, number, number] {
  const autoPad = attributeString(node, 'auto_pad', 'NOTSET');
  if (autoPad === 'VALID') return [0, 0, 0, 0];
  if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    const total = (axis: 0 | 1): number => Math.max((Math.ceil(input[axis] / strides[axis]) - 1) * strides[axis] + extent[axis] - input[axis], 0);
    const before = (axis: 0 | 1): number => (autoPad === 'SAME_UPPER' ? Math.floor(total(axis) / 2) : Math.ceil(total(axis) / 2));
    return [before(0), before(1), total(0) - before(0), total(1) - before(1)];
  }
  const pads = attributeInts(node, 'pads') ?? [0, 0, 0, 0];
  if (pads.length !== 4) throw new HalocError('UNSUPPORTED', `tensorflow.js training: node '${label}' has ${pads.length} pads; only 2-D windows are supported`);
  return [pads[0]!, pads[1]!, pads[2]!, pads[3]!];
}

/** The pads with the extra bottom/right padding that makes a floor-mode window produce `output` (ceil_mode). */
export function padsForOutput(window: Window2D): [number, number, number, number] {
  const [top, left, bottom, right] = window.pads;
  const extra = (axis: 0 | 1): number => {
    const extent = (window.kernel[axis] - 1) * window.dilations[axis] + 1;
    const needed = (window.output[axis] - 1) * window.strides[axis] + extent - (window.input[axis] + window.pads[axis] + window.pads[axis + 2]!);
    return Math.max(needed, 0);
  };
  return [top, left, bottom + extra(0), right + extra(1)];
}

/** tfjs explicit padding for NHWC from [top, left, bottom, right]. */
export function explicitPadding(pads: readonly [number, number, number, number]): [[number, number], [number, number], [number, number], [number, number]] {
  return [[0, 0], [pads[0], pads[2]], [pads[1], pads[3]], [0, 0]];
}

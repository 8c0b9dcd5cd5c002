// The explicit window of a Conv or pool at known shapes: kernel, strides, dilations and the begin/end
// pads that auto_pad resolves to, and the output_padding a ConvTranspose needs to give the input size back.
import { attributeInt, attributeInts, attributeString } from '../../onnx/attributes';
import type { onnx } from '../../onnx/proto';
import type { Dims } from '../trainingGraph';

/** A resolved window over the spatial axes. */
export interface ConvWindow {
  readonly kernel: readonly number[];
  readonly strides: readonly number[];
  readonly dilations: readonly number[];
  readonly padsBegin: readonly number[];
  readonly padsEnd: readonly number[];
  readonly group: number;
}

/** The window of `node` for input dims `x` and spatial `kernel` (from the weight or kernel_shape). */
export function convWindow(node: onnx.INodeProto, x: Dims, kernel: readonly number[]): ConvWindow {
  const spatial = kernel.length;
  const ones = new Array<number>(spatial).fill(1);
  const strides = attributeInts(node, 'strides') ?? ones;
  const dilations = attributeInts(node, 'dilations') ?? ones;
  const autoPad = attributeString(node, 'auto_pad', 'NOTSET');
  let padsBegin: number[];
  let padsEnd: number[];
  if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    const total = kernel.map((k, i) => {
      const size = x[i + 2]!;
      const out = Math.ceil(size / strides[i]!);
      return Math.max(0, (out - 1) * strides[i]! + (k - 1) * dilations[i]! + 1 - size);
    });
    padsBegin = total.map((t) => (autoPad === 'SAME_UPPER' ? Math.floor(t / 2) : Math.ceil(t / 2)));
    padsEnd = total.map((t, i) => t - padsBegin[i]!);
  } else if (autoPad === 'VALID') {
    padsBegin = new Array<number>(spatial).fill(0);
    padsEnd = new Array<number>(spatial).fill(0);
  } else {
    const pads = attributeInts(node, 'pads') ?? new Array<number>(2 * spatial).fill(0);
    padsBegin = pads.slice(0, spatial);
    padsEnd = pads.slice(spatial);
  }
  return { kernel, strides, dilations, padsBegin, padsEnd, group: attributeInt(node, 'group', 1) };
}

/** The size a ConvTranspose of `window` produces from `outSize` along axis `i`, without output_padding. */
export function transposedSize(window: ConvWindow, i: number, outSize: number): number {
  return window.strides[i]! * (outSize - 1) + (window.kernel[i]! - 1) * window.dilations[i]! + 1 - window.padsBegin[i]! - window.padsEnd[i]!;
}

/** The ConvTranspose attributes that map a gradient of output dims `y` back onto input dims `x` (when they fit). */
export function transposeAttributes(window: ConvWindow, x: Dims, y: Dims): { strides: number[]; dilations: number[]; pads: number[]; group: number; output_padding: number[] } {
  const outputPadding = window.kernel.map((_, i) => x[i + 2]! - transposedSize(window, i, y[i + 2]!));
  return {
    strides: [...window.strides],
    dilations: [...window.dilations],
    pads: [...window.padsBegin, ...window.padsEnd],
    group: window.group,
    output_padding: outputPadding,
  };
}

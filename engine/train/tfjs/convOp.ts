// The ONNX Conv node (2-D, NCHW weights [Cout, Cin/group, kh, kw]) on NHWC activations: dense,
// depthwise (group = Cin = Cout), and any other grouping as a dense conv with a block-diagonal weight.
import { HalocError } from '../../errors';
import { attributeInt } from '../../onnx/attributes';
import { convFilterGrad, convForward, convInputGrad, type ConvKind } from './convKernels';
import { dimsOf, gradInLayoutOf, nhwc, nhwcTensor, plainTensor, sumLeadingAxes } from './tfjsLayout';
import type { Act, OpContext, Tensor, Tf, TfjsOp } from './tfjsTypes';
import { windowOf } from './windowGeometry';

/** How a group structure maps to tfjs convolutions. */
interface Grouping {
  readonly kind: ConvKind;
  /** The dense weight [Cout, Cin, kh, kw] from the grouped one (grouped convs only). */
  expand?(w: Tensor): Tensor;
  /** The grouped weight's gradient from the dense one's (grouped convs only). */
  reduce?(dw: Tensor): Tensor;
}

function groupingOf(tf: Tf, group: number, cIn: number, cOut: number): Grouping {
  if (group === 1) return { kind: 'dense' };
  if (group === cIn && cOut === cIn) return { kind: 'depthwise' };
  const perGroupIn = cIn / group;
  const perGroupOut = cOut / group;
  const columns = Array.from({ length: cIn }, (_, ci) => ci % perGroupIn);
  const maskValues = new Float32Array(cOut * cIn);
  for (let o = 0; o < cOut; o++) for (let ci = 0; ci < cIn; ci++) maskValues[o * cIn + ci] = Math.floor(o / perGroupOut) === Math.floor(ci / perGroupIn) ? 1 : 0;
  return {
    kind: 'dense',
    expand: (w) => tf.mul(tf.gather(w, tf.tensor1d(columns, 'int32'), 1), tf.tensor4d(maskValues, [cOut, cIn, 1, 1])),
    reduce: (dw) => {
      const [, , kh, kw] = dw.shape as [number, number, number, number];
      const masked = tf.mul(dw, tf.tensor4d(maskValues, [cOut, cIn, 1, 1]));
      return tf.sum(tf.reshape(masked, [cOut, group, perGroupIn, kh, kw]), 1);
    },
  };
}

/** The tfjs filter from an ONNX weight: [kh, kw, Cin, Cout] (dense) or [kh, kw, C, 1] (depthwise). */
function filterOf(tf: Tf, kind: ConvKind, weightOIHW: Tensor): Tensor {
  return tf.transpose(weightOIHW, kind === 'dense' ? [2, 3, 1, 0] : [2, 3, 0, 1]);
}

/** Runs a Conv node; `relu` fuses a following Relu into it. */
export function convNode(context: OpContext, inputs: readonly (Act | undefined)[], relu: boolean): ReturnType<TfjsOp['forward']> {
  const { tf, node, label } = context;
  const [xAct, wAct, bAct] = inputs as [Act, Act, Act | undefined];
  const xDims = dimsOf(xAct);
  const weight = plainTensor(tf, wAct);
  if (weight.rank !== 4) throw new HalocError('UNSUPPORTED', `tensorflow.js training: Conv node '${label}' is not 2-D (weight of rank ${weight.rank})`);
  const [cOut, perGroupIn, kh, kw] = weight.shape as [number, number, number, number];
  const window = windowOf(node, label, xDims, [kh, kw]);
  const group = attributeInt(node, 'group', 1);
  const cIn = xDims[1]!;
  if (perGroupIn * group !== cIn || cOut % group !== 0) throw new HalocError('UNSUPPORTED', `tensorflow.js training: Conv node '${label}' has weight [${weight.shape.join(', ')}] that does not fit ${cIn} input channels in ${group} groups`);
  const grouping = groupingOf(tf, group, cIn, cOut);
  const x = nhwcTensor(tf, xAct, label);
  const filter = filterOf(tf, grouping.kind, grouping.expand ? grouping.expand(weight) : weight);
  const bias = bAct ? plainTensor(tf, bAct) : undefined;
  const y = convForward(tf, grouping.kind, x, filter, bias, window, relu);
  return {
    outputs: [nhwc(y)],
    backward: ([dyOut], wanted) => {
      if (!dyOut) return [];
      const dy = relu ? tf.mul(dyOut, tf.step(y)) : dyOut;
      const dx = wanted[0] ? gradInLayoutOf(tf, convInputGrad(tf, grouping.kind, dy, filter, window), true, xAct) : undefined;
      let dw = wanted[1] ? convFilterGrad(tf, grouping.kind, x, dy, window) : undefined;
      if (dw && grouping.reduce) dw = grouping.reduce(dw);
      const db = wanted[2] && bias ? sumLeadingAxes(tf, dy, 3) : undefined;
      return [dx, dw && gradInLayoutOf(tf, dw, false, wAct), db && bAct ? gradInLayoutOf(tf, db, false, bAct) : undefined];
    },
  };
}

/** Conv. */
export const convOp: TfjsOp = { forward: (context, inputs) => convNode(context, inputs, false) };

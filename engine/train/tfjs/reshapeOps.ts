// Reshape, Flatten, Squeeze, Unsqueeze and Transpose: they act on the ONNX layout, so an NHWC input
// is first put back into NCHW order (a plain reshape when only unit axes move, e.g. after a global pool).
import { HalocError } from '../../errors';
import { attributeInt, attributeInts } from '../../onnx/attributes';
import { resolveReshape } from '../../onnx/constants';
import { dimsOf, gradInLayoutOf, normalAxis, plain, plainTensor } from './tfjsLayout';
import type { Act, OpContext, TfjsOp } from './tfjsTypes';

/** An op whose output is its input with new dims computed from the input dims. */
function reshaping(outputDims: (context: OpContext, dims: readonly number[]) => readonly number[]): TfjsOp {
  return {
    forward: (context, [input]) => {
      const { tf } = context;
      const x = plainTensor(tf, input!);
      const dims = outputDims(context, dimsOf(input!));
      const y = tf.reshape(x, [...dims]);
      return {
        outputs: [plain(y)],
        backward: ([dy], wanted) => [wanted[0] && dy ? gradInLayoutOf(tf, tf.reshape(dy, x.shape), false, input!) : undefined],
      };
    },
  };
}

/** Axes of Squeeze / Unsqueeze: an input from opset 13, an attribute before. */
function axesOf(context: OpContext): number[] | undefined {
  return context.opset >= 13 ? context.ints(1) : attributeInts(context.node, 'axes');
}

const reshapeOp = reshaping((context, dims) => {
  const target = context.ints(1) ?? [];
  const allowZero = attributeInt(context.node, 'allowzero', 0) === 1;
  // models exported at batch 1 often hard-code it ([1, 256]): keep the training batch there instead
  const resolved = resolveReshape(dims, target, allowZero) ?? (target[0] === 1 && dims[0] !== 1 ? resolveReshape(dims, [dims[0]!, ...target.slice(1)], allowZero) : undefined);
  if (!resolved) throw new HalocError('UNSUPPORTED', `tensorflow.js training: Reshape node '${context.label}' cannot reshape [${dims.join(', ')}] to [${target.join(', ')}] at this batch size`);
  return resolved;
});

const flattenOp = reshaping((context, dims) => {
  const axis = normalAxis(attributeInt(context.node, 'axis', 1), dims.length + 1, context.label);
  const product = (list: readonly number[]): number => list.reduce((p, d) => p * d, 1);
  return [product(dims.slice(0, axis)), product(dims.slice(axis))];
});

const squeezeOp = reshaping((context, dims) => {
  const axes = axesOf(context)?.map((a) => normalAxis(a, dims.length, context.label));
  return dims.filter((d, i) => (axes ? !axes.includes(i) : d !== 1));
});

const unsqueezeOp = reshaping((context, dims) => {
  const rank = dims.length + (axesOf(context)?.length ?? 0);
  const axes = (axesOf(context) ?? []).map((a) => normalAxis(a, rank, context.label));
  const out: number[] = [];
  let next = 0;
  for (let i = 0; i < rank; i++) out.push(axes.includes(i) ? 1 : dims[next++]!);
  return out;
});

const transposeOp: TfjsOp = {
  forward: ({ tf, node }, [input]) => {
    const x = plainTensor(tf, input as Act);
    const perm = attributeInts(node, 'perm') ?? x.shape.map((_, i) => x.rank - 1 - i);
    const inverse = perm.map((_, i) => perm.indexOf(i));
    return {
      outputs: [plain(tf.transpose(x, perm))],
      backward: ([dy], wanted) => [wanted[0] && dy ? gradInLayoutOf(tf, tf.transpose(dy, inverse), false, input!) : undefined],
    };
  },
};

/** Reshaping ops by ONNX op type. */
export const reshapeOps: Record<string, TfjsOp> = {
  Reshape: reshapeOp,
  Flatten: flattenOp,
  Squeeze: squeezeOp,
  Unsqueeze: unsqueezeOp,
  Transpose: transposeOp,
};

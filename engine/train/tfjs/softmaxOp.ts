// Softmax inside a graph (a final Softmax is skipped: training uses its input as the logits).
import { HalocError } from '../../errors';
import { attributeInt } from '../../onnx/attributes';
import { gradInLayoutOf, normalAxis, plain, plainTensor } from './tfjsLayout';
import type { TfjsOp } from './tfjsTypes';

/** Softmax over the last axis (opset < 13: over the axes from `axis` on, flattened). */
export const softmaxOp: TfjsOp = {
  forward: ({ tf, node, label, opset }, [input]) => {
    const x = plainTensor(tf, input!);
    const axis = normalAxis(attributeInt(node, 'axis', opset >= 13 ? -1 : 1), x.rank, label);
    const rows = x.shape.slice(0, axis).reduce((p, d) => p * d, 1);
    if (opset >= 13 && axis !== x.rank - 1) throw new HalocError('UNSUPPORTED', `tensorflow.js training: Softmax node '${label}' is over axis ${axis}; only the last axis is supported`);
    const y2 = tf.softmax(tf.reshape(x, [rows, x.size / rows]));
    return {
      outputs: [plain(tf.reshape(y2, x.shape))],
      backward: ([dy], wanted) => {
        if (!wanted[0] || !dy) return [];
        const g = tf.reshape(dy, y2.shape);
        const dx = tf.mul(y2, tf.sub(g, tf.sum(tf.mul(g, y2), -1, true)));
        return [gradInLayoutOf(tf, tf.reshape(dx, x.shape), false, input!)];
      },
    };
  },
};

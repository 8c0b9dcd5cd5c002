// BatchNormalization in training: in 'batch-statistics' mode the forward normalises with the batch's
// mean and (biased) variance and emits the updated running statistics (momentum as the ONNX attribute,
// the running variance updated with the unbiased batch variance as PyTorch does); in
// 'running-statistics' mode the forward is the inference node and the statistics stay frozen.
import { attributeFloat } from '../../onnx/attributes';
import type { onnx } from '../../onnx/proto';
import type { TrainingGraph } from '../trainingGraph';
import { inputOf, outputOf, type TrainingOp } from './trainingOp';

/** Names of the tensors the backward reuses, derived from the node's output. */
function saved(node: onnx.INodeProto): { xhat: string; invStd: string } {
  const y = outputOf(node);
  return { xhat: `haloc_train/${y}/xhat`, invStd: `haloc_train/${y}/invstd` };
}

function channelDims(g: TrainingGraph, x: string): { dims: readonly number[]; axes: number[]; perChannel: number[]; count: number } {
  const dims = g.dims(x);
  const axes = [0, ...dims.slice(2).map((_, i) => i + 2)];
  const perChannel = dims.map((d, i) => (i === 1 ? d : 1));
  const count = dims.reduce((p, d, i) => (i === 1 ? p : p * d), 1);
  return { dims, axes, perChannel, count };
}

function batchStatisticsForward(g: TrainingGraph, node: onnx.INodeProto): void {
  const x = inputOf(node, 0);
  const { dims, axes, perChannel, count } = channelDims(g, x);
  const c = perChannel[1]!;
  const eps = attributeFloat(node, 'epsilon', 1e-5);
  const momentum = attributeFloat(node, 'momentum', 0.9);
  const names = saved(node);
  const mean = g.node('Mul', [g.reduceSum(x, axes, true), g.scalar(1 / count)], perChannel);
  const centred = g.node('Sub', [x, mean], dims);
  const variance = g.node('Mul', [g.reduceSum(g.node('Mul', [centred, centred], dims), axes, true), g.scalar(1 / count)], perChannel);
  const [invStd] = g.nodeN('Reciprocal', [g.node('Sqrt', [g.node('Add', [variance, g.scalar(eps)], perChannel)], perChannel)], {}, [names.invStd]);
  g.setDims(invStd!, perChannel);
  const [xhat] = g.nodeN('Mul', [centred, invStd!], {}, [names.xhat]);
  g.setDims(xhat!, dims);
  const scaled = g.node('Mul', [xhat!, g.reshape(inputOf(node, 1), perChannel)], dims);
  const [y] = g.nodeN('Add', [scaled, g.reshape(inputOf(node, 2), perChannel)], {}, [outputOf(node)]);
  g.setDims(y!, dims);
  // running statistics, as graph outputs
  const update = (running: string, batch: string, factor: number): void => {
    const old = g.node('Mul', [running, g.scalar(momentum)], [c]);
    const fresh = g.node('Mul', [g.reshape(batch, [c]), g.scalar((1 - momentum) * factor)], [c]);
    g.runningUpdates.set(running, g.node('Add', [old, fresh], [c]));
  };
  update(inputOf(node, 3), mean, 1);
  update(inputOf(node, 4), variance, count > 1 ? count / (count - 1) : 1);
}

/** The BatchNormalization training op. */
export const batchNormOp: TrainingOp = {
  differentiable: () => [0, 1, 2],
  forward: (g, node) => {
    if (g.batchNorm === 'batch-statistics') batchStatisticsForward(g, node);
    else g.copy({ ...node, output: [outputOf(node)] });
  },
  backward: (g, node, [dy], wanted) => {
    if (!dy) return [];
    const x = inputOf(node, 0);
    const { dims, axes, perChannel, count } = channelDims(g, x);
    const gamma = g.reshape(inputOf(node, 1), perChannel);
    let xhat: string;
    let invStd: string;
    if (g.batchNorm === 'batch-statistics') {
      ({ xhat, invStd } = saved(node));
    } else {
      const eps = attributeFloat(node, 'epsilon', 1e-5);
      invStd = g.node('Reciprocal', [g.node('Sqrt', [g.node('Add', [g.reshape(inputOf(node, 4), perChannel), g.scalar(eps)], perChannel)], perChannel)], perChannel);
      xhat = g.node('Mul', [g.node('Sub', [x, g.reshape(inputOf(node, 3), perChannel)], dims), invStd], dims);
    }
    const c = perChannel[1]!;
    const dBeta = wanted[2] ? g.reduceSum(dy, axes, false) : undefined;
    const dGamma = wanted[1] ? g.reshape(g.reduceSum(g.node('Mul', [dy, xhat], dims), axes, true), [c]) : undefined;
    let dx: string | undefined;
    if (wanted[0]) {
      const dxhat = g.node('Mul', [dy, gamma], dims);
      if (g.batchNorm === 'batch-statistics') {
        // dx = invStd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))
        const meanD = g.node('Mul', [g.reduceSum(dxhat, axes, true), g.scalar(1 / count)], perChannel);
        const meanDx = g.node('Mul', [g.reduceSum(g.node('Mul', [dxhat, xhat], dims), axes, true), g.scalar(1 / count)], perChannel);
        const inner = g.node('Sub', [g.node('Sub', [dxhat, meanD], dims), g.node('Mul', [xhat, meanDx], dims)], dims);
        dx = g.node('Mul', [inner, invStd], dims);
      } else {
        dx = g.node('Mul', [dxhat, invStd], dims);
      }
    }
    return [dx, dGamma, dBeta];
  },
};

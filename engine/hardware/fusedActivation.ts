// onnxruntime fuses an activation into the convolution or Gemm before it (Conv + Relu runs as one
// kernel), so a layer's latency entry includes the activation that follows it when the layer's output
// feeds only that activation, and the untouched part leaves that activation out.
import type { LayerAnalysis } from '../graph/analyzeModel';
import type { OnnxModel } from '../onnx/onnxModel';

/** Activations onnxruntime's CPU provider fuses into a preceding Conv / Gemm. */
const fusable = new Set(['Relu', 'LeakyRelu', 'Clip', 'Sigmoid', 'HardSigmoid', 'Tanh']);

/** Index of the activation node fused with `layer`, if its output feeds exactly one fusable node. */
export function fusedActivationIndex(model: OnnxModel, layer: LayerAnalysis): number | undefined {
  const nodes = model.graph.node ?? [];
  const output = nodes[layer.nodeIndex]?.output?.[0];
  if (!output || (model.graph.output ?? []).some((o) => o.name === output)) return undefined;
  const consumers = nodes.flatMap((node, index) => ((node.input ?? []).includes(output) ? [index] : []));
  const [only] = consumers;
  return consumers.length === 1 && only !== undefined && !nodes[only]?.domain && fusable.has(nodes[only]?.opType ?? '') ? only : undefined;
}

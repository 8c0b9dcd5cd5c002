// The untouched part of a model as it runs inside the model: the whole model, with every compressible
// layer's node (and the activation fused into it) and their outputs renamed with `layerMark`, so that
// timeKernels can leave those nodes out of a profile of the whole model (scope.leaveOut) and count
// everything else. Unlike the untouched part run alone (untouchedPart.ts) this keeps what onnxruntime
// does where the layers meet the rest: the layout conversions between the blocked (NCHWc) convolutions
// and the plain operators around them (counted nowhere before: 6-8% of a CIFAR ResNet at batch 1), and
// additions (with their Relu) fused into the convolution before them, which then cost nothing apart
// (counted whole before: 3-5% of a ResNet-20/56 at batch 32).
import type { LayerAnalysis } from '../graph/analyzeModel';
import type { OnnxModel } from '../onnx/onnxModel';
import type { onnx } from '../onnx/proto';
import { inlineExternalData } from '../onnx/writeOnnx';
import { fusedActivationIndex } from './fusedActivation';

/** The prefix given to the layers' nodes and outputs; the names onnxruntime derives from them keep it. */
export const layerMark = 'haloc_layer_';

/** The whole model (weights inlined) with the given layers' nodes, fused activations and their outputs renamed with `layerMark`. */
export function untouchedInContext(model: OnnxModel, layers: readonly LayerAnalysis[]): onnx.IModelProto {
  const proto = inlineExternalData(model.proto, model.constants);
  const graph = proto.graph ?? {};
  const marked = new Set(layers.flatMap((l) => [l.nodeIndex, fusedActivationIndex(model, l)].filter((i): i is number => i !== undefined)));
  const renamed = new Map<string, string>();
  (graph.node ?? []).forEach((node, i) => {
    if (marked.has(i)) for (const output of node.output ?? []) if (output) renamed.set(output, `${layerMark}${output}`);
  });
  const name = (value: string): string => renamed.get(value) ?? value;
  return {
    ...proto,
    graph: {
      ...graph,
      node: (graph.node ?? []).map((node, i) => ({
        ...node,
        name: marked.has(i) ? `${layerMark}${node.name || node.output?.[0] || i}` : (node.name ?? null),
        input: (node.input ?? []).map(name),
        output: (node.output ?? []).map(name),
      })),
      output: (graph.output ?? []).map((o) => ({ ...o, name: name(o.name ?? '') })),
      valueInfo: (graph.valueInfo ?? []).map((v) => ({ ...v, name: name(v.name ?? '') })),
    },
  };
}

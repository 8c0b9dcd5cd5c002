// The "untouched part" of a model: everything but its compressible layers (and the activations fused
// into them), as a runnable model. Each removed layer's output becomes a graph input (fed with random values) and its input, when nothing
// else uses it, becomes a graph output (so that its producers still run). Its measured latency plus the
// layers' table entries is the predicted latency of the whole model.
import type { LayerAnalysis } from '../graph/analyzeModel';
import { isStatic } from '../graph/valueInfo';
import { DataType } from '../onnx/dataType';
import { valueInfo } from '../onnx/graphBuilder';
import type { OnnxModel } from '../onnx/onnxModel';
import type { onnx } from '../onnx/proto';
import { fusedActivationIndex } from './fusedActivation';
import type { TimedInput } from './timeSession';

/** The untouched part as a model and the inputs to feed it. */
export interface UntouchedPart {
  readonly model: onnx.IModelProto;
  readonly inputs: readonly TimedInput[];
}

/** Builds the untouched part of `model` without the given layers. */
export function untouchedPart(model: OnnxModel, removed: readonly LayerAnalysis[], graphInputs: readonly TimedInput[]): UntouchedPart {
  const graph = model.graph;
  const activations = new Map(removed.map((l) => [l.nodeIndex, fusedActivationIndex(model, l)]));
  const removedIndices = new Set([...removed.map((l) => l.nodeIndex), ...[...activations.values()].filter((i): i is number => i !== undefined)]);
  const nodes = (graph.node ?? []).filter((_, i) => !removedIndices.has(i));
  const consumed = new Set(nodes.flatMap((n) => n.input ?? []));
  const produced = new Set(nodes.flatMap((n) => n.output ?? []));
  const initializerNames = new Set((graph.initializer ?? []).map((t) => t.name));
  const fedInputs: TimedInput[] = [];
  const extraOutputs: onnx.IValueInfoProto[] = [];
  for (const layer of removed) {
    const node = graph.node?.[layer.nodeIndex] ?? {};
    const activation = graph.node?.[activations.get(layer.nodeIndex) ?? -1];
    const output = (activation ?? node).output?.[0] ?? '';
    if (!isStatic(layer.outputShape ?? undefined)) throw new Error(`layer '${layer.name}' has no static output shape`);
    fedInputs.push({ name: output, dims: layer.outputShape as number[] });
    const input = node.input?.[0] ?? '';
    if (input && !consumed.has(input) && produced.has(input) && !initializerNames.has(input)) extraOutputs.push({ name: input });
  }
  const used = new Set(nodes.flatMap((n) => n.input ?? []));
  const outputs = [...(graph.output ?? [])];
  for (const extra of extraOutputs) if (!outputs.some((o) => o.name === extra.name)) outputs.push(extra);
  return {
    model: {
      ...model.proto,
      graph: {
        ...graph,
        node: nodes,
        initializer: (graph.initializer ?? []).filter((t) => used.has(t.name ?? '')),
        input: [...(graph.input ?? []).filter((i) => used.has(i.name ?? '') || !initializerNames.has(i.name)), ...fedInputs.map((f) => valueInfo(f.name, DataType.FLOAT, f.dims))],
        output: outputs,
      },
    },
    inputs: [...graphInputs, ...fedInputs],
  };
}

// Calibration activations: the original model run in onnxruntime-node with the input and the output of
// every searched layer exposed as graph outputs (as runtimeShapes exposes intermediates), so that each
// layer's error is measured on the inputs it really sees, against the outputs it really gives. Only the
// part of the graph those tensors depend on is kept: a tap of VGG-16's first convs holds no fc6.
import * as os from 'node:os';
import type * as Ort from 'onnxruntime-node';
import { HalocError } from '../errors';
import type { LayerAnalysis } from '../graph/analyzeModel';
import type { OnnxModel } from '../onnx/onnxModel';
import { onnx } from '../onnx/proto';
import { openFedSession } from '../evaluate/fedSession';
import { nodesNeededFor } from '../graph/graphOrder';

/** What one batch of images gives: each layer's input and output. */
export interface TappedBatch {
  /** Layer name -> its input tensor for the batch. */
  readonly inputs: ReadonlyMap<string, Ort.Tensor>;
  /** Layer name -> its output tensor for the batch. */
  readonly outputs: ReadonlyMap<string, Ort.Tensor>;
}

/** An open session of the tapped model. */
export interface ActivationTap {
  run(images: Float32Array, count: number, imageDims: readonly number[]): Promise<TappedBatch>;
  release(): Promise<void>;
}

/** Opens the original model with the inputs and outputs of `layers` exposed. */
export async function openActivationTap(model: OnnxModel, layers: readonly LayerAnalysis[], threads = os.availableParallelism()): Promise<ActivationTap> {
  const ort = await import('onnxruntime-node');
  const graph = model.graph;
  const initializers = new Set((graph.initializer ?? []).map((t) => t.name));
  const graphInputs = (graph.input ?? []).filter((i) => !initializers.has(i.name)).map((i) => i.name ?? '');
  const [imageInput] = graphInputs;
  if (!imageInput || graphInputs.length > 1) throw new HalocError('UNSUPPORTED', `${model.filePath}: the search feeds images to a model with exactly one input, not ${graphInputs.length}`);
  const tensorOf = new Map(layers.map((l) => [l.name, graph.node?.[l.nodeIndex]?.input?.[0] ?? '']));
  const outputOf = new Map(layers.map((l) => [l.name, graph.node?.[l.nodeIndex]?.output?.[0] ?? '']));
  const fetches = [...new Set([...[...tensorOf.values()].filter((name) => name !== imageInput), ...outputOf.values()])];
  // no memory arena: an arena would keep a batch's intermediate tensors (as large as the tapped ones) between runs
  const session = await openFedSession({ proto: graphFor(model.proto, fetches), constants: model.constants }, `${model.filePath} with its layer inputs exposed`, threads, { memoryArena: false });
  return {
    async run(images, count, imageDims) {
      const feed = new ort.Tensor('float32', images, [count, ...imageDims]);
      const results = await session.run({ [imageInput]: feed }, fetches);
      const inputs = new Map([...tensorOf].map(([layer, tensor]) => [layer, tensor === imageInput ? feed : (results[tensor] as Ort.Tensor)]));
      const outputs = new Map([...outputOf].map(([layer, tensor]) => [layer, results[tensor] as Ort.Tensor]));
      return { inputs, outputs };
    },
    release: () => session.release(),
  };
}

/**
 * The model with `fetches` as its only outputs and only the nodes and initializers they depend on
 * (the whole graph when a node has a subgraph, whose outer-scope inputs are not followed here).
 */
function graphFor(proto: onnx.IModelProto, fetches: readonly string[]): onnx.IModelProto {
  const graph = proto.graph ?? {};
  const outputs = fetches.map((name) => onnx.ValueInfoProto.create({ name }));
  const nodes = graph.node ?? [];
  if (nodes.some((n) => (n.attribute ?? []).some((a) => a.g || (a.graphs?.length ?? 0) > 0))) return { ...proto, graph: { ...graph, output: outputs } };
  const { indices, tensors: needed } = nodesNeededFor(nodes, fetches);
  const initializer = (graph.initializer ?? []).filter((t) => needed.has(t.name ?? ''));
  const input = (graph.input ?? []).filter((i) => needed.has(i.name ?? ''));
  return { ...proto, graph: { ...graph, node: indices.map((i) => nodes[i]!), initializer, input, output: outputs, valueInfo: (graph.valueInfo ?? []).filter((v) => needed.has(v.name ?? '')) } };
}

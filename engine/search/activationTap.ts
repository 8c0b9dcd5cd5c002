// Calibration activations: the original model run in onnxruntime-node with the input and the output of
// every searched layer exposed as extra graph outputs (as runtimeShapes exposes intermediates), so that
// each layer's error is measured on the inputs it really sees, against the outputs it really gives.
import * as os from 'node:os';
import type * as Ort from 'onnxruntime-node';
import { HalocError } from '../errors';
import type { LayerAnalysis } from '../graph/analyzeModel';
import type { OnnxModel } from '../onnx/onnxModel';
import { onnx } from '../onnx/proto';
import { encodeOnnx, inlineExternalData } from '../onnx/writeOnnx';
import { openInferenceSession } from '../evaluate/inferenceSession';

/** What one batch of images gives: each layer's input and output, and the model's first output. */
export interface TappedBatch {
  /** Layer name -> its input tensor for the batch. */
  readonly inputs: ReadonlyMap<string, Ort.Tensor>;
  /** Layer name -> its output tensor for the batch. */
  readonly outputs: ReadonlyMap<string, Ort.Tensor>;
  /** The model's first output (logits) for the batch. */
  readonly output: Float32Array;
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
  const outputName = graph.output?.[0]?.name ?? '';
  const tensorOf = new Map(layers.map((l) => [l.name, graph.node?.[l.nodeIndex]?.input?.[0] ?? '']));
  const outputOf = new Map(layers.map((l) => [l.name, graph.node?.[l.nodeIndex]?.output?.[0] ?? '']));
  const declared = new Set((graph.output ?? []).map((o) => o.name));
  const extra = [...new Set([...tensorOf.values(), ...outputOf.values()])].filter((name) => name !== imageInput && !declared.has(name)).map((name) => onnx.ValueInfoProto.create({ name }));
  const exposed = { ...model.proto, graph: { ...graph, output: [...(graph.output ?? []), ...extra] } };
  const session = await openInferenceSession(encodeOnnx(inlineExternalData(exposed, model.constants)), `${model.filePath} with its layer inputs exposed`, threads);
  const fetches = [...new Set([outputName, ...[...tensorOf.values()].filter((name) => name !== imageInput), ...outputOf.values()])];
  return {
    async run(images, count, imageDims) {
      const feed = new ort.Tensor('float32', images, [count, ...imageDims]);
      const results = await session.run({ [imageInput]: feed }, fetches);
      const inputs = new Map([...tensorOf].map(([layer, tensor]) => [layer, tensor === imageInput ? feed : (results[tensor] as Ort.Tensor)]));
      const outputs = new Map([...outputOf].map(([layer, tensor]) => [layer, results[tensor] as Ort.Tensor]));
      return { inputs, outputs, output: results[outputName]!.data as Float32Array };
    },
    release: () => session.release(),
  };
}

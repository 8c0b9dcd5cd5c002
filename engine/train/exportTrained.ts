// Writes a trained model: the original ONNX model with its trained initializers (parameters and
// BatchNormalization running statistics) replaced, everything else as it was, through the same
// atomic writer as compression.
import { float32Tensor } from '../onnx/graphBuilder';
import type { OnnxModel } from '../onnx/onnxModel';
import type { onnx } from '../onnx/proto';
import { encodeOnnx, inlineExternalData, writeOnnxFile } from '../onnx/writeOnnx';

/** The model proto with the given initializers replaced by new float32 values (same names and dims). */
export function withTrainedWeights(model: OnnxModel, values: ReadonlyMap<string, Float32Array>): onnx.IModelProto {
  const inlined = inlineExternalData(model.proto, model.constants);
  const graph = inlined.graph!;
  const initializer = (graph.initializer ?? []).map((t) => {
    const fresh = values.get(t.name ?? '');
    return fresh ? float32Tensor(t.name ?? '', (t.dims ?? []).map(Number), fresh) : t;
  });
  return { ...inlined, graph: { ...graph, initializer } };
}

/** ONNX bytes of the trained model. */
export function encodeTrained(model: OnnxModel, values: ReadonlyMap<string, Float32Array>): Uint8Array {
  return encodeOnnx(withTrainedWeights(model, values));
}

/** Writes the trained model to `filePath` (never over the original or its data files). */
export function writeTrainedModel(model: OnnxModel, values: ReadonlyMap<string, Float32Array>, filePath: string, protectedPaths: readonly string[] = [model.filePath]): void {
  writeOnnxFile(withTrainedWeights(model, values), filePath, { protectedPaths });
}

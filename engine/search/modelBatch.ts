// The batch sizes a model accepts: any (a symbolic or missing first dimension of its image input) or a
// fixed one, which the search's runs must use.
import type { OnnxModel } from '../onnx/onnxModel';
import { int64ToNumber } from '../onnx/proto';

/** The fixed batch size of the model's first non-constant input, or undefined when it takes any. */
export function fixedBatchSize(model: OnnxModel): number | undefined {
  const initializers = new Set((model.graph.initializer ?? []).map((t) => t.name));
  const input = (model.graph.input ?? []).find((i) => !initializers.has(i.name));
  const first = input?.type?.tensorType?.shape?.dim?.[0];
  if (!first || first.dimParam || first.dimValue === undefined || first.dimValue === null) return undefined;
  const size = int64ToNumber(first.dimValue);
  return size > 0 ? size : undefined;
}

/** The batch size to run with: `wanted`, or the model's fixed one. */
export function runBatchSize(model: OnnxModel, wanted: number): number {
  return fixedBatchSize(model) ?? wanted;
}

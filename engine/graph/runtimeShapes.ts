// Fallback for shapes that static inference cannot resolve: run the model once in onnxruntime-node
// with every intermediate tensor exposed as an output, on zero inputs of the resolved input shapes.
import { HalocError } from '../errors';
import { DataType } from '../onnx/dataType';
import type { OnnxModel } from '../onnx/onnxModel';
import { onnx } from '../onnx/proto';
import { encodeOnnx } from '../onnx/writeOnnx';
import type { GraphInput } from './inferShapes';
import type { ValueInfo } from './valueInfo';

/** A zero-filled typed array of the kind onnxruntime expects for an element type. */
function zeros(type: string, count: number): ArrayBufferView {
  switch (type) {
    case 'float64': return new Float64Array(count);
    case 'int64': return new BigInt64Array(count);
    case 'int32': return new Int32Array(count);
    case 'int8': return new Int8Array(count);
    case 'uint8': case 'bool': return new Uint8Array(count);
    case 'float16': return new Uint16Array(count);
    default: return new Float32Array(count);
  }
}

const ortTypeNames: Record<number, string> = {
  [DataType.FLOAT]: 'float32', [DataType.DOUBLE]: 'float64', [DataType.INT64]: 'int64', [DataType.INT32]: 'int32',
  [DataType.UINT8]: 'uint8', [DataType.INT8]: 'int8', [DataType.BOOL]: 'bool', [DataType.FLOAT16]: 'float16',
};

/** The most bytes of zero input the shape run allocates for one input (1 GiB). */
const maxFeedBytes = 2 ** 30;

/** Measured type and dims of every named tensor, from one onnxruntime run. */
export async function runtimeShapes(model: OnnxModel, inputs: readonly GraphInput[], tensorNames: readonly string[]): Promise<Map<string, ValueInfo>> {
  const ort = await import('onnxruntime-node');
  const unresolvedInput = inputs.find((i) => i.dims.some((d) => typeof d !== 'number'));
  if (unresolvedInput) {
    throw new HalocError('BAD_ARGUMENT', `input '${unresolvedInput.name}' has symbolic dims [${unresolvedInput.dims.join(', ')}]; give them with --input-shape ${unresolvedInput.name}=...`);
  }
  // Zero inputs are allocated below: refuse sizes no real model feeds, up front, rather than exhaust memory.
  for (const input of inputs) {
    const count = (input.dims as number[]).reduce((p, d) => p * d, 1);
    if (!Number.isSafeInteger(count) || count < 0 || count * 8 > maxFeedBytes) {
      throw new HalocError('UNSUPPORTED', `input '${input.name}' of shape [${input.dims.join(', ')}] would need ${count * 8} bytes of zeros for the shape run (limit ${maxFeedBytes})`);
    }
  }
  const graphOutputs = new Set((model.graph.output ?? []).map((o) => o.name));
  const extraOutputs = tensorNames.filter((name) => !graphOutputs.has(name)).map((name) => onnx.ValueInfoProto.create({ name }));
  const exposed = { ...model.proto, graph: { ...model.graph, output: [...(model.graph.output ?? []), ...extraOutputs] } };
  const session = await ort.InferenceSession.create(encodeOnnx(exposed), { graphOptimizationLevel: 'disabled', logSeverityLevel: 4 });
  try {
    const feeds: Record<string, InstanceType<typeof ort.Tensor>> = {};
    for (const input of inputs) {
      const dims = input.dims as number[];
      const type = ortTypeNames[input.elemType];
      if (!type) throw new HalocError('UNSUPPORTED', `input '${input.name}' has element type ${input.elemType}, which the shape run cannot feed`);
      const count = dims.reduce((p, d) => p * d, 1);
      feeds[input.name] = new ort.Tensor(type as 'float32', zeros(type, count) as Float32Array, dims);
    }
    const results = await session.run(feeds);
    const codeOf = new Map(Object.entries(ortTypeNames).map(([code, name]) => [name, Number(code)]));
    return new Map(Object.entries(results).map(([name, tensor]) => [name, { elemType: codeOf.get(tensor.type) ?? DataType.UNDEFINED, dims: [...tensor.dims] }]));
  } finally {
    await session.release();
  }
}

// Sessions of models with large weights: every float initializer of at least `feedBytes` is taken out
// of the model and fed as an input on each run, from the array the engine already holds (onnxruntime
// wraps a fed Float32Array without copying it). A session made from bytes holds each weight three more
// times while it opens (the encoded model, onnxruntime's parsed copy, its tensor). Measured here on a
// 411 MB MatMul weight (VGG-16's fc6): peak +1.2 GB as an initializer, +0 fed, the same run time.
import * as os from 'node:os';
import type * as Ort from 'onnxruntime-node';
import type { ConstantMap } from '../onnx/constants';
import { DataType } from '../onnx/dataType';
import { onnx } from '../onnx/proto';
import { encodeOnnx, inlineExternalData } from '../onnx/writeOnnx';
import { openInferenceSession } from './inferenceSession';

/** Weights of this size and more are fed (bytes): VGG-16's fc6 and fc7 are, its convs (at most 9.4 MB) are not. */
export const defaultFeedBytes = 16 * 2 ** 20;

/** A model to open: its proto and the constants its external initializers are read from. */
export interface SessionModel {
  readonly proto: onnx.IModelProto;
  readonly constants: ConstantMap;
}

/** An open session and the weights fed to each of its runs. */
export interface FedSession {
  /** The model's inputs that are not fed weights. */
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, Ort.Tensor>, fetches?: readonly string[]): Promise<Ort.InferenceSession.ReturnType>;
  release(): Promise<void>;
}

/** Opens `model` with its large float initializers fed (see the file comment; ONNX bytes are opened as they are); `what` names it in an error. */
export async function openFedSession(model: SessionModel | Uint8Array, what: string, threads = os.availableParallelism(), options: { readonly memoryArena?: boolean; readonly feedBytes?: number } = {}): Promise<FedSession> {
  const ort = await import('onnxruntime-node');
  const lifted = model instanceof Uint8Array ? undefined : liftLargeInitializers(model.proto, model.constants, options.feedBytes ?? defaultFeedBytes);
  const weights = Object.fromEntries([...(lifted?.weights ?? [])].map(([name, w]) => [name, new ort.Tensor('float32', w.values, [...w.dims])]));
  const bytes = model instanceof Uint8Array ? model : encodeOnnx(inlineExternalData(lifted?.proto ?? model.proto, model.constants));
  const session = await openInferenceSession(bytes, what, threads, options);
  return {
    inputNames: session.inputNames.filter((name) => !(name in weights)),
    outputNames: session.outputNames,
    run: (feeds, fetches) => (fetches ? session.run({ ...feeds, ...weights }, [...fetches]) : session.run({ ...feeds, ...weights })),
    release: () => session.release(),
  };
}

/** A weight taken out of a model: its dims and float32 values. */
export interface LiftedWeight {
  readonly dims: readonly number[];
  readonly values: Float32Array;
}

/**
 * The model with its float initializers of at least `minBytes` turned into graph inputs, and their
 * values: a view of the stored bytes where they are 4-byte aligned, a copy otherwise.
 */
export function liftLargeInitializers(proto: onnx.IModelProto, constants: ConstantMap, minBytes: number): { proto: onnx.IModelProto; weights: Map<string, LiftedWeight> } {
  const graph = proto.graph ?? {};
  const weights = new Map<string, LiftedWeight>();
  const kept: onnx.ITensorProto[] = [];
  for (const tensor of graph.initializer ?? []) {
    const values = tensor.dataType === DataType.FLOAT ? floatValues(tensor, constants, minBytes) : undefined;
    if (values) weights.set(tensor.name ?? '', { dims: (tensor.dims ?? []).map(Number), values });
    else kept.push(tensor);
  }
  if (weights.size === 0) return { proto, weights };
  const declared = new Set((graph.input ?? []).map((i) => i.name));
  const inputs = [...weights].filter(([name]) => !declared.has(name)).map(([name, w]) =>
    onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: DataType.FLOAT, shape: { dim: w.dims.map((d) => ({ dimValue: d })) } } } }));
  return { proto: { ...proto, graph: { ...graph, initializer: kept, input: [...(graph.input ?? []), ...inputs] } }, weights };
}

/** The tensor's float32 values when it holds at least `minBytes` of them (undefined otherwise). */
function floatValues(tensor: onnx.ITensorProto, constants: ConstantMap, minBytes: number): Float32Array | undefined {
  const count = (tensor.dims ?? []).reduce<number>((p, d) => p * Number(d), 1);
  if (4 * count < minBytes) return undefined;
  const raw = tensor.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL ? undefined : tensor.rawData;
  if (raw && raw.length === 4 * count && raw.byteOffset % 4 === 0) return new Float32Array(raw.buffer, raw.byteOffset, count);
  if (tensor.floatData && tensor.floatData.length === count) return Float32Array.from(tensor.floatData);
  if (raw && raw.length === 4 * count) return new Float32Array(Uint8Array.from(raw).buffer);
  return constants.get(tensor.name ?? '')?.toFloat32();
}

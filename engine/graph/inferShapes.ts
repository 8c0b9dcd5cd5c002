// Static shape inference over a whole graph. Each node's outputs come from its shape function; where
// none applies or it cannot resolve, from the shapes the file declares (value_info / outputs), and
// the node is reported as unresolved so that the caller can fall back to a run in onnxruntime.
import { HalocError } from '../errors';
import { DataType } from '../onnx/dataType';
import type { OnnxModel } from '../onnx/onnxModel';
import { int64ToNumber, type onnx } from '../onnx/proto';
import { topologicalOrder } from './graphOrder';
import type { ShapeContext } from './shapeContext';
import { shapeFunctions } from './shapeFunctions';
import { isStatic, type Dim, type ValueInfo } from './valueInfo';

/** Settings that resolve symbolic input dimensions. */
export interface ShapeSettings {
  /** Size of symbolic batch dimensions (dim 0 of the inputs); 1 by default. */
  readonly batch?: number | undefined;
  /** Full shapes for named inputs, overriding the file. */
  readonly inputShapes?: Readonly<Record<string, readonly number[]>>;
}

/** A graph input (not an initializer) with its resolved dims. */
export interface GraphInput {
  readonly name: string;
  readonly elemType: number;
  readonly dims: readonly Dim[];
}

/** Result of static inference. */
export interface ShapeInference {
  readonly inputs: readonly GraphInput[];
  readonly values: Map<string, ValueInfo>;
  readonly order: readonly number[];
  /** Why a node's outputs could not be inferred statically, by node index. */
  readonly unresolved: Map<number, string>;
}

/** Infers the type and shape of every tensor of the main graph. */
export function inferShapes(model: OnnxModel, settings: ShapeSettings = {}): ShapeInference {
  const graph = model.graph;
  const values = new Map<string, ValueInfo>();
  for (const [name, constant] of model.constants) {
    const small = constant.elementCount <= 64 && isIntegerType(constant.dataType);
    values.set(name, small ? { elemType: constant.dataType, dims: constant.dims, intValues: constant.toNumbers() } : { elemType: constant.dataType, dims: constant.dims });
  }
  const inputs = graphInputs(graph, model, settings);
  // An input declared without any shape has an unknown rank (not a scalar) unless --input-shape gives it.
  const shapeless = new Set((graph.input ?? []).filter((i) => !i.type?.tensorType?.shape && !settings.inputShapes?.[i.name ?? '']).map((i) => i.name ?? ''));
  for (const input of inputs) values.set(input.name, { elemType: input.elemType, dims: shapeless.has(input.name) ? undefined : input.dims });
  const declared = declaredValues(graph);
  const order = orderOrThrow(model, new Set(values.keys()));
  const unresolved = new Map<number, string>();
  for (const index of order) {
    const node = graph.node?.[index] ?? {};
    if (node.output?.every((name) => !name || model.constants.has(name))) continue; // folded constant
    const reason = inferNode(node, model, values);
    if (reason === undefined) continue;
    unresolved.set(index, reason);
    for (const name of node.output ?? []) {
      const fromFile = declared.get(name);
      if (fromFile && isStatic(fromFile.dims)) values.set(name, fromFile);
    }
  }
  return { inputs, values, order, unresolved };
}

/** The topological order; a damaged graph (cycle, missing tensor) fails with a message naming the file. */
function orderOrThrow(model: OnnxModel, available: ReadonlySet<string>): number[] {
  try {
    return topologicalOrder(model.graph, available);
  } catch (error) {
    throw error instanceof HalocError ? new HalocError(error.code, `${model.filePath}: ${error.message}`) : error;
  }
}

/** Runs one node's shape function; returns why it failed, or undefined on success. */
function inferNode(node: onnx.INodeProto, model: OnnxModel, values: Map<string, ValueInfo>): string | undefined {
  const op = node.opType ?? '';
  const shapeFunction = node.domain && node.domain !== 'ai.onnx' ? undefined : shapeFunctions[op];
  if (!shapeFunction) return `no static shape rule for op '${node.domain ? `${node.domain}.` : ''}${op}'`;
  const inputNames = node.input ?? [];
  const context: ShapeContext = {
    node,
    opset: model.opsetVersion,
    inputs: inputNames.map((name) => (name ? values.get(name) : undefined)),
    constant: (i) => model.constants.get(inputNames[i] ?? ''),
  };
  try {
    const outputs = shapeFunction(context);
    (node.output ?? []).forEach((name, i) => {
      const info = outputs[i];
      if (name && info) values.set(name, info);
    });
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

function graphInputs(graph: onnx.IGraphProto, model: OnnxModel, settings: ShapeSettings): GraphInput[] {
  const result: GraphInput[] = [];
  for (const input of graph.input ?? []) {
    const name = input.name ?? '';
    if (model.constants.has(name)) continue;
    const override = settings.inputShapes?.[name];
    const tensorType = input.type?.tensorType;
    const fileDims = (tensorType?.shape?.dim ?? []).map((d, axis): Dim => {
      if ((d as { value?: string }).value === 'dimValue') {
        const size = int64ToNumber(d.dimValue);
        if (size >= 0 && Number.isSafeInteger(size)) return size;
        // Some exporters write -1 for a dynamic size: treat it as unknown. A size past 2^53 is damage.
        if (size >= 0) throw new HalocError('CORRUPT', `${model.filePath}: input '${name}' declares size ${size} for axis ${axis}, which is not a valid dimension (the file may be damaged)`);
      }
      return axis === 0 ? (settings.batch ?? 1) : d.dimParam || `${name}_dim${axis}`;
    });
    result.push({ name, elemType: tensorType?.elemType ?? DataType.FLOAT, dims: override ? [...override] : fileDims });
  }
  return result;
}

function declaredValues(graph: onnx.IGraphProto): Map<string, ValueInfo> {
  const declared = new Map<string, ValueInfo>();
  for (const info of [...(graph.valueInfo ?? []), ...(graph.output ?? [])]) {
    const tensorType = info.type?.tensorType;
    if (!tensorType?.shape) continue;
    const dims = tensorType.shape.dim?.map((d): Dim => (d.dimParam ? d.dimParam : int64ToNumber(d.dimValue)));
    declared.set(info.name ?? '', { elemType: tensorType.elemType ?? DataType.FLOAT, dims });
  }
  return declared;
}

function isIntegerType(code: number): boolean {
  return code === DataType.INT64 || code === DataType.INT32;
}

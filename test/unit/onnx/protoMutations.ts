// Structural mutations of a decoded ONNX model for the fuzzer: negative or enormous dims, cycles,
// missing initializers and producers, extreme attribute values, wrong element types, raw data of the
// wrong size, and emptied graph parts. Each changes the model in place and says what it did.
import { onnx } from '../../../engine/onnx/proto';
import type { FuzzRandom } from './fuzzRandom';

/** A structural mutation: changes `model` in place; returns what it did, or undefined if it does not apply. */
export type ProtoMutation = (model: onnx.ModelProto, random: FuzzRandom) => string | undefined;

const negativeDims = [-1, -2, -7, -(2 ** 31), -(2 ** 53)];
const enormousDims = [2 ** 31, 2 ** 32 + 1, 2 ** 40, 2 ** 53 - 1, 2 ** 53 + 2, 2 ** 62, 1e18];
const extremeInts = [0, -1, -3, 2 ** 31 - 1, -(2 ** 31), 2 ** 40, 2 ** 53 + 2, -(2 ** 62)];

function graphOf(model: onnx.ModelProto): onnx.GraphProto {
  model.graph ??= onnx.GraphProto.create();
  return model.graph as onnx.GraphProto;
}

function pickOrUndefined<T>(items: readonly T[] | null | undefined, random: FuzzRandom): T | undefined {
  return items && items.length > 0 ? random.pick(items) : undefined;
}

/** The declared value infos of the graph (inputs, outputs, value_info) that have a shape. */
function shapedInfos(graph: onnx.GraphProto): onnx.IValueInfoProto[] {
  return [...graph.input, ...graph.output, ...graph.valueInfo].filter((v) => (v.type?.tensorType?.shape?.dim?.length ?? 0) > 0);
}

function setDim(model: onnx.ModelProto, random: FuzzRandom, values: readonly number[], what: string): string | undefined {
  const graph = graphOf(model);
  const value = random.pick(values);
  const tensor = random.chance(0.5) ? pickOrUndefined(graph.initializer.filter((t) => (t.dims?.length ?? 0) > 0), random) : undefined;
  if (tensor?.dims) {
    const axis = random.int(tensor.dims.length);
    tensor.dims[axis] = value;
    return `${what} dim ${value} at axis ${axis} of initializer '${tensor.name}'`;
  }
  const info = pickOrUndefined(shapedInfos(graph), random);
  const dims = info?.type?.tensorType?.shape?.dim;
  if (!info || !dims) return undefined;
  const axis = random.int(dims.length);
  dims[axis] = { dimValue: value };
  return `${what} dim ${value} at axis ${axis} of value '${info.name ?? ''}'`;
}

/** A negative dim on an initializer or a declared input/output/value. */
export const negativeDim: ProtoMutation = (model, random) => setDim(model, random, negativeDims, 'negative');

/** An enormous dim (2^31 .. 1e18) on an initializer or a declared input/output/value. */
export const enormousDim: ProtoMutation = (model, random) => setDim(model, random, enormousDims, 'enormous');

/** A node made to consume the output of itself or of a later node, which closes a cycle. */
export const cycle: ProtoMutation = (model, random) => {
  const nodes = graphOf(model).node;
  if (nodes.length === 0) return undefined;
  const from = random.int(nodes.length);
  const to = from + random.int(nodes.length - from);
  const consumer = nodes[from];
  const output = nodes[to]?.output?.[0];
  if (!consumer || !output) return undefined;
  // Decoded repeated fields may share a frozen empty array: replace the list rather than push to it.
  const inputs = [...(consumer.input ?? [])];
  inputs[inputs.length === 0 ? 0 : random.int(inputs.length)] = output;
  consumer.input = inputs;
  return `node ${from} now reads '${output}' of node ${to} (a cycle)`;
};

/** An initializer removed while nodes still use it (and sometimes while it stays a graph input). */
export const missingInitializer: ProtoMutation = (model, random) => {
  const graph = graphOf(model);
  if (graph.initializer.length === 0) return undefined;
  const [removed] = graph.initializer.splice(random.int(graph.initializer.length), 1);
  if (random.chance(0.5)) graph.input = graph.input.filter((i) => i.name !== removed?.name);
  return `initializer '${removed?.name ?? ''}' removed`;
};

/** A node removed, so its consumers read a tensor nobody produces. */
export const missingProducer: ProtoMutation = (model, random) => {
  const graph = graphOf(model);
  if (graph.node.length === 0) return undefined;
  const index = random.int(graph.node.length);
  graph.node.splice(index, 1);
  return `node ${index} removed`;
};

/** An INT or INTS attribute set to an extreme value or an odd-length list. */
export const extremeAttribute: ProtoMutation = (model, random) => {
  const node = pickOrUndefined(graphOf(model).node.filter((n) => (n.attribute?.length ?? 0) > 0), random);
  const attribute = node?.attribute && random.pick(node.attribute);
  if (!node || !attribute) return undefined;
  const T = onnx.AttributeProto.AttributeType;
  if (attribute.type === T.INTS) {
    const length = random.pick([0, 1, 3, attribute.ints?.length ?? 0, (attribute.ints?.length ?? 0) + 1, 40]);
    attribute.ints = Array.from({ length }, () => random.pick(extremeInts));
    return `attribute ${attribute.name} of ${node.opType} = [${attribute.ints.join(', ')}]`;
  }
  if (attribute.type === T.INT) attribute.i = random.pick(extremeInts);
  else if (attribute.type === T.FLOAT) attribute.f = random.pick([NaN, Infinity, -1, 0]);
  else attribute.type = random.int(16);
  return `attribute ${attribute.name} of ${node.opType} changed`;
};

/** An initializer's element type, or a declared input's, set to another (possibly unknown) code. */
export const wrongElementType: ProtoMutation = (model, random) => {
  const graph = graphOf(model);
  const code = random.pick([0, 2, 7, 8, 10, 11, 14, 16, 21, 23, 24, 99, -1]);
  const tensor = random.chance(0.6) ? pickOrUndefined(graph.initializer, random) : undefined;
  if (tensor) {
    tensor.dataType = code;
    return `initializer '${tensor.name}' element type -> ${code}`;
  }
  const input = pickOrUndefined(graph.input, random);
  if (!input?.type?.tensorType) return undefined;
  input.type.tensorType.elemType = code;
  return `input '${input.name ?? ''}' element type -> ${code}`;
};

/** An initializer's raw data cut short, extended, emptied, or its typed fields filled instead. */
export const wrongDataSize: ProtoMutation = (model, random) => {
  const tensor = pickOrUndefined(graphOf(model).initializer, random);
  if (!tensor) return undefined;
  const raw = tensor.rawData ?? new Uint8Array(0);
  const choice = random.int(4);
  if (choice === 0) tensor.rawData = raw.slice(0, random.int(raw.length + 1));
  else if (choice === 1) tensor.rawData = Uint8Array.from([...raw, ...new Uint8Array(1 + random.int(16))]);
  else if (choice === 2) tensor.rawData = new Uint8Array(0);
  else tensor.floatData = Array.from({ length: random.int(5) }, () => 1);
  return `initializer '${tensor.name}' data changed (${['cut', 'extended', 'emptied', 'typed values added'][choice] ?? ''})`;
};

/** A part of the model emptied or made odd: no nodes, inputs or outputs, IR version 0, odd opset, duplicate outputs. */
export const damagedGraph: ProtoMutation = (model, random) => {
  const graph = graphOf(model);
  const choice = random.int(7);
  if (choice === 0) graph.node = [];
  else if (choice === 1) graph.input = [];
  else if (choice === 2) graph.output = [];
  else if (choice === 3) model.irVersion = random.pick([0, -1]);
  else if (choice === 4) model.opsetImport = random.chance(0.5) ? [] : [{ domain: '', version: random.pick([0, -1, 1, 99, 2 ** 40]) }];
  else if (choice === 5) {
    const name = graph.node[0]?.output?.[0];
    for (const node of graph.node) if (name && node.output && node.output.length > 0 && random.chance(0.3)) node.output[0] = name;
  } else graph.node.forEach((n) => (n.opType = random.chance(0.2) ? random.pick(['', 'NoSuchOp', 'Loop', 'If']) : (n.opType ?? null)));
  return `graph damaged (${['no nodes', 'no inputs', 'no outputs', 'IR version', 'opset', 'duplicate outputs', 'op types'][choice] ?? ''})`;
};

/** The values of a small int64 tensor (a Reshape target, axes, pads: an initializer or a Constant node's) set to extreme values. */
export const extremeShapeValues: ProtoMutation = (model, random) => {
  const graph = graphOf(model);
  const constants = (graph.node ?? []).filter((n) => n.opType === 'Constant').map((n) => n.attribute?.find((a) => a.name === 'value')?.t);
  const tensors = [...graph.initializer, ...constants].filter((t): t is onnx.ITensorProto => !!t && t.dataType === 7 && (t.rawData?.length ?? 0) <= 64);
  const tensor = pickOrUndefined(tensors, random);
  if (!tensor) return undefined;
  const count = random.pick([0, 1, 2, 4, 8]);
  const values = Array.from({ length: count }, () => random.pick([...extremeInts, 0, -1, 1, 2 ** 62]));
  tensor.rawData = new Uint8Array(BigInt64Array.from(values.map((v) => BigInt(v))).buffer);
  tensor.int64Data = [];
  tensor.dims = random.chance(0.8) ? [count] : [random.pick(enormousDims)];
  return `int64 tensor '${tensor.name ?? ''}' = [${values.join(', ')}] with dims [${tensor.dims.join(', ')}]`;
};

/** Every structural mutation by name. */
export const protoMutations: Readonly<Record<string, ProtoMutation>> = {
  negativeDim, enormousDim, cycle, missingInitializer, missingProducer, extremeAttribute, wrongElementType, wrongDataSize, damagedGraph, extremeShapeValues,
};

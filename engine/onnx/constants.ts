// Finds every constant tensor of a graph: initializers (also when listed as graph inputs), Constant
// nodes, and tensors computed from constants by Reshape / Transpose / Identity / Flatten / Squeeze /
// Unsqueeze, which exporters put between a stored weight and the layer that uses it.
import { HalocError } from '../errors';
import { attributeInt, attributeInts, findAttribute } from './attributes';
import { elementCountOf, ReshapedTensor, StoredTensor, TransposedTensor, type ConstTensor } from './constTensor';
import { DataType } from './dataType';
import { resolveExternalData } from './externalData';
import { onnx } from './proto';

/** Constant tensors of a graph by tensor name. */
export type ConstantMap = ReadonlyMap<string, ConstTensor>;

/** Collects the constants of `graph`; external data is resolved against `modelDir`. */
export function collectConstants(graph: onnx.IGraphProto, modelDir: string): ConstantMap {
  const constants = new Map<string, ConstTensor>();
  for (const tensor of graph.initializer ?? []) {
    const name = tensor.name ?? '';
    constants.set(name, storedTensor(name, tensor, { kind: 'initializer' }, modelDir));
  }
  for (const node of graph.node ?? []) {
    const folded = node.domain ? undefined : foldNode(node, constants, modelDir);
    const output = node.output?.[0];
    if (folded && output) constants.set(output, folded);
  }
  return constants;
}

function storedTensor(name: string, proto: onnx.ITensorProto, origin: ConstTensor['origin'], modelDir: string): StoredTensor {
  const external = proto.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL ? resolveExternalData(proto, modelDir) : undefined;
  return new StoredTensor(name, proto, origin, external);
}

function foldNode(node: onnx.INodeProto, constants: Map<string, ConstTensor>, modelDir: string): ConstTensor | undefined {
  const outputName = node.output?.[0] ?? '';
  const input = constants.get(node.input?.[0] ?? '');
  switch (node.opType) {
    case 'Constant':
      return constantNodeValue(node, outputName, modelDir);
    case 'Identity':
      return input && new ReshapedTensor(outputName, input, input.dims, 'Identity');
    case 'Reshape': {
      const shape = constants.get(node.input?.[1] ?? '');
      if (!input || !shape) return undefined;
      const dims = resolveReshape(input.dims, shape.toNumbers(), attributeInt(node, 'allowzero', 0) === 1);
      return dims && new ReshapedTensor(outputName, input, dims, 'Reshape');
    }
    case 'Flatten': {
      if (!input) return undefined;
      const axis = normaliseAxis(attributeInt(node, 'axis', 1), input.dims.length + 1);
      const dims = [elementCountOf(input.dims.slice(0, axis)), elementCountOf(input.dims.slice(axis))];
      return new ReshapedTensor(outputName, input, dims, 'Flatten');
    }
    case 'Transpose': {
      if (!input) return undefined;
      const perm = attributeInts(node, 'perm') ?? input.dims.map((_, i) => input.dims.length - 1 - i);
      return new TransposedTensor(outputName, input, perm);
    }
    default:
      return undefined;
  }
}

function constantNodeValue(node: onnx.INodeProto, outputName: string, modelDir: string): ConstTensor | undefined {
  const origin = { kind: 'constantNode', nodeName: node.name || outputName } as const;
  const tensor = findAttribute(node, 'value')?.t;
  if (tensor) return storedTensor(outputName, tensor, origin, modelDir);
  const scalarFloat = findAttribute(node, 'value_float');
  if (scalarFloat) return storedTensor(outputName, { dataType: DataType.FLOAT, dims: [], floatData: [scalarFloat.f ?? 0] }, origin, modelDir);
  const floats = findAttribute(node, 'value_floats');
  if (floats) return storedTensor(outputName, { dataType: DataType.FLOAT, dims: [floats.floats?.length ?? 0], floatData: floats.floats ?? [] }, origin, modelDir);
  const scalarInt = findAttribute(node, 'value_int');
  if (scalarInt) return storedTensor(outputName, { dataType: DataType.INT64, dims: [], int64Data: [scalarInt.i ?? 0] }, origin, modelDir);
  const ints = findAttribute(node, 'value_ints');
  if (ints) return storedTensor(outputName, { dataType: DataType.INT64, dims: [ints.ints?.length ?? 0], int64Data: ints.ints ?? [] }, origin, modelDir);
  if (findAttribute(node, 'sparse_value')) return undefined;
  if (node.attribute?.length) return undefined;
  throw new HalocError('CORRUPT', `Constant node '${node.name ?? outputName}' has no value`);
}

/** Output dims of Reshape(input dims, target) with ONNX's 0 (copy) and -1 (infer) rules; undefined if invalid. */
export function resolveReshape(inputDims: readonly number[], target: readonly number[], allowZero: boolean): number[] | undefined {
  const total = elementCountOf(inputDims);
  const dims = target.map((d, i) => (d === 0 && !allowZero ? (inputDims[i] ?? 0) : d));
  const inferred = dims.indexOf(-1);
  if (inferred >= 0) {
    const known = elementCountOf(dims.filter((_, i) => i !== inferred));
    if (known === 0 || total % known !== 0) return undefined;
    dims[inferred] = total / known;
  }
  return elementCountOf(dims) === total && dims.every((d) => d >= 0) ? dims : undefined;
}

/** Maps a possibly negative axis into [0, rank). */
export function normaliseAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

// Builds ONNX models in code: for generated test and benchmark models, the micro-benchmark models of
// the latency tables, and the nodes of rewrites. Produces plain onnx-proto objects.
import { DataType } from './dataType';
import { onnx } from './proto';

/** An attribute value: number -> INT, number[] -> INTS, string -> STRING, or an explicit float / tensor. */
export type AttributeValue = number | readonly number[] | string | { readonly float: number } | { readonly floats: readonly number[] } | { readonly tensor: onnx.ITensorProto };

/** A dimension of a declared input/output: a size or a symbolic name. */
export type DeclaredDim = number | string;

/** Makes an AttributeProto. */
export function makeAttribute(name: string, value: AttributeValue): onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof value === 'number') return { name, type: T.INT, i: value };
  if (typeof value === 'string') return { name, type: T.STRING, s: Buffer.from(value, 'utf8') };
  if (Array.isArray(value)) return { name, type: T.INTS, ints: [...(value as number[])] };
  if ('float' in value) return { name, type: T.FLOAT, f: value.float };
  if ('floats' in value) return { name, type: T.FLOATS, floats: [...value.floats] };
  return { name, type: T.TENSOR, t: (value as { tensor: onnx.ITensorProto }).tensor };
}

/** A float32 tensor stored as raw little-endian bytes. */
export function float32Tensor(name: string, dims: readonly number[], values: Float32Array): onnx.ITensorProto {
  return { name, dims: [...dims], dataType: DataType.FLOAT, rawData: new Uint8Array(values.buffer, values.byteOffset, values.byteLength) };
}

/** An int64 tensor (shapes, axes) stored as raw bytes. */
export function int64Tensor(name: string, dims: readonly number[], values: readonly number[]): onnx.ITensorProto {
  const data = BigInt64Array.from(values.map((v) => BigInt(v)));
  return { name, dims: [...dims], dataType: DataType.INT64, rawData: new Uint8Array(data.buffer) };
}

/** A typed ValueInfoProto for a graph input or output. */
export function valueInfo(name: string, elemType: number, dims?: readonly DeclaredDim[]): onnx.IValueInfoProto {
  const shape = dims && { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) };
  return { name, type: { tensorType: shape ? { elemType, shape } : { elemType } } };
}

/** Accumulates the parts of a graph and assembles a ModelProto. */
export class GraphBuilder {
  private readonly nodes: onnx.INodeProto[] = [];
  private readonly inputs: onnx.IValueInfoProto[] = [];
  private readonly outputs: onnx.IValueInfoProto[] = [];
  private readonly initializers: onnx.ITensorProto[] = [];
  private counter = 0;

  constructor(private readonly options: { readonly name?: string; readonly opset?: number; readonly irVersion?: number } = {}) {}

  /** Declares a graph input. */
  input(name: string, dims: readonly DeclaredDim[], elemType: number = DataType.FLOAT): string {
    this.inputs.push(valueInfo(name, elemType, dims));
    return name;
  }

  /** Declares a graph output (shape optional). */
  output(name: string, dims?: readonly DeclaredDim[], elemType: number = DataType.FLOAT): void {
    this.outputs.push(valueInfo(name, elemType, dims));
  }

  /** Adds an initializer and returns its name. */
  initializer(tensor: onnx.ITensorProto): string {
    this.initializers.push(tensor);
    return tensor.name ?? '';
  }

  /** Adds a copy of an existing node (its attributes as they are) with new input and output names. */
  copyNode(node: onnx.INodeProto, inputs: readonly string[], outputs: readonly string[]): void {
    this.nodes.push({ ...node, input: [...inputs], output: [...outputs] });
  }

  /** Adds a node; returns its output names (generated from the node name unless given). */
  node(opType: string, inputs: readonly string[], attributes: Readonly<Record<string, AttributeValue>> = {}, options: { name?: string; outputs?: readonly string[]; outputCount?: number } = {}): string[] {
    const name = options.name ?? `${opType}_${this.counter++}`;
    const outputs = options.outputs ? [...options.outputs] : Array.from({ length: options.outputCount ?? 1 }, (_, i) => (i === 0 ? `${name}_out` : `${name}_out${i}`));
    this.nodes.push({ name, opType, input: [...inputs], output: outputs, attribute: Object.entries(attributes).map(([key, value]) => makeAttribute(key, value)) });
    return outputs;
  }

  /** The assembled model. */
  build(): onnx.ModelProto {
    return onnx.ModelProto.create({
      irVersion: this.options.irVersion ?? 8,
      producerName: 'haloc',
      opsetImport: [{ domain: '', version: this.options.opset ?? 13 }],
      graph: { name: this.options.name ?? 'graph', node: this.nodes, input: this.inputs, output: this.outputs, initializer: this.initializers },
    });
  }
}

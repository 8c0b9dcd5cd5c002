// The graph a training step is built in: the forward nodes (some in their training form), the loss
// and the backward nodes, with the static shape of every tensor (training runs at a fixed batch).
import { HalocError } from '../errors';
import type { ConstantMap } from '../onnx/constants';
import { DataType } from '../onnx/dataType';
import { float32Tensor, int64Tensor, makeAttribute, type AttributeValue } from '../onnx/graphBuilder';
import type { onnx } from '../onnx/proto';

/** Static dims of a tensor. */
export type Dims = readonly number[];

/** How BatchNormalization runs while training. */
export type BatchNormMode = 'batch-statistics' | 'running-statistics';

/** Collects nodes and constants with unique names; knows every tensor's static shape. */
export class TrainingGraph {
  readonly nodes: onnx.INodeProto[] = [];
  readonly initializers: onnx.ITensorProto[] = [];
  /** BatchNormalization running statistics: input name -> output name of its update. */
  readonly runningUpdates = new Map<string, string>();
  private readonly shapes = new Map<string, Dims>();
  /** Values of the int64 constants this graph created (attributes of old opsets turned into inputs). */
  private readonly intConstants = new Map<string, readonly number[]>();
  private counter = 0;

  constructor(
    shapes: ReadonlyMap<string, Dims>,
    /** The model's constants (Slice starts, Reshape shapes, frozen weights). */
    readonly constants: ConstantMap,
    readonly batchNorm: BatchNormMode,
  ) {
    for (const [name, dims] of shapes) this.shapes.set(name, dims);
  }

  /** The static dims of a tensor; a clear error when unknown. */
  dims(name: string): Dims {
    const dims = this.shapes.get(name);
    if (!dims) throw new HalocError('UNSUPPORTED', `training: the shape of tensor '${name}' is not known statically`);
    return dims;
  }

  /** Records the dims of a tensor this graph creates. */
  setDims(name: string, dims: Dims): void {
    this.shapes.set(name, dims);
  }

  /** A fresh tensor name derived from `hint`. */
  fresh(hint: string): string {
    return `haloc_train/${hint}/${this.counter++}`;
  }

  /** Adds a node with `outputCount` fresh outputs (or the given names); returns the outputs. */
  nodeN(opType: string, inputs: readonly string[], attributes: Readonly<Record<string, AttributeValue>> = {}, outputs: number | readonly string[] = 1): string[] {
    const names = typeof outputs === 'number' ? Array.from({ length: outputs }, () => this.fresh(opType)) : [...outputs];
    this.nodes.push({
      name: this.fresh(`${opType}_node`),
      opType,
      input: [...inputs],
      output: names,
      attribute: Object.entries(attributes).map(([key, value]) => makeAttribute(key, value)),
    });
    return names;
  }

  /** Adds a one-output node whose output has `dims`; returns the output. */
  node(opType: string, inputs: readonly string[], dims: Dims, attributes: Readonly<Record<string, AttributeValue>> = {}): string {
    const [out] = this.nodeN(opType, inputs, attributes);
    this.setDims(out!, dims);
    return out!;
  }

  /** Adds a copy of a forward node as it is. */
  copy(node: onnx.INodeProto): void {
    this.nodes.push(node);
  }

  /** A 1-D int64 constant. */
  int64(values: readonly number[]): string {
    const name = this.fresh('i64');
    this.initializers.push(int64Tensor(name, [values.length], values));
    this.intConstants.set(name, [...values]);
    this.setDims(name, [values.length]);
    return name;
  }

  /** A float32 constant. */
  float(values: Float32Array | readonly number[], dims: Dims): string {
    const name = this.fresh('f32');
    this.initializers.push(float32Tensor(name, dims, values instanceof Float32Array ? values : Float32Array.from(values)));
    this.setDims(name, dims);
    return name;
  }

  /** A scalar float32 constant. */
  scalar(value: number): string {
    return this.float([value], []);
  }

  /** `x` reshaped to `dims` (no node when it already has them). */
  reshape(x: string, dims: Dims): string {
    const current = this.dims(x);
    if (current.length === dims.length && current.every((d, i) => d === dims[i])) return x;
    return this.node('Reshape', [x, this.int64(dims)], dims);
  }

  /** `x` transposed by `perm`. */
  transpose(x: string, perm: readonly number[]): string {
    const dims = this.dims(x);
    return this.node('Transpose', [x], perm.map((p) => dims[p]!), { perm });
  }

  /** Sum of `x` over `axes` (keepdims as given). */
  reduceSum(x: string, axes: readonly number[], keepdims: boolean): string {
    const dims = this.dims(x);
    const out = keepdims ? dims.map((d, i) => (axes.includes(i) ? 1 : d)) : dims.filter((_, i) => !axes.includes(i));
    return this.node('ReduceSum', [x, this.int64(axes)], out, { keepdims: keepdims ? 1 : 0 });
  }

  /** The gradient `g` (shape of a broadcast result) summed down to `target` dims (ONNX multidirectional broadcasting). */
  unbroadcast(g: string, target: Dims): string {
    const dims = this.dims(g);
    const offset = dims.length - target.length;
    const axes: number[] = [];
    for (let i = 0; i < dims.length; i++) if (i < offset || (target[i - offset] === 1 && dims[i] !== 1)) axes.push(i);
    const summed = axes.length > 0 ? this.reduceSum(g, axes, true) : g;
    return this.reshape(summed, target);
  }

  /** The values of a constant input (of the model or created here), or undefined. */
  constantNumbers(name: string): number[] | undefined {
    const created = this.intConstants.get(name);
    return created ? [...created] : this.constants.get(name)?.toNumbers();
  }
}

/** True when a tensor type is float32 (the only type training supports). */
export function isFloat32(elemType: number | undefined): boolean {
  return elemType === DataType.FLOAT;
}

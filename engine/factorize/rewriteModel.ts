// Applies factors to a model: each factorized node is replaced by its low-rank chain (Tucker-2: 1x1
// conv, k x k core conv with the original strides / pads / dilations / auto_pad, 1x1 conv with the
// original bias; SVD: two convs, Gemms or MatMuls). Untouched nodes and tensors are the same objects
// as in the input, so their content stays byte-identical; new names are unique; new intermediate
// tensors get value_info. supernetModel builds HALOC's supernet from the same replacements.
import { HalocError } from '../errors';
import type { LayerAnalysis } from '../graph/analyzeModel';
import { inferShapes } from '../graph/inferShapes';
import type { Dim } from '../graph/valueInfo';
import { attributeInt, findAttribute } from '../onnx/attributes';
import { transposeValues } from '../onnx/constTensor';
import { DataType } from '../onnx/dataType';
import { float32Tensor, int64Tensor, makeAttribute } from '../onnx/graphBuilder';
import type { OnnxModel } from '../onnx/onnxModel';
import type { onnx } from '../onnx/proto';
import type { LayerFactors, SvdFactors, TuckerFactors } from './layerFactors';

/** A layer to replace and its factors. */
export interface LayerRewrite {
  readonly layer: LayerAnalysis;
  readonly factors: LayerFactors;
}

/** Parts that replace one node. */
interface Replacement {
  readonly nodes: onnx.INodeProto[];
  readonly initializers: onnx.ITensorProto[];
  readonly valueInfo: onnx.IValueInfoProto[];
}

/** A new model with the given layers replaced by their low-rank chains. */
export function rewriteModel(model: OnnxModel, rewrites: readonly LayerRewrite[]): onnx.IModelProto {
  const graph = model.graph;
  const names = new UniqueNames(graph);
  const shapes = new NewTensorShapes(model);
  const byNode = new Map(rewrites.map((r) => [r.layer.nodeIndex, r]));
  const nodes: onnx.INodeProto[] = [];
  const initializers: onnx.ITensorProto[] = [];
  const infos: onnx.IValueInfoProto[] = [];
  (graph.node ?? []).forEach((node, index) => {
    const rewrite = byNode.get(index);
    if (!rewrite) return void nodes.push(node);
    const replacement = replace(node, rewrite, names, shapes, model.opsetVersion);
    nodes.push(...replacement.nodes);
    initializers.push(...replacement.initializers);
    infos.push(...replacement.valueInfo);
  });
  const weights = rewrites.map((r) => graph.node?.[r.layer.nodeIndex]?.input?.[1] ?? '');
  const liveNodes = withoutDeadProducers(nodes, weights, graph);
  const used = new Set(liveNodes.flatMap((n) => n.input ?? []));
  const keptInitializers = (graph.initializer ?? []).filter((t) => used.has(t.name ?? '') || isGraphOutput(graph, t.name));
  const kept = new Set(keptInitializers.map((t) => t.name));
  const dropped = new Set((graph.initializer ?? []).map((t) => t.name).filter((n) => !kept.has(n)));
  const removedOutputs = new Set(nodes.filter((n) => !liveNodes.includes(n)).flatMap((n) => n.output ?? []));
  return {
    ...model.proto,
    graph: {
      ...graph,
      node: liveNodes,
      initializer: [...keptInitializers, ...initializers],
      input: (graph.input ?? []).filter((i) => !dropped.has(i.name)),
      valueInfo: [...(graph.valueInfo ?? []).filter((v) => !dropped.has(v.name) && !removedOutputs.has(v.name ?? '')), ...infos],
    },
  };
}

/** One layer of a supernet and its candidate factors (one branch per candidate rank). */
export interface SupernetRewrite {
  readonly layer: LayerAnalysis;
  readonly branches: readonly LayerFactors[];
  /** Also mix in the original layer as it is (the last mixing weight): "keep" as a candidate. */
  readonly keep?: boolean;
}

/** The tensors of one supernet layer. */
export interface SupernetLayerTensors {
  /** Initializer [K] (K + 1 with keep): the mixing weight of each branch, keep last (uniform to start; fed by the search). */
  readonly mixing: string;
  /** The index of the original layer's weight in mixing, or null without keep. */
  readonly keepIndex: number | null;
  /** Scalar: the mean over branches of the mean squared difference between branch and original output. */
  readonly featureLoss: string;
  /** Per branch, the initializers of its factors in the order the rewrite creates them. */
  readonly branchWeights: readonly (readonly string[])[];
}

/**
 * A HALOC supernet: every listed layer keeps its original node (output renamed, the reference of the
 * feature-map-approaching term) beside one low-rank branch per candidate; the layer's output is
 * sum_k mixing[k] * branch_k (+ mixing[K] * original with keep). Everything else is as in the input model.
 */
export function supernetModel(model: OnnxModel, rewrites: readonly SupernetRewrite[]): { proto: onnx.IModelProto; layers: SupernetLayerTensors[] } {
  const graph = model.graph;
  const names = new UniqueNames(graph);
  const shapes = new NewTensorShapes(model);
  const byNode = new Map(rewrites.map((r, i) => [r.layer.nodeIndex, i]));
  const nodes: onnx.INodeProto[] = [];
  const initializers: onnx.ITensorProto[] = [];
  const layers: SupernetLayerTensors[] = new Array(rewrites.length);
  const node = (opType: string, input: string[], output: string, attribute: onnx.IAttributeProto[] = []): void => {
    nodes.push({ name: names.take(`${output}/${opType}`), opType, input, output: [output], attribute });
  };
  const int64 = (hint: string, values: number[]): string => {
    const name = names.take(hint);
    initializers.push(int64Tensor(name, [values.length], values));
    return name;
  };
  (graph.node ?? []).forEach((original, index) => {
    const at = byNode.get(index);
    if (at === undefined) return void nodes.push(original);
    const { layer, branches, keep = false } = rewrites[at]!;
    const weights = branches.length + (keep ? 1 : 0);
    const y = original.output?.[0] ?? '';
    const base = original.name || y;
    const reference = names.take(`${y}.original`);
    nodes.push({ ...original, output: [reference] });
    const mixing = names.take(`${base}.mixing`);
    initializers.push(float32Tensor(mixing, [weights], new Float32Array(weights).fill(1 / weights)));
    const terms: string[] = [];
    const errors: string[] = [];
    const branchWeights: string[][] = [];
    branches.forEach((factors, k) => {
      const out = names.take(`${y}.branch${k}`);
      const replacement = replace({ ...original, output: [out] }, { layer, factors }, names, shapes, model.opsetVersion);
      nodes.push(...replacement.nodes);
      initializers.push(...replacement.initializers);
      branchWeights.push(replacement.initializers.map((t) => t.name ?? ''));
      const weight = names.take(`${base}.mixing${k}`);
      node('Slice', [mixing, int64(`${base}.start${k}`, [k]), int64(`${base}.end${k}`, [k + 1])], weight);
      const term = names.take(`${y}.mixed${k}`);
      node('Mul', [out, weight], term);
      terms.push(term);
      const difference = names.take(`${y}.difference${k}`);
      node('Sub', [out, reference], difference);
      const squared = names.take(`${y}.squared${k}`);
      node('Mul', [difference, difference], squared);
      const error = names.take(`${y}.error${k}`);
      node('ReduceMean', [squared], error, [makeAttribute('keepdims', 0)]);
      errors.push(error);
    });
    if (keep) {
      const weight = names.take(`${base}.mixing_keep`);
      node('Slice', [mixing, int64(`${base}.start_keep`, [branches.length]), int64(`${base}.end_keep`, [weights])], weight);
      const term = names.take(`${y}.mixed_keep`);
      node('Mul', [reference, weight], term);
      terms.push(term);
    }
    let sum = terms[0]!;
    for (let k = 1; k < terms.length; k++) {
      const next = k === terms.length - 1 ? y : names.take(`${y}.sum${k}`);
      node('Add', [sum, terms[k]!], next);
      sum = next;
    }
    if (terms.length === 1) node('Identity', [sum], y);
    let total = errors[0]!;
    for (let k = 1; k < errors.length; k++) {
      const next = names.take(`${y}.errors${k}`);
      node('Add', [total, errors[k]!], next);
      total = next;
    }
    const featureLoss = names.take(`${y}.feature_loss`);
    const scale = names.take(`${base}.branch_share`);
    initializers.push(float32Tensor(scale, [], Float32Array.of(1 / branches.length)));
    node('Mul', [total, scale], featureLoss);
    layers[at] = { mixing, keepIndex: keep ? branches.length : null, featureLoss, branchWeights };
  });
  return { proto: { ...model.proto, graph: { ...graph, node: nodes, initializer: [...(graph.initializer ?? []), ...initializers] } }, layers };
}

/** The factors of a rank-`like.rank`-shaped branch rebuilt from its (trained) initializer values, in branchWeights order. */
export function factorsFromBranch(layer: LayerAnalysis, like: LayerFactors, values: readonly Float32Array[]): LayerFactors {
  const [first, second, third] = values;
  if (!first || !second) throw new Error(`factorsFromBranch: '${layer.name}' needs at least two factor arrays`);
  if (like.kind === 'tucker2') {
    if (!third) throw new Error(`factorsFromBranch: '${layer.name}' needs three Tucker-2 factors`);
    return { ...like, firstRC: first, core: second, lastCR: third };
  }
  if (layer.op !== 'Conv') return { ...like, leftIR: first, rightRO: second };
  // SVD of a conv: the first conv's weight is left^T [rank, Cin], the second's right^T [Cout, rank]
  const inChannels = first.length / like.rank;
  const outChannels = second.length / like.rank;
  return { ...like, leftIR: transposeValues(first, [like.rank, inChannels], [1, 0]), rightRO: transposeValues(second, [outChannels, like.rank], [1, 0]) };
}

/**
 * Drops the nodes that only produced a replaced layer's weight (a Constant, a Reshape or Transpose of
 * an initializer, and so on up the chain): nodes whose outputs nothing uses any more. Nodes that were
 * already unused in the input stay as they are.
 */
function withoutDeadProducers(nodes: readonly onnx.INodeProto[], weights: readonly string[], graph: onnx.IGraphProto): onnx.INodeProto[] {
  const live = new Set(nodes);
  const producer = new Map(nodes.flatMap((n) => (n.output ?? []).map((o): [string, onnx.INodeProto] => [o, n])));
  const consumers = (name: string): number => [...live].filter((n) => n.input?.includes(name)).length;
  const pending = [...weights];
  for (let name = pending.pop(); name !== undefined; name = pending.pop()) {
    const node = producer.get(name);
    if (!node || !live.has(node) || isGraphOutput(graph, name)) continue;
    if ((node.output ?? []).some((o) => o && (consumers(o) > 0 || isGraphOutput(graph, o)))) continue;
    live.delete(node);
    pending.push(...(node.input ?? []));
  }
  return nodes.filter((n) => live.has(n));
}

/**
 * Shapes of new intermediate tensors for their value_info. The analysis resolved a symbolic batch to a
 * number; here a dim that follows the batch keeps the input's symbolic name, and one that changes with
 * it in another way is left unknown, so the declared shapes hold at any batch size.
 */
class NewTensorShapes {
  private readonly byBatch: readonly [ReadonlyMap<string, { dims: readonly Dim[] | undefined }>, ReadonlyMap<string, { dims: readonly Dim[] | undefined }>] | undefined;
  private readonly symbol: string | undefined;

  constructor(model: OnnxModel) {
    const symbols = new Set((model.graph.input ?? []).filter((i) => !model.constants.has(i.name ?? '')).map((i) => i.type?.tensorType?.shape?.dim?.[0]).filter((d) => d && (d as { value?: string }).value !== 'dimValue').map((d) => d?.dimParam ?? ''));
    if (symbols.size === 0) return;
    this.symbol = symbols.size === 1 ? [...symbols][0] || undefined : undefined;
    try {
      this.byBatch = [inferShapes(model, { batch: 1 }).values, inferShapes(model, { batch: 2 }).values];
    } catch {
      this.byBatch = undefined;
    }
  }

  /** Dims of `tensor` with `axis` set to `size` (undefined: unknown dim); `fallback` holds the analysis's dims. */
  of(tensor: string, fallback: readonly Dim[] | null, axis: number, size: number): (number | string | undefined)[] {
    const dims = this.dims(tensor, fallback ?? []);
    dims[axis < 0 ? dims.length + axis : axis] = size;
    return dims;
  }

  private dims(tensor: string, fallback: readonly Dim[]): (number | string | undefined)[] {
    if (!this.byBatch) return [...fallback]; // no symbolic batch: the analysis's dims hold
    const [one, two] = [this.byBatch[0].get(tensor)?.dims, this.byBatch[1].get(tensor)?.dims];
    if (!one || !two || one.length !== two.length) return fallback.map((d, axis) => (axis === 0 ? undefined : d));
    return one.map((d, axis) => (d === two[axis] ? d : d === 1 && two[axis] === 2 ? this.symbol : undefined));
  }
}

/** A float32 ValueInfoProto; undefined dims are left unknown. */
function tensorInfo(name: string, dims: readonly (number | string | undefined)[]): onnx.IValueInfoProto {
  const dim = dims.map((d) => (typeof d === 'number' ? { dimValue: d } : typeof d === 'string' ? { dimParam: d } : {}));
  return { name, type: { tensorType: { elemType: DataType.FLOAT, shape: { dim } } } };
}

function isGraphOutput(graph: onnx.IGraphProto, name: string | null | undefined): boolean {
  return (graph.output ?? []).some((o) => o.name === name);
}

function replace(node: onnx.INodeProto, { layer, factors }: LayerRewrite, names: UniqueNames, shapes: NewTensorShapes, opset: number): Replacement {
  const base = node.name || node.output?.[0] || `${node.opType ?? 'node'}_${layer.nodeIndex}`;
  if (layer.op === 'Conv' && factors.kind === 'tucker2') return tuckerConv(node, layer, factors, base, names, shapes);
  if (layer.op === 'Conv' && factors.kind === 'svd') return svdConv(node, layer, factors, base, names, shapes);
  if (layer.op === 'Gemm' && factors.kind === 'svd') return svdGemm(node, layer, factors, base, names, shapes, opset);
  if (layer.op === 'MatMul' && factors.kind === 'svd') return svdMatMul(node, layer, factors, base, names, shapes);
  throw new HalocError('UNSUPPORTED', `layer '${layer.name}' (${layer.op}) cannot take ${factors.kind} factors`);
}

function tuckerConv(node: onnx.INodeProto, layer: LayerAnalysis, f: TuckerFactors, base: string, names: UniqueNames, shapes: NewTensorShapes): Replacement {
  const [outChannels = 0, inChannels = 0, ...kernel] = layer.weightShape ?? [];
  const ones = kernel.map(() => 1);
  const [x = '', , bias] = node.input ?? [];
  const [w1, wc, w3] = [names.take(`${base}.tucker_in.weight`), names.take(`${base}.tucker_core.weight`), names.take(`${base}.tucker_out.weight`)];
  const [t1, t2] = [names.take(`${base}.tucker_in`), names.take(`${base}.tucker_core`)];
  const [n1, n2, n3] = [names.take(`${base}/tucker_in`), names.take(`${base}/tucker_core`), names.take(`${base}/tucker_out`)];
  return {
    nodes: [
      { name: n1, opType: 'Conv', input: [x, w1], output: [t1], attribute: [makeAttribute('kernel_shape', ones)] },
      { name: n2, opType: 'Conv', domain: node.domain ?? '', input: [t1, wc], output: [t2], attribute: (node.attribute ?? []).filter((a) => a.name !== 'group') },
      { name: n3, opType: 'Conv', input: bias ? [t2, w3, bias] : [t2, w3], output: [...(node.output ?? [])], attribute: [makeAttribute('kernel_shape', ones)] },
    ],
    initializers: [
      float32Tensor(w1, [f.rankIn, inChannels, ...ones], f.firstRC),
      float32Tensor(wc, [f.rankOut, f.rankIn, ...kernel], f.core),
      float32Tensor(w3, [outChannels, f.rankOut, ...ones], f.lastCR),
    ],
    valueInfo: [tensorInfo(t1, shapes.of(x, layer.inputShape, 1, f.rankIn)), tensorInfo(t2, shapes.of(node.output?.[0] ?? '', layer.outputShape, 1, f.rankOut))],
  };
}

function svdConv(node: onnx.INodeProto, layer: LayerAnalysis, f: SvdFactors, base: string, names: UniqueNames, shapes: NewTensorShapes): Replacement {
  const [outChannels = 0, inChannels = 0, ...kernel] = layer.weightShape ?? [];
  const [x = '', , bias] = node.input ?? [];
  const [w1, w2, t1, n1, n2] = [names.take(`${base}.svd_in.weight`), names.take(`${base}.svd_out.weight`), names.take(`${base}.svd_in`), names.take(`${base}/svd_in`), names.take(`${base}/svd_out`)];
  return {
    nodes: [
      { name: n1, opType: 'Conv', input: [x, w1], output: [t1], attribute: (node.attribute ?? []).filter((a) => a.name !== 'group') },
      { name: n2, opType: 'Conv', input: bias ? [t1, w2, bias] : [t1, w2], output: [...(node.output ?? [])], attribute: [makeAttribute('kernel_shape', kernel)] },
    ],
    // W[Cout, Cin] = (left [Cin, r] x right [r, Cout])^T: the first conv's weight is left^T, the second's right^T.
    initializers: [float32Tensor(w1, [f.rank, inChannels, ...kernel], transposeValues(f.leftIR, [inChannels, f.rank], [1, 0])), float32Tensor(w2, [outChannels, f.rank, ...kernel], transposeValues(f.rightRO, [f.rank, outChannels], [1, 0]))],
    valueInfo: [tensorInfo(t1, shapes.of(node.output?.[0] ?? '', layer.outputShape, 1, f.rank))],
  };
}

function svdGemm(node: onnx.INodeProto, layer: LayerAnalysis, f: SvdFactors, base: string, names: UniqueNames, shapes: NewTensorShapes, opset: number): Replacement {
  const [a = '', , c] = node.input ?? [];
  const [w1, w2, t1, n1, n2] = [names.take(`${base}.svd_in.weight`), names.take(`${base}.svd_out.weight`), names.take(`${base}.svd_in`), names.take(`${base}/svd_in`), names.take(`${base}/svd_out`)];
  const inFeatures = f.leftIR.length / f.rank;
  const outFeatures = f.rightRO.length / f.rank;
  const alpha = findAttribute(node, 'alpha')?.f ?? 1;
  const beta = findAttribute(node, 'beta')?.f ?? 1;
  // Before opset 11 Gemm's C is required (the first Gemm gets a zero), and before opset 7 a broadcast C needs `broadcast`.
  const zero = opset < 11 ? names.take(`${base}.svd_in.zero`) : undefined;
  const broadcast = findAttribute(node, 'broadcast');
  return {
    nodes: [
      { name: n1, opType: 'Gemm', input: zero ? [a, w1, zero] : [a, w1], output: [t1], attribute: [makeAttribute('transA', attributeInt(node, 'transA', 0)), makeAttribute('alpha', { float: alpha }), ...(zero && opset < 7 ? [makeAttribute('broadcast', 1)] : [])] },
      { name: n2, opType: 'Gemm', input: c ? [t1, w2, c] : [t1, w2], output: [...(node.output ?? [])], attribute: c ? [makeAttribute('beta', { float: beta }), ...(broadcast ? [broadcast] : [])] : [] },
    ],
    initializers: [float32Tensor(w1, [inFeatures, f.rank], f.leftIR), float32Tensor(w2, [f.rank, outFeatures], f.rightRO), ...(zero ? [float32Tensor(zero, [1], new Float32Array(1))] : [])],
    valueInfo: [tensorInfo(t1, shapes.of(node.output?.[0] ?? '', layer.outputShape, 1, f.rank))],
  };
}

function svdMatMul(node: onnx.INodeProto, layer: LayerAnalysis, f: SvdFactors, base: string, names: UniqueNames, shapes: NewTensorShapes): Replacement {
  const [x = ''] = node.input ?? [];
  const [w1, w2, t1, n1, n2] = [names.take(`${base}.svd_in.weight`), names.take(`${base}.svd_out.weight`), names.take(`${base}.svd_in`), names.take(`${base}/svd_in`), names.take(`${base}/svd_out`)];
  const inFeatures = f.leftIR.length / f.rank;
  const outFeatures = f.rightRO.length / f.rank;
  return {
    nodes: [
      { name: n1, opType: 'MatMul', input: [x, w1], output: [t1] },
      { name: n2, opType: 'MatMul', input: [t1, w2], output: [...(node.output ?? [])] },
    ],
    initializers: [float32Tensor(w1, [inFeatures, f.rank], f.leftIR), float32Tensor(w2, [f.rank, outFeatures], f.rightRO)],
    valueInfo: [tensorInfo(t1, shapes.of(node.output?.[0] ?? '', layer.outputShape, -1, f.rank))],
  };
}

/** Hands out names not used anywhere in the graph (node names and tensor names share one space here). */
class UniqueNames {
  private readonly used = new Set<string>();
  constructor(graph: onnx.IGraphProto) {
    for (const node of graph.node ?? []) [node.name, ...(node.input ?? []), ...(node.output ?? [])].forEach((n) => n && this.used.add(n));
    for (const t of [...(graph.initializer ?? []), ...(graph.input ?? []), ...(graph.output ?? []), ...(graph.valueInfo ?? [])]) if (t.name) this.used.add(t.name);
  }
  take(wanted: string): string {
    let name = wanted;
    for (let i = 1; this.used.has(name); i++) name = `${wanted}_${i}`;
    this.used.add(name);
    return name;
  }
}

// Applies factors to a model: each factorized node is replaced by its low-rank chain (Tucker-2: 1x1
// conv, k x k core conv with the original strides / pads / dilations / auto_pad, 1x1 conv with the
// original bias; SVD: two convs, Gemms or MatMuls). Untouched nodes and tensors are the same objects
// as in the input, so their content stays byte-identical; new names are unique; new intermediate
// tensors get value_info.
import { HalocError } from '../errors';
import type { LayerAnalysis } from '../graph/analyzeModel';
import { attributeInt, findAttribute } from '../onnx/attributes';
import { transposeValues } from '../onnx/constTensor';
import { DataType } from '../onnx/dataType';
import { float32Tensor, makeAttribute, valueInfo } from '../onnx/graphBuilder';
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
  const byNode = new Map(rewrites.map((r) => [r.layer.nodeIndex, r]));
  const nodes: onnx.INodeProto[] = [];
  const initializers: onnx.ITensorProto[] = [];
  const infos: onnx.IValueInfoProto[] = [];
  (graph.node ?? []).forEach((node, index) => {
    const rewrite = byNode.get(index);
    if (!rewrite) return void nodes.push(node);
    const replacement = replace(node, rewrite, names);
    nodes.push(...replacement.nodes);
    initializers.push(...replacement.initializers);
    infos.push(...replacement.valueInfo);
  });
  const used = new Set(nodes.flatMap((n) => n.input ?? []));
  const keptInitializers = (graph.initializer ?? []).filter((t) => used.has(t.name ?? '') || isGraphOutput(graph, t.name));
  const kept = new Set(keptInitializers.map((t) => t.name));
  const dropped = new Set((graph.initializer ?? []).map((t) => t.name).filter((n) => !kept.has(n)));
  return {
    ...model.proto,
    graph: {
      ...graph,
      node: nodes,
      initializer: [...keptInitializers, ...initializers],
      input: (graph.input ?? []).filter((i) => !dropped.has(i.name)),
      valueInfo: [...(graph.valueInfo ?? []), ...infos],
    },
  };
}

function isGraphOutput(graph: onnx.IGraphProto, name: string | null | undefined): boolean {
  return (graph.output ?? []).some((o) => o.name === name);
}

function replace(node: onnx.INodeProto, { layer, factors }: LayerRewrite, names: UniqueNames): Replacement {
  const base = node.name || node.output?.[0] || `${node.opType ?? 'node'}_${layer.nodeIndex}`;
  if (layer.op === 'Conv' && factors.kind === 'tucker2') return tuckerConv(node, layer, factors, base, names);
  if (layer.op === 'Conv' && factors.kind === 'svd') return svdConv(node, layer, factors, base, names);
  if (layer.op === 'Gemm' && factors.kind === 'svd') return svdGemm(node, layer, factors, base, names);
  if (layer.op === 'MatMul' && factors.kind === 'svd') return svdMatMul(node, layer, factors, base, names);
  throw new HalocError('UNSUPPORTED', `layer '${layer.name}' (${layer.op}) cannot take ${factors.kind} factors`);
}

function tuckerConv(node: onnx.INodeProto, layer: LayerAnalysis, f: TuckerFactors, base: string, names: UniqueNames): Replacement {
  const [outChannels = 0, inChannels = 0, ...kernel] = layer.weightShape ?? [];
  const ones = kernel.map(() => 1);
  const [x = '', , bias] = node.input ?? [];
  const [w1, wc, w3] = [names.take(`${base}.tucker_in.weight`), names.take(`${base}.tucker_core.weight`), names.take(`${base}.tucker_out.weight`)];
  const [t1, t2] = [names.take(`${base}.tucker_in`), names.take(`${base}.tucker_core`)];
  const [n1, n2, n3] = [names.take(`${base}/tucker_in`), names.take(`${base}/tucker_core`), names.take(`${base}/tucker_out`)];
  const spatialIn = (layer.inputShape ?? []).slice(2);
  const spatialOut = (layer.outputShape ?? []).slice(2);
  const batch = layer.inputShape?.[0] ?? 'N';
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
    valueInfo: [valueInfo(t1, DataType.FLOAT, [batch, f.rankIn, ...spatialIn]), valueInfo(t2, DataType.FLOAT, [batch, f.rankOut, ...spatialOut])],
  };
}

function svdConv(node: onnx.INodeProto, layer: LayerAnalysis, f: SvdFactors, base: string, names: UniqueNames): Replacement {
  const [outChannels = 0, inChannels = 0, ...kernel] = layer.weightShape ?? [];
  const [x = '', , bias] = node.input ?? [];
  const [w1, w2, t1, n1, n2] = [names.take(`${base}.svd_in.weight`), names.take(`${base}.svd_out.weight`), names.take(`${base}.svd_in`), names.take(`${base}/svd_in`), names.take(`${base}/svd_out`)];
  const outShape = layer.outputShape ?? [];
  return {
    nodes: [
      { name: n1, opType: 'Conv', input: [x, w1], output: [t1], attribute: (node.attribute ?? []).filter((a) => a.name !== 'group') },
      { name: n2, opType: 'Conv', input: bias ? [t1, w2, bias] : [t1, w2], output: [...(node.output ?? [])], attribute: [makeAttribute('kernel_shape', kernel)] },
    ],
    // W[Cout, Cin] = (left [Cin, r] x right [r, Cout])^T: the first conv's weight is left^T, the second's right^T.
    initializers: [float32Tensor(w1, [f.rank, inChannels, ...kernel], transposeValues(f.leftIR, [inChannels, f.rank], [1, 0])), float32Tensor(w2, [outChannels, f.rank, ...kernel], transposeValues(f.rightRO, [f.rank, outChannels], [1, 0]))],
    valueInfo: [valueInfo(t1, DataType.FLOAT, [outShape[0] ?? 'N', f.rank, ...outShape.slice(2)])],
  };
}

function svdGemm(node: onnx.INodeProto, layer: LayerAnalysis, f: SvdFactors, base: string, names: UniqueNames): Replacement {
  const [a = '', , c] = node.input ?? [];
  const [w1, w2, t1, n1, n2] = [names.take(`${base}.svd_in.weight`), names.take(`${base}.svd_out.weight`), names.take(`${base}.svd_in`), names.take(`${base}/svd_in`), names.take(`${base}/svd_out`)];
  const inFeatures = f.leftIR.length / f.rank;
  const outFeatures = f.rightRO.length / f.rank;
  const alpha = findAttribute(node, 'alpha')?.f ?? 1;
  const beta = findAttribute(node, 'beta')?.f ?? 1;
  const rows = layer.outputShape?.[0] ?? 'M';
  return {
    nodes: [
      { name: n1, opType: 'Gemm', input: [a, w1], output: [t1], attribute: [makeAttribute('transA', attributeInt(node, 'transA', 0)), makeAttribute('alpha', { float: alpha })] },
      { name: n2, opType: 'Gemm', input: c ? [t1, w2, c] : [t1, w2], output: [...(node.output ?? [])], attribute: c ? [makeAttribute('beta', { float: beta })] : [] },
    ],
    initializers: [float32Tensor(w1, [inFeatures, f.rank], f.leftIR), float32Tensor(w2, [f.rank, outFeatures], f.rightRO)],
    valueInfo: [valueInfo(t1, DataType.FLOAT, [rows, f.rank])],
  };
}

function svdMatMul(node: onnx.INodeProto, layer: LayerAnalysis, f: SvdFactors, base: string, names: UniqueNames): Replacement {
  const [x = ''] = node.input ?? [];
  const [w1, w2, t1, n1, n2] = [names.take(`${base}.svd_in.weight`), names.take(`${base}.svd_out.weight`), names.take(`${base}.svd_in`), names.take(`${base}/svd_in`), names.take(`${base}/svd_out`)];
  const inFeatures = f.leftIR.length / f.rank;
  const outFeatures = f.rightRO.length / f.rank;
  const shape = layer.outputShape ?? [];
  return {
    nodes: [
      { name: n1, opType: 'MatMul', input: [x, w1], output: [t1] },
      { name: n2, opType: 'MatMul', input: [t1, w2], output: [...(node.output ?? [])] },
    ],
    initializers: [float32Tensor(w1, [inFeatures, f.rank], f.leftIR), float32Tensor(w2, [f.rank, outFeatures], f.rightRO)],
    valueInfo: [valueInfo(t1, DataType.FLOAT, [...shape.slice(0, -1), f.rank])],
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

// Bias correction (the cheap repair HALOC.md measured to help most before any training): each
// factorized layer's output is shifted per channel by the mean difference between the original and
// the factorized layer's outputs on calibration data. The shift is folded into the bias of the last
// node of the rewrite (Conv, Gemm); where that is not possible an Add node follows it.
import { findAttribute } from '../onnx/attributes';
import type { LayerAnalysis } from '../graph/analyzeModel';
import { float32Tensor } from '../onnx/graphBuilder';
import type { OnnxModel } from '../onnx/onnxModel';
import type { onnx } from '../onnx/proto';

/** The correction of one factorized layer: per output channel, mean(Y - Y_r). */
export interface BiasShift {
  readonly layer: LayerAnalysis;
  readonly shift: Float32Array;
}

/** `rewritten` (made from `model` by rewriteModel) with every shift applied. */
export function applyBiasShifts(model: OnnxModel, rewritten: onnx.IModelProto, shifts: readonly BiasShift[]): onnx.IModelProto {
  const graph = rewritten.graph ?? {};
  const nodes = [...(graph.node ?? [])];
  const added: onnx.ITensorProto[] = [];
  const replaced = new Set<string>();
  const taken = new Set([...(graph.initializer ?? []).map((t) => t.name ?? ''), ...nodes.flatMap((n) => [...(n.output ?? []), n.name ?? ''])]);
  const fresh = (wanted: string): string => {
    let name = wanted;
    for (let i = 1; taken.has(name); i++) name = `${wanted}_${i}`;
    taken.add(name);
    return name;
  };
  for (const { layer, shift } of shifts) {
    const output = model.graph.node?.[layer.nodeIndex]?.output?.[0] ?? '';
    const index = nodes.findIndex((n) => n.output?.[0] === output);
    const node = nodes[index];
    if (!node) continue;
    const folded = foldedBias(model, node, shift, model.opsetVersion);
    if (folded) {
      const name = fresh(`${output}.bias_corrected`);
      added.push(float32Tensor(name, [shift.length], folded));
      if (node.input?.[2]) replaced.add(node.input[2]);
      const inputs = [...(node.input ?? [])];
      inputs[2] = name;
      nodes[index] = { ...node, input: inputs };
      continue;
    }
    const before = fresh(`${output}.before_bias_correction`);
    const add = fresh(`${output}.bias_correction`);
    const spatial = node.opType === 'Conv' ? Math.max(0, (layer.outputShape?.length ?? 2) - 2) : 0;
    added.push(float32Tensor(add, [shift.length, ...Array.from({ length: spatial }, () => 1)], shift));
    nodes[index] = { ...node, output: [before, ...(node.output ?? []).slice(1)] };
    nodes.splice(index + 1, 0, { name: fresh(`${output}/bias_correction`), opType: 'Add', input: [before, add], output: [output] });
  }
  const used = new Set(nodes.flatMap((n) => n.input ?? []));
  const stale = (name: string | null | undefined): boolean => replaced.has(name ?? '') && !used.has(name ?? '');
  return {
    ...rewritten,
    graph: {
      ...graph,
      node: nodes,
      initializer: [...(graph.initializer ?? []).filter((t) => !stale(t.name)), ...added],
      input: (graph.input ?? []).filter((i) => !stale(i.name)),
    },
  };
}

/** The corrected 1-D bias of a Conv or Gemm, or undefined when the shift cannot be folded into it. */
function foldedBias(model: OnnxModel, node: onnx.INodeProto, shift: Float32Array, opset: number): Float32Array | undefined {
  const biasName = node.input?.[2];
  if (node.domain || (node.opType !== 'Conv' && node.opType !== 'Gemm')) return undefined;
  if (node.opType === 'Gemm' && opset < 7) return undefined; // a new C would need the old `broadcast` attribute
  const beta = node.opType === 'Gemm' ? (findAttribute(node, 'beta')?.f ?? 1) : 1;
  if (beta === 0) return undefined;
  const old = biasName ? model.constants.get(biasName) : undefined;
  if (biasName && (!old || old.elementCount !== shift.length || old.dims.some((d, i) => d !== 1 && i !== old.dims.length - 1))) return undefined;
  const values = old ? old.toFloat32() : new Float32Array(shift.length);
  for (let c = 0; c < shift.length; c++) values[c] = (values[c] ?? 0) + (shift[c] ?? 0) / beta;
  return values;
}

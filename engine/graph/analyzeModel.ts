// Per-layer analysis of a model: shapes, MACs, parameters, weight and activation bytes, and which
// layers can be factorized (or why not). Shapes come from static inference; what it cannot resolve
// comes from one run in onnxruntime-node with every intermediate exposed, and the result says so.
import * as path from 'node:path';
import type { ConstTensor } from '../onnx/constTensor';
import { byteSizeOf, isFloatType } from '../onnx/dataType';
import type { OnnxModel } from '../onnx/onnxModel';
import { int64ToNumber } from '../onnx/proto';
import { assessCompressibility } from './compressibility';
import { nodeLabel } from './graphOrder';
import { inferShapes, type GraphInput, type ShapeSettings } from './inferShapes';
import type { LowRankShape } from './lowRankCost';
import { countMacs } from './nodeCost';
import { runtimeShapes } from './runtimeShapes';
import { isStatic, staticProduct, symbolsOf, type Dim, type ValueInfo } from './valueInfo';

/** Settings of an analysis. */
export interface AnalysisSettings extends ShapeSettings {
  /** Run the model in onnxruntime-node for shapes static inference cannot resolve (default true). */
  readonly runtimeFallback?: boolean;
}

/** One layer (a node with MACs or parameters) as the table and the JSON show it. */
export interface LayerAnalysis {
  readonly name: string;
  readonly op: string;
  readonly nodeIndex: number;
  readonly inputShape: readonly Dim[] | null;
  readonly outputShape: readonly Dim[] | null;
  readonly weightShape: readonly number[] | null;
  /** null when unknown (unknown op or unresolved shape); see `note`. */
  readonly macs: number | null;
  readonly params: number;
  readonly weightBytes: number;
  readonly activationBytes: number | null;
  readonly compressible: boolean;
  /** Why the layer is not compressible; null when it is. */
  readonly reason: string | null;
  readonly decomposition: 'tucker2' | 'svd' | null;
  /** Smallest (equal) rank at which the factorization is exact. */
  readonly maxRank: number | null;
  /** Largest rank whose factorized layer needs fewer MACs than the original. */
  readonly breakEvenRank: number | null;
  readonly lowRankShape: LowRankShape | null;
  readonly shapeSource: 'static' | 'runtime' | 'declared' | 'unresolved';
  readonly note: string | null;
}

/** The whole analysis, as `haloc analyze --json` prints it. */
export interface ModelAnalysis {
  readonly model: {
    readonly path: string;
    readonly name: string;
    readonly fileSizeBytes: number;
    readonly irVersion: number;
    readonly opsetVersion: number;
    readonly producer: string;
    readonly batch: number;
    readonly inputs: readonly { readonly name: string; readonly shape: readonly Dim[]; readonly elemType: number }[];
    readonly outputs: readonly { readonly name: string; readonly shape: readonly Dim[] | null }[];
    readonly nodeCount: number;
    /** 'static', or 'static+runtime' when onnxruntime supplied some shapes. */
    readonly shapeInference: 'static' | 'static+runtime';
    readonly notes: readonly string[];
  };
  readonly totals: {
    readonly macs: number;
    readonly params: number;
    readonly weightBytes: number;
    readonly layers: number;
    readonly compressibleLayers: number;
    /** Layers whose MACs are unknown and not in `macs`. */
    readonly layersWithUnknownMacs: number;
  };
  readonly layers: readonly LayerAnalysis[];
}

/** Analyses a model. */
export async function analyzeModel(model: OnnxModel, settings: AnalysisSettings = {}): Promise<ModelAnalysis> {
  const inference = inferShapes(model, settings);
  const { values, unresolved } = inference;
  const notes: string[] = [];
  const runtimeResolved = new Set<number>();
  if (unresolved.size > 0 && settings.runtimeFallback !== false) {
    const unresolvedOutputs = new Set([...unresolved.keys()].flatMap((i) => model.graph.node?.[i]?.output ?? []));
    try {
      const measured = await runtimeShapes(model, inference.inputs, (model.graph.node ?? []).flatMap((n) => n.output ?? []).filter(Boolean));
      for (const [name, info] of measured) {
        const current = values.get(name);
        if (!current || !isStatic(current.dims) || unresolvedOutputs.has(name)) values.set(name, info);
      }
      for (const index of unresolved.keys()) runtimeResolved.add(index);
      notes.push(`${unresolved.size} node(s) had no static shape rule or could not be resolved statically; their shapes were measured by running the model once in onnxruntime-node`);
    } catch (error) {
      notes.push(`shapes of ${unresolved.size} node(s) are unresolved: static inference failed and the onnxruntime run failed too (${error instanceof Error ? error.message : String(error)})`);
    }
  }
  const counted = new Set<string>();
  const layers: LayerAnalysis[] = [];
  for (const index of inference.order) {
    const node = model.graph.node?.[index] ?? {};
    if (node.output?.length && node.output.every((name) => !name || model.constants.has(name))) continue;
    const inputNames = node.input ?? [];
    const inputs = inputNames.map((name) => (name ? values.get(name) : undefined));
    const outputs = (node.output ?? []).map((name) => values.get(name));
    const constantAt = (i: number): ConstTensor | undefined => model.constants.get(inputNames[i] ?? '');
    const weights = newWeights(inputNames.map((_, i) => constantAt(i)), counted);
    const params = weights.reduce((sum, w) => sum + w.elementCount, 0);
    const macCount = countMacs(node, inputs, outputs);
    if (macCount.macs === 0 && params === 0) continue;
    const verdict = assessCompressibility(node, inputs, outputs, constantAt);
    const weight = inputNames.map((_, i) => constantAt(i)).find((c, i) => c && i > 0 && isFloatType(c.dataType)) ?? constantAt(0);
    const source = unresolved.has(index) ? (runtimeResolved.has(index) ? 'runtime' : outputs[0]?.dims ? 'declared' : 'unresolved') : 'static';
    layers.push({
      name: nodeLabel(node, index),
      op: node.domain ? `${node.domain}.${node.opType ?? ''}` : (node.opType ?? ''),
      nodeIndex: index,
      inputShape: inputs[0]?.dims ?? null,
      outputShape: outputs[0]?.dims ?? null,
      weightShape: weight ? [...weight.dims] : null,
      macs: macCount.macs,
      params,
      weightBytes: weights.reduce((sum, w) => sum + byteSizeOf(w.dataType, w.elementCount), 0),
      activationBytes: activationBytes(outputs),
      compressible: verdict.compressible,
      reason: verdict.compressible ? null : verdict.reason,
      decomposition: verdict.compressible ? verdict.shape.kind : null,
      maxRank: verdict.compressible ? verdict.maxRank : null,
      breakEvenRank: verdict.compressible ? verdict.breakEvenRank : null,
      lowRankShape: verdict.compressible ? verdict.shape : null,
      shapeSource: source,
      note: layerNote(macCount.macs === null ? macCount.reason : null, unresolved.get(index), [...inputs, ...outputs]),
    });
  }
  return { model: modelSummary(model, settings, inference.inputs, values, notes, runtimeResolved.size > 0), totals: totalsOf(layers), layers };
}

/** Float constants of a node not yet counted for an earlier node (shared weights count once). */
function newWeights(constants: readonly (ConstTensor | undefined)[], counted: Set<string>): ConstTensor[] {
  const fresh: ConstTensor[] = [];
  for (const constant of constants) {
    if (!constant || !isFloatType(constant.dataType) || counted.has(constant.storageName)) continue;
    counted.add(constant.storageName);
    fresh.push(constant);
  }
  return fresh;
}

function activationBytes(outputs: readonly (ValueInfo | undefined)[]): number | null {
  let total = 0;
  for (const output of outputs) {
    const elements = staticProduct(output?.dims);
    if (!output || elements === undefined) return null;
    total += byteSizeOf(output.elemType, elements);
  }
  return total;
}

function layerNote(macsReason: string | null, unresolvedReason: string | undefined, infos: readonly (ValueInfo | undefined)[]): string | null {
  const symbols = [...new Set(infos.flatMap((info) => symbolsOf(info?.dims)))];
  if (symbols.length > 0) return `depends on unresolved input dimension(s) ${symbols.map((s) => `'${s}'`).join(', ')}: give them with --input-shape`;
  return macsReason ?? unresolvedReason ?? null;
}

function modelSummary(model: OnnxModel, settings: AnalysisSettings, inputs: readonly GraphInput[], values: Map<string, ValueInfo>, notes: string[], usedRuntime: boolean): ModelAnalysis['model'] {
  return {
    path: model.filePath,
    name: path.basename(model.filePath),
    fileSizeBytes: model.fileSizeBytes,
    irVersion: int64ToNumber(model.proto.irVersion),
    opsetVersion: model.opsetVersion,
    producer: [model.proto.producerName, model.proto.producerVersion].filter(Boolean).join(' '),
    batch: typeof inputs[0]?.dims[0] === 'number' ? inputs[0].dims[0] : (settings.batch ?? 1),
    inputs: inputs.map((i) => ({ name: i.name, shape: i.dims, elemType: i.elemType })),
    outputs: (model.graph.output ?? []).map((o) => ({ name: o.name ?? '', shape: values.get(o.name ?? '')?.dims ?? null })),
    nodeCount: model.graph.node?.length ?? 0,
    shapeInference: usedRuntime ? 'static+runtime' : 'static',
    notes,
  };
}

function totalsOf(layers: readonly LayerAnalysis[]): ModelAnalysis['totals'] {
  return {
    macs: layers.reduce((sum, l) => sum + (l.macs ?? 0), 0),
    params: layers.reduce((sum, l) => sum + l.params, 0),
    weightBytes: layers.reduce((sum, l) => sum + l.weightBytes, 0),
    layers: layers.length,
    compressibleLayers: layers.filter((l) => l.compressible).length,
    layersWithUnknownMacs: layers.filter((l) => l.macs === null).length,
  };
}

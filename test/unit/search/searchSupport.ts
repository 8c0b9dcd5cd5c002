// Helpers of the search tests: a tiny model whose best ranks are known (convA's weight is exactly
// Tucker rank 2, so factorizing it at rank >= 2 costs no error; convB's is full rank), a synthetic
// latency table that makes every factorization faster, a synthetic labelled dataset, and a fast
// search over them with light settings.
import * as os from 'node:os';
import * as path from 'node:path';
import type { ImageDataset } from '../../../engine/data/imageSet';
import { loadDataset } from '../../../engine/data/loadDataset';
import { splitIndices } from '../../../engine/data/splits';
import { analyzeModel, type ModelAnalysis } from '../../../engine/graph/analyzeModel';
import { layerKey, type LatencyTable, type LayerLatency } from '../../../engine/hardware/latencyTable';
import { float32Tensor, GraphBuilder } from '../../../engine/onnx/graphBuilder';
import { decodeOnnxModel, type OnnxModel } from '../../../engine/onnx/onnxModel';
import type { onnx } from '../../../engine/onnx/proto';
import { encodeOnnx } from '../../../engine/onnx/writeOnnx';
import { seededNormal } from '../../../engine/random';
import { fastSearch, type FastSearchOutcome, type FastSearchSettings } from '../../../engine/search/fastSearch';
import type { SearchLatency } from '../../../engine/search/searchLatency';

/** conv weight [8, 3, 3, 3] = U_out (8x2) x core (2x2x9) x U_in^T (2x3): Tucker ranks (2, 2) exactly. */
function tuckerRankTwoWeight(): Float32Array {
  const [uOut, core, uIn] = [seededNormal(16, 11), seededNormal(36, 12), seededNormal(6, 13)];
  const w = new Float32Array(8 * 3 * 9);
  for (let o = 0; o < 8; o++) for (let i = 0; i < 3; i++) for (let k = 0; k < 9; k++) {
    let sum = 0;
    for (let a = 0; a < 2; a++) for (let b = 0; b < 2; b++) sum += (uOut[o * 2 + a] ?? 0) * (core[(a * 2 + b) * 9 + k] ?? 0) * (uIn[i * 2 + b] ?? 0);
    w[(o * 3 + i) * 9 + k] = 0.3 * sum;
  }
  return w;
}

/**
 * x [N, 3, 8, 8] -> convA (3 -> 8, 3x3, pad 1, exactly Tucker rank 2) -> Relu -> convB (8 -> 8, 3x3,
 * pad 1, full rank) -> Relu -> GlobalAveragePool -> Flatten -> fc (Gemm 8 -> 4, transB, bias).
 */
export function knownAnswerModelProto(): onnx.ModelProto {
  const b = new GraphBuilder({ name: 'known_answer', opset: 13 });
  b.input('x', ['N', 3, 8, 8]);
  b.initializer(float32Tensor('convA.w', [8, 3, 3, 3], tuckerRankTwoWeight()));
  b.initializer(float32Tensor('convA.b', [8], seededNormal(8, 14).map((v) => 0.1 * v)));
  b.initializer(float32Tensor('convB.w', [8, 8, 3, 3], seededNormal(576, 15).map((v) => 0.15 * v)));
  b.initializer(float32Tensor('convB.b', [8], seededNormal(8, 16).map((v) => 0.1 * v)));
  b.initializer(float32Tensor('fc.w', [4, 8], seededNormal(32, 17).map((v) => 0.5 * v)));
  b.initializer(float32Tensor('fc.b', [4], new Float32Array(4)));
  b.node('Conv', ['x', 'convA.w', 'convA.b'], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, { name: 'convA', outputs: ['a'] });
  b.node('Relu', ['a'], {}, { name: 'reluA', outputs: ['a_relu'] });
  b.node('Conv', ['a_relu', 'convB.w', 'convB.b'], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, { name: 'convB', outputs: ['b'] });
  b.node('Relu', ['b'], {}, { name: 'reluB', outputs: ['b_relu'] });
  b.node('GlobalAveragePool', ['b_relu'], {}, { name: 'gap', outputs: ['pooled'] });
  b.node('Flatten', ['pooled'], {}, { name: 'flatten', outputs: ['flat'] });
  b.node('Gemm', ['flat', 'fc.w', 'fc.b'], { transB: 1 }, { name: 'fc', outputs: ['logits'] });
  b.output('logits', ['N', 4]);
  return b.build();
}

/** The known-answer model decoded as if read from `filePath`. */
export function knownAnswerModel(filePath = path.join(os.tmpdir(), 'known_answer.onnx')): OnnxModel {
  return decodeOnnxModel(encodeOnnx(knownAnswerModelProto()), filePath);
}

/** Latency entries per layer: every candidate rank is faster than the original, and lower ranks are faster. */
const entries: Readonly<Record<string, LayerLatency>> = {
  convA: { op: 'Conv', originalMs: 1, granularity: 2, ranks: [{ rank: 2, ms: 0.3 }, { rank: 4, ms: 0.5 }, { rank: 6, ms: 0.7 }, { rank: 8, ms: 0.9 }] },
  convB: { op: 'Conv', originalMs: 1, granularity: 2, ranks: [{ rank: 2, ms: 0.3 }, { rank: 4, ms: 0.5 }, { rank: 6, ms: 0.7 }, { rank: 8, ms: 0.9 }] },
  fc: { op: 'Gemm', originalMs: 0.1, granularity: 2, ranks: [{ rank: 2, ms: 0.06 }, { rank: 4, ms: 0.08 }] },
};

/** A synthetic measured-table latency model of the known-answer model. */
export function knownAnswerLatency(model: OnnxModel, analysis: ModelAnalysis, kind: LatencyTable['kind'] = 'measured'): SearchLatency {
  const layerKeys: Record<string, string> = {};
  const layers: Record<string, LayerLatency> = {};
  for (const layer of analysis.layers.filter((l) => l.compressible)) {
    const key = layerKey(model, layer);
    layerKeys[layer.name] = key;
    layers[key] = entries[layer.name] as LayerLatency;
  }
  const table: LatencyTable = { format: 'haloc-latency-table', version: 1, kind, source: 'synthetic, written by a unit test', createdAt: '2024-01-01T00:00:00.000Z', callOverheadMs: 0.01, granularity: 2, layers };
  return { target: 'synthetic', table, layerKeys, kind: kind === 'estimated' ? 'estimated' : 'measured-table', untouchedMs: 0.2, notes: ['synthetic table'] };
}

/** 240 synthetic labelled 8x8 RGB images of 4 classes. */
export function knownAnswerData(): ImageDataset {
  return loadDataset({ synthetic: { count: 240, height: 8, width: 8, channels: 3, classes: 4, seed: 5, noise: 40 } }, { scale: 1 / 255, mean: [0.5], std: [0.25] }).dataset;
}

/** The analysed model, its latency, data and a 64-image calibration split. */
export async function knownAnswerCase(): Promise<{ model: OnnxModel; analysis: ModelAnalysis; latency: SearchLatency; data: ImageDataset; calibration: Int32Array; test: Int32Array }> {
  const model = knownAnswerModel();
  const analysis = await analyzeModel(model, { batch: 1 });
  const data = knownAnswerData();
  const split = splitIndices(data.count, data.labels, { calibration: 64 / data.count, test: 1 - 64 / data.count }, 3);
  return { model, analysis, latency: knownAnswerLatency(model, analysis), data, calibration: split.calibration, test: split.test };
}

/** A fast search of the known-answer case with light settings; `overrides` replace any of them. */
export async function searchKnownAnswer(overrides: Partial<FastSearchSettings> = {}): Promise<FastSearchOutcome> {
  const c = await knownAnswerCase();
  return fastSearch({
    model: c.model,
    analysis: c.analysis,
    latency: c.latency,
    calibration: { dataset: c.data, indices: c.calibration, source: 'synthetic calibration split' },
    test: { dataset: c.data, indices: c.test, source: 'synthetic test split', heldOut: true },
    sensitivityImages: 32,
    frontPoints: 6,
    uniformFractions: [0.5],
    energyFractions: [0.9],
    flopsPoints: 2,
    threads: 1,
    ...overrides,
  });
}

// Helpers of the hardware tests: tiny models built with the engine's GraphBuilder (cheap to time on a
// shared 2-core machine), their analyses, light table settings, and synthetic latency tables.
import * as os from 'node:os';
import * as path from 'node:path';
import { analyzeModel, type ModelAnalysis } from '../../../engine/graph/analyzeModel';
import type { TableSettings } from '../../../engine/hardware/buildLatencyTable';
import type { LatencyTable, LayerLatency } from '../../../engine/hardware/latencyTable';
import type { TimingSettings } from '../../../engine/hardware/timeSession';
import { float32Tensor, GraphBuilder } from '../../../engine/onnx/graphBuilder';
import { decodeOnnxModel, type OnnxModel } from '../../../engine/onnx/onnxModel';
import type { onnx } from '../../../engine/onnx/proto';
import { encodeOnnx } from '../../../engine/onnx/writeOnnx';
import { randomFloats } from '../testSupport';

function weight(b: GraphBuilder, name: string, dims: readonly number[], seed: number): string {
  const values = randomFloats(dims.reduce((p, d) => p * d, 1), seed).map((v) => 0.1 * v);
  return b.initializer(float32Tensor(name, dims, values));
}

/**
 * Model A: x [N, 8, 8, 8] -> conv1 (8 -> 8, 3x3, pad 1) -> Relu -> conv2 (same shape as conv1) -> Relu
 * -> Flatten -> fc (Gemm 512 -> 10, transB, bias). Three compressible layers, two layer shapes.
 */
export function twinConvModel(): onnx.ModelProto {
  const b = new GraphBuilder({ name: 'twinConv' });
  b.input('x', ['N', 8, 8, 8]);
  const conv = { kernel_shape: [3, 3], pads: [1, 1, 1, 1] };
  b.node('Conv', ['x', weight(b, 'conv1.w', [8, 8, 3, 3], 1)], conv, { name: 'conv1', outputs: ['a'] });
  b.node('Relu', ['a'], {}, { name: 'relu1', outputs: ['a_relu'] });
  b.node('Conv', ['a_relu', weight(b, 'conv2.w', [8, 8, 3, 3], 2)], conv, { name: 'conv2', outputs: ['b'] });
  b.node('Relu', ['b'], {}, { name: 'relu2', outputs: ['b_relu'] });
  b.node('Flatten', ['b_relu'], {}, { name: 'flatten', outputs: ['flat'] });
  b.node('Gemm', ['flat', weight(b, 'fc.w', [10, 512], 3), weight(b, 'fc.b', [10], 4)], { transB: 1 }, { name: 'fc', outputs: ['logits'] });
  b.output('logits', ['N', 10]);
  return b.build();
}

/**
 * Model B: shares conv1's shape with model A (same input, weight and attributes), then a new strided
 * conv (8 -> 16, stride 2) and a new Gemm (256 -> 12): one shape in common, two new ones.
 */
export function sharedShapeModel(): onnx.ModelProto {
  const b = new GraphBuilder({ name: 'sharedShape' });
  b.input('x', ['N', 8, 8, 8]);
  b.node('Conv', ['x', weight(b, 'same.w', [8, 8, 3, 3], 5)], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, { name: 'same', outputs: ['a'] });
  b.node('Relu', ['a'], {}, { name: 'relu', outputs: ['a_relu'] });
  b.node('Conv', ['a_relu', weight(b, 'down.w', [16, 8, 3, 3], 6)], { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [2, 2] }, { name: 'down', outputs: ['d'] });
  b.node('Flatten', ['d'], {}, { name: 'flatten', outputs: ['flat'] });
  b.node('Gemm', ['flat', weight(b, 'head.w', [12, 256], 7)], { transB: 1 }, { name: 'head', outputs: ['logits'] });
  b.output('logits', ['N', 12]);
  return b.build();
}

/** A decoded model and its analysis at a batch size. */
export interface Analyzed {
  readonly model: OnnxModel;
  readonly analysis: ModelAnalysis;
}

/** Decodes and analyzes a built model at `batch`. */
export async function analyzed(proto: onnx.ModelProto, batch = 1): Promise<Analyzed> {
  const model = decodeOnnxModel(encodeOnnx(proto), path.join(os.tmpdir(), `${proto.graph?.name ?? 'model'}.onnx`));
  return { model, analysis: await analyzeModel(model, { batch }) };
}

/** Table settings that keep a real build tiny: one thread, a given step (no sweep), two ranks per layer. */
export function lightTableSettings(cacheDir: string | null, overrides: Partial<TableSettings> = {}): TableSettings {
  // busyCpuShare 0: entries are cached even when the tests share the machine (the busy case has its own test)
  return { threads: 1, granularity: 4, maxRanksPerLayer: 2, cacheDir, busyCpuShare: 0, ...overrides };
}

/** Timing settings for whole-model checks: one thread, few runs. */
export const lightTiming: TimingSettings = { threads: 1, provider: 'cpu', warmupRuns: 1, minRuns: 3, minTotalMs: 2, maxRuns: 20 };

/** A synthetic table holding the given entries. */
export function syntheticTable(layers: Readonly<Record<string, LayerLatency>>, kind: LatencyTable['kind'] = 'measured'): LatencyTable {
  return {
    format: 'haloc-latency-table',
    version: 1,
    kind,
    source: 'synthetic, written by a unit test',
    createdAt: '2024-01-01T00:00:00.000Z',
    callOverheadMs: 0.01,
    granularity: 4,
    layers,
  };
}

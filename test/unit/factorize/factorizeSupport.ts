// Helpers of the factorize tests: running models in onnxruntime-node ourselves (not only trusting the
// compress report), the low-rank MAC formulas written out by hand, byte checksums, and generated
// models (CIFAR ResNet-56 and a Gemm/MatMul MLP) built with the engine's GraphBuilder.
import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as OrtModule from 'onnxruntime-node';
import type { CompressReport } from '../../../engine/factorize/compressModel';
import { analyzeModel, type LayerAnalysis, type ModelAnalysis } from '../../../engine/graph/analyzeModel';
import { float32Tensor, GraphBuilder, int64Tensor } from '../../../engine/onnx/graphBuilder';
import { readOnnxModel } from '../../../engine/onnx/onnxModel';
import { int64ToNumber, type onnx } from '../../../engine/onnx/proto';
import { writeOnnxFile } from '../../../engine/onnx/writeOnnx';
import { randomFloats, runHaloc } from '../testSupport';

type Ort = typeof OrtModule;

/** Outputs of one run, by output name, in the session's output order. */
export type RunOutputs = { readonly name: string; readonly dims: readonly number[]; readonly data: Float32Array }[];

/** Input dims of a model file as declared, symbolic dims set to `batch`. */
export function declaredInputDims(file: string, batch = 2): Record<string, number[]> {
  const model = readOnnxModel(file);
  const initializers = new Set((model.graph.initializer ?? []).map((t) => t.name));
  const dims: Record<string, number[]> = {};
  for (const input of model.graph.input ?? []) {
    if (initializers.has(input.name)) continue;
    dims[input.name ?? ''] = (input.type?.tensorType?.shape?.dim ?? []).map((d) => (d.dimParam || d.dimValue === undefined || d.dimValue === null ? batch : int64ToNumber(d.dimValue)));
  }
  return dims;
}

/** Deterministic inputs in [-1, 1) of the given dims. */
export function sampleInputs(dims: Readonly<Record<string, readonly number[]>>, seed = 7): Record<string, { dims: number[]; data: Float32Array }> {
  const feeds: Record<string, { dims: number[]; data: Float32Array }> = {};
  Object.entries(dims).forEach(([name, d], i) => (feeds[name] = { dims: [...d], data: randomFloats(d.reduce((p, x) => p * x, 1), seed + 31 * i) }));
  return feeds;
}

/** Runs a model (file or bytes) in onnxruntime-node on the given inputs; the session is released. */
export async function runModel(model: string | Uint8Array, inputs: Readonly<Record<string, { dims: number[]; data: Float32Array }>>): Promise<RunOutputs> {
  const ort: Ort = await import('onnxruntime-node');
  const session = typeof model === 'string' ? await ort.InferenceSession.create(model, { logSeverityLevel: 3 }) : await ort.InferenceSession.create(model, { logSeverityLevel: 3 });
  try {
    const feeds: Record<string, InstanceType<Ort['Tensor']>> = {};
    for (const [name, value] of Object.entries(inputs)) feeds[name] = new ort.Tensor('float32', value.data, value.dims);
    const results = await session.run(feeds);
    return session.outputNames.map((name) => {
      const tensor = results[name];
      assert.ok(tensor, `no output '${name}'`);
      return { name, dims: [...tensor.dims], data: tensor.data as Float32Array };
    });
  } finally {
    await session.release();
  }
}

/** ||b - a|| / ||a|| over all outputs (same names and dims asserted). */
export function relativeDifference(a: RunOutputs, b: RunOutputs): number {
  assert.deepEqual(b.map((o) => o.name), a.map((o) => o.name), 'output names');
  let diff = 0;
  let ref = 0;
  a.forEach((x, i) => {
    const y = b[i] as RunOutputs[number];
    assert.deepEqual(y.dims, x.dims, `dims of output ${x.name}`);
    for (let j = 0; j < x.data.length; j++) {
      const xv = x.data[j] ?? 0;
      diff += ((y.data[j] ?? 0) - xv) ** 2;
      ref += xv * xv;
    }
  });
  assert.ok(ref > 0, 'the reference output is all zeros: the comparison would prove nothing');
  return Math.sqrt(diff / ref);
}

/** Runs both models on the same sample inputs and returns their relative output difference. */
export async function measuredDifference(original: string, rewritten: string, batch = 2): Promise<number> {
  const inputs = sampleInputs(declaredInputDims(original, batch));
  return relativeDifference(await runModel(original, inputs), await runModel(rewritten, inputs));
}

/** Asserts that a model file loads and runs, with finite outputs of the original's dims. */
export async function assertRuns(original: string, rewritten: string, batch = 2): Promise<void> {
  const inputs = sampleInputs(declaredInputDims(original, batch));
  const [a, b] = [await runModel(original, inputs), await runModel(rewritten, inputs)];
  assert.deepEqual(b.map((o) => [o.name, o.dims]), a.map((o) => [o.name, o.dims]), 'outputs of the rewritten model');
  for (const o of b) assert.ok(o.data.every(Number.isFinite), `output ${o.name} has non-finite values`);
}

const product = (dims: readonly (number | string)[]): number => dims.reduce<number>((p, d) => {
  assert.equal(typeof d, 'number', `a symbolic dim in ${JSON.stringify(dims)}`);
  return p * (d as number);
}, 1);

/** The layer's factorization written out from its shapes: Tucker-2 for k x k convs, SVD otherwise. */
export interface HandShape {
  readonly kind: 'tucker2' | 'svd';
  /** Tucker-2: Cin, Cout, kernel elements, N*H_in*W_in, N*H_out*W_out. SVD: M, K (in), N (out). */
  readonly cin: number;
  readonly cout: number;
  readonly kk: number;
  readonly inPositions: number;
  readonly outPositions: number;
}

/** Reads the factorization shape of a layer from the original model's node and inferred shapes. */
export function handShape(layer: LayerAnalysis, node: onnx.INodeProto): HandShape {
  const w = layer.weightShape ?? [];
  const input = layer.inputShape ?? [];
  const output = layer.outputShape ?? [];
  const attr = (name: string): number => int64ToNumber(node.attribute?.find((a) => a.name === name)?.i ?? 0);
  if (layer.op === 'Conv') {
    const [cout = 0, cin = 0, ...kernel] = w;
    const kk = kernel.reduce((p, d) => p * d, 1);
    const outPositions = product(output) / cout;
    if (kk === 1) return { kind: 'svd', cin, cout, kk: 1, inPositions: outPositions, outPositions };
    return { kind: 'tucker2', cin, cout, kk, inPositions: product(input) / cin, outPositions };
  }
  if (layer.op === 'Gemm') {
    const transB = attr('transB') === 1;
    const [k, n] = transB ? [w[1] ?? 0, w[0] ?? 0] : [w[0] ?? 0, w[1] ?? 0];
    const m = product(output) / n;
    return { kind: 'svd', cin: k, cout: n, kk: 1, inPositions: m, outPositions: m };
  }
  assert.equal(layer.op, 'MatMul');
  const [k = 0, n = 0] = w;
  const m = product(output) / n;
  return { kind: 'svd', cin: k, cout: n, kk: 1, inPositions: m, outPositions: m };
}

/** The smallest equal rank at which the factorization is exact. */
export function handMaxRank(s: HandShape): number {
  if (s.kind === 'svd') return Math.min(s.cin, s.cout);
  return Math.max(Math.min(s.cin, s.cout * s.kk), Math.min(s.cout, s.cin * s.kk));
}

/** Tucker-2: N*H_in*W_in*Cin*r_in + N*H_out*W_out*(r_in*r_out*k*k + r_out*Cout), ranks clipped per mode; SVD: M*r*(K+N). */
export function handMacs(s: HandShape, rank: number): number {
  if (s.kind === 'svd') return s.inPositions * rank * (s.cin + s.cout);
  const rIn = Math.min(rank, s.cin);
  const rOut = Math.min(rank, s.cout);
  return s.inPositions * s.cin * rIn + s.outPositions * (rIn * rOut * s.kk + rOut * s.cout);
}

/** Original MACs of the layer from its shape. */
export function handFullMacs(s: HandShape): number {
  return s.kind === 'svd' ? s.inPositions * s.cin * s.cout : s.outPositions * s.cin * s.cout * s.kk;
}

/**
 * Checks a reduced-rank compression against the formulas: for each factorized layer the rank is
 * max(1, round(fraction x max rank)); the MACs of the written file, counted by analyzeModel on that file
 * (an independent path from the report), equal the original's minus what the formula saves, per layer
 * (the new nodes `<layer>/...`) and in total, and equal report.totals.macsAfter.
 */
export async function checkMacsAgainstFormula(originalFile: string, report: CompressReport, fraction: number): Promise<{ expectedMacs: number; layers: number }> {
  const original = readOnnxModel(originalFile);
  const before = await analyzeModel(original);
  const after: ModelAnalysis = await analyzeModel(readOnnxModel(report.output));
  let expected = before.totals.macs;
  let factorized = 0;
  for (const layer of before.layers.filter((l) => l.compressible)) {
    const node = original.graph.node?.[layer.nodeIndex] ?? {};
    const shape = handShape(layer, node);
    assert.equal(layer.macs, handFullMacs(shape), `${layer.name}: original MACs`);
    const maxRank = handMaxRank(shape);
    assert.equal(layer.maxRank, maxRank, `${layer.name}: max rank`);
    const rank = Math.max(1, Math.round(fraction * maxRank));
    const reported = report.layers.find((l) => l.name === layer.name);
    assert.ok(reported, `report has no layer ${layer.name}`);
    assert.equal(reported.rank, rank, `${layer.name}: rank at ${fraction} of ${maxRank}`);
    const macs = handMacs(shape, rank);
    const prefix = `${node.name || node.output?.[0] || ''}/`;
    const newLayers = after.layers.filter((l) => l.name.startsWith(prefix));
    assert.equal(newLayers.length, shape.kind === 'tucker2' ? 3 : 2, `${layer.name}: nodes of the rewrite in the written file (${newLayers.map((l) => l.name).join(', ')})`);
    assert.equal(newLayers.reduce((s, l) => s + (l.macs ?? NaN), 0), macs, `${layer.name}: MACs of its rewrite in the written file (${shape.kind}, rank ${rank})`);
    assert.equal(reported.macsAfter, macs, `${layer.name}: report macsAfter`);
    expected += macs - handFullMacs(shape);
    factorized++;
  }
  assert.equal(after.totals.layersWithUnknownMacs, 0, 'layers with unknown MACs in the written file');
  assert.equal(after.totals.macs, expected, 'total MACs of the written file (analyzeModel) vs the formula');
  assert.equal(report.totals.macsAfter, expected, 'report.totals.macsAfter vs the formula');
  assert.equal(report.totals.macsBefore, before.totals.macs, 'report.totals.macsBefore');
  assert.equal(report.totals.factorizedLayers, factorized);
  assert.equal(after.totals.params, report.totals.paramsAfter, 'parameters of the written file (analyzeModel) vs report.totals.paramsAfter');
  return { expectedMacs: expected, layers: factorized };
}

/** Runs `haloc compress <argv> --json` and returns the parsed report (exit code 0 asserted). */
export async function compressJson(argv: readonly string[]): Promise<CompressReport> {
  const result = await runHaloc(['compress', ...argv, '--json']);
  assert.equal(result.code, 0, `haloc compress ${argv.join(' ')}: exit ${result.code}: ${result.stderr}`);
  assert.equal(result.stderr, '', 'nothing on stderr');
  return JSON.parse(result.stdout) as CompressReport;
}

/** SHA-256 of a file's bytes. */
export function sha256(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** Names in a folder, hidden temporary files included. */
export function folderEntries(dir: string): string[] {
  return fs.readdirSync(dir).sort();
}

/** Asserts that a folder holds exactly `expected` (no partial *.tmp, no output file). */
export function assertFolderHolds(dir: string, expected: readonly string[], what: string): void {
  const entries = folderEntries(dir);
  assert.deepEqual(entries, [...expected].sort(), `${what}: the folder must hold only ${expected.join(', ')}; found ${entries.join(', ')}`);
  assert.ok(!entries.some((e) => e.endsWith('.tmp')), `${what}: partial *.tmp left behind`);
}

let weightSeed = 100;
function weight(builder: GraphBuilder, name: string, dims: readonly number[], scale: number): string {
  const values = randomFloats(dims.reduce((p, d) => p * d, 1), weightSeed++).map((v) => v * scale);
  return builder.initializer(float32Tensor(name, dims, values));
}

/**
 * CIFAR ResNet of 6n+2 layers (ResNet-56 for n = 9): conv1 3->16, three stages of n basic blocks
 * (16/32/64 channels), convs without bias followed by unfused BatchNormalization, option-A shortcuts
 * (strided Slice, then Pad with zero channels), global average pool, Flatten, Gemm(transB) to 10
 * classes. Input [N, 3, 32, 32] with a symbolic batch.
 */
export function cifarResNet(n: number): onnx.ModelProto {
  const b = new GraphBuilder({ name: `resnet${6 * n + 2}` });
  b.input('input', ['N', 3, 32, 32]);
  const conv = (x: string, cin: number, cout: number, stride: number, name: string): string => {
    const w = weight(b, `${name}.weight`, [cout, cin, 3, 3], Math.sqrt(2 / (9 * cin)));
    return b.node('Conv', [x, w], { kernel_shape: [3, 3], strides: [stride, stride], pads: [1, 1, 1, 1] }, { name })[0] ?? '';
  };
  const bn = (x: string, c: number, name: string): string => {
    const params = ['scale', 'bias', 'mean'].map((p, i) => weight(b, `${name}.${p}`, [c], i === 0 ? 0.5 : 0.1));
    const variance = b.initializer(float32Tensor(`${name}.var`, [c], randomFloats(c, weightSeed++).map((v) => 1 + 0.4 * v)));
    return b.node('BatchNormalization', [x, ...params, variance], { epsilon: { float: 1e-5 } }, { name })[0] ?? '';
  };
  const relu = (x: string): string => b.node('Relu', [x])[0] ?? '';
  let x = relu(bn(conv('input', 3, 16, 1, 'conv1'), 16, 'bn1'));
  let cin = 16;
  [16, 32, 64].forEach((c, stage) => {
    for (let block = 0; block < n; block++) {
      const p = `layer${stage + 1}.${block}`;
      const stride = stage > 0 && block === 0 ? 2 : 1;
      let h = relu(bn(conv(x, cin, c, stride, `${p}.conv1`), c, `${p}.bn1`));
      h = bn(conv(h, c, c, 1, `${p}.conv2`), c, `${p}.bn2`);
      let shortcut = x;
      if (stride === 2) {
        const ints = (name: string, values: number[]): string => b.initializer(int64Tensor(`${p}.${name}`, [values.length], values));
        const sliced = b.node('Slice', [x, ints('starts', [0, 0]), ints('ends', [2 ** 31 - 1, 2 ** 31 - 1]), ints('axes', [2, 3]), ints('steps', [2, 2])], {}, { name: `${p}.slice` })[0] ?? '';
        shortcut = b.node('Pad', [sliced, ints('pads', [0, c / 4, 0, 0, 0, c / 4, 0, 0])], { mode: 'constant' }, { name: `${p}.pad` })[0] ?? '';
      }
      x = relu(b.node('Add', [h, shortcut], {}, { name: `${p}.add` })[0] ?? '');
      cin = c;
    }
  });
  const pooled = b.node('GlobalAveragePool', [x], {}, { name: 'gap' })[0] ?? '';
  const flat = b.node('Flatten', [pooled], {}, { name: 'flatten' })[0] ?? '';
  b.node('Gemm', [flat, weight(b, 'fc.weight', [10, 64], 0.2), weight(b, 'fc.bias', [10], 0.1)], { transB: 1 }, { name: 'fc', outputs: ['logits'] });
  b.output('logits', ['N', 10]);
  return b.build();
}

/**
 * A token MLP and a Gemm head: MatMul [N, 8, 64] x [64, 256] + bias, Relu, MatMul x [256, 64],
 * ReduceMean over tokens, Gemm(transB) 64 -> 128 + bias, Relu, Gemm 128 -> 96 + bias (alpha 0.5,
 * beta 2), Relu, Gemm(transB) 96 -> 10 without bias.
 */
export function mlpModel(): onnx.ModelProto {
  const b = new GraphBuilder({ name: 'mlp' });
  b.input('tokens', ['N', 8, 64]);
  let x = b.node('MatMul', ['tokens', weight(b, 'mlp.w1', [64, 256], 0.15)], {}, { name: 'mlp.fc1' })[0] ?? '';
  x = b.node('Relu', [b.node('Add', [x, weight(b, 'mlp.b1', [256], 0.1)], {}, { name: 'mlp.bias1' })[0] ?? ''])[0] ?? '';
  x = b.node('MatMul', [x, weight(b, 'mlp.w2', [256, 64], 0.1)], {}, { name: 'mlp.fc2' })[0] ?? '';
  x = b.node('ReduceMean', [x], { axes: [1], keepdims: 0 }, { name: 'pool' })[0] ?? '';
  x = b.node('Relu', [b.node('Gemm', [x, weight(b, 'head.w1', [128, 64], 0.2), weight(b, 'head.b1', [128], 0.1)], { transB: 1 }, { name: 'head.fc1' })[0] ?? ''])[0] ?? '';
  x = b.node('Relu', [b.node('Gemm', [x, weight(b, 'head.w2', [128, 96], 0.15), weight(b, 'head.b2', [96], 0.1)], { alpha: { float: 0.5 }, beta: { float: 2 } }, { name: 'head.fc2' })[0] ?? ''])[0] ?? '';
  b.node('Gemm', [x, weight(b, 'head.w3', [10, 96], 0.2)], { transB: 1 }, { name: 'head.fc3', outputs: ['logits'] });
  b.output('logits', ['N', 10]);
  return b.build();
}

/** Writes a built model to `dir/name` and returns the path. */
export function writeModel(model: onnx.IModelProto, dir: string, name: string, externalDataMinBytes?: number): string {
  const file = path.join(dir, name);
  writeOnnxFile(model, file, externalDataMinBytes === undefined ? {} : { externalDataMinBytes });
  return file;
}

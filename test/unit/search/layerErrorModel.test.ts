// The fast search's error model against the rewrite itself: for every generated layer variant (Gemm
// with each transA / transB / C / alpha / beta, MatMul 2-D and batched, 1x1 convs with strides and
// pads, k x k convs strided / padded / dilated / auto_pad / 1-D) and several ranks at once (one below
// the smaller channel count, one between the two for Tucker-2's per-mode clipping, full), the error
// model built from the largest rank's factors gives, per rank, the same sum of squared differences and
// per-channel sums of differences as the model rewritten at that rank, both run in onnxruntime-node.
import * as assert from 'node:assert/strict';
import { openFedSession } from '../../../engine/evaluate/fedSession';
import { factorsAtRank, layerBasis } from '../../../engine/factorize/layerBasis';
import { rewriteModel } from '../../../engine/factorize/rewriteModel';
import { analyzeModel, type LayerAnalysis } from '../../../engine/graph/analyzeModel';
import { readOnnxModel, type OnnxModel } from '../../../engine/onnx/onnxModel';
import { encodeOnnx } from '../../../engine/onnx/writeOnnx';
import { errorModelElements, errorOutputs, layerErrorModel } from '../../../engine/search/layerErrorModel';
import { declaredInputDims, runModel, sampleInputs, writeModel, type RunOutputs } from '../factorize/factorizeSupport';
import { gemmModel, matMulModel, pointwiseModel, spatialModel, type GeneratedLayers } from '../factorize/generatedLayerModels';
import { makeTempDir, removeDir } from '../testSupport';

const cases: [string, () => GeneratedLayers][] = [
  ...[0, 1].flatMap((transA) => [0, 1].map((transB): [string, () => GeneratedLayers] => [`Gemm transA=${transA} transB=${transB} x C x alpha x beta`, () => gemmModel(transA, transB)])),
  ['Gemm at opset 9 (C required)', () => gemmModel(1, 0, 9)],
  ['MatMul 2-D and batched 3-D', matMulModel],
  ['1x1 convs (SVD) with strides and pads', pointwiseModel],
  ['k x k convs (Tucker-2), every padding / stride / dilation variant, 1-D', spatialModel],
];

/** Per rank: the sum over everything of D^2, and the per-channel sums of D (D = rewritten - original). */
interface Sums {
  readonly squares: number[];
  readonly perChannel: Float64Array[];
  readonly outputSquares: number;
}

/** The channel of flat index i of an output of dims `dims` (axis 1, or the last axis for MatMul). */
function channelOf(i: number, dims: readonly number[], matMul: boolean): number {
  if (matMul) return i % dims[dims.length - 1]!;
  const inner = dims.slice(2).reduce((p, d) => p * d, 1);
  return Math.floor(i / inner) % dims[1]!;
}

async function rewrittenSums(model: OnnxModel, layer: LayerAnalysis, ranks: readonly number[], inputs: ReturnType<typeof sampleInputs>, original: RunOutputs): Promise<Sums> {
  const output = model.graph.node?.[layer.nodeIndex]?.output?.[0] ?? '';
  const reference = original.find((o) => o.name === output);
  assert.ok(reference, `no output ${output}`);
  const basis = await layerBasis(model, layer);
  const channels = layer.op === 'MatMul' ? reference.dims[reference.dims.length - 1]! : reference.dims[1]!;
  const squares: number[] = [];
  const perChannel: Float64Array[] = [];
  for (const rank of ranks) {
    const rewritten = rewriteModel(model, [{ layer, factors: await factorsAtRank(basis, rank, 0) }]);
    const outputs = await runModel(encodeOnnx(rewritten), inputs);
    const y = outputs.find((o) => o.name === output)!.data;
    const sums = new Float64Array(channels);
    let sq = 0;
    for (let i = 0; i < y.length; i++) {
      const d = y[i]! - reference.data[i]!;
      sq += d * d;
      sums[channelOf(i, reference.dims, layer.op === 'MatMul')]! += d;
    }
    squares.push(sq);
    perChannel.push(sums);
  }
  return { squares, perChannel, outputSquares: reference.data.reduce((s, v) => s + v * v, 0) };
}

async function errorModelSums(model: OnnxModel, layer: LayerAnalysis, ranks: readonly number[], inputs: ReturnType<typeof sampleInputs>, original: RunOutputs): Promise<Sums> {
  const ort = await import('onnxruntime-node');
  const basis = await layerBasis(model, layer);
  const built = layerErrorModel(model, layer, await factorsAtRank(basis, ranks[ranks.length - 1]!, 0), ranks);
  const session = await openFedSession({ proto: built.proto, constants: new Map() }, `error model of ${layer.name}`, 1, { memoryArena: false, feedBytes: 1 });
  try {
    const node = model.graph.node?.[layer.nodeIndex];
    const x = inputs[node?.input?.[0] ?? '']!;
    const y = original.find((o) => o.name === node?.output?.[0])!;
    const out = await session.run({ x: new ort.Tensor('float32', x.data, x.dims), y: new ort.Tensor('float32', y.data, [...y.dims]) });
    const sumD = out[errorOutputs.sumD]!.data as Float32Array;
    const sumD2 = out[errorOutputs.sumD2]!.data as Float32Array;
    const c = built.channels;
    assert.equal(sumD.length, ranks.length * c);
    return {
      squares: ranks.map((_, k) => sumD2.subarray(k * c, (k + 1) * c).reduce((s, v) => s + v, 0)),
      perChannel: ranks.map((_, k) => Float64Array.from(sumD.subarray(k * c, (k + 1) * c))),
      outputSquares: (out[errorOutputs.sumY2]!.data as Float32Array)[0]!,
    };
  } finally {
    await session.release();
  }
}

/** Ranks that exercise the shared factors: 1, one in the middle, one between the channel counts (Tucker-2), the largest. */
function ranksFor(layer: LayerAnalysis): number[] {
  const shape = layer.lowRankShape!;
  const [small, large] = shape.kind === 'svd' ? [Math.min(shape.inFeatures, shape.outFeatures), Math.min(shape.inFeatures, shape.outFeatures)] : [Math.min(shape.inChannels, shape.outChannels), Math.max(shape.inChannels, shape.outChannels)];
  return [...new Set([1, Math.ceil(small / 2), small - 1, Math.ceil((small + large) / 2), large])].filter((r) => r >= 1).sort((a, b) => a - b);
}

describe('search: the layer error model computes each rank as the rewrite does', function () {
  this.timeout(120000);
  let dir: string | undefined;
  before(() => (dir = makeTempDir('haloc-error-model-')));
  after(() => removeDir(dir));

  cases.forEach(([title, build], index) => {
    it(`${title}: D^2 and per-channel D per rank equal the rewritten model's`, async () => {
      const { model: proto, layers } = build();
      const file = writeModel(proto, dir ?? '', `case${index}.onnx`);
      const model = readOnnxModel(file);
      const analysis = await analyzeModel(model, { batch: 3 });
      const inputs = sampleInputs(declaredInputDims(file, 3), 70 + index);
      const original = await runModel(file, inputs);
      for (const name of layers) {
        const layer = analysis.layers.find((l) => l.name === name && l.compressible);
        assert.ok(layer, `${name} is compressible`);
        const ranks = ranksFor(layer);
        const [expected, measured] = [await rewrittenSums(model, layer, ranks, inputs, original), await errorModelSums(model, layer, ranks, inputs, original)];
        assert.ok(Math.abs(measured.outputSquares - expected.outputSquares) <= 1e-5 * expected.outputSquares, `${name}: sum of Y^2 ${measured.outputSquares} against ${expected.outputSquares}`);
        // float32 rounding of Y (~1e-7 relative) bounds what either side can resolve at full rank
        const floor = 1e-9 * expected.outputSquares;
        ranks.forEach((rank, k) => {
          const [m, e] = [measured.squares[k]!, expected.squares[k]!];
          assert.ok(Math.abs(m - e) <= 1e-3 * e + floor, `${name} rank ${rank}: sum of D^2 ${m} against the rewrite's ${e}`);
          const scale = Math.sqrt(expected.outputSquares);
          measured.perChannel[k]!.forEach((v, c) => assert.ok(Math.abs(v - expected.perChannel[k]![c]!) <= 1e-3 * Math.abs(expected.perChannel[k]![c]!) + 1e-5 * scale, `${name} rank ${rank} channel ${c}: sum of D ${v} against ${expected.perChannel[k]![c]}`));
        });
        assert.ok(measured.squares[0]! > 1e-6 * expected.outputSquares, `${name}: rank 1 has an error`);
        // the model holds the largest rank's factors, not a weight change per rank
        const weightElements = (layer.weightShape ?? []).reduce((p, d) => p * d, 1);
        assert.ok(errorModelElements(layer, ranks) < (ranks.length + 1) * weightElements, `${name}: ${errorModelElements(layer, ranks)} elements`);
      }
    });
  });
});

// Generated models, one graph output per layer so that every variant is compared on its own: Gemm
// with every transA / transB / C (absent, [N], [M, N]) / alpha / beta combination (and at opsets 9
// and 10, where C is required), MatMul with a
// constant weight on 2-D and batched 3-D inputs, 1x1 convs (SVD; stride 2 and pads, no bias), and
// k x k convs (Tucker-2) that are strided, padded (asymmetric too), dilated, auto_pad SAME_UPPER /
// SAME_LOWER / VALID, non-square, without bias, 1-D. At full rank each output equals the original's
// (< 1e-4 relative, both models run here in onnxruntime-node); at reduced rank the model loads and runs
// and its MACs equal the formula.
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { compressModel, type CompressReport } from '../../../engine/factorize/compressModel';
import { makeTempDir, removeDir } from '../testSupport';
import { gemmModel, matMulModel, pointwiseModel, spatialModel, type GeneratedLayers } from './generatedLayerModels';
import { assertRuns, checkMacsAgainstFormula, declaredInputDims, relativeDifference, runModel, sampleInputs, writeModel, type RunOutputs } from './factorizeSupport';

/** Relative difference of each output, by output name. */
function perOutput(a: RunOutputs, b: RunOutputs): Map<string, number> {
  return new Map(a.map((x, i) => [x.name, relativeDifference([x], [b[i] as RunOutputs[number]])]));
}

const cases: [string, () => GeneratedLayers][] = [
  ...[0, 1].flatMap((transA) => [0, 1].map((transB): [string, () => GeneratedLayers] => [`Gemm transA=${transA} transB=${transB} x C {none, [N], [M,N]} x alpha {1, 0.75} x beta {1, -1.5}`, () => gemmModel(transA, transB)])),
  ...[9, 10].map((opset): [string, () => GeneratedLayers] => [`Gemm at opset ${opset} (C required before opset 11), transA=1 transB=1 x C {[N], [M,N]} x alpha x beta`, () => gemmModel(1, 1, opset)]),
  ['Gemm at opset 9, transA=0 transB=0 x C {[N], [M,N]} x alpha x beta', () => gemmModel(0, 0, 9)],
  ['MatMul with a constant weight, 2-D and batched 3-D (symbolic batch) inputs', matMulModel],
  ['1x1 convs (SVD): plain, stride 2 with pads, asymmetric pads, no bias, no kernel_shape attribute', pointwiseModel],
  ['k x k convs (Tucker-2): strided, padded, asymmetric pads, dilated, SAME_UPPER, SAME_LOWER, VALID, 3x5, no bias, 1-D', spatialModel],
];

describe('factorize: generated models (Gemm / MatMul / 1x1 and k x k conv variants)', function () {
  let dir: string | undefined;
  before(() => (dir = makeTempDir('haloc-factorize-generated-')));
  after(() => removeDir(dir));

  cases.forEach(([title, build], index) => {
    it(`${title}: full rank equals the original per output (< 1e-4, run here); rank 0.5 loads, runs, MACs = formula`, async function () {
      const { model, layers } = build();
      const input = writeModel(model, dir ?? '', `case${index}.onnx`);
      const full = await compressModel(input, { choice: { kind: 'uniform', fraction: 1 }, outputPath: path.join(dir ?? '', `case${index}.u100.onnx`) });
      assert.deepEqual(full.layers.filter((l) => l.rank !== 'keep').map((l) => l.name).sort(), [...layers].sort(), 'every layer is factorized');
      assert.ok(full.outputDiff.rel < 1e-4, `report rel ${full.outputDiff.rel}`);
      const inputs = sampleInputs(declaredInputDims(input, 3), 40 + index);
      const differences = perOutput(await runModel(input, inputs), await runModel(full.output, inputs));
      const bad = [...differences].filter(([, rel]) => !(rel < 1e-4));
      assert.deepEqual(bad, [], `outputs differing by >= 1e-4 relative at full rank: ${bad.map(([n, r]) => `${n}: ${r.toExponential(2)}`).join(', ')}`);
      const half: CompressReport = await compressModel(input, { choice: { kind: 'uniform', fraction: 0.5 }, outputPath: path.join(dir ?? '', `case${index}.u50.onnx`) });
      await assertRuns(input, half.output, 3);
      await checkMacsAgainstFormula(input, half, 0.5);
      const fewer = await compressModel(input, { choice: { kind: 'uniform', fraction: 0.01 }, outputPath: path.join(dir ?? '', `case${index}.rank1.onnx`), hooiIterations: 2 });
      assert.ok(fewer.layers.every((l) => l.rank === 1), 'fraction 0.01 gives rank 1 everywhere');
      await assertRuns(input, fewer.output, 1);
    });
  });
});

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
import { float32Tensor, GraphBuilder, type AttributeValue } from '../../../engine/onnx/graphBuilder';
import type { onnx } from '../../../engine/onnx/proto';
import { makeTempDir, randomFloats, removeDir } from '../testSupport';
import { assertRuns, checkMacsAgainstFormula, declaredInputDims, relativeDifference, runModel, sampleInputs, writeModel, type RunOutputs } from './factorizeSupport';

let seed = 500;
function init(b: GraphBuilder, name: string, dims: readonly number[], scale = 0.3): string {
  return b.initializer(float32Tensor(name, dims, randomFloats(dims.reduce((p, d) => p * d, 1), seed++).map((v) => v * scale)));
}

/** Every combination of one (transA, transB): C in {none, [N], [M, N]} x alpha in {default, 0.75} x beta in {default, -1.5}. */
function gemmModel(transA: number, transB: number, opset = 13): { model: onnx.ModelProto; layers: string[] } {
  const [m, k, n] = [6, 20, 16];
  const b = new GraphBuilder({ name: `gemm_tA${transA}_tB${transB}`, opset, irVersion: opset < 11 ? 4 : 8 });
  b.input('a', transA ? [k, m] : [m, k]);
  const layers: string[] = [];
  for (const c of opset < 11 ? (['vector', 'matrix'] as const) : (['none', 'vector', 'matrix'] as const)) {
    for (const alpha of [undefined, 0.75]) {
      for (const beta of [undefined, -1.5]) {
        const name = `gemm_C${c}_alpha${alpha ?? 'default'}_beta${beta ?? 'default'}`;
        const inputs = ['a', init(b, `${name}.B`, transB ? [n, k] : [k, n])];
        if (c !== 'none') inputs.push(init(b, `${name}.C`, c === 'vector' ? [n] : [m, n]));
        const attributes: Record<string, AttributeValue> = {};
        if (transA) attributes.transA = 1;
        if (transB) attributes.transB = 1;
        if (alpha !== undefined) attributes.alpha = { float: alpha };
        if (beta !== undefined) attributes.beta = { float: beta };
        b.node('Gemm', inputs, attributes, { name, outputs: [`${name}.y`] });
        b.output(`${name}.y`, [m, n]);
        layers.push(name);
      }
    }
  }
  return { model: b.build(), layers };
}

/** MatMul with constant weights: a 2-D input and a batched 3-D input with a symbolic batch. */
function matMulModel(): { model: onnx.ModelProto; layers: string[] } {
  const b = new GraphBuilder({ name: 'matmul' });
  b.input('x2', [5, 24]);
  b.input('x3', ['B', 7, 24]);
  b.node('MatMul', ['x2', init(b, 'w2d', [24, 18])], {}, { name: 'matmul_2d', outputs: ['y2'] });
  b.node('MatMul', ['x3', init(b, 'w3d', [24, 18])], {}, { name: 'matmul_batched_3d', outputs: ['y3'] });
  b.output('y2', [5, 18]);
  b.output('y3', ['B', 7, 18]);
  return { model: b.build(), layers: ['matmul_2d', 'matmul_batched_3d'] };
}

/** 1x1 convs (SVD path) on [N, 24, 9, 9] -> 20 channels. */
function pointwiseModel(): { model: onnx.ModelProto; layers: string[] } {
  const b = new GraphBuilder({ name: 'pointwise' });
  b.input('x', ['N', 24, 9, 9]);
  const variants: [string, Record<string, AttributeValue>, boolean][] = [
    ['conv1x1_plain', { kernel_shape: [1, 1] }, true],
    ['conv1x1_stride2_pads', { kernel_shape: [1, 1], strides: [2, 2], pads: [1, 1, 1, 1] }, true],
    ['conv1x1_stride2_asymmetric_pads_nobias', { kernel_shape: [1, 1], strides: [2, 2], pads: [0, 1, 1, 0] }, false],
    ['conv1x1_no_kernel_shape_attribute_nobias', {}, false],
  ];
  for (const [name, attributes, bias] of variants) {
    const inputs = ['x', init(b, `${name}.weight`, [20, 24, 1, 1])];
    if (bias) inputs.push(init(b, `${name}.bias`, [20]));
    b.node('Conv', inputs, attributes, { name, outputs: [`${name}.y`] });
    b.output(`${name}.y`);
  }
  return { model: b.build(), layers: variants.map((v) => v[0]) };
}

/** k x k convs (Tucker-2 path) on [N, 12, 11, 10] -> 16 channels, and a 1-D conv. */
function spatialModel(): { model: onnx.ModelProto; layers: string[] } {
  const b = new GraphBuilder({ name: 'spatial' });
  b.input('x', ['N', 12, 11, 10]);
  b.input('x1d', ['N', 12, 17]);
  const variants: [string, number[], Record<string, AttributeValue>, boolean][] = [
    ['conv3x3_pad1', [3, 3], { pads: [1, 1, 1, 1] }, true],
    ['conv3x3_stride2_pad1', [3, 3], { strides: [2, 2], pads: [1, 1, 1, 1] }, true],
    ['conv3x3_asymmetric_pads', [3, 3], { pads: [0, 1, 2, 1] }, true],
    ['conv3x3_dilation2_pad2', [3, 3], { dilations: [2, 2], pads: [2, 2, 2, 2] }, true],
    ['conv3x3_same_upper_stride2', [3, 3], { auto_pad: 'SAME_UPPER', strides: [2, 2] }, true],
    ['conv4x4_same_lower', [4, 4], { auto_pad: 'SAME_LOWER' }, true],
    ['conv4x4_same_lower_stride2', [4, 4], { auto_pad: 'SAME_LOWER', strides: [2, 2] }, true],
    ['conv3x3_valid', [3, 3], { auto_pad: 'VALID' }, true],
    ['conv3x5_nobias_stride_2x1', [3, 5], { strides: [2, 1], pads: [1, 2, 1, 2] }, false],
    ['conv5x5_dilation_2x1_nobias', [5, 5], { dilations: [2, 1], pads: [4, 2, 4, 2] }, false],
  ];
  for (const [name, kernel, attributes, bias] of variants) {
    const inputs = ['x', init(b, `${name}.weight`, [16, 12, ...kernel])];
    if (bias) inputs.push(init(b, `${name}.bias`, [16]));
    b.node('Conv', inputs, { kernel_shape: kernel, ...attributes }, { name, outputs: [`${name}.y`] });
    b.output(`${name}.y`);
  }
  b.node('Conv', ['x1d', init(b, 'conv1d.weight', [16, 12, 3]), init(b, 'conv1d.bias', [16])], { kernel_shape: [3], strides: [2], pads: [1, 1] }, { name: 'conv1d_k3_stride2', outputs: ['conv1d.y'] });
  b.output('conv1d.y');
  return { model: b.build(), layers: [...variants.map((v) => v[0]), 'conv1d_k3_stride2'] };
}

/** Relative difference of each output, by output name. */
function perOutput(a: RunOutputs, b: RunOutputs): Map<string, number> {
  return new Map(a.map((x, i) => [x.name, relativeDifference([x], [b[i] as RunOutputs[number]])]));
}

const cases: [string, () => { model: onnx.ModelProto; layers: string[] }][] = [
  ...[0, 1].flatMap((transA) => [0, 1].map((transB): [string, () => { model: onnx.ModelProto; layers: string[] }] => [`Gemm transA=${transA} transB=${transB} x C {none, [N], [M,N]} x alpha {1, 0.75} x beta {1, -1.5}`, () => gemmModel(transA, transB)])),
  ...[9, 10].map((opset): [string, () => { model: onnx.ModelProto; layers: string[] }] => [`Gemm at opset ${opset} (C required before opset 11), transA=1 transB=1 x C {[N], [M,N]} x alpha x beta`, () => gemmModel(1, 1, opset)]),
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

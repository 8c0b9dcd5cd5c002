// Generated models for the factorization and error-model tests, one graph output per layer so that
// every variant is checked on its own: Gemm with every transA / transB / C / alpha / beta combination
// (and at opsets 9 and 10, where C is required), MatMul with a constant weight on 2-D and batched 3-D
// inputs, 1x1 convs (SVD; stride 2 and pads, no bias), and k x k convs (Tucker-2) that are strided,
// padded (asymmetric too), dilated, auto_pad SAME_UPPER / SAME_LOWER / VALID, non-square, without
// bias, 1-D.
import { float32Tensor, GraphBuilder, type AttributeValue } from '../../../engine/onnx/graphBuilder';
import type { onnx } from '../../../engine/onnx/proto';
import { randomFloats } from '../testSupport';

/** A generated model and the names of its layers. */
export interface GeneratedLayers {
  readonly model: onnx.ModelProto;
  readonly layers: string[];
}

let seed = 500;
function init(b: GraphBuilder, name: string, dims: readonly number[], scale = 0.3): string {
  return b.initializer(float32Tensor(name, dims, randomFloats(dims.reduce((p, d) => p * d, 1), seed++).map((v) => v * scale)));
}

/** Every combination of one (transA, transB): C in {none, [N], [M, N]} x alpha in {default, 0.75} x beta in {default, -1.5}. */
export function gemmModel(transA: number, transB: number, opset = 13): GeneratedLayers {
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
export function matMulModel(): GeneratedLayers {
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
export function pointwiseModel(): GeneratedLayers {
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
export function spatialModel(): GeneratedLayers {
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

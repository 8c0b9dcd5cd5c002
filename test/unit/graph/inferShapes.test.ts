// Static shape inference, per op family. Every expected shape is worked out by hand from the ONNX
// formulas (written next to each case); each case model is also run once in onnxruntime-node and
// every inferred shape must equal the measured one.
import * as assert from 'node:assert/strict';
import { inferShapes } from '../../../engine/graph/inferShapes';
import type { Dim } from '../../../engine/graph/valueInfo';
import { DataType } from '../../../engine/onnx/dataType';
import { float32Tensor, GraphBuilder, int64Tensor, type AttributeValue } from '../../../engine/onnx/graphBuilder';
import { modelOf, onnxruntimeShapes, randomFloats } from '../testSupport';

/** One case: a graph input, one op (plus its constant inputs), and the hand-computed output dims. */
interface OpCase {
  readonly title: string;
  readonly input: readonly number[];
  readonly op: string;
  readonly attributes?: Readonly<Record<string, AttributeValue>>;
  /** Constant inputs after x: float tensors by dims, or int64 values ({ ints }). */
  readonly constants?: readonly (readonly number[] | { readonly ints: readonly number[]; readonly dims?: readonly number[] } | { readonly floats: readonly number[] } | null)[];
  readonly outputs?: number;
  readonly expected: readonly (readonly Dim[])[];
  readonly opset?: number;
  readonly elemTypes?: readonly number[];
}

function buildCase(c: OpCase): GraphBuilder {
  const builder = new GraphBuilder({ opset: c.opset ?? 13 });
  builder.input('x', c.input);
  const inputs = ['x'];
  (c.constants ?? []).forEach((constant, i) => {
    const name = `c${i}`;
    if (constant === null) inputs.push('');
    else if ('ints' in constant) inputs.push(builder.initializer(int64Tensor(name, constant.dims ?? [constant.ints.length], constant.ints)));
    else if ('floats' in constant) inputs.push(builder.initializer(float32Tensor(name, [constant.floats.length], Float32Array.from(constant.floats))));
    else inputs.push(builder.initializer(float32Tensor(name, constant as readonly number[], randomFloats((constant as readonly number[]).reduce((p, d) => p * d, 1), i + 1))));
  });
  while (inputs[inputs.length - 1] === '') inputs.pop();
  const outputs = Array.from({ length: c.outputs ?? 1 }, (_, i) => `y${i}`);
  builder.node(c.op, inputs, c.attributes ?? {}, { name: 'op', outputs });
  outputs.forEach((output, i) => builder.output(output, undefined, c.elemTypes?.[i] ?? DataType.FLOAT));
  return builder;
}

async function checkCase(c: OpCase): Promise<void> {
  const builder = buildCase(c);
  const inference = inferShapes(modelOf(builder));
  assert.equal(inference.unresolved.size, 0, `unresolved: ${[...inference.unresolved.values()].join('; ')}`);
  c.expected.forEach((dims, i) => assert.deepEqual(inference.values.get(`y${i}`)?.dims, dims, `${c.title}: output ${i}`));
  c.elemTypes?.forEach((type, i) => assert.equal(inference.values.get(`y${i}`)?.elemType, type, `${c.title}: element type of output ${i}`));
  const measured = await onnxruntimeShapes(builder.build(), { x: c.input });
  c.expected.forEach((dims, i) => assert.deepEqual(measured.get(`y${i}`), dims, `${c.title}: onnxruntime disagrees with the hand-computed output ${i}`));
}

function runCases(cases: readonly OpCase[]): void {
  for (const c of cases) it(c.title, () => checkCase(c));
}

// Conv output size along an axis: floor((in + pad_begin + pad_end - ((k - 1) * d + 1)) / s) + 1;
// SAME_UPPER / SAME_LOWER: ceil(in / s); VALID: floor((in - ((k - 1) * d + 1)) / s) + 1.
describe('inferShapes: Conv', function () {
  runCases([
    { title: '3x3, stride 1, pad 1: 32 -> 32', input: [1, 3, 32, 32], op: 'Conv', constants: [[8, 3, 3, 3]], attributes: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, expected: [[1, 8, 32, 32]] },
    { title: '3x3, stride 2, pad 1: (32 + 2 - 3) / 2 + 1 = 16', input: [1, 3, 32, 32], op: 'Conv', constants: [[8, 3, 3, 3], [8]], attributes: { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [2, 2] }, expected: [[1, 8, 16, 16]] },
    { title: '3x3, stride 2, no pad: floor(29 / 2) + 1 = 15', input: [1, 3, 32, 32], op: 'Conv', constants: [[8, 3, 3, 3]], attributes: { strides: [2, 2] }, expected: [[1, 8, 15, 15]] },
    { title: '5x5 dilation 2 (extent 9): 32 - 9 + 1 = 24', input: [1, 3, 32, 32], op: 'Conv', constants: [[4, 3, 5, 5]], attributes: { dilations: [2, 2] }, expected: [[1, 4, 24, 24]] },
    { title: '3x3 dilation 2 stride 2 pad 2: floor((32 + 4 - 5) / 2) + 1 = 16', input: [1, 3, 32, 32], op: 'Conv', constants: [[4, 3, 3, 3]], attributes: { dilations: [2, 2], strides: [2, 2], pads: [2, 2, 2, 2] }, expected: [[1, 4, 16, 16]] },
    { title: 'asymmetric pads [0, 1, 2, 3] on 10x11: H 10 + 2 - 3 + 1 = 10, W 11 + 4 - 3 + 1 = 13', input: [1, 3, 10, 11], op: 'Conv', constants: [[4, 3, 3, 3]], attributes: { pads: [0, 1, 2, 3] }, expected: [[1, 4, 10, 13]] },
    { title: 'auto_pad SAME_UPPER stride 2 on 33: ceil(33 / 2) = 17', input: [1, 3, 33, 33], op: 'Conv', constants: [[4, 3, 3, 3]], attributes: { auto_pad: 'SAME_UPPER', strides: [2, 2] }, expected: [[1, 4, 17, 17]] },
    { title: 'auto_pad SAME_LOWER 4x4 stride 3 on 10: ceil(10 / 3) = 4', input: [1, 3, 10, 10], op: 'Conv', constants: [[4, 3, 4, 4]], attributes: { auto_pad: 'SAME_LOWER', strides: [3, 3] }, expected: [[1, 4, 4, 4]] },
    { title: 'auto_pad VALID stride 2 on 33: floor((33 - 3) / 2) + 1 = 16', input: [1, 3, 33, 33], op: 'Conv', constants: [[4, 3, 3, 3]], attributes: { auto_pad: 'VALID', strides: [2, 2] }, expected: [[1, 4, 16, 16]] },
    { title: '1x7 kernel with pads [0, 3, 0, 3] keeps 17x17', input: [1, 3, 17, 17], op: 'Conv', constants: [[4, 3, 1, 7]], attributes: { pads: [0, 3, 0, 3] }, expected: [[1, 4, 17, 17]] },
    { title: '1-D conv, k 5 stride 3 on 50: floor(45 / 3) + 1 = 16', input: [1, 4, 50], op: 'Conv', constants: [[6, 4, 5]], attributes: { strides: [3] }, expected: [[1, 6, 16]] },
    { title: 'grouped conv group 4: 8 -> 16 channels, 10 -> 8', input: [1, 8, 10, 10], op: 'Conv', constants: [[16, 2, 3, 3]], attributes: { group: 4 }, expected: [[1, 16, 8, 8]] },
    { title: 'depthwise conv group 8, stride 2 pad 1 on 9: (9 + 2 - 3) / 2 + 1 = 5', input: [1, 8, 9, 9], op: 'Conv', constants: [[8, 1, 3, 3]], attributes: { group: 8, strides: [2, 2], pads: [1, 1, 1, 1] }, expected: [[1, 8, 5, 5]] },
    { title: 'ConvTranspose 3x3 stride 2 pad 1 output_padding 1: 2 * (8 - 1) + 1 + 3 - 2 = 16', input: [1, 4, 8, 8], op: 'ConvTranspose', constants: [[4, 6, 3, 3]], attributes: { strides: [2, 2], pads: [1, 1, 1, 1], output_padding: [1, 1] }, expected: [[1, 6, 16, 16]] },
    { title: 'ConvTranspose group 2: out channels 3 * 2 = 6, 4x4 kernel stride 2: 2 * (5 - 1) + 4 = 12', input: [1, 4, 5, 5], op: 'ConvTranspose', constants: [[4, 3, 4, 4]], attributes: { strides: [2, 2], group: 2 }, expected: [[1, 6, 12, 12]] },
  ]);
});

// Pools: floor mode as Conv; ceil_mode: ceil((in + pads - extent) / s) + 1, minus one when the last
// window would start in the right padding ((out - 1) * s >= in + pad_begin).
describe('inferShapes: pools', function () {
  runCases([
    { title: 'MaxPool 2x2 stride 2: 32 -> 16', input: [1, 4, 32, 32], op: 'MaxPool', attributes: { kernel_shape: [2, 2], strides: [2, 2] }, expected: [[1, 4, 16, 16]] },
    { title: 'MaxPool 3x3 stride 2 no pad: floor 15, ceil_mode ceil(29 / 2) + 1 = 16', input: [1, 4, 32, 32], op: 'MaxPool', attributes: { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1 }, expected: [[1, 4, 16, 16]] },
    { title: 'MaxPool 3x3 stride 2 floor mode: 15', input: [1, 4, 32, 32], op: 'MaxPool', attributes: { kernel_shape: [3, 3], strides: [2, 2] }, expected: [[1, 4, 15, 15]] },
    { title: 'MaxPool 3x3 stride 2 pad 1 ceil_mode: ceil(31 / 2) + 1 = 17 (last start 32 < 33)', input: [1, 4, 32, 32], op: 'MaxPool', attributes: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: 1 }, expected: [[1, 4, 17, 17]] },
    { title: 'MaxPool 2x2 stride 2 pad 1 on 5, ceil_mode: ceil(5 / 2) + 1 = 4, last start 6 >= 6 -> 3', input: [1, 2, 5, 5], op: 'MaxPool', attributes: { kernel_shape: [2, 2], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: 1 }, expected: [[1, 2, 3, 3]] },
    { title: 'AveragePool 3x3 stride 3 on 10: floor 3, ceil_mode ceil(7 / 3) + 1 = 4', input: [1, 2, 10, 10], op: 'AveragePool', attributes: { kernel_shape: [3, 3], strides: [3, 3], ceil_mode: 1 }, expected: [[1, 2, 4, 4]] },
    { title: 'AveragePool 3x3 stride 3 on 10 floor mode: 3', input: [1, 2, 10, 10], op: 'AveragePool', attributes: { kernel_shape: [3, 3], strides: [3, 3] }, expected: [[1, 2, 3, 3]] },
    { title: 'MaxPool 2x2 dilation 2 (extent 3) stride 1 on 7: 5', input: [1, 2, 7, 7], op: 'MaxPool', attributes: { kernel_shape: [2, 2], dilations: [2, 2] }, expected: [[1, 2, 5, 5]] },
    { title: 'MaxPool SAME_UPPER stride 2 on 7: ceil(7 / 2) = 4', input: [1, 2, 7, 7], op: 'MaxPool', attributes: { kernel_shape: [3, 3], strides: [2, 2], auto_pad: 'SAME_UPPER' }, expected: [[1, 2, 4, 4]] },
    { title: 'MaxPool VALID 3x3 stride 2 on 8: floor(5 / 2) + 1 = 3', input: [1, 2, 8, 8], op: 'MaxPool', attributes: { kernel_shape: [3, 3], strides: [2, 2], auto_pad: 'VALID' }, expected: [[1, 2, 3, 3]] },
    { title: 'MaxPool with Indices output (int64, same dims)', input: [1, 2, 8, 8], op: 'MaxPool', attributes: { kernel_shape: [2, 2], strides: [2, 2] }, outputs: 2, expected: [[1, 2, 4, 4], [1, 2, 4, 4]], elemTypes: [DataType.FLOAT, DataType.INT64] },
    { title: 'GlobalAveragePool: [1, 16, 7, 9] -> [1, 16, 1, 1]', input: [1, 16, 7, 9], op: 'GlobalAveragePool', expected: [[1, 16, 1, 1]] },
    { title: 'GlobalMaxPool 1-D: [2, 3, 11] -> [2, 3, 1]', input: [2, 3, 11], op: 'GlobalMaxPool', expected: [[2, 3, 1]] },
  ]);
});

describe('inferShapes: Gemm and MatMul', function () {
  runCases([
    { title: 'Gemm A [3, 5] B [5, 7] -> [3, 7]', input: [3, 5], op: 'Gemm', constants: [[5, 7]], expected: [[3, 7]] },
    { title: 'Gemm transB: B [7, 5] -> [3, 7], bias [7]', input: [3, 5], op: 'Gemm', constants: [[7, 5], [7]], attributes: { transB: 1 }, expected: [[3, 7]] },
    { title: 'Gemm transA: A [5, 3] -> [3, 7]', input: [5, 3], op: 'Gemm', constants: [[5, 7]], attributes: { transA: 1 }, expected: [[3, 7]] },
    { title: 'Gemm transA and transB: A [5, 3], B [7, 5] -> [3, 7]', input: [5, 3], op: 'Gemm', constants: [[7, 5], [1]], attributes: { transA: 1, transB: 1, alpha: { float: 0.5 } }, expected: [[3, 7]] },
    { title: 'MatMul batched [2, 3, 4, 5] x [5, 6] -> [2, 3, 4, 6]', input: [2, 3, 4, 5], op: 'MatMul', constants: [[5, 6]], expected: [[2, 3, 4, 6]] },
    { title: 'MatMul broadcast batch [2, 1, 4, 5] x [3, 5, 6] -> [2, 3, 4, 6]', input: [2, 1, 4, 5], op: 'MatMul', constants: [[3, 5, 6]], expected: [[2, 3, 4, 6]] },
    { title: 'MatMul 1-D left [5] x [5, 6] -> [6]', input: [5], op: 'MatMul', constants: [[5, 6]], expected: [[6]] },
    { title: 'MatMul 1-D right [2, 4, 5] x [5] -> [2, 4]', input: [2, 4, 5], op: 'MatMul', constants: [[5]], expected: [[2, 4]] },
  ]);
});

describe('inferShapes: element-wise ops and normalisation', function () {
  runCases([
    { title: 'Add broadcasting [1, 3, 1, 5] + [4, 1] -> [1, 3, 4, 5]', input: [1, 3, 1, 5], op: 'Add', constants: [[4, 1]], expected: [[1, 3, 4, 5]] },
    { title: 'Mul by a scalar keeps the shape', input: [2, 3], op: 'Mul', constants: [[]], expected: [[2, 3]] },
    { title: 'Sum of three, broadcast [2, 1, 3] with [4, 1] and [3] -> [2, 4, 3]', input: [2, 1, 3], op: 'Sum', constants: [[4, 1], [3]], expected: [[2, 4, 3]] },
    { title: 'Greater gives bool [2, 3]', input: [2, 3], op: 'Greater', constants: [[3]], expected: [[2, 3]], elemTypes: [DataType.BOOL] },
    { title: 'Relu', input: [1, 3, 5, 5], op: 'Relu', expected: [[1, 3, 5, 5]] },
    { title: 'LeakyRelu', input: [1, 3, 5, 5], op: 'LeakyRelu', attributes: { alpha: { float: 0.1 } }, expected: [[1, 3, 5, 5]] },
    { title: 'Clip with min/max inputs', input: [1, 3, 5, 5], op: 'Clip', constants: [[], []], expected: [[1, 3, 5, 5]] },
    { title: 'Sigmoid', input: [4, 7], op: 'Sigmoid', expected: [[4, 7]] },
    { title: 'HardSwish (opset 14)', input: [1, 8, 3, 3], op: 'HardSwish', opset: 14, expected: [[1, 8, 3, 3]] },
    { title: 'Softmax axis -1', input: [2, 10], op: 'Softmax', attributes: { axis: -1 }, expected: [[2, 10]] },
    { title: 'BatchNormalization', input: [1, 4, 6, 6], op: 'BatchNormalization', constants: [[4], [4], [4], [4]], expected: [[1, 4, 6, 6]] },
    { title: 'Cast to int64', input: [2, 3], op: 'Cast', attributes: { to: DataType.INT64 }, expected: [[2, 3]], elemTypes: [DataType.INT64] },
    { title: 'Dropout with mask', input: [2, 3], op: 'Dropout', outputs: 2, expected: [[2, 3], [2, 3]], elemTypes: [DataType.FLOAT, DataType.BOOL] },
  ]);
});

describe('inferShapes: data movement', function () {
  const big = 2 ** 31 - 1;
  runCases([
    { title: 'Flatten axis 1: [2, 3, 4, 5] -> [2, 60]', input: [2, 3, 4, 5], op: 'Flatten', expected: [[2, 60]] },
    { title: 'Flatten axis 2: -> [6, 20]', input: [2, 3, 4, 5], op: 'Flatten', attributes: { axis: 2 }, expected: [[6, 20]] },
    { title: 'Flatten axis 0: -> [1, 120]', input: [2, 3, 4, 5], op: 'Flatten', attributes: { axis: 0 }, expected: [[1, 120]] },
    { title: 'Reshape [0, -1] on [2, 3, 4] -> [2, 12]', input: [2, 3, 4], op: 'Reshape', constants: [{ ints: [0, -1] }], expected: [[2, 12]] },
    { title: 'Transpose perm [0, 2, 3, 1]', input: [1, 3, 4, 5], op: 'Transpose', attributes: { perm: [0, 2, 3, 1] }, expected: [[1, 4, 5, 3]] },
    { title: 'Concat axis 1: [1, 3, 4, 4] with a [1, 5, 4, 4] constant -> [1, 8, 4, 4]', input: [1, 3, 4, 4], op: 'Concat', constants: [[1, 5, 4, 4]], attributes: { axis: 1 }, expected: [[1, 8, 4, 4]] },
    { title: 'Split axis 1 into 3 equal parts of 9', input: [1, 9, 2], op: 'Split', attributes: { axis: 1 }, outputs: 3, expected: [[1, 3, 2], [1, 3, 2], [1, 3, 2]] },
    { title: 'Split with sizes [2, 7] (input)', input: [1, 9, 2], op: 'Split', constants: [{ ints: [2, 7] }], attributes: { axis: 1 }, outputs: 2, expected: [[1, 2, 2], [1, 7, 2]] },
    { title: 'Slice step 2 on H and W: 32 -> 16 (option-A shortcut)', input: [1, 16, 32, 32], op: 'Slice', constants: [{ ints: [0, 0] }, { ints: [big, big] }, { ints: [2, 3] }, { ints: [2, 2] }], expected: [[1, 16, 16, 16]] },
    { title: 'Slice negative start/end: [-3, -1) of 10 -> 2', input: [10, 4], op: 'Slice', constants: [{ ints: [-3] }, { ints: [-1] }, { ints: [0] }], expected: [[2, 4]] },
    { title: 'Slice reversed step -1 from the end: 10', input: [10, 4], op: 'Slice', constants: [{ ints: [-1] }, { ints: [-big] }, { ints: [0] }, { ints: [-1] }], expected: [[10, 4]] },
    { title: 'Slice step -2 from 8 to 1 (exclusive): indices 8, 6, 4, 2 -> 4', input: [10, 4], op: 'Slice', constants: [{ ints: [8] }, { ints: [1] }, { ints: [0] }, { ints: [-2] }], expected: [[4, 4]] },
    { title: 'Slice step -1 with a start far below -size (clamped to 0): [0] -> 1', input: [10, 4], op: 'Slice', constants: [{ ints: [-100] }, { ints: [-200] }, { ints: [0] }, { ints: [-1] }], expected: [[1, 4]] },
    { title: 'Pad (opset 13 input) [0, 0, 1, 2, 0, 0, 3, 4]: H + 4, W + 6', input: [1, 3, 5, 5], op: 'Pad', constants: [{ ints: [0, 0, 1, 2, 0, 0, 3, 4] }], expected: [[1, 3, 9, 11]] },
    { title: 'Pad channels (option-A shortcut) [0, 8, 0, 0, 0, 8, 0, 0]: 16 -> 32', input: [1, 16, 8, 8], op: 'Pad', constants: [{ ints: [0, 8, 0, 0, 0, 8, 0, 0] }], expected: [[1, 32, 8, 8]] },
    { title: 'Squeeze axes [1, 3] (input)', input: [2, 1, 3, 1], op: 'Squeeze', constants: [{ ints: [1, 3] }], expected: [[2, 3]] },
    { title: 'Unsqueeze axes [0, 3] (input)', input: [2, 3], op: 'Unsqueeze', constants: [{ ints: [0, 3] }], expected: [[1, 2, 3, 1]] },
    { title: 'Gather axis 1 with indices [2, 2]', input: [3, 5, 2], op: 'Gather', constants: [{ ints: [0, 1, 2, 3], dims: [2, 2] }], attributes: { axis: 1 }, expected: [[3, 2, 2, 2]] },
    { title: 'Resize scales [1, 1, 2, 2]', input: [1, 3, 5, 7], op: 'Resize', constants: [null, { floats: [1, 1, 2, 2] }], expected: [[1, 3, 10, 14]] },
    { title: 'Resize sizes [1, 3, 4, 9] (opset 13: roi and scales empty)', input: [1, 3, 5, 7], op: 'Resize', constants: [null, null, { ints: [1, 3, 4, 9] }], expected: [[1, 3, 4, 9]] },
    { title: 'Expand [3, 1] to [2, 3, 4]', input: [3, 1], op: 'Expand', constants: [{ ints: [2, 3, 4] }], expected: [[2, 3, 4]] },
    { title: 'Tile [2, 3] by [2, 2]', input: [2, 3], op: 'Tile', constants: [{ ints: [2, 2] }], expected: [[4, 6]] },
    { title: 'ReduceMean axes [2, 3] keepdims', input: [1, 8, 5, 5], op: 'ReduceMean', attributes: { axes: [2, 3] }, expected: [[1, 8, 1, 1]] },
    { title: 'ReduceSum (opset 13, axes input) keepdims 0', input: [1, 8, 5, 5], op: 'ReduceSum', constants: [{ ints: [1] }], attributes: { keepdims: 0 }, expected: [[1, 5, 5]] },
    { title: 'ArgMax axis 1 keepdims 0 (int64)', input: [4, 10], op: 'ArgMax', attributes: { axis: 1, keepdims: 0 }, expected: [[4]], elemTypes: [DataType.INT64] },
  ]);
});

describe('inferShapes: opset variants and less common ops', function () {
  runCases([
    { title: 'ConvTranspose SAME_UPPER stride 2: 5 -> 10', input: [1, 4, 5, 5], op: 'ConvTranspose', constants: [[4, 2, 3, 3]], attributes: { strides: [2, 2], auto_pad: 'SAME_UPPER' }, expected: [[1, 2, 10, 10]] },
    { title: 'ConvTranspose with output_shape [11, 11]', input: [1, 4, 5, 5], op: 'ConvTranspose', constants: [[4, 2, 3, 3]], attributes: { strides: [2, 2], output_shape: [11, 11] }, expected: [[1, 2, 11, 11]] },
    { title: 'Flatten axis -1: [2, 3, 4] -> [6, 4]', input: [2, 3, 4], op: 'Flatten', attributes: { axis: -1 }, expected: [[6, 4]] },
    { title: 'Split opset 18 num_outputs 3 of 10: 4, 4, 2', input: [10, 2], op: 'Split', opset: 18, attributes: { num_outputs: 3 }, outputs: 3, expected: [[4, 2], [4, 2], [2, 2]] },
    { title: 'Split opset 11 with the split attribute [3, 7]', input: [10, 2], op: 'Split', opset: 11, attributes: { split: [3, 7] }, outputs: 2, expected: [[3, 2], [7, 2]] },
    { title: 'Resize opset 10 (scales at input 1) x 2 -> [1, 2, 8, 12]', input: [1, 2, 4, 6], op: 'Resize', opset: 10, constants: [{ floats: [1, 1, 2, 2] }], expected: [[1, 2, 8, 12]] },
    { title: 'Upsample opset 9 scales input x 3', input: [1, 2, 4, 6], op: 'Upsample', opset: 9, constants: [{ floats: [1, 1, 3, 3] }], expected: [[1, 2, 12, 18]] },
    { title: 'ReduceMean opset 18 with axes input [1] keepdims 0', input: [2, 3, 4], op: 'ReduceMean', opset: 18, constants: [{ ints: [1] }], attributes: { keepdims: 0 }, expected: [[2, 4]] },
    { title: 'ReduceMax opset 13 without axes: all reduced, keepdims -> [1, 1, 1]', input: [2, 3, 4], op: 'ReduceMax', expected: [[1, 1, 1]] },
    { title: 'Pad opset 18 with axes [2, 3]: H + 2, W + 4', input: [1, 3, 5, 5], op: 'Pad', opset: 18, constants: [{ ints: [1, 2, 1, 2] }, null, { ints: [2, 3] }], expected: [[1, 3, 7, 9]] },
    { title: 'Pad opset 7 (pads attribute) [0, 0, 1, 1, 0, 0, 1, 1]', input: [1, 3, 5, 5], op: 'Pad', opset: 7, attributes: { pads: [0, 0, 1, 1, 0, 0, 1, 1] }, expected: [[1, 3, 7, 7]] },
    { title: 'LayerNormalization (opset 17) over the last axis', input: [2, 5, 8], op: 'LayerNormalization', opset: 17, constants: [[8], [8]], expected: [[2, 5, 8]] },
    { title: 'InstanceNormalization', input: [1, 4, 6, 6], op: 'InstanceNormalization', constants: [[4], [4]], expected: [[1, 4, 6, 6]] },
    { title: 'Softmax opset 11 keeps the shape', input: [2, 3, 4], op: 'Softmax', opset: 11, attributes: { axis: 1 }, expected: [[2, 3, 4]] },
    { title: 'LpPool 3x3 stride 2 p=2 on 9: 4', input: [1, 2, 9, 9], op: 'LpPool', attributes: { kernel_shape: [3, 3], strides: [2, 2], p: 2 }, expected: [[1, 2, 4, 4]] },
    { title: 'PRelu with a per-channel slope [3, 1, 1]', input: [1, 3, 4, 4], op: 'PRelu', constants: [[3, 1, 1]], expected: [[1, 3, 4, 4]] },
    { title: 'Slice opset 9 (attributes) with axes [1] starts [1] ends [3]', input: [2, 5], op: 'Slice', opset: 9, attributes: { starts: [1], ends: [3], axes: [1] }, expected: [[2, 2]] },
  ]);
});

describe('inferShapes: Shape -> Gather -> Unsqueeze -> Concat -> Reshape folds statically', function () {
  function chain(opset: number): GraphBuilder {
    const builder = new GraphBuilder({ opset });
    builder.input('x', ['N', 3, 8, 8]);
    builder.initializer(int64Tensor('zero', [], [0]));
    builder.initializer(int64Tensor('minus1', [1], [-1]));
    builder.initializer(float32Tensor('w', [192, 10], randomFloats(1920)));
    builder.node('Shape', ['x'], {}, { name: 'shape', outputs: ['s'] });
    builder.node('Gather', ['s', 'zero'], { axis: 0 }, { name: 'gather', outputs: ['n'] });
    if (opset >= 13) {
      builder.initializer(int64Tensor('axes0', [1], [0]));
      builder.node('Unsqueeze', ['n', 'axes0'], {}, { name: 'unsqueeze', outputs: ['n1'] });
    } else {
      builder.node('Unsqueeze', ['n'], { axes: [0] }, { name: 'unsqueeze', outputs: ['n1'] });
    }
    builder.node('Concat', ['n1', 'minus1'], { axis: 0 }, { name: 'concat', outputs: ['target'] });
    builder.node('Reshape', ['x', 'target'], {}, { name: 'reshape', outputs: ['flat'] });
    builder.node('MatMul', ['flat', 'w'], {}, { name: 'fc', outputs: ['y'] });
    builder.output('y');
    return builder;
  }

  for (const opset of [11, 13]) {
    it(`opset ${opset}: the target shape is folded to [batch, -1] and the Reshape gives [batch, 192]`, function () {
      const inference = inferShapes(modelOf(chain(opset)), { batch: 2 });
      assert.equal(inference.unresolved.size, 0, [...inference.unresolved.values()].join('; '));
      assert.deepEqual(inference.values.get('s')?.intValues, [2, 3, 8, 8]);
      assert.deepEqual(inference.values.get('n')?.dims, []);
      assert.deepEqual(inference.values.get('n')?.intValues, [2]);
      assert.deepEqual(inference.values.get('target')?.intValues, [2, -1]);
      assert.deepEqual(inference.values.get('flat')?.dims, [2, 192]);
      assert.deepEqual(inference.values.get('y')?.dims, [2, 10]);
    });
  }

  it('a Shape -> Slice -> Concat variant, and Gather -> Mul folding H x W', function () {
    const builder = new GraphBuilder();
    builder.input('x', [2, 3, 4, 5]);
    builder.initializer(int64Tensor('st', [1], [2]));
    builder.initializer(int64Tensor('en', [1], [4]));
    builder.initializer(int64Tensor('ax', [1], [0]));
    builder.initializer(int64Tensor('six', [1], [6]));
    builder.initializer(int64Tensor('i2', [1], [2]));
    builder.initializer(int64Tensor('i3', [1], [3]));
    builder.node('Shape', ['x'], {}, { outputs: ['s'] });
    builder.node('Slice', ['s', 'st', 'en', 'ax'], {}, { outputs: ['hw'] });
    builder.node('Concat', ['six', 'hw'], { axis: 0 }, { outputs: ['target'] });
    builder.node('Reshape', ['x', 'target'], {}, { outputs: ['y'] });
    builder.node('Gather', ['s', 'i2'], { axis: 0 }, { outputs: ['h'] });
    builder.node('Gather', ['s', 'i3'], { axis: 0 }, { outputs: ['w'] });
    builder.node('Mul', ['h', 'w'], {}, { outputs: ['area'] });
    builder.node('Concat', ['six', 'area'], { axis: 0 }, { outputs: ['target2'] });
    builder.node('Reshape', ['x', 'target2'], {}, { outputs: ['z'] });
    builder.output('y');
    builder.output('z');
    const inference = inferShapes(modelOf(builder));
    assert.equal(inference.unresolved.size, 0);
    assert.deepEqual(inference.values.get('hw')?.intValues, [4, 5]);
    assert.deepEqual(inference.values.get('target')?.intValues, [6, 4, 5]);
    assert.deepEqual(inference.values.get('y')?.dims, [6, 4, 5]);
    assert.deepEqual(inference.values.get('area')?.intValues, [20]);
    assert.deepEqual(inference.values.get('z')?.dims, [6, 20]);
  });
});

describe('inferShapes: symbolic dims and what cannot be resolved', function () {
  it('a symbolic batch is 1 by default and N with batch N; other symbols stay symbolic', function () {
    const builder = new GraphBuilder();
    builder.input('x', ['batch', 3, 'height', 'width']);
    builder.initializer(float32Tensor('w', [8, 3, 3, 3], randomFloats(216)));
    builder.node('Conv', ['x', 'w'], { strides: [2, 2], pads: [1, 1, 1, 1] }, { outputs: ['y'] });
    builder.output('y');
    const model = modelOf(builder);
    assert.deepEqual(inferShapes(model).values.get('y')?.dims, [1, 8, "height'", "width'"]);
    assert.deepEqual(inferShapes(model, { batch: 4 }).values.get('y')?.dims, [4, 8, "height'", "width'"]);
    assert.deepEqual(inferShapes(model, { inputShapes: { x: [2, 3, 31, 20] } }).values.get('y')?.dims, [2, 8, 16, 10]);
  });

  it('an op without a static rule is reported as unresolved, with the reason', function () {
    const builder = new GraphBuilder();
    builder.input('x', [1, 8, 4, 4]);
    builder.node('DepthToSpace', ['x'], { blocksize: 2 }, { name: 'd2s', outputs: ['y'] });
    builder.output('y');
    const inference = inferShapes(modelOf(builder));
    assert.equal(inference.unresolved.size, 1);
    assert.match([...inference.unresolved.values()][0] ?? '', /no static shape rule for op 'DepthToSpace'/);
    assert.equal(inference.values.get('y'), undefined);
  });
});

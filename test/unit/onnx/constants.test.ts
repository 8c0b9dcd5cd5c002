// Constants: weights from Constant nodes (value tensor, value_float(s), value_int(s)), and through
// Reshape / Transpose / Identity / Flatten of an initializer, with values checked element by element.
import * as assert from 'node:assert/strict';
import { analyzeModel } from '../../../engine/graph/analyzeModel';
import { transposeValues } from '../../../engine/onnx/constTensor';
import { DataType } from '../../../engine/onnx/dataType';
import { float32Tensor, GraphBuilder, int64Tensor } from '../../../engine/onnx/graphBuilder';
import { layerNamed, modelOf, randomFloats } from '../testSupport';

describe('constants: Constant nodes', function () {
  it('a Constant with a value tensor is a conv weight: its params count, its layer is compressible', async function () {
    const weight = randomFloats(4 * 2 * 3 * 3, 3);
    const builder = new GraphBuilder();
    builder.input('x', [1, 2, 6, 6]);
    builder.node('Constant', [], { value: { tensor: float32Tensor('', [4, 2, 3, 3], weight) } }, { name: 'wconst', outputs: ['w'] });
    builder.node('Constant', [], { value_floats: { floats: [0.5, -1, 2, 0.25] } }, { name: 'bconst', outputs: ['b'] });
    builder.node('Conv', ['x', 'w', 'b'], { kernel_shape: [3, 3] }, { name: 'conv', outputs: ['y'] });
    builder.output('y');
    const model = modelOf(builder);
    const w = model.constants.get('w');
    assert.ok(w);
    assert.deepEqual([...w.dims], [4, 2, 3, 3]);
    assert.deepEqual(w.origin, { kind: 'constantNode', nodeName: 'wconst' });
    assert.deepEqual(w.toFloat32(), weight);
    const b = model.constants.get('b');
    assert.ok(b);
    assert.deepEqual([...b.dims], [4]);
    assert.equal(b.dataType, DataType.FLOAT);
    assert.deepEqual(Array.from(b.toFloat32()), [0.5, -1, 2, 0.25]);
    const analysis = await analyzeModel(model);
    assert.deepEqual(analysis.layers.map((l) => l.name), ['conv'], 'Constant nodes are not layers');
    const conv = layerNamed(analysis, 'conv');
    assert.equal(conv.params, 72 + 4);
    assert.deepEqual(conv.weightShape, [4, 2, 3, 3]);
    assert.deepEqual(conv.outputShape, [1, 4, 4, 4]);
    assert.equal(conv.macs, 1 * 4 * 4 * 4 * (2 * 3 * 3));
    assert.equal(conv.compressible, true);
    assert.equal(analysis.totals.params, 76);
  });

  it('value_float, value_int and value_ints give scalars and int64 vectors', function () {
    const builder = new GraphBuilder();
    builder.input('x', [2, 3]);
    builder.node('Constant', [], { value_float: { float: 1.25 } }, { outputs: ['f'] });
    builder.node('Constant', [], { value_int: 7 }, { outputs: ['i'] });
    builder.node('Constant', [], { value_ints: [3, 2] }, { outputs: ['shape'] });
    builder.node('Reshape', ['x', 'shape'], {}, { outputs: ['y'] });
    builder.output('y');
    const model = modelOf(builder);
    assert.deepEqual([...(model.constants.get('f')?.dims ?? [-1])], []);
    assert.deepEqual(Array.from(model.constants.get('f')?.toFloat32() ?? []), [1.25]);
    assert.deepEqual(model.constants.get('i')?.toNumbers(), [7]);
    assert.equal(model.constants.get('i')?.dataType, DataType.INT64);
    assert.deepEqual(model.constants.get('shape')?.toNumbers(), [3, 2]);
  });

  it('an int64 Constant tensor stored in int64_data (typed field, not raw)', function () {
    const builder = new GraphBuilder();
    builder.input('x', [2, 3]);
    builder.node('Constant', [], { value: { tensor: { dims: [2], dataType: DataType.INT64, int64Data: [6, 1] } } }, { outputs: ['shape'] });
    builder.node('Reshape', ['x', 'shape'], {}, { outputs: ['y'] });
    builder.output('y');
    assert.deepEqual(modelOf(builder).constants.get('shape')?.toNumbers(), [6, 1]);
  });

  it('a Constant with no value at all is a CORRUPT file', function () {
    const builder = new GraphBuilder();
    builder.input('x', [1]);
    builder.node('Constant', [], {}, { name: 'empty', outputs: ['c'] });
    builder.node('Add', ['x', 'c'], {}, { outputs: ['y'] });
    builder.output('y');
    assert.throws(() => modelOf(builder), (error: Error & { code?: string }) => error.code === 'CORRUPT' && /Constant node 'empty' has no value/.test(error.message));
  });
});

describe('constants: weights through Reshape / Transpose / Identity / Flatten', function () {
  // W is stored as [in=3, out=4] (row-major), transposed to the [out, in] that Gemm(transB=1) wants.
  const stored = Float32Array.from({ length: 12 }, (_, i) => i + 1); // [[1,2,3,4],[5,6,7,8],[9,10,11,12]]

  function transposedGemm(): GraphBuilder {
    const builder = new GraphBuilder();
    builder.input('x', [2, 3]);
    builder.initializer(float32Tensor('w_in_out', [3, 4], stored));
    builder.node('Transpose', ['w_in_out'], { perm: [1, 0] }, { name: 't', outputs: ['w_out_in'] });
    builder.node('Identity', ['w_out_in'], {}, { name: 'id', outputs: ['w'] });
    builder.node('Gemm', ['x', 'w'], { transB: 1 }, { name: 'fc', outputs: ['y'] });
    builder.output('y');
    return builder;
  }

  it('Transpose of an initializer: dims and values permuted, storage is the initializer', function () {
    const model = modelOf(transposedGemm());
    const t = model.constants.get('w_out_in');
    assert.ok(t);
    assert.deepEqual([...t.dims], [4, 3]);
    assert.deepEqual(Array.from(t.toFloat32()), [1, 5, 9, 2, 6, 10, 3, 7, 11, 4, 8, 12]);
    assert.deepEqual(t.toNumbers(), [1, 5, 9, 2, 6, 10, 3, 7, 11, 4, 8, 12]);
    assert.equal(t.storageName, 'w_in_out');
    assert.deepEqual(t.origin, { kind: 'folded', op: 'Transpose', fromTensor: 'w_in_out' });
    const id = model.constants.get('w');
    assert.ok(id);
    assert.deepEqual(Array.from(id.toFloat32()), [1, 5, 9, 2, 6, 10, 3, 7, 11, 4, 8, 12]);
    assert.deepEqual(id.origin, { kind: 'folded', op: 'Identity', fromTensor: 'w_out_in' });
    assert.equal(id.storageName, 'w_in_out');
  });

  it('the Gemm sees the transposed weight: shape [4, 3], params counted once, layers are only the Gemm', async function () {
    const analysis = await analyzeModel(modelOf(transposedGemm()));
    assert.deepEqual(analysis.layers.map((l) => l.name), ['fc']);
    const fc = layerNamed(analysis, 'fc');
    assert.deepEqual(fc.weightShape, [4, 3]);
    assert.deepEqual(fc.outputShape, [2, 4]);
    assert.equal(fc.macs, 2 * 3 * 4);
    assert.equal(fc.params, 12);
    assert.equal(fc.compressible, true);
  });

  it('Transpose without perm reverses the axes; a 3-D permutation moves values correctly', function () {
    const values = Float32Array.from({ length: 24 }, (_, i) => i); // dims [2, 3, 4]
    const builder = new GraphBuilder();
    builder.input('x', [1]);
    builder.initializer(float32Tensor('v', [2, 3, 4], values));
    builder.node('Transpose', ['v'], {}, { outputs: ['rev'] });
    builder.node('Transpose', ['v'], { perm: [1, 2, 0] }, { outputs: ['p120'] });
    builder.node('Add', ['x', 'x'], {}, { outputs: ['y'] });
    builder.output('y');
    const model = modelOf(builder);
    const rev = model.constants.get('rev');
    const p120 = model.constants.get('p120');
    assert.ok(rev && p120);
    assert.deepEqual([...rev.dims], [4, 3, 2]);
    assert.deepEqual([...p120.dims], [3, 4, 2]);
    const at = (i: number, j: number, k: number): number => i * 12 + j * 4 + k; // value of v[i][j][k]
    const revValues = rev.toFloat32();
    const permValues = p120.toFloat32();
    for (let i = 0; i < 2; i++) {
      for (let j = 0; j < 3; j++) {
        for (let k = 0; k < 4; k++) {
          assert.equal(revValues[k * 6 + j * 2 + i], at(i, j, k), `rev[${k}][${j}][${i}]`);
          assert.equal(permValues[j * 8 + k * 2 + i], at(i, j, k), `p120[${j}][${k}][${i}]`);
        }
      }
    }
    assert.deepEqual(transposeValues(Float64Array.from([1, 2, 3, 4, 5, 6]), [2, 3], [1, 0]), Float64Array.from([1, 4, 2, 5, 3, 6]));
  });

  it('Reshape of an initializer with 0 and -1 in the shape, and Flatten of one', function () {
    const values = randomFloats(2 * 3 * 4, 5);
    const builder = new GraphBuilder();
    builder.input('x', [1]);
    builder.initializer(float32Tensor('v', [2, 3, 4], values));
    builder.initializer(int64Tensor('s', [2], [0, -1]));
    builder.node('Reshape', ['v', 's'], {}, { outputs: ['r'] });
    builder.node('Flatten', ['v'], { axis: 2 }, { outputs: ['f'] });
    builder.node('Reshape', ['r', 's'], {}, { outputs: ['rr'] });
    builder.node('Add', ['x', 'x'], {}, { outputs: ['y'] });
    builder.output('y');
    const model = modelOf(builder);
    assert.deepEqual([...(model.constants.get('r')?.dims ?? [])], [2, 12]);
    assert.deepEqual([...(model.constants.get('f')?.dims ?? [])], [6, 4]);
    assert.deepEqual([...(model.constants.get('rr')?.dims ?? [])], [2, 12]);
    assert.deepEqual(model.constants.get('r')?.toFloat32(), values);
    assert.equal(model.constants.get('rr')?.storageName, 'v');
  });

  it('a MatMul weight through Reshape of a Transpose of a Constant node', async function () {
    const w = randomFloats(4 * 2 * 3, 9); // stored [4, 2, 3] -> transpose [2, 3, 4] -> reshape [6, 4]
    const builder = new GraphBuilder();
    builder.input('x', [5, 6]);
    builder.node('Constant', [], { value: { tensor: float32Tensor('', [4, 2, 3], w) } }, { name: 'k', outputs: ['w0'] });
    builder.node('Transpose', ['w0'], { perm: [1, 2, 0] }, { outputs: ['w1'] });
    builder.initializer(int64Tensor('shape', [2], [6, 4]));
    builder.node('Reshape', ['w1', 'shape'], {}, { outputs: ['w2'] });
    builder.node('MatMul', ['x', 'w2'], {}, { name: 'mm', outputs: ['y'] });
    builder.output('y');
    const model = modelOf(builder);
    const w2 = model.constants.get('w2');
    assert.ok(w2);
    assert.deepEqual([...w2.dims], [6, 4]);
    const expected = transposeValues(w, [4, 2, 3], [1, 2, 0]);
    assert.deepEqual(w2.toFloat32(), expected);
    // w2[r][c] = w0[c][r / 3][r % 3]
    assert.equal(w2.toFloat32()[1 * 4 + 2], w[2 * 6 + 0 * 3 + 1]);
    const analysis = await analyzeModel(model);
    const mm = layerNamed(analysis, 'mm');
    assert.equal(mm.macs, 5 * 6 * 4);
    assert.equal(mm.params, 24);
    assert.deepEqual(mm.weightShape, [6, 4]);
    assert.equal(analysis.totals.params, 24, 'the int64 shape is not a parameter');
  });

  it('a weight shared by two layers counts once', async function () {
    const builder = new GraphBuilder();
    builder.input('x', [1, 8]);
    builder.initializer(float32Tensor('w', [8, 8], randomFloats(64, 2)));
    builder.node('MatMul', ['x', 'w'], {}, { name: 'a', outputs: ['h'] });
    builder.node('MatMul', ['h', 'w'], {}, { name: 'b', outputs: ['y'] });
    builder.output('y');
    const analysis = await analyzeModel(modelOf(builder));
    assert.equal(layerNamed(analysis, 'a').params, 64);
    assert.equal(layerNamed(analysis, 'b').params, 0);
    assert.equal(analysis.totals.params, 64);
    assert.equal(analysis.totals.macs, 2 * 64);
  });
});

// Regression cases for the crashes and hangs the ONNX fuzzer found, each reduced to a small model:
// a Slice axis of 2^31 (grew a dims array for minutes), enormous and negative declared input dims, a
// damaged tensor name holding newlines (multi-line message), a break-even search on dims past 2^53
// (endless loop), and a shape run that would allocate gigabytes of zero input.
import * as assert from 'node:assert/strict';
import { analyzeModel } from '../../../engine/graph/analyzeModel';
import { breakEvenRank } from '../../../engine/graph/lowRankCost';
import { DataType } from '../../../engine/onnx/dataType';
import { float32Tensor, GraphBuilder, int64Tensor } from '../../../engine/onnx/graphBuilder';
import { expectHalocError, modelOf } from '../testSupport';

/** Milliseconds `action` takes. */
async function timed(action: () => Promise<unknown>): Promise<number> {
  const started = Date.now();
  await action();
  return Date.now() - started;
}

describe('fuzz regressions: reader and analysis', function () {
  it('a Slice whose axes say 2^31 - 1 ends quickly (the axis is refused, the layer unresolved), not after growing a 2^31 array', async function () {
    const b = new GraphBuilder();
    b.input('x', [1, 4, 8, 8]);
    for (const [name, values] of [['st', [0, 0]], ['en', [2, 4]], ['ax', [-1, 2 ** 31 - 1]]] as const) b.initializer(int64Tensor(name, [2], values));
    b.node('Slice', ['x', 'st', 'en', 'ax'], {}, { name: 'slice', outputs: ['y'] });
    b.output('y');
    const ms = await timed(() => analyzeModel(modelOf(b), { runtimeFallback: false }));
    assert.ok(ms < 2000, `took ${ms} ms`);
  });

  it('a Slice over a declared size of 2^52 counts its range instead of listing it', async function () {
    const b = new GraphBuilder();
    b.input('x', [1, 2 ** 52]);
    b.initializer(int64Tensor('st', [1], [0]));
    b.initializer(int64Tensor('en', [1], [2 ** 52]));
    b.initializer(int64Tensor('ax', [1], [1]));
    b.node('Slice', ['x', 'st', 'en', 'ax'], {}, { name: 'slice', outputs: ['y'] });
    b.node('Relu', ['y'], {}, { name: 'relu', outputs: ['z'] });
    b.output('z');
    const model = modelOf(b);
    const ms = await timed(() => analyzeModel(model, { runtimeFallback: false }));
    assert.ok(ms < 2000, `took ${ms} ms`);
  });

  it('an input dim past 2^53: CORRUPT naming the input and the figure; a negative one is treated as unknown', async function () {
    const huge = new GraphBuilder();
    huge.input('x', [1, 3, 2 ** 62, 8]);
    huge.node('Relu', ['x'], {}, { name: 'relu', outputs: ['y'] });
    huge.output('y');
    const error = await expectHalocError(() => analyzeModel(modelOf(huge), { runtimeFallback: false }), 'CORRUPT');
    assert.match(error.message, /input 'x' declares size 4611686018427388000 for axis 2/);
    const negative = new GraphBuilder();
    negative.input('x', [1, 3, -1, 8]);
    negative.node('Relu', ['x'], {}, { name: 'relu', outputs: ['y'] });
    negative.output('y');
    const analysis = await analyzeModel(modelOf(negative), { runtimeFallback: false });
    assert.deepEqual(analysis.model.inputs[0]?.shape, [1, 3, 'x_dim2', 8]);
  });

  it('a tensor name holding newlines and control characters still gives a one-line message', async function () {
    const b = new GraphBuilder();
    b.input('x', [1, 4]);
    b.initializer({ ...float32Tensor('w\nJ\u0001\r', [4, 4], new Float32Array(16)), rawData: new Uint8Array(10) });
    b.node('MatMul', ['x', 'w\nJ\u0001\r'], {}, { name: 'mm', outputs: ['y'] });
    b.output('y');
    const error = await expectHalocError(() => modelOf(b), 'CORRUPT');
    assert.match(error.message, /tensor 'w\\nJ\\x01\\r'/);
  });

  it('the break-even search ends on dims past 2^53', function () {
    const rank = breakEvenRank({ kind: 'svd', rows: 1, inFeatures: 2 ** 60, outFeatures: 2 ** 60 });
    assert.ok(Number.isFinite(rank));
  });

  it('the shape run refuses an input that would need gigabytes of zeros (a note, no allocation)', async function () {
    const b = new GraphBuilder();
    b.input('x', [1, 2 ** 20, 2 ** 20], DataType.FLOAT);
    b.node('NoSuchOp', ['x'], {}, { name: 'odd', outputs: ['y'] });
    b.output('y');
    const before = process.memoryUsage.rss();
    const analysis = await analyzeModel(modelOf(b));
    assert.ok(process.memoryUsage.rss() - before < 2 ** 30, 'no gigabyte allocation');
    assert.match(analysis.model.notes.join(' '), /would need \d+ bytes of zeros/);
  });
});

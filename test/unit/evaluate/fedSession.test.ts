// Sessions with their large weights fed as inputs: the same outputs as the model opened from its
// bytes, whether a weight is stored inline (aligned: used in place; unaligned: copied) or in an external
// data file; small weights and non-float ones stay initializers.
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import type * as Ort from 'onnxruntime-node';
import { liftLargeInitializers, openFedSession } from '../../../engine/evaluate/fedSession';
import { openInferenceSession } from '../../../engine/evaluate/inferenceSession';
import { float32Tensor, GraphBuilder, int64Tensor } from '../../../engine/onnx/graphBuilder';
import { readOnnxModel, type OnnxModel } from '../../../engine/onnx/onnxModel';
import { encodeOnnx, inlineExternalData, writeOnnxFile } from '../../../engine/onnx/writeOnnx';
import { makeTempDir, modelOf, randomFloats, removeDir } from '../testSupport';

/** x [2, 64] -> MatMul w1 [64, 32] -> Add b [32] -> Reshape [2, 32] -> MatMul w2 [32, 8]. */
function twoLayers(): GraphBuilder {
  const b = new GraphBuilder({ name: 'two-layers' });
  b.input('x', [2, 64]);
  b.node('MatMul', ['x', b.initializer(float32Tensor('w1', [64, 32], randomFloats(64 * 32, 1)))], {}, { outputs: ['h'] });
  b.node('Add', ['h', b.initializer(float32Tensor('b', [32], randomFloats(32, 2)))], {}, { outputs: ['hb'] });
  b.node('Reshape', ['hb', b.initializer(int64Tensor('shape', [2], [2, 32]))], {}, { outputs: ['hr'] });
  b.node('MatMul', ['hr', b.initializer(float32Tensor('w2', [32, 8], randomFloats(32 * 8, 3)))], {}, { outputs: ['y'] });
  b.output('y', [2, 8]);
  return b;
}

async function outputOf(run: (feeds: Record<string, Ort.Tensor>) => Promise<Ort.InferenceSession.ReturnType>): Promise<Float32Array> {
  const ort = await import('onnxruntime-node');
  return (await run({ x: new ort.Tensor('float32', randomFloats(128, 9), [2, 64]) })).y!.data as Float32Array;
}

async function expected(model: OnnxModel): Promise<Float32Array> {
  const session = await openInferenceSession(encodeOnnx(inlineExternalData(model.proto, model.constants)), 'the reference', 1);
  try {
    return await outputOf((feeds) => session.run(feeds));
  } finally {
    await session.release();
  }
}

async function fedOutput(model: OnnxModel, feedBytes: number): Promise<{ output: Float32Array; inputs: readonly string[] }> {
  const session = await openFedSession(model, 'the fed model', 1, { feedBytes });
  try {
    return { output: await outputOf((feeds) => session.run(feeds)), inputs: session.inputNames };
  } finally {
    await session.release();
  }
}

describe('evaluate: sessions with their large weights fed', function () {
  let dir: string | undefined;
  before(() => (dir = makeTempDir('haloc-fed-session-')));
  after(() => removeDir(dir));

  it('lifts the float initializers of at least feedBytes into inputs, leaves the others (and int64 ones) in place', function () {
    const model = modelOf(twoLayers());
    const { proto, weights } = liftLargeInitializers(model.proto, model.constants, 4 * 32 * 8 + 1);
    assert.deepEqual([...weights.keys()], ['w1']);
    assert.deepEqual(weights.get('w1')?.dims, [64, 32]);
    assert.deepEqual((proto.graph?.initializer ?? []).map((t) => t.name), ['b', 'shape', 'w2']);
    assert.ok((proto.graph?.input ?? []).some((i) => i.name === 'w1'), 'w1 is a graph input');
    assert.equal(liftLargeInitializers(model.proto, model.constants, 2 ** 30).proto, model.proto, 'nothing to lift: the model as it is');
  });

  it('uses aligned stored values in place and copies unaligned ones, with the same values', function () {
    const values = randomFloats(64 * 32, 1);
    const aligned = { name: 'w', dims: [64, 32], dataType: 1, rawData: new Uint8Array(values.buffer) };
    const shifted = new Uint8Array(values.byteLength + 1);
    shifted.set(new Uint8Array(values.buffer), 1);
    const unaligned = { ...aligned, rawData: shifted.subarray(1) };
    const proto = (t: typeof aligned) => ({ graph: { initializer: [t] } });
    const inPlace = liftLargeInitializers(proto(aligned), new Map(), 1).weights.get('w')?.values;
    const copied = liftLargeInitializers(proto(unaligned), new Map(), 1).weights.get('w')?.values;
    assert.equal(inPlace?.buffer, values.buffer, 'aligned: a view of the stored bytes');
    assert.notEqual(copied?.buffer, shifted.buffer, 'unaligned: a copy');
    assert.deepEqual(copied, values);
  });

  for (const feedBytes of [1, 4 * 32 * 8 + 1, 2 ** 30]) {
    it(`gives the outputs of the model opened from its bytes (weights of ${feedBytes} bytes and more fed)`, async function () {
      const model = modelOf(twoLayers());
      const fed = await fedOutput(model, feedBytes);
      assert.deepEqual(fed.inputs, ['x'], 'the fed weights are not among the inputs a caller gives');
      assert.deepEqual(fed.output, await expected(model));
    });
  }

  it('feeds weights stored in an external data file', async function () {
    const file = path.join(dir!, 'external.onnx');
    writeOnnxFile(twoLayers().build(), file, { externalDataMinBytes: 1 });
    const model = readOnnxModel(file);
    assert.ok((model.proto.graph?.initializer ?? []).filter((t) => t.dataType === 1).every((t) => t.dataLocation === 1), 'every float initializer is external');
    assert.deepEqual((await fedOutput(model, 1)).output, await expected(model));
  });
});

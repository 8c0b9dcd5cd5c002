// End-to-end check of decoding and preprocessing: ResNet-20 from ../shared/models, run in
// onnxruntime-node on the first 500 images of the CIFAR-10 test tar, must score far above chance.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { batches } from '../../../engine/data/batches';
import { loadDataset } from '../../../engine/data/loadDataset';
import { cifarResnetPreprocessing } from '../../../engine/data/preprocessing';

/** The repository root: the nearest folder above this file with a package.json. */
function repoRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
}

describe('data: CIFAR-10 test tar through ResNet-20', () => {
  const shared = path.resolve(repoRoot(), '..', 'shared');
  const tar = path.join(shared, 'datasets', 'cifar10-test-jpeg.tar');
  const model = path.join(shared, 'models', 'resnet20-cifar10.onnx');

  it('reaches > 60% top-1 on 500 images with the README preprocessing', async function () {
    if (!fs.existsSync(tar) || !fs.existsSync(model)) {
      console.log(`    (skipped: ${tar} or ${model} not found)`);
      this.skip();
    }
    const { dataset } = loadDataset(tar, cifarResnetPreprocessing, { limit: 500, cacheDir: null });
    assert.equal(dataset.count, 500);
    assert.deepEqual(dataset.classNames, ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']);
    assert.deepEqual([...new Set(dataset.labels)].sort(), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1 });
    let correct = 0;
    try {
      for (const batch of batches(dataset, { batchSize: 100 })) {
        const input = new ort.Tensor('float32', batch.images, [batch.size, 3, 32, 32]);
        const output = (await session.run({ [session.inputNames[0] ?? 'input']: input }))[session.outputNames[0] ?? ''];
        const logits = output?.data as Float32Array;
        for (let i = 0; i < batch.size; i++) {
          const row = logits.subarray(i * 10, i * 10 + 10);
          if (row.indexOf(Math.max(...row)) === batch.labels?.[i]) correct++;
        }
      }
    } finally {
      await session.release();
    }
    const accuracy = correct / dataset.count;
    console.log(`    ResNet-20 top-1 on 500 CIFAR-10 test JPEGs: ${(100 * accuracy).toFixed(1)}%`);
    assert.ok(accuracy > 0.6, `top-1 ${accuracy} is not well above chance (0.1): decoding or preprocessing is wrong`);
  });
});

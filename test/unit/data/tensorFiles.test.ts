// .npy / .npz sources: float32 and uint8 images in either layout, integer labels, errors.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { zipSync } from 'fflate';
import { loadDataset } from '../../../engine/data/loadDataset';
import { readTensorFile } from '../../../engine/data/readTensorFile';
import { assertClose, assertHalocError, npyBytes, tempDir } from './dataTestSupport';

describe('data: .npy and .npz tensors', () => {
  let dir: string;
  beforeEach(() => (dir = tempDir()));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reads uint8 NHWC images and a separate labels .npy, then preprocesses them', () => {
    // 2 images of 1x2 pixels, 3 channels: values 0..11
    fs.writeFileSync(path.join(dir, 'x.npy'), npyBytes('|u1', [2, 1, 2, 3], Array.from({ length: 12 }, (_, i) => i * 20)));
    fs.writeFileSync(path.join(dir, 'y.npy'), npyBytes('<i8', [2], [1, 0]));
    const { dataset } = loadDataset(path.join(dir, 'x.npy'), { scale: 1 / 20, layout: 'NCHW' }, { labelsPath: path.join(dir, 'y.npy') });
    assert.deepEqual([dataset.count, dataset.channels, dataset.height, dataset.width], [2, 3, 1, 2]);
    assertClose(dataset.images.subarray(0, 6), [0, 3, 1, 4, 2, 5]);
    assert.deepEqual([...(dataset.labels ?? [])], [1, 0]);
    assert.deepEqual(dataset.classNames, ['0', '1']);
  });

  it('reads float32 NCHW images and int labels from an .npz, without rescaling floats by default', () => {
    const x = npyBytes('<f4', [1, 3, 2, 2], Array.from({ length: 12 }, (_, i) => i / 10));
    const npz = zipSync({ 'x.npy': x, 'y.npy': npyBytes('<i4', [1], [4]) });
    fs.writeFileSync(path.join(dir, 'd.npz'), npz);
    const raw = readTensorFile(path.join(dir, 'd.npz'));
    assert.deepEqual([raw.count, raw.height, raw.width, raw.channels], [1, 2, 2, 3]);
    assertClose(raw.pixels.subarray(0, 6), [0, 0.4, 0.8, 0.1, 0.5, 0.9]);
    const { dataset } = loadDataset(path.join(dir, 'd.npz'), { layout: 'NCHW' });
    assertClose(dataset.images, Array.from({ length: 12 }, (_, i) => i / 10));
    assert.deepEqual([...(dataset.labels ?? [])], [4]);
  });

  it('reads [N,H,W] as one channel and resizes float images to --size', () => {
    fs.writeFileSync(path.join(dir, 'g.npy'), npyBytes('<f8', [1, 4, 4], Array.from({ length: 16 }, (_, i) => i)));
    const { dataset } = loadDataset(path.join(dir, 'g.npy'), { size: [2, 2] });
    assert.equal(dataset.channels, 1);
    assertClose(dataset.images, [2.5, 4.5, 10.5, 12.5]);
  });

  it('gives one-line errors for a missing file, a non-npy file, wrong labels and a missing images array', () => {
    assertHalocError(() => readTensorFile(path.join(dir, 'none.npy')), 'NOT_FOUND', /none\.npy: cannot be read/);
    fs.writeFileSync(path.join(dir, 'bad.npy'), 'hello world, not numpy');
    assertHalocError(() => readTensorFile(path.join(dir, 'bad.npy')), 'CORRUPT', /bad\.npy: not a readable \.npy array/);
    fs.writeFileSync(path.join(dir, 'x.npy'), npyBytes('|u1', [2, 2, 2], new Array(8).fill(0)));
    fs.writeFileSync(path.join(dir, 'y.npy'), npyBytes('<i4', [3], [0, 1, 2]));
    assertHalocError(() => readTensorFile(path.join(dir, 'x.npy'), { labelsPath: path.join(dir, 'y.npy') }), 'BAD_ARGUMENT', /labels must be 2 integers/);
    fs.writeFileSync(path.join(dir, 'z.npz'), zipSync({ 'other.npy': npyBytes('<i4', [1], [0]) }));
    assertHalocError(() => readTensorFile(path.join(dir, 'z.npz')), 'NOT_FOUND', /z\.npz: no images array \(found other\)/);
    fs.writeFileSync(path.join(dir, 'broken.npz'), 'PK not really');
    assertHalocError(() => readTensorFile(path.join(dir, 'broken.npz')), 'CORRUPT', /broken\.npz: not a readable \.npz archive/);
  });
});

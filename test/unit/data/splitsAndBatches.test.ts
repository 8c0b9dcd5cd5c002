// Seeded splits (deterministic, disjoint, stratified), batches (seeded shuffle per epoch) and
// augmentation (deterministic per seed; crop shifts and flips as specified).
import * as assert from 'node:assert/strict';
import { augmentBatch } from '../../../engine/data/augment';
import { batches } from '../../../engine/data/batches';
import type { ImageDataset } from '../../../engine/data/imageSet';
import { loadDataset } from '../../../engine/data/loadDataset';
import { splitIndices } from '../../../engine/data/splits';
import { assertHalocError } from './dataTestSupport';

/** 100 labels: class 0 x50, class 1 x30, class 2 x20, interleaved. */
const labels = Int32Array.from({ length: 100 }, (_, i) => (i % 10 < 5 ? 0 : i % 10 < 8 ? 1 : 2));
const fractions = { weights: 0.6, architecture: 0.2, test: 0.2 };

function countOf(indices: Int32Array, label: number): number {
  return [...indices].filter((i) => labels[i] === label).length;
}

describe('data: splits, batches, augmentation', () => {
  it('splits deterministically per seed into disjoint, covering, stratified parts', () => {
    const a = splitIndices(100, labels, fractions, 7);
    assert.deepEqual(splitIndices(100, labels, fractions, 7), a);
    assert.notDeepEqual(splitIndices(100, labels, fractions, 8).test, a.test);
    const all = [...a.weights, ...a.architecture, ...a.test].sort((x, y) => x - y);
    assert.deepEqual(all, Array.from({ length: 100 }, (_, i) => i));
    assert.deepEqual([a.weights.length, a.architecture.length, a.test.length], [60, 20, 20]);
    assert.deepEqual([countOf(a.test, 0), countOf(a.test, 1), countOf(a.test, 2)], [10, 6, 4]);
    assert.deepEqual([countOf(a.weights, 0), countOf(a.weights, 1), countOf(a.weights, 2)], [30, 18, 12]);
  });

  it('leaves images out when the fractions sum to less than 1, works without labels, and rejects bad fractions', () => {
    const part = splitIndices(10, undefined, { small: 0.25 }, 1);
    assert.equal(part.small.length, 3, 'round(2.5) images');
    assertHalocError(() => splitIndices(10, undefined, { a: 0.7, b: 0.7 }, 1), 'BAD_ARGUMENT', /sum to at most 1/);
  });

  const { dataset } = loadDataset({ synthetic: { count: 10, height: 2, width: 2, channels: 1, classes: 2, seed: 3 } }, { scale: 1 });

  it('makes synthetic data reproducibly from a seed', () => {
    assert.deepEqual(loadDataset({ synthetic: { count: 10, height: 2, width: 2, channels: 1, classes: 2, seed: 3 } }, { scale: 1 }).dataset, dataset);
    assert.deepEqual([...(dataset.labels ?? [])], [0, 1, 0, 1, 0, 1, 0, 1, 0, 1]);
  });

  it('batches every image once per epoch, shuffled by seed and epoch, with matching labels', () => {
    const epoch = (seed: number | undefined, number: number): number[][] => [...batches(dataset, { batchSize: 4, ...(seed === undefined ? {} : { seed }), epoch: number })].map((b) => [...b.indices]);
    assert.deepEqual(epoch(undefined, 0), [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
    assert.deepEqual(epoch(5, 0), epoch(5, 0));
    assert.notDeepEqual(epoch(5, 0), epoch(5, 1));
    assert.deepEqual(epoch(5, 1).flat().sort((a, b) => a - b), Array.from({ length: 10 }, (_, i) => i));
    for (const batch of batches(dataset, { batchSize: 3, seed: 2, dropLast: true })) {
      assert.equal(batch.size, 3);
      batch.indices.forEach((index, i) => {
        assert.equal(batch.labels?.[i], dataset.labels?.[index]);
        assert.deepEqual([...batch.images.subarray(i * 4, i * 4 + 4)], [...dataset.images.subarray(index * 4, index * 4 + 4)]);
      });
    }
    const subset = [...batches(dataset, { batchSize: 8, indices: Int32Array.of(9, 2) })];
    assert.deepEqual(subset.map((b) => [...b.indices]), [[9, 2]]);
  });

  it('augments deterministically per seed: shifts within the padding (filled) and flips', () => {
    // One 1-channel 3x3 image 1..9, NCHW.
    const image = Float32Array.from({ length: 9 }, (_, i) => i + 1);
    const shape = { count: 1, channels: 1, height: 3, width: 3, layout: 'NCHW' as const };
    assert.deepEqual([...augmentBatch(image, shape, { padding: 0, flip: true }, () => 0.1)], [3, 2, 1, 6, 5, 4, 9, 8, 7]);
    assert.deepEqual([...augmentBatch(image, shape, { padding: 0, flip: true }, () => 0.9)], [...image]);
    // random 0 -> shift by -padding in y and x: out(y, x) = in(y - 1, x - 1), fill outside.
    assert.deepEqual([...augmentBatch(image, shape, { padding: 1, flip: false, fill: [-1] }, () => 0)], [-1, -1, -1, -1, 1, 2, -1, 4, 5]);
    const big = loadDataset({ synthetic: { count: 8, height: 6, width: 6, channels: 3, classes: 2, seed: 1 } }, { layout: 'NHWC' }).dataset;
    const run = (seed: number): Float32Array[] => [...batches(big, { batchSize: 4, seed, augment: { padding: 2, flip: true } })].map((b) => b.images);
    assert.deepEqual(run(11), run(11));
    assert.notDeepEqual(run(11), run(12));
  });

  it('rejects a batch size below 1', () => {
    const empty: ImageDataset = { ...dataset };
    assertHalocError(() => [...batches(empty, { batchSize: 0 })], 'BAD_ARGUMENT', /batch size must be a positive integer/);
  });
});

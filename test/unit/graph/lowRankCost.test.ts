// MACs of the low-rank rewrites and the ranks derived from them, against values worked out by hand.
import * as assert from 'node:assert/strict';
import { breakEvenRank, fullRankMacs, lowRankMacs, maxUsefulRank, tuckerRanks, type LowRankShape } from '../../../engine/graph/lowRankCost';

describe('lowRankCost: SVD (Gemm, MatMul, 1x1 conv)', function () {
  const gemm: LowRankShape = { kind: 'svd', rows: 3, inFeatures: 5, outFeatures: 7 };

  it('full = rows x in x out; rank r = rows x r x (in + out)', function () {
    assert.equal(fullRankMacs(gemm), 3 * 5 * 7); // 105
    assert.equal(lowRankMacs(gemm, 1), 3 * 1 * 12); // 36
    assert.equal(lowRankMacs(gemm, 2), 72);
    assert.equal(lowRankMacs(gemm, 3), 108);
  });

  it('max useful rank min(in, out); break-even: 36 r < 105 -> 2', function () {
    assert.equal(maxUsefulRank(gemm), 5);
    assert.equal(breakEvenRank(gemm), 2);
  });

  it('ResNet FC 64 -> 10: 74 r < 640 -> r <= 8', function () {
    const fc: LowRankShape = { kind: 'svd', rows: 1, inFeatures: 64, outFeatures: 10 };
    assert.equal(fullRankMacs(fc), 640);
    assert.equal(maxUsefulRank(fc), 10);
    assert.equal(breakEvenRank(fc), 8); // 8 x 74 = 592 < 640, 9 x 74 = 666
  });

  it('a layer no factorization helps: in 1 -> out 10 gives break-even rank 0', function () {
    const tiny: LowRankShape = { kind: 'svd', rows: 4, inFeatures: 1, outFeatures: 10 };
    assert.equal(fullRankMacs(tiny), 40);
    assert.equal(lowRankMacs(tiny, 1), 44);
    assert.equal(breakEvenRank(tiny), 0);
  });

  it('a square 512 x 512 matrix over 49 rows: 49 r 1024 < 49 x 512^2 -> r <= 255', function () {
    const square: LowRankShape = { kind: 'svd', rows: 49, inFeatures: 512, outFeatures: 512 };
    assert.equal(breakEvenRank(square), 255);
    assert.equal(maxUsefulRank(square), 512);
  });
});

describe('lowRankCost: Tucker-2 (k x k conv)', function () {
  // ResNet-20 stage-1 conv: 16 -> 16, 3x3 at 32x32. Rank r: 1024 x 16 r + 1024 x (9 r^2 + 16 r).
  const stage1: LowRankShape = { kind: 'tucker2', inChannels: 16, outChannels: 16, kernelElements: 9, inputPositions: 1024, outputPositions: 1024 };

  it('full rank MACs = 1024 x 16 x 16 x 9 = 2,359,296', function () {
    assert.equal(fullRankMacs(stage1), 2_359_296);
  });

  it('rank r MACs = 1024 (32 r + 9 r^2)', function () {
    for (const r of [1, 4, 8, 16]) assert.equal(lowRankMacs(stage1, r), 1024 * (32 * r + 9 * r * r), `rank ${r}`);
  });

  it('break-even: 9 r^2 + 32 r < 2304 -> r = 14 (2212), not 15 (2505); max useful 16', function () {
    assert.equal(breakEvenRank(stage1), 14);
    assert.equal(maxUsefulRank(stage1), 16);
  });

  it('64 -> 64 3x3 at 8x8: 9 r^2 + 128 r < 36864 -> r = 57', function () {
    const stage3: LowRankShape = { kind: 'tucker2', inChannels: 64, outChannels: 64, kernelElements: 9, inputPositions: 64, outputPositions: 64 };
    assert.equal(breakEvenRank(stage3), 57);
  });

  it('a strided 16 -> 32 conv (32x32 -> 16x16): ranks clip per mode, break-even 20, max useful 32', function () {
    const down: LowRankShape = { kind: 'tucker2', inChannels: 16, outChannels: 32, kernelElements: 9, inputPositions: 1024, outputPositions: 256 };
    assert.equal(fullRankMacs(down), 256 * 16 * 32 * 9); // 1,179,648
    assert.deepEqual(tuckerRanks(down, 20), { rankIn: 16, rankOut: 20 });
    // r = 20: 1024 x 16 x 16 + 256 x (16 x 20 x 9 + 20 x 32) = 262,144 + 901,120 = 1,163,264
    assert.equal(lowRankMacs(down, 20), 1_163_264);
    // r = 21: 262,144 + 256 x (3024 + 672) = 1,208,320 > full
    assert.equal(lowRankMacs(down, 21), 1_208_320);
    assert.equal(breakEvenRank(down), 20);
    assert.equal(maxUsefulRank(down), 32);
  });

  it('a 1-channel input conv (MNIST first layer): max useful rank is the output channels', function () {
    const first: LowRankShape = { kind: 'tucker2', inChannels: 1, outChannels: 8, kernelElements: 25, inputPositions: 784, outputPositions: 784 };
    assert.equal(maxUsefulRank(first), 8);
    assert.deepEqual(tuckerRanks(first, 8), { rankIn: 1, rankOut: 8 });
  });
});

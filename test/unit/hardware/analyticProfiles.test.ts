// The analytic (roofline) target profiles against values computed by hand in this file from the
// documented formula, with each profile's numbers written out as literals:
//   time = max(2 x positions x tile(Cin) x tile(Cout) x k / (peak x efficiency),
//              (inputPositions x Cin + Cin x Cout x k + positions x Cout) x bytes / bandwidth) + overhead
// with tile(c) = c rounded up to the profile's channel tile. Also: latency is constant inside a tile
// and jumps at its boundary, every profile documents its source, estimated tables say so.
import * as assert from 'node:assert/strict';
import { analyticProfiles, denseOpMs, estimateLayerMs, findProfile, type AnalyticProfile, type DenseOp } from '../../../engine/hardware/analyticProfiles';
import { estimateLatencyTable } from '../../../engine/hardware/estimateLatencyTable';
import type { LowRankShape } from '../../../engine/graph/lowRankCost';
import { analyzed, twinConvModel } from './hardwareSupport';

/** The shipped numbers, copied by hand from the profiles' documentation. */
const literals: Readonly<Record<string, { peakGflops: number; efficiency: number; memoryGBps: number; kernelOverheadUs: number; channelTile: number; bytesPerValue: number }>> = {
  'desktop-gpu': { peakGflops: 35_580, efficiency: 0.5, memoryGBps: 936, kernelOverheadUs: 5, channelTile: 32, bytesPerValue: 4 },
  'embedded-gpu': { peakGflops: 665, efficiency: 0.5, memoryGBps: 59.7, kernelOverheadUs: 10, channelTile: 16, bytesPerValue: 4 },
  'systolic-asic': { peakGflops: 512, efficiency: 0.8, memoryGBps: 16, kernelOverheadUs: 2, channelTile: 16, bytesPerValue: 1 },
};

/** Published figures each profile's source must state (peak and bandwidth). */
const documented: Readonly<Record<string, readonly string[]>> = {
  'desktop-gpu': ['35.58 TFLOPS', '936 GB/s'],
  'embedded-gpu': ['0.665 TFLOPS', '59.7 GB/s'],
  'systolic-asic': ['512 GOP/s', '16 GB/s'],
};

function profile(id: string): AnalyticProfile {
  const found = findProfile(id);
  assert.ok(found, `no shipped profile '${id}'`);
  return found;
}

function close(actual: number, expected: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= 1e-12 + 1e-9 * Math.abs(expected), `${what}: ${actual} != ${expected} (by hand)`);
}

/**
 * A compute-bound op: 3x3 conv 64 -> 64 over 56 x 56 positions (a multiple of every tile):
 * FLOPs = 2 x 3136 x 64 x 64 x 9 = 231,211,008; values = 3136 x 64 + 64 x 64 x 9 + 3136 x 64 = 438,272.
 */
const computeBound: DenseOp = { positions: 3136, inputPositions: 3136, inChannels: 64, outChannels: 64, kernelElements: 9 };
/**
 * A memory-bound op: one row of a 1024 -> 1000 matrix product. FLOPs = 2 x 1024 x tile(1000);
 * values = 1024 + 1024 x 1000 + 1000 = 1,026,024 (untiled).
 */
const memoryBound: DenseOp = { positions: 1, inputPositions: 1, inChannels: 1024, outChannels: 1000, kernelElements: 1 };

/** Hand-computed [compute ms, memory ms] of the two ops per profile (FLOP / (GFLOP/s x 1e6) = ms). */
const byHand: Readonly<Record<string, { computeBound: [number, number]; memoryBound: [number, number]; overheadMs: number }>> = {
  'desktop-gpu': {
    computeBound: [231_211_008 / (35_580 * 0.5 * 1e6), (438_272 * 4) / (936 * 1e6)],
    memoryBound: [(2 * 1024 * 1024) / (35_580 * 0.5 * 1e6), (1_026_024 * 4) / (936 * 1e6)],
    overheadMs: 0.005,
  },
  'embedded-gpu': {
    computeBound: [231_211_008 / (665 * 0.5 * 1e6), (438_272 * 4) / (59.7 * 1e6)],
    memoryBound: [(2 * 1024 * 1008) / (665 * 0.5 * 1e6), (1_026_024 * 4) / (59.7 * 1e6)],
    overheadMs: 0.01,
  },
  'systolic-asic': {
    computeBound: [231_211_008 / (512 * 0.8 * 1e6), (438_272 * 1) / (16 * 1e6)],
    memoryBound: [(2 * 1024 * 1008) / (512 * 0.8 * 1e6), (1_026_024 * 1) / (16 * 1e6)],
    overheadMs: 0.002,
  },
};

/** The documented formula, written independently of the engine, with the literal numbers. */
function roofline(id: string, op: DenseOp): number {
  const p = literals[id];
  assert.ok(p);
  const tile = (c: number): number => Math.ceil(c / p.channelTile) * p.channelTile;
  const computeMs = (2 * op.positions * tile(op.inChannels) * tile(op.outChannels) * op.kernelElements) / (p.peakGflops * p.efficiency * 1e6);
  const memoryMs = ((op.inputPositions * op.inChannels + op.inChannels * op.outChannels * op.kernelElements + op.positions * op.outChannels) * p.bytesPerValue) / (p.memoryGBps * 1e6);
  return Math.max(computeMs, memoryMs) + p.kernelOverheadUs / 1000;
}

/** A strided Tucker-2 layer: 3x3 conv 64 -> 128, 56 x 56 in, 28 x 28 out. */
const tucker: LowRankShape = { kind: 'tucker2', inChannels: 64, outChannels: 128, kernelElements: 9, inputPositions: 3136, outputPositions: 784 };
/** An SVD layer: a 1024 -> 1000 fully-connected layer at batch 8. */
const svd: LowRankShape = { kind: 'svd', rows: 8, inFeatures: 1024, outFeatures: 1000 };

describe('analytic profiles: the shipped numbers', function () {
  it('three profiles (desktop GPU, embedded GPU, systolic ASIC) with unique ids', function () {
    assert.deepEqual(analyticProfiles.map((p) => p.id).sort(), Object.keys(literals).sort());
    assert.equal(new Set(analyticProfiles.map((p) => p.id)).size, analyticProfiles.length);
    assert.equal(findProfile('nope'), undefined);
  });

  for (const id of Object.keys(literals)) {
    it(`${id}: the numbers are those documented here, and the source says where they come from`, function () {
      const p = profile(id);
      const { peakGflops, efficiency, memoryGBps, kernelOverheadUs, channelTile, bytesPerValue } = p;
      assert.deepEqual({ peakGflops, efficiency, memoryGBps, kernelOverheadUs, channelTile, bytesPerValue }, literals[id]);
      assert.ok(p.name.trim().length > 0);
      assert.ok(p.source.trim().length > 40, `${id}: a real source, not '${p.source}'`);
      for (const figure of documented[id] ?? []) assert.ok(p.source.includes(figure), `${id}: the source states '${figure}'`);
      assert.match(p.source, /assumption/, `${id}: the source separates published figures from this project's assumptions`);
    });
  }
});

describe('analytic profiles: denseOpMs against hand-computed values', function () {
  for (const id of Object.keys(literals)) {
    const hand = byHand[id];
    assert.ok(hand);
    it(`${id}: a compute-bound 3x3 conv`, function () {
      const [computeMs, memoryMs] = hand.computeBound;
      assert.ok(computeMs > memoryMs, 'the op is compute-bound on this profile (by hand)');
      close(denseOpMs(computeBound, profile(id)), computeMs + hand.overheadMs, `${id} compute-bound`);
      close(roofline(id, computeBound), computeMs + hand.overheadMs, `${id} compute-bound, independent formula`);
    });

    it(`${id}: a memory-bound single-row matrix product`, function () {
      const [computeMs, memoryMs] = hand.memoryBound;
      assert.ok(memoryMs > computeMs, 'the op is memory-bound on this profile (by hand)');
      close(denseOpMs(memoryBound, profile(id)), memoryMs + hand.overheadMs, `${id} memory-bound`);
    });
  }

  it('embedded-gpu, compute-bound conv, as a plain number: 231,211,008 / 332.5e6 + 0.01 = 0.70537 ms', function () {
    close(denseOpMs(computeBound, profile('embedded-gpu')), 0.695371452631579 + 0.01, 'embedded-gpu');
  });
});

describe('analytic profiles: estimateLayerMs of factorized layers', function () {
  for (const id of Object.keys(literals)) {
    it(`${id}: Tucker-2 at rank 20 is the sum of its three convs (1x1 at the input, kxk strided, 1x1 at the output)`, function () {
      const expected =
        roofline(id, { positions: 3136, inputPositions: 3136, inChannels: 64, outChannels: 20, kernelElements: 1 }) +
        roofline(id, { positions: 784, inputPositions: 3136, inChannels: 20, outChannels: 20, kernelElements: 9 }) +
        roofline(id, { positions: 784, inputPositions: 784, inChannels: 20, outChannels: 128, kernelElements: 1 });
      close(estimateLayerMs(tucker, profile(id), 20), expected, `${id} tucker2 r=20`);
      close(estimateLayerMs(tucker, profile(id)), roofline(id, { positions: 784, inputPositions: 3136, inChannels: 64, outChannels: 128, kernelElements: 9 }), `${id} tucker2 original`);
    });

    it(`${id}: Tucker-2 ranks are clipped per mode (rank 100 on 64 input channels)`, function () {
      const expected =
        roofline(id, { positions: 3136, inputPositions: 3136, inChannels: 64, outChannels: 64, kernelElements: 1 }) +
        roofline(id, { positions: 784, inputPositions: 3136, inChannels: 64, outChannels: 100, kernelElements: 9 }) +
        roofline(id, { positions: 784, inputPositions: 784, inChannels: 100, outChannels: 128, kernelElements: 1 });
      close(estimateLayerMs(tucker, profile(id), 100), expected, `${id} tucker2 r=100`);
    });

    it(`${id}: SVD at rank 64 is the sum of its two matrix products (in -> r, r -> out)`, function () {
      const expected =
        roofline(id, { positions: 8, inputPositions: 8, inChannels: 1024, outChannels: 64, kernelElements: 1 }) +
        roofline(id, { positions: 8, inputPositions: 8, inChannels: 64, outChannels: 1000, kernelElements: 1 });
      close(estimateLayerMs(svd, profile(id), 64), expected, `${id} svd r=64`);
      close(estimateLayerMs(svd, profile(id)), roofline(id, { positions: 8, inputPositions: 8, inChannels: 1024, outChannels: 1000, kernelElements: 1 }), `${id} svd original`);
    });
  }

  it('every factorized layer pays one kernel overhead per op: 3 for Tucker-2, 2 for SVD', function () {
    for (const p of analyticProfiles) {
      const idle: AnalyticProfile = { ...p, peakGflops: Infinity, memoryGBps: Infinity };
      close(estimateLayerMs(tucker, idle, 8), (3 * p.kernelOverheadUs) / 1000, `${p.id} tucker overheads`);
      close(estimateLayerMs(svd, idle, 8), (2 * p.kernelOverheadUs) / 1000, `${p.id} svd overheads`);
      close(estimateLayerMs(tucker, idle), p.kernelOverheadUs / 1000, `${p.id} original overhead`);
    }
  });
});

describe('analytic profiles: tile rounding gives latency steps', function () {
  /** A wide, compute-bound Tucker-2 layer (64 -> 64 3x3 at 56 x 56). */
  const wide: LowRankShape = { kind: 'tucker2', inChannels: 64, outChannels: 64, kernelElements: 9, inputPositions: 3136, outputPositions: 3136 };

  for (const id of ['embedded-gpu', 'systolic-asic']) {
    it(`${id} (16-wide tiles): ranks 17..32 cost the same, rank 33 costs more, rank 16 less`, function () {
      const p = profile(id);
      assert.equal(p.channelTile, 16);
      const at = (r: number): number => estimateLayerMs(wide, p, r);
      for (let r = 17; r <= 32; r++) close(at(r), at(32), `${id} rank ${r}`);
      assert.ok(at(33) > at(32), `${id}: rank 33 (${at(33)}) is above rank 32 (${at(32)})`);
      assert.ok(at(16) < at(17), `${id}: rank 16 (${at(16)}) is below rank 17 (${at(17)})`);
    });
  }

  it('on every profile with unlimited bandwidth (pure compute), latency is constant inside each tile and rises at each boundary', function () {
    for (const shipped of analyticProfiles) {
      const p: AnalyticProfile = { ...shipped, memoryGBps: Infinity };
      const t = p.channelTile;
      const at = (r: number): number => estimateLayerMs(wide, p, r);
      for (let block = 0; (block + 1) * t <= 64; block++) {
        for (let r = block * t + 1; r <= (block + 1) * t; r++) close(at(r), at((block + 1) * t), `${p.id} rank ${r}`);
        if ((block + 1) * t < 64) assert.ok(at((block + 1) * t + 1) > at((block + 1) * t), `${p.id}: a step after rank ${(block + 1) * t}`);
      }
    }
  });
});

describe('estimated latency tables', function () {
  for (const id of Object.keys(literals)) {
    it(`${id}: kind 'estimated', the source names the profile, candidate ranks at the tile`, async function () {
      const p = profile(id);
      const { model, analysis } = await analyzed(twinConvModel(), 1);
      const { table, layerKeys } = estimateLatencyTable(model, analysis, p);
      assert.equal(table.kind, 'estimated');
      assert.ok(table.source.includes(p.name), `the source '${table.source}' names '${p.name}'`);
      assert.ok(table.source.includes(p.source));
      assert.match(table.source, /estimated/);
      assert.equal(table.fingerprint, undefined, 'an estimate has no device fingerprint');
      assert.equal(table.granularity, p.channelTile);
      assert.deepEqual(Object.keys(layerKeys).sort(), ['conv1', 'conv2', 'fc']);
      assert.equal(Object.keys(table.layers).length, 2, 'conv1 and conv2 share an entry');
      for (const layer of analysis.layers.filter((l) => l.compressible)) {
        const entry = table.layers[layerKeys[layer.name] ?? ''];
        assert.ok(entry && layer.lowRankShape && layer.maxRank);
        close(entry.originalMs, estimateLayerMs(layer.lowRankShape, p), `${layer.name} original`);
        // maxRank 8 (convs) and 10 (fc) are below every tile: the only candidate is the largest rank.
        assert.deepEqual(entry.ranks.map((r) => r.rank), [layer.maxRank]);
        for (const r of entry.ranks) close(r.ms, estimateLayerMs(layer.lowRankShape, p, r.rank), `${layer.name} rank ${r.rank}`);
      }
    });
  }

  it('a granularity override sets the candidate ranks', async function () {
    const { model, analysis } = await analyzed(twinConvModel(), 1);
    const { table, layerKeys } = estimateLatencyTable(model, analysis, profile('embedded-gpu'), 4);
    assert.equal(table.granularity, 4);
    assert.deepEqual(table.layers[layerKeys.fc ?? '']?.ranks.map((r) => r.rank), [4, 8, 10]);
    assert.deepEqual(table.layers[layerKeys.conv1 ?? '']?.ranks.map((r) => r.rank), [4, 8]);
  });
});

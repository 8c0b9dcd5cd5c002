// Granularity (HALOC design principle 1) on synthetic latency-vs-rank curves: steps of g in {4, 8, 16,
// 32} with seeded noise up to 20% of a step are found; smooth curves give 1; a curve that steps every 8
// is never taken for 16 (nor 32); a single slow sample does not hide the step; candidate ranks.
import * as assert from 'node:assert/strict';
import { candidateRanks, detectGranularity, fitsSteps, granularityCandidates } from '../../../engine/hardware/granularity';
import { seededUniform } from '../../../engine/random';

const stepMs = 0.1;
const baseMs = 0.5;

/** latency[r - 1] = base + ceil(r / g) x step + uniform noise in [-amplitude, +amplitude] x step, r = 1..n. */
function stepCurve(n: number, g: number, amplitude: number, seed: number): number[] {
  const uniform = seededUniform(seed);
  return Array.from({ length: n }, (_, i) => baseMs + Math.ceil((i + 1) / g) * stepMs + (2 * uniform() - 1) * amplitude * stepMs);
}

/** latency[r - 1] = base + slope x r + uniform noise in [-amplitude, +amplitude] x slope. */
function linearCurve(n: number, slopeMs: number, amplitude: number, seed: number): number[] {
  const uniform = seededUniform(seed);
  return Array.from({ length: n }, (_, i) => baseMs + slopeMs * (i + 1) + (2 * uniform() - 1) * amplitude * slopeMs);
}

const amplitudes = [0, 0.05, 0.1, 0.2];
const seeds = [1, 2, 3, 4, 5, 6, 7, 8];

describe('detectGranularity on synthetic step curves', function () {
  for (const g of [4, 8, 16, 32]) {
    // The sweep samples ranks 1..64; a step of 32 needs at least three blocks, hence 128 ranks.
    const n = g === 32 ? 128 : 64;
    for (const amplitude of amplitudes) {
      it(`steps of ${g} over ranks 1..${n}, noise up to ${100 * amplitude}% of a step: ${g} for every seed`, function () {
        for (const seed of seeds) assert.equal(detectGranularity(stepCurve(n, g, amplitude, 1000 * g + seed)), g, `seed ${seed}`);
      });
    }
  }

  it('steps of 8 or 4 tested for 16 and 32: not a fit, and detection returns the true step', function () {
    for (const g of [4, 8]) {
      for (const amplitude of amplitudes) {
        for (const seed of seeds) {
          const curve = stepCurve(128, g, amplitude, 7 * seed + g);
          assert.equal(fitsSteps(curve, 16), false, `g ${g}, noise ${amplitude}, seed ${seed}: fits 16`);
          assert.equal(fitsSteps(curve, 32), false, `g ${g}, noise ${amplitude}, seed ${seed}: fits 32`);
          assert.equal(fitsSteps(curve, 2 * g), false, `g ${g}, noise ${amplitude}, seed ${seed}: fits ${2 * g}`);
          assert.equal(detectGranularity(curve.slice(0, 64)), g);
        }
      }
    }
  });

  it('a step every 8 tested for 16 is not a fit even without noise', function () {
    const curve = stepCurve(64, 8, 0, 1);
    assert.equal(fitsSteps(curve, 8), true);
    assert.equal(fitsSteps(curve, 16), false);
    assert.notEqual(detectGranularity(curve), 16);
    assert.equal(detectGranularity(curve, [16, 1]), 1, 'with only 16 and 1 to choose from, 16 is refused');
  });

  it('smooth linear curves give 1, with and without noise', function () {
    for (const amplitude of [0, 0.1, 0.3, 0.5]) {
      for (const seed of seeds) assert.equal(detectGranularity(linearCurve(64, 0.01, amplitude, seed)), 1, `noise ${amplitude}, seed ${seed}`);
    }
  });

  it('a flat curve (rank does not matter) and a too short curve give 1', function () {
    assert.equal(detectGranularity(new Array<number>(64).fill(1)), 1);
    assert.equal(detectGranularity(stepCurve(11, 4, 0, 1)), 1, '11 ranks are fewer than three blocks of 4');
    assert.equal(detectGranularity(stepCurve(12, 4, 0, 1)), 4, '12 ranks are three blocks of 4');
    assert.equal(detectGranularity([]), 1);
  });

  it('a decreasing curve is no step curve', function () {
    assert.equal(detectGranularity(stepCurve(64, 8, 0, 1).reverse()), 1);
  });

  it('one slow sample (60% of a step) in a 64-rank sweep does not hide the step', function () {
    for (const g of [4, 8, 16]) {
      for (const rank of [5, 20, 37, 63]) {
        const curve = stepCurve(64, g, 0, 1);
        curve[rank - 1] = (curve[rank - 1] ?? 0) + 0.6 * stepMs;
        assert.equal(detectGranularity(curve), g, `g ${g}, slow sample at rank ${rank}`);
      }
    }
  });

  it('tries the larger steps first', function () {
    assert.deepEqual([...granularityCandidates], [...granularityCandidates].sort((a, b) => b - a));
    assert.equal(granularityCandidates[granularityCandidates.length - 1], 1);
    // A curve with steps of 16 also has a (weaker) structure at 8 and 4: the largest fit wins.
    assert.equal(detectGranularity(stepCurve(64, 16, 0.1, 3)), 16);
  });
});

describe('candidateRanks', function () {
  it('the multiples of the step below the largest rank, then the largest rank', function () {
    assert.deepEqual(candidateRanks(64, 16), [16, 32, 48, 64]);
    assert.deepEqual(candidateRanks(70, 16), [16, 32, 48, 64, 70]);
    assert.deepEqual(candidateRanks(10, 4), [4, 8, 10]);
    assert.deepEqual(candidateRanks(5, 1), [1, 2, 3, 4, 5]);
  });

  it('a largest rank below the step gives that rank alone', function () {
    assert.deepEqual(candidateRanks(3, 8), [3]);
    assert.deepEqual(candidateRanks(8, 8), [8]);
    assert.deepEqual(candidateRanks(1, 32), [1]);
  });

  it('ascending, no duplicates, every rank but the last a multiple of the step', function () {
    for (const g of [1, 2, 4, 8, 16, 32]) {
      for (const maxRank of [1, 7, 16, 33, 100, 512]) {
        const ranks = candidateRanks(maxRank, g);
        assert.equal(ranks[ranks.length - 1], maxRank);
        assert.ok(ranks.every((r, i) => i === 0 || r > (ranks[i - 1] ?? 0)), `ascending for ${maxRank}/${g}`);
        assert.ok(ranks.slice(0, -1).every((r) => r % g === 0), `multiples of ${g} for ${maxRank}`);
        assert.equal(ranks.length, Math.ceil(maxRank / g));
      }
    }
  });
});

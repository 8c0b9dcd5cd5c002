// gram, svd and randomizedSvd: Gram matrices against plain loops, full-rank reconstruction of wide
// and tall float32 / float64 matrices, the truncation error equal to the norm of the dropped singular
// values, rank-deficient input, and the randomized SVD against the exact one on a low-rank-plus-noise
// matrix.
import * as assert from 'node:assert/strict';
import { gram } from '../../../engine/linalg/gram';
import { randomizedSvd } from '../../../engine/linalg/randomizedSvd';
import { svd } from '../../../engine/linalg/svd';
import { columnOrthogonality, frobenius, gaussian, randomOrthogonal, rowOrthogonality, truncationError } from './linalgTestSupport';

/** U diag(s) V^T for given orthonormal factors: a rows x cols matrix with singular values s. */
function withSingularValues(rows: number, cols: number, s: readonly number[], seed: number): Float64Array {
  const u = randomOrthogonal(rows, seed);
  const v = randomOrthogonal(cols, seed + 1);
  const a = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) {
    let x = 0;
    for (let t = 0; t < s.length; t++) x += u[i * rows + t]! * s[t]! * v[j * cols + t]!;
    a[i * cols + j] = x;
  }
  return a;
}

describe('gram', function () {
  this.timeout(60000);
  for (const [rows, cols] of [[3, 5], [40, 70], [90, 30]] as const) {
    it(`matches plain loops for a ${rows} x ${cols} matrix, both sides, float32 and float64`, async () => {
      const a = gaussian(rows, cols, rows);
      for (const input of [a, Float32Array.from(a)]) {
        const tol = input instanceof Float32Array ? 1e-5 : 1e-12;
        const aa = Float64Array.from(input);
        const left = await gram(input, rows, cols, 'rows');
        const right = await gram(input, rows, cols, 'cols');
        for (let i = 0; i < rows; i++) for (let j = 0; j < rows; j++) {
          let s = 0;
          for (let k = 0; k < cols; k++) s += aa[i * cols + k]! * aa[j * cols + k]!;
          assert.ok(Math.abs(left[i * rows + j]! - s) <= tol * cols, `A A^T (${i}, ${j})`);
          assert.equal(left[i * rows + j], left[j * rows + i]);
        }
        for (let i = 0; i < cols; i++) for (let j = 0; j < cols; j++) {
          let s = 0;
          for (let k = 0; k < rows; k++) s += aa[k * cols + i]! * aa[k * cols + j]!;
          assert.ok(Math.abs(right[i * cols + j]! - s) <= tol * rows, `A^T A (${i}, ${j})`);
        }
      }
    });
  }
});

describe('svd', function () {
  this.timeout(120000);

  for (const [rows, cols] of [[1, 1], [1, 7], [6, 1], [20, 20], [60, 150], [150, 60], [200, 130]] as const) {
    it(`reconstructs a ${rows} x ${cols} matrix at full rank (float64 and float32)`, async () => {
      const a = gaussian(rows, cols, rows * 1000 + cols);
      const r64 = await svd(a, rows, cols);
      const k = Math.min(rows, cols);
      assert.equal(r64.rank, k);
      for (let i = 1; i < k; i++) assert.ok(r64.s[i]! <= r64.s[i - 1]!);
      const rel64 = truncationError(a, rows, cols, r64.u, r64.s, r64.vt, k, k) / frobenius(a);
      assert.ok(rel64 < 1e-12, `float64 relative error ${rel64}`);
      assert.ok(columnOrthogonality(r64.u, rows, k) < 1e-12);
      assert.ok(rowOrthogonality(r64.vt, k, cols) < 1e-10);
      const a32 = Float32Array.from(a);
      const r32 = await svd(a32, rows, cols);
      const rel32 = truncationError(a32, rows, cols, r32.u, r32.s, r32.vt, k, k) / frobenius(a32);
      assert.ok(rel32 < 3e-6, `float32 relative error ${rel32}`);
    });
  }

  it('truncated error equals the norm of the dropped singular values', async () => {
    const rows = 80;
    const cols = 120;
    const a = gaussian(rows, cols, 5);
    const r = await svd(a, rows, cols);
    for (const keep of [1, 10, 40, 79]) {
      const err = truncationError(a, rows, cols, r.u, r.s, r.vt, r.rank, keep);
      let dropped = 0;
      for (let i = keep; i < r.rank; i++) dropped += r.s[i]! ** 2;
      assert.ok(Math.abs(err - Math.sqrt(dropped)) <= 1e-10 * frobenius(a), `rank ${keep}: ${err} vs ${Math.sqrt(dropped)}`);
    }
  });

  it('recovers known singular values, with exact zeros, and completes the null-space vectors', async () => {
    const s = [9, 7, 7, 3, 1e-3, 0, 0, 0];
    const a = withSingularValues(8, 12, s, 21);
    const r = await svd(a, 8, 12);
    s.forEach((v, i) => assert.ok(Math.abs(r.s[i]! - v) < 1e-7, `sigma ${i}: ${r.s[i]} vs ${v}`));
    assert.ok(truncationError(a, 8, 12, r.u, r.s, r.vt, 8, 8) < 1e-12 * 9);
    assert.ok(rowOrthogonality(r.vt, 8, 12) < 1e-8, 'V^T rows orthonormal including the completed ones');
    const tall = await svd(withSingularValues(12, 8, s, 22), 12, 8);
    assert.ok(columnOrthogonality(tall.u, 12, 8) < 1e-8, 'U columns orthonormal including the completed ones');
  });
});

describe('randomizedSvd', function () {
  this.timeout(120000);

  for (const [rows, cols] of [[300, 500], [500, 300]] as const) {
    it(`is close to the exact SVD on a low-rank-plus-noise ${rows} x ${cols} matrix`, async () => {
      const rank = 20;
      const lowRank = Array.from({ length: rank }, (_, i) => 100 / (1 + i));
      const a = withSingularValues(rows, cols, lowRank, 31);
      const noise = gaussian(rows, cols, 32);
      for (let i = 0; i < a.length; i++) a[i]! += 1e-3 * noise[i]!;
      const a32 = Float32Array.from(a);
      const exact = await svd(a32, rows, cols);
      const approx = await randomizedSvd(a32, rows, cols, rank, { seed: 1 });
      assert.equal(approx.rank, rank);
      assert.equal(approx.u.length, rows * rank);
      assert.equal(approx.vt.length, rank * cols);
      for (let i = 0; i < rank; i++) {
        assert.ok(Math.abs(approx.s[i]! - exact.s[i]!) <= 1e-4 * exact.s[0]!, `sigma ${i}: ${approx.s[i]} vs ${exact.s[i]}`);
      }
      const errApprox = truncationError(a32, rows, cols, approx.u, approx.s, approx.vt, rank, rank);
      const errExact = truncationError(a32, rows, cols, exact.u, exact.s, exact.vt, exact.rank, rank);
      assert.ok(errApprox <= errExact * 1.01 + 1e-4, `rank-${rank} error ${errApprox} vs exact ${errExact}`);
      assert.ok(columnOrthogonality(approx.u, rows, rank) < 1e-4);
      assert.ok(rowOrthogonality(approx.vt, rank, cols) < 1e-4);
    });
  }

  it('is deterministic for a seed and rejects a rank out of range', async () => {
    const a = Float32Array.from(gaussian(60, 40, 9));
    const first = await randomizedSvd(a, 60, 40, 5, { seed: 3, powerIterations: 1, oversamples: 5 });
    const second = await randomizedSvd(a, 60, 40, 5, { seed: 3, powerIterations: 1, oversamples: 5 });
    assert.deepEqual(first.s, second.s);
    await assert.rejects(randomizedSvd(a, 60, 40, 0), RangeError);
    await assert.rejects(randomizedSvd(a, 60, 40, 41), RangeError);
  });
});

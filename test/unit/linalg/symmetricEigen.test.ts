// symmetricEigen: LAPACK-grade residual and orthogonality on random symmetric matrices of sizes that
// take every path (n = 1 and 2, the QL leaves, one and several divide-and-conquer merges, the blocked
// tridiagonalization), and on spectra that make divide and conquer deflate: repeated, zero, clustered
// and widely spread eigenvalues. Also the worker-pool batch.
import * as assert from 'node:assert/strict';
import { SharedCancelFlag } from '../../../engine/cancellation';
import { HalocError } from '../../../engine/errors';
import { EigenPool, symmetricEigenBatch } from '../../../engine/linalg/eigenBatch';
import { symmetricEigen } from '../../../engine/linalg/symmetricEigen';
import { columnOrthogonality, eigenResidual, gaussian, randomSymmetric, withSpectrum } from './linalgTestSupport';

const TOL = 1e-13;

async function checkDecomposition(a: Float64Array, n: number, expected?: readonly number[]): Promise<void> {
  const { values, vectors } = await symmetricEigen(a, n);
  assert.equal(values.length, n);
  assert.equal(vectors.length, n * n);
  for (let i = 1; i < n; i++) assert.ok(values[i]! <= values[i - 1]!, `eigenvalues descending at ${i}`);
  const residual = eigenResidual(a, n, values, vectors);
  const orthogonality = columnOrthogonality(vectors, n, n);
  assert.ok(residual < TOL, `n=${n}: residual ${residual}`);
  assert.ok(orthogonality < TOL * Math.max(1, n / 64), `n=${n}: orthogonality ${orthogonality}`);
  if (expected) {
    const sorted = [...expected].sort((x, y) => y - x);
    const scale = Math.max(...sorted.map(Math.abs), 1e-300);
    sorted.forEach((v, i) => assert.ok(Math.abs(values[i]! - v) <= 1e-13 * scale * n, `eigenvalue ${i}: ${values[i]} vs ${v}`));
  }
}

describe('symmetricEigen', function () {
  this.timeout(120000);

  it('handles n = 0, 1 and 2 exactly', async () => {
    assert.equal((await symmetricEigen(new Float64Array(0), 0)).values.length, 0);
    const one = await symmetricEigen(Float64Array.of(-3.5), 1);
    assert.deepEqual([...one.values, ...one.vectors], [-3.5, 1]);
    await checkDecomposition(Float64Array.of(2, 1, 1, 2), 2, [3, 1]);
    await checkDecomposition(Float64Array.of(0, 0, 0, 0), 2, [0, 0]);
    await checkDecomposition(Float64Array.of(1, 0, 0, -1), 2, [1, -1]);
  });

  for (const n of [3, 17, 32, 33, 64, 100, 129, 200, 300]) {
    it(`decomposes a random symmetric ${n} x ${n} matrix`, async () => {
      await checkDecomposition(randomSymmetric(n, n), n);
    });
  }

  it('decomposes a Gram matrix W W^T (the factorization use)', async () => {
    const n = 160;
    const m = 3 * n;
    const w = gaussian(n, m, 7);
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let k = 0; k < m; k++) s += w[i * m + k]! * w[j * m + k]!;
      a[i * n + j] = a[j * n + i] = s;
    }
    await checkDecomposition(a, n);
  });

  it('handles repeated eigenvalues (deflation by rotation)', async () => {
    const values = Array.from({ length: 150 }, (_, i) => [5, 5, 5, -2, -2, 1][i % 6]!);
    await checkDecomposition(withSpectrum(values, 11), values.length, values);
  });

  it('handles zero eigenvalues (a rank-deficient Gram matrix)', async () => {
    const values = Array.from({ length: 140 }, (_, i) => (i < 40 ? 1 + i : 0));
    await checkDecomposition(withSpectrum(values, 12), values.length, values);
  });

  it('handles clustered and widely spread eigenvalues', async () => {
    const clustered = Array.from({ length: 120 }, (_, i) => 1 + i * 1e-12);
    await checkDecomposition(withSpectrum(clustered, 13), clustered.length);
    const spread = Array.from({ length: 120 }, (_, i) => 10 ** (-i / 10));
    await checkDecomposition(withSpectrum(spread, 14), spread.length);
  });

  it('handles a diagonal matrix, the zero matrix and the identity', async () => {
    const n = 70;
    const diag = new Float64Array(n * n);
    for (let i = 0; i < n; i++) diag[i * n + i] = (i * 37) % 11;
    await checkDecomposition(diag, n, Array.from({ length: n }, (_, i) => (i * 37) % 11));
    await checkDecomposition(new Float64Array(n * n), n, new Array<number>(n).fill(0));
    const eye = new Float64Array(n * n);
    for (let i = 0; i < n; i++) eye[i * n + i] = 1;
    await checkDecomposition(eye, n, new Array<number>(n).fill(1));
  });

  it('accepts float32 input', async () => {
    const a = randomSymmetric(50, 3);
    const { values, vectors } = await symmetricEigen(Float32Array.from(a), 50);
    const a32 = Float64Array.from(Float32Array.from(a));
    assert.ok(eigenResidual(a32, 50, values, vectors) < TOL);
  });

  it('gives the same results when calls overlap in one thread', async () => {
    const sizes = [200, 150, 300];
    const mats = sizes.map((n, i) => randomSymmetric(n, 40 + i));
    const results = await Promise.all(mats.map((a, i) => symmetricEigen(a, sizes[i]!)));
    results.forEach((r, i) => assert.ok(eigenResidual(mats[i]!, sizes[i]!, r.values, r.vectors) < TOL));
  });

  it('rejects a buffer that is too short and non-finite entries', async () => {
    await assert.rejects(symmetricEigen(new Float64Array(3), 2), RangeError);
    await assert.rejects(symmetricEigen(Float64Array.of(1, NaN, NaN, 1), 2), /NaN or infinite/);
    await assert.rejects(symmetricEigen(Float64Array.of(1, 0, 0, Infinity), 2), /NaN or infinite/);
  });

  it('handles matrices of extreme magnitude', async () => {
    for (const factor of [1e-140, 1e140]) { // beyond the scaling thresholds; the residual check itself must not overflow
      const a = randomSymmetric(60, 77).map((v) => v * factor);
      const { values, vectors } = await symmetricEigen(a, 60);
      assert.ok(eigenResidual(a, 60, values, vectors) < TOL, `scale ${factor}`);
      assert.ok(columnOrthogonality(vectors, 60, 60) < TOL);
    }
  });

  it('decomposes a batch in worker threads, in order', async () => {
    const sizes = [40, 90, 10, 130];
    const tasks = sizes.map((n, i) => ({ n, matrix: randomSymmetric(n, 100 + i) }));
    const pool = new EigenPool(2);
    try {
      assert.ok(pool.available, 'the compiled worker script is next to eigenBatch.js');
      const [first, second] = await Promise.all([symmetricEigenBatch(tasks, { pool }), symmetricEigenBatch(tasks.slice(1), { pool })]);
      first.forEach((r, i) => {
        const { n, matrix } = tasks[i]!;
        assert.equal(r.n, n);
        assert.ok(eigenResidual(matrix, n, r.values, r.vectors) < TOL);
      });
      assert.deepEqual(second.map((r) => r.n), sizes.slice(1));
    } finally {
      await pool.close();
    }
    const inThread = await symmetricEigenBatch(tasks.slice(0, 2), { pool: new EigenPool(1) });
    assert.ok(eigenResidual(tasks[1]!.matrix, 90, inThread[1]!.values, inThread[1]!.vectors) < TOL);
  });

  it('stops a cancelled batch with a CANCELLED error', async () => {
    const flag = new SharedCancelFlag();
    flag.cancel();
    const tasks = [30, 40, 50].map((n) => ({ n, matrix: randomSymmetric(n, n) }));
    for (const pool of [new EigenPool(2), new EigenPool(1)]) {
      await assert.rejects(symmetricEigenBatch(tasks, { pool, signal: flag }), (e: unknown) => e instanceof HalocError && e.code === 'CANCELLED');
      await pool.close();
    }
  });
});

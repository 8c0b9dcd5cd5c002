// Eigen-decomposition of a small symmetric tridiagonal matrix by the implicit QL method with
// Wilkinson-type shifts (EISPACK tql2 as in JAMA, in the wasm kernels), for the leaves of the
// divide-and-conquer solver. The caller scales the matrix to norm ~1.
import { f64View, kernels } from './wasmKernels';

/**
 * Diagonal `d` (n) and off-diagonal `e` (e[i] couples i and i + 1; e[n-1] is ignored), both byte
 * offsets into wasm memory, are overwritten: d with the eigenvalues in ascending order. The
 * eigenvectors are written as the rows of the n x n row-major `vt` (also in wasm memory), row j for
 * d[j].
 */
export function tridiagonalQl(d: number, e: number, n: number, vt: number): void {
  const k = kernels();
  if (k.tql2(d, e, n, vt) !== 0) throw new Error('tridiagonalQl: no convergence');
  const dv = f64View(d, n);
  const rows = f64View(vt, n * n);
  // selection sort, ascending, moving the eigenvector rows along
  for (let i = 0; i < n - 1; i++) {
    let m = i;
    for (let j = i + 1; j < n; j++) if (dv[j]! < dv[m]!) m = j;
    if (m !== i) {
      const t = dv[i]!;
      dv[i] = dv[m]!;
      dv[m] = t;
      const rowI = rows.slice(i * n, i * n + n);
      rows.copyWithin(i * n, m * n, m * n + n);
      rows.set(rowI, m * n);
    }
  }
}

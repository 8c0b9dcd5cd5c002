// The rank-one update step of divide and conquer: eigenvalues and eigenvectors of D + rho z z^T for
// a strictly increasing diagonal D (after deflation), rho > 0 and no zero in z. Each root is found
// relative to its nearer pole (lambda_j = delta[origin_j] + tau_j, so that every difference
// delta_i - lambda_j is computed without cancellation) by a bracketed two-pole rational iteration
// (the "middle way" of LAPACK dlaed4, with its initial guess) and bisection as the safeguard. The
// eigenvectors come from the Gu-Eisenstat recomputed z (dlaed3), which keeps them orthogonal to
// working precision. The O(k^2) loops run in the wasm kernels; all arrays live in wasm memory.
import { f64View, kernels, type KernelExports } from './wasmKernels';

const EPS = Number.EPSILON / 2;

/** Byte offsets of the secular work arrays in wasm memory (each `capacity` long; `vectors` capacity^2). */
export interface SecularWork {
  readonly delta: number;
  readonly z: number;
  readonly z2: number;
  readonly lamBase: number;
  readonly tau: number;
  readonly zhat: number;
  readonly sums: number;
  /** k x k output, row-major: column j is the unit eigenvector of root j. */
  readonly vectors: number;
}

/**
 * Solves for the k roots of 1/rho + sum_i z_i^2 / (delta_i - lambda) (delta and z already in work)
 * and writes the eigenvectors as the columns of work.vectors; lambda_j = lamBase_j + tau_j.
 */
export function secularSolve(work: SecularWork, k: number, rho: number): void {
  const kern = kernels();
  const mem = f64View(0, kern.memory.buffer.byteLength / 8);
  const delta = work.delta / 8;
  const z = work.z / 8;
  const z2 = work.z2 / 8;
  let zz = 0;
  for (let i = 0; i < k; i++) {
    const zi = mem[z + i]!;
    mem[z2 + i] = zi * zi;
    zz += zi * zi;
  }
  const lamBase = work.lamBase / 8;
  const tau = work.tau / 8;
  if (k === 1) {
    mem[lamBase] = mem[delta]!;
    mem[tau] = rho * zz;
    mem[work.vectors / 8] = 1;
    return;
  }
  for (let j = 0; j < k; j++) {
    const [o, t] = solveRoot(kern, mem, work, k, j, rho, rho * zz);
    mem[lamBase + j] = mem[delta + o]!;
    mem[tau + j] = t;
  }
  kern.secularZhat(work.delta, work.lamBase, work.tau, work.z, k, 1 / rho, work.zhat);
  kern.secularVectorCols(work.delta, work.zhat, work.lamBase, work.tau, k, work.vectors, work.z2);
}

/** One root: returns [origin, tau]. */
function solveRoot(kern: KernelExports, mem: Float64Array, work: SecularWork, k: number, j: number, rho: number, span: number): [number, number] {
  const delta = work.delta / 8;
  const z2 = work.z2 / 8;
  const sums = work.sums / 8;
  const rhoInv = 1 / rho;
  let org: number;
  let lo: number;
  let hi: number;
  let tau: number;
  const last = j === k - 1;
  if (!last) {
    const dj = mem[delta + j]!;
    const del = mem[delta + j + 1]! - dj;
    const half = del / 2;
    kern.secularSums(work.delta, work.z2, k, dj, half, j, work.sums);
    const f = rhoInv + mem[sums]! + mem[sums + 2]!;
    const zj = mem[z2 + j]!;
    const zj1 = mem[z2 + j + 1]!;
    const c = f + (2 * zj) / del - (2 * zj1) / del; // the other poles at the midpoint
    if (f >= 0) {
      [org, lo, hi] = [j, 0, half];
      const a = c * del + zj + zj1;
      const b = zj * del;
      const s = Math.sqrt(Math.abs(a * a - 4 * b * c));
      tau = a > 0 ? (2 * b) / (a + s) : (a - s) / (2 * c);
    } else {
      [org, lo, hi] = [j + 1, -half, 0];
      const a = -c * del + zj + zj1;
      const b = -zj1 * del;
      const s = Math.sqrt(Math.abs(a * a + 4 * b * c));
      tau = a < 0 ? (2 * b) / (a - s) : -(a + s) / (2 * c);
    }
    if (!(tau > lo && tau < hi)) tau = (lo + hi) / 2;
  } else {
    [org, lo, hi] = [k - 1, 0, span];
    tau = span / 2;
  }
  const base = mem[delta + org]!;
  const split = last ? k - 2 : j; // psi: poles 0..split, phi: the rest
  const poleA = mem[delta + split]! - base;
  const poleB = mem[delta + split + 1]! - base;
  for (let iteration = 0; iteration < 100; iteration++) {
    kern.secularSums(work.delta, work.z2, k, base, tau, split, work.sums);
    const psi = mem[sums]!;
    const dpsi = mem[sums + 1]!;
    const phi = mem[sums + 2]!;
    const dphi = mem[sums + 3]!;
    const g = rhoInv + psi + phi;
    if (Math.abs(g) <= 8 * EPS * (mem[sums + 4]! + rhoInv) + EPS * Math.abs(tau) * (dpsi + dphi)) break;
    if (g < 0) lo = tau;
    else hi = tau;
    const next = rationalStep(poleA - tau, poleB - tau, g, dpsi, dphi, tau, lo, hi);
    // the rational step converges quadratically: a step this small leaves an error far below eps
    const settled = next !== (lo + hi) / 2 && Math.abs(next - tau) <= 1e-9 * Math.abs(next);
    if (next === tau || settled || hi - lo <= 2 * EPS * Math.max(Math.abs(lo), Math.abs(hi))) {
      tau = next;
      break;
    }
    tau = next;
  }
  return [org, tau];
}

/**
 * The zero of the two-pole model c + s/(a - eta) + S/(b - eta) that matches g and the derivatives of
 * both sums at tau, as the next tau; the bracket midpoint when that zero is outside (lo, hi).
 */
function rationalStep(a: number, b: number, g: number, dpsi: number, dphi: number, tau: number, lo: number, hi: number): number {
  const A = (a + b) * g - a * b * (dpsi + dphi);
  const B = a * b * g;
  const C = g - a * dpsi - b * dphi;
  const disc = A * A - 4 * B * C;
  if (disc >= 0) {
    const s = Math.sqrt(disc);
    const e1 = A >= 0 ? (A + s) / (2 * C) : (A - s) / (2 * C);
    const e2 = A >= 0 ? (2 * B) / (A + s) : (2 * B) / (A - s);
    const in1 = Number.isFinite(e1) && tau + e1 > lo && tau + e1 < hi;
    const in2 = Number.isFinite(e2) && tau + e2 > lo && tau + e2 < hi;
    if (in1 && in2) return tau + (Math.abs(e1) < Math.abs(e2) ? e1 : e2);
    if (in1) return tau + e1;
    if (in2) return tau + e2;
  }
  return (lo + hi) / 2;
}

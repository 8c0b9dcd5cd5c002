// AssemblyScript source of the float64 WebAssembly SIMD kernels of engine/linalg (the BLAS-2 part of
// the Householder tridiagonalization, which onnxruntime cannot take because each step depends on the
// previous one). Build: `node engine/linalg/wasm/buildKernels.mjs` (needs the assemblyscript dev
// dependency) regenerates engine/linalg/wasmKernelsBinary.ts; the extension never compiles this file.
// All pointers are byte offsets into the exported memory. Matrices are column-major with a leading
// dimension in elements (`lda`): element (i, j) of `a` is at a + 8 * (i + j * lda).

@inline function at(base: usize, i: i32, j: i32, ld: i32): usize {
  return base + ((<usize>i + <usize>j * <usize>ld) << 3);
}

@inline function hsum(v: v128): f64 {
  return f64x2.extract_lane(v, 0) + f64x2.extract_lane(v, 1);
}

/** y[0:m] = A x for a symmetric m x m A stored in its lower triangle. */
export function symvLower(a: usize, lda: i32, m: i32, x: usize, y: usize): void {
  memory.fill(y, 0, <usize>m << 3);
  let j = 0;
  for (; j + 4 <= m; j += 4) {
    const x0 = load<f64>(x + (<usize>j << 3)), x1 = load<f64>(x + (<usize>(j + 1) << 3));
    const x2 = load<f64>(x + (<usize>(j + 2) << 3)), x3 = load<f64>(x + (<usize>(j + 3) << 3));
    const c0 = at(a, 0, j, lda), c1 = at(a, 0, j + 1, lda), c2 = at(a, 0, j + 2, lda), c3 = at(a, 0, j + 3, lda);
    // the 4 x 4 diagonal block, scalar
    const a00 = load<f64>(c0 + (<usize>j << 3)), a10 = load<f64>(c0 + (<usize>(j + 1) << 3));
    const a20 = load<f64>(c0 + (<usize>(j + 2) << 3)), a30 = load<f64>(c0 + (<usize>(j + 3) << 3));
    const a11 = load<f64>(c1 + (<usize>(j + 1) << 3)), a21 = load<f64>(c1 + (<usize>(j + 2) << 3));
    const a31 = load<f64>(c1 + (<usize>(j + 3) << 3)), a22 = load<f64>(c2 + (<usize>(j + 2) << 3));
    const a32 = load<f64>(c2 + (<usize>(j + 3) << 3)), a33 = load<f64>(c3 + (<usize>(j + 3) << 3));
    let s0 = a00 * x0 + a10 * x1 + a20 * x2 + a30 * x3;
    let s1 = a10 * x0 + a11 * x1 + a21 * x2 + a31 * x3;
    let s2 = a20 * x0 + a21 * x1 + a22 * x2 + a32 * x3;
    let s3 = a30 * x0 + a31 * x1 + a32 * x2 + a33 * x3;
    const x0v = f64x2.splat(x0), x1v = f64x2.splat(x1), x2v = f64x2.splat(x2), x3v = f64x2.splat(x3);
    let acc0 = f64x2.splat(0), acc1 = f64x2.splat(0), acc2 = f64x2.splat(0), acc3 = f64x2.splat(0);
    let i = j + 4;
    for (; i + 2 <= m; i += 2) {
      const o = <usize>i << 3;
      const v0 = v128.load(c0 + o), v1 = v128.load(c1 + o), v2 = v128.load(c2 + o), v3 = v128.load(c3 + o);
      const xv = v128.load(x + o);
      acc0 = f64x2.add(acc0, f64x2.mul(v0, xv));
      acc1 = f64x2.add(acc1, f64x2.mul(v1, xv));
      acc2 = f64x2.add(acc2, f64x2.mul(v2, xv));
      acc3 = f64x2.add(acc3, f64x2.mul(v3, xv));
      const t = f64x2.add(f64x2.add(f64x2.mul(v0, x0v), f64x2.mul(v1, x1v)), f64x2.add(f64x2.mul(v2, x2v), f64x2.mul(v3, x3v)));
      v128.store(y + o, f64x2.add(v128.load(y + o), t));
    }
    for (; i < m; i++) {
      const o = <usize>i << 3;
      const v0 = load<f64>(c0 + o), v1 = load<f64>(c1 + o), v2 = load<f64>(c2 + o), v3 = load<f64>(c3 + o);
      const xi = load<f64>(x + o);
      s0 += v0 * xi; s1 += v1 * xi; s2 += v2 * xi; s3 += v3 * xi;
      store<f64>(y + o, load<f64>(y + o) + v0 * x0 + v1 * x1 + v2 * x2 + v3 * x3);
    }
    const yj = y + (<usize>j << 3);
    store<f64>(yj, load<f64>(yj) + s0 + hsum(acc0));
    store<f64>(yj + 8, load<f64>(yj + 8) + s1 + hsum(acc1));
    store<f64>(yj + 16, load<f64>(yj + 16) + s2 + hsum(acc2));
    store<f64>(yj + 24, load<f64>(yj + 24) + s3 + hsum(acc3));
  }
  for (; j < m; j++) {
    const c = at(a, 0, j, lda);
    const xj = load<f64>(x + (<usize>j << 3));
    let s = load<f64>(c + (<usize>j << 3)) * xj;
    for (let i = j + 1; i < m; i++) {
      const o = <usize>i << 3;
      const v = load<f64>(c + o);
      s += v * load<f64>(x + o);
      store<f64>(y + o, load<f64>(y + o) + v * xj);
    }
    store<f64>(y + (<usize>j << 3), load<f64>(y + (<usize>j << 3)) + s);
  }
}

/** A -= v w^T + w v^T on the lower triangle of the m x m A. */
export function syr2Lower(a: usize, lda: i32, m: i32, v: usize, w: usize): void {
  for (let j = 0; j < m; j++) {
    const c = at(a, 0, j, lda);
    const vj = load<f64>(v + (<usize>j << 3)), wj = load<f64>(w + (<usize>j << 3));
    const vjv = f64x2.splat(vj), wjv = f64x2.splat(wj);
    let i = j;
    for (; i + 2 <= m; i += 2) {
      const o = <usize>i << 3;
      const t = f64x2.add(f64x2.mul(v128.load(v + o), wjv), f64x2.mul(v128.load(w + o), vjv));
      v128.store(c + o, f64x2.sub(v128.load(c + o), t));
    }
    for (; i < m; i++) {
      const o = <usize>i << 3;
      store<f64>(c + o, load<f64>(c + o) - load<f64>(v + o) * wj - load<f64>(w + o) * vj);
    }
  }
}

/** A(i, j) -= P(i, j) for j < ncols, i >= j, i < m: the lower triangle of the first ncols columns. */
export function subLower(a: usize, lda: i32, m: i32, ncols: i32, p: usize, ldp: i32): void {
  for (let j = 0; j < ncols; j++) {
    const c = at(a, 0, j, lda), q = at(p, 0, j, ldp);
    let i = j;
    for (; i + 2 <= m; i += 2) {
      const o = <usize>i << 3;
      v128.store(c + o, f64x2.sub(v128.load(c + o), v128.load(q + o)));
    }
    for (; i < m; i++) {
      const o = <usize>i << 3;
      store<f64>(c + o, load<f64>(c + o) - load<f64>(q + o));
    }
  }
}

/** y[c] = sum_i A(i, c) x[i] for the m x k A (c < k). */
export function gemvT(a: usize, lda: i32, m: i32, k: i32, x: usize, y: usize): void {
  let c = 0;
  for (; c + 4 <= k; c += 4) {
    const c0 = at(a, 0, c, lda), c1 = at(a, 0, c + 1, lda), c2 = at(a, 0, c + 2, lda), c3 = at(a, 0, c + 3, lda);
    let s0 = f64x2.splat(0), s1 = f64x2.splat(0), s2 = f64x2.splat(0), s3 = f64x2.splat(0);
    let i = 0;
    for (; i + 2 <= m; i += 2) {
      const o = <usize>i << 3;
      const xv = v128.load(x + o);
      s0 = f64x2.add(s0, f64x2.mul(v128.load(c0 + o), xv));
      s1 = f64x2.add(s1, f64x2.mul(v128.load(c1 + o), xv));
      s2 = f64x2.add(s2, f64x2.mul(v128.load(c2 + o), xv));
      s3 = f64x2.add(s3, f64x2.mul(v128.load(c3 + o), xv));
    }
    let t0 = hsum(s0), t1 = hsum(s1), t2 = hsum(s2), t3 = hsum(s3);
    for (; i < m; i++) {
      const o = <usize>i << 3;
      const xi = load<f64>(x + o);
      t0 += load<f64>(c0 + o) * xi; t1 += load<f64>(c1 + o) * xi; t2 += load<f64>(c2 + o) * xi; t3 += load<f64>(c3 + o) * xi;
    }
    const yo = y + (<usize>c << 3);
    store<f64>(yo, t0); store<f64>(yo + 8, t1); store<f64>(yo + 16, t2); store<f64>(yo + 24, t3);
  }
  for (; c < k; c++) {
    const col = at(a, 0, c, lda);
    let acc0 = f64x2.splat(0);
    let i = 0;
    for (; i + 2 <= m; i += 2) {
      const o = <usize>i << 3;
      acc0 = f64x2.add(acc0, f64x2.mul(v128.load(col + o), v128.load(x + o)));
    }
    let s = hsum(acc0);
    for (; i < m; i++) s += load<f64>(col + (<usize>i << 3)) * load<f64>(x + (<usize>i << 3));
    store<f64>(y + (<usize>c << 3), s);
  }
}

/** y[i] -= sum_c A(i, c) x[c] for the m x k A. */
export function gemvNSub(a: usize, lda: i32, m: i32, k: i32, x: usize, y: usize): void {
  let c = 0;
  for (; c + 4 <= k; c += 4) {
    const c0 = at(a, 0, c, lda), c1 = at(a, 0, c + 1, lda), c2 = at(a, 0, c + 2, lda), c3 = at(a, 0, c + 3, lda);
    const xo = x + (<usize>c << 3);
    const x0 = load<f64>(xo), x1 = load<f64>(xo + 8), x2 = load<f64>(xo + 16), x3 = load<f64>(xo + 24);
    const x0v = f64x2.splat(x0), x1v = f64x2.splat(x1), x2v = f64x2.splat(x2), x3v = f64x2.splat(x3);
    let i = 0;
    for (; i + 2 <= m; i += 2) {
      const o = <usize>i << 3;
      const t = f64x2.add(f64x2.add(f64x2.mul(v128.load(c0 + o), x0v), f64x2.mul(v128.load(c1 + o), x1v)),
        f64x2.add(f64x2.mul(v128.load(c2 + o), x2v), f64x2.mul(v128.load(c3 + o), x3v)));
      v128.store(y + o, f64x2.sub(v128.load(y + o), t));
    }
    for (; i < m; i++) {
      const o = <usize>i << 3;
      store<f64>(y + o, load<f64>(y + o) - load<f64>(c0 + o) * x0 - load<f64>(c1 + o) * x1 - load<f64>(c2 + o) * x2 - load<f64>(c3 + o) * x3);
    }
  }
  for (; c < k; c++) {
    const col = at(a, 0, c, lda);
    const xc = load<f64>(x + (<usize>c << 3));
    const xv = f64x2.splat(xc);
    let i = 0;
    for (; i + 2 <= m; i += 2) {
      const o = <usize>i << 3;
      v128.store(y + o, f64x2.sub(v128.load(y + o), f64x2.mul(v128.load(col + o), xv)));
    }
    for (; i < m; i++) {
      const o = <usize>i << 3;
      store<f64>(y + o, load<f64>(y + o) - load<f64>(col + o) * xc);
    }
  }
}

/**
 * Sums of the secular function at lambda = base + tau: out = [psi, psi', phi, phi', sum of |terms|]
 * where psi sums z2_i / (delta_i - lambda) over i <= split and phi over i > split.
 */
export function secularSums(delta: usize, z2: usize, k: i32, base: f64, tau: f64, split: i32, out: usize): void {
  const bv = f64x2.splat(base), tv = f64x2.splat(tau);
  let s = f64x2.splat(0), ds = f64x2.splat(0), ab = f64x2.splat(0);
  let psi: f64 = 0, dpsi: f64 = 0, phi: f64 = 0, dphi: f64 = 0;
  const lim = split + 1; // psi over [0, lim)
  let i = 0;
  for (; i + 2 <= lim; i += 2) {
    const o = <usize>i << 3;
    const t = f64x2.div(f64x2.splat(1), f64x2.sub(f64x2.sub(v128.load(delta + o), bv), tv));
    const term = f64x2.mul(v128.load(z2 + o), t);
    s = f64x2.add(s, term);
    ds = f64x2.add(ds, f64x2.mul(term, t));
    ab = f64x2.add(ab, f64x2.abs(term));
  }
  for (; i < lim; i++) {
    const o = <usize>i << 3;
    const t = 1 / (load<f64>(delta + o) - base - tau);
    const term = load<f64>(z2 + o) * t;
    psi += term; dpsi += term * t; ab = f64x2.add(ab, f64x2.replace_lane(f64x2.splat(0), 0, Math.abs(term)));
  }
  psi += hsum(s); dpsi += hsum(ds);
  s = f64x2.splat(0); ds = f64x2.splat(0);
  for (; i + 2 <= k; i += 2) {
    const o = <usize>i << 3;
    const t = f64x2.div(f64x2.splat(1), f64x2.sub(f64x2.sub(v128.load(delta + o), bv), tv));
    const term = f64x2.mul(v128.load(z2 + o), t);
    s = f64x2.add(s, term);
    ds = f64x2.add(ds, f64x2.mul(term, t));
    ab = f64x2.add(ab, f64x2.abs(term));
  }
  for (; i < k; i++) {
    const o = <usize>i << 3;
    const t = 1 / (load<f64>(delta + o) - base - tau);
    const term = load<f64>(z2 + o) * t;
    phi += term; dphi += term * t; ab = f64x2.add(ab, f64x2.replace_lane(f64x2.splat(0), 0, Math.abs(term)));
  }
  phi += hsum(s); dphi += hsum(ds);
  store<f64>(out, psi); store<f64>(out + 8, dpsi); store<f64>(out + 16, phi); store<f64>(out + 24, dphi);
  store<f64>(out + 32, hsum(ab));
}

/**
 * Gu-Eisenstat: zhat_i = sign(z_i) sqrt((lambda_i - d_i) / rho * prod_{j != i} (lambda_j - d_i) / (d_j - d_i))
 * with lambda_j = lambdaBase_j + tau_j.
 */
export function secularZhat(delta: usize, lamBase: usize, tau: usize, z: usize, k: i32, rhoInv: f64, out: usize): void {
  for (let i = 0; i < k; i++) {
    const oi = <usize>i << 3;
    const di = load<f64>(delta + oi);
    const dv = f64x2.splat(di);
    let p = (load<f64>(lamBase + oi) - di + load<f64>(tau + oi)) * rhoInv;
    let pv = f64x2.splat(1);
    let j = 0;
    for (; j + 2 <= i; j += 2) {
      const o = <usize>j << 3;
      const num = f64x2.add(f64x2.sub(v128.load(lamBase + o), dv), v128.load(tau + o));
      pv = f64x2.mul(pv, f64x2.div(num, f64x2.sub(v128.load(delta + o), dv)));
    }
    for (; j < i; j++) {
      const o = <usize>j << 3;
      p *= (load<f64>(lamBase + o) - di + load<f64>(tau + o)) / (load<f64>(delta + o) - di);
    }
    j = i + 1;
    for (; j + 2 <= k; j += 2) {
      const o = <usize>j << 3;
      const num = f64x2.add(f64x2.sub(v128.load(lamBase + o), dv), v128.load(tau + o));
      pv = f64x2.mul(pv, f64x2.div(num, f64x2.sub(v128.load(delta + o), dv)));
    }
    for (; j < k; j++) {
      const o = <usize>j << 3;
      p *= (load<f64>(lamBase + o) - di + load<f64>(tau + o)) / (load<f64>(delta + o) - di);
    }
    p *= f64x2.extract_lane(pv, 0) * f64x2.extract_lane(pv, 1);
    const r = Math.sqrt(Math.abs(p));
    store<f64>(out + oi, load<f64>(z + oi) < 0 ? -r : r);
  }
}

/**
 * Implicit QL with Wilkinson-type shifts (EISPACK tql2) on the n x n tridiagonal matrix d (diagonal),
 * e (e[i] couples i and i + 1; e[n-1] is overwritten): eigenvalues into d, unsorted; the eigenvectors
 * as the rows of vt (n x n, initialized here). The matrix must be scaled to norm ~1. Returns 0, or 1
 * when an eigenvalue did not converge in 60 iterations.
 */
export function tql2(d: usize, e: usize, n: i32, vt: usize): i32 {
  memory.fill(vt, 0, (<usize>n * <usize>n) << 3);
  for (let i = 0; i < n; i++) store<f64>(vt + ((<usize>i * <usize>n + <usize>i) << 3), 1);
  if (n == 0) return 0;
  store<f64>(e + (<usize>(n - 1) << 3), 0);
  const eps: f64 = 2.220446049250313e-16;
  let f: f64 = 0;
  let tst1: f64 = 0;
  for (let l = 0; l < n; l++) {
    const dl = d + (<usize>l << 3), el = e + (<usize>l << 3);
    tst1 = Math.max(tst1, Math.abs(load<f64>(dl)) + Math.abs(load<f64>(el)));
    let m = l;
    while (m < n - 1 && Math.abs(load<f64>(e + (<usize>m << 3))) > eps * tst1) m++;
    if (m > l) {
      let iterations = 0;
      do {
        if (++iterations > 60) return 1;
        let g = load<f64>(dl);
        let p = (load<f64>(dl + 8) - g) / (2 * load<f64>(el));
        let r = Math.sqrt(p * p + 1);
        if (p < 0) r = -r;
        store<f64>(dl, load<f64>(el) / (p + r));
        store<f64>(dl + 8, load<f64>(el) * (p + r));
        const dl1 = load<f64>(dl + 8);
        let h = g - load<f64>(dl);
        for (let i = l + 2; i < n; i++) store<f64>(d + (<usize>i << 3), load<f64>(d + (<usize>i << 3)) - h);
        f += h;
        p = load<f64>(d + (<usize>m << 3));
        let c: f64 = 1, c2: f64 = 1, c3: f64 = 1;
        const el1 = load<f64>(el + 8);
        let s: f64 = 0, s2: f64 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2; c2 = c; s2 = s;
          const ei = load<f64>(e + (<usize>i << 3));
          const di = load<f64>(d + (<usize>i << 3));
          g = c * ei;
          h = c * p;
          r = Math.sqrt(p * p + ei * ei);
          store<f64>(e + (<usize>(i + 1) << 3), s * r);
          s = ei / r;
          c = p / r;
          p = c * di - s * g;
          store<f64>(d + (<usize>(i + 1) << 3), h + s * (c * g + s * di));
          const ri = vt + ((<usize>i * <usize>n) << 3), rj = ri + (<usize>n << 3);
          const cv = f64x2.splat(c), sv = f64x2.splat(s);
          let k = 0;
          for (; k + 2 <= n; k += 2) {
            const o = <usize>k << 3;
            const hk = v128.load(rj + o), vk = v128.load(ri + o);
            v128.store(rj + o, f64x2.add(f64x2.mul(sv, vk), f64x2.mul(cv, hk)));
            v128.store(ri + o, f64x2.sub(f64x2.mul(cv, vk), f64x2.mul(sv, hk)));
          }
          for (; k < n; k++) {
            const o = <usize>k << 3;
            const hk = load<f64>(rj + o), vk = load<f64>(ri + o);
            store<f64>(rj + o, s * vk + c * hk);
            store<f64>(ri + o, c * vk - s * hk);
          }
        }
        p = (-s * s2 * c3 * el1 * load<f64>(el)) / dl1;
        store<f64>(el, s * p);
        store<f64>(dl, c * p);
      } while (Math.abs(load<f64>(el)) > eps * tst1);
    }
    store<f64>(dl, load<f64>(dl) + f);
    store<f64>(el, 0);
  }
  return 0;
}

/**
 * The k x k row-major `out` with out[i * k + j] = component i of the unit vector zhat_i / (d_i - lambda_j)
 * of root j (columns are the vectors); `norms` is k float64 of scratch.
 */
export function secularVectorCols(delta: usize, zhat: usize, lamBase: usize, tau: usize, k: i32, out: usize, norms: usize): void {
  memory.fill(norms, 0, <usize>k << 3);
  for (let i = 0; i < k; i++) {
    const oi = <usize>i << 3;
    const di = load<f64>(delta + oi), zi = load<f64>(zhat + oi);
    const dv = f64x2.splat(di), zv = f64x2.splat(zi);
    const row = out + ((<usize>i * <usize>k) << 3);
    let j = 0;
    for (; j + 2 <= k; j += 2) {
      const o = <usize>j << 3;
      const v = f64x2.div(zv, f64x2.sub(f64x2.sub(dv, v128.load(lamBase + o)), v128.load(tau + o)));
      v128.store(row + o, v);
      v128.store(norms + o, f64x2.add(v128.load(norms + o), f64x2.mul(v, v)));
    }
    for (; j < k; j++) {
      const o = <usize>j << 3;
      const v = zi / (di - load<f64>(lamBase + o) - load<f64>(tau + o));
      store<f64>(row + o, v);
      store<f64>(norms + o, load<f64>(norms + o) + v * v);
    }
  }
  for (let j = 0; j < k; j++) store<f64>(norms + (<usize>j << 3), 1 / Math.sqrt(load<f64>(norms + (<usize>j << 3))));
  for (let i = 0; i < k; i++) {
    const row = out + ((<usize>i * <usize>k) << 3);
    let j = 0;
    for (; j + 2 <= k; j += 2) {
      const o = <usize>j << 3;
      v128.store(row + o, f64x2.mul(v128.load(row + o), v128.load(norms + o)));
    }
    for (; j < k; j++) {
      const o = <usize>j << 3;
      store<f64>(row + o, load<f64>(row + o) * load<f64>(norms + o));
    }
  }
}

/**
 * In place: the upper triangle of the row-major l x l `a` becomes R with R^T R = A + shift I (the lower
 * triangle is zeroed). Returns 0, or j + 1 when the pivot of row j is not positive.
 */
export function choleskyUpper(a: usize, l: i32, shift: f64): i32 {
  for (let j = 0; j < l; j++) {
    const row = a + ((<usize>j * <usize>l) << 3);
    const ajj = load<f64>(row + (<usize>j << 3)) + shift;
    if (!(ajj > 0)) return j + 1;
    const inv = 1 / Math.sqrt(ajj);
    const iv = f64x2.splat(inv);
    store<f64>(row + (<usize>j << 3), ajj * inv);
    let t = j + 1;
    for (; t + 2 <= l; t += 2) v128.store(row + (<usize>t << 3), f64x2.mul(v128.load(row + (<usize>t << 3)), iv));
    for (; t < l; t++) store<f64>(row + (<usize>t << 3), load<f64>(row + (<usize>t << 3)) * inv);
    for (let i = j + 1; i < l; i++) {
      const rji = load<f64>(row + (<usize>i << 3));
      if (rji == 0) continue;
      const ri = a + ((<usize>i * <usize>l) << 3);
      const rv = f64x2.splat(rji);
      let c = i;
      for (; c + 2 <= l; c += 2) {
        const o = <usize>c << 3;
        v128.store(ri + o, f64x2.sub(v128.load(ri + o), f64x2.mul(rv, v128.load(row + o))));
      }
      for (; c < l; c++) {
        const o = <usize>c << 3;
        store<f64>(ri + o, load<f64>(ri + o) - rji * load<f64>(row + o));
      }
    }
  }
  for (let i = 1; i < l; i++) memory.fill(a + ((<usize>i * <usize>l) << 3), 0, <usize>i << 3);
  return 0;
}

/** x = R^-1 for the upper triangular row-major l x l R (x upper triangular, zeroed here first). */
export function upperInverse(r: usize, l: i32, x: usize): void {
  memory.fill(x, 0, (<usize>l * <usize>l) << 3);
  for (let i = l - 1; i >= 0; i--) {
    const ri = r + ((<usize>i * <usize>l) << 3);
    const xi = x + ((<usize>i * <usize>l) << 3);
    for (let p = i + 1; p < l; p++) {
      const rip = load<f64>(ri + (<usize>p << 3));
      if (rip == 0) continue;
      const xp = x + ((<usize>p * <usize>l) << 3);
      const rv = f64x2.splat(rip);
      let j = p;
      for (; j + 2 <= l; j += 2) {
        const o = <usize>j << 3;
        v128.store(xi + o, f64x2.sub(v128.load(xi + o), f64x2.mul(rv, v128.load(xp + o))));
      }
      for (; j < l; j++) {
        const o = <usize>j << 3;
        store<f64>(xi + o, load<f64>(xi + o) - rip * load<f64>(xp + o));
      }
    }
    const inv = 1 / load<f64>(ri + (<usize>i << 3));
    for (let j = i + 1; j < l; j++) store<f64>(xi + (<usize>j << 3), load<f64>(xi + (<usize>j << 3)) * inv);
    store<f64>(xi + (<usize>i << 3), inv);
  }
}

/** w (length L) <- tau * w, then w += alpha * v with alpha = -tau / 2 * (w . v) (the dsytd2/dlatrd step). */
export function finishW(w: usize, v: usize, L: i32, tau: f64): void {
  const tv = f64x2.splat(tau);
  let acc = f64x2.splat(0);
  let dot: f64 = 0;
  let i = 0;
  for (; i + 2 <= L; i += 2) {
    const o = <usize>i << 3;
    const wv = f64x2.mul(v128.load(w + o), tv);
    v128.store(w + o, wv);
    acc = f64x2.add(acc, f64x2.mul(wv, v128.load(v + o)));
  }
  for (; i < L; i++) {
    const o = <usize>i << 3;
    const x = load<f64>(w + o) * tau;
    store<f64>(w + o, x);
    dot += x * load<f64>(v + o);
  }
  const alpha = -0.5 * tau * (dot + hsum(acc));
  const av = f64x2.splat(alpha);
  i = 0;
  for (; i + 2 <= L; i += 2) {
    const o = <usize>i << 3;
    v128.store(w + o, f64x2.add(v128.load(w + o), f64x2.mul(av, v128.load(v + o))));
  }
  for (; i < L; i++) {
    const o = <usize>i << 3;
    store<f64>(w + o, load<f64>(w + o) + alpha * load<f64>(v + o));
  }
}

/**
 * The Householder reflector that maps (alpha, x) to (beta, 0) (LAPACK dlarfg) for alpha at `a` and x
 * (length len - 1) following it; x is overwritten with v[1:]; out = [beta, tau].
 */
export function householder(a: usize, len: i32, out: usize): void {
  const alpha = load<f64>(a);
  const x = a + 8;
  const nx = len - 1;
  store<f64>(out, alpha);
  store<f64>(out + 8, 0);
  if (nx <= 0) return;
  let mx = f64x2.splat(0);
  let scale: f64 = 0;
  let i = 0;
  for (; i + 2 <= nx; i += 2) mx = f64x2.max(mx, f64x2.abs(v128.load(x + (<usize>i << 3))));
  for (; i < nx; i++) scale = Math.max(scale, Math.abs(load<f64>(x + (<usize>i << 3))));
  scale = Math.max(scale, Math.max(f64x2.extract_lane(mx, 0), f64x2.extract_lane(mx, 1)));
  if (scale == 0) return;
  const inv = f64x2.splat(1 / scale);
  let ss = f64x2.splat(0);
  let s1: f64 = 0;
  i = 0;
  for (; i + 2 <= nx; i += 2) {
    const t = f64x2.mul(v128.load(x + (<usize>i << 3)), inv);
    ss = f64x2.add(ss, f64x2.mul(t, t));
  }
  for (; i < nx; i++) {
    const t = load<f64>(x + (<usize>i << 3)) / scale;
    s1 += t * t;
  }
  const xnorm = scale * Math.sqrt(s1 + hsum(ss));
  const big = Math.max(Math.abs(alpha), xnorm), small = Math.min(Math.abs(alpha), xnorm);
  const h = big * Math.sqrt(1 + (small / big) * (small / big));
  const beta = alpha >= 0 ? -h : h;
  const tau = (beta - alpha) / beta;
  const sc = 1 / (alpha - beta);
  const sv = f64x2.splat(sc);
  i = 0;
  for (; i + 2 <= nx; i += 2) {
    const o = x + (<usize>i << 3);
    v128.store(o, f64x2.mul(v128.load(o), sv));
  }
  for (; i < nx; i++) store<f64>(x + (<usize>i << 3), load<f64>(x + (<usize>i << 3)) * sc);
  store<f64>(out, beta);
  store<f64>(out + 8, tau);
}

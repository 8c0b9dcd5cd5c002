// The committed wasm binary (engine/linalg/wasmKernelsBinary.ts) is the build of kernels.as: rebuilt
// with the assemblyscript dev dependency and compared (skipped when that is not installed), and the
// kernels agree with plain loops.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { f64View, withWasm } from '../../../engine/linalg/wasmKernels';
import { repoRoot } from '../testSupport';
import { gaussian } from './linalgTestSupport';

describe('wasm kernels', function () {
  this.timeout(60000);

  it('wasmKernelsBinary.ts is the build of kernels.as', function () {
    const script = path.join(repoRoot(), 'engine/linalg/wasm/buildKernels.mjs');
    const result = spawnSync(process.execPath, [script, '--check'], { encoding: 'utf8' });
    if (result.status === 2) this.skip();
    assert.equal(result.status, 0, `${result.stdout}${result.stderr}`);
  });

  it('symvLower, gemvT and gemvNSub match plain loops', async () => {
    const m = 37;
    const lda = 41;
    const a = gaussian(lda, m, 1);
    const x = gaussian(1, m, 2);
    await withWasm((arena) => {
      const aPtr = arena.alloc(lda * m);
      const xPtr = arena.alloc(m);
      const yPtr = arena.alloc(m);
      const k = arena.commit();
      f64View(aPtr, lda * m).set(a);
      f64View(xPtr, m).set(x);
      const at = (i: number, j: number): number => a[i + j * lda]!;
      k.symvLower(aPtr, lda, m, xPtr, yPtr);
      const y = f64View(yPtr, m);
      for (let i = 0; i < m; i++) {
        let s = 0;
        for (let j = 0; j < m; j++) s += (i >= j ? at(i, j) : at(j, i)) * x[j]!;
        assert.ok(Math.abs(y[i]! - s) < 1e-12, `symv ${i}`);
      }
      const cols = 11;
      k.gemvT(aPtr, lda, m, cols, xPtr, yPtr);
      for (let c = 0; c < cols; c++) {
        let s = 0;
        for (let i = 0; i < m; i++) s += at(i, c) * x[i]!;
        assert.ok(Math.abs(f64View(yPtr, m)[c]! - s) < 1e-12, `gemvT ${c}`);
      }
      f64View(yPtr, m).fill(1);
      k.gemvNSub(aPtr, lda, m, cols, xPtr, yPtr);
      for (let i = 0; i < m; i++) {
        let s = 1;
        for (let c = 0; c < cols; c++) s -= at(i, c) * x[c]!;
        assert.ok(Math.abs(f64View(yPtr, m)[i]! - s) < 1e-12, `gemvNSub ${i}`);
      }
    });
  });
});

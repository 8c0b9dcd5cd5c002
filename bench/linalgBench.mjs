// engine/linalg benchmark against numpy in the same run (issue 3, item 7 and its bar "both ratios
// <= 1.0"), with a long-lived Python peer (bench/linalg_peer.py) so that the two sides alternate:
//  (a) every Gram eigen-decomposition a Tucker-2 / SVD factorization of a ResNet-50-shaped model needs
//      (each k x k conv: the Cout x Cout and Cin x Cin mode Gram matrices of its weight; each 1x1 conv
//      and the fc: the smaller Gram matrix of the 2-D weight), random weights. Ours: the batch API
//      (symmetricEigenBatch, one worker per core); numpy: numpy.linalg.eigh on the same float64 Gram
//      matrices, one after another (OpenBLAS uses every core inside each call).
//  (b) VGG-16 fc6 (4096 x 25088, float32) at rank 512: our randomizedSvd against the same algorithm in
//      numpy (sklearn's randomized_svd with the QR normalizer; 10 oversamples, 2 power iterations).
// Each side's time covers exactly the decompositions (the Gram products of (a) are set-up, not timed).
// Medians of alternating runs; the ratio is ours / numpy. Exit code 1 only when a run fails or a
// result is wrong, never for a slow ratio.
//  (c) with --per-size: one decomposition at a time at n = 64 ... 2048 (random Gram matrices), our
//      symmetricEigen in this thread (onnxruntime with its default threads) against numpy.linalg.eigh.
// numpy's OpenBLAS threads slow down much more than ours when other processes load the machine:
// the load average is printed, and ratios measured under load are not comparable to quiet ones.
// Usage: npx tsc -b && node bench/linalgBench.mjs [--runs N] [--rsvd-runs N] [--skip-eigen] [--skip-rsvd] [--per-size]
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(benchDir, '..');
const require = createRequire(import.meta.url);
const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(name) ? Math.max(1, Number(args[args.indexOf(name) + 1]) || fallback) : fallback);
const runs = option('--runs', 5);
const rsvdRuns = option('--rsvd-runs', 3);

function engine(file) {
  const full = path.join(repoRoot, 'out/engine/linalg', file);
  if (!fs.existsSync(full)) throw new Error(`${full} is missing: run \`npx tsc -b\` first`);
  return require(full);
}
const { gram } = engine('gram.js');
const { symmetricEigenBatch, EigenPool } = engine('eigenBatch.js');
const { randomizedSvd } = engine('randomizedSvd.js');
const { ortGemm } = engine('ortGemm.js');
const { NormalRandom } = engine('random.js');
const { symmetricEigen } = engine('symmetricEigen.js');

/** The Python peer: one JSON request per line, one answer per line. */
class Peer {
  constructor() {
    const env = { ...process.env };
    delete env.OPENBLAS_CORETYPE; // let OpenBLAS pick its own kernels and cache sizes
    delete env.OPENBLAS_L2_SIZE;
    this.child = spawn(process.env.HALOC_BENCH_PYTHON ?? 'python3', [path.join(benchDir, 'linalg_peer.py')], { env, stdio: ['pipe', 'pipe', 'inherit'] });
    this.waiting = [];
    readline.createInterface({ input: this.child.stdout }).on('line', (line) => this.waiting.shift()?.resolve(JSON.parse(line)));
    this.child.on('exit', (code) => this.waiting.splice(0).forEach((w) => w.reject(new Error(`python peer exited (${code})`))));
  }
  async ask(request) {
    const answer = await new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.child.stdin.write(`${JSON.stringify(request)}\n`);
    });
    if (answer.error) throw new Error(`python peer: ${answer.error}`);
    return answer;
  }
  close() {
    this.child.stdin.end(`${JSON.stringify({ op: 'quit' })}\n`);
  }
}

/** ResNet-50 v1 (torchvision) weights that a factorization decomposes: [name, Cout, Cin, k]. */
function resnet50Layers() {
  const layers = [['conv1', 64, 3, 7]];
  let inC = 64;
  [[3, 64, 256], [4, 128, 512], [6, 256, 1024], [3, 512, 2048]].forEach(([blocks, width, out], s) => {
    for (let b = 0; b < blocks; b++) {
      const p = `layer${s + 1}.${b}`;
      layers.push([`${p}.conv1`, width, b === 0 ? inC : out, 1], [`${p}.conv2`, width, width, 3], [`${p}.conv3`, out, width, 1]);
      if (b === 0) layers.push([`${p}.downsample`, out, inC, 1]);
    }
    inC = out;
  });
  layers.push(['fc', 1000, 2048, 1]);
  return layers;
}

/** The Gram matrices of (a), computed with our gram() from seeded random float32 weights. */
async function resnet50Grams() {
  const random = new NormalRandom(50);
  const grams = [];
  for (const [name, cout, cin, k] of resnet50Layers()) {
    const kk = k * k;
    const w = new Float32Array(cout * cin * kk); // OIHW
    random.fillNormal(w);
    if (k === 1) {
      const side = cout <= cin ? 'rows' : 'cols';
      grams.push({ name, n: Math.min(cout, cin), matrix: await gram(w, cout, cin, side) });
      continue;
    }
    grams.push({ name: `${name} (Cout)`, n: cout, matrix: await gram(w, cout, cin * kk, 'rows') });
    const mode2 = new Float32Array(w.length); // Cin x (Cout * k * k)
    for (let o = 0; o < cout; o++) for (let i = 0; i < cin; i++) mode2.set(w.subarray((o * cin + i) * kk, (o * cin + i + 1) * kk), (i * cout + o) * kk);
    grams.push({ name: `${name} (Cin)`, n: cin, matrix: await gram(mode2, cin, cout * kk, 'rows') });
  }
  return grams;
}

/** max over matrices of ||A V - V diag(w)||_F / ||A||_F, the products in onnxruntime (float64). */
async function maxResidual(grams, results) {
  let worst = 0;
  for (let t = 0; t < grams.length; t++) {
    const { n, matrix } = grams[t];
    const { values, vectors } = results[t];
    const av = await ortGemm(matrix, vectors, n, n, n);
    let num = 0;
    let den = 0;
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
      num += (av[i * n + j] - vectors[i * n + j] * values[j]) ** 2;
      den += matrix[i * n + j] ** 2;
    }
    worst = Math.max(worst, Math.sqrt(num / den));
  }
  return worst;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const fmt = (s) => `${s.toFixed(3)} s`;
const seconds = (start) => Number(process.hrtime.bigint() - start) / 1e9;

async function benchEigen(peer, tmp) {
  const grams = await resnet50Grams();
  const file = path.join(tmp, 'grams.f64');
  fs.writeFileSync(file, Buffer.concat(grams.map((g) => Buffer.from(g.matrix.buffer, g.matrix.byteOffset, g.matrix.byteLength))));
  const histogram = new Map();
  for (const g of grams) histogram.set(g.n, (histogram.get(g.n) ?? 0) + 1);
  const sizes = [...histogram.entries()].sort((a, b) => a[0] - b[0]).map(([n, c]) => `${c}x${n}`).join(', ');
  const pool = new EigenPool();
  const request = { op: 'eigh', path: file, sizes: grams.map((g) => g.n) };
  console.log(`(a) ResNet-50 Gram eigen-decompositions: ${grams.length} matrices (n: ${sizes}), ${runs} alternating runs`);
  const warm = await symmetricEigenBatch(grams, { pool }); // warm-up: workers, JIT, sessions
  const numpyWarm = await peer.ask({ ...request, check: true });
  const ours = [];
  const theirs = [];
  for (let r = 0; r < runs; r++) {
    const start = process.hrtime.bigint();
    await symmetricEigenBatch(grams, { pool });
    ours.push(seconds(start));
    theirs.push((await peer.ask(request)).seconds);
  }
  await pool.close();
  const residual = await maxResidual(grams, warm);
  console.log(`    ours   symmetricEigenBatch (${pool.size} workers): median ${fmt(median(ours))}  [${ours.map((x) => x.toFixed(3)).join(' ')}]  max residual ${residual.toExponential(1)}`);
  console.log(`    numpy  linalg.eigh, one after another:    median ${fmt(median(theirs))}  [${theirs.map((x) => x.toFixed(3)).join(' ')}]  max residual ${numpyWarm.residual.toExponential(1)}`);
  const ratio = median(ours) / median(theirs);
  console.log(`    RATIO (a) eigen ours/numpy = ${ratio.toFixed(2)}   (bar: <= 1.0)`);
  if (!(residual < 1e-12)) throw new Error(`(a) our residual ${residual} is not LAPACK-grade`);
  return ratio;
}

async function benchRandomizedSvd(peer, tmp) {
  const [rows, cols, rank, oversamples, power] = [4096, 25088, 512, 10, 2];
  const m = new Float32Array(rows * cols);
  new NormalRandom(16).fillNormal(m);
  for (let i = 0; i < rows; i++) { // a decaying spectrum, like trained weights: scale row i
    const f = 1 / Math.sqrt(1 + i / 64);
    for (let j = i * cols; j < (i + 1) * cols; j++) m[j] *= f;
  }
  const file = path.join(tmp, 'fc6.f32');
  fs.writeFileSync(file, Buffer.from(m.buffer));
  const request = { op: 'rsvd', path: file, rows, cols, rank, oversamples, power, seed: 0 };
  console.log(`(b) VGG-16 fc6 ${rows} x ${cols} float32, randomized SVD at rank ${rank} (${oversamples} oversamples, ${power} power iterations), ${rsvdRuns} alternating runs`);
  // warm-up on a small matrix for both sides (sessions, JIT, numpy imports)
  const small = m.subarray(0, 256 * 1024);
  await randomizedSvd(small, 256, 1024, 32, { oversamples, powerIterations: power });
  const ours = [];
  const theirs = [];
  let ourSigma;
  let numpySigma;
  for (let r = 0; r < rsvdRuns; r++) {
    const start = process.hrtime.bigint();
    const result = await randomizedSvd(m, rows, cols, rank, { oversamples, powerIterations: power, seed: r });
    ours.push(seconds(start));
    ourSigma = result.s;
    const answer = await peer.ask({ ...request, seed: r });
    theirs.push(answer.seconds);
    numpySigma = answer.sigma;
  }
  let diff = 0;
  for (let i = 0; i < rank; i++) diff = Math.max(diff, Math.abs(ourSigma[i] - numpySigma[i]) / numpySigma[0]);
  console.log(`    ours   randomizedSvd:              median ${fmt(median(ours))}  [${ours.map((x) => x.toFixed(2)).join(' ')}]`);
  console.log(`    numpy  sklearn-style randomized_svd: median ${fmt(median(theirs))}  [${theirs.map((x) => x.toFixed(2)).join(' ')}]`);
  console.log(`    singular values: max |ours - numpy| / sigma_1 = ${diff.toExponential(1)} (sigma_1 ${numpySigma[0].toFixed(2)}, sigma_${rank} ${numpySigma[rank - 1].toFixed(2)})`);
  const ratio = median(ours) / median(theirs);
  console.log(`    RATIO (b) randomized SVD ours/numpy = ${ratio.toFixed(2)}   (bar: <= 1.0)`);
  if (!(diff < 1e-2)) throw new Error(`(b) singular values differ from numpy's by ${diff}`);
  return ratio;
}

async function benchPerSize(peer, tmp) {
  console.log(`(c) one decomposition at a time (random Gram matrices W W^T, W n x 4n), ${runs} alternating runs each`);
  const random = new NormalRandom(7);
  for (const n of [64, 256, 512, 1024, 2048]) {
    const w = new Float32Array(n * 4 * n);
    random.fillNormal(w);
    const matrix = await gram(w, n, 4 * n, 'rows');
    const file = path.join(tmp, `gram${n}.f64`);
    fs.writeFileSync(file, Buffer.from(matrix.buffer));
    const request = { op: 'eigh', path: file, sizes: [n] };
    await symmetricEigen(matrix, n);
    await peer.ask(request);
    const ours = [];
    const theirs = [];
    for (let r = 0; r < (n >= 2048 ? Math.min(runs, 3) : runs); r++) {
      const start = process.hrtime.bigint();
      await symmetricEigen(matrix, n);
      ours.push(seconds(start));
      theirs.push((await peer.ask(request)).seconds);
    }
    const ratio = median(ours) / median(theirs);
    console.log(`    n=${String(n).padStart(4)}: ours ${(1e3 * median(ours)).toFixed(1)} ms, numpy ${(1e3 * median(theirs)).toFixed(1)} ms, ratio ${ratio.toFixed(2)}`);
  }
}

async function main() {
  const peer = new Peer();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'haloc-linalg-bench-'));
  try {
    const info = await peer.ask({ op: 'info' });
    const ortVersion = require(path.join(repoRoot, 'node_modules/onnxruntime-node/package.json')).version;
    console.log(`linalg bench: node ${process.version}, onnxruntime-node ${ortVersion} | numpy ${info.numpy} (${info.blas}) | ${os.availableParallelism()} cores, load ${os.loadavg()[0].toFixed(2)}`);
    const ratios = [];
    if (!args.includes('--skip-eigen')) ratios.push(['(a) eigen', await benchEigen(peer, tmp)]);
    if (!args.includes('--skip-rsvd')) ratios.push(['(b) randomized SVD', await benchRandomizedSvd(peer, tmp)]);
    if (args.includes('--per-size')) await benchPerSize(peer, tmp);
    console.log(`summary: ${ratios.map(([name, r]) => `${name} ${r.toFixed(2)}`).join(', ')} (ours/numpy, bar <= 1.0 each); load average now ${os.loadavg()[0].toFixed(2)}`);
  } finally {
    peer.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(`linalg bench failed: ${error.message}`);
  process.exitCode = 1;
});

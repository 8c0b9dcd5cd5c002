// onnxruntime-node as the BLAS-3 of engine/linalg: C = op(A) op(B) for row-major float32 / float64
// matrices through a one-node ONNX Gemm model. Dimensions are symbolic, so one session per
// (precision, transA, transB) serves every shape; sessions are cached per thread. Inputs are passed
// as views (no copy) and the result is written into a caller-provided buffer when one is given.
import type * as OrtModule from 'onnxruntime-node';
import { DataType } from '../onnx/dataType';
import { GraphBuilder } from '../onnx/graphBuilder';
import { encodeOnnx } from '../onnx/writeOnnx';

/** The element type of a matrix handed to onnxruntime. */
export type Precision = 'float32' | 'float64';

/** A row-major matrix buffer of either precision. */
export type FloatMatrix = Float32Array | Float64Array;

/** Options of one product. */
export interface GemmOptions {
  /** A is given as its transpose, k x m (default false). */
  readonly transA?: boolean;
  /** B is given as its transpose, n x k (default false). */
  readonly transB?: boolean;
  /** Where to write C (m x n, row-major); a new array when absent. */
  readonly out?: FloatMatrix;
}

type Ort = typeof OrtModule;

let ortModule: Ort | undefined;
const sessions = new Map<string, Promise<OrtModule.InferenceSession>>();
let threadCount = 0; // 0: automatic (see threadsFor)

/** Below this many multiply-adds a product runs on one thread: waking a pool costs more than it saves. */
const PARALLEL_MACS = 1 << 24;

/**
 * Sets the intra-op thread count of the sessions (worker pools use 1); 0 restores the automatic
 * choice: one thread for small products, onnxruntime's default (one per core) for large ones.
 */
export function setGemmThreads(threads: number): void {
  if (threads !== threadCount) {
    threadCount = threads;
    sessions.clear();
  }
}

function loadOrt(): Ort {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  ortModule ??= require('onnxruntime-node') as Ort;
  return ortModule;
}

function gemmModel(precision: Precision, transA: boolean, transB: boolean): Uint8Array {
  const elemType = precision === 'float32' ? DataType.FLOAT : DataType.DOUBLE;
  const g = new GraphBuilder({ name: 'haloc_linalg_gemm', opset: 13 });
  g.input('A', transA ? ['K', 'M'] : ['M', 'K'], elemType);
  g.input('B', transB ? ['N', 'K'] : ['K', 'N'], elemType);
  g.node('Gemm', ['A', 'B'], { transA: transA ? 1 : 0, transB: transB ? 1 : 0 }, { outputs: ['C'] });
  g.output('C', ['M', 'N'], elemType);
  return encodeOnnx(g.build());
}

/** The intra-op threads for a product of `macs` multiply-adds (0: onnxruntime's default). */
function threadsFor(macs: number): number {
  return threadCount > 0 ? threadCount : macs < PARALLEL_MACS ? 1 : 0;
}

/** The cached session of a model (built on first use) for this thread, with `threads` intra-op threads. */
export function cachedSession(key: string, build: () => Uint8Array, threads = threadCount): Promise<OrtModule.InferenceSession> {
  const fullKey = `${key}@${threads}`;
  let s = sessions.get(fullKey);
  if (!s) {
    const ort = loadOrt();
    const options: OrtModule.InferenceSession.SessionOptions = threads > 0
      ? { intraOpNumThreads: threads, interOpNumThreads: 1, logSeverityLevel: 3 }
      : { interOpNumThreads: 1, logSeverityLevel: 3 };
    s = ort.InferenceSession.create(build(), options);
    sessions.set(fullKey, s);
  }
  return s;
}

/** A tensor argument: row-major data (a view is fine) and its dims. */
export interface TensorArg {
  readonly data: FloatMatrix;
  readonly dims: readonly number[];
}

/**
 * Runs a cached model; outputs are written into the given buffers (which may alias an input). `macs`
 * (the multiply-adds of the run) picks the thread count when it is automatic.
 */
export async function runCached(key: string, build: () => Uint8Array, inputs: Readonly<Record<string, TensorArg>>, outputs: Readonly<Record<string, TensorArg>>, macs = Infinity): Promise<void> {
  const ort = loadOrt();
  const s = await cachedSession(key, build, threadsFor(macs));
  const tensor = (arg: TensorArg): OrtModule.Tensor => {
    const size = arg.dims.reduce((p, d) => p * d, 1);
    const data = arg.data.length === size ? arg.data : arg.data.subarray(0, size);
    return new ort.Tensor(data instanceof Float32Array ? 'float32' : 'float64', data, arg.dims);
  };
  const feeds: Record<string, OrtModule.Tensor> = {};
  for (const [name, arg] of Object.entries(inputs)) feeds[name] = tensor(arg);
  const fetches: Record<string, OrtModule.Tensor> = {};
  for (const [name, arg] of Object.entries(outputs)) fetches[name] = tensor(arg);
  await s.run(feeds, fetches);
}

/** C (m x n) = op(A) op(B) with op(A) m x k and op(B) k x n, in onnxruntime. */
export async function ortGemm<T extends FloatMatrix>(a: T, b: T, m: number, k: number, n: number, options: GemmOptions = {}): Promise<T> {
  const precision: Precision = a instanceof Float32Array ? 'float32' : 'float64';
  const transA = options.transA ?? false;
  const transB = options.transB ?? false;
  if (a.length < m * k || b.length < k * n) throw new RangeError(`ortGemm: operands smaller than ${m}x${k} and ${k}x${n}`);
  const out = (options.out ?? (precision === 'float32' ? new Float32Array(m * n) : new Float64Array(m * n))) as T;
  if (m === 0 || n === 0) return out;
  if (k === 0) {
    out.fill(0, 0, m * n);
    return out;
  }
  const key = `gemm:${precision}:${transA ? 'T' : 'N'}${transB ? 'T' : 'N'}`;
  await runCached(key, () => gemmModel(precision, transA, transB), {
    A: { data: a, dims: transA ? [k, m] : [m, k] },
    B: { data: b, dims: transB ? [n, k] : [k, n] },
  }, { C: { data: out, dims: [m, n] } }, m * k * n);
  return out;
}

/** One operand pair of ortGemmPair: C (m x n) = op(A) op(B). */
export interface GemmTask<T extends FloatMatrix> {
  readonly a: T;
  readonly b: T;
  readonly m: number;
  readonly k: number;
  readonly n: number;
  readonly out: T;
}

function pairModel(precision: Precision, transA: boolean, transB: boolean): Uint8Array {
  const elemType = precision === 'float32' ? DataType.FLOAT : DataType.DOUBLE;
  const g = new GraphBuilder({ name: 'haloc_linalg_gemm_pair', opset: 13 });
  for (const i of [1, 2]) {
    g.input(`A${i}`, transA ? [`K${i}`, `M${i}`] : [`M${i}`, `K${i}`], elemType);
    g.input(`B${i}`, transB ? [`N${i}`, `K${i}`] : [`K${i}`, `N${i}`], elemType);
    g.node('Gemm', [`A${i}`, `B${i}`], { transA: transA ? 1 : 0, transB: transB ? 1 : 0 }, { outputs: [`C${i}`] });
    g.output(`C${i}`, [`M${i}`, `N${i}`], elemType);
  }
  return encodeOnnx(g.build());
}

/**
 * Two independent products with the same transpose flags in one onnxruntime call (half the call
 * overhead); every dimension must be at least 1.
 */
export async function ortGemmPair<T extends FloatMatrix>(first: GemmTask<T>, second: GemmTask<T>, options: { readonly transA?: boolean; readonly transB?: boolean } = {}): Promise<void> {
  const precision: Precision = first.a instanceof Float32Array ? 'float32' : 'float64';
  const transA = options.transA ?? false;
  const transB = options.transB ?? false;
  const inputs: Record<string, TensorArg> = {};
  const outputs: Record<string, TensorArg> = {};
  [first, second].forEach((t, index) => {
    const i = index + 1;
    inputs[`A${i}`] = { data: t.a, dims: transA ? [t.k, t.m] : [t.m, t.k] };
    inputs[`B${i}`] = { data: t.b, dims: transB ? [t.n, t.k] : [t.k, t.n] };
    outputs[`C${i}`] = { data: t.out, dims: [t.m, t.n] };
  });
  const key = `gemmPair:${precision}:${transA ? 'T' : 'N'}${transB ? 'T' : 'N'}`;
  await runCached(key, () => pairModel(precision, transA, transB), inputs, outputs, first.m * first.k * first.n + second.m * second.k * second.n);
}

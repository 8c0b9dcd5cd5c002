// The WebAssembly SIMD kernels (source: wasm/kernels.as) and the memory they work in: one instance
// per thread, a growable memory, and float64 views that are re-created after the memory grows.
import { wasmKernelsBase64 } from './wasmKernelsBinary';

// The engine is compiled without the DOM library, which is where TypeScript declares WebAssembly.
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { readonly exports: unknown };
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** The exported kernels; pointers are byte offsets into the instance's memory (see kernels.as). */
export interface KernelExports {
  readonly memory: WasmMemory;
  symvLower(a: number, lda: number, m: number, x: number, y: number): void;
  syr2Lower(a: number, lda: number, m: number, v: number, w: number): void;
  subLower(a: number, lda: number, m: number, ncols: number, p: number, ldp: number): void;
  gemvT(a: number, lda: number, m: number, k: number, x: number, y: number): void;
  gemvNSub(a: number, lda: number, m: number, k: number, x: number, y: number): void;
  secularSums(delta: number, z2: number, k: number, base: number, tau: number, split: number, out: number): void;
  secularZhat(delta: number, lamBase: number, tau: number, z: number, k: number, rhoInv: number, out: number): void;
  tql2(d: number, e: number, n: number, vt: number): number;
  secularVectorCols(delta: number, zhat: number, lamBase: number, tau: number, k: number, out: number, norms: number): void;
  choleskyUpper(a: number, l: number, shift: number): number;
  upperInverse(r: number, l: number, x: number): void;
  finishW(w: number, v: number, L: number, tau: number): void;
  householder(a: number, len: number, out: number): void;
}

const PAGE = 65536;
/** Bytes below this offset are left to the module's own data. */
export const HEAP_BASE = PAGE;

let instance: KernelExports | undefined;

/** The kernels of this thread (instantiated on first use). */
export function kernels(): KernelExports {
  if (!instance) {
    const module = new wasm.Module(Buffer.from(wasmKernelsBase64, 'base64'));
    instance = new wasm.Instance(module, { env: { abort: () => { throw new Error('wasm kernel abort'); } } }).exports as unknown as KernelExports;
  }
  return instance;
}

/** Makes sure the memory holds at least `bytes` bytes (views made before a growth are detached). */
export function reserveMemory(bytes: number): KernelExports {
  const k = kernels();
  const have = k.memory.buffer.byteLength;
  if (have < bytes) k.memory.grow(Math.ceil((bytes - have) / PAGE));
  return k;
}

/** A float64 view of `length` elements at byte offset `ptr`. */
export function f64View(ptr: number, length: number): Float64Array {
  return new Float64Array(kernels().memory.buffer, ptr, length);
}

let queue: Promise<unknown> = Promise.resolve();

/**
 * Runs `fn` with the wasm memory to itself: computations of this thread that use the memory (and
 * await onnxruntime in between) run one after another, so that none overwrites another's arrays or
 * grows the memory under its views. Must not be nested.
 */
export function withWasm<T>(fn: (arena: WasmArena) => Promise<T> | T): Promise<T> {
  const run = queue.then(() => fn(new WasmArena()));
  queue = run.catch(() => undefined);
  return run;
}

/** Hands out 64-byte-aligned regions of the wasm memory for one computation (a bump allocator). */
export class WasmArena {
  private top = HEAP_BASE;

  /** Reserves `elements` float64 values and returns the byte offset. */
  alloc(elements: number): number {
    const ptr = this.top;
    this.top += Math.ceil((elements * 8) / 64) * 64;
    return ptr;
  }

  /** Grows the memory to cover every region handed out so far. */
  commit(): KernelExports {
    return reserveMemory(this.top);
  }
}

// Loads TensorFlow.js on first use: the native @tensorflow/tfjs-node when it can be required (an
// optional dependency whose install needs libtensorflow), else @tensorflow/tfjs on the WebAssembly
// backend (SIMD where the runtime has it), else the pure-JavaScript cpu backend.
import * as path from 'node:path';
import { errorMessage, HalocError } from '../../errors';
import type { Tf } from './tfjsTypes';

/** A loaded TensorFlow.js and the backend that runs it, in words for the user. */
export interface TfjsRuntime {
  readonly tf: Tf;
  /** E.g. "tensorflow.js wasm (SIMD)". */
  readonly description: string;
}

interface WasmModule {
  setWasmPaths(prefix: string): void;
  getThreadsCount(): number;
}

let loading: Promise<TfjsRuntime> | undefined;

/** The process-wide TensorFlow.js runtime (loaded once; tfjs keeps one global engine). */
export function loadTfjs(): Promise<TfjsRuntime> {
  loading ??= load().catch((error: unknown) => {
    loading = undefined;
    throw error;
  });
  return loading;
}

async function load(): Promise<TfjsRuntime> {
  const native = await tryImport<Tf>('@tensorflow/tfjs-node');
  if (native && (await native.setBackend('tensorflow'))) {
    await native.ready();
    return { tf: native, description: 'tensorflow.js node (native libtensorflow)' };
  }
  let tf: Tf;
  try {
    tf = await import('@tensorflow/tfjs');
  } catch (error) {
    throw new HalocError('UNSUPPORTED', `TensorFlow.js cannot be loaded (${errorMessage(error)}); reinstall the extension's dependencies`);
  }
  const wasm = await tryImport<WasmModule>('@tensorflow/tfjs-backend-wasm');
  if (wasm) {
    wasm.setWasmPaths(wasmDistFolder());
    if (await quietly(() => tf.setBackend('wasm'))) {
      await tf.ready();
      const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
      const threads = wasm.getThreadsCount();
      const details = [simd ? 'SIMD' : 'no SIMD', ...(threads > 1 ? [`${threads} threads`] : [])];
      return { tf, description: `tensorflow.js wasm (${details.join(', ')})` };
    }
  }
  if (!(await quietly(() => tf.setBackend('cpu')))) throw new HalocError('UNSUPPORTED', 'TensorFlow.js has no usable backend (wasm and cpu both failed to start)');
  await tf.ready();
  return { tf, description: 'tensorflow.js cpu (pure JavaScript, slow)' };
}

/** The folder of the wasm binaries, with a trailing separator as setWasmPaths expects. */
function wasmDistFolder(): string {
  const packageJson = require.resolve('@tensorflow/tfjs-backend-wasm/package.json');
  return path.join(path.dirname(packageJson), 'dist') + path.sep;
}

/** A module, or undefined when it is not installed or fails to load (tfjs-node without libtensorflow). */
async function tryImport<T>(name: string): Promise<T | undefined> {
  try {
    return (await import(name)) as T;
  } catch {
    return undefined;
  }
}

/** setBackend's result, false when it throws (tfjs also logs why). */
async function quietly(start: () => Promise<boolean>): Promise<boolean> {
  try {
    return await start();
  } catch {
    return false;
  }
}

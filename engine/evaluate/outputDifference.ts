// Runs an original and a rewritten model on the same seeded sample inputs in onnxruntime-node and
// measures how far the outputs moved: the maximum absolute difference and ||y' - y|| / ||y|| over all
// outputs. Loading the rewritten model in onnxruntime is also its validity check.
import { errorMessage, HalocError } from '../errors';
import type { GraphInput } from '../graph/inferShapes';
import { DataType } from '../onnx/dataType';
import { seededNormal } from '../random';
import { createSession } from './inferenceSession';

/** How much a rewrite changed a model's outputs. */
export interface OutputDifference {
  readonly maxAbs: number;
  /** ||y' - y||_2 / ||y||_2 over every output value. */
  readonly rel: number;
  readonly samples: number;
  readonly inputs: string;
}

/**
 * Compares two models (a file path, whose external data onnxruntime finds beside it, or ONNX bytes) on
 * `samples` seeded standard-normal inputs of the given shapes. One session at a time: the two sessions
 * of a large model need not be in memory together.
 */
export async function outputDifference(originalBytes: Uint8Array | string, rewrittenBytes: Uint8Array, inputs: readonly GraphInput[], samples = 4, seed = 1): Promise<OutputDifference> {
  const ort = await import('onnxruntime-node');
  const feedsOf = (sample: number): Record<string, InstanceType<typeof ort.Tensor>> => {
    const feeds: Record<string, InstanceType<typeof ort.Tensor>> = {};
    inputs.forEach((input, i) => {
      if (input.elemType !== DataType.FLOAT) throw new HalocError('UNSUPPORTED', `input '${input.name}' is not float32; the output check cannot feed it`);
      const dims = input.dims.map((d) => (typeof d === 'number' ? d : 1));
      feeds[input.name] = new ort.Tensor('float32', seededNormal(dims.reduce((p, d) => p * d, 1), seed + sample * 101 + i), dims);
    });
    return feeds;
  };
  let names: readonly string[] = [];
  /** Every sample's outputs, in the original's output order (the first session's). */
  const outputsOf = async (session: Awaited<ReturnType<typeof ort.InferenceSession.create>>): Promise<Float32Array[][]> => {
    try {
      if (names.length === 0) names = session.outputNames;
      const all: Float32Array[][] = [];
      for (let sample = 0; sample < samples; sample++) {
        const out = await session.run(feedsOf(sample));
        all.push(names.map((name) => out[name]?.data as Float32Array));
      }
      return all;
    } finally {
      await session.release();
    }
  };
  const expected = await outputsOf(await createSession(originalBytes, { logSeverityLevel: 4 }));
  let rewritten: Awaited<ReturnType<typeof ort.InferenceSession.create>>;
  try {
    rewritten = await ort.InferenceSession.create(rewrittenBytes, { logSeverityLevel: 4 });
  } catch (error) {
    throw new HalocError('UNSUPPORTED', `the rewritten model does not load in onnxruntime (${errorMessage(error)}); nothing was written`);
  }
  const actual = await outputsOf(rewritten);
  let maxAbs = 0;
  let diffSquares = 0;
  let refSquares = 0;
  expected.forEach((outputs, sample) => outputs.forEach((x, o) => {
    const y = actual[sample]?.[o];
    for (let i = 0; i < (x?.length ?? 0); i++) {
      const d = Math.abs((y?.[i] ?? 0) - (x[i] ?? 0));
      maxAbs = Math.max(maxAbs, d);
      diffSquares += d * d;
      refSquares += (x[i] ?? 0) ** 2;
    }
  }));
  return { maxAbs, rel: refSquares > 0 ? Math.sqrt(diffSquares / refSquares) : Math.sqrt(diffSquares), samples, inputs: `seeded standard normal (seed ${seed})` };
}

// Measuring a model on a set of images in onnxruntime-node: its logits, then top-1 / top-5 against
// labels, the share of images whose top-1 class matches the original model's, and the relative
// change of the logits.
import * as os from 'node:os';
import { neverCancelled, type CancelSignal } from '../cancellation';
import { batches } from '../data/batches';
import { imageBatch } from '../data/imageBatch';
import { imagesShape, type ImageDataset } from '../data/imageSet';
import { openFedSession, type SessionModel } from '../evaluate/fedSession';

/** Images to evaluate on. */
export interface EvalSet {
  readonly dataset: ImageDataset;
  readonly indices: Int32Array;
}

/** What a model's logits say against the original's and the labels. */
export interface LogitsComparison {
  /** null without labels. */
  readonly top1: number | null;
  readonly top5: number | null;
  /** Share of images with the same top-1 class as the original model. */
  readonly agreement: number;
  /** ||logits - original|| / ||original||. */
  readonly logitsError: number;
  readonly images: number;
}

/** Logits [images, classes] of a model (ONNX bytes with external data inlined, or a proto and its constants, see fedSession) on the set, in its order (a model with a fixed batch size: dropLast). */
export async function logitsOn(model: Uint8Array | SessionModel, set: EvalSet, options: { readonly batchSize?: number; readonly dropLast?: boolean; readonly threads?: number; readonly cancel?: CancelSignal } = {}): Promise<{ logits: Float32Array; classes: number; images: number }> {
  const ort = await import('onnxruntime-node');
  const session = await openFedSession(model, 'a model to evaluate', options.threads ?? os.availableParallelism());
  const [input = '', output = ''] = [session.inputNames[0], session.outputNames[0]];
  const imageDims = imagesShape(set.dataset, 1).slice(1);
  const parts: Float32Array[] = [];
  let images = 0;
  try {
    for (const batch of batches(set.dataset, { batchSize: options.batchSize ?? imageBatch(set.dataset, 64), indices: set.indices, cancel: options.cancel ?? neverCancelled, dropLast: options.dropLast === true })) {
      const results = await session.run({ [input]: new ort.Tensor('float32', batch.images, [batch.size, ...imageDims]) }, [output]);
      parts.push(results[output]!.data as Float32Array);
      images += batch.size;
    }
  } finally {
    await session.release();
  }
  const logits = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    logits.set(part, offset);
    offset += part.length;
  }
  return { logits, classes: images > 0 ? logits.length / images : 0, images };
}

/** Compares logits with the original's (same images, same order) and with the labels, when given. */
export function compareLogits(logits: Float32Array, original: Float32Array, classes: number, labels: Int32Array | undefined): LogitsComparison {
  const images = classes > 0 ? Math.floor(logits.length / classes) : 0;
  let top1 = 0;
  let top5 = 0;
  let agree = 0;
  let diff = 0;
  let norm = 0;
  for (let n = 0; n < images; n++) {
    const row = logits.subarray(n * classes, (n + 1) * classes);
    const reference = original.subarray(n * classes, (n + 1) * classes);
    if (argmax(row) === argmax(reference)) agree++;
    for (let c = 0; c < classes; c++) {
      diff += ((row[c] ?? 0) - (reference[c] ?? 0)) ** 2;
      norm += (reference[c] ?? 0) ** 2;
    }
    const label = labels?.[n];
    if (label === undefined) continue;
    const rank = rankOf(row, label);
    if (rank === 0) top1++;
    if (rank < 5) top5++;
  }
  const labelled = labels !== undefined && images > 0;
  return { top1: labelled ? top1 / images : null, top5: labelled ? top5 / images : null, agreement: images ? agree / images : 0, logitsError: norm > 0 ? Math.sqrt(diff / norm) : 0, images };
}

/** The labels of the set's images, in its order (undefined without labels). */
export function labelsOf(set: EvalSet): Int32Array | undefined {
  const labels = set.dataset.labels;
  return labels ? Int32Array.from(set.indices, (i) => labels[i] ?? 0) : undefined;
}

function argmax(row: Float32Array): number {
  let best = 0;
  for (let c = 1; c < row.length; c++) if ((row[c] ?? -Infinity) > (row[best] ?? -Infinity)) best = c;
  return best;
}

/** How many classes score above the label's (ties count for the lower class index, as evaluateAccuracy does). */
function rankOf(row: Float32Array, label: number): number {
  const target = row[label] ?? -Infinity;
  let above = 0;
  for (let c = 0; c < row.length; c++) if ((row[c] ?? -Infinity) > target || (row[c] === target && c < label)) above++;
  return above;
}

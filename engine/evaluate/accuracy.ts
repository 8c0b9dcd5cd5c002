// Top-1 / top-5 accuracy of a classifier on a labelled dataset (or a split of it), in onnxruntime-node.
import { neverCancelled, type CancelSignal } from '../cancellation';
import { batches } from '../data/batches';
import { imageBatch } from '../data/imageBatch';
import { imagesShape, type ImageDataset } from '../data/imageSet';
import { HalocError } from '../errors';
import { openClassifier, type Classifier } from './classifier';

/** Accuracy on a set of images. */
export interface Accuracy {
  readonly top1: number;
  readonly top5: number;
  readonly images: number;
}

/** Options of evaluate. */
export interface EvaluateOptions {
  readonly indices?: Int32Array;
  readonly batchSize?: number;
  readonly cancel?: CancelSignal;
}

/** Top-1 and top-5 of a model (file path, bytes or an open classifier) on the labelled images. */
export async function evaluateAccuracy(model: string | Uint8Array | Classifier, dataset: ImageDataset, options: EvaluateOptions = {}): Promise<Accuracy> {
  if (!dataset.labels) throw new HalocError('BAD_ARGUMENT', 'accuracy needs labelled data (an ImageFolder with one sub-folder per class)');
  const classifier = typeof model === 'object' && 'logits' in model ? model : await openClassifier(model);
  const imageDims = imagesShape(dataset, 1).slice(1);
  let top1 = 0;
  let top5 = 0;
  let images = 0;
  try {
    for (const batch of batches(dataset, { batchSize: options.batchSize ?? imageBatch(dataset, 256), ...(options.indices ? { indices: options.indices } : {}), cancel: options.cancel ?? neverCancelled })) {
      const logits = await classifier.logits(batch.images, batch.size, imageDims);
      const classes = logits.length / batch.size;
      batch.labels!.forEach((label, r) => {
        const row = logits.subarray(r * classes, (r + 1) * classes);
        const target = row[label] ?? -Infinity;
        let above = 0;
        for (let c = 0; c < classes; c++) if (row[c]! > target || (row[c] === target && c < label)) above++;
        if (above === 0) top1++;
        if (above < 5) top5++;
      });
      images += batch.size;
    }
  } finally {
    if (classifier !== model) await classifier.release();
  }
  return { top1: images ? top1 / images : 0, top5: images ? top5 / images : 0, images };
}

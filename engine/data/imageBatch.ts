// How many images to run at once: a preferred batch, fewer for large images, so that the activations an
// inference holds stay near a bound. Activations per image are taken as 64 times the input image (a
// convolutional classifier's widest layers hold tens of times its input: ResNet-50 at 224 x 224, whose
// input is 0.6 MB, held over 4 GB in an evaluation at batch 256). CIFAR-sized images keep their batch.
import { imagesShape, type ImageDataset } from './imageSet';

/** The activation memory a batch may take (bytes). */
const activationBudgetBytes = 1024 * 2 ** 20;

/** `preferred`, or fewer images when one image's input is large (at least 1). */
export function imageBatch(dataset: Pick<ImageDataset, 'layout' | 'channels' | 'height' | 'width'>, preferred: number): number {
  const inputBytes = 4 * imagesShape(dataset, 1).slice(1).reduce((p, d) => p * d, 1);
  return Math.max(1, Math.min(preferred, Math.floor(activationBudgetBytes / (64 * inputBytes))));
}

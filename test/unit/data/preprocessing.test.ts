// Preprocessing values against hand-computed numbers: bilinear resize, centre crop, scale, mean/std,
// layout, channel order, and the CLI flag parsers.
import * as assert from 'node:assert/strict';
import type { RawImages } from '../../../engine/data/imageSet';
import { fitAll } from '../../../engine/data/loadDataset';
import { cifarResnetPreprocessing, normalizeImages } from '../../../engine/data/preprocessing';
import { parseNumberList, parseSize, preprocessingFromFlags } from '../../../engine/data/preprocessingArgs';
import { fitImage } from '../../../engine/data/resizeImage';
import { assertClose, assertHalocError } from './dataTestSupport';

/** A one-image, one-channel float image of (y, x) -> value. */
function grey(height: number, width: number, value: (y: number, x: number) => number): Float32Array {
  return Float32Array.from({ length: height * width }, (_, i) => value(Math.floor(i / width), i % width));
}

describe('data: preprocessing', () => {
  it('upsamples bilinearly with half-pixel centres', () => {
    const out = new Float32Array(16);
    fitImage(Float32Array.of(0, 100, 200, 255), 2, 2, 1, { height: 4, width: 4 }, out, 0);
    // Source coordinates per output index: clamp((i + 0.5) / 2 - 0.5) = 0, 0.25, 0.75, 1.
    assertClose(out.subarray(0, 4), [0, 25, 75, 100]);
    assertClose(out.subarray(4, 8), [50, 72.1875, 116.5625, 138.75]);
    assertClose(out.subarray(12, 16), [200, 213.75, 241.25, 255]);
  });

  it('downsamples 4x4 to 2x2 as the mean of each 2x2 block (sample points at 0.5 and 2.5)', () => {
    const out = new Float32Array(4);
    fitImage(grey(4, 4, (y, x) => 4 * y + x), 4, 4, 1, { height: 2, width: 2 }, out, 0);
    assertClose(out, [2.5, 4.5, 10.5, 12.5]);
  });

  it('centre-crops without resizing when the image already covers the size, and resizes the shorter side first when asked', () => {
    const image = grey(4, 6, (y, x) => 10 * y + x);
    const crop = new Float32Array(16);
    fitImage(image, 4, 6, 1, { height: 4, width: 4 }, crop, 0);
    assertClose(crop.subarray(0, 4), [1, 2, 3, 4]);
    assertClose(crop.subarray(12, 16), [31, 32, 33, 34]);
    const small = new Float32Array(4);
    // Shorter side 4 -> 2: a 2x3 resize (sample rows 0.5, 2.5; columns 0.5, 2.5, 4.5), then the centre 2x2 (left 0).
    fitImage(image, 4, 6, 1, { height: 2, width: 2, resize: 2 }, small, 0);
    assertClose(small, [5.5, 7.5, 25.5, 27.5]);
  });

  it('rounds uint8 results', () => {
    const out = new Uint8Array(1);
    fitImage(Uint8Array.of(0, 1, 2, 4), 2, 2, 1, { height: 1, width: 1 }, out, 0);
    assert.deepEqual([...out], [2], 'the mean 1.75 rounds to 2');
  });

  const raw: RawImages = { pixels: Uint8Array.of(255, 0, 128, 0, 51, 255), count: 1, height: 1, width: 2, channels: 3, classNames: [] };

  it('applies RGB/255 then the CIFAR mean/std in NCHW', () => {
    const dataset = normalizeImages(raw, cifarResnetPreprocessing);
    // (255/255 - 0.485)/0.229, (0 - 0.485)/0.229 | (0 - 0.456)/0.224, (51/255 - 0.456)/0.224 | (128/255 - 0.406)/0.225, (1 - 0.406)/0.225
    assertClose(dataset.images, [2.2489083, -2.1179039, -2.0357143, -1.1428571, 0.4264924, 2.64]);
  });

  it('writes NHWC and BGR when asked (mean/std in the output channel order)', () => {
    const dataset = normalizeImages(raw, { scale: 1, mean: [1, 2, 3], std: [2], layout: 'NHWC', channelOrder: 'BGR' });
    // pixel 0 as BGR = 128, 0, 255; pixel 1 = 255, 51, 0; value = (v - mean[c]) / 2
    assertClose(dataset.images, [63.5, -1, 126, 127, 24.5, -1.5]);
    assertHalocError(() => normalizeImages(raw, { mean: [1, 2] }), 'BAD_ARGUMENT', /--mean has 2 values but the images have 3 channels/);
  });

  it('resizes float tensors with fitAll', () => {
    const fitted = fitAll({ pixels: grey(4, 4, (y, x) => 4 * y + x), count: 1, height: 4, width: 4, channels: 1, classNames: [] }, { size: [2, 2] });
    assertClose(fitted.pixels, [2.5, 4.5, 10.5, 12.5]);
  });

  it('parses the CLI flags', () => {
    assert.deepEqual(parseSize('32'), [32, 32]);
    assert.deepEqual(parseSize('224x200'), [224, 200]);
    assert.deepEqual(parseNumberList('0.485,0.456,0.406', '--mean'), [0.485, 0.456, 0.406]);
    const settings = preprocessingFromFlags({ size: '32,32', scale: '1/255', mean: '0.485,0.456,0.406', std: '0.229, 0.224, 0.225', layout: 'nhwc', channelOrder: 'bgr', resize: '36' });
    assert.deepEqual(settings, { size: [32, 32], scale: 1 / 255, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], layout: 'NHWC', channelOrder: 'BGR', resize: 36 });
    assert.deepEqual(preprocessingFromFlags({}, cifarResnetPreprocessing), cifarResnetPreprocessing);
    assertHalocError(() => parseSize('0'), 'BAD_ARGUMENT', /--size must be a positive integer/);
    assertHalocError(() => preprocessingFromFlags({ mean: '0.4,,0.3' }), 'BAD_ARGUMENT', /--mean must be comma-separated numbers/);
    assertHalocError(() => preprocessingFromFlags({ scale: '1/0' }), 'BAD_ARGUMENT', /--scale must be a positive number/);
    assertHalocError(() => preprocessingFromFlags({ layout: 'CHW' }), 'BAD_ARGUMENT', /--layout must be NCHW or NHWC/);
  });
});

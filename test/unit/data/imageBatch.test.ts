// The batch of an inference over images: CIFAR-sized images keep the preferred batch, ImageNet-sized
// ones get as many as keep 64 times their input within 1 GB, and a huge image still runs alone.
import * as assert from 'node:assert/strict';
import { imageBatch } from '../../../engine/data/imageBatch';

describe('imageBatch', function () {
  it('keeps the preferred batch for small images and lowers it for large ones', function () {
    const images = (height: number, width: number, channels = 3) => ({ layout: 'NCHW' as const, channels, height, width });
    assert.equal(imageBatch(images(32, 32), 256), 256);
    assert.equal(imageBatch(images(28, 28, 1), 64), 64);
    assert.equal(imageBatch(images(224, 224), 256), Math.floor(2 ** 30 / (64 * 4 * 3 * 224 * 224)));
    assert.equal(imageBatch(images(224, 224), 8), 8, 'never more than preferred');
    assert.equal(imageBatch(images(8192, 8192), 64), 1, 'at least one image');
  });
});

// ImageFolder reading from folders and tars: class order, labels, pixels, limits, cache, errors.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SharedCancelFlag } from '../../../engine/cancellation';
import { readImageFolder } from '../../../engine/data/readImageFolder';
import { assertHalocError, encodeJpeg, encodePng, rgbImage, tarBytes, tempDir, writeFiles } from './dataTestSupport';

/** A 2x3 PNG whose pixel (y, x, c) is base + 10*y + 3*x + c. */
function pngOf(base: number): Buffer {
  return encodePng(rgbImage(2, 3, (y, x, c) => base + 10 * y + 3 * x + c), 2, 3);
}

/** Classes written out of order: 'zebra' (1 image), 'ant' (2), 'Moth' (1); sorted order is Moth, ant, zebra. */
const files: Record<string, Buffer> = {
  'zebra/b.png': pngOf(100),
  'ant/2.png': pngOf(20),
  'ant/1.png': pngOf(10),
  'Moth/x.png': pngOf(50),
};

describe('data: ImageFolder reading', () => {
  let dir: string;
  beforeEach(() => (dir = tempDir()));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('labels images by the sorted class folders, in class then file order, with exact PNG pixels', () => {
    writeFiles(path.join(dir, 'data'), files);
    const { images } = readImageFolder(path.join(dir, 'data'), { cacheDir: null });
    assert.deepEqual(images.classNames, ['Moth', 'ant', 'zebra']);
    assert.deepEqual([...(images.labels ?? [])], [0, 1, 1, 2]);
    assert.equal(images.count, 4);
    assert.deepEqual([images.height, images.width, images.channels], [2, 3, 3]);
    const firstOf = (n: number): number[] => [...images.pixels.subarray(n * 18, n * 18 + 4)];
    assert.deepEqual(firstOf(0), [50, 51, 52, 53]);
    assert.deepEqual(firstOf(1), [10, 11, 12, 13]);
    assert.deepEqual(firstOf(2), [20, 21, 22, 23]);
    assert.equal(images.pixels[3 * 18 + 17], 100 + 10 + 6 + 2);
  });

  it('reads a tar of the same folder below a top folder (with a long path) the same way', async () => {
    // A ustar prefix/name split, and a file name over 100 characters (a pax header).
    const deepName = `${'d'.repeat(60)}/${'e'.repeat(60)}.png`;
    const longName = `${'f'.repeat(120)}.png`;
    const tar = await tarBytes(Object.fromEntries([...Object.entries(files).map(([name, bytes]) => [`test/${name}`, bytes]), [`test/ant/${deepName}`, pngOf(30)], [`test/ant/${longName}`, pngOf(40)]]));
    fs.writeFileSync(path.join(dir, 'set.tar'), tar);
    const { images } = readImageFolder(path.join(dir, 'set.tar'), { cacheDir: null });
    assert.deepEqual(images.classNames, ['Moth', 'ant', 'zebra']);
    assert.deepEqual([...(images.labels ?? [])], [0, 1, 1, 1, 1, 2]);
    assert.deepEqual([images.pixels[3 * 18], images.pixels[4 * 18]], [30, 40]);
  });

  it('takes a single class folder below a top folder as one class', () => {
    writeFiles(dir, { 'top/cat/1.png': pngOf(0), 'top/cat/2.png': pngOf(1) });
    const { images } = readImageFolder(dir, { cacheDir: null });
    assert.deepEqual(images.classNames, ['cat']);
    assert.equal(images.count, 2);
  });

  it('decodes JPEGs close to their source pixels', () => {
    const rgb = rgbImage(8, 8, (y, x, c) => [200, 60, 120][c] ?? 0);
    writeFiles(dir, { 'a/1.jpg': encodeJpeg(rgb, 8, 8), 'b/1.jpeg': encodeJpeg(rgb, 8, 8) });
    const { images } = readImageFolder(dir, { cacheDir: null });
    for (let i = 0; i < images.pixels.length; i++) assert.ok(Math.abs((images.pixels[i] ?? 0) - (rgb[i % rgb.length] ?? 0)) <= 4, `pixel ${i}`);
  });

  it('resizes to a common size when given one, and refuses mixed sizes without it', () => {
    writeFiles(dir, { 'a/1.png': pngOf(0), 'b/1.png': encodePng(rgbImage(4, 6, () => 7), 4, 6) });
    const { images } = readImageFolder(dir, { cacheDir: null, size: [2, 2] });
    assert.deepEqual([images.count, images.height, images.width], [2, 2, 2]);
    assert.ok(images.pixels.subarray(12).every((v) => v === 7));
    assertHalocError(() => readImageFolder(dir, { cacheDir: null }), 'BAD_ARGUMENT', /b\/1\.png.*--size/);
  });

  it('limits round-robin over the classes and reports progress', () => {
    writeFiles(dir, files);
    const progress: number[] = [];
    const { images } = readImageFolder(dir, { cacheDir: null, limit: 3, onProgress: (done) => progress.push(done) });
    assert.deepEqual([...(images.labels ?? [])], [0, 1, 2]);
    assert.equal(progress.at(-1), 3);
  });

  it('decodes once: a second load with the same settings comes from the cache', () => {
    writeFiles(path.join(dir, 'data'), files);
    const cacheDir = path.join(dir, 'cache');
    const first = readImageFolder(path.join(dir, 'data'), { cacheDir });
    const second = readImageFolder(path.join(dir, 'data'), { cacheDir });
    assert.deepEqual([first.decoded, first.fromCache, second.decoded, second.fromCache], [4, false, 0, true]);
    assert.deepEqual(second.images, first.images);
    assert.equal(readImageFolder(path.join(dir, 'data'), { cacheDir, size: [1, 1] }).decoded, 4, 'other settings are another entry');
    for (const file of fs.readdirSync(cacheDir)) fs.writeFileSync(path.join(cacheDir, file), 'damaged');
    assert.equal(readImageFolder(path.join(dir, 'data'), { cacheDir }).decoded, 4, 'a damaged cache entry is a miss');
    assert.equal(readImageFolder(path.join(dir, 'data'), { cacheDir }).decoded, 0, 'and is rewritten');
    fs.writeFileSync(path.join(dir, 'data', 'ant', '3.png'), pngOf(5));
    assert.equal(readImageFolder(path.join(dir, 'data'), { cacheDir }).decoded, 5, 'a changed folder is decoded again');
  });

  it('stops between files when cancelled', () => {
    writeFiles(dir, files);
    const flag = new SharedCancelFlag();
    flag.cancel();
    assertHalocError(() => readImageFolder(dir, { cacheDir: null, cancel: flag }), 'CANCELLED', /cancelled/);
  });

  it('gives one-line errors for a missing folder, an empty folder, no class folders and a corrupt image', () => {
    assertHalocError(() => readImageFolder(path.join(dir, 'nope'), { cacheDir: null }), 'NOT_FOUND', /nope: no such file or folder/);
    fs.mkdirSync(path.join(dir, 'empty', 'cls'), { recursive: true });
    assertHalocError(() => readImageFolder(path.join(dir, 'empty'), { cacheDir: null }), 'NOT_FOUND', /empty: no JPEG or PNG images found/);
    writeFiles(path.join(dir, 'flat'), { '1.png': pngOf(0) });
    assertHalocError(() => readImageFolder(path.join(dir, 'flat'), { cacheDir: null }), 'NOT_FOUND', /flat: images but no class sub-folders/);
    const jpg = encodeJpeg(rgbImage(8, 8, () => 9), 8, 8);
    writeFiles(path.join(dir, 'bad'), { 'a/ok.png': pngOf(0), 'a/broken.jpg': jpg.subarray(0, 40), 'b/junk.png': Buffer.from('not an image') });
    assertHalocError(() => readImageFolder(path.join(dir, 'bad'), { cacheDir: null }), 'CORRUPT', /a\/broken\.jpg: cannot be decoded/);
  });

  it('rejects a corrupt tar with a one-line error', () => {
    fs.writeFileSync(path.join(dir, 'bad.tar'), Buffer.alloc(1024, 7));
    assertHalocError(() => readImageFolder(path.join(dir, 'bad.tar'), { cacheDir: null }), 'CORRUPT', /bad\.tar: not a valid tar archive/);
  });
});

// Decodes one JPEG or PNG file into RGB pixels.
import * as jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { errorMessage, HalocError } from '../errors';

/** One decoded image: [height, width, 3] uint8, RGB. */
export interface DecodedImage {
  readonly rgb: Uint8Array;
  readonly height: number;
  readonly width: number;
}

/** True for the file names this reader decodes (.jpg, .jpeg, .png, any case). */
export function isImageFileName(name: string): boolean {
  return /\.(jpe?g|png)$/i.test(name);
}

/** Decodes JPEG or PNG bytes (by signature); `name` is only for the error message. */
export function decodeImage(bytes: Uint8Array, name: string): DecodedImage {
  const isPng = bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47;
  const isJpeg = bytes[0] === 0xff && bytes[1] === 0xd8;
  if (!isPng && !isJpeg) throw new HalocError('CORRUPT', `${name}: not a JPEG or PNG image; remove or replace the file`);
  let rgba: Uint8Array;
  let width: number;
  let height: number;
  try {
    if (isPng) {
      const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      ({ width, height } = png);
      rgba = png.data;
    } else {
      const image = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, tolerantDecoding: false, maxMemoryUsageInMB: 1024 });
      ({ width, height } = image);
      rgba = image.data;
    }
  } catch (error) {
    throw new HalocError('CORRUPT', `${name}: cannot be decoded (${errorMessage(error)}); remove or replace the file`);
  }
  if (width < 1 || height < 1 || rgba.length < width * height * 4) {
    throw new HalocError('CORRUPT', `${name}: cannot be decoded (truncated image data); remove or replace the file`);
  }
  const rgb = new Uint8Array(width * height * 3);
  for (let p = 0, q = 0; q < rgb.length; p += 4, q += 3) {
    rgb[q] = rgba[p] ?? 0;
    rgb[q + 1] = rgba[p + 1] ?? 0;
    rgb[q + 2] = rgba[p + 2] ?? 0;
  }
  return { rgb, height, width };
}

// A small reader of tar archives held in memory (ustar, GNU long names, pax path headers): yields
// regular files as views into the archive's bytes, without copying.
import { HalocError } from '../errors';

/** One regular file of a tar archive. */
export interface TarEntry {
  /** Path inside the archive, '/'-separated, without a leading './'. */
  readonly name: string;
  /** The file's bytes (a view into the archive). */
  readonly data: Uint8Array;
}

const BLOCK = 512;

/** The regular files of a tar archive; `archiveName` is only for error messages. */
export function readTarEntries(archive: Uint8Array, archiveName: string): TarEntry[] {
  const entries: TarEntry[] = [];
  let offset = 0;
  let longName: string | undefined;
  let paxPath: string | undefined;
  while (offset + BLOCK <= archive.length) {
    const header = archive.subarray(offset, offset + BLOCK);
    if (header.every((b) => b === 0)) break;
    if (!checksumMatches(header)) throw corrupt(archiveName, `bad header checksum at byte ${offset}`);
    const size = parseOctal(header.subarray(124, 136));
    const type = String.fromCharCode(header[156] ?? 0);
    const start = offset + BLOCK;
    if (!Number.isFinite(size) || size < 0 || start + size > archive.length) throw corrupt(archiveName, `truncated entry at byte ${offset}`);
    const data = archive.subarray(start, start + size);
    offset = start + Math.ceil(size / BLOCK) * BLOCK;
    if (type === 'L') {
      longName = cString(data);
    } else if (type === 'x') {
      paxPath = paxValue(data, 'path') ?? paxPath;
    } else if (type === '0' || type === '\0' || type === '7') {
      const prefix = cString(header.subarray(345, 500));
      const name = paxPath ?? longName ?? (prefix ? `${prefix}/` : '') + cString(header.subarray(0, 100));
      entries.push({ name: name.replace(/^(\.\/)+/, '').replace(/^\/+/, ''), data });
      longName = paxPath = undefined;
    } else {
      longName = paxPath = undefined;
    }
  }
  return entries;
}

function corrupt(archiveName: string, what: string): HalocError {
  return new HalocError('CORRUPT', `${archiveName}: not a valid tar archive (${what}); recreate it with tar -cf`);
}

function checksumMatches(header: Uint8Array): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : (header[i] ?? 0);
  return parseOctal(header.subarray(148, 156)) === sum;
}

/** An octal number field (NUL/space padded), or a base-256 number (GNU, high bit set). */
function parseOctal(field: Uint8Array): number {
  if (((field[0] ?? 0) & 0x80) !== 0) {
    let value = (field[0] ?? 0) & 0x7f;
    for (let i = 1; i < field.length; i++) value = value * 256 + (field[i] ?? 0);
    return value;
  }
  const text = cString(field).trim();
  return text === '' ? 0 : parseInt(text, 8);
}

function cString(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return Buffer.from(bytes.buffer, bytes.byteOffset, end < 0 ? bytes.length : end).toString('utf8');
}

/** The value of `key` in a pax extended header ("LEN key=value\n" records). */
function paxValue(data: Uint8Array, key: string): string | undefined {
  const text = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8');
  for (const record of text.split('\n')) {
    const match = /^\d+ ([^=]+)=(.*)$/.exec(record);
    if (match?.[1] === key) return match[2];
  }
  return undefined;
}

// Training checkpoints: one file holding the position in the run, the parameters, the running
// statistics and the optimizer state, so that a resumed run continues the same loss curve. Layout:
// "HALOCKPT", a uint32 header length, the JSON header, zero padding to 4 bytes, then float32 arrays
// in header order. Written through a temporary file and a rename.
import * as fs from 'node:fs';
import { HalocError } from '../errors';
import { writeFileAtomic } from '../io/atomicWrite';

const MAGIC = 'HALOCKPT';
const VERSION = 1;

/** What a checkpoint stores. */
export interface CheckpointState {
  /** Identifies the model and the settings that shape the run; a resume must match it. */
  readonly identity: string;
  /** Optimizer updates done (also the index of the next step). */
  readonly step: number;
  readonly params: ReadonlyMap<string, Float32Array>;
  readonly running: ReadonlyMap<string, Float32Array>;
  /** Optimizer state per parameter (momentum, or the two Adam moments). */
  readonly optimizer: ReadonlyMap<string, readonly Float32Array[]>;
  /** Loss per step so far. */
  readonly losses: readonly number[];
}

interface Header {
  readonly version: number;
  readonly identity: string;
  readonly step: number;
  readonly losses: readonly number[];
  readonly arrays: readonly { readonly kind: 'param' | 'running' | 'optimizer'; readonly name: string; readonly index: number; readonly length: number }[];
}

/** Writes a checkpoint atomically. */
export function writeCheckpoint(file: string, state: CheckpointState): void {
  const arrays: Header['arrays'][number][] = [];
  const data: Float32Array[] = [];
  const add = (kind: 'param' | 'running' | 'optimizer', name: string, index: number, values: Float32Array): void => {
    arrays.push({ kind, name, index, length: values.length });
    data.push(values);
  };
  for (const [name, values] of state.params) add('param', name, 0, values);
  for (const [name, values] of state.running) add('running', name, 0, values);
  for (const [name, list] of state.optimizer) list.forEach((values, index) => add('optimizer', name, index, values));
  const header: Header = { version: VERSION, identity: state.identity, step: state.step, losses: state.losses, arrays };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const prefix = Buffer.alloc(12);
  prefix.write(MAGIC, 0, 'ascii');
  prefix.writeUInt32LE(json.length, 8);
  const padding = new Uint8Array((4 - ((12 + json.length) % 4)) % 4);
  writeFileAtomic(file, [prefix, json, padding, ...data.map((d) => new Uint8Array(d.buffer, d.byteOffset, d.byteLength))]);
}

/** Reads a checkpoint; a clear error when the file is not one or belongs to another run. */
export function readCheckpoint(file: string, expectedIdentity: string): CheckpointState {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (error) {
    throw new HalocError('NOT_FOUND', `cannot read checkpoint ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  if (bytes.length < 12 || bytes.toString('ascii', 0, 8) !== MAGIC) throw new HalocError('CORRUPT', `${file} is not a haloc training checkpoint`);
  const length = bytes.readUInt32LE(8);
  let header: Header;
  try {
    header = JSON.parse(bytes.toString('utf8', 12, 12 + length)) as Header;
  } catch {
    throw new HalocError('CORRUPT', `${file}: the checkpoint header is damaged`);
  }
  if (header.version !== VERSION) throw new HalocError('UNSUPPORTED', `${file}: checkpoint version ${header.version}, this haloc reads version ${VERSION}`);
  if (header.identity !== expectedIdentity) throw new HalocError('BAD_ARGUMENT', `${file} is a checkpoint of a different model or settings; delete it or change --checkpoint to start afresh`);
  let offset = 12 + length + ((4 - ((12 + length) % 4)) % 4);
  const total = header.arrays.reduce((s, a) => s + a.length * 4, 0);
  if (offset + total !== bytes.length) throw new HalocError('CORRUPT', `${file}: the checkpoint is truncated or damaged (${bytes.length} bytes, expected ${offset + total})`);
  const params = new Map<string, Float32Array>();
  const running = new Map<string, Float32Array>();
  const optimizer = new Map<string, Float32Array[]>();
  for (const a of header.arrays) {
    const values = new Float32Array(a.length);
    new Uint8Array(values.buffer).set(bytes.subarray(offset, offset + a.length * 4));
    offset += a.length * 4;
    if (a.kind === 'param') params.set(a.name, values);
    else if (a.kind === 'running') running.set(a.name, values);
    else {
      const list = optimizer.get(a.name) ?? [];
      list[a.index] = values;
      optimizer.set(a.name, list);
    }
  }
  return { identity: header.identity, step: header.step, params, running, optimizer, losses: header.losses };
}

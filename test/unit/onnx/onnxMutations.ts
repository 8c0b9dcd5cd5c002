// The fuzz case generator: case `index` of a run seeded with `seed` is always the same mutation of the
// same base model. The first cases truncate every base model at each tenth (the tenth tenth is the
// unchanged file); the rest pick a base and one byte-level, structural or external-data mutation.
import * as path from 'node:path';
import type { HalocErrorCode } from '../../../engine/errors';
import { onnx } from '../../../engine/onnx/proto';
import { encodeOnnx } from '../../../engine/onnx/writeOnnx';
import { flipBytes, hugeLength, insertOrDelete, truncateAtTenth, wrongWireType, type ByteMutation } from './byteMutations';
import { externalMutation, modelFolder, type CaseFiles } from './externalMutations';
import { modelFileName, type BaseModel } from './fuzzBaseModels';
import { FuzzRandom } from './fuzzRandom';
import { protoMutations } from './protoMutations';
import { scanFields, type WireField } from './protoScan';

/** A base model with its wire-level fields found once. */
export interface MutationSource {
  readonly base: BaseModel;
  readonly fields: readonly WireField[];
}

/** One generated case: the files to lay out and how to judge the outcome. */
export interface FuzzCase {
  readonly index: number;
  readonly base: string;
  /** The mutation family (truncate, flipBytes, cycle, external...). */
  readonly kind: string;
  readonly description: string;
  readonly files: CaseFiles;
  /** The model file, relative to the case folder. */
  readonly modelPath: string;
  /** The error code the case must end in, when the mutation determines it. */
  readonly expect: HalocErrorCode | undefined;
  /** Also run `haloc analyze <file> --json` through the CLI entry. */
  readonly viaCli: boolean;
}

/** Prepares base models for mutation (scans their wire fields once). */
export function mutationSources(bases: readonly BaseModel[]): MutationSource[] {
  return bases.map((base) => ({ base, fields: scanFields(base.files.get(modelFileName) ?? new Uint8Array(0)) }));
}

/** How many leading cases are the systematic truncations (ten per base model). */
export function truncationCaseCount(sources: readonly MutationSource[]): number {
  return sources.length * 10;
}

const byteKinds = ['flipBytes', 'flipBytes', 'wrongWireType', 'wrongWireType', 'hugeLength', 'hugeLength', 'insertOrDelete'];
const kinds = [...byteKinds, ...Object.keys(protoMutations), 'external', 'external', 'external'];
const smallModelBytes = 200_000;

/** Builds case `index` of the run seeded with `seed`; `caseDir` is the absolute folder it will be laid out in. */
export function makeFuzzCase(seed: number, index: number, sources: readonly MutationSource[], caseDir: string): FuzzCase {
  if (sources.length === 0) throw new Error('makeFuzzCase: no base models');
  const files: CaseFiles = { files: new Map(), symlinks: new Map(), folders: new Set([modelFolder]) };
  const random = FuzzRandom.forCase(seed, index);
  const systematic = index < truncationCaseCount(sources);
  const small = sources.filter((s) => (s.base.files.get(modelFileName)?.length ?? 0) < smallModelBytes);
  // Big models cost more per case: mutate small ones more often, the shared ResNets still regularly.
  const source = systematic ? sources[Math.floor(index / 10)] : random.chance(0.6) && small.length > 0 ? random.pick(small) : random.pick(sources);
  if (!source) throw new Error(`makeFuzzCase: no base model for case ${index}`);
  for (const [name, bytes] of source.base.files) files.files.set(`${modelFolder}/${name}`, bytes);
  const original = source.base.files.get(modelFileName) ?? new Uint8Array(0);
  const kind = systematic ? 'truncate' : random.pick(kinds);
  let description = 'unchanged';
  let expect: HalocErrorCode | undefined;
  let bytes = original;
  if (systematic) {
    const tenths = (index % 10) + 1;
    if (tenths < 10) ({ bytes, description } = truncateAtTenth(original, tenths));
  } else if (byteKinds.includes(kind)) {
    const mutation = byteMutation(kind, original, source.fields, random);
    if (mutation) ({ bytes, description } = mutation);
  } else {
    const model = onnx.ModelProto.decode(original);
    if (kind === 'external') {
      const result = externalMutation(model, random, caseDir, files);
      if (result) ({ description, expect } = result);
    } else {
      description = protoMutations[kind]?.(model, random) ?? 'unchanged (mutation did not apply)';
    }
    bytes = encodeOnnx(model);
  }
  files.files.set(`${modelFolder}/${modelFileName}`, bytes);
  return { index, base: source.base.name, kind, description, files, modelPath: path.join(modelFolder, modelFileName), expect, viaCli: index % 10 === 3 };
}

function byteMutation(kind: string, bytes: Uint8Array, fields: readonly WireField[], random: FuzzRandom): ByteMutation | undefined {
  if (kind === 'flipBytes') return flipBytes(bytes, fields, random);
  if (kind === 'wrongWireType') return fields.length > 0 ? wrongWireType(bytes, fields, random) : undefined;
  if (kind === 'hugeLength') return hugeLength(bytes, fields, random);
  return insertOrDelete(bytes, random);
}

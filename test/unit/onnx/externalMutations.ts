// External-data mutations for the fuzzer: a tensor's bytes moved to a side file whose location leaves
// the model's folder (../, absolute, a symlink or a symlinked folder pointing out), is missing, is a
// folder, or has a bad offset or length. Path cases say which error code they must end in.
import * as path from 'node:path';
import type { HalocErrorCode } from '../../../engine/errors';
import { onnx } from '../../../engine/onnx/proto';
import type { FuzzRandom } from './fuzzRandom';

/** Files of a case, relative to the case folder: the model folder is `model/`, a decoy folder `outside/`. */
export interface CaseFiles {
  readonly files: Map<string, Uint8Array>;
  /** Link path -> target (as stored in the link). */
  readonly symlinks: Map<string, string>;
  /** Folders to create (empty ones included). */
  readonly folders: Set<string>;
}

/** What an external-data mutation did and the error code it must end in (undefined: any outcome is fine). */
export interface ExternalMutationResult {
  readonly description: string;
  readonly expect: HalocErrorCode | undefined;
}

/** The model's folder inside a case folder. */
export const modelFolder = 'model';

/** A folder beside the model's folder holding a decoy copy of the tensor bytes. */
export const outsideFolder = 'outside';

interface LocationChoice {
  readonly location: (caseDir: string) => string;
  readonly expect: HalocErrorCode | undefined;
  readonly setup: (files: CaseFiles, bytes: Uint8Array) => void;
}

const decoy = (files: CaseFiles, bytes: Uint8Array): void => void files.files.set(`${outsideFolder}/secret.bin`, bytes);

const locations: readonly LocationChoice[] = [
  { location: () => '../outside/secret.bin', expect: 'UNSAFE_PATH', setup: decoy },
  { location: () => 'sub/../../outside/secret.bin', expect: 'UNSAFE_PATH', setup: (f, b) => (decoy(f, b), f.folders.add(`${modelFolder}/sub`)) },
  { location: (dir) => path.join(dir, outsideFolder, 'secret.bin'), expect: 'UNSAFE_PATH', setup: decoy },
  { location: (dir) => path.join(dir, modelFolder, 'inside.bin'), expect: 'UNSAFE_PATH', setup: (f, b) => void f.files.set(`${modelFolder}/inside.bin`, b) },
  { location: () => 'link.bin', expect: 'UNSAFE_PATH', setup: (f, b) => (decoy(f, b), f.symlinks.set(`${modelFolder}/link.bin`, '../outside/secret.bin')) },
  { location: () => 'linked/secret.bin', expect: 'UNSAFE_PATH', setup: (f, b) => (decoy(f, b), f.symlinks.set(`${modelFolder}/linked`, '../outside')) },
  { location: () => 'C:\\weights\\w.bin', expect: 'UNSAFE_PATH', setup: decoy },
  { location: () => 'w.bin\0.txt', expect: 'UNSAFE_PATH', setup: (f, b) => void f.files.set(`${modelFolder}/w.bin`, b) },
  { location: () => '.', expect: 'UNSAFE_PATH', setup: () => undefined },
  { location: () => 'missing.bin', expect: 'MISSING_EXTERNAL_DATA', setup: decoy },
  { location: () => 'dangling.bin', expect: 'MISSING_EXTERNAL_DATA', setup: (f) => void f.symlinks.set(`${modelFolder}/dangling.bin`, 'nowhere.bin') },
  { location: () => 'folder', expect: undefined, setup: (f) => void f.folders.add(`${modelFolder}/folder`) },
  { location: () => 'inside.bin', expect: undefined, setup: (f, b) => void f.files.set(`${modelFolder}/inside.bin`, b) },
  { location: () => '', expect: 'CORRUPT', setup: () => undefined },
];

const badNumbers = ['-1', '-0', '1.5', 'abc', '', '1e30', '9007199254740993', '18446744073709551615', ' 4', '0x10'];

/** Moves one float initializer's bytes to a side file at a mutated location, or gives it a bad offset/length. */
export function externalMutation(model: onnx.ModelProto, random: FuzzRandom, caseDir: string, files: CaseFiles): ExternalMutationResult | undefined {
  const graph = model.graph;
  const candidates = (graph?.initializer ?? []).filter((t) => (t.rawData?.length ?? 0) > 0 || t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL);
  if (candidates.length === 0) return undefined;
  const tensor = random.pick(candidates);
  const wasExternal = tensor.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL;
  const bytes = wasExternal ? new Uint8Array(0) : (tensor.rawData ?? new Uint8Array(0));
  const entries = wasExternal ? (tensor.externalData ?? []).map((e) => ({ key: e.key ?? '', value: e.value ?? '' })) : [{ key: 'location', value: '' }, { key: 'offset', value: '0' }, { key: 'length', value: String(bytes.length) }];
  const setEntry = (key: string, value: string): void => {
    const entry = entries.find((e) => e.key === key);
    if (entry) entry.value = value;
    else entries.push({ key, value });
  };
  let result: ExternalMutationResult;
  if (wasExternal && random.chance(0.4)) {
    const key = random.pick(['offset', 'length']);
    const value = random.pick(badNumbers);
    setEntry(key, value);
    result = { description: `external ${key} of '${tensor.name}' = ${JSON.stringify(value)}`, expect: undefined };
  } else {
    const choice = random.pick(locations);
    const location = choice.location(caseDir);
    choice.setup(files, bytes);
    setEntry('location', location);
    if (!wasExternal) setEntry('offset', '0');
    result = { description: `external location of '${tensor.name}' = ${JSON.stringify(location)}`, expect: choice.expect };
  }
  tensor.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
  tensor.rawData = new Uint8Array(0);
  tensor.externalData = entries.map((e) => onnx.StringStringEntryProto.create(e));
  return result;
}

// The dataset remembered for a model: `.haloc.json` in the model's folder,
// `{"dataset": "<path relative to that folder>", "preprocessing": {...}}`, optionally with per-model
// entries `"models": {"<file>.onnx": {"dataset": ..., "preprocessing": ...}}` where a folder holds
// several models. Read at the next search and by the compression report; written atomically.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Preprocessing } from '../engine/data/preprocessing';
import type { JobData } from '../engine/search/searchJob';
import { writeFileAtomic } from '../engine/io/atomicWrite';

/** One remembered dataset as stored. */
interface StoredData {
  readonly dataset?: unknown;
  readonly preprocessing?: unknown;
}

/** The file's content. */
interface DataConfigFile extends StoredData {
  readonly models?: Readonly<Record<string, StoredData>>;
}

/** The config file of a model's folder. */
export function dataConfigPath(modelPath: string): string {
  return path.join(path.dirname(modelPath), '.haloc.json');
}

/** The dataset remembered for a model (its own entry, else the folder's), or undefined; throws a message naming the file when it is malformed. */
export function rememberedData(modelPath: string): JobData | undefined {
  const file = dataConfigPath(modelPath);
  const config = readConfig(file);
  if (!config) return undefined;
  const entry = config.models?.[path.basename(modelPath)] ?? config;
  if (entry.dataset === undefined) return undefined;
  if (typeof entry.dataset !== 'string' || entry.dataset === '') throw new Error(`${file}: "dataset" must be a path (relative to the file's folder)`);
  return { path: path.resolve(path.dirname(file), entry.dataset), preprocessing: checkedPreprocessing(entry.preprocessing ?? {}, file) };
}

/** Remembers a model's dataset: the folder's entry when it has none or the same, else the model's own entry. */
export function rememberData(modelPath: string, data: JobData): void {
  const file = dataConfigPath(modelPath);
  const config = readConfig(file) ?? {};
  const relative = path.relative(path.dirname(file), data.path) || '.';
  const entry = { dataset: relative.split(path.sep).join('/'), preprocessing: data.preprocessing };
  const folderEntryFree = config.dataset === undefined || config.dataset === entry.dataset;
  const { models, ...folderEntry } = config;
  const updated: DataConfigFile = folderEntryFree
    ? { ...folderEntry, ...entry, ...(models ? { models: withoutKey(models, path.basename(modelPath)) } : {}) }
    : { ...folderEntry, models: { ...(models ?? {}), [path.basename(modelPath)]: entry } };
  writeFileAtomic(file, [Buffer.from(`${JSON.stringify(updated, null, 2)}\n`, 'utf8')]);
}

function readConfig(file: string): DataConfigFile | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new Error(`${file} is not valid JSON (${error instanceof Error ? error.message : String(error)}); fix or delete it`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error(`${file} must hold a JSON object such as {"dataset": "data/val", "preprocessing": {"size": [32, 32]}}`);
  return parsed as DataConfigFile;
}

/** The preprocessing of a config entry, checked field by field. */
function checkedPreprocessing(value: unknown, file: string): Preprocessing {
  const fail = (what: string): never => {
    throw new Error(`${file}: "preprocessing" ${what}`);
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail('must be an object');
  const v = value as Record<string, unknown>;
  const numbers = (key: string, length?: number): boolean => Array.isArray(v[key]) && (v[key] as unknown[]).every((n) => typeof n === 'number' && Number.isFinite(n)) && (length === undefined || (v[key] as unknown[]).length === length);
  const known = ['size', 'resize', 'scale', 'mean', 'std', 'layout', 'channelOrder'];
  const unknown = Object.keys(v).filter((k) => !known.includes(k));
  if (unknown.length > 0) fail(`has unknown field(s) ${unknown.join(', ')} (known: ${known.join(', ')})`);
  if (v.size !== undefined && !numbers('size', 2)) fail('.size must be [height, width]');
  if (v.resize !== undefined && !(typeof v.resize === 'number' && v.resize >= 1)) fail('.resize must be a positive number');
  if (v.scale !== undefined && !(typeof v.scale === 'number' && v.scale > 0)) fail('.scale must be a positive number');
  if (v.mean !== undefined && !numbers('mean')) fail('.mean must be an array of numbers');
  if (v.std !== undefined && !numbers('std')) fail('.std must be an array of numbers');
  if (v.layout !== undefined && v.layout !== 'NCHW' && v.layout !== 'NHWC') fail('.layout must be "NCHW" or "NHWC"');
  if (v.channelOrder !== undefined && v.channelOrder !== 'RGB' && v.channelOrder !== 'BGR') fail('.channelOrder must be "RGB" or "BGR"');
  return v as Preprocessing;
}

function withoutKey<T>(record: Readonly<Record<string, T>>, key: string): Record<string, T> {
  return Object.fromEntries(Object.entries(record).filter(([k]) => k !== key));
}

// Helpers of the search- and compress-job tests: the known-answer model written to a folder with its
// synthetic latency table as a target file and a small labelled PNG image folder, and the job settings
// that search it lightly.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { analyzeModel } from '../../../engine/graph/analyzeModel';
import { writeLatencyTable } from '../../../engine/hardware/latencyTable';
import { readOnnxModel } from '../../../engine/onnx/onnxModel';
import { encodeOnnx } from '../../../engine/onnx/writeOnnx';
import type { CompressJobRequest } from '../../../engine/search/compressJob';
import { resultPoints, type SearchResultFile } from '../../../engine/search/resultView';
import type { SearchJobSettings } from '../../../engine/search/searchJob';
import { encodePng, rgbImage, writeFiles } from '../data/dataTestSupport';
import { knownAnswerLatency, knownAnswerModelProto } from './searchSupport';

/** The files of a job test. */
export interface JobFiles {
  readonly modelPath: string;
  readonly tablePath: string;
  readonly dataDir: string;
}

/** Writes the known-answer model, its latency table and 120 labelled 8x8 PNG images of 4 classes under `dir`. */
export async function writeJobFiles(dir: string): Promise<JobFiles> {
  const modelPath = path.join(dir, 'known_answer.onnx');
  fs.writeFileSync(modelPath, encodeOnnx(knownAnswerModelProto()));
  const model = readOnnxModel(modelPath);
  const tablePath = path.join(dir, 'table.json');
  writeLatencyTable(tablePath, knownAnswerLatency(model, await analyzeModel(model, { batch: 1 })).table);
  const dataDir = path.join(dir, 'images');
  const files: Record<string, Uint8Array> = {};
  for (let c = 0; c < 4; c++) for (let i = 0; i < 30; i++) files[`class${c}/${i}.png`] = encodePng(rgbImage(8, 8, (y, x, ch) => (37 * c + 11 * i + 5 * y + 3 * x + 50 * ch) % 256), 8, 8);
  writeFiles(dataDir, files);
  return { modelPath, tablePath, dataDir };
}

/** Light fast-mode settings on the job files (with the image folder, or data-free with `data: null`). */
export function fastJobSettings(files: JobFiles, over: Partial<SearchJobSettings> = {}): SearchJobSettings {
  return {
    modelPath: files.modelPath,
    mode: 'fast',
    target: files.tablePath,
    batch: 1,
    threads: 1,
    data: { path: files.dataDir, preprocessing: { scale: 1 / 255 } },
    fast: { calibration: 40, points: 4 },
    haloc: { searchEpochs: 1, finetuneEpochs: 1 },
    workDir: path.join(path.dirname(files.modelPath), 'work'),
    ...over,
  };
}

/** The compress-job request of point `index` of `result` (searched with `search`), written to `outputPath`. */
export function pointRequest(search: SearchJobSettings, result: SearchResultFile, index: number, outputPath: string): CompressJobRequest {
  const point = resultPoints(result)[index]!;
  return { search, point: { id: point.id, name: point.name, ranks: point.ranks, onnx: point.onnx }, outputPath };
}

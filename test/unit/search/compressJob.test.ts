// The "compress to this point" job on the known-answer model: a fast point is rebuilt as exactly the
// bias-corrected model the search measured (its top-1 on the held-out split is the search's), written
// beside the model with the report's figures; a data-free point has no accuracy figure; a HALOC point
// is its fine-tuned file; the original is never touched, and a refused or cancelled job writes nothing.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { neverCancelled, SharedCancelFlag } from '../../../engine/cancellation';
import { pointOutputPath, runCompressJob, type CompressJobRequest } from '../../../engine/search/compressJob';
import { compressReportMarkdown } from '../../../engine/search/compressReportMarkdown';
import { resultPoints } from '../../../engine/search/resultView';
import { runSearchJob, type SearchJobSettings } from '../../../engine/search/searchJob';
import type { FastSearchResult } from '../../../engine/search/searchResult';
import { expectHalocError, makeTempDir, removeDir } from '../testSupport';
import { fastJobSettings, pointRequest, writeJobFiles, type JobFiles } from './jobSupport';

describe('search: the compress-a-point job', function () {
  this.timeout(120000);
  let dir = '';
  let files: JobFiles;
  let settings: SearchJobSettings;
  let result: FastSearchResult;
  let originalBytes: Buffer;

  before(async () => {
    dir = makeTempDir('haloc-compress-job-');
    files = await writeJobFiles(dir);
    originalBytes = fs.readFileSync(files.modelPath);
    settings = fastJobSettings(files);
    result = (await runSearchJob(settings, neverCancelled, () => undefined)).result as FastSearchResult;
  });
  after(() => removeDir(dir));

  const request = (pointIndex: number, search = settings, searched = result): CompressJobRequest =>
    pointRequest(search, searched, pointIndex, pointOutputPath(files.modelPath, resultPoints(searched)[pointIndex]!.id));

  it('writes the bias-corrected model the search measured, with the report, and leaves the original as it was', async () => {
    const job = request(1);
    assert.equal(path.basename(job.outputPath), 'known_answer.haloc-front1.onnx');
    const messages: string[] = [];
    const report = await runCompressJob(job, neverCancelled, (m) => messages.push(m));
    assert.equal(report.outputPath, job.outputPath);
    assert.ok(fs.existsSync(job.outputPath));
    assert.deepEqual(fs.readFileSync(files.modelPath), originalBytes, 'the original is byte-identical');
    const session = await ort.InferenceSession.create(job.outputPath);
    await session.release();
    const point = result.front[1]!;
    assert.equal(report.top1?.after, point.top1, 'top-1 on the held-out split is the one the search measured for this point');
    assert.equal(report.top1?.before, result.original.top1);
    assert.equal(report.top1?.kind, 'measured');
    assert.equal(report.macs.after, point.macs);
    assert.equal(report.params.after, point.params);
    assert.ok(report.macs.after < report.macs.before);
    assert.ok(report.latencyMs.before > 0 && report.latencyMs.after > 0);
    assert.equal(report.fileBytes.after, fs.statSync(job.outputPath).size);
    assert.equal(report.outputDifference.kind, 'measured');
    assert.ok(report.outputDifference.rel > 0 && report.outputDifference.rel < 1);
    assert.match(report.built, /bias-corrected on 40 calibration images/);
    assert.ok(messages.some((m) => m.startsWith('timing')));
    assert.deepEqual(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp')), [], 'no temporary file is left');
  });

  it('data-free: the point is rebuilt on the synthetic calibration images and top-1 is not measured', async () => {
    const search = fastJobSettings(files, { data: null, fast: { calibration: 32, points: 3 } });
    const searched = (await runSearchJob(search, neverCancelled, () => undefined)).result as FastSearchResult;
    const job = { ...request(0, search, searched), outputPath: path.join(dir, 'data-free.onnx') };
    const report = await runCompressJob(job, neverCancelled, () => undefined);
    assert.equal(report.top1, null);
    assert.match(report.top1Note, /not measured: no labelled dataset/);
    assert.match(report.built, /synthetic/);
    assert.ok(fs.existsSync(job.outputPath));
    const measured = await runCompressJob({ ...job, outputPath: path.join(dir, 'data-free-2.onnx'), accuracyData: { path: files.dataDir, preprocessing: { scale: 1 / 255 } } }, neverCancelled, () => undefined);
    assert.equal(measured.top1?.images, 120, 'a labelled dataset known for the model (.haloc.json): top-1 on all its images');
    assert.equal(measured.top1?.kind, 'measured');
    const markdown = compressReportMarkdown(measured, searched.front[0]!, 'fast preview · data-free');
    assert.match(markdown, /^# HALOC compression report: known_answer\.onnx/);
    assert.match(markdown, /\| Top-1 \| [\d.]+% \| [\d.]+% \|.*\| measured: on 120 images/);
    assert.match(markdown, /\| Latency \|.*\| measured: end to end in onnxruntime-node on this machine/);
    assert.match(markdown, /\| MACs \|.*\| counted/);
    assert.match(markdown, /Accuracy change: .*\(estimated: /);
    assert.match(compressReportMarkdown(report, searched.front[0]!, 'x'), /\| Top-1 \| - \| - \| - \| not measured: no labelled dataset/);
  });

  it('a HALOC point is its fine-tuned model file, copied', async () => {
    const fineTuned = path.join(dir, 'finetuned.onnx');
    fs.copyFileSync(request(1).outputPath, fineTuned);
    const job: CompressJobRequest = { search: { ...settings, mode: 'haloc' }, point: { id: 'front:0', name: 'HALOC 0.5', ranks: result.front[0]!.ranks, onnx: fineTuned }, outputPath: path.join(dir, 'copied.onnx') };
    const report = await runCompressJob(job, neverCancelled, () => undefined);
    assert.deepEqual(fs.readFileSync(job.outputPath), fs.readFileSync(fineTuned));
    assert.match(report.built, /fine-tuned model/);
    fs.rmSync(fineTuned);
    await expectHalocError(() => runCompressJob({ ...job, outputPath: path.join(dir, 'copied2.onnx') }, neverCancelled, () => undefined), 'NOT_FOUND');
  });

  it('refuses to write over the original, and a cancelled job writes nothing', async () => {
    await expectHalocError(() => runCompressJob({ ...request(1), outputPath: files.modelPath }, neverCancelled, () => undefined), 'BAD_ARGUMENT');
    assert.deepEqual(fs.readFileSync(files.modelPath), originalBytes);
    const flag = new SharedCancelFlag();
    const output = path.join(dir, 'cancelled.onnx');
    await expectHalocError(() => runCompressJob({ ...request(2), outputPath: output }, flag, (m) => m.startsWith('timing') && flag.cancel()), 'CANCELLED');
    assert.equal(fs.existsSync(output), false);
    await expectHalocError(() => runCompressJob({ ...request(2), outputPath: path.join(dir, 'no-such-folder', 'x.onnx') }, neverCancelled, () => undefined), 'IO');
  });
});

// The latency table file: versioned JSON, validated on read. A round trip keeps every field; a bad
// file (other version, other format, missing fields, negative times, not JSON) is a one-line
// HalocError 'BAD_ARGUMENT' naming the file; `haloc profile --target` writes a valid table and an
// unknown target is a usage error (exit 2). Also latencyAtRank, the look-up between measured ranks,
// and medianEntry, which keeps the median of several timings of an entry figure by figure.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { localFingerprint } from '../../../engine/hardware/deviceFingerprint';
import { latencyAtRank, medianEntry, readLatencyTable, writeLatencyTable, type LatencyTable, type LayerLatency } from '../../../engine/hardware/latencyTable';
import { writeOnnxFile } from '../../../engine/onnx/writeOnnx';
import { expectHalocError, makeTempDir, removeDir, runHaloc } from '../testSupport';
import { syntheticTable, twinConvModel } from './hardwareSupport';

const entry: LayerLatency = { op: 'Conv', originalMs: 1.5, ranks: [{ rank: 8, ms: 0.5 }, { rank: 16, ms: 0.9 }, { rank: 24, ms: 1.4 }], granularity: 8 };

function sampleTable(): LatencyTable {
  return { ...syntheticTable({ 'Conv|x=1x8x8x8|w=8x8x3x3': entry, 'Gemm|x=1x512|w=10x512': { op: 'Gemm', originalMs: 0.02, ranks: [{ rank: 10, ms: 0.03 }], granularity: 8 } }), fingerprint: localFingerprint('cpu', 2, 1), granularity: 8 };
}

describe('latency table file format', function () {
  let dir: string | undefined;

  before(function () {
    dir = makeTempDir('haloc-latency-file-');
  });

  after(function () {
    removeDir(dir);
  });

  function file(name: string): string {
    return path.join(dir ?? '', name);
  }

  /** Writes `content` (an object as JSON, or text as it is) and expects a one-line BAD_ARGUMENT naming the file. */
  async function expectBadTable(name: string, content: unknown, problem?: RegExp): Promise<string> {
    const target = file(name);
    fs.writeFileSync(target, typeof content === 'string' ? content : JSON.stringify(content));
    const error = await expectHalocError(() => readLatencyTable(target), 'BAD_ARGUMENT', `reading ${name}`);
    assert.ok(error.message.includes(target), `the message names the file: ${error.message}`);
    if (problem) assert.match(error.message, problem);
    return error.message;
  }

  it('write -> read keeps every field, including the fingerprint', function () {
    const table = sampleTable();
    writeLatencyTable(file('round.json'), table);
    assert.deepEqual(readLatencyTable(file('round.json')), table);
    const json = JSON.parse(fs.readFileSync(file('round.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(json.format, 'haloc-latency-table');
    assert.equal(json.version, 1);
  });

  it('an estimated table without a fingerprint is valid too', function () {
    const table = syntheticTable({ k: entry }, 'estimated');
    writeLatencyTable(file('estimated.json'), table);
    assert.deepEqual(readLatencyTable(file('estimated.json')), table);
  });

  it('writing replaces an existing file whole and leaves no temporary file behind', function () {
    writeLatencyTable(file('replace.json'), sampleTable());
    writeLatencyTable(file('replace.json'), syntheticTable({}));
    assert.deepEqual(readLatencyTable(file('replace.json')).layers, {});
    assert.deepEqual(fs.readdirSync(dir ?? '').filter((f) => f.startsWith('replace')), ['replace.json']);
  });

  it('version 2: a clear error naming the file and the version', async function () {
    const message = await expectBadTable('v2.json', { ...sampleTable(), version: 2 }, /version 2/);
    assert.match(message, /not supported/);
    assert.match(message, /version 1/, 'says which version this haloc reads');
  });

  it('version 2 of an otherwise different layout still says "version 2", not a list of schema problems', async function () {
    await expectBadTable('v2-other.json', { format: 'haloc-latency-table', version: 2, entries: [] }, /version 2 is not supported/);
  });

  it('another format: BAD_ARGUMENT naming the file and the format field', async function () {
    await expectBadTable('format.json', { ...sampleTable(), format: 'other-table' }, /format/);
  });

  for (const field of ['format', 'version', 'kind', 'source', 'createdAt', 'callOverheadMs', 'granularity', 'layers']) {
    it(`a missing '${field}': BAD_ARGUMENT naming the file and the field`, async function () {
      const table: Record<string, unknown> = { ...sampleTable() };
      delete table[field];
      await expectBadTable(`missing-${field}.json`, table, new RegExp(field));
    });
  }

  it('an entry without ranks: BAD_ARGUMENT naming the field', async function () {
    const withoutRanks: Record<string, unknown> = { ...entry };
    delete withoutRanks.ranks;
    await expectBadTable('no-ranks.json', syntheticTable({ k: withoutRanks as unknown as LayerLatency }), /ranks/);
  });

  it('a negative time (original or at a rank): BAD_ARGUMENT', async function () {
    await expectBadTable('negative-original.json', syntheticTable({ k: { ...entry, originalMs: -0.1 } }), /originalMs/);
    await expectBadTable('negative-rank.json', syntheticTable({ k: { ...entry, ranks: [{ rank: 8, ms: -1 }] } }), /ms/);
    await expectBadTable('negative-overhead.json', { ...syntheticTable({}), callOverheadMs: -1 }, /callOverheadMs/);
  });

  it('a rank below 1 or not an integer, a wrong kind: BAD_ARGUMENT', async function () {
    await expectBadTable('rank0.json', syntheticTable({ k: { ...entry, ranks: [{ rank: 0, ms: 1 }] } }), /rank/);
    await expectBadTable('rank-fraction.json', syntheticTable({ k: { ...entry, ranks: [{ rank: 2.5, ms: 1 }] } }), /rank/);
    await expectBadTable('kind.json', { ...syntheticTable({}), kind: 'guessed' }, /kind/);
  });

  for (const [name, content] of [
    ['not-json.json', 'this is not JSON'],
    ['truncated.json', '{"format": "haloc-latency-table", "version": 1, "layers": {'],
    ['empty.json', ''],
    ['array.json', '[1, 2, 3]'],
    ['null.json', 'null'],
    ['number.json', '42'],
  ] as const) {
    it(`${name}: BAD_ARGUMENT naming the file`, async function () {
      await expectBadTable(name, content);
    });
  }

  it('a missing file: BAD_ARGUMENT naming the file', async function () {
    const missing = file('does-not-exist.json');
    const error = await expectHalocError(() => readLatencyTable(missing), 'BAD_ARGUMENT');
    assert.ok(error.message.includes(missing));
  });
});

describe('latencyAtRank', function () {
  it('the entry at the rank, else the next measured rank above it, else the largest', function () {
    assert.equal(latencyAtRank(entry, 8), 0.5);
    assert.equal(latencyAtRank(entry, 1), 0.5);
    assert.equal(latencyAtRank(entry, 9), 0.9);
    assert.equal(latencyAtRank(entry, 16), 0.9);
    assert.equal(latencyAtRank(entry, 24), 1.4);
    assert.equal(latencyAtRank(entry, 40), 1.4);
  });

  it('an entry without ranks gives the original time', function () {
    assert.equal(latencyAtRank({ ...entry, ranks: [] }, 4), entry.originalMs);
  });
});

describe('medianEntry', function () {
  const second: LayerLatency = { ...entry, originalMs: 1.2, ranks: [{ rank: 8, ms: 0.7 }, { rank: 16, ms: 0.6 }, { rank: 24, ms: 1.4 }], cpuShare: 0.5 };
  const third: LayerLatency = { ...entry, originalMs: 0.4, ranks: [{ rank: 8, ms: 0.2 }, { rank: 16, ms: 0.8 }, { rank: 24, ms: 1.1 }], cpuShare: 0.9 };

  it('keeps the middle time of each figure on its own (original and every rank), the middle CPU share, and the entry', function () {
    const median = medianEntry([entry, second, third]);
    assert.equal(median.originalMs, 1.2);
    assert.deepEqual(median.ranks, [{ rank: 8, ms: 0.5 }, { rank: 16, ms: 0.8 }, { rank: 24, ms: 1.4 }]);
    assert.equal(median.cpuShare, 0.5, 'of the two shares given, the lower');
    assert.equal(medianEntry([second, third, { ...entry, cpuShare: 1 }]).cpuShare, 0.9);
    assert.deepEqual(medianEntry([third, entry, second]), median, 'the order of the timings does not matter');
    assert.equal(median.op, 'Conv');
    assert.equal(median.granularity, 8);
  });

  it('of two timings the lower; of one, itself; a rank another timing lacks keeps its own time; the inputs are left as they were', function () {
    assert.deepEqual(medianEntry([entry, third]).ranks, [{ rank: 8, ms: 0.2 }, { rank: 16, ms: 0.8 }, { rank: 24, ms: 1.1 }]);
    assert.deepEqual(medianEntry([entry]), entry);
    const partial: LayerLatency = { ...entry, originalMs: 2, ranks: [{ rank: 16, ms: 0.1 }] };
    assert.deepEqual(medianEntry([entry, partial]).ranks, [{ rank: 8, ms: 0.5 }, { rank: 16, ms: 0.1 }, { rank: 24, ms: 1.4 }]);
    assert.deepEqual(entry.ranks, [{ rank: 8, ms: 0.5 }, { rank: 16, ms: 0.9 }, { rank: 24, ms: 1.4 }]);
    assert.throws(() => medianEntry([]), RangeError);
  });
});

describe('haloc profile --target', function () {
  this.timeout(30_000);
  let dir: string | undefined;
  let modelFile: string;

  before(function () {
    dir = makeTempDir('haloc-profile-cli-');
    modelFile = path.join(dir, 'twin.onnx');
    writeOnnxFile(twinConvModel(), modelFile);
  });

  after(function () {
    removeDir(dir);
  });

  it('--target embedded-gpu -o t.json: exit 0, a valid estimated table, and the output says estimated', async function () {
    const out = path.join(dir ?? '', 't.json');
    const result = await runHaloc(['profile', modelFile, '--target', 'embedded-gpu', '-o', out]);
    assert.equal(result.code, 0, `exit code (stderr: ${result.stderr})`);
    assert.equal(result.stderr, '');
    const table = readLatencyTable(out);
    assert.equal(table.kind, 'estimated');
    assert.match(table.source, /Jetson TX2/);
    assert.equal(table.granularity, 16);
    assert.equal(Object.keys(table.layers).length, 2);
    assert.match(result.stdout, /latency \(estimated\)/);
    assert.ok(result.stdout.includes(`wrote ${out}`));
    for (const name of ['conv1', 'conv2', 'fc']) assert.match(result.stdout, new RegExp(`^${name}\\b`, 'm'), `a row for ${name}`);
  });

  it('--target embedded-gpu --granularity 4 --json: the table in the JSON uses the override', async function () {
    const result = await runHaloc(['profile', modelFile, '--target', 'embedded-gpu', '--granularity', '4', '--json']);
    assert.equal(result.code, 0, `exit code (stderr: ${result.stderr})`);
    const json = JSON.parse(result.stdout) as { table: LatencyTable; layerKeys: Record<string, string> };
    assert.equal(json.table.granularity, 4);
    assert.deepEqual(json.table.layers[json.layerKeys.fc ?? '']?.ranks.map((r) => r.rank), [4, 8, 10]);
  });

  it('--target <table.json> written elsewhere: the same rows from the file; a table without this model\'s layers: exit 1 naming the file', async function () {
    const out = path.join(dir ?? '', 'elsewhere.json');
    assert.equal((await runHaloc(['profile', modelFile, '--target', 'embedded-gpu', '-o', out])).code, 0);
    const fromFile = await runHaloc(['profile', modelFile, '--target', out]);
    assert.equal(fromFile.code, 0, `exit code (stderr: ${fromFile.stderr})`);
    for (const name of ['conv1', 'conv2', 'fc']) assert.match(fromFile.stdout, new RegExp(`^${name}\\b`, 'm'), `a row for ${name}`);
    const emptyTable = path.join(dir ?? '', 'empty.json');
    writeLatencyTable(emptyTable, { ...readLatencyTable(out), layers: {} });
    const missing = await runHaloc(['profile', modelFile, '--target', emptyTable]);
    assert.equal(missing.code, 1);
    assert.ok(missing.stderr.includes(emptyTable) && /no entry for 3 layer/.test(missing.stderr), missing.stderr);
  });

  it('--target nope: exit 2, the stderr names the target and the shipped profiles, nothing written', async function () {
    const out = path.join(dir ?? '', 'nope.json');
    const result = await runHaloc(['profile', modelFile, '--target', 'nope', '-o', out]);
    assert.equal(result.code, 2, `exit code (stderr: ${result.stderr})`);
    assert.match(result.stderr, /'nope'/);
    for (const id of ['desktop-gpu', 'embedded-gpu', 'systolic-asic']) assert.ok(result.stderr.includes(id), `stderr lists ${id}`);
    assert.equal(result.stdout, '');
    assert.equal(fs.existsSync(out), false);
  });
});

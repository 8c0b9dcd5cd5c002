// The on-disk cache of measured latency tables: the first build measures every layer shape once, a
// second build measures nothing, a model sharing a shape measures only its new shapes, another
// fingerprint (threads, batch) gets its own file, a damaged file is rebuilt, `cacheDir: null` writes
// nothing; new shapes are timed in two passes, one after the other; entries measured the older way
// are measured again. Real (tiny) timing runs; no assertion on a time.
import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { analyzeModel } from '../../../engine/graph/analyzeModel';
import { buildLatencyTable, busyTableNote, defaultCacheDir, measuringMethod, type TableBuild } from '../../../engine/hardware/buildLatencyTable';
import { fingerprintKey } from '../../../engine/hardware/deviceFingerprint';
import { layerKey, readLatencyTable } from '../../../engine/hardware/latencyTable';
import { minCpuShare } from '../../../engine/hardware/timeSession';
import { float32Tensor, GraphBuilder } from '../../../engine/onnx/graphBuilder';
import { layerNamed, makeTempDir, modelOf, randomFloats, removeDir } from '../testSupport';
import { analyzed, lightTableSettings, sharedShapeModel, twinConvModel, type Analyzed } from './hardwareSupport';

async function build(subject: Analyzed, cacheDir: string | null, overrides: Parameters<typeof lightTableSettings>[1] = {}): Promise<TableBuild> {
  return buildLatencyTable(subject.model, subject.analysis, lightTableSettings(cacheDir, overrides));
}

function jsonFiles(dir: string): string[] {
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort() : [];
}

function uniqueKeys(built: TableBuild): number {
  return new Set(Object.values(built.layerKeys)).size;
}

describe('latency table cache', function () {
  this.timeout(60_000);
  let dir: string | undefined;
  let twin: Analyzed;
  let first: TableBuild;

  before(async function () {
    dir = makeTempDir('haloc-latency-cache-');
    twin = await analyzed(twinConvModel(), 1);
    first = await build(twin, dir);
  });

  after(function () {
    removeDir(dir);
  });

  it('the first build measures every layer shape once; twin layers share one entry', function () {
    assert.equal(twin.analysis.layers.filter((l) => l.compressible).length, 3);
    assert.deepEqual(Object.keys(first.layerKeys).sort(), ['conv1', 'conv2', 'fc']);
    assert.equal(first.layerKeys.conv1, first.layerKeys.conv2, 'conv1 and conv2 have the same shape, hence one key');
    assert.notEqual(first.layerKeys.conv1, first.layerKeys.fc);
    assert.equal(uniqueKeys(first), 2);
    assert.equal(first.measuredLayers, 2);
    assert.equal(first.cachedLayers, 0);
    assert.deepEqual(Object.keys(first.table.layers).sort(), [...new Set(Object.values(first.layerKeys))].sort());
    assert.equal(first.table.kind, 'measured');
    assert.equal(first.table.granularity, 4);
    for (const [key, entry] of Object.entries(first.table.layers)) {
      assert.ok(entry.originalMs > 0 && Number.isFinite(entry.originalMs), `${key}: originalMs ${entry.originalMs}`);
      assert.ok(entry.ranks.length >= 1 && entry.ranks.length <= 2, `${key}: at most maxRanksPerLayer ranks, got ${entry.ranks.length}`);
      assert.ok(entry.ranks.every((r, i) => i === 0 || r.rank > (entry.ranks[i - 1]?.rank ?? 0)), `${key}: ranks ascending`);
      assert.ok(entry.ranks.every((r) => r.ms > 0 && Number.isFinite(r.ms)), `${key}: every rank has a positive time`);
      assert.equal(entry.granularity, 4);
    }
  });

  it('the cache file is named by the fingerprint key and holds a valid table with every entry', function () {
    const fingerprint = first.table.fingerprint;
    assert.ok(fingerprint, 'a measured table records its fingerprint');
    assert.equal(fingerprint.threads, 1);
    assert.equal(fingerprint.batch, 1);
    assert.equal(first.cacheFile, path.join(dir ?? '', `${fingerprintKey(fingerprint)}.json`));
    assert.deepEqual(jsonFiles(dir ?? ''), [`${fingerprintKey(fingerprint)}.json`]);
    const stored = readLatencyTable(first.cacheFile ?? '');
    assert.deepEqual(stored.layers, first.table.layers);
    assert.deepEqual(stored.fingerprint, fingerprint);
  });

  it('a second build measures nothing and returns identical entries without rewriting the file', async function () {
    const before = fs.readFileSync(first.cacheFile ?? '', 'utf8');
    const second = await build(twin, dir ?? null);
    assert.equal(second.measuredLayers, 0);
    assert.equal(second.cachedLayers, 2);
    assert.deepEqual(second.layerKeys, first.layerKeys);
    assert.deepEqual(second.table.layers, first.table.layers);
    assert.equal(second.table.callOverheadMs, first.table.callOverheadMs);
    assert.equal(second.table.createdAt, first.table.createdAt);
    assert.equal(second.cacheFile, first.cacheFile);
    assert.equal(fs.readFileSync(first.cacheFile ?? '', 'utf8'), before);
  });

  it('a model sharing one layer shape measures only its new shapes, and the cache then holds both', async function () {
    const other = await analyzed(sharedShapeModel(), 1);
    const built = await build(other, dir ?? null);
    assert.equal(built.layerKeys.same, first.layerKeys.conv1, 'the shared conv has the same key in both models');
    assert.equal(uniqueKeys(built), 3);
    assert.equal(built.measuredLayers, 2);
    assert.equal(built.cachedLayers, 1);
    assert.deepEqual(built.table.layers[built.layerKeys.same ?? ''], first.table.layers[first.layerKeys.conv1 ?? '']);
    assert.equal(built.cacheFile, first.cacheFile, 'same fingerprint, same file');
    assert.equal(Object.keys(readLatencyTable(built.cacheFile ?? '').layers).length, 4);
    const again = await build(twin, dir ?? null);
    assert.equal(again.measuredLayers, 0, 'the first model is still fully cached after the second one was added');
    assert.deepEqual(again.table.layers, first.table.layers);
  });

  it('another thread count is another fingerprint: a new file, everything measured', async function () {
    const built = await build(twin, dir ?? null, { threads: 2 });
    assert.equal(built.table.fingerprint?.threads, 2);
    assert.notEqual(built.cacheFile, first.cacheFile);
    assert.equal(built.measuredLayers, 2);
    assert.equal(built.cachedLayers, 0);
    assert.deepEqual(built.layerKeys, first.layerKeys, 'the layer keys do not change, only the fingerprint');
    assert.ok(fs.existsSync(built.cacheFile ?? ''));
    assert.ok(fs.existsSync(first.cacheFile ?? ''), 'the other fingerprint keeps its file');
  });

  it('another batch is another fingerprint: a new file, everything measured', async function () {
    const batch2 = await analyzed(twinConvModel(), 2);
    const built = await build(batch2, dir ?? null);
    assert.equal(built.table.fingerprint?.batch, 2);
    assert.notEqual(built.cacheFile, first.cacheFile);
    assert.equal(built.measuredLayers, 2);
    assert.match(built.layerKeys.conv1 ?? '', /x=2x8x8x8/);
    assert.ok(jsonFiles(dir ?? '').includes(path.basename(built.cacheFile ?? '')));
  });

  it('entries measured the older way (no measuring method recorded) are measured again and stored with it', async function () {
    const olderDir = makeTempDir('haloc-latency-older-');
    try {
      const file = path.join(olderDir, path.basename(first.cacheFile ?? ''));
      const older = JSON.parse(fs.readFileSync(first.cacheFile ?? '', 'utf8')) as { layers: Record<string, { method?: number }> };
      assert.ok(Object.values(older.layers).every((e) => e.method === measuringMethod), 'entries record the measuring method');
      for (const entry of Object.values(older.layers)) delete entry.method;
      fs.writeFileSync(file, JSON.stringify(older));
      const built = await build(twin, olderDir);
      assert.equal(built.measuredLayers, 2);
      const stored = readLatencyTable(file).layers;
      const twinKeys = new Set(Object.values(built.layerKeys));
      assert.ok([...twinKeys].every((key) => stored[key]?.method === measuringMethod));
      assert.ok(Object.entries(stored).filter(([key]) => !twinKeys.has(key)).every(([, e]) => e.method === undefined), 'other models\' entries are left as they were');
      assert.equal((await build(twin, olderDir)).measuredLayers, 0, 'and then come from the cache');
    } finally {
      removeDir(olderDir);
    }
  });

  for (const [what, content] of [
    ['truncated JSON', '{"format": "haloc-latency-table", "version": 1, "layers": {'],
    ['a table of an unknown version', JSON.stringify({ format: 'haloc-latency-table', version: 2, layers: {} })],
    ['an entry with a negative time', null],
  ] as const) {
    it(`a damaged cache file (${what}) is rebuilt without error`, async function () {
      const damagedDir = makeTempDir('haloc-latency-damaged-');
      try {
        const file = path.join(damagedDir, path.basename(first.cacheFile ?? ''));
        const valid = JSON.parse(fs.readFileSync(first.cacheFile ?? '', 'utf8')) as { layers: Record<string, { originalMs: number }> };
        for (const entry of Object.values(valid.layers)) entry.originalMs = -1;
        fs.writeFileSync(file, content ?? JSON.stringify(valid));
        const built = await build(twin, damagedDir);
        assert.equal(built.cacheFile, file);
        assert.equal(built.measuredLayers, 2);
        assert.equal(built.cachedLayers, 0);
        const repaired = readLatencyTable(file);
        assert.deepEqual(Object.keys(repaired.layers).sort(), Object.keys(built.table.layers).sort());
        assert.ok(Object.values(repaired.layers).every((e) => e.originalMs > 0));
      } finally {
        removeDir(damagedDir);
      }
    });
  }

  it('cacheDir: null measures everything and writes nothing, not even to the default folder', async function () {
    const defaultDir = makeTempDir('haloc-latency-default-');
    const saved = process.env.HALOC_CACHE_DIR;
    process.env.HALOC_CACHE_DIR = defaultDir;
    try {
      assert.equal(defaultCacheDir(), defaultDir);
      const built = await build(twin, null);
      assert.equal(built.cacheFile, null);
      assert.equal(built.measuredLayers, 2);
      assert.equal(built.cachedLayers, 0);
      assert.deepEqual(fs.readdirSync(defaultDir), []);
    } finally {
      if (saved === undefined) delete process.env.HALOC_CACHE_DIR;
      else process.env.HALOC_CACHE_DIR = saved;
      removeDir(defaultDir);
    }
  });

  it('every new layer shape is timed in each pass (three by default), the passes one after the other; cached shapes in none', async function () {
    const messages: string[] = [];
    const built = await buildLatencyTable(twin.model, twin.analysis, lightTableSettings(null), undefined, (message) => messages.push(message));
    assert.equal(built.measuredLayers, 2, 'a shape timed twice is still one measured layer');
    assert.deepEqual(messages, [1, 2, 3].flatMap((p) => [`timing conv2 (pass ${p} of 3)`, `timing fc (pass ${p} of 3)`]));
    messages.length = 0;
    await buildLatencyTable(twin.model, twin.analysis, lightTableSettings(null, { passes: 1 }), undefined, (message) => messages.push(message));
    assert.deepEqual(messages, ['timing conv2', 'timing fc']);
    messages.length = 0;
    const cached = await buildLatencyTable(twin.model, twin.analysis, lightTableSettings(dir ?? null), undefined, (message) => messages.push(message));
    assert.equal(cached.measuredLayers, 0);
    assert.deepEqual(messages, []);
  });
});

describe('latency table built while other processes hold the cores', function () {
  this.timeout(120_000);
  let dir: string | undefined;
  let spinners: ChildProcess[] = [];
  afterEach(() => spinners.splice(0).forEach((child) => child.kill('SIGKILL')));
  after(() => removeDir(dir));

  it('reports the busy entries, keeps them out of the cache, and the next build times them again', async function () {
    const cores = os.availableParallelism();
    if (cores > 32) return this.skip(); // two spinners per core would be too many processes
    dir = makeTempDir('haloc-latency-busy-');
    const twin = await analyzed(twinConvModel(), 1);
    // twice as many busy processes as cores: the timing thread gets about half a core
    spinners = Array.from({ length: 2 * cores }, () => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const loaded = await build(twin, dir, { busyCpuShare: minCpuShare });
    spinners.splice(0).forEach((child) => child.kill('SIGKILL'));
    assert.deepEqual([...loaded.busyLayers].sort(), ['conv1', 'conv2', 'fc'], 'every layer was timed under load');
    assert.ok(loaded.lowestCpuShare < minCpuShare, `lowest CPU share ${loaded.lowestCpuShare}`);
    for (const entry of Object.values(loaded.table.layers)) assert.ok((entry.cpuShare ?? 1) < minCpuShare, `entry CPU share ${entry.cpuShare}`);
    assert.match(busyTableNote(loaded) ?? '', /3 layer shape\(s\) .* were timed while other processes held the cores .* not cached/);
    const cachedFile = loaded.cacheFile ?? '';
    const onDisk = fs.existsSync(cachedFile) ? Object.keys(readLatencyTable(cachedFile).layers) : [];
    assert.deepEqual(onDisk, [], 'no busy entry is cached');
    const again = await build(twin, dir, { busyCpuShare: minCpuShare });
    assert.equal(again.measuredLayers, uniqueKeys(again), 'the next build times the busy entries again');
    assert.equal(busyTableNote({ busyLayers: [], lowestCpuShare: 1 }), null);
  });
});

describe('layerKey', function () {
  async function keysOf(convs: readonly Readonly<Record<string, number[]>>[]): Promise<string[]> {
    const b = new GraphBuilder();
    b.input('x', [1, 8, 8, 8]);
    convs.forEach((attributes, i) => {
      b.initializer(float32Tensor(`w${i}`, [8, 8, 3, 3], randomFloats(576, i + 1)));
      b.node('Conv', ['x', `w${i}`], { kernel_shape: [3, 3], ...attributes }, { name: `conv${i}`, outputs: [`y${i}`] });
      b.output(`y${i}`);
    });
    const model = modelOf(b);
    const analysis = await analyzeModel(model);
    return convs.map((_, i) => layerKey(model, layerNamed(analysis, `conv${i}`)));
  }

  it('equal for equal shapes and attributes, different when stride or padding differ', async function () {
    const [a, b, strided, padded] = await keysOf([{ pads: [1, 1, 1, 1] }, { pads: [1, 1, 1, 1] }, { pads: [1, 1, 1, 1], strides: [2, 2] }, {}]);
    assert.equal(a, b);
    assert.notEqual(a, strided);
    assert.notEqual(a, padded);
    assert.notEqual(strided, padded);
  });
});

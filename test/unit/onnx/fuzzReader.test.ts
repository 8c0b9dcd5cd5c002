// Seeded fuzz test of the ONNX reader and of `haloc analyze` (issue 8, item 1): 1,200 mutations of the
// shared models (when ../shared is present) and of generated ones, covering truncation at every tenth,
// flipped bytes, wrong wire types, huge lengths, negative and enormous dims, cycles, missing
// initializers and external data outside the folder or missing. Every case must end in a result or a
// typed one-line HalocError naming the file, within 5 s and 1 GB of RSS growth; never a crash or hang.
// The longer unseeded run is bench/fuzzOnnx.mjs.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { folderBaseModels, generatedBaseModels } from './fuzzBaseModels';
import { runFuzz, type FuzzSummary } from './fuzzPool';
import { makeFuzzCase, mutationSources } from './onnxMutations';
import { sharedModelFiles, sharedModelsDir } from '../testSupport';

const seed = 20240608;
const caseCount = 1200;
const timeoutMs = 5000;
const memoryLimitMb = 1024;

describe('fuzz: ONNX reader and haloc analyze (seeded)', function () {
  this.timeout(240_000);
  let summary: FuzzSummary;
  const haveShared = fs.existsSync(sharedModelsDir());

  before(async function () {
    if (!haveShared) console.log(`    (shared models folder ${sharedModelsDir()} not found: fuzzing the generated models only; set HALOC_SHARED_MODELS to include them)`);
    summary = await runFuzz({ seed, cases: caseCount, sharedDir: haveShared ? sharedModelsDir() : '', timeoutMs, memoryLimitMb });
    const counts = [...summary.counts].sort((a, b) => b[1] - a[1]).map(([o, n]) => `${o} ${n}`).join(', ');
    const slowest = summary.slowest[0];
    console.log(`    ${caseCount} cases in ${(summary.totalMs / 1000).toFixed(1)} s: ${counts}; slowest ${slowest?.ms.toFixed(1) ?? '?'} ms (case ${slowest?.index ?? '?'}: ${slowest?.base ?? ''}, ${slowest?.description ?? ''}); peak RSS growth ${summary.peakRssGrowthMb.toFixed(0)} MB`);
  });

  it('every case ends in a result or a typed one-line HalocError naming the file: no crash, hang or memory overrun', function () {
    const shown = summary.failures.slice(0, 10).map((r) => `case ${r.index} [${r.base}, ${r.kind}: ${r.description}] ${r.outcome}: ${r.message}`);
    assert.equal(summary.failures.length, 0, `${summary.failures.length} failing case(s) (replay with node bench/fuzzOnnx.mjs --seed ${seed} --cases ${caseCount}):\n${shown.join('\n')}`);
    assert.equal([...summary.counts.values()].reduce((a, b) => a + b, 0), caseCount, 'every case ran');
  });

  it('the cases reach every kind of ending: results, CORRUPT, NOT_ONNX, UNSAFE_PATH and MISSING_EXTERNAL_DATA', function () {
    for (const outcome of ['ok', 'CORRUPT', 'NOT_ONNX', 'UNSAFE_PATH', 'MISSING_EXTERNAL_DATA'] as const) {
      assert.ok((summary.counts.get(outcome) ?? 0) > 0, `no case ended in ${outcome}: ${JSON.stringify([...summary.counts])}`);
    }
  });

  it('the slowest case stays well inside the time bound', function () {
    assert.ok((summary.slowest[0]?.ms ?? 0) < timeoutMs, `slowest case took ${summary.slowest[0]?.ms ?? 0} ms`);
  });

  it('mutates every shared model (when present) and every generated one', function () {
    const expected = [...(haveShared ? sharedModelFiles() : []), ...generatedBaseModels().map((b) => b.name)];
    assert.deepEqual([...summary.baseNames], expected);
  });

  it('is deterministic: the same seed and index give the same files', function () {
    const sources = mutationSources([...(haveShared ? folderBaseModels(sharedModelsDir()) : []), ...generatedBaseModels()]);
    for (const index of [0, 7, 95, 433, 1199]) {
      const a = makeFuzzCase(seed, index, sources, '/tmp/case');
      const b = makeFuzzCase(seed, index, sources, '/tmp/case');
      assert.equal(a.description, b.description);
      assert.deepEqual([...a.files.files.keys()], [...b.files.files.keys()]);
      for (const [name, bytes] of a.files.files) assert.ok(Buffer.from(bytes).equals(Buffer.from(b.files.files.get(name) ?? new Uint8Array(0))), `case ${index}: ${name} differs`);
    }
  });
});

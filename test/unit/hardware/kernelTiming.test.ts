// Kernel times from onnxruntime's profile: the calibration chain added to every profiled model runs
// beside it without changing its outputs; a profile's events are split into the model's nodes (only
// the kept window's runs; device copies and a benchmark model's producer dropped) and the calibration
// samples; the kernel sum takes the profiler's per-node cost off every node and leaves out only the
// layout reorders at the model's borders; the interquartile mean ignores a few slow samples; a window
// in which the process did not have the cores (a session whose runs sleep) is taken again up to
// maxWindows times, not on a GPU; whole models are timed in rounds of fresh sessions, each keeping its
// median round. Synthetic events and sessions; no assertion on a time.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { calibrationPrefix, interquartileMean, producerPrefix, kernelSamples, kernelSumMs, minCpuShare, plainNodeMs, randomFeeds, timeKernels, medianOfRounds, timeModelsInRounds, timeSession, withCalibrationChain, type NodeSamples, type ProfileEvent } from '../../../engine/hardware/timeSession';
import { encodeOnnx } from '../../../engine/onnx/writeOnnx';
import { lightTiming, twinConvModel } from './hardwareSupport';

/** The kernel-time events of `runs` runs: every node once a run, with the given durations (us) by run. */
function events(nodes: readonly { name: string; op: string; us: readonly number[] }[]): ProfileEvent[] {
  const runs = Math.max(...nodes.map((n) => n.us.length));
  const list: ProfileEvent[] = [{ cat: 'Session', name: 'model_run', dur: 999 }];
  for (let run = 0; run < runs; run++) {
    for (const node of nodes) {
      list.push({ cat: 'Node', name: `${node.name}_fence_before`, dur: 0, args: { op_name: node.op } });
      list.push({ cat: 'Node', name: `${node.name}_kernel_time`, dur: node.us[run] ?? 0, args: { op_name: node.op } });
    }
  }
  return list;
}

describe('interquartileMean', function () {
  it('the mean of the middle half: a few slow samples do not move it, and it resolves below the 1 us steps', function () {
    assert.equal(interquartileMean([1, 2, 3, 4, 5, 6, 7, 8]), 4.5);
    assert.equal(interquartileMean([5, 5, 5, 5, 5, 5, 900, 1000]), 5);
    assert.equal(interquartileMean([4, 4, 5, 5]), 4.5, 'a median would say 4 or 5');
    assert.equal(interquartileMean([7]), 7);
    assert.equal(interquartileMean([3, 1, 2]), 2, 'unsorted input');
    assert.equal(interquartileMean([]), 0);
  });
});

describe('kernelSamples', function () {
  it('keeps the window\'s runs only, drops device copies, producers and non-kernel events; calibration samples are apart', function () {
    const profile = kernelSamples(events([
      { name: 'ReorderInput', op: 'ReorderInput', us: [50, 10, 11, 12] },
      { name: `${producerPrefix}y_nchwc`, op: 'Conv', us: [70, 30, 30, 30] },
      { name: 'conv_nchwc', op: 'Conv', us: [900, 100, 101, 102] },
      { name: `${calibrationPrefix}0`, op: 'Neg', us: [40, 5, 6, 5] },
      { name: 'copy', op: 'MemcpyFromHost', us: [1, 1, 1, 1] },
      { name: `${calibrationPrefix}1`, op: 'Relu', us: [40, 4, 5, 4] },
    ]), 1, 4);
    assert.deepEqual(profile.nodes, [
      { name: 'ReorderInput', op: 'ReorderInput', samples: [10, 11, 12] },
      { name: 'conv_nchwc', op: 'Conv', samples: [100, 101, 102] },
    ]);
    assert.deepEqual([...profile.calibration].sort((a, b) => a - b), [4, 4, 5, 5, 5, 6]);
  });

  it('a window in the middle: the runs before it (warm-ups, a busy window) and after it are left out', function () {
    const profile = kernelSamples(events([{ name: 'conv', op: 'Conv', us: [90, 80, 300, 310, 100, 101, 150] }, { name: `${calibrationPrefix}0`, op: 'Neg', us: [9, 9, 20, 20, 5, 6, 12] }]), 4, 6);
    assert.deepEqual(profile.nodes, [{ name: 'conv', op: 'Conv', samples: [100, 101] }]);
    assert.deepEqual(profile.calibration, [5, 6]);
  });

  it('keeps at least the last run when there were no more runs than warm-ups', function () {
    const profile = kernelSamples(events([{ name: 'conv', op: 'Conv', us: [30, 20] }]), 3, 5);
    assert.deepEqual(profile.nodes, [{ name: 'conv', op: 'Conv', samples: [20] }]);
  });
});

describe('kernelSumMs', function () {
  const node = (name: string, op: string, us: number): NodeSamples => ({ name, op, samples: [us, us, us, us] });

  it('takes the profiler cost off every node and leaves out the reorders at the two borders only', function () {
    const nodes = [node('in', 'ReorderInput', 40), node('a', 'Conv', 105), node('mid', 'ReorderOutput', 25), node('b', 'Conv', 205), node('out', 'ReorderOutput', 30)];
    // (105 - 5) + (25 - 5) + (205 - 5) us
    assert.ok(Math.abs(kernelSumMs(nodes, 0.005) - 0.32) < 1e-12, `${kernelSumMs(nodes, 0.005)}`);
    assert.ok(Math.abs(kernelSumMs(nodes, 0) - 0.335) < 1e-12);
  });

  it('keepBorders (a whole model): the reorders at its borders are counted too', function () {
    const nodes = [node('in', 'ReorderInput', 40), node('a', 'Conv', 105), node('out', 'ReorderOutput', 30)];
    assert.ok(Math.abs(kernelSumMs(nodes, 0.005, true) - 0.16) < 1e-12, `${kernelSumMs(nodes, 0.005, true)}`);
    assert.ok(Math.abs(kernelSumMs(nodes, 0.005) - 0.1) < 1e-12);
  });

  it('a first or last node that is not a reorder is counted', function () {
    const nodes = [node('a', 'Conv', 105), node('mid', 'ReorderOutput', 25), node('b', 'Relu', 15)];
    assert.ok(Math.abs(kernelSumMs(nodes, 0.005) - 0.13) < 1e-12, `${kernelSumMs(nodes, 0.005)}`);
  });

  it('a node never counts less than a twentieth of what was recorded', function () {
    assert.ok(Math.abs(kernelSumMs([node('tiny', 'Add', 4)], 0.005) - 0.0002) < 1e-12);
  });
});

describe('the calibration chain', function () {
  this.timeout(30_000);

  it('runs beside the model: one more input and output, the model\'s own outputs unchanged', async function () {
    const model = twinConvModel();
    const calibrated = withCalibrationChain(model);
    assert.equal(calibrated.graph?.node?.length, (model.graph?.node?.length ?? 0) + 12);
    assert.ok((calibrated.graph?.node ?? []).slice(-12).every((n) => n.name?.startsWith(calibrationPrefix)));
    assert.deepEqual((calibrated.graph?.input ?? []).map((i) => i.name), ['x', `${calibrationPrefix}x`]);
    assert.deepEqual((calibrated.graph?.output ?? []).map((o) => o.name), ['logits', `${calibrationPrefix}y`]);
    assert.equal(model.graph?.node?.length, 6, 'the input model is not changed');
    const run = async (bytes: Uint8Array, names: string[]) => {
      const session = await ort.InferenceSession.create(bytes);
      try {
        return await session.run(randomFeeds(names.map((name) => ({ name, dims: name === 'x' ? [2, 8, 8, 8] : [1, 16] }))));
      } finally {
        await session.release();
      }
    };
    const plain = await run(encodeOnnx(model), ['x']);
    const both = await run(encodeOnnx(calibrated), ['x', `${calibrationPrefix}x`]);
    assert.deepEqual([...(both.logits?.data as Float32Array)], [...(plain.logits?.data as Float32Array)]);
    assert.deepEqual([...(both[`${calibrationPrefix}y`]?.dims ?? [])], [1, 16]);
  });

  it('timeKernels measures a profiler cost and a positive kernel sum; a plain node costs a finite non-negative time', async function () {
    const timing = await timeKernels(twinConvModel(), [{ name: 'x', dims: [1, 8, 8, 8] }], lightTiming);
    assert.ok(Number.isFinite(timing.profilerCostMs) && timing.profilerCostMs >= 0, `profilerCostMs ${timing.profilerCostMs}`);
    assert.ok(Number.isFinite(timing.kernelMs) && timing.kernelMs > 0, `kernelMs ${timing.kernelMs}`);
    const plain = await plainNodeMs(lightTiming);
    assert.ok(Number.isFinite(plain) && plain >= 0, `plainNodeMs ${plain}`);
  });
});

describe('timeSession windows', function () {
  /**
   * A session whose runs sleep: the process uses next to no CPU, as when another process holds the cores.
   * 10 ms a run: with 1 ms, a window of four runs was short enough for the process's other threads (GC,
   * a previous test's) to fill it (CPU share 1.02 once in CI).
   */
  function sleepingSession(): { session: ort.InferenceSession; runs: () => number } {
    let runs = 0;
    const session = { run: async () => { runs++; await new Promise((resolve) => setTimeout(resolve, 10)); return {}; } } as unknown as ort.InferenceSession;
    return { session, runs: () => runs };
  }
  const settings = { threads: 1, provider: 'cpu', warmupRuns: 2, minRuns: 4, minTotalMs: 0, maxRuns: 4 } as const;

  it('a window without the cores is taken again, up to maxWindows (default 3); the kept one is located among the runs', async function () {
    const fake = sleepingSession();
    const timing = await timeSession(fake.session, {}, settings);
    assert.ok(timing.cpuShare < minCpuShare, `cpuShare ${timing.cpuShare}`);
    assert.equal(timing.windows, 3);
    assert.equal(fake.runs(), 2 + 3 * 4, 'warm-up, then three windows of four runs');
    assert.equal(timing.runs, 4);
    assert.ok([2, 6, 10].includes(timing.firstRun), `firstRun ${timing.firstRun}`);
    const five = sleepingSession();
    assert.equal((await timeSession(five.session, {}, { ...settings, maxWindows: 5 })).windows, 5);
    assert.equal(five.runs(), 2 + 5 * 4);
  });

  it('one window when asked for one, and on a GPU (threads wait there, the share says nothing)', async function () {
    const one = sleepingSession();
    assert.equal((await timeSession(one.session, {}, { ...settings, maxWindows: 1 })).windows, 1);
    assert.equal(one.runs(), 6);
    const gpu = sleepingSession();
    const timing = await timeSession(gpu.session, {}, { ...settings, provider: 'cuda' });
    assert.equal(timing.windows, 1);
    assert.equal(timing.firstRun, 2);
    assert.equal(gpu.runs(), 6);
  });
});


describe('timeModelsInRounds', function () {
  it('times each model once per round and gives one median per model; a cancel stops it between timings', async function () {
    const bytes = encodeOnnx(twinConvModel());
    const inputs = [{ name: 'x', dims: [1, 8, 8, 8] }];
    const times = await timeModelsInRounds([bytes, bytes], inputs, lightTiming, 2);
    assert.equal(times.length, 2);
    for (const t of times) assert.ok(Number.isFinite(t) && t > 0, `time ${t}`);
    let checks = 0;
    const cancel = { cancelled: false, throwIfCancelled: () => { if (++checks > 3) throw new Error('cancelled'); } };
    await assert.rejects(timeModelsInRounds([bytes, bytes], inputs, lightTiming, 5, cancel), /cancelled/);
    assert.equal(checks, 4, 'checked before every timing, stopped at the fourth');
  });

  it('opens a fresh session of each model, given as bytes or as a file, in every round', async function () {
    const bytes = encodeOnnx(twinConvModel());
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'haloc-rounds-')), 'twin.onnx');
    fs.writeFileSync(file, bytes);
    const create = ort.InferenceSession.create; // the class timeSession's sessions come from
    const opened: unknown[] = [];
    ort.InferenceSession.create = ((...args: Parameters<typeof create>) => {
      opened.push(typeof args[0] === 'string' ? 'file' : 'bytes');
      return create(...args);
    }) as typeof create;
    try {
      const times = await timeModelsInRounds([file, bytes], [{ name: 'x', dims: [1, 8, 8, 8] }], lightTiming, 3);
      assert.equal(times.length, 2);
      assert.deepEqual(opened, ['file', 'bytes', 'file', 'bytes', 'file', 'bytes']);
    } finally {
      ort.InferenceSession.create = create;
      fs.rmSync(path.dirname(file), { recursive: true, force: true });
    }
  });
});

describe('medianOfRounds', function () {
  it('runs every timing once a round, interleaved, and keeps each one\'s median result with its CPU share', async function () {
    const calls: string[] = [];
    const series = (name: string, values: [number, number][]) => async () => {
      calls.push(name);
      const [ms, cpuShare] = values.shift() ?? [NaN, NaN];
      return { ms, cpuShare };
    };
    const median = await medianOfRounds(3, [series('a', [[5, 1], [3, 0.4], [4, 0.8]]), series('b', [[2, 0.9], [9, 1], [7, 0.7]])]);
    assert.deepEqual(median, [{ ms: 4, cpuShare: 0.8 }, { ms: 7, cpuShare: 0.7 }]);
    assert.deepEqual(calls, ['a', 'b', 'a', 'b', 'a', 'b']);
  });

  it('of an even count the lower middle one; at least one round; no timings gives no results', async function () {
    let calls = 0;
    assert.deepEqual(await medianOfRounds(4, [async () => ({ ms: [8, 2, 6, 4][calls++] ?? NaN, cpuShare: 1 })]), [{ ms: 4, cpuShare: 1 }]);
    calls = 0;
    assert.deepEqual(await medianOfRounds(0, [async () => ({ ms: ++calls, cpuShare: 1 })]), [{ ms: 1, cpuShare: 1 }]);
    assert.deepEqual(await medianOfRounds(2, []), []);
  });
});

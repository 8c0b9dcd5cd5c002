// Long fuzz run of the ONNX reader and of `haloc analyze` (issue 8, item 1): the seeded generator of
// test/unit/onnx/fuzzReader.test.ts, here with a random seed (printed, so a run can be replayed) over N
// cases. Prints the count of each outcome (ok / each error code / crash / bad-error / timeout / memory),
// the slowest cases and every failure; exits 1 if any case crashed, hung or went past the memory bound.
// Usage: node bench/fuzzOnnx.mjs [--cases N] [--seed S] [--timeout-ms T] [--memory-mb M]
//        (needs `npx tsc -b`: it loads the compiled fuzzer from out/test/unit/onnx/)
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const { runFuzz } = require(path.join(repoRoot, 'out/test/unit/onnx/fuzzPool.js'));

const args = process.argv.slice(2);
/** The value after `--name`, as a number, or `fallback`. */
function numberOption(name, fallback) {
  const at = args.indexOf(`--${name}`);
  if (at < 0) return fallback;
  const value = Number(args[at + 1]);
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`--${name} needs a non-negative integer, not '${args[at + 1]}'`);
  return value;
}

const seed = numberOption('seed', Math.floor(Math.random() * 2 ** 31));
const cases = numberOption('cases', 10_000);
const timeoutMs = numberOption('timeout-ms', 5000);
const memoryLimitMb = numberOption('memory-mb', 1024);
const sharedDir = process.env.HALOC_SHARED_MODELS ?? path.resolve(repoRoot, '..', 'shared', 'models');

console.log(`fuzzOnnx: seed ${seed}, ${cases} cases, bound ${timeoutMs} ms and ${memoryLimitMb} MB per case (replay: --seed ${seed})`);
let done = 0;
const summary = await runFuzz({
  seed, cases, sharedDir, timeoutMs, memoryLimitMb,
  onResult: (result) => {
    done++;
    if (['crash', 'bad-error', 'timeout', 'memory'].includes(result.outcome)) console.log(`  FAIL case ${result.index} [${result.base}, ${result.kind}: ${result.description}] ${result.outcome}: ${result.message}`);
    if (done % 1000 === 0) console.log(`  ${done} cases done`);
  },
});
console.log(`base models: ${summary.baseNames.join(', ')}`);
console.log('outcomes:');
for (const [outcome, count] of [...summary.counts].sort((a, b) => b[1] - a[1])) console.log(`  ${outcome.padEnd(22)} ${count}`);
console.log('slowest cases:');
for (const r of summary.slowest) console.log(`  ${r.ms.toFixed(1).padStart(8)} ms  case ${r.index} [${r.base}, ${r.kind}: ${r.description}] -> ${r.outcome}`);
console.log(`peak RSS growth during a case: ${summary.peakRssGrowthMb.toFixed(0)} MB; total ${(summary.totalMs / 1000).toFixed(1)} s`);
const bad = summary.failures.filter((r) => r.outcome !== 'bad-error').length;
console.log(bad + summary.failures.length === 0 ? 'no crash, hang or memory overrun' : `${summary.failures.length} failing case(s) (${bad} crash/hang/memory)`);
process.exitCode = summary.failures.length > 0 ? 1 : 0;

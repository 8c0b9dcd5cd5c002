// Shared helpers of the unit tests: where the shared models are, temporary folders, building small
// models in memory, running the CLI with captured output, and checking typed errors.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCli } from '../../engine/cli/main';
import { HalocError, type HalocErrorCode } from '../../engine/errors';
import { analyzeModel, type AnalysisSettings, type LayerAnalysis, type ModelAnalysis } from '../../engine/graph/analyzeModel';
import type { GraphBuilder } from '../../engine/onnx/graphBuilder';
import { decodeOnnxModel, type OnnxModel } from '../../engine/onnx/onnxModel';
import { onnx } from '../../engine/onnx/proto';
import { encodeOnnx } from '../../engine/onnx/writeOnnx';

/** The repository root: the nearest folder above this file with a package.json. */
export function repoRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) return process.cwd();
    dir = parent;
  }
  return dir;
}

/** ../shared/models next to the repository (HALOC_SHARED_MODELS overrides it). */
export function sharedModelsDir(): string {
  return process.env.HALOC_SHARED_MODELS ?? path.resolve(repoRoot(), '..', 'shared', 'models');
}

/** The path of a model in the shared models folder. */
export function sharedModel(fileName: string): string {
  return path.join(sharedModelsDir(), fileName);
}

/** The .onnx files of the shared models folder (empty when it is missing). */
export function sharedModelFiles(): string[] {
  const dir = sharedModelsDir();
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.onnx')).sort() : [];
}

/** Skips the whole suite with a clear message when the shared models folder is missing. */
export function skipSuiteWithoutSharedModels(context: Mocha.Context): void {
  if (!fs.existsSync(sharedModelsDir())) {
    console.log(`    (skipped: shared models folder ${sharedModelsDir()} not found; set HALOC_SHARED_MODELS to run these tests)`);
    context.skip();
  }
}

/** A fresh temporary folder (remove it with removeDir). */
export function makeTempDir(prefix = 'haloc-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Removes a folder made by makeTempDir. */
export function removeDir(dir: string | undefined): void {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}

/** Decodes the model a builder describes, as if read from `filePath` (default: a name in the temp folder). */
export function modelOf(builder: GraphBuilder, filePath = path.join(os.tmpdir(), 'haloc-in-memory.onnx')): OnnxModel {
  return decodeOnnxModel(encodeOnnx(builder.build()), filePath);
}

/** Analyzes the model a builder describes. */
export async function analyzeBuilt(builder: GraphBuilder, settings: AnalysisSettings = {}): Promise<ModelAnalysis> {
  return analyzeModel(modelOf(builder), settings);
}

/** The layer called `name`; fails the test when there is none. */
export function layerNamed(analysis: ModelAnalysis, name: string): LayerAnalysis {
  const layer = analysis.layers.find((l) => l.name === name);
  assert.ok(layer, `no layer '${name}' among ${analysis.layers.map((l) => l.name).join(', ')}`);
  return layer;
}

/** Deterministic pseudo-random float32 values in [-1, 1). */
export function randomFloats(count: number, seed = 1): Float32Array {
  const values = new Float32Array(count);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < count; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    values[i] = state / 2 ** 31 - 1;
  }
  return values;
}

/** Output of one CLI run. */
export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `haloc <argv>` in-process and captures its output. */
export async function runHaloc(argv: readonly string[]): Promise<CliResult> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, (t) => out.push(t), (t) => err.push(t));
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

/** Asserts that `action` throws (or rejects with) a HalocError, optionally of `code`; returns it. */
export async function expectHalocError(action: () => unknown, code?: HalocErrorCode, what = 'the action'): Promise<HalocError> {
  let thrown: unknown;
  try {
    await action();
  } catch (error) {
    thrown = error;
  }
  assert.ok(thrown !== undefined, `${what} should have thrown a HalocError but succeeded`);
  assert.ok(thrown instanceof HalocError, `${what} should throw a HalocError, not ${thrown instanceof Error ? `${thrown.name}: ${thrown.message}` : String(thrown)}`);
  if (code) assert.equal(thrown.code, code, `${what}: error code (message: ${thrown.message})`);
  assert.ok(!thrown.message.includes('\n'), `the message should be one line: ${JSON.stringify(thrown.message)}`);
  return thrown;
}

/** Output dims of every node output, measured by running the model once in onnxruntime-node on zeros. */
export async function onnxruntimeShapes(model: onnx.ModelProto, inputs: Readonly<Record<string, readonly number[]>>): Promise<Map<string, number[]>> {
  const ort = await import('onnxruntime-node');
  const graph = model.graph as onnx.GraphProto;
  const declared = new Set(graph.output.map((o) => o.name));
  const extra = graph.node.flatMap((n) => n.output).filter((name) => name && !declared.has(name)).map((name) => onnx.ValueInfoProto.create({ name: name ?? '' }));
  const exposed = onnx.ModelProto.create({ ...model, graph: onnx.GraphProto.create({ ...graph, output: [...graph.output, ...extra] }) });
  const session = await ort.InferenceSession.create(onnx.ModelProto.encode(exposed).finish(), { graphOptimizationLevel: 'disabled', logSeverityLevel: 3 });
  try {
    const feeds: Record<string, InstanceType<typeof ort.Tensor>> = {};
    for (const [name, dims] of Object.entries(inputs)) feeds[name] = new ort.Tensor('float32', new Float32Array(dims.reduce((p, d) => p * d, 1)), [...dims]);
    const results = await session.run(feeds);
    return new Map(Object.entries(results).map(([name, tensor]) => [name, [...tensor.dims]]));
  } finally {
    await session.release();
  }
}

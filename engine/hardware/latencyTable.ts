// The latency table: per layer shape, the latency of the original layer and of its rewrite at each
// candidate rank, measured on one device (or estimated from an analytic profile), with where the
// numbers come from. Versioned JSON, validated on read.
import * as fs from 'node:fs';
import Ajv from 'ajv';
import { errorMessage, HalocError } from '../errors';
import type { LayerAnalysis } from '../graph/analyzeModel';
import { attributeInt, attributeInts, attributeString } from '../onnx/attributes';
import type { OnnxModel } from '../onnx/onnxModel';
import { writeFileAtomic } from '../io/atomicWrite';
import type { DeviceFingerprint } from './deviceFingerprint';
import { lowerMedian } from './lowerMedian';

/** Latency of a layer's rewrite at one rank. */
export interface RankLatency {
  readonly rank: number;
  readonly ms: number;
}

/** The table entry of one layer shape. */
export interface LayerLatency {
  readonly op: string;
  readonly originalMs: number;
  /** Ascending by rank. */
  readonly ranks: readonly RankLatency[];
  /** The rank step its candidate ranks follow. */
  readonly granularity: number;
  /** The most candidate ranks that were asked for when it was measured. */
  readonly rankLimit?: number;
  /** The version of the way it was measured (see buildLatencyTable's measuringMethod); absent before version 2. */
  readonly method?: number;
  /**
   * The median over the passes that timed it of each pass's CPU share (the lowest among that pass's
   * timing windows): below timeSession's minCpuShare, other processes held the cores during most passes
   * and its figures may be too high.
   */
  readonly cpuShare?: number;
}

/** A latency table, as stored in a file. */
export interface LatencyTable {
  readonly format: 'haloc-latency-table';
  readonly version: 1;
  /** 'measured' on a device, or 'estimated' from an analytic profile. */
  readonly kind: 'measured' | 'estimated';
  /** Where the numbers come from, in words. */
  readonly source: string;
  readonly fingerprint?: DeviceFingerprint;
  readonly createdAt: string;
  /** The fixed cost of one session run (measured on an empty model), included in every entry. */
  readonly callOverheadMs: number;
  /** The rank step of the candidate ranks (the device's, or the user's override). */
  readonly granularity: number;
  /** The device's rank step as a fine sweep found it (HALOC design principle 1), when one ran. */
  readonly deviceGranularity?: number;
  /** Entries by layer key (see layerKey). */
  readonly layers: Readonly<Record<string, LayerLatency>>;
}

const tableSchema = {
  type: 'object',
  required: ['format', 'version', 'kind', 'source', 'createdAt', 'callOverheadMs', 'granularity', 'layers'],
  properties: {
    format: { const: 'haloc-latency-table' },
    version: { const: 1 },
    kind: { enum: ['measured', 'estimated'] },
    source: { type: 'string' },
    createdAt: { type: 'string' },
    callOverheadMs: { type: 'number', minimum: 0 },
    granularity: { type: 'integer', minimum: 1 },
    deviceGranularity: { type: 'integer', minimum: 1 },
    fingerprint: { type: 'object' },
    layers: {
      type: 'object',
      additionalProperties: {
        type: 'object',
        required: ['op', 'originalMs', 'ranks', 'granularity'],
        properties: {
          op: { type: 'string' },
          originalMs: { type: 'number', minimum: 0 },
          granularity: { type: 'integer', minimum: 1 },
          cpuShare: { type: 'number', minimum: 0 },
          ranks: { type: 'array', items: { type: 'object', required: ['rank', 'ms'], properties: { rank: { type: 'integer', minimum: 1 }, ms: { type: 'number', minimum: 0 } } } },
        },
      },
    },
  },
} as const;

const validateTable = new Ajv({ allErrors: true, strict: false }).compile(tableSchema);

/** Reads and validates a table file; a clear error names the file and the first problems. */
export function readLatencyTable(filePath: string): LatencyTable {
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(filePath, 'utf8'));
  } catch (error) {
    throw new HalocError('BAD_ARGUMENT', `${filePath}: not a readable JSON latency table (${errorMessage(error)})`);
  }
  if (!validateTable(json)) {
    const { format, version } = (typeof json === 'object' && json !== null ? json : {}) as { format?: unknown; version?: unknown };
    if (format !== 'haloc-latency-table') throw new HalocError('BAD_ARGUMENT', `${filePath}: not a HALOC latency table (its "format" is not "haloc-latency-table")`);
    if (version !== 1) throw new HalocError('BAD_ARGUMENT', `${filePath}: latency table version ${JSON.stringify(version)} is not supported (this haloc reads version 1)`);
    const problems = (validateTable.errors ?? []).slice(0, 5).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`);
    throw new HalocError('BAD_ARGUMENT', `${filePath}: not a valid latency table: ${problems.join('; ')}`);
  }
  const table = json as unknown as LatencyTable;
  const sorted = Object.fromEntries(Object.entries(table.layers).map(([key, entry]) => [key, { ...entry, ranks: [...entry.ranks].sort((a, b) => a.rank - b.rank) }]));
  return { ...table, layers: sorted };
}

/** Writes a table atomically. */
export function writeLatencyTable(filePath: string, table: LatencyTable): void {
  writeFileAtomic(filePath, [Buffer.from(`${JSON.stringify(table, null, 1)}\n`, 'utf8')]);
}

/** The key of a layer's shape: op, input shape, weight shape and every attribute that changes its cost. */
export function layerKey(model: OnnxModel, layer: LayerAnalysis): string {
  const node = model.graph.node?.[layer.nodeIndex] ?? {};
  const ints = (name: string): string => (attributeInts(node, name) ?? []).join(',');
  const parts = [layer.op, `x=${(layer.inputShape ?? []).join('x')}`, `w=${(layer.weightShape ?? []).join('x')}`];
  if (layer.op === 'Conv') parts.push(`s=${ints('strides')}`, `p=${ints('pads')}`, `d=${ints('dilations')}`, `g=${attributeInt(node, 'group', 1)}`, `a=${attributeString(node, 'auto_pad', 'NOTSET')}`);
  if (layer.op === 'Gemm') parts.push(`tA=${attributeInt(node, 'transA', 0)}`, `tB=${attributeInt(node, 'transB', 0)}`, `c=${node.input?.[2] ? 1 : 0}`);
  if (layer.op === 'Conv' || layer.op === 'Gemm') parts.push(`bias=${node.input?.[2] ? 1 : 0}`);
  return parts.join('|');
}

/**
 * Per figure, the median of several timings of one entry (the lower middle one of an even count), and
 * the median CPU share (busy unless most timings were quiet): on this machine a pass now and then times
 * a layer 20-30% faster than every other pass (a whole session runs faster), so the lowest of more
 * passes came out lower and lower.
 */
export function medianEntry(timings: readonly LayerLatency[]): LayerLatency {
  const [first] = timings;
  if (!first) throw new RangeError('medianEntry: no timings');
  const middle = (values: number[]): number => lowerMedian(values, (v) => v) ?? NaN;
  const shares = timings.map((t) => t.cpuShare).filter((s): s is number => s !== undefined);
  return {
    ...first,
    originalMs: middle(timings.map((t) => t.originalMs)),
    ranks: first.ranks.map((r) => ({ rank: r.rank, ms: middle(timings.map((t) => t.ranks.find((x) => x.rank === r.rank)?.ms ?? r.ms)) })),
    ...(shares.length > 0 ? { cpuShare: middle(shares) } : {}),
  };
}

/** Latency of a layer at rank r: the entry at r, else the next measured rank above it (same step). */
export function latencyAtRank(entry: LayerLatency, rank: number): number {
  const exact = entry.ranks.find((r) => r.rank >= rank);
  return exact ? exact.ms : (entry.ranks[entry.ranks.length - 1]?.ms ?? entry.originalMs);
}

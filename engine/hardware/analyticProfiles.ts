// Target profiles for hardware this machine is not: a roofline model per convolution / matrix product
// (time = max(FLOPs / achievable FLOP/s, bytes / bandwidth) + a fixed cost per kernel), with channel
// counts rounded up to the profile's tile width, which is what makes latency rise in steps with the
// rank. Every figure derived from a profile is an estimate and is labelled so.
import type { LowRankShape } from '../graph/lowRankCost';
import { tuckerRanks } from '../graph/lowRankCost';

/** An analytic hardware profile. */
export interface AnalyticProfile {
  readonly id: string;
  readonly name: string;
  /** Peak arithmetic throughput in GFLOP/s for the profile's data type. */
  readonly peakGflops: number;
  /** Share of the peak that dense convolutions reach in practice (0..1). */
  readonly efficiency: number;
  /** DRAM bandwidth in GB/s. */
  readonly memoryGBps: number;
  /** Fixed cost of one kernel (launch, synchronisation), microseconds. */
  readonly kernelOverheadUs: number;
  /** Channel counts are processed in tiles of this width (vector lanes, warp tiles, PE array side). */
  readonly channelTile: number;
  readonly bytesPerValue: number;
  /** Where the numbers come from. */
  readonly source: string;
}

/** The shipped profiles. */
export const analyticProfiles: readonly AnalyticProfile[] = [
  {
    id: 'desktop-gpu',
    name: 'Desktop GPU (NVIDIA GeForce RTX 3090 class, FP32)',
    peakGflops: 35_580,
    efficiency: 0.5,
    memoryGBps: 936,
    kernelOverheadUs: 5,
    channelTile: 32,
    bytesPerValue: 4,
    source: 'NVIDIA Ampere GA102 GPU architecture whitepaper (RTX 3090: 35.58 TFLOPS FP32 peak, 936 GB/s GDDR6X); 50% of peak for cuDNN convolutions, ~5 us per kernel launch and 32-wide channel tiles are this project\'s assumptions',
  },
  {
    id: 'embedded-gpu',
    name: 'Embedded GPU (NVIDIA Jetson TX2 class, FP32)',
    peakGflops: 665,
    efficiency: 0.5,
    memoryGBps: 59.7,
    kernelOverheadUs: 10,
    channelTile: 16,
    bytesPerValue: 4,
    source: 'NVIDIA Jetson TX2 module datasheet (256 Pascal CUDA cores at up to 1.30 GHz: 0.665 TFLOPS FP32; 59.7 GB/s LPDDR4); 50% efficiency, ~10 us per kernel and 16-wide channel tiles are this project\'s assumptions',
  },
  {
    id: 'systolic-asic',
    name: 'Systolic-array ASIC (Gemmini-style 16x16 mesh, int8)',
    peakGflops: 512,
    efficiency: 0.8,
    memoryGBps: 16,
    kernelOverheadUs: 2,
    channelTile: 16,
    bytesPerValue: 1,
    source: 'Gemmini default configuration (Genc et al., DAC 2021): a 16x16 systolic mesh at 1 GHz = 512 GOP/s int8, channels mapped onto the 16-wide array; the 16 GB/s DRAM bandwidth, 80% utilisation and 2 us per layer are this project\'s assumptions',
  },
];

/** One convolution or matrix product: positions x (inChannels -> outChannels) with a kernel of k elements. */
export interface DenseOp {
  readonly positions: number;
  /** Positions the input is read at (differs from `positions` for strided convs). */
  readonly inputPositions: number;
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelElements: number;
}

/** Estimated latency of one dense op on a profile, in ms. */
export function denseOpMs(op: DenseOp, profile: AnalyticProfile): number {
  const tile = (c: number): number => Math.ceil(c / profile.channelTile) * profile.channelTile;
  const flops = 2 * op.positions * tile(op.inChannels) * tile(op.outChannels) * op.kernelElements;
  const values = op.inputPositions * op.inChannels + op.inChannels * op.outChannels * op.kernelElements + op.positions * op.outChannels;
  const computeMs = flops / (profile.peakGflops * profile.efficiency * 1e6);
  const memoryMs = (values * profile.bytesPerValue) / (profile.memoryGBps * 1e6);
  return Math.max(computeMs, memoryMs) + profile.kernelOverheadUs / 1000;
}

/** The dense ops of a layer, original (rank undefined) or factorized at rank r. */
export function denseOpsOf(shape: LowRankShape, rank?: number): DenseOp[] {
  if (shape.kind === 'svd') {
    const op = (inC: number, outC: number): DenseOp => ({ positions: shape.rows, inputPositions: shape.rows, inChannels: inC, outChannels: outC, kernelElements: 1 });
    return rank === undefined ? [op(shape.inFeatures, shape.outFeatures)] : [op(shape.inFeatures, rank), op(rank, shape.outFeatures)];
  }
  const { inputPositions: pin, outputPositions: pout, inChannels: ci, outChannels: co, kernelElements: k } = shape;
  if (rank === undefined) return [{ positions: pout, inputPositions: pin, inChannels: ci, outChannels: co, kernelElements: k }];
  const { rankIn, rankOut } = tuckerRanks(shape, rank);
  return [
    { positions: pin, inputPositions: pin, inChannels: ci, outChannels: rankIn, kernelElements: 1 },
    { positions: pout, inputPositions: pin, inChannels: rankIn, outChannels: rankOut, kernelElements: k },
    { positions: pout, inputPositions: pout, inChannels: rankOut, outChannels: co, kernelElements: 1 },
  ];
}

/** Estimated latency of a layer (original, or at rank r) on a profile, in ms. */
export function estimateLayerMs(shape: LowRankShape, profile: AnalyticProfile, rank?: number): number {
  return denseOpsOf(shape, rank).reduce((sum, op) => sum + denseOpMs(op, profile), 0);
}

/** The profile with this id, or undefined. */
export function findProfile(id: string): AnalyticProfile | undefined {
  return analyticProfiles.find((p) => p.id === id);
}

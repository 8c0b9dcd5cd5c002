// What makes latency measurements comparable: the processor, the runtime and the run settings. A
// table measured under one fingerprint is reused only under the same one.
import { createHash } from 'node:crypto';
import * as os from 'node:os';

/** Execution providers a table can be measured with. */
export type ExecutionProvider = 'cpu' | 'cuda';

/** The identity of a measuring setup. */
export interface DeviceFingerprint {
  readonly cpuModel: string;
  readonly cores: number;
  readonly platform: string;
  readonly onnxruntimeVersion: string;
  readonly provider: ExecutionProvider;
  /** Intra-op threads of every timed session. */
  readonly threads: number;
  readonly batch: number;
}

/** The fingerprint of this machine for the given run settings. */
export function localFingerprint(provider: ExecutionProvider, threads: number, batch: number): DeviceFingerprint {
  const cpus = os.cpus();
  return {
    cpuModel: (cpus[0]?.model ?? 'unknown').trim().replace(/\s+/g, ' '),
    cores: cpus.length,
    platform: `${process.platform}-${process.arch}`,
    onnxruntimeVersion: onnxruntimeVersion(),
    provider,
    threads,
    batch,
  };
}

/** A short stable key of a fingerprint (file names, cache look-ups). */
export function fingerprintKey(fingerprint: DeviceFingerprint): string {
  const canonical = JSON.stringify(fingerprint, Object.keys(fingerprint).sort());
  return createHash('sha256').update(canonical).digest('hex').slice(0, 16);
}

/** The installed onnxruntime-node version. */
export function onnxruntimeVersion(): string {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require('onnxruntime-node/package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

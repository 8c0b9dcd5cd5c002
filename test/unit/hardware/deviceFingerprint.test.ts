// The device fingerprint that keys the latency cache: every field the issue names is present and
// describes this machine and the run settings; the key is stable for equal fingerprints (whatever the
// field order) and changes when any single field changes.
import * as assert from 'node:assert/strict';
import * as os from 'node:os';
import { describeFingerprint } from '../../../engine/hardware/buildLatencyTable';
import { fingerprintKey, localFingerprint, onnxruntimeVersion, type DeviceFingerprint } from '../../../engine/hardware/deviceFingerprint';

const fields = ['batch', 'cores', 'cpuModel', 'onnxruntimeVersion', 'platform', 'provider', 'threads'];

describe('device fingerprint', function () {
  it('has every field: CPU model, cores, platform, onnxruntime version, provider, threads, batch', function () {
    const fingerprint = localFingerprint('cpu', 3, 16);
    assert.deepEqual(Object.keys(fingerprint).sort(), fields);
    assert.equal(typeof fingerprint.cpuModel, 'string');
    assert.ok(fingerprint.cpuModel.length > 0);
    assert.doesNotMatch(fingerprint.cpuModel, /^\s|\s$|\s{2}/, 'the CPU model is trimmed and its spaces collapsed');
    assert.equal(fingerprint.cores, os.cpus().length);
    assert.equal(fingerprint.platform, `${process.platform}-${process.arch}`);
    assert.equal(fingerprint.provider, 'cpu');
    assert.equal(fingerprint.threads, 3);
    assert.equal(fingerprint.batch, 16);
  });

  it('records the installed onnxruntime-node version', function () {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const installed = (require('onnxruntime-node/package.json') as { version: string }).version;
    assert.equal(onnxruntimeVersion(), installed);
    assert.equal(localFingerprint('cpu', 1, 1).onnxruntimeVersion, installed);
    assert.match(installed, /^\d+\.\d+\.\d+/);
  });

  it('the key is 16 hex digits and stable: equal fingerprints (any field order) give equal keys', function () {
    const a = localFingerprint('cpu', 2, 1);
    const b = localFingerprint('cpu', 2, 1);
    const reordered = Object.fromEntries(Object.entries(a).reverse()) as unknown as DeviceFingerprint;
    assert.match(fingerprintKey(a), /^[0-9a-f]{16}$/);
    assert.equal(fingerprintKey(a), fingerprintKey(b));
    assert.equal(fingerprintKey(a), fingerprintKey(reordered));
    assert.equal(fingerprintKey(a), fingerprintKey(JSON.parse(JSON.stringify(a)) as DeviceFingerprint), 'a fingerprint read back from a table file gives the same key');
  });

  it('the key changes when any single field changes', function () {
    const base = localFingerprint('cpu', 2, 1);
    const changes: Readonly<Record<keyof DeviceFingerprint, DeviceFingerprint[keyof DeviceFingerprint]>> = {
      cpuModel: `${base.cpuModel} (other)`,
      cores: base.cores + 1,
      platform: 'win32-arm64',
      onnxruntimeVersion: '0.0.1',
      provider: 'cuda',
      threads: 4,
      batch: 32,
    };
    const keys = new Set([fingerprintKey(base)]);
    for (const [field, value] of Object.entries(changes)) {
      const changed = { ...base, [field]: value } as DeviceFingerprint;
      const key = fingerprintKey(changed);
      assert.notEqual(key, fingerprintKey(base), `changing ${field} must change the key`);
      keys.add(key);
    }
    assert.equal(keys.size, fields.length + 1, 'every change gives its own key');
  });

  it('the run settings are taken as given (provider cuda, threads, batch)', function () {
    const fingerprint = localFingerprint('cuda', 8, 32);
    assert.equal(fingerprint.provider, 'cuda');
    assert.equal(fingerprint.threads, 8);
    assert.equal(fingerprint.batch, 32);
    assert.notEqual(fingerprintKey(fingerprint), fingerprintKey(localFingerprint('cpu', 8, 32)));
  });

  it('describeFingerprint names every field in words', function () {
    const fingerprint = localFingerprint('cpu', 2, 4);
    const text = describeFingerprint(fingerprint);
    for (const part of [fingerprint.cpuModel, `${fingerprint.cores} cores`, fingerprint.onnxruntimeVersion, 'cpu', '2 threads', 'batch 4']) assert.ok(text.includes(part), `'${text}' lacks '${part}'`);
  });
});

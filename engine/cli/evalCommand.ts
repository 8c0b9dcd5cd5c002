// `haloc eval <model.onnx> --data <folder|tar|npz> [preprocessing] [--json]`: top-1 / top-5 in onnxruntime-node.
import { evaluateAccuracy } from '../evaluate/accuracy';
import { UsageError, type CliCommand } from './cliArgs';
import { loadDataFromFlags, preprocessingOptions, preprocessingUsage } from './dataArgs';

/** The eval command. */
export const evalCommand: CliCommand = {
  name: 'eval',
  usage: `haloc eval <model.onnx> --data <folder|tar|npy|npz> ${preprocessingUsage} [--json]`,
  summary: 'measure top-1 / top-5 accuracy of a classifier on labelled images (onnxruntime-node)',
  options: { data: { type: 'string' }, json: { type: 'boolean' }, ...preprocessingOptions },
  async run({ positionals, values, print }) {
    const file = positionals[0];
    if (!file || positionals.length > 1) throw new UsageError('eval takes exactly one model file');
    if (typeof values.data !== 'string') throw new UsageError('eval needs --data <folder|tar|npy|npz>');
    const { dataset } = loadDataFromFlags(values.data, values, values.json === true ? undefined : (line) => process.stderr.write(`${line}\n`));
    const started = performance.now();
    const accuracy = await evaluateAccuracy(file, dataset);
    const seconds = (performance.now() - started) / 1000;
    if (values.json === true) {
      print(JSON.stringify({ model: file, data: values.data, ...accuracy, seconds }, null, 2));
      return;
    }
    print(`${file} on ${values.data}: top-1 ${(100 * accuracy.top1).toFixed(2)}%, top-5 ${(100 * accuracy.top5).toFixed(2)}% (${accuracy.images} images, measured in onnxruntime-node in ${seconds.toFixed(1)} s)`);
  },
};

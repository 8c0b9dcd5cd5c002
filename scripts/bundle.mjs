// Bundles the extension host code, the engine worker, the CLI and the webview with esbuild.
// Type-checking is `tsc -b`; this only bundles. Native modules stay external and ship in node_modules.
import * as esbuild from 'esbuild';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const production = process.argv.includes('--production');
const common = {
  bundle: true,
  sourcemap: !production,
  minify: production,
  logLevel: 'warning',
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: ['vscode', 'onnxruntime-node', '@tensorflow/tfjs-node', '@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm'],
};

const entries = [
  // jsonc-parser's UMD main requires its parts at run time, which a bundle cannot follow: take its ES module build
  // The hover charts' ECharts is its own file, required on the first hover (layerChart.ts): activation
  // then neither parses nor loads it.
  { entryPoints: ['extension/extension.ts'], outfile: 'dist/extension.js', mainFields: ['module', 'main'], external: [...common.external, './echartsLine'] },
  { entryPoints: ['language/echartsLine.ts'], outfile: 'dist/echartsLine.js' },
  { entryPoints: ['engine/worker/workerMain.ts'], outfile: 'dist/worker.js' },
  { entryPoints: ['engine/cli/main.ts'], outfile: 'dist/cli.js' },
  { entryPoints: ['engine/linalg/eigenWorker.ts'], outfile: 'dist/eigenWorker.js' },
];
if (existsSync('webview/main.ts')) {
  entries.push({ entryPoints: ['webview/main.ts'], outfile: 'dist/webview.js', platform: 'browser', format: 'iife', target: 'es2022' });
}
await Promise.all(entries.filter((e) => existsSync(e.entryPoints[0])).map((e) => esbuild.build({ ...common, ...e })));

// The plan-file schema, from its TypeScript source (compiled by `tsc -b` before this script runs).
const { rankPlanSchema } = createRequire(import.meta.url)('../out/engine/factorize/rankPlanSchema.js');
mkdirSync('dist', { recursive: true });
writeFileSync('dist/ranks.schema.json', `${JSON.stringify(rankPlanSchema, null, 2)}\n`);

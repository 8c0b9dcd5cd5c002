#!/usr/bin/env node
// The `haloc` command: runs the bundled CLI (dist/cli.js, built by `npm run build`, which `npm install` runs).
const { runCli } = require('../dist/cli.js');
runCli(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});

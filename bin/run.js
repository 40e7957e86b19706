#!/usr/bin/env node
'use strict';
const { existsSync } = require('node:fs');
const { join } = require('node:path');

if (!existsSync(join(__dirname, '..', 'dist', 'cli', 'rake.js'))) {
  process.stderr.write('scalelite is not built yet: run `npm run build` (or `npm start`) first.\n');
  process.exit(1);
}
const { execute } = require('@oclif/core');
const { rakeArgs } = require('../dist/cli/rake.js');

execute({ dir: __dirname, args: rakeArgs(process.argv.slice(2)) }).catch((err) => {
  process.stderr.write(`${err && err.message ? err.message : String(err)}\n`);
  process.exit(1);
});

#!/usr/bin/env node
'use strict';
// Writes oclif.manifest.json after the build. Without it oclif requires every
// command file (and so the whole runtime: kafkajs, pg, PGlite, express…) on each
// call just to list the command ids; with it, only the command run is loaded.
const { writeFileSync } = require('node:fs');
const { join } = require('node:path');
const { Plugin } = require('@oclif/core');

const root = join(__dirname, '..');
(async () => {
  const plugin = new Plugin({ root, type: 'core', ignoreManifest: true, errorOnManifestCreate: true });
  await plugin.load();
  writeFileSync(join(root, 'oclif.manifest.json'), `${JSON.stringify(plugin.manifest)}\n`);
})().catch((err) => {
  process.stderr.write(`could not write the CLI manifest: ${err && err.stack ? err.stack : String(err)}\n`);
  process.exit(1);
});

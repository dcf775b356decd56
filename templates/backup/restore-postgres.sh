#!/usr/bin/env bash
# Restore a dump written by backup-postgres.sh into a database, or (with --test) prove that the
# newest dump of a job restores: restore it into a scratch database, check that it holds every
# table of the dump with the rows the dump holds for it, drop the scratch database, and record
# the result for node-exporter's textfile collector. Connection settings come from libpq's
# environment (PGHOST, PGPORT, PGUSER, PGPASSWORD or PGPASSFILE).
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: restore-postgres.sh --into DATABASE [options] DUMP
       restore-postgres.sh --test --job NAME [options]

  --into DATABASE    restore DUMP into this database (created when missing)
  --test             restore the newest dump of --job into a scratch database, check it
                     holds what the dump holds, then drop the scratch database
  --job NAME         the backup job (with --test)
  --service NAME     the service label of the metrics (default: the job name)
  --dest DIR         where the job's dumps are (default: $BACKUP_DIR or /backups)
  --identity FILE    age identity for encrypted dumps
  --textfile-dir DIR write metrics for node-exporter here (default: $TEXTFILE_DIR; none if unset)
  --help             show this help
USAGE
}

into="" test_mode=0 job="" service="" identity="" file=""
dest="${BACKUP_DIR:-/backups}"
textfile_dir="${TEXTFILE_DIR:-}"
while (($#)); do
  case "$1" in
    --into) into="${2:?--into needs a value}"; shift 2 ;;
    --test) test_mode=1; shift ;;
    --job) job="${2:?--job needs a value}"; shift 2 ;;
    --service) service="${2:?--service needs a value}"; shift 2 ;;
    --dest) dest="${2:?--dest needs a value}"; shift 2 ;;
    --identity) identity="${2:?--identity needs a value}"; shift 2 ;;
    --textfile-dir) textfile_dir="${2:?--textfile-dir needs a value}"; shift 2 ;;
    --help | -h) usage; exit 0 ;;
    -*) echo "restore-postgres.sh: unknown option: $1" >&2; usage >&2; exit 2 ;;
    *) file="$1"; shift ;;
  esac
done

# Database names reach SQL only as quoted identifiers, and only names sightline chose or the
# user gave on the command line.
quote_ident() { local s="${1//\"/\"\"}"; printf '"%s"' "$s"; }
psql_q() { psql --no-password --quiet --no-align --tuples-only --set ON_ERROR_STOP=1 "$@"; }

# The dump in pg_dump's custom format, decrypted and decompressed, on stdout.
plain_dump() { # dump
  local dump="$1"
  {
    if [[ $dump == *.age ]]; then
      [[ -n $identity ]] || { echo "restore-postgres.sh: $dump is encrypted: pass --identity" >&2; return 1; }
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

restore_into() { # dump database
  local dump="$1" db="$2"
  local exists
  exists=$(psql_q --dbname=postgres --set db="$db" <<<"SELECT 1 FROM pg_database WHERE datname = :'db';")
  if [[ -z $exists ]]; then
    psql_q --dbname=postgres --command "CREATE DATABASE $(quote_ident "$db")"
  fi
  plain_dump "$dump" | pg_restore --no-password --no-owner --no-privileges --exit-on-error --dbname="$db"
}

if ((!test_mode)); then
  [[ -n $into && -n $file ]] || { usage >&2; exit 2; }
  restore_into "$file" "$into"
  echo "restore-postgres.sh: restored $file into $into"
  exit 0
fi

[[ $job =~ ^[a-z][a-z0-9_-]{0,62}$ ]] || { echo "restore-postgres.sh: --job must match [a-z][a-z0-9_-]*" >&2; exit 2; }
[[ -z $service ]] && service="$job"
[[ $service =~ ^[a-z][a-z0-9_-]{0,62}$ ]] || { echo "restore-postgres.sh: --service must match [a-z][a-z0-9_-]*" >&2; exit 2; }
newest=$(find "$dest/$job" -maxdepth 1 -type f -name "$job-*.dump*" ! -name '*.sha256' -printf '%f\n' 2>/dev/null | sort -r | head -n 1)
scratch="sightline_restore_test_$$"

write_metrics() { # result
  [[ -n $textfile_dir ]] || return 0
  local prom="$textfile_dir/sightline_restore_test_$job.prom" now kept labels="{backup_job=\"$job\",service=\"$service\"}"
  local success_help="When the restore test of the job last succeeded."
  now=$(date +%s)
  mkdir -p "$textfile_dir"
  # gauge NAME HELP VALUE: one metric with its HELP and TYPE lines (node-exporter drops a file
  # with a metric that lacks them).
  gauge() { printf '# HELP %s %s\n# TYPE %s gauge\n%s%s %s\n' "$1" "$2" "$1" "$1" "$labels" "$3"; }
  {
    gauge sightline_restore_test_last_result "1 if the last restore test of the job succeeded, 0 if not." "$1"
    if [[ $1 == 1 ]]; then
      gauge sightline_restore_test_last_success_timestamp_seconds "$success_help" "$now"
    elif [[ -f $prom ]]; then
      kept=$(sed -n 's/^sightline_restore_test_last_success_timestamp_seconds{.*} //p' "$prom")
      if [[ -n $kept ]]; then gauge sightline_restore_test_last_success_timestamp_seconds "$success_help" "$kept"; fi
    fi
  } >"$prom.$$.tmp"
  # node-exporter reads the file as another user: readable whatever the runner's umask.
  chmod 0644 "$prom.$$.tmp"
  mv -f "$prom.$$.tmp" "$prom"
}

cleanup() { psql_q --dbname=postgres --command "DROP DATABASE IF EXISTS $(quote_ident "$scratch")" >/dev/null 2>&1 || true; }
fail() {
  cleanup
  write_metrics 0
  echo "restore-postgres.sh: restore test of $job failed: $1" >&2
  exit 1
}
trap 'fail "unexpected error on line $LINENO"' ERR

[[ -n $newest ]] || fail "no dump of job $job in $dest/$job"
restore_into "$dest/$job/$newest" "$scratch" || fail "$newest does not restore"

# The restore holds what the dump holds: the same tables, each with as many rows as the dump's
# COPY section for it. (Not the live database: it has moved on since the dump was taken.)
in_dump() { # dump → "table rows" lines
  plain_dump "$1" | pg_restore --data-only --file=- | awk '
    /^COPY / { t = substr($0, 6); sub(/ \(.*$/, "", t); n = 0; copying = 1; next }
    copying && $0 == "\\." { print t, n; copying = 0; next }
    copying { n++ }' | LC_ALL=C sort
}
in_restore() { # database → "table rows" lines
  local t
  psql_q --dbname="$1" <<'SQL' | while IFS= read -r t; do printf '%s %s\n' "$t" "$(psql_q --dbname="$1" --command "SELECT count(*) FROM $t")"; done | LC_ALL=C sort
SELECT format('%I.%I', n.nspname, c.relname)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%';
SQL
}
expected=$(in_dump "$dest/$job/$newest") || fail "$newest cannot be read"
actual=$(in_restore "$scratch")
if [[ $expected != "$actual" ]]; then
  diff_line=$(diff <(printf '%s\n' "$expected") <(printf '%s\n' "$actual") | grep -m1 '^[<>]' || true)
  fail "the restore differs from what $newest holds (< dump, > restored: $diff_line)"
fi
tables=$(printf '%s' "$expected" | grep -c '' || true)

trap - ERR
cleanup
write_metrics 1
echo "restore-postgres.sh: $newest restores: $tables tables, each with the rows the dump holds"

#!/usr/bin/env bash
# Restore a dump written by backup-postgres.sh into a database, or (with --test) prove that the
# newest dump of a job restores: restore it into a scratch database, compare the number of
# tables and every table's row count with the source, drop the scratch database, and record
# the result for node-exporter's textfile collector. Connection settings come from libpq's
# environment (PGHOST, PGPORT, PGUSER, PGPASSWORD or PGPASSFILE, PGDATABASE).
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: restore-postgres.sh --into DATABASE [options] DUMP
       restore-postgres.sh --test --job NAME [options]

  --into DATABASE    restore DUMP into this database (created when missing)
  --test             restore the newest dump of --job into a scratch database, compare it
                     with PGDATABASE, then drop the scratch database
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

restore_into() { # dump database
  local dump="$1" db="$2"
  local exists
  exists=$(psql_q --dbname=postgres --set db="$db" <<<"SELECT 1 FROM pg_database WHERE datname = :'db';")
  if [[ -z $exists ]]; then
    psql_q --dbname=postgres --command "CREATE DATABASE $(quote_ident "$db")"
  fi
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
  esac | pg_restore --no-password --no-owner --no-privileges --exit-on-error --dbname="$db"
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
source_db="${PGDATABASE:?set PGDATABASE to the database the dumps come from}"
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

# The same tables, with the same number of rows in each.
counts() { # database
  psql_q --dbname="$1" <<'SQL'
SELECT format('%I.%I', n.nspname, c.relname)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
ORDER BY 1;
SQL
}
mapfile -t tables < <(counts "$source_db")
mapfile -t restored < <(counts "$scratch")
[[ "${tables[*]}" == "${restored[*]}" ]] || fail "the restored database has other tables than $source_db (${#restored[@]} vs ${#tables[@]})"
for t in "${tables[@]}"; do
  a=$(psql_q --dbname="$source_db" --command "SELECT count(*) FROM $t")
  b=$(psql_q --dbname="$scratch" --command "SELECT count(*) FROM $t")
  [[ $a == "$b" ]] || fail "table $t has $b rows restored, $a in $source_db"
done

trap - ERR
cleanup
write_metrics 1
echo "restore-postgres.sh: $newest restores: ${#tables[@]} tables, row counts equal"

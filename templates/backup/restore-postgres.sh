#!/usr/bin/env bash
# Restore a dump written by backup-postgres.sh into a database, or (with --test) prove that the
# newest dump of a job restores (restore-common.sh). Connection settings come from libpq's
# environment (PGHOST, PGPORT, PGUSER, PGPASSWORD or PGPASSFILE).
set -euo pipefail

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
  plain_dump "$dump" | pg_restore --no-password --no-owner --no-privileges --exit-on-error --dbname="$db"
}

drop_database() { psql_q --dbname=postgres --command "DROP DATABASE IF EXISTS $(quote_ident "$1")"; }

# The tables of the dump, each with the rows of its COPY section.
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

# shellcheck source-path=SCRIPTDIR source=restore-common.sh
source "$(dirname "${BASH_SOURCE[0]}")/restore-common.sh"
restore_main restore-postgres.sh dump "Connection settings come from libpq's environment (PGHOST, PGPORT, PGUSER, PGPASSWORD or
PGPASSFILE)." "$@"

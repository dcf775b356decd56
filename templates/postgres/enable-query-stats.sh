#!/bin/sh
# Create the pg_stat_statements extension in the database postgres_exporter reads, so that its
# stat_statements collector has a view to read. compose.yaml runs this in the service's
# `<service>-query-stats` job on every `up`, once the server is healthy: a new data directory
# and an existing one get the same treatment, and a second run changes nothing. CREATE
# EXTENSION needs a superuser (the official image's POSTGRES_USER is one).
#
# The exporter waits for this job to complete, so it always exits 0: a stack whose database
# cannot take the extension still gets its monitoring, and the service dashboard's "Query
# statistics" panel shows what is missing. A server that does not answer yet is retried
# (QUERY_STATS_ATTEMPTS, default 30, two seconds apart); an error from the server is not.
#
# Connection settings come from libpq's environment (PGHOST, PGPORT, PGUSER, PGDATABASE), the
# password from PGPASSWORD or from the file PGPASSWORD_FILE names.
set -eu

give_up() {
  echo "enable-query-stats: $1; postgres_exporter starts without query statistics" >&2
  exit 0
}

if [ -z "${PGPASSWORD:-}" ] && [ -n "${PGPASSWORD_FILE:-}" ]; then
  PGPASSWORD="$(cat "$PGPASSWORD_FILE")" || give_up "cannot read the password file $PGPASSWORD_FILE"
  export PGPASSWORD
fi

attempts="${QUERY_STATS_ATTEMPTS:-30}"
attempt=1
while :; do
  status=0
  psql --no-psqlrc --no-password --quiet -v ON_ERROR_STOP=1 \
    -c 'SET client_min_messages TO warning' \
    -c 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements' || status=$?
  case "$status" in
    0)
      echo "pg_stat_statements is installed in database ${PGDATABASE:-?} on ${PGHOST:-?}"
      exit 0
      ;;
    2)
      # psql could not connect: the server may still be finishing its first start.
      [ "$attempt" -lt "$attempts" ] || give_up "the server did not answer after $attempts attempts"
      attempt=$((attempt + 1))
      sleep 2
      ;;
    *)
      give_up "the server refused CREATE EXTENSION (psql exit $status; it needs a superuser)"
      ;;
  esac
done

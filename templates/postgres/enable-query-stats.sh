#!/bin/sh
# Create the pg_stat_statements extension in the database postgres_exporter reads, so that its
# stat_statements collector has a view to read. compose.yaml runs this in the service's
# `<service>-query-stats` job on every `up`, once the server is healthy: a new data directory
# and an existing one get the same treatment, and a second run changes nothing. CREATE
# EXTENSION needs a superuser (the official image's POSTGRES_USER is one).
#
# Connection settings come from libpq's environment (PGHOST, PGPORT, PGUSER, PGDATABASE), the
# password from PGPASSWORD or from the file PGPASSWORD_FILE names.
set -eu

if [ -z "${PGPASSWORD:-}" ] && [ -n "${PGPASSWORD_FILE:-}" ]; then
  PGPASSWORD="$(cat "$PGPASSWORD_FILE")"
  export PGPASSWORD
fi
psql --no-psqlrc --no-password --quiet -v ON_ERROR_STOP=1 \
  -c 'SET client_min_messages TO warning' \
  -c 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements'
echo "pg_stat_statements is installed in database ${PGDATABASE:-?} on ${PGHOST:-?}"

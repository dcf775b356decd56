#!/usr/bin/env bash
# Dump one PostgreSQL database for one backup job: compress, verify, optionally encrypt, write
# a sha256 beside the dump, rotate the job's old dumps, and record the result for
# node-exporter's textfile collector (backup-common.sh). Connection settings come from libpq's
# environment (PGHOST, PGPORT, PGUSER, PGPASSWORD or PGPASSFILE, PGDATABASE), so it runs in the
# backup container and on any host with the PostgreSQL client.
set -euo pipefail

db_usage="The database is PGDATABASE. Dumps are pg_dump's custom format, so pg_restore reads them."
check_settings() { : "${PGDATABASE:?set PGDATABASE to the database to dump}"; }
dump_database() { pg_dump --format=custom --compress=0 --no-password; }

# shellcheck source-path=SCRIPTDIR source=backup-common.sh
source "$(dirname "${BASH_SOURCE[0]}")/backup-common.sh"
backup_main backup-postgres.sh dump "$db_usage" "$@"

#!/usr/bin/env bash
# Dump one MySQL or MariaDB database for one backup job with mariadb-dump: one consistent
# snapshot of its InnoDB tables (--single-transaction, no lock held), its routines, events and
# triggers; then compress, verify, optionally encrypt, write a sha256 beside the dump, rotate the
# job's old dumps, and record the result for node-exporter's textfile collector
# (backup-common.sh). Connection settings come from the environment: MYSQL_HOST, MYSQL_TCP_PORT,
# MYSQL_USER, MYSQL_DATABASE and MYSQL_PASSWORD_FILE (the file holding the password, read into
# MYSQL_PWD for the client only, off its command line).
set -euo pipefail

db_usage="The database is MYSQL_DATABASE, on MYSQL_HOST:MYSQL_TCP_PORT as MYSQL_USER. Dumps are SQL
that the mariadb client replays into an empty database (MySQL's own client refuses the
sandbox-mode line MariaDB's dumps open with); the last line of a complete one is
mariadb-dump's \`-- Dump completed\`."
check_settings() {
  : "${MYSQL_DATABASE:?set MYSQL_DATABASE to the database to dump}"
  : "${MYSQL_HOST:?set MYSQL_HOST}" "${MYSQL_TCP_PORT:?set MYSQL_TCP_PORT}" "${MYSQL_USER:?set MYSQL_USER}"
  : "${MYSQL_PASSWORD_FILE:?set MYSQL_PASSWORD_FILE to the file holding the password}"
}
# Without a database name in the dump (no --databases): it restores into any database.
# --no-tablespaces: the tablespaces need the PROCESS privilege, which an application's user
# rarely has; --hex-blob keeps binary columns intact whatever the client's character set.
dump_database() {
  MYSQL_PWD=$(cat -- "$MYSQL_PASSWORD_FILE") mariadb-dump --no-defaults --protocol=tcp \
    --host="$MYSQL_HOST" --port="$MYSQL_TCP_PORT" --user="$MYSQL_USER" --default-character-set=utf8mb4 \
    --single-transaction --routines --events --triggers --hex-blob --no-tablespaces \
    -- "$MYSQL_DATABASE"
}

# shellcheck source-path=SCRIPTDIR source=backup-common.sh
source "$(dirname "${BASH_SOURCE[0]}")/backup-common.sh"
backup_main backup-mysql.sh sql "$db_usage" "$@"

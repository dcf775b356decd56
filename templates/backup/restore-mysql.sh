#!/usr/bin/env bash
# Restore a dump written by backup-mysql.sh into a database, or (with --test) prove that the
# newest dump of a job restores (restore-common.sh). Connection settings come from the
# environment: MYSQL_HOST, MYSQL_TCP_PORT, MYSQL_USER and MYSQL_PASSWORD_FILE (read into
# MYSQL_PWD for the client only). The test's scratch database is `sightline_restore_test_<pid>_<time>_<n>`:
# the user needs the right to create and drop it (root has it; for another user,
# GRANT ALL ON `sightline\_restore\_test\_%`.* TO the user).
set -euo pipefail

# Database and table names reach SQL only as quoted identifiers (backticks are MySQL's quotes).
# shellcheck disable=SC2016
quote_ident() { local s="${1//\`/\`\`}"; printf '`%s`' "$s"; }
# utf8mb4 whatever the locale: names are read back as the dump wrote them.
mysql_q() {
  : "${MYSQL_HOST:?set MYSQL_HOST}" "${MYSQL_TCP_PORT:?set MYSQL_TCP_PORT}" "${MYSQL_USER:?set MYSQL_USER}"
  : "${MYSQL_PASSWORD_FILE:?set MYSQL_PASSWORD_FILE to the file holding the password}"
  MYSQL_PWD=$(cat -- "$MYSQL_PASSWORD_FILE") mariadb --no-defaults --protocol=tcp \
    --host="$MYSQL_HOST" --port="$MYSQL_TCP_PORT" --user="$MYSQL_USER" --default-character-set=utf8mb4 \
    --batch --skip-column-names "$@"
}

restore_into() { # dump database
  local dump="$1" db="$2"
  mysql_q --execute "CREATE DATABASE IF NOT EXISTS $(quote_ident "$db")"
  plain_dump "$dump" | mysql_q --database="$db"
}

drop_database() { mysql_q --execute "DROP DATABASE IF EXISTS $(quote_ident "$1")"; }

# The tables of the dump (its CREATE TABLE statements), each with the rows of its INSERT
# statements: many rows to a statement, on one line (mysqldump) or one row to a line after an
# `INSERT INTO `t` VALUES` line (mariadb-dump 10.11), so the rows are the statement's
# parentheses once its string literals are taken out (both escape with a backslash, newlines
# too, and write binary as 0x…: no parenthesis is left but the rows'), up to the `;` that ends
# it. The bodies of triggers, routines and events (between `DELIMITER ;;` and `DELIMITER ;`)
# are statements of their own, not rows.
in_dump() { # dump → "table rows" lines
  plain_dump "$1" | awk '
    # The name of a quoted identifier at the start of s (a doubled backtick is one); the rest
    # of s after it in `rest`.
    function ident(s,    name, k, c) {
      name = ""
      for (k = 1; k <= length(s); k++) {
        c = substr(s, k, 1)
        if (c == "`") {
          if (substr(s, k + 1, 1) != "`") break
          k++
        }
        name = name c
      }
      rest = substr(s, k + 1)
      return name
    }
    function rows(s) {
      gsub(/\047([^\047\\]|\\.)*\047/, "", s)
      n[t] += gsub(/\(/, "", s)
      if (s ~ /;[ \t\r]*$/) inserting = 0
    }
    $0 == "DELIMITER ;;" { body = 1; next }
    $0 == "DELIMITER ;" { body = 0; next }
    body { next }
    inserting { rows($0); next }
    /^CREATE TABLE `/ { t = ident(substr($0, 15)); n[t] += 0; next }
    /^INSERT INTO `/ {
      t = ident(substr($0, 14))
      inserting = 1
      rows(substr(rest, index(rest, " VALUES") + 7))
    }
    END { for (t in n) print t, n[t] }' | LC_ALL=C sort
}
in_restore() { # database → "table rows" lines
  local t
  mysql_q --database="$1" --execute "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type IN ('BASE TABLE', 'SYSTEM VERSIONED')" |
    while IFS= read -r t; do printf '%s %s\n' "$t" "$(mysql_q --database="$1" --execute "SELECT COUNT(*) FROM $(quote_ident "$t")")"; done | LC_ALL=C sort
}

# shellcheck source-path=SCRIPTDIR source=restore-common.sh
source "$(dirname "${BASH_SOURCE[0]}")/restore-common.sh"
restore_main restore-mysql.sh sql "Connection settings come from the environment: MYSQL_HOST, MYSQL_TCP_PORT, MYSQL_USER and
MYSQL_PASSWORD_FILE. The test's scratch database is sightline_restore_test_<pid>_<time>_<n>: the user
needs the right to create and drop it." "$@"

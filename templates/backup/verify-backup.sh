#!/usr/bin/env bash
# Verify a dump written by backup-postgres.sh or backup-mysql.sh: its sha256 (when the .sha256
# file is beside it), that it decompresses (and decrypts, given an age identity), that it is
# whole (pg_restore reads every block of a `.dump`; a `.sql` dump starts with mariadb-dump's or
# mysqldump's header and ends with its `-- Dump completed` line, which it writes last), and
# that it is not suspiciously small.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: verify-backup.sh [options] DUMP

  --identity FILE   age identity to decrypt an encrypted (.age) dump
  --min-size BYTES  fail when the dump is smaller (default 100)
  --quiet           print only failures
  --help            show this help

Exit status 0 when the dump is good, 1 when it is not.
USAGE
}

identity="" min_size=100 quiet=0 file=""
while (($#)); do
  case "$1" in
    --identity) identity="${2:?--identity needs a value}"; shift 2 ;;
    --min-size) min_size="${2:?--min-size needs a value}"; shift 2 ;;
    --quiet) quiet=1; shift ;;
    --help | -h) usage; exit 0 ;;
    --) shift; file="${1:-}"; break ;;
    -*) echo "verify-backup.sh: unknown option: $1" >&2; usage >&2; exit 2 ;;
    *) file="$1"; shift ;;
  esac
done
[[ -n $file ]] || { usage >&2; exit 2; }
[[ $min_size =~ ^[0-9]+$ ]] || { echo "verify-backup.sh: --min-size must be a number" >&2; exit 2; }

bad() { echo "verify-backup.sh: $file: $1" >&2; exit 1; }
[[ -f $file ]] || bad "no such file"
size=$(wc -c <"$file")
((size >= min_size)) || bad "only $size bytes"

if [[ -f "$file.sha256" ]]; then
  (cd "$(dirname "$file")" && sha256sum --quiet --check -- "$(basename "$file").sha256") >/dev/null 2>&1 || bad "sha256 does not match"
fi

name="$file"
decrypt() {
  if [[ $name == *.age ]]; then
    [[ -n $identity ]] || return 10
    age --decrypt --identity "$identity" "$file"
  else
    cat -- "$file"
  fi
}
inner="${name%.age}"
decompress() {
  case "$inner" in
    *.gz) gzip -dc ;;
    *.zst) zstd -dcq ;;
    *) cat ;;
  esac
}

if [[ $name == *.age && -z $identity ]]; then
  # Without the identity only the envelope can be checked.
  head -c 64 -- "$file" | grep -q '^age-encryption.org/v1' || bad "not an age file"
  ((quiet)) || echo "verify-backup.sh: $file: encrypted; checked size and sha256 (pass --identity to check the dump)"
  exit 0
fi

# By the dump's own name (its directory may have any name).
case "$(basename -- "$inner")" in *.sql | *.sql.gz | *.sql.zst) sql=1 ;; *) sql=0 ;; esac
if ((sql)); then
  # Read the whole dump: every compression block is checked, truncation included.
  set +e
  decrypt | decompress >/dev/null 2>&1
  statuses=("${PIPESTATUS[@]}")
  set -e
  for status in "${statuses[@]}"; do
    ((status == 0)) || bad "does not decompress (corrupt or truncated)"
  done
  # MariaDB's dumps open with their sandbox-mode line (`/*M!999999\- enable the sandbox mode */`,
  # since 10.11.8), then the header.
  head=$(decrypt | decompress | head -n 3) || true
  last=$(decrypt | decompress | tail -n 1)
  grep -qE '^-- (MariaDB|MySQL) dump' <<<"$head" || bad "is not a mariadb-dump or mysqldump dump"
  [[ $last == "-- Dump completed"* ]] || bad "does not end with the dump's completion line (cut short)"
  tables=$( (decrypt | decompress | grep -c '^CREATE TABLE ') || true)
  ((quiet)) || echo "verify-backup.sh: $file: good ($size bytes, $tables tables)"
  exit 0
fi

# Read the whole dump: every compression and archive block is checked, truncation included.
set +e
decrypt | decompress | pg_restore --file=/dev/null 2>/dev/null
statuses=("${PIPESTATUS[@]}")
set -e
for status in "${statuses[@]}"; do
  ((status == 0)) || bad "does not decompress or restore (corrupt or truncated)"
done
entries=$( (decrypt | decompress | pg_restore --list 2>/dev/null || true) | grep -cv '^;' || true)
((entries > 0)) || bad "pg_restore finds nothing in it"
((quiet)) || echo "verify-backup.sh: $file: good ($size bytes, $entries entries)"

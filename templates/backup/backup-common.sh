# shellcheck shell=bash
# What backup-postgres.sh and backup-mysql.sh share, sourced by both: their options, and
# everything after the dump itself (compress, verify, optionally encrypt, a sha256 beside the
# dump, rotation of the job's old dumps, and the result for node-exporter's textfile
# collector). The sourcing script defines `check_settings` (its connection settings are there)
# and `dump_database` (the dump on stdout), and calls
# `backup_main ENGINE EXT DB_USAGE "$@"`: its name in messages, the dump's extension (`dump`,
# `sql`) and what it dumps, for --help.

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

backup_usage() {
  cat <<USAGE
Usage: $engine --job NAME --keep N [options]

  --job NAME            backup job name ([a-z][a-z0-9_-]*), used in file names and metrics
  --keep N              keep the newest N dumps of this job (older ones are deleted)
  --service NAME        the service label of the metrics (default: the job name)
  --compress KIND       gzip (default, level 9), zstd or none
  --age-recipient KEY   encrypt the dump to this age public key
  --dest DIR            where dumps go (default: \$BACKUP_DIR or /backups)
  --textfile-dir DIR    write metrics for node-exporter here (default: \$TEXTFILE_DIR; none if unset)
  --no-verify           skip the verification of the dump before it is kept
  --help                show this help

$db_usage
USAGE
}

backup_main() {
  engine="$1" ext="$2" db_usage="$3"
  shift 3
  job="" keep="" service="" compress="gzip" recipient="" verify=1
  dest="${BACKUP_DIR:-/backups}"
  textfile_dir="${TEXTFILE_DIR:-}"
  while (($#)); do
    case "$1" in
      --job) job="${2:?--job needs a value}"; shift 2 ;;
      --keep) keep="${2:?--keep needs a value}"; shift 2 ;;
      --service) service="${2:?--service needs a value}"; shift 2 ;;
      --compress) compress="${2:?--compress needs a value}"; shift 2 ;;
      --age-recipient) recipient="${2:?--age-recipient needs a value}"; shift 2 ;;
      --dest) dest="${2:?--dest needs a value}"; shift 2 ;;
      --textfile-dir) textfile_dir="${2:?--textfile-dir needs a value}"; shift 2 ;;
      --no-verify) verify=0; shift ;;
      --help | -h) backup_usage; exit 0 ;;
      *) echo "$engine: unknown argument: $1" >&2; backup_usage >&2; exit 2 ;;
    esac
  done

  [[ $job =~ ^[a-z][a-z0-9_-]{0,62}$ ]] || { echo "$engine: --job must match [a-z][a-z0-9_-]*" >&2; exit 2; }
  [[ $keep =~ ^[1-9][0-9]*$ ]] || { echo "$engine: --keep must be a positive integer" >&2; exit 2; }
  [[ -z $service ]] && service="$job"
  [[ $service =~ ^[a-z][a-z0-9_-]{0,62}$ ]] || { echo "$engine: --service must match [a-z][a-z0-9_-]*" >&2; exit 2; }
  case "$compress" in gzip) zext=".gz" ;; zstd) zext=".zst" ;; none) zext="" ;; *) echo "$engine: --compress must be gzip, zstd or none" >&2; exit 2 ;; esac
  check_settings

  started=$(date +%s)
  dir="$dest/$job"
  mkdir -p "$dir"
  stamp=$(date -u +%Y%m%dT%H%M%SZ)
  name="$job-$stamp.$ext$zext"
  [[ -n $recipient ]] && name="$name.age"
  tmp_plain="$dir/.partial-$stamp-$$.$ext$zext"
  tmp_final="$dir/.partial-$stamp-$$.final"
  trap 'fail "unexpected error on line $LINENO"' ERR

  dump_database | compress_cmd >"$tmp_plain" || fail "the dump failed"
  if ((verify)); then
    "$script_dir/verify-backup.sh" --quiet "$tmp_plain" || fail "the new dump does not verify"
  fi
  if [[ -n $recipient ]]; then
    age --encrypt --recipient "$recipient" --output "$tmp_final" "$tmp_plain" || fail "age encryption failed"
    rm -f "$tmp_plain"
  else
    mv -f "$tmp_plain" "$tmp_final"
  fi
  mv -f "$tmp_final" "$dir/$name"
  (cd "$dir" && sha256sum -- "$name" >"$name.sha256.tmp" && mv -f "$name.sha256.tmp" "$name.sha256")
  size=$(wc -c <"$dir/$name")

  # Rotation: the newest $keep dumps of this job stay; nothing else in the directory is touched.
  mapfile -t dumps < <(find "$dir" -maxdepth 1 -type f -name "$job-*.$ext*" ! -name '*.sha256' -printf '%f\n' | sort -r)
  for old in "${dumps[@]:$keep}"; do
    rm -f -- "${dir:?}/$old" "${dir:?}/$old.sha256"
  done

  trap - ERR
  write_metrics 1 "$size"
  echo "$engine: job $job wrote $dir/$name ($size bytes)"
}

write_metrics() { # result size
  [[ -n $textfile_dir ]] || return 0
  local result="$1" size="$2" now duration prom tmp labels="{backup_job=\"$job\",service=\"$service\"}"
  now=$(date +%s)
  duration=$((now - started))
  prom="$textfile_dir/sightline_backup_$job.prom"
  tmp="$prom.$$.tmp"
  mkdir -p "$textfile_dir"
  # gauge NAME HELP VALUE: one metric with its HELP and TYPE lines, which node-exporter needs
  # for every metric of a file or it drops the whole file.
  gauge() { printf '# HELP %s %s\n# TYPE %s gauge\n%s%s %s\n' "$1" "$2" "$1" "$1" "$labels" "$3"; }
  local size_help="Size of the last good dump." success_help="When the job last produced a good dump."
  {
    gauge sightline_backup_last_result "1 if the last run of the backup job succeeded, 0 if it failed." "$result"
    gauge sightline_backup_last_run_timestamp_seconds "When the backup job last ran." "$now"
    gauge sightline_backup_last_duration_seconds "How long the last run took." "$duration"
    if [[ $result == 1 ]]; then
      gauge sightline_backup_last_size_bytes "$size_help" "$size"
      gauge sightline_backup_last_success_timestamp_seconds "$success_help" "$now"
    elif [[ -f $prom ]]; then
      # Keep the last success time and size across failures: staleness is measured from them.
      local kept
      kept=$(sed -n 's/^sightline_backup_last_size_bytes{.*} //p' "$prom")
      if [[ -n $kept ]]; then gauge sightline_backup_last_size_bytes "$size_help" "$kept"; fi
      kept=$(sed -n 's/^sightline_backup_last_success_timestamp_seconds{.*} //p' "$prom")
      if [[ -n $kept ]]; then gauge sightline_backup_last_success_timestamp_seconds "$success_help" "$kept"; fi
    fi
  } >"$tmp"
  # node-exporter reads the file as another user: readable whatever the runner's umask.
  chmod 0644 "$tmp"
  mv -f "$tmp" "$prom"
}

fail() {
  rm -f "$tmp_plain" "$tmp_final"
  write_metrics 0 0
  echo "$engine: job $job failed: $1" >&2
  exit 1
}

compress_cmd() {
  case "$compress" in
    gzip) gzip -9 ;;
    zstd) zstd -q -19 ;;
    none) cat ;;
  esac
}

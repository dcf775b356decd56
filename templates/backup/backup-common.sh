# shellcheck shell=bash
# What backup-postgres.sh and backup-mysql.sh share, sourced by both: their options, and
# everything after the dump itself (compress, verify, optionally encrypt, a sha256 beside the
# dump, rotation of the job's old dumps, and the result for node-exporter's textfile
# collector, or for a Pushgateway). The sourcing script defines `check_settings` (its connection settings are there)
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
  --pushgateway URL     push metrics to this Pushgateway, http://HOST[:PORT] (default:
                        \$PUSHGATEWAY_URL; none if unset); a push it refuses fails the run
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
  pushgateway="${PUSHGATEWAY_URL:-}"
  while (($#)); do
    case "$1" in
      --job) job="${2:?--job needs a value}"; shift 2 ;;
      --keep) keep="${2:?--keep needs a value}"; shift 2 ;;
      --service) service="${2:?--service needs a value}"; shift 2 ;;
      --compress) compress="${2:?--compress needs a value}"; shift 2 ;;
      --age-recipient) recipient="${2:?--age-recipient needs a value}"; shift 2 ;;
      --dest) dest="${2:?--dest needs a value}"; shift 2 ;;
      --textfile-dir) textfile_dir="${2:?--textfile-dir needs a value}"; shift 2 ;;
      --pushgateway) pushgateway="${2:?--pushgateway needs a value}"; shift 2 ;;
      --no-verify) verify=0; shift ;;
      --help | -h) backup_usage; exit 0 ;;
      *) echo "$engine: unknown argument: $1" >&2; backup_usage >&2; exit 2 ;;
    esac
  done

  [[ $job =~ ^[a-z][a-z0-9_-]{0,62}$ ]] || { echo "$engine: --job must match [a-z][a-z0-9_-]*" >&2; exit 2; }
  [[ $keep =~ ^[1-9][0-9]*$ ]] || { echo "$engine: --keep must be a positive integer" >&2; exit 2; }
  [[ -z $service ]] && service="$job"
  [[ $service =~ ^[a-z][a-z0-9_-]{0,62}$ ]] || { echo "$engine: --service must match [a-z][a-z0-9_-]*" >&2; exit 2; }
  check_pushgateway
  case "$compress" in gzip) zext=".gz" ;; zstd) zext=".zst" ;; none) zext="" ;; *) echo "$engine: --compress must be gzip, zstd or none" >&2; exit 2 ;; esac
  check_settings

  started=$(date +%s)
  dir="$dest/$job"
  mkdir -p "$dir"
  # The temporary files of a run killed before it ended (a job runs once at a time: supercronic
  # does not overlap a job, nor a CronJob that forbids it), which rotation would not see or
  # would count as a dump.
  find "$dir" -maxdepth 1 -type f \( -name '.partial-*' -o -name '*.sha256.tmp' \) -delete
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
  # The dump is kept; a result nobody can read fails the run (BackupMetricsMissing would not
  # fire until the window has passed).
  write_metrics 1 "$size" || exit 1
  echo "$engine: job $job wrote $dir/$name ($size bytes)"
}

# The Pushgateway's URL, checked before anything runs.
check_pushgateway() {
  [[ -z $pushgateway || $pushgateway =~ ^http://[A-Za-z0-9.-]+(:[0-9]+)?/?$ ]] || {
    echo "$engine: --pushgateway must be http://HOST[:PORT]" >&2
    exit 2
  }
}

# record GROUP [NAME HELP VALUE]...: the job's gauges of GROUP (`backup`, `restore_test`),
# for node-exporter's textfile collector and for the Pushgateway, wherever they are given.
record() {
  local group="$1"
  shift
  textfile_write "sightline_${group}_$job.prom" "$@" || return 1
  push_metrics "$group" "$@"
}

# push_metrics GROUP [NAME HELP VALUE]...: the gauges to the Pushgateway (none without one), in
# the job's group `/metrics/job/sightline_GROUP/backup_job/JOB` with its `service` label. A POST
# replaces only the metrics it sends: a `=` value is not sent, so the value pushed before
# stays (or none, as in the textfile).
push_metrics() {
  [[ -n $pushgateway ]] || return 0
  local group="$1" body="" name help value
  shift
  while (($#)); do
    name="$1" help="$2" value="$3"
    shift 3
    [[ $value == "=" ]] && continue
    body+="# HELP $name $help"$'\n'"# TYPE $name gauge"$'\n'"$name{service=\"$service\"} $value"$'\n'
  done
  http_post "${pushgateway%/}" "/metrics/job/sightline_$group/backup_job/$job" "$body"
}

# http_post URL PATH BODY: POST BODY to PATH at URL (http://HOST[:PORT]) with bash's
# /dev/tcp, as the database images have no curl; fails unless the answer is a 2xx within 10
# seconds.
http_post() {
  local url="$1" host port status
  [[ $url =~ ^http://([A-Za-z0-9.-]+)(:([0-9]+))?$ ]] || return 1
  host="${BASH_REMATCH[1]}" port="${BASH_REMATCH[3]:-80}"
  # shellcheck disable=SC2016 # expanded by the inner bash
  status=$(LC_ALL=C timeout 10 bash -c '
    exec 3<>"/dev/tcp/$1/$2" || exit 1
    printf "POST %s HTTP/1.0\r\nHost: %s\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: %s\r\n\r\n%s" "$3" "$1:$2" "${#4}" "$4" >&3
    IFS= read -r line <&3 && printf "%s" "${line%$'\''\r'\''}"
  ' http_post "$host" "$port" "$2" "$3") || true
  [[ $status =~ ^HTTP/1\.[01]\ 2[0-9][0-9] ]] || {
    echo "$engine: the Pushgateway at $url did not take the metrics of job $job (${status:-no answer})" >&2
    return 1
  }
}

# textfile_write FILE [NAME HELP VALUE]...: the job's gauges in FILE of the textfile directory,
# for node-exporter's textfile collector (none without one), written whole and then renamed
# into place. A VALUE of `=` keeps the value NAME has in the file now, and leaves NAME out when
# it has none. Each gauge has its HELP and TYPE lines: node-exporter drops a file with a metric
# that lacks them. restore-common.sh writes the restore test's result with it too.
textfile_write() {
  [[ -n $textfile_dir ]] || return 0
  local prom="$textfile_dir/$1" labels="{backup_job=\"$job\",service=\"$service\"}" name help value
  shift
  mkdir -p "$textfile_dir"
  {
    while (($#)); do
      name="$1" help="$2" value="$3"
      shift 3
      if [[ $value == "=" ]]; then
        value=$(sed -n "s/^$name{.*} //p" "$prom" 2>/dev/null) || true
        [[ -n $value ]] || continue
      fi
      printf '# HELP %s %s\n# TYPE %s gauge\n%s%s %s\n' "$name" "$help" "$name" "$name" "$labels" "$value"
    done
  } >"$prom.$$.tmp"
  # node-exporter reads the file as another user: readable whatever the runner's umask.
  chmod 0644 "$prom.$$.tmp"
  mv -f "$prom.$$.tmp" "$prom"
}

write_metrics() { # result size
  local now size="$2"
  now=$(date +%s)
  # After a failure the last success time and size stay: staleness is measured from them.
  local success="$now"
  [[ $1 == 1 ]] || size="=" success="="
  record backup \
    sightline_backup_last_result "1 if the last run of the backup job succeeded, 0 if it failed." "$1" \
    sightline_backup_last_run_timestamp_seconds "When the backup job last ran." "$now" \
    sightline_backup_last_duration_seconds "How long the last run took." "$((now - started))" \
    sightline_backup_last_size_bytes "Size of the last good dump." "$size" \
    sightline_backup_last_success_timestamp_seconds "When the job last produced a good dump." "$success"
}

fail() {
  rm -f "$tmp_plain" "$tmp_final"
  write_metrics 0 0 || true
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

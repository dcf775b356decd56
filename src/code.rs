//! Every diagnostic code sightline can emit, with its one-line summary and the long explanation
//! that `sightline explain CODE` prints.
//!
//! Codes are stable: once released, a code keeps its meaning. A test snapshots the list, so a
//! renumbering or a changed meaning shows up in review. New codes go at the end of their family.
//! Families: SL0xx reading and structure, SL1xx names, SL2xx references, SL3xx secrets,
//! SL4xx values, SL5xx rules and PromQL, SL6xx images, SL7xx budget and ports, SL8xx the
//! committed output (`build --check`), SL9xx the platform (`--platform kubernetes`).

macro_rules! codes {
    ($( $variant:ident = $code:literal, $summary:literal, $explanation:literal; )*) => {
        /// A stable diagnostic code.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code { $( $variant, )* }

        impl Code {
            /// Every code, in numeric order.
            pub const ALL: &'static [Code] = &[ $( Code::$variant, )* ];

            /// The code as printed, e.g. `SL201`.
            pub fn as_str(self) -> &'static str {
                match self { $( Code::$variant => $code, )* }
            }

            /// One line saying what the code is about.
            pub fn summary(self) -> &'static str {
                match self { $( Code::$variant => $summary, )* }
            }

            /// The long explanation shown by `sightline explain`.
            pub fn explanation(self) -> &'static str {
                match self { $( Code::$variant => $explanation, )* }
            }
        }
    };
}

codes! {
    Syntax = "SL001", "the manifest is not valid YAML or TOML",
        "The file could not be parsed as YAML (stack.yaml) or TOML (stack.toml). The diagnostic\npoints at the place the parser stopped. Fix the syntax there; the other checks run once\nthe file parses.";
    Limits = "SL002", "the input exceeds a safety limit",
        "sightline bounds what it reads: the manifest may be at most 4 MiB, nested at most 64\nlevels deep, and YAML aliases may expand only a bounded number of times. These limits stop a\nhostile or broken file (an alias bomb, a multi-megabyte blob) from exhausting memory in a\npre-commit hook or a CI job. A real stack manifest is a few hundred lines.";
    UnknownField = "SL003", "a field that the manifest language does not have",
        "The manifest language is closed: every key is either defined in docs/manifest.md or an\nerror, so a typo never silently turns into a default. The help line suggests the closest\nknown field. Editors that read schema/stack.schema.json complete the fields as you type.";
    WrongType = "SL004", "a value of the wrong type",
        "The value has a different shape from what this field takes: a string where a number is\nexpected, a list where a mapping is expected, and so on. The help line names the shape.";
    MissingField = "SL005", "a required field is missing",
        "This mapping must have the named field. `version`, `stack`, `environment` and\n`services` are required at the top level; every service needs `kind`, and the fields its\nkind requires: `port` (every kind but `celery`), `broker` (`celery`).";
    InvalidChoice = "SL006", "a value outside the allowed set",
        "This field takes one of a fixed set of words (for example `kind: http | postgres |\nmysql | redis | memcached | nginx | haproxy | caddy | traefik | rabbitmq |
elasticsearch | pgbouncer | mongodb | celery | generic`). The help line lists them.";
    UnsupportedVersion = "SL007", "an unknown manifest format version",
        "`version` selects the manifest language. This sightline understands version 1. A newer\nmanifest needs a newer sightline; an older one has to be migrated (docs/manifest.md).";
    EmptyManifest = "SL008", "the manifest is empty",
        "The file has no content (or only comments). Run `sightline init` for a commented\nstarter manifest.";
    Misplaced = "SL009", "a field in the wrong place",
        "The field exists in the manifest language, but not where it is: a key indented one level\ntoo far out (a service's `health:` at the level of the services, where it reads as a\nservice named `health`), or a section's field at the top level (`retention:` belongs under\n`logs:` or `observability.prometheus:`). Move it where the help says.";
    InvalidDuration = "SL010", "not a duration",
        "Durations are written the Prometheus way: an integer followed by a unit, `ms s m h d w\ny`, units in decreasing order and each at most once, e.g. `15s`, `1h30m`, `30d`.";
    InvalidSize = "SL011", "not a size",
        "Sizes are an integer followed by an IEC unit: `B`, `KiB`, `MiB`, `GiB` or `TiB`, e.g.\n`256MiB`, `10GiB`. SI units (`MB`, `GB`) are refused because Docker and Prometheus read them\ndifferently.";
    InvalidPercent = "SL012", "not a percent",
        "Percents are a number followed by `%`, e.g. `99.9%` or `80%`.";
    InvalidCron = "SL013", "not a 5-field cron schedule",
        "Schedules are standard 5-field cron expressions (`minute hour day-of-month month\nday-of-week`), evaluated in UTC (by the backup runner's supercronic, or the cron that runs a batch job).\nDay and month names (`sun`, `jan`) are allowed. Days of the week the crons read apart are\nrefused: a range that ends on Sunday (`sat-sun`, `1-7`), a step of 7 or more, a zero-padded\nday (`01`); list the days (`sat,sun`). `@daily`-style macros, a seconds or year field\nand Quartz extensions (`L`, `W`, `#`, `?`) are refused: crons read them differently (Debian's\ncron has none of them), and sightline computes each job's alert window from the schedule.";
    InvalidName = "SL014", "not a valid name",
        "Names (the stack, the environment, services, receivers, jobs, log sources) match\n`[a-z][a-z0-9_-]{0,62}`: they become label values, compose service names, file names and\nshell arguments, and this pattern is safe in all of them.";
    InvalidImage = "SL015", "not a valid image reference",
        "Images are written `repository[:tag][@sha256:digest]`, e.g. `postgres:16.4` or\n`ghcr.io/acme/api:2.3.1`.";
    InvalidValue = "SL016", "a value that does not fit the field",
        "The value has the right type but not an allowed form, for example a port of 0, a path\nthat must be absolute, or a label name with characters Prometheus does not allow. The\nmessage says what the field takes.";
    DuplicateName = "SL101", "two things share a name",
        "Services, receivers, backup jobs, log sources and user rules are referred to by name, so\neach name must be unique within its kind. Rename one of them.";
    ReservedName = "SL102", "a name that sightline uses itself",
        "Some names are taken by the services sightline generates (prometheus, alertmanager, loki,\npromtail, alloy, grafana, node-exporter, the exporters, backup). A service with one of these\nnames would collide with them in compose and in Prometheus job names. So would the names\nsightline derives from a service's: its scrape jobs (the service's own, and `<service>-health`\nand `<service>-tls` for its probes; `node` and `blackbox` are node-exporter's and the blackbox\nexporter's) and its exporter (`<service>-exporter`): Prometheus refuses two scrape jobs of one\nname. Pick another name.";
    UnknownReceiver = "SL201", "a route names a receiver that does not exist",
        "Every receiver named by a route's `to`, or by `alerting.default`, must be defined under\n`alerting.receivers`. An alert routed to a receiver that does not exist would be dropped by\nAlertmanager's config loader, taking every notification with it.";
    UnknownService = "SL202", "a reference to a service that does not exist",
        "`alerting.rules[].service`, `backups.jobs[].service`, `jobs[].service` and a celery\nservice's `broker.service` must name a service defined under `services`.";
    BackupNotPostgres = "SL203", "a backup job for a service that is not a database sightline dumps",
        "Backups are PostgreSQL dumps (pg_dump) or MySQL and MariaDB dumps (mariadb-dump). A backup\njob's `service` must be a service of `kind: postgres` or `kind: mysql`.";
    UnknownAlert = "SL204", "an override of an alert that the service does not have",
        "The keys under a service's `alerts:` name built-in alerts of that service's kind (see\nthe table in docs/manifest.md). An override of an alert the kind does not have would be\nignored, so it is an error; the help line suggests the closest alert name.";
    NotForKind = "SL205", "a field that does not apply to this kind of service",
        "Some service fields only mean something for some kinds (each kind's fields are listed in\ndocs/manifest.md, and per kind in the schema): `database` for postgres and mysql, `framework`,\n`metric_names`, `health` and `slo` for http, `metrics` for the kinds scraped on their own\nmetrics, `port` and `host` for every kind but celery, `broker` and `queues` for celery (and\n`broker.database` for a redis broker, `broker.vhost` for a rabbitmq one). A field given to a\nkind that ignores it is reported so that it is not mistaken for configuration that works;\nso is a `threshold` on a built-in alert that fires on a state (`TargetDown`, a kind's Down\nalert, an alarm raised), which reads none.";
    MissingDefault = "SL206", "routes without a default receiver",
        "When `alerting.routes` is given, `alerting.default` is required: it receives every alert\nthat no route matches. Without it such alerts would go nowhere.";
    ReceiverKind = "SL207", "a receiver must have exactly one kind",
        "Each receiver is one of `email`, `slack`, `pagerduty`, `opsgenie` or `webhook`. Write\ntwo receivers and list both in the route's `to` to notify two places.";
    MissingServiceField = "SL208", "a field this kind of service requires, or needs beside another, is missing",
        "A postgres service needs `database`, `user` and `password` so that the exporter and the\nbackups can connect; a mysql service needs them for its exporter and its own container, and,\nrun from an `image` with a user other than root, root's password in `compose.environment`\n(`MYSQL_ROOT_PASSWORD`): a random one (`MYSQL_RANDOM_ROOT_PASSWORD`) is printed to the\ncontainer's log, which the stack ships to Loki. An elasticsearch, pgbouncer, mongodb or celery\nservice takes `user` and `password` together or not at all: they are its exporter's login (a\ncelery service's at its broker, which it needs on a rabbitmq broker whose image sets\n`RABBITMQ_DEFAULT_USER`: the image then creates no `guest` user).";
    UnreachableRoute = "SL209", "a route that can never match",
        "Routes are tried top to bottom and the first match wins. An earlier route without\n`continue: true` whose `match` is as broad as this one's (or broader) catches every alert this\nroute would, so this one never notifies anybody. Move it up, narrow the earlier route, or set\n`continue: true` on the earlier one.";
    UnusedReceiver = "SL210", "a receiver that no route uses",
        "A receiver is only notified when a route (or `default`) names it. One that nobody names is\nprobably a leftover or a typo in a route's `to`.";
    UnknownMatchValue = "SL211", "a route matches a label value no alert carries",
        "The built-in alerts and your rules carry known values of `severity` (critical, warning,\ninfo), `category` (security, performance, operational, slo, and your rules' own), `service`\nand `alertname`. A route matching another value never matches anything; the help line suggests\nthe closest known value.";
    BackupsUnwatched = "SL212", "backups whose results nothing reads",
        "The backup scripts write their results (success, size, the restore test) for\nnode-exporter's textfile collector, and the backup alerts read them from Prometheus. With\n`observability.node_exporter: false` nothing reads them: a failed or stale backup never\nalerts. Keep node-exporter on whenever `backups:` is set.";
    UnreachableService = "SL213", "a service the monitoring containers may not reach",
        "A service without `image:` runs outside the generated compose project. Prometheus, the\nexporters and the probes reach it at `host:` (default: the service name), a name that resolves\nonly on a Docker network the service shares with them. Set `network:` to that network (the\nmonitoring containers join it as an external network), or `host:` to an address they can\nreach (a DNS name, or the Docker host's address for a process on the host). Until then the\nservice's alerts see it as down.";
    UnknownMatchLabel = "SL214", "a route matches a label no alert carries",
        "Routes match the labels alerts carry: `alertname`, `severity`, `category`, `service`,\n`stack` and `env` on every alert, `slo` on SLO burn alerts, `backup_job` on backup alerts,\nand `job`, `instance`, `device`, `fstype` and `mountpoint` on host and monitoring alerts. A route on any\nother label (often a typo: `sevrity`) matches nothing, and the alerts it was meant for go to\nthe next route or the default receiver.";
    NoHeartbeat = "SL215", "no dead man's switch",
        "When Prometheus, Alertmanager or the network between them and the receivers stops, no\nalert can say so. The usual answer is a dead man's switch: `Watchdog`, an alert that always\nfires, routed every 5 minutes to an external heartbeat service (healthchecks.io, Dead Man's\nSnitch, PagerDuty's heartbeat, any webhook that expects a regular call), which pages when the\ncalls stop. Name its receiver in `alerting.heartbeat` (set the service's period to 5 minutes\nand its grace to 5 to 10 minutes). Without it, sightline generates no Watchdog.";
    CriticalToDefault = "SL216", "critical alerts that reach only the default receiver",
        "The manifest routes critical alerts to someone (a route matching `severity: critical`),\nbut some critical alerts match no route, usually because that route also matches a\n`category` they do not carry, and go to the default receiver only. The message names them\n(`sightline route --all` shows every alert with its receivers); widen the route or add one.";
    NotRunHere = "SL217", "compose settings for a service the compose file does not run",
        "`compose:` says how the generated compose file runs one of the application's services, so\nit needs the service's `image:`; and `depends_on` can name only services the same file\nruns (those with an `image:`). A service without an image runs elsewhere: give it an image,\nor leave its compose settings out.";
    DependencyCycle = "SL218", "services that wait for each other",
        "`compose.depends_on` makes compose start a service after the ones it names. A service that\nwaits, directly or through others, for itself never starts: compose refuses the file.\nRemove one of the dependencies of the cycle.";
    RefusedVariable = "SL219", "a variable the service's image refuses to start with",
        "Some official images stop at start when a variable they no longer support is set (and not\nempty): RabbitMQ's, from 3.9 on, exits on `RABBITMQ_DEFAULT_PASS_FILE` and\n`RABBITMQ_DEFAULT_USER_FILE` (which a `{ file }` secret of `RABBITMQ_DEFAULT_PASS` or\n`RABBITMQ_DEFAULT_USER` sets), `RABBITMQ_VM_MEMORY_HIGH_WATERMARK` and the\n`RABBITMQ_SSL_*` and `RABBITMQ_MANAGEMENT_SSL_*` ones. Set the password with\n`{ env: NAME }`, or put the settings in the configuration file you mount (`default_pass`,\n`vm_memory_high_watermark.relative`, `ssl_options.*` in `rabbitmq.conf`).";
    NotABroker = "SL220", "a Celery broker that is not a redis or rabbitmq service",
        "A `celery` service's `broker` names the service its workers take their tasks from, which\nits exporter reads their events and queues from: a service of `kind: redis` or\n`kind: rabbitmq` in this manifest (celery-exporter reads queue lengths from those two).\nDescribe the broker as such a service, outside the compose file if it runs elsewhere\n(`host:`), and name it in `broker.service`.";
    SharedBroker = "SL221", "two celery services read the same broker's events",
        "celery-exporter reads every worker and task whose events reach its broker (the redis\ndatabase or the rabbitmq virtual host): two celery services on the same one each count\nthe other's workers and tasks, so one's `CeleryWorkersDown` cannot fire while the other's\nworkers run, and each task alert fires twice. Give each set of workers a database or\nvirtual host of its own (`broker.database`, `broker.vhost`), or describe them as one\nservice.";
    ReservedHeader = "SL222", "a remote_write header Prometheus sets itself, or a login",
        "Prometheus refuses a `remote_write` header it sets itself (`Host`, `Content-Type`,\n`Content-Encoding`, `User-Agent`, `X-Prometheus-Remote-Write-Version`, ...) and\n`Authorization`, which it takes only as a login: it would not load the configuration. Give a\nlogin as `basic_auth: { user, password }`, whose password is a secret reference (a bearer\ntoken is not supported yet).";
    RemoteWriteDuplicate = "SL223", "two remote_write receivers of one name, or two headers that are one",
        "Prometheus names each remote-write queue (`remote_name`, default `remote-<n>`, the\nreceiver's place in the list) and refuses two of one name; and HTTP header names are one\nheader whatever their case, so `X-Scope-OrgID` and `x-scope-orgid` would send one value of\nthe two. Name each receiver once, and give each header once.";
    SecretLiteral = "SL301", "a literal value where a secret reference is required",
        "Secrets are never written into the manifest: it is committed, reviewed and copied\ninto CI logs. Write a reference instead, `{ env: NAME }` to read an environment variable or\n`{ file: /abs/path }` to read a mounted file. sightline never prints the literal it found.";
    SecretLooking = "SL302", "a string that looks like a secret",
        "This string has the shape of a credential (a Slack webhook URL, a PagerDuty or Opsgenie\nkey, a password in a URL). Where the field takes a secret reference, use one; elsewhere move\nthe credential out of the URL. The value is not printed.";
    Retention = "SL401", "a retention that Loki or Prometheus cannot honour",
        "Loki applies retention in whole days through its compactor, with a 24h index period, so\n`logs.retention` must be a whole number of days and at least 24h.";
    ScrapeTimeout = "SL402", "a scrape timeout longer than the scrape interval",
        "Prometheus refuses a `scrape_timeout` greater than the `scrape_interval`.";
    EvaluationInterval = "SL403", "rules evaluated faster than series are scraped",
        "An `evaluation_interval` below the `scrape_interval` evaluates the same samples twice\nand makes `for:` clauses flap. Use at least the scrape interval.";
    Objective = "SL404", "an objective outside (0, 100) %",
        "An SLO objective of 100% leaves no error budget and 0% no objective: burn rates cannot\nbe computed. Use a value strictly between them, e.g. `99.9%`.";
    DuplicateSchedule = "SL405", "two backup jobs of the same database run at the same time",
        "Two jobs dumping the same database on the same schedule run concurrently, double the\nload and produce the same dump twice. Give them different schedules.";
    RangeValue = "SL406", "a number out of its range",
        "The value is outside the range this field accepts (for example `keep: 0` would rotate\naway every dump, and a port must be between 1 and 65535).";
    HighCardinalityLabel = "SL407", "a log label with too many values",
        "Every distinct label value creates a new Loki stream. Request ids, trace ids, user ids,\nsession ids, IP addresses and paths have a value per request or per user, which multiplies the\nindex and slows every query. Keep such fields in the line, or attach them as structured\nmetadata (Loki 3), and query them with `| json` or `| logfmt` filters.";
    VolumeOutsideProject = "SL408", "a volume that reaches outside the project",
        "A service's `compose.volumes` mount a named volume (`media:/app/media`) or a path inside\nthe project, relative to the generated compose file (`./static:/app/static:ro`). A host path\n(`/var/run/docker.sock`, `/etc`), one in a home directory (`~`) or one that climbs out with\n`..` gives the container the host: it is refused. A named volume that sightline uses itself\n(`prometheus-data`, `<service>-data`, …) would hand that data to the application: it is\nrefused too.";
    ContainerSetting = "SL409", "a container setting that compose refuses or that has no effect",
        "The hardening settings of an application's container (`compose.user`, `capabilities`,\n`read_only`, `tmpfs`) go to compose as written. A `tmpfs` at a path something else is\nmounted on (a volume of `compose.volumes`, the secrets under `/run/secrets` and\n`/run/sightline-secrets`) is refused by compose; one at a database's data directory replaces\nthe data volume sightline would give it. Capabilities given to a\ncontainer whose `user` is not root do nothing: with `no-new-privileges`, which every container\nhas, a non-root process gets none. Capabilities beyond Docker's default set (`SYS_ADMIN`,\n`NET_ADMIN`, `SYS_PTRACE`, …) give the container much of the host: each is a warning.\nThe backups' `destination` is the backup runner's volume: at `/`, or at or above a directory\nits image needs or it mounts otherwise (`/tmp`, `/run`, the scripts, the metrics' directory,\n`/etc`, `/usr`, …), it would hide that directory (or compose refuses a second mount at one\npath); under one that holds the runner's or Docker's own mounts (the scripts, the metrics'\nvolume, the image's `/var/lib/postgresql` volume, `/run` with `/var/run`, `/proc`, `/sys`,\n`/dev`) it would sit among them; `.` and `..` are refused.";
    PromqlSyntax = "SL501", "a PromQL expression that does not parse",
        "`alerting.rules[].expr` is PromQL. Prometheus refuses to load a rule file with an\nexpression it cannot parse, which would stop every alert of the stack.";
    ForTooShort = "SL502", "`for:` shorter than the evaluation interval",
        "An alert's `for:` is measured in evaluations; a duration shorter than the evaluation\ninterval behaves as if it were one interval and gives a false sense of debouncing.";
    ThresholdKind = "SL503", "an alert threshold of the wrong kind",
        "Each built-in alert compares against one kind of value: a percent (`HighErrorRate: {\nthreshold: 5% }`), a duration (`HighLatency: { threshold: 1s }`), a number of events per\nsecond, a count, or a number of days written as a duration (`TlsCertificateExpiring: {\nthreshold: 30d }`). The help line says which one this alert takes (docs/alerts.md lists them).";
    SloWindowRetention = "SL504", "an SLO window longer than Prometheus keeps data",
        "Burn rates and the error budget are computed over the SLO window (default 30d), from\nsamples Prometheus must still have. Keep `observability.prometheus.retention` at least as\nlong as every `slo.window`, or shorten the window.";
    DurationUnit = "SL505", "a duration histogram whose unit is unknown",
        "Latency alerts and latency objectives compare a histogram against a duration, so the\nhistogram's unit must be known. It is read from the metric name: `_seconds`, or\n`_milliseconds` / `_ms`. Name the histogram in `metric_names.duration` accordingly.";
    LatencyAboveBuckets = "SL506", "a latency threshold at or above the histogram's largest bucket",
        "`histogram_quantile` cannot answer above the largest finite bucket of a histogram: every\nrequest slower than it lands in `+Inf`, and the quantile is capped at that bound. A latency\nalert whose threshold is at or above it can never fire. Lower the threshold below the top\nbucket, or give the application a histogram with a higher bucket (and list its bounds in\n`metric_names.buckets`). The framework's default buckets are in docs/alerts.md.";
    ObjectiveBetweenBuckets = "SL507", "a latency objective that is not a bucket boundary",
        "A latency objective counts a request as good when it lands in the bucket whose upper bound\n(`le`) is the threshold; a threshold between two buckets matches no bucket, and the objective\ncould never be measured. Use one of the histogram's bounds (the help line lists them), or\nadd that bound to the application's histogram and to `metric_names.buckets`.";
    GroupedStatusCodes = "SL508", "an alert on single status codes the instrumentation groups",
        "Some instrumentation writes the status class, not the code (prometheus-fastapi-instrumentator\nwrites `4xx` unless `should_group_status_codes=False`). An alert on 401/403 or 429 can then\nnever fire. Switch the alert off, or make the application report exact codes and say so with\n`metric_names.status_codes: exact`.";
    UnknownExporterMetric = "SL509", "a user rule on a metric its exporter does not expose",
        "A metric named with an exporter's prefix (`pg_`, `mysql_`, `redis_`, `memcached_`,\n`nginx_`, `haproxy_`, `caddy_`, `traefik_`, `rabbitmq_`, `elasticsearch_`, `node_`, `probe_`) that the exporter does not expose selects nothing, so the rule never fires, and Prometheus\nsays nothing. sightline reports a name within two edits of a metric it knows the exporter\nexposes (`pg_stat_activity_cnt` for `pg_stat_activity_count`) and suggests that one; a name\nfarther from every metric it knows is left alone, since it knows only the metrics its own\nrules and dashboards use.";
    AnnotationTemplate = "SL510", "a rule annotation Prometheus cannot parse as a template",
        "The summary and description of a rule are Go templates (`{{ $labels.instance }}`,\n`{{ $value | humanize }}`), parsed when Prometheus loads the rule file; one it cannot parse makes\nit refuse the whole file, and every alert of the stack with it. Close each `{{` with `}}`, use\nthe variables Prometheus defines (`$labels`, `$value`, `$externalLabels`, `$externalURL`) and\nthe functions of Go templates and Prometheus (`humanize`, `printf`, …); write a literal `{{`\nas `{{ \"{{\" }}`.";
    UnpinnedImage = "SL601", "an image without a pinned version",
        "An image without a tag, or tagged `latest`, changes under you: two hosts built from the\nsame manifest run different code. Pin a version, e.g. `postgres:16.4`.";
    UnsupportedRelease = "SL602", "a component release its upstream no longer supports",
        "The release pinned with `version:` (or the component chosen, for Promtail) gets no more\nfixes from its upstream, security fixes included. Leave `version:` out to run the release\nthis sightline defaults to, which its upstream supports and its tests run against, or pin a\nsupported one. `docs/versions.md` lists the supported lines and where each was read.";
    ReleaseTooOld = "SL603", "a component release older than the generated files need",
        "The generated files use a flag, field or command that the pinned release does not have,\nso the component would refuse its configuration or never report healthy. The message names\nwhat is used and the first release that has it. Pin that release or a newer one, or leave\n`version:` out.";
    DigestNotRecorded = "SL604", "an image to pin by digest with no digest recorded",
        "With `pin: digest`, the generated files name every image by its digest as well as its\ntag, and `build` reads the digests from the output directory's sightline.lock, never from a\nregistry: the same manifest and lock give the same files, offline. An image that is new, or\nwhose tag or version changed, has no digest there yet. Run `sightline pin`: it asks each\nimage's registry for the digest its tag names now, records it in the lock and builds.\n`sightline pin --update` asks again for every image, to move to what the tags name today.";
    MemoryBudget = "SL701", "the stack needs more memory than the host has",
        "With `host:` given, the memory limits of every container in the stack (the generated\nobservability services with their defaults, and the application's own services that have a\nlimit) must fit the host's memory.";
    CpuBudget = "SL702", "the stack needs more CPU than the host has",
        "With `host:` given, the CPU limits of every container in the stack must fit the host's\nCPUs.";
    DiskBudget = "SL703", "the stack needs more disk than the host has",
        "With `host:` given, the disk sizes (Prometheus, Loki, the backups' volume) must fit the\nhost's disk.";
    PortConflict = "SL704", "two things published on the same host port",
        "Only one container can be bound to a host port. Change one of the ports.";
    OutputDrift = "SL801", "a generated file is not what the manifest generates",
        "`sightline build --check` found a file of the output directory missing, with other\ncontents than the manifest generates, or no longer generated but still there: the manifest\nchanged and the output was not rebuilt. Run `sightline build` and commit the result. The\nfinding points at the part of the manifest the file comes from.";
    OutputEdited = "SL802", "a generated file edited by hand",
        "The file is not what the last build wrote (its sha256 is not the one in sightline.lock):\nsomeone edited it. `sightline build` keeps a hand edit and stops; move the change into the\nmanifest and build, or drop it with `sightline build --force`.";
    OutputInterrupted = "SL803", "files left by an interrupted build",
        "A build was killed before it finished: its intent (`.sightline.lock.pending`) or its\ntemporary files (`.sightline-staging/`) are still in the output directory. The next\n`sightline build` finishes the job and removes them.";
    OutputForeign = "SL804", "a file sightline did not write stands where it would write",
        "`sightline build` never overwrites a file it did not generate: one stands where the\nmanifest puts a generated file (or `sightline.lock` is not a lock sightline wrote). Move it\naway, or choose another output directory with `--out`.";
    PlatformName = "SL901", "a name Kubernetes objects cannot take",
        "On the kubernetes platform (`platform: kubernetes`, `--platform kubernetes`) every\ngenerated object is named after the stack: `<stack>-<what>`. An object name is lower-case\nletters, digits and `-`, starting and ending with a letter or digit (RFC 1123), so a stack\nname with `_` cannot name one. Rename the stack (its `stack` label changes with it).";
    SecretKeyClash = "SL902", "two secrets would be one key of the stack's Kubernetes Secret",
        "On the kubernetes platform every secret the stack reads is a key of one Kubernetes Secret,\n`<stack>-secrets`: `{ env: NAME }` is the key `NAME`, `{ file: /path/name }` the key `name`.\nTwo different references that give the same key would read one value, and a key is\nletters, digits, `-`, `_` and `.` only. Rename one of the variables or files.";
    NotLowered = "SL903", "a part of the manifest the kubernetes platform does not generate yet",
        "The kubernetes platform generates the alerting and recording rules, Alertmanager's\nconfiguration, the dashboards and datasources, the scrape configuration, the exporters (with the one-shot\njobs compose runs before them, as init containers), log\ncollection (Alloy and Loki, with the log alerts), the Pushgateway the batch jobs report to,\nthe backups as CronJobs and the charts' values (docs/kubernetes.md). It does not generate\nyet what the note names: without `kubernetes.backup_image` (the runner's image, built from\n`backup/Dockerfile`), the backup jobs the stock PostgreSQL image cannot run (MySQL's,\nencrypted or zstd-compressed), a way in to the cluster's Pushgateway for the batch jobs of\nservices outside it, the compose host's log files, the logs of services outside the cluster,\nand an exporter the cluster cannot run as compose does. (The host's alerts are the chart's\nnode rules there, and basic authentication is SL907.) A note never fails a build, not even with `--deny-warnings`. Until it does, those are the team's to provide on the cluster\n(docs/kubernetes.md says how each maps); the rules about them are left out rather than\nleft to fire.";
    ServicePlace = "SL904", "a service's place on Kubernetes selects nothing, or too much",
        "On the kubernetes platform a service is in the cluster, behind a Service (`kubernetes:\n{ namespace, service, selector, pods }`), or outside it at an `address`. An empty `selector`\nwould have its ServiceMonitor scrape every Service of the namespace, an empty `pods` have\nAlloy read every pod's logs, and an `address` with `namespace`, `service`, `selector` or\n`pods` says both. A celery worker is behind no Service: `namespace` and `pods` place it.\nTwo services whose pods are one's (the labels of one among the other's, in one namespace)\nwould have every line of those pods shipped twice, unless each names its own `container`.\nGive the labels of the service's own Service and pods, or its address.";
    KubernetesLabel = "SL905", "a label or name Kubernetes does not take",
        "A `selector`'s or `pods`' label keys are `[prefix/]name` (a DNS subdomain prefix, a name of at most 63\nletters, digits, `-`, `_` and `.`, starting and ending with a letter or digit), its values\nsuch names or empty; a Service's name is a DNS label starting with a letter (at most 63\nlower-case letters, digits and `-`). A service's Service is named after its `host` (or its\nname) unless `kubernetes.service` names it.";
    KubernetesSchedule = "SL906", "a schedule Kubernetes' cron parser reads otherwise",
        "On the kubernetes platform the backup jobs and the restore test are CronJobs, whose\nschedules the API server and the CronJob controller read with their own cron parser\n(robfig/cron's standard one). It refuses a day of the week of 7 (cron's Sunday), and reads\n`*/1` in the day of the month or week as `*`, which changes which days a run needs. Write\nSunday as `0` or `sun`, and `*` for `*/1`: every cron reads those alike.";
    WebAuthNotSet = "SL907", "basic authentication the Prometheus Operator cannot set",
        "On compose, `observability.prometheus.auth` and `observability.alertmanager.auth` put a\nlogin on the ports the host publishes (`web.yml`). The Prometheus Operator has no field for\na web login (its `web` takes server options and no users: prometheus-operator issue #4200),\nand a login set around it would lock out the callers inside the pod that it does not give\none (the kubelet's probes, the config reloader). So the Kubernetes tree sets none: the\nchart's Prometheus and Alertmanager are ClusterIP Services (its default, which the overlay\nkeeps), reached from inside the cluster only, and Grafana's datasources send no login there. The note points at each login left\nout. To keep people out, reach them with `kubectl port-forward`, or publish them through an\nIngress or Gateway that asks for a login; to keep pods out, a NetworkPolicy\n(docs/kubernetes.md, \"Basic authentication\"). A note never fails a build.";
    OperatorVersion = "SL908", "a version the Prometheus Operator cannot read",
        "On the kubernetes platform the chart gives Prometheus's and Alertmanager's `version` (their\nimage's tag) to the Prometheus Operator as their `spec.version`, which it reads as a release\nnumber (`MAJOR.MINOR.PATCH`, a leading `v` and a missing minor or patch allowed): `latest`\nor a branch name is an error there, and the operator runs neither. Give the release, or\nleave `version` out for the one sightline is tested with.";
}

impl Code {
    /// For a finding about what one part of the manifest says of another (a route's receiver,
    /// a match on the alerts' labels), the parts it reads (pointer prefixes; `""`: all). When
    /// a value under one of them was left out for an error of its own, the left-out part may be
    /// what the finding looked for, so it is not reported: `port: "3000"` is not also "no
    /// alert has service=api".
    pub fn reads_parts(self) -> &'static [&'static str] {
        match self {
            Code::UnknownReceiver => &["/alerting/receivers"],
            Code::UnknownService => &["/services"],
            Code::MissingDefault | Code::UnusedReceiver | Code::NoHeartbeat => &["/alerting"],
            Code::BackupsUnwatched => &["/alerting", "/backups"],
            Code::UnreachableRoute | Code::UnknownMatchValue | Code::UnknownMatchLabel | Code::CriticalToDefault => {
                &[""]
            }
            _ => &[],
        }
    }

    /// Codes about the output directory (SL8xx, and SL604 about its lock's image digests),
    /// found by `build`, `build --check` and `diff` rather than in a manifest.
    pub fn is_about_output(self) -> bool {
        matches!(
            self,
            Code::OutputDrift
                | Code::OutputEdited
                | Code::OutputInterrupted
                | Code::OutputForeign
                | Code::DigestNotRecorded
        )
    }

    /// Codes whose span covers a (possible) secret; renderers never show that text.
    pub fn is_secret(self) -> bool {
        matches!(self, Code::SecretLiteral | Code::SecretLooking)
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Code {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        Code::ALL.iter().copied().find(|c| c.as_str().eq_ignore_ascii_case(s.trim())).ok_or(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_ordered() {
        let strs: Vec<_> = Code::ALL.iter().map(|c| c.as_str()).collect();
        let mut sorted = strs.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(strs, sorted);
    }
}

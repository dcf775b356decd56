//! The value types of the manifest language (names, durations, sizes, percents, cron
//! schedules, image references, secret references), each parsed once, here, into a real type.
//!
//! Every type has one parser. The same parser runs in two places: in serde (so a decoded
//! `Manifest` holds only valid values) and in `manifest::decode`'s schema walk, which runs it on
//! every value of the document before decoding so that all bad values are reported in one run,
//! each with its span. Each type's JSON Schema carries `x-sightline-type`, which is how that
//! walk knows which parser a value needs.

use crate::code::Code;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::borrow::Cow;

/// Why a value did not parse: a code, a message that never repeats a secret, and a help line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValueError {
    pub code: Code,
    pub message: String,
    pub help: String,
}

impl ValueError {
    fn new(code: Code, message: impl Into<String>, help: impl Into<String>) -> Self {
        ValueError { code, message: message.into(), help: help.into() }
    }
}

impl std::fmt::Display for ValueError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.message)
    }
}

/// Implements serde and schemars for a type stored as its source text plus a parsed form.
macro_rules! string_value {
    ($ty:ident, $kind:literal, $pattern:expr, $description:literal) => {
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                $ty::parse(&s).map_err(serde::de::Error::custom)
            }
        }

        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl JsonSchema for $ty {
            fn schema_name() -> Cow<'static, str> {
                stringify!($ty).into()
            }

            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                json_schema!({
                    "type": "string",
                    "pattern": $pattern,
                    "description": $description,
                    "x-sightline-type": $kind,
                })
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// Runs the parser of the value type named by a schema's `x-sightline-type` on a string.
pub fn check_value(kind: &str, s: &str) -> Result<(), ValueError> {
    match kind {
        "name" => Name::parse(s).map(drop),
        "duration" => Duration::parse(s).map(drop),
        "size" => Size::parse(s).map(drop),
        "percent" => Percent::parse(s).map(drop),
        "cron" => Cron::parse(s).map(drop),
        "image" => ImageRef::parse(s).map(drop),
        _ => Ok(()),
    }
}

// ---------------------------------------------------------------------------------------------

/// `[a-z][a-z0-9_-]{0,62}`: safe as a label value, a compose service, a file name and a shell word.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Name(String);

pub const NAME_PATTERN: &str = "^[a-z][a-z0-9_-]{0,62}$";

impl Name {
    pub fn parse(s: &str) -> Result<Self, ValueError> {
        let mut chars = s.chars();
        let ok = s.len() <= 63
            && chars.next().is_some_and(|c| c.is_ascii_lowercase())
            && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
        if ok {
            Ok(Name(s.to_string()))
        } else {
            Err(ValueError::new(
                Code::InvalidName,
                "not a valid name",
                "names start with a lowercase letter, then up to 62 lowercase letters, digits, `_` or `-`",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for Name {
    fn borrow(&self) -> &str {
        &self.0
    }
}

string_value!(Name, "name", NAME_PATTERN, "A name: [a-z][a-z0-9_-]{0,62}");

// ---------------------------------------------------------------------------------------------

/// A Prometheus-style duration, stored in milliseconds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Duration {
    text: String,
    millis: u64,
}

const DURATION_UNITS: [(&str, u64); 7] = [
    ("y", 365 * 86_400_000),
    ("w", 7 * 86_400_000),
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1000),
    ("ms", 1),
];

impl Duration {
    pub fn parse(s: &str) -> Result<Self, ValueError> {
        let err = || {
            let help = match Self::from_words(s) {
                Some(d) => format!("write `{}`", d.as_str()),
                None => "write an integer and a unit (ms s m h d w y), largest unit first, e.g. `15s`, `1h30m`, `30d`"
                    .to_string(),
            };
            ValueError::new(Code::InvalidDuration, "not a duration", help)
        };
        let mut rest = s;
        let mut total: u64 = 0;
        let mut next_unit = 0;
        if rest.is_empty() {
            return Err(err());
        }
        while !rest.is_empty() {
            let digits = rest.chars().take_while(|c| c.is_ascii_digit()).count();
            if digits == 0 || digits > 12 {
                return Err(err());
            }
            let n: u64 = rest[..digits].parse().map_err(|_| err())?;
            rest = &rest[digits..];
            // `ms` must be tried before `m`.
            let (idx, unit, factor) = DURATION_UNITS
                .iter()
                .enumerate()
                .filter(|(_, (u, _))| rest.starts_with(u))
                .max_by_key(|(_, (u, _))| u.len())
                .map(|(i, (u, f))| (i, *u, *f))
                .ok_or_else(err)?;
            if idx < next_unit {
                return Err(err());
            }
            next_unit = idx + 1;
            rest = &rest[unit.len()..];
            total = total.checked_add(n.checked_mul(factor).ok_or_else(err)?).ok_or_else(err)?;
        }
        Ok(Duration { text: s.to_string(), millis: total })
    }

    /// A duration written in words or with spaces (`5 minutes`, `1 h 30 m`, `2 days`), to
    /// suggest its short form.
    fn from_words(s: &str) -> Option<Duration> {
        const WORDS: [(&str, &str); 7] = [
            ("millisecond", "ms"),
            ("second", "s"),
            ("minute", "m"),
            ("hour", "h"),
            ("day", "d"),
            ("week", "w"),
            ("year", "y"),
        ];
        let mut short = String::new();
        let mut words = s.split_whitespace().peekable();
        while let Some(w) = words.next() {
            let (num, unit) = match w.find(|c: char| !c.is_ascii_digit()) {
                Some(0) => return None,
                Some(i) => (&w[..i], w[i..].to_ascii_lowercase()),
                None => (w, words.next()?.to_ascii_lowercase()),
            };
            let unit = unit.trim_end_matches(',');
            let short_unit = WORDS
                .iter()
                .find(|(long, abbr)| unit == *abbr || unit.trim_end_matches('s') == *long || unit == format!("{long}s"))
                .map(|(_, abbr)| *abbr)?;
            short.push_str(num);
            short.push_str(short_unit);
        }
        (short != s).then(|| Duration::parse(&short).ok()).flatten()
    }

    pub fn from_millis(millis: u64) -> Self {
        Duration { text: format_duration(millis), millis }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn millis(&self) -> u64 {
        self.millis
    }

    pub fn seconds(&self) -> f64 {
        self.millis as f64 / 1000.0
    }

    /// The canonical Prometheus spelling (`90m` → `1h30m`), used in generated files.
    pub fn canonical(&self) -> String {
        format_duration(self.millis)
    }
}

/// Format milliseconds the way Prometheus prints durations (`model.Duration.String`).
pub fn format_duration(mut millis: u64) -> String {
    if millis == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    for (unit, factor) in DURATION_UNITS {
        // As Prometheus prints them: weeks only when the rest is a whole number of weeks.
        if unit == "w" && !millis.is_multiple_of(factor) {
            continue;
        }
        if millis >= factor {
            out.push_str(&format!("{}{}", millis / factor, unit));
            millis %= factor;
        }
    }
    out
}

string_value!(
    Duration,
    "duration",
    "^([0-9]+y)?([0-9]+w)?([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?([0-9]+ms)?$",
    "A Prometheus-style duration, e.g. 15s, 1h30m, 30d"
);

// ---------------------------------------------------------------------------------------------

/// A size with an IEC unit, stored in bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Size {
    text: String,
    bytes: u64,
}

const SIZE_UNITS: [(&str, u64); 5] = [("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10), ("B", 1)];

impl Size {
    pub fn parse(s: &str) -> Result<Self, ValueError> {
        let err = || {
            ValueError::new(
                Code::InvalidSize,
                "not a size",
                "write an integer and an IEC unit (B KiB MiB GiB TiB), e.g. `256MiB`, `10GiB`",
            )
        };
        let digits = s.chars().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 || digits > 15 {
            return Err(err());
        }
        let n: u64 = s[..digits].parse().map_err(|_| err())?;
        let (_, factor) = SIZE_UNITS.iter().find(|(u, _)| &s[digits..] == *u).ok_or_else(err)?;
        Ok(Size { text: s.to_string(), bytes: n.checked_mul(*factor).ok_or_else(err)? })
    }

    pub fn from_bytes(bytes: u64) -> Self {
        Size { text: format_size(bytes), bytes }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn bytes(&self) -> u64 {
        self.bytes
    }
}

/// The largest IEC unit that divides the size exactly, e.g. `512MiB`.
pub fn format_size(bytes: u64) -> String {
    for (unit, factor) in SIZE_UNITS {
        if bytes >= factor && bytes.is_multiple_of(factor) {
            return format!("{}{}", bytes / factor, unit);
        }
    }
    format!("{bytes}B")
}

string_value!(Size, "size", "^[0-9]+(B|KiB|MiB|GiB|TiB)$", "A size with an IEC unit, e.g. 256MiB");

// ---------------------------------------------------------------------------------------------

/// A percent such as `99.9%`, stored as its number (99.9).
#[derive(Clone, Debug, PartialEq)]
pub struct Percent {
    text: String,
    value: f64,
}

impl Percent {
    pub fn parse(s: &str) -> Result<Self, ValueError> {
        let err =
            || ValueError::new(Code::InvalidPercent, "not a percent", "write a number followed by `%`, e.g. `99.9%`");
        let num = s.strip_suffix('%').ok_or_else(err)?;
        let valid = !num.is_empty()
            && num.chars().all(|c| c.is_ascii_digit() || c == '.')
            && num.matches('.').count() <= 1
            && !num.starts_with('.')
            && !num.ends_with('.');
        if !valid {
            return Err(err());
        }
        let value: f64 = num.parse().map_err(|_| err())?;
        Ok(Percent { text: s.to_string(), value })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The number before `%`.
    pub fn value(&self) -> f64 {
        self.value
    }

    /// The fraction, 99.9% → 0.999.
    pub fn ratio(&self) -> f64 {
        self.value / 100.0
    }
}

string_value!(Percent, "percent", "^[0-9]+(\\.[0-9]+)?%$", "A percent, e.g. 99.9%");

// ---------------------------------------------------------------------------------------------

/// A standard 5-field cron schedule (UTC).
#[derive(Clone, Debug)]
pub struct Cron {
    text: String,
    cron: croner::Cron,
}

impl PartialEq for Cron {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

const CRON_NAMES: [&str; 19] = [
    "sun", "mon", "tue", "wed", "thu", "fri", "sat", "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep",
    "oct", "nov", "dec",
];

impl Cron {
    pub fn parse(s: &str) -> Result<Self, ValueError> {
        let help = "write 5 fields, `minute hour day-of-month month day-of-week`, e.g. `0 2 * * *` or `0 3 * * sun`";
        let fields: Vec<&str> = s.split_whitespace().collect();
        if s.trim_start().starts_with('@') {
            return Err(ValueError::new(Code::InvalidCron, "`@` macros are not supported", help));
        }
        if fields.len() != 5 {
            return Err(ValueError::new(
                Code::InvalidCron,
                format!("a cron schedule has 5 fields, this one has {}", fields.len()),
                help,
            ));
        }
        let mut stripped = s.to_ascii_lowercase();
        for n in CRON_NAMES {
            stripped = stripped.replace(n, "");
        }
        if stripped.contains(['l', 'w', '#', '?']) {
            return Err(ValueError::new(
                Code::InvalidCron,
                "Quartz extensions (`L`, `W`, `#`, `?`) are not standard cron",
                help,
            ));
        }
        if stripped.chars().any(|c| c.is_ascii_alphabetic()) {
            return Err(ValueError::new(Code::InvalidCron, "not a cron schedule", help));
        }
        // Days of the week the crons read apart: a range that ends on Sunday (`sat-sun`, `1-7`,
        // `0-7`: croner reads its end as 7, supercronic and Kubernetes as 0, before the start,
        // so supercronic refuses the crontab or runs it on other days), a step of 7 or more
        // (`*/7`: supercronic refuses it), and a zero-padded day (`01`: Sunday to supercronic).
        let day_of_week = fields[4].split(',').find_map(|part| {
            let (range, step) = part.split_once('/').map_or((part, None), |(r, s)| (r, Some(s)));
            let sunday = |d: &str| d.eq_ignore_ascii_case("sun") || d.trim_start_matches('0') == "7";
            if range.split('-').any(|d| d.len() > 1 && d.starts_with('0')) {
                Some("a zero-padded day of the week (`01`), which supercronic reads as Sunday")
            } else if range.split_once('-').is_some_and(|(_, to)| sunday(to)) {
                Some("a range of days of the week that ends on Sunday, which crons read as day 0 or 7 apart")
            } else if step.and_then(|s| s.parse::<u32>().ok()).is_some_and(|s| s >= 7) {
                Some("a step of 7 or more in the day of the week, which supercronic refuses")
            } else {
                None
            }
        });
        if let Some(why) = day_of_week {
            return Err(ValueError::new(
                Code::InvalidCron,
                why,
                "list the days instead, e.g. `sat,sun` or `mon-sat,sun`, and write Sunday as `0` or `sun`",
            ));
        }
        let parser = croner::parser::CronParser::builder()
            .seconds(croner::parser::Seconds::Disallowed)
            .year(croner::parser::Year::Disallowed)
            .build();
        let cron = parser
            .parse(s)
            .map_err(|e| ValueError::new(Code::InvalidCron, format!("not a cron schedule: {e}"), help))?;
        // A day that never comes (`0 0 31 2 *`): cron would accept it and never run the job.
        // Eight years from a fixed date cover every leap day.
        use chrono::TimeZone;
        let start = chrono::Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).single().expect("a valid date");
        let fires = cron.iter_after(start).next().is_some_and(|t| (t - start).num_days() <= 8 * 366);
        if !fires {
            return Err(ValueError::new(
                Code::InvalidCron,
                "this schedule never fires: no date matches its day and month fields",
                "check the day of month against the month (there is no 31 February or 31 April)",
            ));
        }
        Ok(Cron { text: s.to_string(), cron })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The fields, normalised to single spaces (for comparing and for the crontab).
    pub fn normalized(&self) -> String {
        self.text.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    pub fn schedule(&self) -> &croner::Cron {
        &self.cron
    }
}

string_value!(Cron, "cron", "^\\S+(\\s+\\S+){4}$", "A 5-field cron schedule in UTC, e.g. \"0 2 * * *\"");

// ---------------------------------------------------------------------------------------------

/// `sha256:` and 64 lowercase hex digits: the digest an image is named by (Docker refuses
/// uppercase ones: go-digest's `sha256` pattern is `[a-f0-9]{64}`).
pub fn is_digest(d: &str) -> bool {
    d.strip_prefix("sha256:")
        .is_some_and(|hex| hex.len() == 64 && hex.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)))
}

/// An image reference `repository[:tag][@sha256:digest]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageRef {
    text: String,
    repository: String,
    tag: Option<String>,
    digest: Option<String>,
}

impl ImageRef {
    pub fn parse(s: &str) -> Result<Self, ValueError> {
        let err = || {
            ValueError::new(
                Code::InvalidImage,
                "not a valid image reference",
                "write `repository[:tag][@sha256:digest]`, e.g. `postgres:16.4`",
            )
        };
        let (rest, digest) = match s.split_once('@') {
            Some((r, d)) => {
                if !is_digest(d) {
                    return Err(err());
                }
                (r, Some(d.to_string()))
            }
            None => (s, None),
        };
        let (repository, tag) = match rest.rfind(':') {
            Some(i) if !rest[i..].contains('/') => (&rest[..i], Some(&rest[i + 1..])),
            _ => (rest, None),
        };
        if let Some(t) = tag {
            let ok = !t.is_empty()
                && t.len() <= 128
                && t.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
                && !t.starts_with(['.', '-']);
            if !ok {
                return Err(err());
            }
        }
        let parts: Vec<&str> = repository.split('/').collect();
        for (i, p) in parts.iter().enumerate() {
            let registry = i == 0 && parts.len() > 1 && (p.contains('.') || p.contains(':') || *p == "localhost");
            let ok = if registry {
                !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || ".-:".contains(c))
            } else {
                !p.is_empty()
                    && p.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
                    && p.starts_with(|c: char| c.is_ascii_alphanumeric())
                    && p.ends_with(|c: char| c.is_ascii_alphanumeric())
            };
            if !ok {
                return Err(err());
            }
        }
        Ok(ImageRef { text: s.to_string(), repository: repository.to_string(), tag: tag.map(str::to_string), digest })
    }

    /// Build the reference of an image sightline itself runs.
    pub fn pinned(repository: &str, tag: &str) -> Self {
        ImageRef {
            text: format!("{repository}:{tag}"),
            repository: repository.to_string(),
            tag: Some(tag.to_string()),
            digest: None,
        }
    }

    /// The same image named by its content too: `repository:tag@sha256:…`, as `pin: digest`
    /// writes it (Docker pulls by the digest and keeps the tag for people to read).
    pub fn with_digest(&self, digest: &str) -> Self {
        debug_assert!(self.digest.is_none(), "{} already has a digest", self.text);
        ImageRef { text: format!("{}@{digest}", self.text), digest: Some(digest.to_string()), ..self.clone() }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn repository(&self) -> &str {
        &self.repository
    }

    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    pub fn digest(&self) -> Option<&str> {
        self.digest.as_deref()
    }

    /// Docker Hub's official image `name` (`postgres`, `library/postgres`,
    /// `docker.io/library/postgres`), whatever the tag.
    pub fn is_official(&self, name: &str) -> bool {
        let r = self.repository.strip_prefix("docker.io/").or_else(|| self.repository.strip_prefix("index.docker.io/"));
        let r = r.unwrap_or(&self.repository);
        r.strip_prefix("library/").unwrap_or(r) == name
    }

    /// The major version a tag starts with (`16` of `16.4-alpine`, `18` of `18-bookworm`).
    pub fn major_version(&self) -> Option<u32> {
        let tag = self.tag.as_deref()?;
        let digits = tag.find(|c: char| !c.is_ascii_digit()).map_or(tag, |end| &tag[..end]);
        digits.parse().ok()
    }

    /// Pinned: a digest, or a tag other than `latest`.
    pub fn is_pinned(&self) -> bool {
        self.digest.is_some() || self.tag.as_deref().is_some_and(|t| t != "latest")
    }
}

string_value!(ImageRef, "image", "^[^\\s@]+(@sha256:[0-9a-f]{64})?$", "An image: repository[:tag][@sha256:digest]");

// ---------------------------------------------------------------------------------------------

/// Where a secret comes from at run time. Never a literal.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum SecretRef {
    /// An environment variable read by compose from `.env`.
    #[serde(rename = "env")]
    Env(String),
    /// An absolute path of a file mounted into the container.
    #[serde(rename = "file")]
    File(String),
}

pub const ENV_NAME_PATTERN: &str = "^[A-Za-z_][A-Za-z0-9_]*$";
/// A variable of a container's environment (`compose.environment`): a name as above, or one with
/// dots, which the Elasticsearch and OpenSearch images read as settings (`discovery.type`).
pub const CONTAINER_ENV_PATTERN: &str = "^[A-Za-z_][A-Za-z0-9_.]*$";

impl JsonSchema for SecretRef {
    fn schema_name() -> Cow<'static, str> {
        "SecretRef".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A secret reference, never a literal: { env: NAME } or { file: /abs/path }",
            "x-sightline-type": "secret",
            "oneOf": [
                {
                    "type": "object",
                    "properties": { "env": { "type": "string", "pattern": ENV_NAME_PATTERN } },
                    "required": ["env"],
                    "additionalProperties": false
                },
                {
                    "type": "object",
                    "properties": { "file": { "type": "string", "pattern": "^/" } },
                    "required": ["file"],
                    "additionalProperties": false
                }
            ]
        })
    }
}

impl SecretRef {
    /// Validate the referenced name or path (the structure is checked by the schema).
    pub fn validate(&self) -> Result<(), ValueError> {
        match self {
            SecretRef::Env(n) => {
                let ok = n.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                    && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                if ok {
                    Ok(())
                } else {
                    Err(ValueError::new(
                        Code::InvalidValue,
                        "not an environment variable name",
                        "use letters, digits and `_`, e.g. `{ env: SMTP_PASSWORD }`",
                    ))
                }
            }
            SecretRef::File(p) => {
                if !p.starts_with('/') || p.split('/').any(|c| c == "..") {
                    return Err(ValueError::new(
                        Code::InvalidValue,
                        "a secret file must be an absolute path",
                        "e.g. `{ file: /run/secrets/slack_webhook }`",
                    ));
                }
                // The path goes into compose (where `$` is interpolation) and its file name
                // becomes a compose secret's name: plain path characters only.
                let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '_' | '-');
                match p.chars().find(|c| !plain(*c)) {
                    None if !p.ends_with('/') => Ok(()),
                    None => Err(ValueError::new(
                        Code::InvalidValue,
                        "a secret file path must name a file, not a directory",
                        "e.g. `{ file: /run/secrets/slack_webhook }`",
                    )),
                    Some(c) => Err(ValueError::new(
                        Code::InvalidValue,
                        format!(
                            "a secret file path may hold letters, digits, `/`, `.`, `_` and `-`, not `{}`",
                            c.escape_debug()
                        ),
                        "rename the file, e.g. `{ file: /run/secrets/slack_webhook }`",
                    )),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(Duration::parse("15s").unwrap().millis(), 15_000);
        assert_eq!(Duration::parse("1h30m").unwrap().millis(), 5_400_000);
        assert_eq!(Duration::parse("500ms").unwrap().millis(), 500);
        assert_eq!(Duration::parse("1m500ms").unwrap().millis(), 60_500);
        assert_eq!(Duration::parse("30d").unwrap().canonical(), "30d");
        assert_eq!(Duration::parse("14d").unwrap().canonical(), "2w");
        assert_eq!(Duration::parse("400d").unwrap().canonical(), "1y5w");
        assert_eq!(Duration::from_millis(5_400_000).as_str(), "1h30m");
        for bad in ["", "15", "s", "1m1h", "1h1h", "1.5h", "-1s", "15 s", "99999999999999s"] {
            assert!(Duration::parse(bad).is_err(), "{bad:?}");
        }
        for (words, short) in
            [("5 minutes", "`5m`"), ("1 hour 30 minutes", "`1h30m`"), ("15 s", "`15s`"), ("2 days", "`2d`")]
        {
            let e = Duration::parse(words).unwrap_err();
            assert!(e.help.contains(short), "{words}: {}", e.help);
        }
    }

    #[test]
    fn sizes() {
        assert_eq!(Size::parse("256MiB").unwrap().bytes(), 256 << 20);
        assert_eq!(format_size(8 << 30), "8GiB");
        for bad in ["", "10", "10GB", "1.5GiB", "GiB", "10 GiB"] {
            assert!(Size::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn percents() {
        assert_eq!(Percent::parse("99.9%").unwrap().value(), 99.9);
        for bad in ["99.9", "%", ".5%", "5.%", "1.2.3%", "-1%"] {
            assert!(Percent::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn crons() {
        for ok in [
            "0 2 * * *",
            "0 3 * * sun",
            "*/15 * * * mon-fri",
            "0 0 1 jan *",
            "0 3 * * 7",
            "0 3 * * 0,7",
            "0 3 * * sun-sat",
            "0 3 * * */2",
            "0 3 * * 0-6/3",
        ] {
            assert!(Cron::parse(ok).is_ok(), "{ok:?}");
        }
        for bad in [
            "@daily",
            "0 0 2 * * *",
            "0 2 * *",
            "0 0 L * *",
            "0 0 ? * mon",
            "0 0 * * 1#2",
            "61 * * * *",
            "0 0 * * funday",
            "0 6 * * sat-sun",
            "0 6 * * mon-sun/2",
            "0 6 * * sun-sun",
            "0 6 * * 5-7",
            "0 6 * * 0-7",
            "0 6 * * 1-7/2",
            "0 6 * * */7",
            "0 6 * * 01",
            "0 6 * * 1-07",
        ] {
            assert!(Cron::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn names() {
        assert!(Name::parse("db-main").is_ok());
        for bad in ["", "Api", "1db", "a b", "a;rm", &"a".repeat(64)] {
            assert!(Name::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn images() {
        let i = ImageRef::parse("ghcr.io/faceless/api:2.3.1").unwrap();
        assert_eq!(i.repository(), "ghcr.io/faceless/api");
        assert_eq!(i.tag(), Some("2.3.1"));
        assert!(i.is_pinned());
        assert!(!ImageRef::parse("redis").unwrap().is_pinned());
        assert!(!ImageRef::parse("redis:latest").unwrap().is_pinned());
        assert!(ImageRef::parse("localhost:5000/app").unwrap().tag().is_none());
        let upper = format!("redis@sha256:{}", "A".repeat(64));
        for bad in ["", "Redis:7", "redis:", "redis@sha256:abc", "a//b", &upper] {
            assert!(ImageRef::parse(bad).is_err(), "{bad:?}");
        }
        assert!(ImageRef::parse(&format!("redis:7@sha256:{}", "a0".repeat(32))).is_ok());
        for official in ["postgres:16.4", "library/postgres", "docker.io/library/postgres:17-alpine"] {
            assert!(ImageRef::parse(official).unwrap().is_official("postgres"), "{official}");
        }
        for other in ["timescale/timescaledb:2.17.2-pg16", "ghcr.io/x/postgres:16", "postgres-custom:1"] {
            assert!(!ImageRef::parse(other).unwrap().is_official("postgres"), "{other}");
        }
        for (image, major) in [
            ("postgres:16.4", Some(16)),
            ("postgres:18-alpine", Some(18)),
            ("postgres:17", Some(17)),
            ("postgres", None),
        ] {
            assert_eq!(ImageRef::parse(image).unwrap().major_version(), major, "{image}");
        }
        assert_eq!(ImageRef::parse("postgres:alpine").unwrap().major_version(), None);
    }
}

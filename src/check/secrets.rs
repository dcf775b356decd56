//! Secrets: a string anywhere in the manifest outside secret fields that has the shape of a
//! credential (SL302). (A literal in a field that takes a secret reference is found while
//! decoding, SL301.) Messages name the field and what it looks like, never the value.

use super::Ctx;
use crate::code::Code;
use crate::diagnostic::{Diagnostic, Sink};
use serde_json::Value;

fn secret_looking(field: &str, what: &str, at: crate::source::Span) -> Diagnostic {
    Diagnostic::error(Code::SecretLooking, format!("`{field}` contains what looks like {what}"))
        .at(at)
        .label("credential-like value (not shown)")
        .help("keep credentials out of the manifest: use a secret reference (`{ env: NAME }` or `{ file: /path }`) where the field takes one, or move the credential out of the URL; then rotate it")
}

pub fn check(ctx: &Ctx, sink: &mut Sink) {
    let Ok(tree) = serde_json::to_value(ctx.manifest) else { return };
    walk(ctx, &tree, String::new(), sink);
}

fn walk(ctx: &Ctx, v: &Value, ptr: String, sink: &mut Sink) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                walk(ctx, v, format!("{ptr}/{}", crate::source::escape_token(k)), sink);
            }
        }
        Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                walk(ctx, v, format!("{ptr}/{i}"), sink);
            }
        }
        Value::String(s) => {
            if let Some(what) = classify(s) {
                let field = crate::source::tokens(&ptr).last().cloned().unwrap_or_default();
                sink.push(secret_looking(&field, what, ctx.source.value_span(&ptr)));
            }
        }
        _ => {}
    }
}

/// What kind of credential a string looks like, if any.
pub fn classify(s: &str) -> Option<&'static str> {
    let lower = s.to_ascii_lowercase();
    if lower.contains("hooks.slack.com/services/") || lower.contains("hooks.slack.com/workflows/") {
        return Some("a Slack webhook URL");
    }
    if ["xoxb-", "xoxp-", "xoxa-", "xoxr-", "xoxs-"].iter().any(|p| lower.contains(p)) {
        return Some("a Slack token");
    }
    if lower.contains("events.pagerduty.com") && lower.contains("routing_key") {
        return Some("a PagerDuty routing key in a URL");
    }
    if lower.contains("-----begin") && lower.contains("private key") {
        return Some("a private key");
    }
    if let Some(rest) = lower.split_once("://").map(|(_, r)| r) {
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        if let Some((userinfo, _)) = authority.rsplit_once('@')
            && userinfo.contains(':')
            && !userinfo.ends_with(':')
        {
            return Some("a password in a URL");
        }
        if let Some((_, query)) = rest.split_once('?') {
            for pair in query.split('&') {
                if let Some((k, v)) = pair.split_once('=') {
                    let sensitive = [
                        "password",
                        "passwd",
                        "pwd",
                        "token",
                        "api_key",
                        "apikey",
                        "secret",
                        "access_token",
                        "routing_key",
                    ];
                    if !v.is_empty() && sensitive.contains(&k) {
                        return Some("a credential in a URL query");
                    }
                }
            }
        }
    }
    let t = s.trim();
    if t.len() == 36 && is_uuid(t) {
        return Some("an Opsgenie API key");
    }
    if t.len() == 32
        && t.chars().all(|c| c.is_ascii_alphanumeric())
        && t.chars().any(|c| c.is_ascii_digit())
        && t.chars().any(|c| c.is_ascii_alphabetic())
    {
        return Some("a PagerDuty integration key");
    }
    // Providers' token formats, anywhere in the value: GitHub (`ghp_`, `gho_`, `ghu_`, `ghs_`,
    // `ghr_`, `github_pat_`), GitLab (`glpat-`), Slack app tokens (`xapp-`), AWS access key ids.
    let token = |w: &str| {
        ["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "glpat-", "xapp-"]
            .iter()
            .any(|p| w.starts_with(p) && w.len() >= p.len() + 16)
            || ((w.starts_with("AKIA") || w.starts_with("ASIA"))
                && w.len() == 20
                && w.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()))
    };
    if t.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-')).any(token) {
        return Some("an access token");
    }
    None
}

fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups.iter().zip([8, 4, 4, 4, 12]).all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::classify;

    #[test]
    fn finds_credentials() {
        assert!(classify("https://hooks.slack.com/services/T000/B000/XXXX").is_some());
        for token in [
            "ghp_0123456789abcdefghijABCDEFGHIJ012345",
            "token github_pat_11ABCDEFG0123456789_abcdefghijklmnop",
            "glpat-abcdefghij0123456789",
            "AKIAIOSFODNN7EXAMPLE",
        ] {
            assert_eq!(classify(token), Some("an access token"), "{token}");
        }
        assert_eq!(classify("ghp_short"), None);
        assert!(classify("postgres://app:hunter2@db:5432/app").is_some());
        assert!(classify("http://api:8000/hook?token=abc").is_some());
        assert!(classify("0f8fad5b-d9cb-469f-a165-70867728950e").is_some());
        assert!(classify("a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6").is_some());
    }

    #[test]
    fn leaves_ordinary_strings() {
        for s in [
            "http://api:8000/internal/alerts",
            "#ops-alerts",
            "team@faceless.example",
            "sum(render_queue_depth) > 100",
            "https://runbooks.example/{alert}",
            "postgres://db:5432/app",
        ] {
            assert!(classify(s).is_none(), "{s}");
        }
    }
}

//! alloy/config.alloy, for every manifest with the Alloy collector: read by Alloy's own parser
//! (tools/alloy_syntax; Alloy itself is too large to build for the tests); produced instead of
//! Promtail's config; blocks and strings well formed; every component a block refers to is
//! defined; containers filtered before they are tailed; every service collected; and the
//! redaction expressions mask secrets as Promtail's do.

use crate::prometheus::manifests;
use crate::support::build_into_tempdir;
use regex::Regex;

/// The string literals of an Alloy file, unescaped, and a check that braces balance outside them.
fn strings_and_balance(text: &str) -> Vec<String> {
    let mut strings = Vec::new();
    let mut depth: Vec<char> = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            '"' => {
                let mut s = String::new();
                loop {
                    match chars.next().expect("unterminated string") {
                        '\\' => match chars.next().expect("dangling escape") {
                            'n' => s.push('\n'),
                            't' => s.push('\t'),
                            other => s.push(other),
                        },
                        '"' => break,
                        c => s.push(c),
                    }
                }
                strings.push(s);
            }
            '{' | '[' => depth.push(c),
            '}' => assert_eq!(depth.pop(), Some('{'), "unbalanced }}"),
            ']' => assert_eq!(depth.pop(), Some('['), "unbalanced ]"),
            _ => {}
        }
    }
    assert!(depth.is_empty(), "unclosed {depth:?}");
    strings
}

/// Alloy's own parser (`tools/alloy_syntax`, the syntax module at the version Alloy's go.mod
/// requires) reads every generated config, and refuses a broken one.
#[test]
fn alloys_parser_reads_every_config() {
    let parser = crate::support::require_tool("alloy-syntax");
    let mut seen = 0;
    for m in manifests() {
        let dir = build_into_tempdir(&m);
        let alloy = dir.path().join("alloy/config.alloy");
        if !alloy.exists() {
            continue;
        }
        seen += 1;
        let (ok, out) = crate::support::run(std::process::Command::new(&parser).arg(&alloy));
        assert!(ok, "{}: Alloy's parser refuses config.alloy:\n{out}", m.display());
    }
    assert!(seen >= 1, "no manifest uses the Alloy collector");
    let bad = tempfile::tempdir().unwrap();
    std::fs::write(bad.path().join("bad.alloy"), "loki.write \"default\" {\n  endpoint {\n    url = \n  }\n}\n")
        .unwrap();
    let (ok, out) = crate::support::run(std::process::Command::new(&parser).arg(bad.path().join("bad.alloy")));
    assert!(!ok && out.contains("bad.alloy:4"), "{out}");
}

#[test]
fn alloy_config_is_well_formed_and_complete() {
    let mut seen = 0;
    let block = Regex::new(r#"(?m)^([a-z_.]+) "([A-Za-z0-9_]+)" \{"#).unwrap();
    let reference =
        Regex::new(r"\b((?:loki|discovery|local)\.[a-z_.]+?\.[A-Za-z0-9_]+)\.(receiver|targets|rules|output)\b")
            .unwrap();
    for m in manifests() {
        let checked = sightline::check(&m.to_string_lossy(), &std::fs::read(&m).unwrap());
        let stack = sightline::ir::lower(checked.manifest.as_ref().unwrap(), "m");
        let dir = build_into_tempdir(&m);
        let alloy = dir.path().join("alloy/config.alloy");
        let promtail = dir.path().join("promtail/promtail-config.yml");
        if stack.logs.collector != sightline::manifest::model::Collector::Alloy {
            assert!(!alloy.exists() && promtail.exists(), "{}", m.display());
            continue;
        }
        seen += 1;
        assert!(!promtail.exists(), "{}: Alloy replaces Promtail", m.display());
        let text = std::fs::read_to_string(&alloy).unwrap();
        let strings = strings_and_balance(&text);
        let defined: Vec<String> = block.captures_iter(&text).map(|c| format!("{}.{}", &c[1], &c[2])).collect();
        // Docker is read through the socket proxy, never the socket itself.
        assert!(!text.contains("unix://"), "{}: Alloy reads the Docker socket", m.display());
        // Containers are filtered before they are tailed: loki.source.docker tails every target
        // it is given and applies `relabel_rules` only to the labels of what it reads.
        if text.contains("loki.source.docker") {
            let source = &text[text.find("loki.source.docker").unwrap()..];
            let source = &source[..source.find("\n}").unwrap()];
            assert!(
                source.contains("targets    = discovery.relabel.containers.output")
                    && !source.contains("relabel_rules"),
                "{}: loki.source.docker must read the relabelled (kept) targets:\n{source}",
                m.display()
            );
        }
        for r in reference.captures_iter(&text) {
            assert!(defined.contains(&r[1].to_string()), "{}: {} is used but not defined", m.display(), &r[1]);
        }
        for s in &stack.services {
            let collected = match &s.log_path {
                Some(p) => strings.contains(p),
                None => strings
                    .iter()
                    .any(|x| x.split('|').any(|n| n == s.name.as_str()) && x.contains('|') || x == s.name.as_str()),
            };
            assert!(collected, "{}: {} is not collected", m.display(), s.name);
        }
        // The redaction expressions are Promtail's, and mask the same way.
        let expected = sightline::targets::promtail::pipeline::redactions(&stack.logs.redact);
        for e in &expected {
            assert!(strings.contains(e), "{}: redaction {e} missing", m.display());
        }
        for key in &stack.logs.redact {
            let line = format!(r#"{{"{key}":"s3cr3t"}} {key}=s3cr3t {key}: s3cr3t"#);
            let masked = expected.iter().fold(line, |l, e| {
                let re = Regex::new(e).unwrap();
                let mut out = String::new();
                let mut last = 0;
                for c in re.captures_iter(&l) {
                    let g = c.get(1).unwrap();
                    out.push_str(&l[last..g.start()]);
                    out.push_str("****");
                    last = g.end();
                }
                out.push_str(&l[last..]);
                out
            });
            assert!(!masked.contains("s3cr3t"), "{masked}");
        }
    }
    assert!(seen >= 1, "no manifest uses the Alloy collector");
}

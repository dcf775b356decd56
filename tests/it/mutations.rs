//! The schema and the model agree: whatever a value is replaced with, the manifest either
//! decodes or gets ordinary diagnostics; never a panic and never the internal "could not be
//! decoded" error that would mean the schema let through something serde refuses.
//! Deterministic: the mutations come from a fixed-seed generator.

use crate::support::examples;
use serde_json::{Value, json};

struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
}

fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    out.push(at.clone());
    match v {
        Value::Object(m) => {
            m.iter().for_each(|(k, v)| pointers(v, format!("{at}/{}", sightline::source::escape_token(k)), out))
        }
        Value::Array(a) => a.iter().enumerate().for_each(|(i, v)| pointers(v, format!("{at}/{i}"), out)),
        _ => {}
    }
}

#[test]
fn no_replacement_breaks_decoding() {
    let replacements = [
        json!(null),
        json!(true),
        json!(false),
        json!(0),
        json!(-1),
        json!(1.5),
        json!(""),
        json!("off"),
        json!("15s"),
        json!("99.9%"),
        json!("0 2 * * *"),
        json!([]),
        json!(["x"]),
        json!({}),
        json!({"env": "X"}),
        json!({"file": "relative"}),
    ];
    let mut rng = Lcg(0x5eed);
    let mut tried = 0;
    for path in examples() {
        let text = std::fs::read_to_string(&path).unwrap();
        let checked = sightline::check(&path.to_string_lossy(), text.as_bytes());
        let base = serde_json::to_value(checked.manifest.expect("example decodes")).unwrap();
        let mut ptrs = Vec::new();
        pointers(&base, String::new(), &mut ptrs);
        for ptr in ptrs.iter().filter(|p| !p.is_empty()) {
            for _ in 0..4 {
                let mut doc = base.clone();
                let r = replacements[(rng.next() % replacements.len() as u64) as usize].clone();
                *doc.pointer_mut(ptr).unwrap() = r.clone();
                // Feed it back as YAML text through the whole front end.
                let yaml = serde_json::to_string(&doc).unwrap();
                let out = sightline::check("mutant.yaml", yaml.as_bytes());
                for d in &out.diagnostics {
                    assert!(
                        !d.message.contains("could not be decoded"),
                        "{ptr} = {r} in {}: schema and model disagree: {}",
                        path.display(),
                        d.message
                    );
                }
                tried += 1;
            }
        }
    }
    assert!(tried > 500, "only {tried} mutations tried");
}

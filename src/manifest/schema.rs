//! The JSON Schema of the manifest, derived from the model. It is committed at
//! `schema/stack.schema.json` (editors validate and complete with it), printed by
//! `sightline schema`, and used by `decode` to find every structural mistake in one pass.

use super::model::Manifest;
use serde_json::Value;
use std::sync::OnceLock;

/// Where the committed schema is published, for the `$id` and the examples' modelines.
pub const SCHEMA_PATH: &str = "schema/stack.schema.json";

/// The schema as a JSON value (built once).
pub fn schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let generator = schemars::generate::SchemaSettings::draft2020_12().into_generator();
        let schema = generator.into_root_schema_for::<Manifest>();
        let mut schema = serde_json::to_value(schema).expect("a derived schema is valid JSON");
        per_kind(&mut schema);
        schema
    })
}

/// A service's fields per kind (`kinds::KindDef::fields` and `requires`), as a union tagged by
/// `kind` says them to editors: for each kind, `if` the service is of it, `then` the fields it
/// requires, and every other kind's field marked deprecated (`deprecated`, and the
/// `deprecationMessage` editors show: it has no effect there, SL205). Only annotations: the
/// service's own `properties` type every field for every kind, and a field no kind takes is
/// unknown (`additionalProperties`), so validators of any draft read it alike.
fn per_kind(root: &mut Value) {
    use crate::manifest::model::Kind;
    let service = &mut root["$defs"]["Service"];
    let fields: Vec<String> = service["properties"]
        .as_object()
        .map(|p| p.keys().filter(|f| !crate::kinds::COMMON_FIELDS.contains(&f.as_str())).cloned().collect())
        .unwrap_or_default();
    let branches: Vec<Value> = Kind::ALL
        .into_iter()
        .map(|k| {
            let def = crate::kinds::def(k);
            let mut elsewhere = serde_json::Map::new();
            for f in fields.iter().filter(|f| !def.fields.contains(&f.as_str())) {
                let message = format!("`{f}` has no effect on a service of kind `{}` (SL205).", k.as_str());
                elsewhere.insert(f.clone(), serde_json::json!({ "deprecated": true, "deprecationMessage": message }));
            }
            let mut required = vec!["kind"];
            required.extend(def.requires);
            serde_json::json!({
                "if": { "properties": { "kind": { "const": k.as_str() } }, "required": ["kind"] },
                "then": { "properties": elsewhere, "required": required },
            })
        })
        .collect();
    service["allOf"] = Value::Array(branches);
}

/// The schema as the committed file: pretty JSON with one trailing newline.
pub fn schema_text() -> String {
    let mut s = serde_json::to_string_pretty(schema()).expect("schema serializes");
    s.push('\n');
    s
}

/// Follow a local `$ref` (`#/$defs/Name`) to the schema it names.
pub fn resolve<'a>(root: &'a Value, mut node: &'a Value) -> &'a Value {
    for _ in 0..32 {
        match node.get("$ref").and_then(Value::as_str) {
            Some(r) => match r.strip_prefix('#').and_then(|p| root.pointer(p)) {
                Some(n) => node = n,
                None => return node,
            },
            None => return node,
        }
    }
    node
}

/// The alternatives of a schema node (`anyOf`/`oneOf`), resolved, or the node itself.
pub fn alternatives<'a>(root: &'a Value, node: &'a Value) -> Vec<&'a Value> {
    let node = resolve(root, node);
    // A value type (a secret reference, say) is one alternative even when built from several.
    if node.get("x-sightline-type").is_some() {
        return vec![node];
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(Value::Array(branches)) = node.get(key) {
            return branches.iter().flat_map(|b| alternatives(root, b)).collect();
        }
    }
    vec![node]
}

/// The schema of a child `token` of an object or array node.
pub fn child<'a>(root: &'a Value, node: &'a Value, token: &str) -> Option<&'a Value> {
    let node = resolve(root, node);
    if let Some(p) = node.get("properties").and_then(|p| p.get(token)) {
        return Some(p);
    }
    if let Some(a @ Value::Object(_)) = node.get("additionalProperties") {
        return Some(a);
    }
    // Maps keyed by names: the values' schema sits under the key pattern.
    if let Some(Value::Object(pp)) = node.get("patternProperties") {
        return pp.values().next();
    }
    if let Some(i @ Value::Object(_)) = node.get("items")
        && token.parse::<usize>().is_ok()
    {
        return Some(i);
    }
    None
}

/// The schema nodes a value at `pointer` may match, each alternative resolved.
fn nodes_at(pointer: &str) -> Vec<&'static Value> {
    let root = schema();
    let mut nodes = vec![root];
    for t in crate::source::tokens(pointer) {
        nodes = nodes.into_iter().flat_map(|n| alternatives(root, n)).filter_map(|n| child(root, n, &t)).collect();
    }
    nodes.into_iter().flat_map(|n| alternatives(root, n)).collect()
}

/// The property names an object schema at `pointer` knows (for "did you mean").
pub fn known_properties(pointer: &str) -> Vec<String> {
    let mut out: Vec<String> = nodes_at(pointer)
        .into_iter()
        .filter_map(|n| n.get("properties").and_then(Value::as_object))
        .flat_map(|p| p.keys().cloned())
        .collect();
    out.dedup();
    out
}

/// The schema of the entries of a map keyed by names (`services`, `receivers`), when the node
/// at `pointer` is one: its values' schema, not a fixed set of properties.
pub fn entry_schema(pointer: &str) -> Option<&'static Value> {
    nodes_at(pointer).into_iter().find_map(|n| {
        if n.get("properties").is_some() {
            return None;
        }
        match (n.get("additionalProperties"), n.get("patternProperties")) {
            (Some(a @ Value::Object(_)), _) => Some(a),
            (_, Some(Value::Object(pp))) => pp.values().next(),
            _ => None,
        }
    })
}

/// Every place in the manifest where a mapping has a field named `key`, as dotted paths
/// (`logs`, `observability.prometheus`, `services.<name>`, `alerting.routes[]`), shallowest
/// first: where a misplaced field belongs. The index of every field is built once.
pub fn places_of(key: &str) -> &'static [String] {
    static INDEX: OnceLock<std::collections::HashMap<String, Vec<String>>> = OnceLock::new();
    INDEX.get_or_init(field_index).get(key).map_or(&[], Vec::as_slice)
}

/// Field name → the places that have it, walking the schema breadth-first.
fn field_index() -> std::collections::HashMap<String, Vec<String>> {
    let root = schema();
    let mut index: std::collections::HashMap<String, Vec<String>> = std::collections::HashMap::new();
    let mut seen = std::collections::HashSet::new();
    let mut level: Vec<(&Value, String)> = vec![(root, String::new())];
    for _ in 0..8 {
        let mut next = Vec::new();
        for (node, path) in level {
            for n in alternatives(root, node) {
                if !seen.insert((n as *const Value, path.clone())) {
                    continue;
                }
                let join = |p: &str, k: &str| if p.is_empty() { k.to_string() } else { format!("{p}.{k}") };
                if let Some(props) = n.get("properties").and_then(Value::as_object) {
                    for (k, v) in props {
                        let places = index.entry(k.clone()).or_default();
                        if !places.contains(&path) {
                            places.push(path.clone());
                        }
                        next.push((v, join(&path, k)));
                    }
                }
                if let Some(a @ Value::Object(_)) = n.get("additionalProperties") {
                    next.push((a, join(&path, "<name>")));
                }
                if let Some(Value::Object(pp)) = n.get("patternProperties") {
                    next.extend(pp.values().map(|v| (v, join(&path, "<name>"))));
                }
                if let Some(i @ Value::Object(_)) = n.get("items") {
                    next.push((i, format!("{path}[]")));
                }
            }
        }
        level = next;
    }
    index
}

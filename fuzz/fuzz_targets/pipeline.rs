// The whole pipeline on one input, as the command line runs it: read and check, render the
// diagnostics in every format (the renderer masks and escapes what it quotes), and, when the
// manifest is clean, plan every generated file. Any panic is a finding.
fn pipeline(name: &str, data: &[u8]) {
    let checked = sightline::check(name, data);
    for format in [
        sightline::diagnostic::Format::Human,
        sightline::diagnostic::Format::Json,
        sightline::diagnostic::Format::Github,
    ] {
        let _ = sightline::diagnostic::render(&checked.source, &checked.diagnostics, format, false);
    }
    if let Some(plan) = sightline::plan(&checked) {
        assert!(plan.files.contains_key("sightline.lock"));
    }
}

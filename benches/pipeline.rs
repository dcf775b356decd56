//! How fast and how lean the pipeline is: `cargo bench --bench pipeline` prints, for every
//! example, the time to check and to plan (median of many runs), and for hostile inputs the time
//! to refuse them; then the process's peak memory. Targets: a check well under 50 ms for a real
//! manifest (a pre-commit hook must feel instant) and every hostile input refused within a
//! second; the figures are printed, not asserted, so a busy machine cannot make a test flaky.

use std::time::{Duration, Instant};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time<F: FnMut()>(runs: usize, mut f: F) -> Duration {
    median(
        (0..runs)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed()
            })
            .collect(),
    )
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find(|l| l.starts_with("VmHWM:"))?.split_whitespace().nth(1)?.parse().ok()
}

fn main() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut examples: Vec<_> = std::fs::read_dir(root.join("examples")).unwrap().map(|e| e.unwrap().path()).collect();
    examples.sort();
    println!("{:<34} {:>12} {:>12}", "manifest", "check", "check+plan");
    for path in &examples {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(path).unwrap();
        let check = time(50, || {
            std::hint::black_box(sightline::check(&name, &bytes));
        });
        let plan = time(50, || {
            let c = sightline::check(&name, &bytes);
            std::hint::black_box(sightline::plan(&c));
        });
        println!("{name:<34} {check:>12.2?} {plan:>12.2?}");
    }
    let mut bomb = vec!["a0: &a0 [x,x,x,x,x,x,x,x,x,x]".to_string()];
    for i in 1..12 {
        bomb.push(format!("a{i}: &a{i} [{}]", vec![format!("*a{}", i - 1); 10].join(",")));
    }
    let hostile: Vec<(&str, Vec<u8>)> = vec![
        ("alias-bomb.yaml", bomb.join("\n").into_bytes()),
        ("nesting-10000.yaml", format!("a: {}{}\n", "[".repeat(10_000), "]".repeat(10_000)).into_bytes()),
        ("nesting-10000.toml", format!("a = {}{}\n", "[".repeat(10_000), "]".repeat(10_000)).into_bytes()),
        ("4MiB-of-scalars.yaml", format!("x: {}\n", "a".repeat((4 << 20) - 10)).into_bytes()),
        ("binary.yaml", (0..65_536u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect()),
    ];
    println!("\n{:<34} {:>12}", "hostile input (refused)", "time");
    for (name, bytes) in &hostile {
        let t = time(5, || {
            let c = sightline::check(name, bytes);
            assert!(c.has_errors());
        });
        println!("{name:<34} {t:>12.2?}");
    }
    if let Some(kib) = peak_rss_kib() {
        println!("\npeak memory (VmHWM): {:.1} MiB", kib as f64 / 1024.0);
    }
}

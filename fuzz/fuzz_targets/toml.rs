//! `cargo +nightly fuzz run toml`: any bytes as `stack.toml`, through the whole pipeline.
#![no_main]

include!("pipeline.rs");

libfuzzer_sys::fuzz_target!(|data: &[u8]| pipeline("stack.toml", data));

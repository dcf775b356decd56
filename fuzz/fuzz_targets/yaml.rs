//! `cargo +nightly fuzz run yaml`: any bytes as `stack.yaml`, through the whole pipeline.
#![no_main]

include!("pipeline.rs");

libfuzzer_sys::fuzz_target!(|data: &[u8]| pipeline("stack.yaml", data));

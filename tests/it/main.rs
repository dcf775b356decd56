//! The integration test binary: one binary, one module per concern.

mod support;

mod cli;
mod docs;
mod examples;
mod fixtures;
mod mutations;
mod prometheus;

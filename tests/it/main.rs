//! The integration test binary: one binary, one module per concern.

mod support;

mod alertmanager;
mod alloy;
mod backups;
mod cli;
mod compose;
mod docs;
mod durability;
mod examples;
mod fixtures;
mod grafana;
mod kubernetes;
mod logql;
mod loki;
mod mutations;
mod mysql_server;
mod pg_server;
mod pin;
mod postgres;
pub mod prometheus;
mod promtail;
mod upstream;
mod workflow;

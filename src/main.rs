fn main() -> std::process::ExitCode {
    sightline::cli::run(std::env::args_os())
}

// The pipeline builds and drops many small values (the JSON trees every target serializes):
// with the system allocator, a fifth of a 1,000-service build was malloc and free. mimalloc 2,
// not 3: see Cargo.toml.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    sightline::cli::run(std::env::args_os())
}

//! The command line: argument parsing (clap), finding the manifest, printing, exit codes.
//!
//! Exit codes mean one thing each: 0 fine, 1 the manifest or the committed output is wrong,
//! 2 sightline could not do its job (unreadable file, I/O error, bad arguments).

mod build;
mod init;
mod output;
mod pin;
mod route;
mod stacks;

use clap::{Parser, Subcommand, ValueEnum};
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

/// The outcome of a command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Exit 0.
    Ok,
    /// Exit 1: the manifest or the committed output is wrong.
    Failure,
    /// Exit 2: sightline could not run.
    Error,
}

impl Status {
    /// The worse of two outcomes: sightline failing to run, then a failure, then fine.
    pub fn worst(self, other: Status) -> Status {
        let rank = |s: Status| match s {
            Status::Ok => 0,
            Status::Failure => 1,
            Status::Error => 2,
        };
        if rank(other) > rank(self) { other } else { self }
    }
}

impl From<Status> for ExitCode {
    fn from(s: Status) -> ExitCode {
        ExitCode::from(match s {
            Status::Ok => 0,
            Status::Failure => 1,
            Status::Error => 2,
        })
    }
}

#[derive(Parser, Debug)]
#[command(
    name = "sightline",
    version,
    about = "Compile one stack manifest into a consistent observability stack.",
    propagate_version = true
)]
pub struct Cli {
    /// How diagnostics are printed (human, json, github); for `graph`, mermaid or dot.
    #[arg(long, global = true, value_enum, default_value_t = FormatArg::Human)]
    format: FormatArg,
    /// Colour in human output (NO_COLOR is honoured by `auto`).
    #[arg(long, global = true, value_enum, default_value_t = ColorArg::Auto)]
    color: ColorArg,
    /// Treat every warning as an error (exit 1), as the manifest's `deny_warnings: true` does.
    #[arg(long, global = true)]
    deny_warnings: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum FormatArg {
    Human,
    Json,
    Github,
    Mermaid,
    Dot,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ColorArg {
    Auto,
    Always,
    Never,
}

#[derive(clap::Args, Debug, Clone)]
struct ManifestArg {
    /// The manifest (default: stack.yaml or stack.toml in the current directory).
    #[arg(short = 'f', long = "file", value_name = "MANIFEST")]
    file: Option<PathBuf>,
}

#[derive(clap::Args, Debug, Clone)]
struct ManifestsArg {
    /// Manifests (default: stack.yaml or stack.toml in the current directory). A directory
    /// names the manifest in it; a file inside an output directory names that output's stack,
    /// so pre-commit can pass whatever changed.
    #[arg(value_name = "MANIFEST")]
    paths: Vec<PathBuf>,
    /// A manifest, the same as naming it (repeatable).
    #[arg(short = 'f', long = "file", value_name = "MANIFEST")]
    files: Vec<PathBuf>,
    /// The arguments are changed files, as pre-commit passes them: each names the stack it
    /// belongs to (a manifest, or a file in an output directory); a file that belongs to no
    /// stack is skipped, and no file at all is nothing to do.
    #[arg(long)]
    changed: bool,
}

impl ManifestsArg {
    fn all(&self) -> Vec<PathBuf> {
        self.files.iter().chain(&self.paths).cloned().collect()
    }
}

#[derive(clap::Args, Debug, Clone, Copy)]
struct PlatformArg {
    /// The platform to build for, when not the manifest's `platform:` (compose unless it says
    /// otherwise); an output directory built for one is built for it again.
    #[arg(long, value_enum, value_name = "PLATFORM")]
    platform: Option<PlatformChoice>,
}

#[derive(clap::ValueEnum, Debug, Clone, Copy)]
enum PlatformChoice {
    /// One host: compose.yaml and the files it mounts.
    Compose,
    /// Prometheus Operator objects and a kube-prometheus-stack values overlay.
    Kubernetes,
}

impl PlatformArg {
    fn get(self) -> Option<crate::manifest::model::Platform> {
        use crate::manifest::model::Platform;
        self.platform.map(|p| match p {
            PlatformChoice::Compose => Platform::Compose,
            PlatformChoice::Kubernetes => Platform::Kubernetes,
        })
    }
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Write a commented starter stack.yaml (never overwrites).
    Init {
        /// Where to write it.
        #[arg(short = 'f', long = "file", default_value = "stack.yaml")]
        file: PathBuf,
    },
    /// Check manifests and print every problem.
    Check {
        #[command(flatten)]
        manifests: ManifestsArg,
        #[command(flatten)]
        platform: PlatformArg,
    },
    /// Generate each stack's files.
    Build {
        #[command(flatten)]
        manifests: ManifestsArg,
        /// The output directory (default: generated/ beside the manifest, generated-kubernetes/
        /// for kubernetes); one manifest only.
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        platform: PlatformArg,
        /// Write nothing; fail (exit 1) with a diff when the output directory is not what the
        /// manifest generates.
        #[arg(long)]
        check: bool,
        /// Overwrite generated files that were edited by hand.
        #[arg(long, conflicts_with = "check")]
        force: bool,
    },
    /// Look up the digest of every image of a `pin: digest` stack that its lock does not record
    /// yet, record them in the lock, and build.
    Pin {
        #[command(flatten)]
        manifests: ManifestsArg,
        /// The output directory (default: generated/ beside the manifest, generated-kubernetes/
        /// for kubernetes); one manifest only.
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        platform: PlatformArg,
        /// Look up every image again, recorded or not: move to what the tags name today.
        #[arg(long)]
        update: bool,
        /// Overwrite generated files that were edited by hand, as `build --force` does.
        #[arg(long)]
        force: bool,
        /// Ask a mirror for a registry's images: REGISTRY=URL, e.g.
        /// `docker.io=https://harbor.example/dockerhub` (repeatable).
        #[arg(long, value_name = "REGISTRY=URL", value_parser = pin::parse_mirror)]
        mirror: Vec<(String, String)>,
    },
    /// Show how each output directory differs from what its manifest generates.
    Diff {
        #[command(flatten)]
        manifests: ManifestsArg,
        /// The output directory (default: generated/ beside the manifest, generated-kubernetes/
        /// for kubernetes); one manifest only.
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        platform: PlatformArg,
    },
    /// Print the receivers an alert reaches, one per line: an alert's name (its labels are
    /// taken from the generated rules), labels, or both; `--all` for every alert.
    Route {
        #[command(flatten)]
        manifest: ManifestArg,
        /// An alert's name and/or its labels, e.g. `HighErrorRate service=api` or
        /// `severity=critical category=security`.
        #[arg(value_name = "[ALERT] LABEL=VALUE")]
        labels: Vec<String>,
        /// Every generated and user alert with the receivers it reaches.
        #[arg(long)]
        all: bool,
        /// The alerts of the platform's tree (the kubernetes one leaves some out).
        #[command(flatten)]
        platform: PlatformArg,
    },
    /// Draw the stack: services, exporters, Prometheus, Alertmanager, receivers, logs.
    Graph {
        #[command(flatten)]
        manifest: ManifestArg,
    },
    /// Print the JSON Schema of the manifest.
    Schema,
    /// Explain a diagnostic code, e.g. `sightline explain SL201`; without a code, list them.
    Explain { code: Option<String> },
    /// Print shell completions.
    Completions { shell: clap_complete::Shell },
}

/// Run the command line; the arguments include the program name.
pub fn run<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { Status::Error.into() } else { Status::Ok.into() };
        }
    };
    let mut out = output::Output::new(
        match cli.format {
            FormatArg::Human | FormatArg::Mermaid | FormatArg::Dot => crate::diagnostic::Format::Human,
            FormatArg::Json => crate::diagnostic::Format::Json,
            FormatArg::Github => crate::diagnostic::Format::Github,
        },
        match cli.color {
            ColorArg::Always => Some(true),
            ColorArg::Never => Some(false),
            ColorArg::Auto => None,
        },
    );
    out.deny_warnings = cli.deny_warnings;
    // mermaid and dot are pictures of the stack: only `graph` draws them.
    if matches!(cli.format, FormatArg::Mermaid | FormatArg::Dot) && !matches!(cli.command, Command::Graph { .. }) {
        out.error(
            "--format mermaid and --format dot are for `sightline graph`; diagnostics print as human, json or github",
        );
        return Status::Error.into();
    }
    let status = match cli.command {
        Command::Init { file } => init::run(&file, &out),
        Command::Check { manifests, platform } => {
            match stacks::resolve(&manifests.all(), None, manifests.changed, platform.get(), &out) {
                None => Status::Error,
                Some(s) => build::each(&s, |s| build::check(s, &out)),
            }
        }
        Command::Build { manifests, out: dir, platform, check, force } => {
            match stacks::resolve(&manifests.all(), dir.as_deref(), manifests.changed, platform.get(), &out) {
                None => Status::Error,
                Some(s) if check => build::each(&s, |s| build::drift(s, true, &out)),
                Some(s) => build::each(&s, |s| build::build(s, force, &out)),
            }
        }
        Command::Pin { manifests, out: dir, platform, update, force, mirror } => {
            match stacks::resolve(&manifests.all(), dir.as_deref(), manifests.changed, platform.get(), &out) {
                None => Status::Error,
                Some(s) => {
                    let resolver = crate::registry::Resolver::new(mirror.into_iter().collect());
                    build::each(&s, |s| pin::run(s, &resolver, update, force, &out))
                }
            }
        }
        Command::Diff { manifests, out: dir, platform } => {
            match stacks::resolve(&manifests.all(), dir.as_deref(), manifests.changed, platform.get(), &out) {
                None => Status::Error,
                Some(s) => build::each(&s, |s| build::drift(s, false, &out)),
            }
        }
        Command::Route { manifest, labels, all, platform } => {
            route::run(manifest.file, &labels, all, platform.get(), &out)
        }
        Command::Graph { manifest } => {
            let dot = match cli.format {
                FormatArg::Dot => true,
                FormatArg::Mermaid | FormatArg::Human => false,
                FormatArg::Json | FormatArg::Github => {
                    out.error("graph prints --format mermaid (the default) or --format dot");
                    return Status::Error.into();
                }
            };
            let Some(checked) = build::load(manifest.file, &out) else { return Status::Error.into() };
            match checked.manifest.as_ref().filter(|_| !checked.has_errors()) {
                None => Status::Failure,
                Some(m) => {
                    let stack = crate::ir::lower(m, &crate::display_name(&checked.source.name));
                    out.stdout(&if dot {
                        crate::targets::graph::dot(&stack)
                    } else {
                        crate::targets::graph::mermaid(&stack)
                    });
                    Status::Ok
                }
            }
        }
        Command::Schema => {
            out.stdout(&crate::manifest::schema::schema_text());
            Status::Ok
        }
        Command::Explain { code } => explain(code.as_deref(), &out),
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            let mut buf = Vec::new();
            clap_complete::generate(shell, &mut cmd, "sightline", &mut buf);
            out.stdout(&String::from_utf8_lossy(&buf));
            Status::Ok
        }
    };
    status.into()
}

fn explain(code: Option<&str>, out: &output::Output) -> Status {
    use crate::code::Code;
    match code {
        None => {
            let mut s = String::new();
            for c in Code::ALL {
                s.push_str(&format!("{}  {}\n", c.as_str(), c.summary()));
            }
            out.stdout(&s);
            Status::Ok
        }
        Some(c) => match c.parse::<Code>() {
            Ok(c) => {
                out.stdout(&format!("{}: {}\n\n{}\n", c.as_str(), c.summary(), c.explanation()));
                Status::Ok
            }
            Err(()) => {
                out.error(&format!("unknown code `{c}`; `sightline explain` lists them"));
                Status::Error
            }
        },
    }
}

//! Images: pin versions. An image without a tag, or tagged `latest`, is a warning; so is a
//! component release its upstream no longer supports; one older than the generated files need
//! is an error.

use super::Ctx;
use crate::code::Code;
use crate::diagnostic::{Diagnostic, Sink};
use crate::manifest::model::Version;
use crate::source::SourceFile;

/// `pin: digest` with images the lock records no digest for (SL604), at `pin`; `pin` is the
/// command that looks them up, as the user would type it.
pub fn digests_not_recorded(source: &SourceFile, missing: &[String], pin: &str) -> Diagnostic {
    let (what, them) = match missing {
        [one] => (format!("image {one} has"), "it up in its registry"),
        more => (format!("{} images have", more.len()), "them up in their registries"),
    };
    let lock = crate::emit::plan::LOCK_FILE;
    Diagnostic::error(Code::DigestNotRecorded, format!("{what} no digest recorded in {lock}"))
        .at(source.value_span("/pin"))
        .label("pinned by digest")
        .help(format!("not recorded: {}; run `{pin}` to look {them}, record the digests and build", missing.join(", ")))
}

pub fn check(ctx: &Ctx, sink: &mut Sink) {
    let mut unpinned = |image: &crate::manifest::values::ImageRef, whose: String, at| {
        if image.is_pinned() {
            return;
        }
        let what = if image.tag() == Some("latest") { "is tagged `latest`" } else { "has no tag" };
        sink.push(
            Diagnostic::warning(Code::UnpinnedImage, format!("the image of {whose} {what}"))
                .at(at)
                .label("not pinned")
                .help(format!("pin a version, e.g. `{}:1.2.3`, so every host runs the same code", image.repository())),
        );
    };
    for (name, s) in &ctx.manifest.services {
        if let Some(image) = &s.image {
            unpinned(image, format!("`{name}`"), ctx.value(["services", name.as_str(), "image"]));
        }
    }
    if let Some(image) = ctx.manifest.kubernetes.as_ref().and_then(|k| k.backup_image.as_ref()) {
        unpinned(image, "the backup CronJobs".into(), ctx.value(["kubernetes", "backup_image"]));
    }
    releases(ctx, sink);
}

/// The `version` the manifest gives each of sightline's own programs that has one, with its
/// defaults.
pub fn versions(
    obs: &crate::manifest::model::Observability,
) -> [(&'static crate::ir::defaults::ComponentDefault, Option<&Version>); 6] {
    use crate::ir::defaults;
    [
        (&defaults::PROMETHEUS, obs.prometheus.as_ref().and_then(|c| c.version.as_ref())),
        (&defaults::ALERTMANAGER, obs.alertmanager.as_ref().and_then(|c| c.version.as_ref())),
        (&defaults::LOKI, obs.loki.as_ref().and_then(|c| c.version.as_ref())),
        (&defaults::PROMTAIL, obs.promtail.as_ref().and_then(|c| c.version.as_ref())),
        (&defaults::ALLOY, obs.alloy.as_ref().and_then(|c| c.version.as_ref())),
        (&defaults::GRAFANA, obs.grafana.as_ref().and_then(|c| c.version.as_ref())),
    ]
}

/// The components' pinned releases: `latest` is unpinned (SL601), a release upstream no longer
/// supports is a warning (SL602), one older than the generated files need is an error (SL603).
/// Promtail, end of life, is a warning whatever its release.
fn releases(ctx: &Ctx, sink: &mut Sink) {
    use crate::ir::defaults::UPSTREAM_CHECKED;
    use crate::manifest::model::Collector;
    let m = ctx.manifest;
    if let Some(Collector::Promtail) = m.logs.as_ref().and_then(|l| l.collector) {
        sink.push(
            Diagnostic::warning(Code::UnsupportedRelease, "Promtail is end of life since 2026-03-02")
                .at(ctx.value(["logs", "collector"]))
                .label("no more fixes, security fixes included")
                .help("use `collector: alloy` (the default), Promtail's successor; the log pipelines are the same"),
        );
    }
    let Some(obs) = &m.observability else { return };
    for (d, v) in versions(obs) {
        let Some(v) = v else { continue };
        let at = ctx.value(["observability", d.name, "version"]);
        if v.0 == "latest" {
            sink.push(
                Diagnostic::warning(Code::UnpinnedImage, format!("{} is set to `latest`", d.name))
                    .at(at)
                    .label("not pinned")
                    .help("pin a version; leave `version` out to get the version this sightline was tested with"),
            );
        } else if let Some((needed, what)) = d.lacks(&v.0) {
            sink.push(
                Diagnostic::error(Code::ReleaseTooOld, format!("{} {} is older than the generated files need", d.name, v.0))
                    .at(at)
                    .label(format!("needs {needed} or newer"))
                    .help(format!(
                        "the generated files use {what}, which {} has from {needed} on; pin {needed} or newer, or leave `version` out for {}",
                        d.name, d.version
                    )),
            );
        } else if d.supports(&v.0) == Some(false) && !d.supported.is_empty() {
            let (last, earlier) = d.supported.split_last().expect("not empty");
            let lines = match earlier {
                [] => format!("{last} or newer"),
                _ => format!("{} and {last} or newer", earlier.join(", ")),
            };
            sink.push(
                Diagnostic::warning(
                    Code::UnsupportedRelease,
                    format!("{} {} is no longer supported upstream", d.name, v.0),
                )
                .at(at)
                .label("no more fixes, security fixes included")
                .help(format!(
                    "upstream fixes {lines} (as of {UPSTREAM_CHECKED}); leave `version` out for {}",
                    d.version
                )),
            );
        }
    }
}

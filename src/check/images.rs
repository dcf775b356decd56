//! Images: pin versions. An image without a tag, or tagged `latest`, is a warning.

use super::Ctx;
use crate::code::Code;
use crate::diagnostic::{Diagnostic, Sink};

pub fn check(ctx: &Ctx, sink: &mut Sink) {
    for (name, s) in &ctx.manifest.services {
        if let Some(image) = &s.image
            && !image.is_pinned()
        {
            let what = if image.tag() == Some("latest") { "is tagged `latest`" } else { "has no tag" };
            sink.push(
                Diagnostic::warning(Code::UnpinnedImage, format!("the image of `{name}` {what}"))
                    .at(ctx.value(["services", name.as_str(), "image"]))
                    .label("not pinned")
                    .help(format!(
                        "pin a version, e.g. `{}:1.2.3`, so every host runs the same code",
                        image.repository()
                    )),
            );
        }
    }
    if let Some(obs) = &ctx.manifest.observability {
        let versions = [
            ("prometheus", obs.prometheus.as_ref().and_then(|c| c.version.as_ref())),
            ("alertmanager", obs.alertmanager.as_ref().and_then(|c| c.version.as_ref())),
            ("loki", obs.loki.as_ref().and_then(|c| c.version.as_ref())),
            ("promtail", obs.promtail.as_ref().and_then(|c| c.version.as_ref())),
            ("alloy", obs.alloy.as_ref().and_then(|c| c.version.as_ref())),
            ("grafana", obs.grafana.as_ref().and_then(|c| c.version.as_ref())),
        ];
        for (component, v) in versions {
            if let Some(v) = v
                && v.0 == "latest"
            {
                sink.push(
                    Diagnostic::warning(Code::UnpinnedImage, format!("{component} is set to `latest`"))
                        .at(ctx.value(["observability", component, "version"]))
                        .label("not pinned")
                        .help("pin a version; leave `version` out to get the version this sightline was tested with"),
                );
            }
        }
    }
}

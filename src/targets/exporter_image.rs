//! `exporters/<exporter>/Dockerfile`: an exporter image with a shell, for an exporter whose own
//! image is its program alone (FROM scratch: `kinds::Exporter::program_alone`) when the service
//! has a login; one file for every such service of a kind. Nothing in that image can read the password's file, and sightline puts no secret in
//! a container's environment; so the program is copied onto the stack's Prometheus image
//! (busybox: `sh` and `cat`), whose shell reads the file before it starts the program (the
//! compose file's entrypoint, `kinds::common::password_from_file`), with the CA certificates of
//! the exporter's image, for TLS to the server. Compose builds it (`build:` in place of
//! `image:`); the images it builds from are the stack's own, pinned as they are.

use super::Artifact;
use super::paths::{BUILT_EXPORTER_PROGRAM_DIR, EXPORTER_IMAGES_DIR};
use crate::ir::defaults::{self, ComponentDefault};
use crate::ir::{Component, Service, Stack};

/// The directory of the Dockerfile for `service`'s exporter, when it is built: its image is the
/// program alone and the service has a login.
pub fn built(s: &Service) -> Option<String> {
    let exporter = crate::kinds::def(s.kind).exporter.as_ref()?;
    exporter.program_alone?;
    s.login.as_ref()?;
    Some(dir(exporter.image))
}

/// The image an exporter is built on: the stack's Prometheus image (busybox: `sh`, `cat`,
/// `wget`), whose VOLUME the built container gets a tmpfs for (`paths::SHELL_IMAGE_VOLUME`).
pub fn shell(stack: &Stack) -> Option<&Component> {
    stack.component(defaults::PROMETHEUS.name)
}

/// The directory of an exporter's Dockerfile, named after the exporter.
fn dir(image: &ComponentDefault) -> String {
    format!("{EXPORTER_IMAGES_DIR}/{}", image.name)
}

/// The path of the program in the built image.
pub fn program(s: &Service) -> String {
    let exporter = crate::kinds::def(s.kind).exporter.as_ref();
    let path = exporter.and_then(|e| e.program_alone).unwrap_or_default();
    format!("{BUILT_EXPORTER_PROGRAM_DIR}/{}", path.rsplit('/').next().unwrap_or(path))
}

pub fn lower(stack: &Stack) -> Vec<Artifact> {
    let shell = shell(stack).map(|c| c.image.as_str()).unwrap_or_default();
    let mut out: Vec<Artifact> = Vec::new();
    for s in &stack.services {
        let Some(dir) = built(s) else { continue };
        let path = format!("{dir}/Dockerfile");
        if out.iter().any(|a| a.path == path) {
            continue;
        }
        let Some(c) = stack.exporter_of(&s.name) else { continue };
        // Every service it is built for: the file comes from their logins.
        let users = stack.services.iter().filter(|o| built(o).as_deref() == Some(dir.as_str()));
        let alone = crate::kinds::def(s.kind).exporter.as_ref().and_then(|e| e.program_alone).unwrap_or_default();
        let text = format!(
            "# {program_name}'s image is its program alone (FROM scratch): nothing in it can read the\n\
             # password's file. Built here with a shell: the program copied onto the stack's Prometheus\n\
             # image (busybox), whose `sh` reads the file and starts it (the compose file's entrypoint),\n\
             # with the exporter image's CA certificates.\n\
             ARG EXPORTER_IMAGE={exporter}\n\
             ARG SHELL_IMAGE={shell}\n\
             FROM ${{EXPORTER_IMAGE}} AS exporter\n\
             \n\
             FROM ${{SHELL_IMAGE}}\n\
             COPY --from=exporter {alone} {program}\n\
             COPY --from=exporter /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt\n\
             USER 65534:65534\n\
             WORKDIR /\n\
             ENTRYPOINT [\"{program}\"]\n\
             CMD []\n",
            program_name = alone.trim_start_matches('/'),
            exporter = c.image.as_str(),
            program = program(s),
        );
        out.push(Artifact::new(path, text).from_part(super::services_part(users.map(|o| o.name.as_str()), &["user"])));
    }
    out
}

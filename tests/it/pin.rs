//! `pin: digest` against a real registry: the CNCF distribution registry (`tools/registry`),
//! holding images crane (`tools/crane`) puts in it, and whose digests crane reads on its own.
//! Docker Hub and ghcr.io are reached through `--mirror`, as a pull-through cache would serve
//! them; an image on `localhost:<port>` is asked directly (HTTPS first, then plain HTTP, as
//! Docker does for a loopback registry). The build after `pin` is offline: the registry is
//! stopped.

use crate::compose::{compose_config, env_vars};
use crate::support::{free_port, require_tool, run};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command};

/// A registry on a loopback port, storing in `store`; stopped when dropped.
struct Registry {
    child: Child,
}

impl Registry {
    fn start(dir: &Path, port: u16, extra: &str) -> Registry {
        let config = dir.join("registry.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n{extra}",
                dir.join("store").display()
            ),
        )
        .unwrap();
        let log = std::fs::File::create(dir.join("registry.log")).unwrap();
        let child = Command::new(require_tool("registry"))
            .args(["serve"])
            .arg(&config)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("the registry starts");
        let registry = Registry { child };
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return registry;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!(
            "the registry did not listen: {}",
            std::fs::read_to_string(dir.join("registry.log")).unwrap_or_default()
        );
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where an image of the manifest lives in the test registry, by Docker's reading of its name:
/// Docker Hub's under `hub/` (`postgres` is `library/postgres` there), another registry's
/// under its name, a loopback registry's as it is.
fn stored_at(image: &str, port: u16) -> String {
    let local = format!("localhost:{port}/");
    if let Some(rest) = image.strip_prefix(&local) {
        return format!("127.0.0.1:{port}/{rest}");
    }
    let (first, rest) = image.split_once('/').unwrap_or(("", image));
    if first.contains(['.', ':']) {
        return format!("127.0.0.1:{port}/{first}/{rest}");
    }
    let path = if image.contains('/') { image.to_string() } else { format!("library/{image}") };
    format!("127.0.0.1:{port}/hub/{path}")
}

fn crane(args: &[&str]) -> String {
    let (ok, out) = run(Command::new(require_tool("crane")).arg("--insecure").args(args));
    assert!(ok, "crane {args:?}: {out}");
    out
}

/// Put an image at `at` whose content depends on `salt`; two platforms make an index, as most
/// images on Docker Hub are. Its digest, as crane reads it back.
fn push(work: &Path, at: &str, salt: &str, platforms: usize) -> String {
    let layer = |n: usize| {
        let dir = work.join("layer");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("content"), format!("{at} {salt} {n}\n")).unwrap();
        let tar = work.join(format!("layer-{n}.tar"));
        let (ok, out) = run(Command::new("tar").arg("-cf").arg(&tar).arg("-C").arg(&dir).arg("content"));
        assert!(ok, "{out}");
        tar
    };
    if platforms <= 1 {
        crane(&["append", "-f", layer(0).to_str().unwrap(), "-t", at]);
    } else {
        let mut args = vec!["index".to_string(), "append".to_string()];
        for n in 0..platforms {
            let child = format!("{at}-platform-{n}");
            crane(&["append", "-f", layer(n).to_str().unwrap(), "-t", &child]);
            args.extend(["-m".to_string(), child]);
        }
        args.extend(["-t".to_string(), at.to_string()]);
        crane(&args.iter().map(String::as_str).collect::<Vec<_>>());
    }
    crane(&["digest", at]).trim().to_string()
}

struct Run {
    code: i32,
    out: String,
}

fn sightline(dir: &Path, args: &[&str]) -> Run {
    let o = Command::new(env!("CARGO_BIN_EXE_sightline"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("sightline runs");
    let mut out = String::from_utf8_lossy(&o.stdout).into_owned();
    out.push_str(&String::from_utf8_lossy(&o.stderr));
    Run { code: o.status.code().unwrap_or(-1), out }
}

fn lock_images(dir: &Path) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(dir.join("generated/sightline.lock")).unwrap();
    let lock: toml::Value = toml::from_str(&text).unwrap();
    lock.get("images")
        .and_then(|i| i.as_table())
        .map(|t| t.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string())).collect())
        .unwrap_or_default()
}

/// Every image the compose file names, and the images the Dockerfiles build from (the backup
/// runner's, and an exporter's built with a shell).
fn named_images(dir: &Path) -> Vec<String> {
    let compose: serde_json::Value =
        serde_saphyr::from_str(&std::fs::read_to_string(dir.join("generated/compose.yaml")).unwrap()).unwrap();
    let mut out: Vec<String> = compose["services"]
        .as_object()
        .unwrap()
        .values()
        .filter_map(|s| s["image"].as_str().map(String::from))
        .collect();
    let built = [
        ("backup/Dockerfile", &["POSTGRES_IMAGE", "GO_IMAGE"]),
        ("exporters/mongodb-exporter/Dockerfile", &["EXPORTER_IMAGE", "SHELL_IMAGE"]),
    ];
    for (file, args) in built {
        let dockerfile = std::fs::read_to_string(dir.join("generated").join(file)).unwrap();
        for arg in args {
            let line = dockerfile.lines().find_map(|l| l.strip_prefix(&format!("ARG {arg}="))).expect(arg);
            out.push(line.to_string());
        }
    }
    out
}

const CACHE_DIGEST: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000001";

fn manifest(port: u16, api_tag: &str, proxy: bool) -> String {
    let mut m = format!(
        r#"version: 1
stack: pinned
environment: test
pin: digest
services:
  api: {{ kind: http, port: 8080, image: "localhost:{port}/acme/api:{api_tag}" }}
  db:
    kind: postgres
    port: 5432
    image: postgres:17.2
    database: app
    user: app
    password: {{ env: DB_PASSWORD }}
  cache: {{ kind: redis, port: 6379, image: "redis:7.4@{CACHE_DIGEST}" }}
  docs:
    kind: mongodb
    host: mongo.internal
    port: 27017
    user: monitor
    password: {{ env: DOCS_PASSWORD }}
"#
    );
    if proxy {
        m.push_str("  proxy: { kind: nginx, port: 80, image: nginx:1.27 }\n");
    }
    m.push_str("backups:\n  jobs:\n    - { name: nightly, service: db, schedule: \"0 2 * * *\", keep: 7 }\n");
    m
}

fn mirrors(port: u16) -> Vec<String> {
    [
        "docker.io=http://127.0.0.1:{port}/hub",
        "ghcr.io=http://127.0.0.1:{port}/ghcr.io/",
        "quay.io=http://127.0.0.1:{port}/quay.io",
    ]
    .iter()
    .flat_map(|m| ["--mirror".to_string(), m.replace("{port}", &port.to_string())])
    .collect()
}

fn pin(dir: &Path, port: u16, extra: &[&str]) -> Run {
    let mut args: Vec<String> = vec!["pin".into()];
    args.extend(mirrors(port));
    args.extend(extra.iter().map(|s| s.to_string()));
    sightline(dir, &args.iter().map(String::as_str).collect::<Vec<_>>())
}

/// The images the manifest's stack names without a digest, as the library lists them.
fn images_of(text: &str) -> Vec<String> {
    let checked = sightline::check("stack.yaml", text.as_bytes());
    sightline::unpinned_images(&checked, None).expect("the manifest compiles")
}

/// A work directory with a project in it whose stack.yaml is `manifest(port, "1.0", false)`
/// for a free port: (work, project, port, manifest text).
fn project() -> (tempfile::TempDir, std::path::PathBuf, u16, String) {
    let work = tempfile::tempdir().unwrap();
    let project = work.path().join("project");
    std::fs::create_dir_all(&project).unwrap();
    let port = free_port();
    let text = manifest(port, "1.0", false);
    std::fs::write(project.join("stack.yaml"), &text).unwrap();
    (work, project, port, text)
}

#[test]
fn pin_records_what_the_registry_serves_and_builds_offline() {
    let (work, project, port, text) = project();

    // Without digests, `build` writes nothing and names what is missing.
    let r = sightline(&project, &["build"]);
    assert_eq!(r.code, 1, "{}", r.out);
    assert!(
        r.out.contains("SL604") && r.out.contains("postgres:17.2") && r.out.contains("nothing was written"),
        "{}",
        r.out
    );
    assert!(!project.join("generated").exists());

    let images = images_of(&text);
    assert!(images.iter().any(|i| i.starts_with("golang:")), "supercronic's builder is pinned too: {images:?}");
    assert!(!images.iter().any(|i| i.starts_with("redis:7.4")), "an image with a digest is left as written");
    let mut expected = BTreeMap::new();
    {
        let _registry = Registry::start(work.path(), port, "");
        for (n, image) in images.iter().enumerate() {
            // Every other image is multi-platform: the digest pinned is the index's.
            expected.insert(image.clone(), push(work.path(), &stored_at(image, port), "one", 1 + n % 2));
        }
        let r = pin(&project, port, &[]);
        assert_eq!(r.code, 0, "{}", r.out);
        for image in &images {
            assert!(r.out.contains(&format!("pinned {image}@{}", expected[image])), "{image}:\n{}", r.out);
        }
    }
    assert_eq!(lock_images(&project), expected, "the lock records what the registry serves");
    let named = named_images(&project);
    for image in &named {
        let (name, digest) = image.split_once('@').unwrap_or_else(|| panic!("{image} has no digest"));
        let want = if name == "redis:7.4" { CACHE_DIGEST } else { expected[name].as_str() };
        assert_eq!(digest, want, "{image}");
    }
    assert!(named.contains(&format!("redis:7.4@{CACHE_DIGEST}")), "{named:?}");
    let generated = project.join("generated");
    let (ok, out) = compose_config(&require_tool("docker-compose-v2"), &generated, &env_vars(&generated));
    assert!(ok, "compose refuses the pinned file: {out}");

    // The registry is gone: the build and the gate read the lock, and `pin` has nothing to ask.
    let compose = std::fs::read(generated.join("compose.yaml")).unwrap();
    for args in [&["build"][..], &["build", "--check"], &["pin"]] {
        let r = sightline(&project, args);
        assert_eq!(r.code, 0, "{args:?} offline:\n{}", r.out);
    }
    let r = sightline(&project, &["build"]);
    assert!(r.out.contains(": 0 written,"), "{}", r.out);

    // A digest edited in the lock into one Docker would refuse counts as not recorded.
    let lock_path = generated.join("sightline.lock");
    let lock = std::fs::read_to_string(&lock_path).unwrap();
    let db = &expected["postgres:17.2"];
    std::fs::write(&lock_path, lock.replace(db.as_str(), &db.to_ascii_uppercase().replace("SHA256", "sha256")))
        .unwrap();
    let r = sightline(&project, &["build"]);
    assert_eq!(r.code, 1, "{}", r.out);
    assert!(r.out.contains("SL604") && r.out.contains("image postgres:17.2 has no digest"), "{}", r.out);
    std::fs::write(&lock_path, &lock).unwrap();

    // A new image has no digest yet: the build stops at `pin` and leaves the files as they were.
    let text = manifest(port, "1.0", true);
    std::fs::write(project.join("stack.yaml"), &text).unwrap();
    for args in [&["build"][..], &["build", "--check"], &["diff"]] {
        let r = sightline(&project, args);
        assert_eq!(r.code, 1, "{args:?}:\n{}", r.out);
        assert!(r.out.contains("SL604") && r.out.contains("nginx:1.27"), "{args:?}:\n{}", r.out);
    }
    assert_eq!(std::fs::read(generated.join("compose.yaml")).unwrap(), compose, "nothing was written");

    let _registry = Registry::start(work.path(), port, "");
    let new: Vec<String> = images_of(&text).into_iter().filter(|i| !expected.contains_key(i)).collect();
    assert_eq!(new.len(), 2, "nginx and its exporter: {new:?}");
    for image in &new {
        expected.insert(image.clone(), push(work.path(), &stored_at(image, port), "one", 2));
    }
    // A tag that moved since is not asked again without --update.
    let moved = images.iter().find(|i| i.starts_with("prom/prometheus:")).expect("Prometheus runs").clone();
    let now = push(work.path(), &stored_at(&moved, port), "two", 2);
    assert_ne!(now, expected[&moved]);
    let r = pin(&project, port, &[]);
    assert_eq!(r.code, 0, "{}", r.out);
    assert_eq!(r.out.matches("pinned ").count(), 2, "only the new images are looked up:\n{}", r.out);
    assert_eq!(lock_images(&project), expected);
    assert_eq!(sightline(&project, &["build", "--check"]).code, 0);

    let r = pin(&project, port, &["--update"]);
    assert_eq!(r.code, 0, "{}", r.out);
    assert!(r.out.contains(&format!("updated {moved}@{now}")), "{}", r.out);
    expected.insert(moved, now);
    assert_eq!(lock_images(&project), expected, "--update asks for every image again");

    // An image the stack no longer runs leaves the lock with it.
    std::fs::write(project.join("stack.yaml"), manifest(port, "1.0", false)).unwrap();
    let r = sightline(&project, &["build"]);
    assert_eq!(r.code, 0, "{}", r.out);
    for image in &new {
        expected.remove(image);
    }
    assert_eq!(lock_images(&project), expected, "the lock keeps the digests the stack uses");
    std::fs::write(project.join("stack.yaml"), manifest(port, "1.0", true)).unwrap();
    assert_eq!(sightline(&project, &["build"]).code, 1, "and the next build needs them pinned again");

    // A tag the registry does not have: exit 2, nothing written.
    let lock = std::fs::read(generated.join("sightline.lock")).unwrap();
    std::fs::write(project.join("stack.yaml"), manifest(port, "2.0", true)).unwrap();
    let r = pin(&project, port, &[]);
    assert_eq!(r.code, 2, "{}", r.out);
    assert!(
        r.out.contains("acme/api:2.0") && r.out.contains("HTTP 404") && r.out.contains("nothing was written"),
        "{}",
        r.out
    );
    assert_eq!(std::fs::read(generated.join("sightline.lock")).unwrap(), lock);
}

#[test]
fn pin_refuses_a_manifest_that_pins_by_tag() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(crate::support::root().join("examples/minimal.yaml"), dir.path().join("stack.yaml")).unwrap();
    let r = sightline(dir.path(), &["pin"]);
    assert_eq!(r.code, 1, "{}", r.out);
    assert!(r.out.contains("pin: digest"), "{}", r.out);
    assert!(!dir.path().join("generated").exists());
}

/// base64url without padding, as JWTs are written.
fn b64url(bytes: &[u8]) -> String {
    const ABC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(ABC[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

fn percent_decoded(s: &str) -> String {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(if b[i] == b'+' { b' ' } else { b[i] });
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

/// A token issuer of the registry's token flow, as Docker Hub's auth.docker.io is: anyone
/// gets a token for the pull the scope asks, signed with an Ed25519 key (openssl) the registry
/// trusts through its JWKS. The registry, not this issuer, checks the token. Every request's
/// query is kept, to see what the client asked.
fn token_issuer(dir: &Path, service: &str) -> (u16, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    let key = dir.join("issuer.pem");
    let (ok, out) =
        run(Command::new(require_tool("openssl")).args(["genpkey", "-algorithm", "ed25519", "-out"]).arg(&key));
    assert!(ok, "{out}");
    let public = Command::new(require_tool("openssl"))
        .args(["pkey", "-pubout", "-outform", "DER", "-in"])
        .arg(&key)
        .output()
        .unwrap();
    let x = b64url(&public.stdout[public.stdout.len() - 32..]);
    std::fs::write(
        dir.join("jwks.json"),
        format!(r#"{{"keys":[{{"kty":"OKP","crv":"Ed25519","x":"{x}","kid":"issuer","alg":"EdDSA","use":"sig"}}]}}"#),
    )
    .unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let asked = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = asked.clone();
    let (dir, service) = (dir.to_path_buf(), service.to_string());
    std::thread::spawn(move || {
        use std::io::{BufRead, Write};
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut line = String::new();
            let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                    break;
                }
            }
            let query = line.split_whitespace().nth(1).and_then(|p| p.split_once('?')).map(|(_, q)| q).unwrap_or("");
            let params: BTreeMap<String, String> = query
                .split('&')
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_string(), percent_decoded(v)))
                .collect();
            log.lock().unwrap().push(query.to_string());
            let scope = params.get("scope").cloned().unwrap_or_default();
            let name = scope.strip_prefix("repository:").and_then(|s| s.strip_suffix(":pull")).unwrap_or("");
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
            let header = b64url(br#"{"alg":"EdDSA","typ":"JWT","kid":"issuer"}"#);
            let claims = b64url(
                format!(
                    r#"{{"iss":"test-issuer","sub":"","aud":"{service}","exp":{},"nbf":{},"iat":{now},"jti":"{now}","access":[{{"type":"repository","name":"{name}","actions":["pull"]}}]}}"#,
                    now + 300,
                    now - 10
                )
                .as_bytes(),
            );
            let input = format!("{header}.{claims}");
            let file = dir.join(format!("signing-{}", log.lock().unwrap().len()));
            std::fs::write(&file, &input).unwrap();
            let sig = Command::new(require_tool("openssl"))
                .args(["pkeyutl", "-sign", "-rawin", "-inkey"])
                .arg(dir.join("issuer.pem"))
                .arg("-in")
                .arg(&file)
                .output()
                .unwrap();
            let body = format!(r#"{{"token":"{input}.{}","expires_in":300}}"#, b64url(&sig.stdout));
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (port, asked)
}

#[test]
fn pin_follows_the_registry_token_flow() {
    let (work, project, port, text) = project();
    let images = images_of(&text);
    // Filled while the registry lets anyone in.
    let mut expected = BTreeMap::new();
    {
        let _open = Registry::start(work.path(), port, "");
        for image in &images {
            expected.insert(image.clone(), push(work.path(), &stored_at(image, port), "one", 2));
        }
    }
    let service = "sightline-test-registry";
    let (issuer, asked) = token_issuer(work.path(), service);
    let auth = format!(
        "auth:\n  token:\n    realm: http://127.0.0.1:{issuer}/token\n    service: {service}\n    issuer: test-issuer\n    jwks: {}\n",
        work.path().join("jwks.json").display()
    );
    let _registry = Registry::start(work.path(), port, &auth);
    // Anonymous is refused: the registry asks for a token.
    let status = {
        use std::io::{Read, Write};
        let mut c = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        write!(c, "HEAD /v2/acme/api/manifests/1.0 HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
        let mut answer = String::new();
        c.read_to_string(&mut answer).unwrap();
        answer.lines().next().unwrap_or_default().to_string()
    };
    assert!(status.contains(" 401 "), "the registry must ask for a token: {status}");
    let r = pin(&project, port, &[]);
    assert_eq!(
        r.code,
        0,
        "{}\nregistry log:\n{}",
        r.out,
        std::fs::read_to_string(work.path().join("registry.log")).unwrap()
    );
    assert_eq!(lock_images(&project), expected);
    let asked = asked.lock().unwrap().clone();
    assert_eq!(asked.len(), images.len(), "one token per image: {asked:?}");
    assert!(
        asked
            .iter()
            .any(|q| q.contains(&format!("service={service}")) && q.contains("scope=repository%3Aacme%2Fapi%3Apull")),
        "the client asks for the scope and service of the challenge: {asked:?}"
    );
}

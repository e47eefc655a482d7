//! `--reproducible` and `--remote-cache`: real builds of checkouts at different paths sharing
//! a bucket on a real S3-protocol server (moto on 127.0.0.1), and fast checks of the failure
//! paths with the fake cargo-lambda and a folder as the remote.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::*;

/// A copy of `fixture` at `<base>/<relative>`.
fn checkout(fixture: &str, base: &Path, relative: &str) -> PathBuf {
    let dir = base.join(relative);
    std::fs::create_dir_all(&dir).expect("mkdir");
    copy_tree(&repo_root().join("fixtures").join(fixture), &dir);
    dir
}

fn bootstrap(dir: &Path, function: &str) -> Vec<u8> {
    std::fs::read(dir.join(".aws-sam/build").join(function).join("bootstrap")).expect("bootstrap")
}

/// The Rust extension built into the fixture's layer.
fn extension(dir: &Path) -> Vec<u8> {
    std::fs::read(dir.join(".aws-sam/build/ExtLayer/extensions/ext")).expect("extension")
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// The real user's folders that a run with another HOME still needs: the toolchains and
/// zig's compiled C runtime (rebuilding it costs minutes and changes no output).
struct RealHome {
    rustup_home: PathBuf,
    cargo_home: PathBuf,
    zig_cache: PathBuf,
}

impl RealHome {
    fn find() -> RealHome {
        let home = PathBuf::from(std::env::var_os("HOME").expect("HOME"));
        let var = |name: &str, default: PathBuf| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map_or(default, PathBuf::from)
        };
        let cache = var("XDG_CACHE_HOME", home.join(".cache"));
        RealHome {
            rustup_home: var("RUSTUP_HOME", home.join(".rustup")),
            cargo_home: var("CARGO_HOME", home.join(".cargo")),
            zig_cache: var("ZIG_GLOBAL_CACHE_DIR", cache.join("zig")),
        }
    }
}

/// One CI runner: its checkout, its HOME and CARGO_HOME, its target folder, and PATH with
/// the logging cargo shims first.
struct Runner {
    dir: PathBuf,
    home: PathBuf,
    target: PathBuf,
    shims: PathBuf,
    log: PathBuf,
}

impl Runner {
    fn new(base: &Path, path: &str, target: PathBuf, shims: &Path, real: &RealHome) -> Runner {
        let dir = checkout("reproducible", base, path);
        let home = base.join(format!("home-{}", path.replace('/', "-")));
        let cargo_home = home.join("cargo");
        std::fs::create_dir_all(&cargo_home).expect("mkdir");
        // The registry (already downloaded) seen through this runner's own CARGO_HOME path.
        std::os::unix::fs::symlink(
            real.cargo_home.join("registry"),
            cargo_home.join("registry"),
        )
        .expect("symlink the registry");
        let log = home.join("cargo-starts.log");
        Runner {
            dir,
            home,
            target,
            shims: shims.to_path_buf(),
            log,
        }
    }

    fn samrs(&self, real: &RealHome) -> Command {
        let mut path = vec![self.shims.clone()];
        path.extend(std::env::split_paths(&tools_path()));
        let mut command = Command::new(env!("CARGO_BIN_EXE_samrs"));
        command
            .current_dir(&self.dir)
            .env("PATH", std::env::join_paths(path).expect("PATH"))
            .env("SHIM_PATH", tools_path())
            .env("SHIM_LOG", &self.log)
            .env("HOME", &self.home)
            .env("CARGO_HOME", self.home.join("cargo"))
            .env("RUSTUP_HOME", &real.rustup_home)
            .env("ZIG_GLOBAL_CACHE_DIR", &real.zig_cache)
            .env("CARGO_TARGET_DIR", &self.target)
            .env_remove("XDG_CACHE_HOME")
            .env_remove("SAM_BUILD_MODE")
            .env_remove("SAM_TEMPLATE_FILE")
            .env_remove("SAM_DEBUG")
            .env_remove("RUSTFLAGS")
            .env_remove("SOURCE_DATE_EPOCH")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null());
        command
    }

    /// Forgets this runner's local cache (and its record of cargo starts), as a fresh runner.
    fn forget_local_cache(&self) {
        let _ = std::fs::remove_dir_all(self.dir.join(".aws-sam/cache"));
        let _ = std::fs::remove_file(self.dir.join(".aws-sam/build.toml"));
        let _ = std::fs::remove_file(&self.log);
    }

    /// Every start of cargo or cargo-lambda (with its arguments) since the log was forgotten.
    fn cargo_starts(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }
}

/// The fleet scenario, for real: cargo-lambda, zig, a C dependency, a Rust layer,
/// moto. Two runners at different paths, each with its own HOME, CARGO_HOME and target folder.
/// The paths are fixed (under the shared target folder) so that the remapped flags, and with
/// them the compiled dependencies, stay the same from one suite run to the next.
#[test]
fn checkouts_at_different_paths_share_a_bucket_and_build_the_same_bytes() {
    require_tool("cargo-lambda");
    let _guard = cargo_lock();
    let mut server = S3Server::start();
    server.create_bucket("fleet");
    let real = RealHome::find();
    let base = shared_target_dir().join("fleet");
    for old in [
        "a",
        "elsewhere",
        "home-a-project",
        "home-elsewhere-deeper-checkout",
        "share",
    ] {
        let _ = std::fs::remove_dir_all(base.join(old));
    }
    let shims = logging_shims();
    let remote = [
        "--beta-features",
        "--cached",
        "--reproducible",
        "--remote-cache",
        "s3://fleet/ci",
    ];
    let server_env = server.env();
    let with_bucket = |runner: &Runner| {
        let mut command = runner.samrs(&real);
        command.arg("build").args(remote).envs(server_env.clone());
        run_ok(&mut command)
    };
    let a = Runner::new(
        &base,
        "a/project",
        base.join("target-a"),
        shims.path(),
        &real,
    );
    let b = Runner::new(
        &base,
        "elsewhere/deeper/checkout",
        base.join("target-b"),
        shims.path(),
        &real,
    );

    // Runner A builds everything and fills the bucket.
    let first = with_bucket(&a);
    assert!(
        first
            .stderr
            .contains("Uploaded 2 function(s) and 1 layer(s) to s3://fleet/ci"),
        "{}",
        first.stderr
    );
    assert!(
        a.cargo_starts()
            .iter()
            .any(|l| l.starts_with("cargo lambda build")),
        "{:?}",
        a.cargo_starts()
    );
    let repro = bootstrap(&a.dir, "ReproFunction");
    let other = bootstrap(&a.dir, "OtherFunction");
    let ext = extension(&a.dir);
    let a_path = a.dir.to_string_lossy().into_owned();
    assert!(!contains(&repro, &a_path), "no checkout path in the binary");
    assert!(
        contains(&repro, "/samrs/src/app/c/where.c"),
        "the C file's name is remapped"
    );
    assert!(
        contains(&repro, "/samrs/cargo/registry/src/"),
        "CARGO_HOME is remapped"
    );
    assert!(contains(&repro, "/samrs/target/"), "OUT_DIR is remapped");

    // Runner B: everything comes from the bucket, and no cargo or cargo-lambda starts at all.
    let restored = with_bucket(&b);
    for line in [
        "Valid cache found in s3://fleet/ci, copying previously built resources for following functions (ReproFunction)",
        "Valid cache found in s3://fleet/ci, copying previously built resources for following layers (ExtLayer)",
        "Downloaded 2 function(s) and 1 layer(s) from s3://fleet/ci",
    ] {
        assert!(
            restored.stderr.contains(line),
            "{line}\n{}",
            restored.stderr
        );
    }
    assert_eq!(
        b.cargo_starts(),
        Vec::<String>::new(),
        "cargo was never started"
    );
    assert_eq!(bootstrap(&b.dir, "ReproFunction"), repro);
    assert_eq!(bootstrap(&b.dir, "OtherFunction"), other);
    assert_eq!(extension(&b.dir), ext);

    // B compiles for real (no cache): the same bytes at its own path.
    let mut command = b.samrs(&real);
    command.args(["build", "--beta-features", "--reproducible"]);
    run_ok(&mut command);
    assert!(
        b.cargo_starts()
            .iter()
            .any(|l| l.starts_with("cargo lambda build")),
        "this time cargo ran"
    );
    assert_eq!(
        bootstrap(&b.dir, "ReproFunction"),
        repro,
        "byte-identical compile"
    );
    assert_eq!(bootstrap(&b.dir, "OtherFunction"), other);
    assert_eq!(extension(&b.dir), ext);

    // A damaged object in the bucket: a warning, a rebuild of that function only, the right
    // bytes, and the store healed by the upload.
    let blob = format!("ci/blobs/{}", sha256_hex(&repro));
    server.put_object("fleet", &blob, b"\x7fELF not the binary");
    b.forget_local_cache();
    let healed = with_bucket(&b);
    assert!(
        healed
            .stderr
            .contains("Warning: ignoring the remote cache entry for ReproFunction in s3://fleet/ci: bootstrap does not match its SHA-256"),
        "{}",
        healed.stderr
    );
    assert_eq!(bootstrap(&b.dir, "ReproFunction"), repro);
    assert_eq!(bootstrap(&b.dir, "OtherFunction"), other);
    assert_eq!(extension(&b.dir), ext);
    let builds: Vec<String> = b
        .cargo_starts()
        .into_iter()
        .filter(|l| l.starts_with("cargo lambda build"))
        .collect();
    assert!(
        builds.len() == 1
            && builds[0].contains("--bin repro")
            && !builds[0].contains("--bin other"),
        "only the damaged one is built: {builds:?}"
    );

    // An edited function is rebuilt; the others come from the (healed) bucket.
    let edit = "fn main() {\n    println!(\"the other function, edited\");\n}\n";
    std::fs::write(b.dir.join("other/src/main.rs"), edit).expect("edit");
    b.forget_local_cache();
    let edited = with_bucket(&b);
    for line in [
        "Valid cache found in s3://fleet/ci, copying previously built resources for following functions (ReproFunction)",
        "Valid cache found in s3://fleet/ci, copying previously built resources for following layers (ExtLayer)",
        "Cache is invalid, running build and copying resources for following functions (OtherFunction)",
    ] {
        assert!(edited.stderr.contains(line), "{line}\n{}", edited.stderr);
    }
    assert!(!edited.stderr.contains("Warning"), "{}", edited.stderr);
    assert_eq!(bootstrap(&b.dir, "ReproFunction"), repro);
    assert_ne!(bootstrap(&b.dir, "OtherFunction"), other);
    assert_eq!(extension(&b.dir), ext);
    let builds = b.cargo_starts();
    assert!(
        builds.iter().any(|l| l.contains("--bin other"))
            && !builds
                .iter()
                .any(|l| l.contains("--bin repro") || l.contains("--extension")),
        "{builds:?}"
    );
    let edited_other = bootstrap(&b.dir, "OtherFunction");

    // The server stops: one warning and a normal build.
    server.stop();
    b.forget_local_cache();
    let started = std::time::Instant::now();
    let offline = with_bucket(&b);
    assert!(
        offline
            .stderr
            .contains("Warning: the remote cache s3://fleet/ci could not be read"),
        "{}",
        offline.stderr
    );
    assert_eq!(
        offline.stderr.matches("Warning").count(),
        1,
        "{}",
        offline.stderr
    );
    assert_eq!(bootstrap(&b.dir, "ReproFunction"), repro);
    assert_eq!(bootstrap(&b.dir, "OtherFunction"), edited_other);
    assert_eq!(extension(&b.dir), ext);
    eprintln!(
        "build with the server stopped: {:.1}s",
        started.elapsed().as_secs_f64()
    );

    // A plain folder (a mounted share) as the remote: B fills it, and A (with the same edit)
    // restores everything from it without starting cargo.
    let share = base.join("share");
    std::fs::create_dir(&share).expect("the mounted share");
    let folder = share.join("samrs-cache");
    let with_folder = |runner: &Runner| {
        runner.forget_local_cache();
        let mut command = runner.samrs(&real);
        command
            .args(["build", "--beta-features", "--cached", "--reproducible"])
            .arg("--remote-cache")
            .arg(&folder);
        run_ok(&mut command)
    };
    let filled = with_folder(&b);
    assert!(
        filled
            .stderr
            .contains("Uploaded 2 function(s) and 1 layer(s) to"),
        "{}",
        filled.stderr
    );
    std::fs::write(a.dir.join("other/src/main.rs"), edit).expect("the same edit in A");
    let from_folder = with_folder(&a);
    assert!(
        from_folder
            .stderr
            .contains("Downloaded 2 function(s) and 1 layer(s) from"),
        "{}",
        from_folder.stderr
    );
    assert_eq!(
        a.cargo_starts(),
        Vec::<String>::new(),
        "cargo was never started"
    );
    assert_eq!(bootstrap(&a.dir, "ReproFunction"), repro);
    assert_eq!(bootstrap(&a.dir, "OtherFunction"), edited_other);
    assert_eq!(extension(&a.dir), ext);
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Fast checks with the fake cargo-lambda and a folder as the remote cache.
struct FakeFleet {
    base: tempfile::TempDir,
    fake: tempfile::TempDir,
    remote: PathBuf,
}

impl FakeFleet {
    fn new() -> FakeFleet {
        let base = tempfile::tempdir().expect("tmp");
        std::fs::create_dir(base.path().join("share")).expect("the mounted share");
        let remote = base.path().join("share/cache");
        FakeFleet {
            base,
            fake: fake_cargo_lambda(),
            remote,
        }
    }

    /// A checkout of `workspace` at `path`, and the samrs command for it.
    fn runner(&self, path: &str) -> (PathBuf, PathBuf) {
        let dir = checkout("workspace", self.base.path(), path);
        let log = self
            .base
            .path()
            .join(format!("{}.log", path.replace('/', "-")));
        (dir, log)
    }

    fn samrs(&self, dir: &Path, log: &Path) -> Command {
        let mut command = samrs_with_fake(dir, self.fake.path(), log, &dir.join("target"));
        command
            .args(["build", "--cached", "--remote-cache"])
            .arg(&self.remote);
        command
    }
}

#[test]
fn a_folder_remote_restores_a_second_checkout_without_cargo() {
    let fleet = FakeFleet::new();
    let (a, a_log) = fleet.runner("a/ws");
    let first = run_ok(&mut fleet.samrs(&a, &a_log));
    assert!(
        first.stderr.contains("Uploaded 2 function(s) to"),
        "{}",
        first.stderr
    );
    let (b, b_log) = fleet.runner("b/deeper/ws");
    let second = run_ok(&mut fleet.samrs(&b, &b_log));
    assert!(
        second.stderr.contains("Downloaded 2 function(s) from"),
        "{}",
        second.stderr
    );
    assert_eq!(fake_calls(&b_log).len(), 0, "cargo-lambda never ran");
    assert_eq!(
        snapshot(&b.join(".aws-sam/build")),
        snapshot(&a.join(".aws-sam/build"))
    );
    // The local cache now has them: the next run reads nothing remote.
    let third = run_ok(&mut fleet.samrs(&b, &b_log));
    assert!(!third.stderr.contains("Downloaded"), "{}", third.stderr);
    assert!(third.stderr.contains("Valid cache found, copying"));
}

#[test]
fn a_partial_or_corrupt_folder_entry_is_a_warning_and_a_build() {
    let fleet = FakeFleet::new();
    let (a, a_log) = fleet.runner("a/ws");
    run_ok(&mut fleet.samrs(&a, &a_log));
    let blobs: Vec<PathBuf> = std::fs::read_dir(fleet.remote.join("blobs"))
        .expect("blobs")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(blobs.len(), 2);
    std::fs::write(&blobs[0], b"garbage").expect("damage");
    std::fs::remove_file(&blobs[1]).expect("delete");
    let (b, b_log) = fleet.runner("b/ws");
    let second = run_ok(&mut fleet.samrs(&b, &b_log));
    assert!(
        second.stderr.contains("does not match its SHA-256"),
        "{}",
        second.stderr
    );
    assert!(
        second
            .stderr
            .contains("is missing from the store (partial entry)"),
        "{}",
        second.stderr
    );
    let calls: Vec<String> = fake_calls(&b_log).into_iter().map(|c| c.2).collect();
    assert!(
        calls.iter().any(|c| c.contains("--bin fa"))
            && calls.iter().any(|c| c.contains("--bin fb")),
        "both built: {calls:?}"
    );
    assert_eq!(
        snapshot(&b.join(".aws-sam/build")),
        snapshot(&a.join(".aws-sam/build"))
    );
    assert!(
        !b.join(".aws-sam/cache")
            .read_dir()
            .expect("cache")
            .any(|e| e
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .contains("samrs-remote")),
        "no half-downloaded folder is left"
    );
    // The uploads after the build repaired the store.
    let (c, c_log) = fleet.runner("c/ws");
    let third = run_ok(&mut fleet.samrs(&c, &c_log));
    assert!(
        third.stderr.contains("Downloaded 2 function(s)"),
        "{}",
        third.stderr
    );
    assert_eq!(fake_calls(&c_log).len(), 0);
}

#[test]
fn an_unreachable_bucket_is_a_warning_and_a_build() {
    let fleet = FakeFleet::new();
    let (a, a_log) = fleet.runner("a/ws");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let mut command = samrs_with_fake(&a, fleet.fake.path(), &a_log, &a.join("target"));
    command
        .args(["build", "--cached", "--remote-cache", "s3://nowhere/prefix"])
        .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}"))
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true");
    let started = std::time::Instant::now();
    let run = run_ok(&mut command);
    assert!(
        run.stderr
            .contains("Warning: the remote cache s3://nowhere/prefix could not be read"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stderr.matches("Warning").count(), 1, "{}", run.stderr);
    assert_eq!(fake_calls(&a_log).len(), 1);
    assert!(started.elapsed().as_secs() < 20, "gave up quickly");
}

#[test]
fn a_bad_remote_cache_url_is_a_usage_error() {
    let fleet = FakeFleet::new();
    let (a, a_log) = fleet.runner("a/ws");
    let mut command = samrs_with_fake(&a, fleet.fake.path(), &a_log, &a.join("target"));
    command.args(["build", "--cached", "--remote-cache", "gs://bucket/x"]);
    let run = run(&mut command);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("Invalid value for '--remote-cache': 'gs://' is not supported; use s3://bucket/prefix or a folder path"),
        "{}",
        run.stderr
    );
}

#[test]
fn remote_cache_and_reproducible_come_from_samconfig() {
    let fleet = FakeFleet::new();
    let (a, a_log) = fleet.runner("a/ws");
    std::fs::write(
        a.join("samconfig.toml"),
        format!(
            "version = 0.1\n[default.build.parameters]\ncached = true\nreproducible = true\nremote_cache = \"{}\"\n",
            fleet.remote.display()
        ),
    )
    .expect("write");
    let mut command = samrs_with_fake(&a, fleet.fake.path(), &a_log, &a.join("target"));
    command.arg("build");
    let run = run_ok(&mut command);
    assert!(
        run.stderr.contains("Uploaded 2 function(s)"),
        "{}",
        run.stderr
    );
    let calls = fake_calls(&a_log);
    assert!(
        calls[0]
            .2
            .contains("--config build.rustflags=[\"--remap-path-prefix="),
        "{calls:?}"
    );
}

/// sccache and other wrappers pass through to cargo untouched and do not change the key: a
/// runner with RUSTC_WRAPPER restores what one without it stored.
#[test]
fn a_rustc_wrapper_does_not_change_the_key() {
    let fleet = FakeFleet::new();
    let (a, a_log) = fleet.runner("a/ws");
    run_ok(&mut fleet.samrs(&a, &a_log));
    let (b, b_log) = fleet.runner("b/ws");
    let mut command = fleet.samrs(&b, &b_log);
    command
        .env("RUSTC_WRAPPER", "/opt/sccache/bin/sccache")
        .env("CARGO_BUILD_RUSTC_WRAPPER", "sccache");
    let second = run_ok(&mut command);
    assert!(
        second.stderr.contains("Downloaded 2 function(s)"),
        "{}",
        second.stderr
    );
    assert_eq!(fake_calls(&b_log).len(), 0);
}

/// A folder remote whose share is not mounted is not created on the local disk.
#[test]
fn an_unmounted_share_is_a_warning_not_a_new_folder() {
    let fleet = FakeFleet::new();
    let (a, a_log) = fleet.runner("a/ws");
    let share = fleet.base.path().join("mnt/share/samrs-cache");
    let mut command = samrs_with_fake(&a, fleet.fake.path(), &a_log, &a.join("target"));
    command
        .args(["build", "--cached", "--remote-cache"])
        .arg(&share);
    let run = run_ok(&mut command);
    assert!(
        run.stderr
            .contains("does not exist (is the share mounted?); building without it"),
        "{}",
        run.stderr
    );
    assert!(!share.exists() && !fleet.base.path().join("mnt").exists());
    assert_eq!(fake_calls(&a_log).len(), 1);
}

/// A template with other languages: the remote cache holds the Rust part only, and the real
/// `sam build` builds the rest on every runner (with its own local cache in `<cache-dir>/sam`),
/// beside the Rust function restored from the remote.
#[test]
fn with_other_languages_only_the_rust_part_is_shared() {
    require_tool("sam");
    let fleet = FakeFleet::new();
    let build_at = |path: &str| {
        let dir = checkout("mixed", fleet.base.path(), path);
        let log = fleet
            .base
            .path()
            .join(format!("{}.log", path.replace('/', "-")));
        let mut command = samrs_with_fake(&dir, fleet.fake.path(), &log, &dir.join("target"));
        // The fake cargo-lambda first, then the real tools (sam among them).
        let mut paths = vec![fleet.fake.path().to_path_buf()];
        paths.extend(std::env::split_paths(&tools_path()));
        command
            .env("PATH", std::env::join_paths(paths).expect("PATH"))
            .args(["build", "--cached", "--remote-cache"])
            .arg(&fleet.remote)
            // The makefile resources only, on sam's side: no pip or npm.
            .args(["-x", "PythonFunction", "-x", "PythonLayer"])
            .args(["-x", "NodeFunction", "-x", "WebApp"]);
        let run = run_ok(&mut command);
        (dir, log, run)
    };
    let (a, _, first) = build_at("a/mixed");
    assert!(
        first.stderr.contains("Uploaded 1 function(s) to")
            && first.stderr.contains("[sam] Building codeuri: "),
        "{}",
        first.stderr
    );
    let entries = std::fs::read_dir(fleet.remote.join("entries"))
        .expect("entries")
        .count();
    assert_eq!(entries, 1, "only RustFunction is in the remote cache");
    assert!(a.join(".aws-sam/cache/sam").is_dir(), "sam's own cache");

    let (b, b_log, second) = build_at("b/deeper/mixed");
    assert!(
        second
            .stderr
            .contains("copying previously built resources for following functions (RustFunction)")
            && second.stderr.contains("Downloaded 1 function(s) from"),
        "{}",
        second.stderr
    );
    assert_eq!(fake_calls(&b_log).len(), 0, "cargo-lambda never ran");
    assert!(
        second.stderr.contains("[sam] Building codeuri: "),
        "sam builds its part on this runner too: {}",
        second.stderr
    );
    for built in [
        "RustFunction/bootstrap",
        "MakeFunction/bootstrap",
        "ConfigLayer/config/settings.json",
    ] {
        assert!(b.join(".aws-sam/build").join(built).is_file(), "{built}");
    }
    assert_eq!(
        snapshot(&b.join(".aws-sam/build/RustFunction")),
        snapshot(&a.join(".aws-sam/build/RustFunction"))
    );
    assert!(b.join(".aws-sam/cache/sam").is_dir(), "sam's cache is kept");
    let toml = read_toml(&b.join(".aws-sam/build.toml"));
    let functions: Vec<String> = toml["function_build_definitions"]
        .as_table()
        .expect("definitions")
        .values()
        .flat_map(|d| d["functions"].as_array().cloned().unwrap_or_default())
        .filter_map(|f| f.as_str().map(str::to_string))
        .collect();
    assert!(
        functions.contains(&"RustFunction".to_string())
            && functions.contains(&"MakeFunction".to_string()),
        "{functions:?}"
    );
}

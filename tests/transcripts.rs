//! What a user sees, as transcripts: the exit code, stdout and stderr of `samrs` for a success
//! and a rebuild with nothing to do (real cargo-lambda), a compile error in one of two binaries
//! of a cargo run, a template error and `--help`. Paths, times, sizes and crate
//! counts are redacted; everything else must match the snapshot exactly.

mod common;

use std::path::Path;

use common::*;

/// Exit code and both streams, in the order a reader wants them.
fn transcript(run: &Run) -> String {
    format!(
        "exit: {}\n--- stdout\n{}--- stderr\n{}",
        run.code, run.stdout, run.stderr
    )
}

/// Replaces the project folder (as given and with symlinks resolved) and per-run figures.
fn redacted(text: &str, project: &Path) -> String {
    let mut text = text.to_string();
    if let Ok(canonical) = project.canonicalize() {
        text = text.replace(&*canonical.to_string_lossy(), "[PROJECT]");
    }
    text.replace(&*project.to_string_lossy(), "[PROJECT]")
}

macro_rules! assert_transcript {
    ($text:expr, @$snapshot:literal) => {
        insta::with_settings!({filters => vec![
            (r"\d+\.\d+s\b", "[TIME]s"),
            (r"\d+\.\d MiB", "[SIZE] MiB"),
            (r"\d+ of \d+ crates compiled", "[N] of [TOTAL] crates compiled"),
        ]}, {
            insta::assert_snapshot!($text, @$snapshot);
        })
    };
}

#[test]
fn success() {
    require_tool("cargo-lambda");
    let _lock = cargo_lock();
    let project = copy_fixture("multi-function");
    let run = run(samrs(project.path()).arg("build"));
    assert_transcript!(redacted(&transcript(&run), project.path()), @r#"
    exit: 0
    --- stdout

    Build Succeeded

    Built Artifacts  : .aws-sam/build
    Built Template   : .aws-sam/build/template.yaml

    Commands you can use next
    =========================
    [*] Validate SAM template: sam validate
    [*] Invoke Function: sam local invoke
    [*] Test Function in the Cloud: sam sync --stack-name {{stack-name}} --watch
    [*] Deploy: sam deploy --guided
    --- stderr
    Building codeuri: [PROJECT] runtime: provided.al2 architecture: x86_64 functions: FunctionA
    Building codeuri: [PROJECT] runtime: provided.al2 architecture: x86_64 functions: FunctionB
    Built FunctionA, FunctionB (provided.al2 x86_64, [N] of [TOTAL] crates compiled) in [TIME]s
      Resource   Target                  Size  Build
      FunctionA  provided.al2 x86_64  [SIZE] MiB  built in [TIME]s
      FunctionB  provided.al2 x86_64  [SIZE] MiB  built in [TIME]s
    "#);

    // Nothing changed: cargo compiles nothing, and both the run and the table say so.
    let again = run_ok(samrs(project.path()).arg("build"));
    assert_transcript!(redacted(&again.stderr, project.path()), @r#"
    Building codeuri: [PROJECT] runtime: provided.al2 architecture: x86_64 functions: FunctionA
    Building codeuri: [PROJECT] runtime: provided.al2 architecture: x86_64 functions: FunctionB
    Built FunctionA, FunctionB (provided.al2 x86_64, up to date) in [TIME]s
      Resource   Target                  Size  Build
      FunctionA  provided.al2 x86_64  [SIZE] MiB  up to date
      FunctionB  provided.al2 x86_64  [SIZE] MiB  up to date
    "#);
}

#[test]
fn compile_error() {
    let project = copy_fixture("multi-function");
    let fake = fake_cargo_lambda();
    let scratch = tempfile::tempdir().expect("scratch");
    let run = run(samrs_with_fake(
        project.path(),
        fake.path(),
        &scratch.path().join("calls.log"),
        &scratch.path().join("target"),
    )
    .arg("build")
    .env("FAKE_FAIL_BIN", "function_b"));
    assert_transcript!(redacted(&transcript(&run), project.path()), @r#"
    exit: 1
    --- stdout

    Build Failed
    --- stderr
    Building codeuri: [PROJECT] runtime: provided.al2 architecture: x86_64 functions: FunctionA
    Building codeuri: [PROJECT] runtime: provided.al2 architecture: x86_64 functions: FunctionB
    Error: Cargo Lambda failed for FunctionB (exit code 101, `cargo lambda build --release --target x86_64-unknown-linux-gnu.2.26 --bin function_a --bin function_b` in [PROJECT]); FunctionA not built (same cargo run):
       Compiling fake v0.1.0
    error[E0308]: mismatched types (fake)
    error: could not compile `fake` (bin "function_b") due to 1 previous error
    "#);
}

#[test]
fn template_error() {
    let project = copy_fixture("multi-function");
    let template = project.path().join("template.yaml");
    let text = std::fs::read_to_string(&template).expect("read template");
    std::fs::write(
        &template,
        text.replacen(
            "      Handler: bootstrap\n",
            "      Handler: boot: strap\n",
            1,
        ),
    )
    .expect("write template");
    let run = run(samrs(project.path()).arg("build"));
    assert_transcript!(redacted(&transcript(&run), project.path()), @r#"
    exit: 1
    --- stdout
    --- stderr
    Error: Failed to parse template [PROJECT]/template.yaml: mapping values are not allowed in this context at line 13 column 20
    "#);
}

#[test]
fn help() {
    let project = tempfile::tempdir().expect("tmp");
    let run = run(samrs(project.path()).args(["build", "--help"]));
    assert_transcript!(transcript(&run), @r#"
    exit: 0
    --- stdout
    Build the project's rust-cargolambda functions into .aws-sam/build, as `sam build` does

    Usage: samrs build [OPTIONS] [RESOURCE_LOGICAL_ID]

    Arguments:
      [RESOURCE_LOGICAL_ID]
              Build only this function or layer (its logical id, or Stack/Function in a nested stack)

    Options:
      -t, --template-file <PATH>
              The AWS SAM template file [default: template.[yaml|yml|json]; env: SAM_TEMPLATE_FILE]
              
              [alias: --template]

          --parameter-overrides <VALUES>...
              Template parameter values: 'Key=Value Key2=Value2', 'ParameterKey=K,ParameterValue=V' or file://params.yaml

      -b, --build-dir <DIRECTORY>
              Where the built artifacts go [default: .aws-sam/build]; replaced by each build

          --cache-dir <DIRECTORY>
              Where --cached keeps artifacts [default: .aws-sam/cache]. Short form: -cd

      -s, --base-dir <DIRECTORY>
              Resolve relative CodeUri paths against this folder instead of the template's folder

      -c, --cached
              Reuse artifacts of an earlier build when nothing that decides them changed

          --no-cached
              Do not use the build cache

          --remote-cache <URL>
              Share --cached artifacts between checkouts and machines: s3://bucket/prefix or a folder (samrs's own)

          --no-remote-cache
              Do not use a remote cache (overrides remote_cache in samconfig)

          --reproducible
              Byte-identical bootstraps whatever the checkout folder, user, HOME or CARGO_HOME (samrs's own)

          --no-reproducible
              Build without path remapping (the default)

      -p, --parallel
              Build independent groups at the same time

      -w, --watch
              After the build, keep watching the sources, manifests, template and config, and rebuild what changed (press Ctrl-C to stop)

          --no-watch
              Build once and exit (the default)

      -x, --exclude <RESOURCE>
              Do not build this resource (repeatable)

      -m, --manifest <PATH>
              Ignored: Rust functions have no dependency manifest other than Cargo.toml

          --build-in-source
              Ignored: Rust functions always build in their source folder

          --no-build-in-source
              Ignored (see --build-in-source)

      -u, --use-container
              Refused: samrs builds natively with cargo-lambda and zig, no container needed

          --no-use-container
              Build without a container (the only way samrs builds)

      -e, --container-env-var <VALUE>
              Container only (refused). Short form: -e

          --container-env-var-file <PATH>
              Container only (refused). Short form: -ef

          --build-image <IMAGE>
              Container only (refused). Short form: -bi

          --mount-with <READ|WRITE>
              Container only (refused). Short form: -mw

          --mount-symlinks
              Container only (ignored)

          --no-mount-symlinks
              Container only (ignored)

          --use-buildkit
              Image builds only (ignored)

          --no-use-buildkit
              Image builds only (ignored)

          --skip-pull-image
              Container only (ignored)
              
              [env: SAM_SKIP_PULL_IMAGE=]

          --docker-network <NETWORK>
              Container only (ignored)
              
              [env: SAM_DOCKER_NETWORK=]

          --region <REGION>
              AWS region, used for the AWS::Region pseudo-parameter

          --profile <PROFILE>
              AWS credentials profile (accepted; a local build needs no credentials)

          --output <text|json>
              Result format on stdout: text or json

          --language-extensions
              Expand Fn::ForEach (not supported by samrs; refused when used)
              
              [env: SAM_CLI_ENABLE_LANGUAGE_EXTENSIONS=]

          --no-language-extensions
              Do not expand Fn::ForEach

          --hook-name <NAME>
              Terraform hook (refused: samrs builds SAM templates only)

          --skip-prepare-infra
              Terraform hook option (refused)

          --prepare-infra
              Terraform hook option (refused)

          --terraform-project-root-path <PATH>
              Terraform hook option (refused)

          --config-file <PATH>
              Configuration file [default: samconfig.toml]

          --config-env <TEXT>
              Environment in the configuration file [default: default]

          --save-params
              Save the options given on the command line to the configuration file

          --beta-features
              Turn on beta features (samrs's own: Rust layers)

          --no-beta-features
              Turn off beta features

          --debug
              Show debug logs, the exact cargo commands and cargo's full output
              
              [env: SAM_DEBUG=]

      -h, --help
              Print help (see a summary with '-h')
    --- stderr
    "#);
}

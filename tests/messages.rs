//! Transcripts of the messages a new user meets first: usage errors with SAM's "Did you mean"
//! suggestions, misspelt Metadata keys named with the right spelling, and a run from a subfolder
//! pointing at the project's template. Paths are redacted to `<project>`.

mod common;

use common::*;
use std::path::Path;

const BUILD_USAGE: &str =
    "\nUsage: samrs build [OPTIONS] [RESOURCE_LOGICAL_ID]\nTry 'samrs build -h' for help.\n\n";

/// A run with the fake cargo-lambda, its stderr with the project's path redacted.
fn transcript(project: &Path, dir: &Path, args: &[&str]) -> Run {
    let fake = fake_cargo_lambda();
    let scratch = tempfile::tempdir().expect("tmp");
    let mut run = run(samrs_with_fake(
        dir,
        fake.path(),
        &scratch.path().join("calls.log"),
        &scratch.path().join("target"),
    )
    .args(args));
    let root = project.canonicalize().expect("canonical");
    run.stderr = run
        .stderr
        .replace(&root.display().to_string(), "<project>")
        .replace(&project.display().to_string(), "<project>");
    run
}

fn edit(project: &Path, from: &str, to: &str) {
    let path = project.join("template.yaml");
    let text = std::fs::read_to_string(&path).expect("read");
    assert!(text.contains(from), "no {from:?} in the template");
    std::fs::write(&path, text.replacen(from, to, 1)).expect("write");
}

#[test]
fn a_misspelt_option_gets_sams_suggestions() {
    let project = copy_fixture("multi-function");
    let run = transcript(project.path(), project.path(), &["build", "--cachd"]);
    assert_eq!(run.code, 2);
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr,
        format!(
            "{BUILD_USAGE}Error: No such option: --cachd (Possible options: --cache-dir, --cached, --no-cached)\n"
        )
    );
    let run = transcript(project.path(), project.path(), &["build", "--paralel"]);
    assert_eq!(
        run.stderr,
        format!(
            "{BUILD_USAGE}Error: No such option: --paralel (Possible options: --parallel, --profile)\n"
        )
    );
}

#[test]
fn a_bad_output_format_lists_the_choices() {
    let project = copy_fixture("multi-function");
    let run = transcript(
        project.path(),
        project.path(),
        &["build", "--output", "yaml"],
    );
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        format!(
            "{BUILD_USAGE}Error: Invalid value for '--output': 'yaml' is not one of 'text', 'json'.\n"
        )
    );
}

#[test]
fn a_misspelt_command_is_corrected_under_the_top_usage() {
    let project = copy_fixture("multi-function");
    let run = transcript(project.path(), project.path(), &["biuld"]);
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        "\nUsage: samrs <COMMAND>\nTry 'samrs -h' for help.\n\nError: No such command 'biuld'. Did you mean 'build'?\n"
    );
    let run = transcript(project.path(), project.path(), &["deploy", "--guided"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.ends_with(
            "Error: No such command 'deploy'. samrs has: build, local (for the other commands, use sam deploy)\n"
        ),
        "{}",
        run.stderr
    );
}

/// Was: "FunctionA: no Metadata.BuildMethod", with no word about the typo beside it. (Without
/// a BuildMethod the function is sam's to build; this test's PATH has no sam.)
#[test]
fn a_misspelt_build_method_is_named_with_the_right_spelling() {
    let project = copy_fixture("multi-function");
    edit(
        project.path(),
        "BuildMethod: rust-cargolambda",
        "BuildMetod: rust-cargolambda",
    );
    let run = transcript(project.path(), project.path(), &["build"]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr.lines().next(),
        Some(
            "FunctionA: Metadata.BuildMetod (in <project>/template.yaml) is not a key SAM reads, so it is ignored; did you mean Metadata.BuildMethod?"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn misspelt_and_misplaced_build_properties_are_warned_about() {
    let project = copy_fixture("multi-function");
    edit(
        project.path(),
        "        Binary: function_a",
        "        Binnary: function_a\n        Binary: function_a",
    );
    edit(
        project.path(),
        "      BuildProperties:\n        Binary: function_b",
        "      Binary: function_b\n      BuildProperty:\n        Binary: function_b\n      BuildProperties:\n        Binary: function_b",
    );
    let run = transcript(project.path(), project.path(), &["build"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let warnings: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.contains(" is ignored"))
        .collect();
    assert_eq!(
        warnings,
        [
            "FunctionA: Metadata.BuildProperties.Binnary (in <project>/template.yaml) is not a key samrs reads, so it is ignored; did you mean Metadata.BuildProperties.Binary?",
            "FunctionB: Metadata.BuildProperty (in <project>/template.yaml) is not a key SAM reads, so it is ignored; did you mean Metadata.BuildProperties?",
            "FunctionB: Metadata.Binary (in <project>/template.yaml) is not read there, so it is ignored; it belongs under Metadata.BuildProperties (`BuildProperties: {Binary: ...}`)",
        ]
    );
}

/// Was: "Template file not found at …/src/template.yml" and nothing about the one above.
#[test]
fn from_a_subfolder_the_template_above_and_its_t_option_are_named() {
    let project = copy_fixture("multi-function");
    let src = project.path().join("src");
    let run = transcript(project.path(), &src, &["build"]);
    assert_eq!(run.code, 1);
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr,
        "Error: Template file not found at <project>/src/template.yml\nThe project's template is <project>/template.yaml: run samrs build in <project>, or pass -t ../template.yaml (the build then goes to .aws-sam in this folder)\n"
    );
    let run = transcript(project.path(), &src, &["build", "-t", "../template.yaml"]);
    assert_eq!(run.code, 0, "the hint works as given: {}", run.stderr);
    assert!(src.join(".aws-sam/build/FunctionA/bootstrap").is_file());
}

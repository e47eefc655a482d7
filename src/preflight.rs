//! Toolchain checks before any compile: the rustc, cargo-lambda and zig in use and the Rust
//! flags the builds will get, against combinations known to break Lambda builds. Each finding
//! carries its fix; one that makes the build fail stops the run, the others are warnings.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::anyhow;

use crate::cargo::process::{interrupted, run_streaming};
use crate::cargo::tools::Tools;
use crate::plan::{BuildPlan, CargoBuild};
use crate::settings::Settings;
use crate::template::Architecture;
use crate::ui::Ui;

/// A tool version as numbers (`1.98.0-nightly` → 1.98.0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Version(pub u64, pub u64, pub u64);

impl Version {
    /// The first `a.b[.c]` in `text`.
    pub(crate) fn find(text: &str) -> Option<Version> {
        text.split(|c: char| !(c.is_ascii_digit() || c == '.'))
            .find_map(|word| {
                let mut parts = word.split('.').filter(|p| !p.is_empty());
                let major = parts.next()?.parse().ok()?;
                let minor = parts.next()?.parse().ok()?;
                let patch = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
                Some(Version(major, minor, patch))
            })
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

/// What was found of the toolchain (`None`: not asked, or the tool did not answer).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Toolchain {
    /// rustc's `-vV` release line, e.g. `1.95.0`.
    pub rustc: Option<String>,
    /// Where rustc's standard libraries are (`rustc --print sysroot`).
    pub sysroot: Option<PathBuf>,
    /// cargo-lambda's version.
    pub cargo_lambda: Option<String>,
    /// The zig cargo-lambda links with, and how it runs it.
    pub zig: Option<String>,
    pub zig_command: Option<String>,
    /// Whether rustup is there to add a missing target (cargo-lambda does that itself).
    pub rustup: bool,
}

/// `-C target-cpu=…` found in a place that sets the builds' Rust flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CpuFlag {
    pub cpu: String,
    /// Where it is set: `RUSTFLAGS`, or a config file and key.
    pub source: String,
    /// Set for one target triple only (`target.<triple>.rustflags`).
    pub triple: Option<String>,
}

/// What the planned builds ask of the toolchain.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Needs {
    /// Functions and layers built for arm64 (empty: x86_64 only).
    pub arm64: Vec<String>,
    /// Functions and layers built for x86_64.
    pub x86_64: Vec<String>,
    /// Crates in the lock files that compile C code (they depend on `cc` or `cmake`).
    pub c_crates: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Severity {
    Warning,
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Finding {
    pub severity: Severity,
    pub message: String,
}

const AARCH64: &str = "aarch64-unknown-linux-gnu";

/// Detects the toolchain for `builds`, reports what it found under `--debug`, warns, and fails
/// when a finding means no build can succeed. Fills `tools.rustc` for later messages.
pub(crate) fn check(
    tools: &mut Tools,
    builds: &[CargoBuild],
    work: &BuildPlan,
    settings: &Settings,
    ui: &Ui,
) -> anyhow::Result<()> {
    let needs = needs(builds, work);
    let dir = builds
        .first()
        .map_or_else(|| PathBuf::from("."), |b| b.dir.clone());
    let toolchain = detect(settings, &dir, !needs.arm64.is_empty() || ui.debug);
    ui.debug(&format!(
        "Toolchain: rustc {}, cargo-lambda {}, zig {} ({}), rustup {}",
        toolchain.rustc.as_deref().unwrap_or("not asked"),
        toolchain.cargo_lambda.as_deref().unwrap_or("unknown"),
        toolchain.zig.as_deref().unwrap_or("unknown"),
        toolchain.zig_command.as_deref().unwrap_or("not found"),
        if toolchain.rustup {
            "found"
        } else {
            "not found"
        },
    ));
    tools.rustc.clone_from(&toolchain.rustc);
    let dirs: BTreeSet<PathBuf> = builds.iter().map(|b| b.dir.clone()).collect();
    let flags = cpu_flags(&dirs, &|name| settings.env.get(name).map(str::to_string));
    let mut errors = Vec::new();
    for finding in review(&toolchain, &needs, &flags) {
        match finding.severity {
            Severity::Warning => ui.warn(&format!("Warning: {}", finding.message)),
            Severity::Error => errors.push(finding.message),
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(anyhow!(errors.join("\n")))
    }
}

/// Which functions build for which architecture, and the C-compiling crates of their locks.
fn needs(builds: &[CargoBuild], work: &BuildPlan) -> Needs {
    let mut needs = Needs::default();
    let mut roots = BTreeSet::new();
    for build in builds {
        let names = build
            .outputs
            .iter()
            .flat_map(|(artifact, _)| work.names(*artifact))
            .map(str::to_string);
        match build.target.architecture {
            Architecture::Arm64 => needs.arm64.extend(names),
            Architecture::X86_64 => needs.x86_64.extend(names),
        }
        roots.insert(build.workspace_root.clone());
    }
    needs.arm64.dedup();
    needs.x86_64.dedup();
    for root in roots {
        needs.c_crates.extend(c_crates(&root.join("Cargo.lock")));
    }
    needs.c_crates.sort();
    needs.c_crates.dedup();
    needs
}

/// Packages of a Cargo.lock that build C code: those depending on `cc` or `cmake`.
fn c_crates(lock: &Path) -> Vec<String> {
    let Some(table) = std::fs::read_to_string(lock)
        .ok()
        .and_then(|t| t.parse::<toml::Table>().ok())
    else {
        return Vec::new();
    };
    let Some(packages) = table.get("package").and_then(toml::Value::as_array) else {
        return Vec::new();
    };
    packages
        .iter()
        .filter_map(toml::Value::as_table)
        .filter(|p| {
            p.get("dependencies")
                .and_then(toml::Value::as_array)
                .is_some_and(|deps| {
                    deps.iter().filter_map(toml::Value::as_str).any(|d| {
                        let name = d.split(' ').next().unwrap_or(d);
                        name == "cc" || name == "cmake"
                    })
                })
        })
        .filter_map(|p| {
            p.get("name")
                .and_then(toml::Value::as_str)
                .map(str::to_string)
        })
        .collect()
}

/// Asks the tools for their versions. rustc is asked (in `dir`, where a rust-toolchain file
/// may choose it) only when `with_rustc`: x86_64-only builds need nothing from it here.
pub(crate) fn detect(settings: &Settings, dir: &Path, with_rustc: bool) -> Toolchain {
    let mut toolchain = Toolchain {
        rustup: settings.find_program("rustup").is_some(),
        ..Toolchain::default()
    };
    if with_rustc {
        toolchain.rustc = rustc_release(dir, settings);
        toolchain.sysroot = output(rustc_command(dir, settings).args(["--print", "sysroot"]))
            .map(|s| PathBuf::from(s.trim()));
    }
    let cargo_lambda = settings
        .find_program("cargo-lambda")
        .unwrap_or_else(|| PathBuf::from("cargo-lambda"));
    let stamp = lambda_stamp(&cargo_lambda, settings);
    let file = remembered_file(&stamp, settings);
    let remembered: Option<LambdaAnswers> = file
        .as_ref()
        .and_then(|f| std::fs::read_to_string(f).ok())
        .and_then(|text| serde_json::from_str(&text).ok())
        .filter(|r: &LambdaAnswers| r.stamp == stamp);
    let answers = remembered.unwrap_or_else(|| {
        let answers = ask_cargo_lambda(&cargo_lambda, stamp);
        if let (Some(file), Ok(text)) = (&file, serde_json::to_string(&answers))
            && answers.cargo_lambda.is_some()
            && !interrupted()
        {
            let _ = crate::store::write_atomically(file, text);
        }
        answers
    });
    toolchain.cargo_lambda = answers.cargo_lambda;
    toolchain.zig = answers.zig;
    toolchain.zig_command = answers.zig_command;
    toolchain
}

/// What cargo-lambda says of itself and of the zig it links with. Asking starts Python (about
/// 0.2 s), so the answer is kept while cargo-lambda, its folder (pip installs there), the zig and
/// python3 on PATH and the variables that choose them look the same.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct LambdaAnswers {
    stamp: String,
    cargo_lambda: Option<String>,
    zig: Option<String>,
    zig_command: Option<String>,
}

fn ask_cargo_lambda(cargo_lambda: &Path, stamp: String) -> LambdaAnswers {
    let version = output(Command::new(cargo_lambda).args(["lambda", "--version"]))
        .and_then(|text| Version::find(&text))
        .map(|v| v.to_string());
    let mut answers = LambdaAnswers {
        stamp,
        cargo_lambda: version,
        zig: None,
        zig_command: None,
    };
    if let Some(text) =
        output(Command::new(cargo_lambda).args(["lambda", "system", "--output-format", "json"]))
        && let Ok(json) = serde_json::from_str::<serde_json::Value>(&text)
    {
        let zig = &json["zig"];
        answers.zig = zig["version"].as_str().map(str::to_string);
        answers.zig_command = zig["command"].as_str().map(str::to_string);
    }
    answers
}

fn lambda_stamp(cargo_lambda: &Path, settings: &Settings) -> String {
    let mut text = String::new();
    let mut identity = |path: &Path| {
        let meta = std::fs::metadata(path).ok();
        text.push_str(&format!(
            "{}:{:?}:{:?}\n",
            path.display(),
            meta.as_ref().map(std::fs::Metadata::len),
            meta.and_then(|m| m.modified().ok())
        ));
    };
    identity(cargo_lambda);
    if let Some(folder) = cargo_lambda.parent() {
        identity(folder);
    }
    for tool in ["zig", "python3"] {
        if let Some(found) = settings.find_program(tool) {
            identity(&found);
        }
    }
    for name in ["PATH", "CARGO_ZIGBUILD_ZIG_PATH"] {
        text.push_str(&format!("{name}={:?}\n", settings.env.get(name)));
    }
    text
}

fn remembered_file(stamp: &str, settings: &Settings) -> Option<PathBuf> {
    let key = crate::store::fingerprint(stamp);
    Some(
        settings
            .env
            .samrs_cache_home()?
            .join("toolchain")
            .join(format!("{key}.json")),
    )
}

/// rustc's release (`1.95.0`), as cargo would run it in `dir`.
pub(crate) fn rustc_release(dir: &Path, settings: &Settings) -> Option<String> {
    let text = output(rustc_command(dir, settings).arg("-vV"))?;
    text.lines()
        .find_map(|l| l.strip_prefix("release: "))
        .map(|r| r.trim().to_string())
}

fn rustc_command(dir: &Path, settings: &Settings) -> Command {
    let rustc = settings.env.get("RUSTC").unwrap_or("rustc");
    let mut command = Command::new(rustc);
    command.current_dir(dir);
    command
}

/// A command's stdout when it ran and succeeded. It runs through the process wrapper, so an
/// interrupt stops it with its children; after an interrupt nothing more is asked.
fn output(command: &mut Command) -> Option<String> {
    if interrupted() {
        return None;
    }
    let out = run_streaming(command, |_, _| {}).ok()?;
    out.status.success().then(|| out.stdout.join("\n"))
}

/// Every `-C target-cpu=…` the builds in `dirs` may get: from RUSTFLAGS-like variables and from
/// `build.rustflags` / `target.<…>.rustflags` of the cargo config files cargo reads for them.
pub(crate) fn cpu_flags(
    dirs: &BTreeSet<PathBuf>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Vec<CpuFlag> {
    let mut found = Vec::new();
    for name in ["RUSTFLAGS", "CARGO_BUILD_RUSTFLAGS"] {
        if let Some(value) = env(name) {
            let words: Vec<String> = value.split_whitespace().map(str::to_string).collect();
            push_cpus(&mut found, &words, name, None);
        }
    }
    if let Some(value) = env("CARGO_ENCODED_RUSTFLAGS") {
        let words: Vec<String> = value.split('\u{1f}').map(str::to_string).collect();
        push_cpus(&mut found, &words, "CARGO_ENCODED_RUSTFLAGS", None);
    }
    for triple in ["X86_64_UNKNOWN_LINUX_GNU", "AARCH64_UNKNOWN_LINUX_GNU"] {
        let name = format!("CARGO_TARGET_{triple}_RUSTFLAGS");
        if let Some(value) = env(&name) {
            let words: Vec<String> = value.split_whitespace().map(str::to_string).collect();
            let triple = triple
                .to_lowercase()
                .replace('_', "-")
                .replacen("x86-64", "x86_64", 1);
            push_cpus(&mut found, &words, &name, Some(&triple));
        }
    }
    let mut files: Vec<PathBuf> = Vec::new();
    for dir in dirs {
        for folder in dir.ancestors() {
            for name in [".cargo/config.toml", ".cargo/config"] {
                let file = folder.join(name);
                if file.is_file() && !files.contains(&file) {
                    files.push(file);
                }
            }
        }
    }
    let cargo_home = env("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    if let Some(home) = cargo_home {
        for name in ["config.toml", "config"] {
            let file = home.join(name);
            if file.is_file() && !files.contains(&file) {
                files.push(file);
            }
        }
    }
    for file in files {
        let Some(table) = std::fs::read_to_string(&file)
            .ok()
            .and_then(|t| t.parse::<toml::Table>().ok())
        else {
            continue;
        };
        let shown = file.display().to_string();
        if let Some(flags) = table.get("build").and_then(|b| b.get("rustflags")) {
            push_cpus(
                &mut found,
                &flag_words(flags),
                &format!("{shown} (build.rustflags)"),
                None,
            );
        }
        if let Some(targets) = table.get("target").and_then(toml::Value::as_table) {
            for (key, section) in targets {
                if let Some(flags) = section.get("rustflags") {
                    let triple = (!key.starts_with("cfg(")).then(|| key.clone());
                    push_cpus(
                        &mut found,
                        &flag_words(flags),
                        &format!("{shown} (target.{key}.rustflags)"),
                        triple.as_deref(),
                    );
                }
            }
        }
    }
    found
}

fn flag_words(value: &toml::Value) -> Vec<String> {
    match value {
        toml::Value::String(s) => s.split_whitespace().map(str::to_string).collect(),
        toml::Value::Array(items) => items
            .iter()
            .filter_map(toml::Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

/// `-C target-cpu=x`, `-Ctarget-cpu=x` and `--codegen target-cpu=x` in a list of flags.
fn push_cpus(found: &mut Vec<CpuFlag>, words: &[String], source: &str, triple: Option<&str>) {
    let mut previous = "";
    for word in words {
        let option = if previous == "-C" || previous == "--codegen" {
            Some(word.as_str())
        } else {
            word.strip_prefix("-C")
                .or_else(|| word.strip_prefix("--codegen="))
        };
        if let Some(cpu) = option.and_then(|o| o.strip_prefix("target-cpu=")) {
            found.push(CpuFlag {
                cpu: cpu.to_string(),
                source: source.to_string(),
                triple: triple.map(str::to_string),
            });
        }
        previous = word;
    }
}

/// CPUs every Lambda host of the architecture runs (cargo-lambda's own choices among them).
fn lambda_safe(cpu: &str, architecture: Architecture) -> bool {
    match architecture {
        Architecture::X86_64 => matches!(
            cpu,
            "x86-64" | "x86-64-v2" | "x86-64-v3" | "haswell" | "generic"
        ),
        Architecture::Arm64 => matches!(cpu, "generic" | "neoverse-n1"),
    }
}

/// The findings for this toolchain, build and flags (pure).
pub(crate) fn review(toolchain: &Toolchain, needs: &Needs, flags: &[CpuFlag]) -> Vec<Finding> {
    let mut findings = Vec::new();
    let rustc = toolchain.rustc.as_deref().and_then(Version::find);
    let cargo_lambda = toolchain.cargo_lambda.as_deref().and_then(Version::find);
    let arm64 = !needs.arm64.is_empty();

    if arm64
        && let (Some(rustc), Some(cargo_lambda)) = (rustc, cargo_lambda)
        && rustc >= Version(1, 98, 0)
        && cargo_lambda < Version(1, 9, 2)
    {
        findings.push(Finding {
            severity: Severity::Error,
            message: format!(
                "rustc {rustc} links aarch64 binaries with `--fix-cortex-a53-843419`, which the zig linker of cargo-lambda {cargo_lambda} rejects, so every arm64 build fails to link ({}). Upgrade cargo-lambda to 1.9.2 or newer (`pip install -U cargo-lambda`, or your usual installer), or build these functions with rustc 1.97 (`rustup override set 1.97`)",
                needs.arm64.join(", ")
            ),
        });
    }

    if let Some(zig) = toolchain.zig.as_deref()
        && Version::find(zig).is_some_and(|v| v.0 == 0 && v.1 == 16)
    {
        let risk = if needs.c_crates.is_empty() {
            "a dependency that compiles C code (such as aws-lc-sys) would fail to link".to_string()
        } else {
            format!(
                "these crates of the lock file compile C code and will likely fail to link: {}",
                needs.c_crates.join(", ")
            )
        };
        findings.push(Finding {
            severity: Severity::Warning,
            message: format!(
                "cargo-lambda links with zig {zig} ({}), whose `ar` breaks cross-compiling C code: {risk}. Use another zig, for example `pip install 'ziglang!=0.16.*'` in the Python environment cargo-lambda runs zig from",
                toolchain.zig_command.as_deref().unwrap_or("zig")
            ),
        });
    }

    for flag in flags {
        for (architecture, names) in [
            (Architecture::X86_64, &needs.x86_64),
            (Architecture::Arm64, &needs.arm64),
        ] {
            let triple = match architecture {
                Architecture::X86_64 => "x86_64-unknown-linux-gnu",
                Architecture::Arm64 => AARCH64,
            };
            let applies = flag.triple.as_deref().is_none_or(|t| t == triple);
            if names.is_empty() || !applies || lambda_safe(&flag.cpu, architecture) {
                continue;
            }
            let safe = match architecture {
                Architecture::X86_64 => "x86-64-v3 (or haswell, cargo-lambda's choice)",
                Architecture::Arm64 => "neoverse-n1 (Graviton2, cargo-lambda's choice)",
            };
            let why = if flag.cpu == "native" {
                "the CPU of this machine".to_string()
            } else {
                format!("the CPU `{}`", flag.cpu)
            };
            findings.push(Finding {
                severity: Severity::Warning,
                message: format!(
                    "{} sets `-C target-cpu={}` for the {} build of {}: the binary may use instructions of {why} that Lambda's {} hosts lack, and crash with SIGILL (illegal instruction) there. Remove the flag, or use target-cpu={safe}",
                    flag.source,
                    flag.cpu,
                    architecture.as_str(),
                    names.join(", "),
                    architecture.as_str()
                ),
            });
        }
    }

    if arm64
        && let Some(sysroot) = &toolchain.sysroot
        && !sysroot
            .join("lib/rustlib")
            .join(AARCH64)
            .join("lib")
            .is_dir()
    {
        let rustc = toolchain.rustc.as_deref().unwrap_or("in use");
        if toolchain.rustup {
            findings.push(Finding {
                severity: Severity::Warning,
                message: format!(
                    "The Rust standard library for {AARCH64} is not installed for rustc {rustc}, needed by {}; cargo-lambda will try `rustup target add {AARCH64}` first (this needs the network). Run it yourself once to make builds independent of that",
                    needs.arm64.join(", ")
                ),
            });
        } else {
            findings.push(Finding {
                severity: Severity::Error,
                message: format!(
                    "The Rust standard library for {AARCH64} is not installed for rustc {rustc} ({}), and there is no rustup to add it, so the arm64 builds of {} cannot compile. Install it (`rustup target add {AARCH64}` with rustup, or your distribution's rust-std package for aarch64)",
                    sysroot.display(),
                    needs.arm64.join(", ")
                ),
            });
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toolchain(rustc: &str, cargo_lambda: &str, zig: &str) -> Toolchain {
        Toolchain {
            rustc: Some(rustc.into()),
            sysroot: None,
            cargo_lambda: Some(cargo_lambda.into()),
            zig: Some(zig.into()),
            zig_command: Some("zig".into()),
            rustup: true,
        }
    }

    fn needs(arm64: &[&str], x86_64: &[&str]) -> Needs {
        Needs {
            arm64: arm64.iter().map(ToString::to_string).collect(),
            x86_64: x86_64.iter().map(ToString::to_string).collect(),
            c_crates: Vec::new(),
        }
    }

    #[test]
    fn versions_are_read_from_tool_output() {
        assert_eq!(
            Version::find("cargo-lambda 1.9.2 (67129fc 2026-08-21Z)"),
            Some(Version(1, 9, 2))
        );
        assert_eq!(Version::find("1.98.0-nightly"), Some(Version(1, 98, 0)));
        assert_eq!(Version::find("0.16"), Some(Version(0, 16, 0)));
        assert_eq!(Version::find("no version"), None);
    }

    #[test]
    fn new_rustc_with_old_cargo_lambda_stops_arm64_builds_only() {
        let old = toolchain("1.98.0", "1.9.1", "0.15.1");
        let found = review(&old, &needs(&["Arm"], &[]), &[]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].severity, Severity::Error);
        assert!(found[0].message.contains("--fix-cortex-a53-843419"));
        assert!(found[0].message.contains("cargo-lambda to 1.9.2"));
        assert!(review(&old, &needs(&[], &["X"]), &[]).is_empty());
        assert!(
            review(
                &toolchain("1.98.0", "1.9.2", "0.15.1"),
                &needs(&["Arm"], &[]),
                &[]
            )
            .is_empty()
        );
        assert!(
            review(
                &toolchain("1.97.1", "1.9.1", "0.15.1"),
                &needs(&["Arm"], &[]),
                &[]
            )
            .is_empty()
        );
    }

    #[test]
    fn zig_016_warns_and_names_c_crates() {
        let mut with_c = needs(&[], &["X"]);
        with_c.c_crates = vec!["aws-lc-sys".into()];
        let found = review(&toolchain("1.95.0", "1.9.2", "0.16.0"), &with_c, &[]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].severity, Severity::Warning);
        assert!(
            found[0].message.contains("aws-lc-sys"),
            "{}",
            found[0].message
        );
        assert!(found[0].message.contains("ziglang!=0.16.*"));
        assert!(review(&toolchain("1.95.0", "1.9.2", "0.17.1"), &with_c, &[]).is_empty());
    }

    #[test]
    fn target_cpu_flags_are_found_where_cargo_reads_them() {
        let dir = tempfile::tempdir().expect("temp dir");
        let project = dir.path().join("proj");
        std::fs::create_dir_all(project.join(".cargo")).expect("mkdir");
        std::fs::write(
            project.join(".cargo/config.toml"),
            "[build]\nrustflags = [\"-C\", \"target-cpu=native\"]\n[target.aarch64-unknown-linux-gnu]\nrustflags = \"-Ctarget-cpu=neoverse-v2\"\n",
        )
        .expect("write config");
        let env = |name: &str| match name {
            "RUSTFLAGS" => Some("-C opt-level=3 -C target-cpu=skylake-avx512".to_string()),
            "HOME" => Some(dir.path().join("home").display().to_string()),
            _ => None,
        };
        let flags = cpu_flags(&BTreeSet::from([project.clone()]), &env);
        let cpus: Vec<(&str, Option<&str>)> = flags
            .iter()
            .map(|f| (f.cpu.as_str(), f.triple.as_deref()))
            .collect();
        assert_eq!(
            cpus,
            [
                ("skylake-avx512", None),
                ("native", None),
                ("neoverse-v2", Some(AARCH64))
            ]
        );
        let found = review(
            &toolchain("1.95.0", "1.9.2", "0.17.1"),
            &needs(&["Arm"], &["X"]),
            &flags,
        );
        let messages: Vec<&str> = found.iter().map(|f| f.message.as_str()).collect();
        assert!(found.iter().all(|f| f.severity == Severity::Warning));
        assert!(
            messages.iter().any(|m| m.starts_with(
                "RUSTFLAGS sets `-C target-cpu=skylake-avx512` for the x86_64 build of X"
            )),
            "{messages:?}"
        );
        assert!(
            messages.iter().any(|m| m.contains(
                "(build.rustflags) sets `-C target-cpu=native` for the arm64 build of Arm"
            ) && m.contains("SIGILL")),
            "{messages:?}"
        );
        assert!(messages.iter().any(|m| m.contains("target.aarch64-unknown-linux-gnu.rustflags) sets `-C target-cpu=neoverse-v2` for the arm64")), "{messages:?}");
        assert!(
            !messages
                .iter()
                .any(|m| m.contains("neoverse-v2") && m.contains("x86_64 build")),
            "{messages:?}"
        );
        assert!(
            review(
                &toolchain("1.95.0", "1.9.2", "0.17.1"),
                &needs(&[], &["X"]),
                &[CpuFlag {
                    cpu: "haswell".into(),
                    source: "RUSTFLAGS".into(),
                    triple: None
                }]
            )
            .is_empty()
        );
    }

    #[test]
    fn a_missing_aarch64_library_warns_with_rustup_and_stops_without() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut bare = toolchain("1.95.0", "1.9.2", "0.17.1");
        bare.sysroot = Some(dir.path().to_path_buf());
        let found = review(&bare, &needs(&["Arm"], &[]), &[]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].severity, Severity::Warning);
        assert!(
            found[0]
                .message
                .contains("rustup target add aarch64-unknown-linux-gnu")
        );
        bare.rustup = false;
        let found = review(&bare, &needs(&["Arm"], &[]), &[]);
        assert_eq!(found[0].severity, Severity::Error);
        assert!(review(&bare, &needs(&[], &["X"]), &[]).is_empty());
        std::fs::create_dir_all(dir.path().join("lib/rustlib/aarch64-unknown-linux-gnu/lib"))
            .expect("mkdir");
        assert!(review(&bare, &needs(&["Arm"], &[]), &[]).is_empty());
    }
}

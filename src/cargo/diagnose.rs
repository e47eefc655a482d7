//! Reading a failed cargo run for a cause samrs can name: a dependency locked in Cargo.lock at
//! a version that no longer compiles on the rustc in use (an old lock on a newer compiler).

use std::path::Path;

/// When cargo failed compiling a crate that comes from a registry or git (not the project's
/// own code), the hint that names it and the `cargo update -p` that usually fixes it.
pub(crate) fn stale_dependency(
    output: &[&str],
    workspace_root: &Path,
    rustc: Option<&str>,
) -> Option<String> {
    let failed: Vec<&str> = output
        .iter()
        .filter_map(|line| {
            let rest = line.split("could not compile `").nth(1)?;
            rest.split('`').next()
        })
        .collect();
    if failed.is_empty() {
        return None;
    }
    let lock_file = workspace_root.join("Cargo.lock");
    let lock: toml::Table = std::fs::read_to_string(&lock_file).ok()?.parse().ok()?;
    let packages = lock.get("package")?.as_array()?;
    let mut hints = Vec::new();
    for name in failed {
        let versions: Vec<&str> = packages
            .iter()
            .filter_map(toml::Value::as_table)
            .filter(|p| p.get("name").and_then(toml::Value::as_str) == Some(name))
            .filter(|p| p.contains_key("source"))
            .filter_map(|p| p.get("version").and_then(toml::Value::as_str))
            .collect();
        let spec = match versions.as_slice() {
            [] => continue,
            [_] => name.to_string(),
            [first, ..] => format!("{name}@{first}"),
        };
        if hints.iter().any(|(n, _, _)| *n == name) {
            continue;
        }
        hints.push((name, versions.join(", "), spec));
    }
    let (name, versions, spec) = hints.first()?;
    let compiler = rustc.map_or("this rustc".to_string(), |v| format!("rustc {v}"));
    Some(format!(
        "The crate that failed, {name} {versions}, is a dependency locked in {} at a version that no longer compiles with {compiler}. Update it with `cargo update -p {spec}` in {} (or `cargo update` for every dependency) and build again.",
        lock_file.display(),
        workspace_root.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = r#"
version = 4

[[package]]
name = "app"
version = "0.1.0"
dependencies = ["lexical-core"]

[[package]]
name = "lexical-core"
version = "0.7.4"
source = "registry+https://github.com/rust-lang/crates.io-index"
"#;

    #[test]
    fn a_locked_registry_crate_that_fails_is_named_with_its_update() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("Cargo.lock"), LOCK).expect("write lock");
        let output = [
            "   Compiling lexical-core v0.7.4",
            "error: could not compile `lexical-core` (lib) due to 27 previous errors",
        ];
        let hint = stale_dependency(&output, dir.path(), Some("1.95.0")).expect("hint");
        assert!(hint.contains("lexical-core 0.7.4"), "{hint}");
        assert!(hint.contains("rustc 1.95.0"), "{hint}");
        assert!(hint.contains("`cargo update -p lexical-core`"), "{hint}");
    }

    #[test]
    fn the_projects_own_crate_failing_gives_no_hint() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("Cargo.lock"), LOCK).expect("write lock");
        let output = ["error: could not compile `app` (bin \"app\") due to 1 previous error"];
        assert_eq!(stale_dependency(&output, dir.path(), None), None);
    }
}

//! The process environment, captured once when samrs starts. Every variable samrs reads is read
//! from this snapshot; child processes (cargo, cargo-lambda) inherit the real environment.

use std::collections::HashMap;
use std::path::PathBuf;

/// The environment variables (those with UTF-8 names and values) samrs started with.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    vars: HashMap<String, String>,
}

impl Environment {
    /// Captures the environment of this process.
    pub fn from_process() -> Environment {
        Environment {
            vars: std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
        }
    }

    /// An environment with just these variables (for tests).
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Environment {
        Environment {
            vars: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    /// The value of a variable.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    /// The value of a variable that is set and not empty.
    pub fn non_empty(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|v| !v.is_empty())
    }

    /// `CARGO_HOME`, else `~/.cargo`.
    pub fn cargo_home(&self) -> Option<PathBuf> {
        self.path("CARGO_HOME")
            .or_else(|| self.home().map(|h| h.join(".cargo")))
    }

    /// A variable that is set and not empty, as a path.
    fn path(&self, name: &str) -> Option<PathBuf> {
        self.get(name).filter(|v| !v.is_empty()).map(PathBuf::from)
    }

    /// The user's home folder.
    pub fn home(&self) -> Option<PathBuf> {
        self.path("HOME")
    }

    /// Where samrs keeps its own records: `$XDG_CACHE_HOME/samrs`, else `~/.cache/samrs`.
    pub fn samrs_cache_home(&self) -> Option<PathBuf> {
        self.path("XDG_CACHE_HOME")
            .or_else(|| self.home().map(|h| h.join(".cache")))
            .map(|base| base.join("samrs"))
    }

    /// rustup's folder: `RUSTUP_HOME`, else `~/.rustup`.
    pub fn rustup_home(&self) -> PathBuf {
        self.path("RUSTUP_HOME")
            .unwrap_or_else(|| self.home().unwrap_or_default().join(".rustup"))
    }

    /// True when `NO_COLOR` asks for plain output.
    pub fn no_color(&self) -> bool {
        self.get("NO_COLOR").is_some_and(|v| !v.is_empty())
    }

    /// The variables that change what cargo builds, sorted (part of the `--cached` key). Paths
    /// that differ from machine to machine without changing the output (CARGO_HOME, target
    /// folders, the rustc and wrapper executables such as sccache) are left out.
    pub fn build_vars(&self) -> Vec<(String, String)> {
        const NOT_OUTPUT: &[&str] = &[
            "CARGO_HOME",
            "CARGO_TARGET_DIR",
            "CARGO_BUILD_TARGET_DIR",
            "CARGO_BUILD_JOBS",
            "CARGO_BUILD_RUSTC_WRAPPER",
            "CARGO_BUILD_RUSTC",
            "CARGO_MAKEFLAGS",
        ];
        const NOT_OUTPUT_PREFIXES: &[&str] = &[
            "CARGO_TERM_",
            "CARGO_HTTP_",
            "CARGO_NET_",
            "CARGO_REGISTRIES_",
            "CARGO_REGISTRY_",
            "CARGO_LOG",
            "CARGO_CACHE_",
        ];
        let mut vars: Vec<(String, String)> = self
            .vars
            .iter()
            .filter(|(k, _)| {
                (k.starts_with("CARGO_")
                    && !NOT_OUTPUT.contains(&k.as_str())
                    && !NOT_OUTPUT_PREFIXES.iter().any(|p| k.starts_with(p)))
                    || k.starts_with("RUSTUP_TOOLCHAIN")
                    || k.starts_with("CFLAGS")
                    || k.starts_with("CXXFLAGS")
                    || matches!(
                        k.as_str(),
                        "RUSTFLAGS" | "CC" | "CXX" | "SAM_BUILD_MODE" | "SOURCE_DATE_EPOCH"
                    )
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        vars.sort();
        vars
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_home_prefers_xdg_and_ignores_empty_values() {
        let env = Environment::from_pairs(&[("HOME", "/h"), ("XDG_CACHE_HOME", "")]);
        assert_eq!(
            env.samrs_cache_home(),
            Some(PathBuf::from("/h/.cache/samrs"))
        );
        let env = Environment::from_pairs(&[("HOME", "/h"), ("XDG_CACHE_HOME", "/x")]);
        assert_eq!(env.samrs_cache_home(), Some(PathBuf::from("/x/samrs")));
        assert_eq!(Environment::default().samrs_cache_home(), None);
    }

    #[test]
    fn build_vars_keep_what_changes_a_binary() {
        let env = Environment::from_pairs(&[
            ("RUSTFLAGS", "-Ctarget-cpu=native"),
            ("CARGO_PROFILE_RELEASE_LTO", "true"),
            ("CARGO_TARGET_DIR", "/t"),
            ("CARGO_TERM_COLOR", "always"),
            ("CARGO_HOME", "/h/.cargo"),
            ("RUSTC_WRAPPER", "/usr/bin/sccache"),
            ("CARGO_BUILD_RUSTC_WRAPPER", "sccache"),
            ("HOME", "/h"),
        ]);
        assert_eq!(
            env.build_vars(),
            [
                ("CARGO_PROFILE_RELEASE_LTO".to_string(), "true".to_string()),
                ("RUSTFLAGS".to_string(), "-Ctarget-cpu=native".to_string()),
            ]
        );
    }
}

//! How samrs keeps things between runs: the `--cached` artifacts, remembered `cargo metadata`
//! answers, feature verdicts and build.toml are named by stable SHA-256 fingerprints and
//! written so that a reader sees the old version or the new one, never half of either.

use std::fs;
use std::path::Path;

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

/// A SHA-256 fingerprint being built; the same input gives the same name on every platform
/// and Rust release.
#[derive(Debug, Clone, Default)]
pub(crate) struct Fingerprint(Sha256);

impl Fingerprint {
    /// An empty fingerprint.
    pub(crate) fn new() -> Fingerprint {
        Fingerprint(Sha256::new())
    }

    /// Adds bytes.
    pub(crate) fn update(&mut self, bytes: impl AsRef<[u8]>) {
        self.0.update(bytes);
    }

    /// The fingerprint in lower-case hex.
    pub(crate) fn finish(self) -> String {
        hex(&self.0.finalize())
    }
}

/// The fingerprint of one text, for file names.
pub(crate) fn fingerprint(text: &str) -> String {
    let mut print = Fingerprint::new();
    print.update(text);
    print.finish()
}

/// `path:size:modified` of a file, a cheap stand-in for its content; `None` when it is missing.
pub(crate) fn file_stamp(path: &Path) -> Option<String> {
    let metadata = fs::metadata(path).ok()?;
    Some(format!(
        "{}:{}:{:?}\n",
        path.display(),
        metadata.len(),
        metadata.modified().ok()
    ))
}

/// Lower-case hex of a digest.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// [`write_atomically`], unless the file already holds exactly `contents` (then it is left
/// alone, time stamp and all). Returns whether it wrote.
pub(crate) fn write_if_changed(path: &Path, contents: impl AsRef<[u8]>) -> Result<bool> {
    if fs::read(path).is_ok_and(|old| old == contents.as_ref()) {
        return Ok(false);
    }
    write_atomically(path, contents)?;
    Ok(true)
}

/// Writes a file through a temporary sibling renamed over it, creating its folder. A file it
/// replaces keeps its permissions, and a link is written through to the file it points at.
pub(crate) fn write_atomically(path: &Path, contents: impl AsRef<[u8]>) -> Result<()> {
    let target = fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let (parent, name) = parent_and_name(&target);
    fs::create_dir_all(parent).with_context(|| format!("Unable to create {}", parent.display()))?;
    let write = || -> std::io::Result<()> {
        let prefix = format!(".{name}.samrs-tmp-");
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix);
        // Temporary files start at 0600; the written file gets the replaced file's mode, or
        // an ordinary file's.
        match fs::metadata(&target) {
            Ok(replaced) => {
                builder.permissions(replaced.permissions());
            }
            #[cfg(unix)]
            Err(_) => {
                builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
            }
            #[cfg(not(unix))]
            Err(_) => {}
        }
        let mut file = builder.tempfile_in(parent)?;
        std::io::Write::write_all(&mut file, contents.as_ref())?;
        file.persist(&target)?;
        Ok(())
    };
    write().with_context(|| format!("Unable to write {}", path.display()))
}

/// Replaces the folder `target` with one `fill` builds in a temporary sibling, in one rename.
pub(crate) fn replace_dir(target: &Path, fill: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let (parent, name) = parent_and_name(target);
    let temporary = tempfile::Builder::new()
        .prefix(&format!(".{name}.samrs-tmp-"))
        .tempdir_in(parent)
        .with_context(|| format!("Unable to create a folder in {}", parent.display()))?;
    fill(temporary.path())?;
    let _ = fs::remove_dir_all(target);
    fs::rename(temporary.path(), target)
        .with_context(|| format!("Unable to write {}", target.display()))?;
    // Renamed away: nothing is left for the guard to remove.
    let _ = temporary.keep();
    Ok(())
}

fn parent_and_name(path: &Path) -> (&Path, String) {
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    (parent, name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_stable_sha256() {
        assert_eq!(
            fingerprint("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn an_atomic_write_leaves_only_the_file_with_ordinary_permissions() {
        let tmp = tempfile::tempdir().expect("tmp");
        let path = tmp.path().join("sub/build.toml");
        write_atomically(&path, "one").expect("write");
        write_atomically(&path, "two").expect("write");
        assert_eq!(fs::read_to_string(&path).expect("read"), "two");
        let names: Vec<_> = fs::read_dir(tmp.path().join("sub"))
            .expect("ls")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, ["build.toml"]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).expect("stat").permissions().mode();
            assert_eq!(mode & 0o044, 0o044, "readable like any new file: {mode:o}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn an_atomic_write_keeps_the_mode_of_the_file_and_writes_through_a_link() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().expect("tmp");
        let real = tmp.path().join("real.toml");
        fs::write(&real, "old").expect("write");
        fs::set_permissions(&real, fs::Permissions::from_mode(0o600)).expect("chmod");
        let link = tmp.path().join("samconfig.toml");
        std::os::unix::fs::symlink(&real, &link).expect("link");
        write_atomically(&link, "new").expect("write");
        assert!(fs::symlink_metadata(&link).expect("stat").is_symlink());
        assert_eq!(fs::read_to_string(&real).expect("read"), "new");
        let mode = fs::metadata(&real).expect("stat").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_folder_is_replaced_whole_or_not_at_all() {
        let tmp = tempfile::tempdir().expect("tmp");
        let target = tmp.path().join("u1");
        fs::create_dir(&target).expect("mkdir");
        fs::write(target.join("old"), "old").expect("write");
        let failed = replace_dir(&target, |dir| {
            fs::write(dir.join("new"), "new")?;
            anyhow::bail!("copy failed")
        });
        assert!(failed.is_err());
        assert!(target.join("old").exists());
        replace_dir(&target, |dir| Ok(fs::write(dir.join("new"), "new")?)).expect("replace");
        assert!(target.join("new").exists() && !target.join("old").exists());
        assert_eq!(fs::read_dir(tmp.path()).expect("ls").count(), 1);
    }
}

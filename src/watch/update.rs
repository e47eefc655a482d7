//! Changing a live build folder in place: a file is replaced by writing beside it and renaming
//! over it (a reader sees the old file or the new one, never half of either), and only when
//! its bytes differ, so unchanged functions keep their file, inode and time stamp.

use std::fs;
use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result};

use crate::output::layout::copy_keeping_time;

/// Puts a copy of `source` at `destination` unless it already holds the same bytes; returns
/// whether it did. The copy is written in `beside` (a folder on the same file system, outside
/// the function's folder, so that a watcher of that folder, such as `sam local`'s warm
/// containers, sees only the finished file arrive) and renamed into place.
pub(crate) fn replace_file(source: &Path, destination: &Path, beside: &Path) -> Result<bool> {
    if same_bytes(source, destination)? {
        return Ok(false);
    }
    let parent = destination.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(parent).with_context(|| format!("Unable to create {}", parent.display()))?;
    let name = destination
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let folder = parent
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = beside.join(format!(".{folder}-{name}.samrs-tmp-{}", std::process::id()));
    let result = copy_keeping_time(source, &temp).and_then(|()| {
        fs::rename(&temp, destination)
            .with_context(|| format!("Unable to replace {}", destination.display()))
    });
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result.map(|()| true)
}

/// True when both files exist with equal contents.
fn same_bytes(a: &Path, b: &Path) -> Result<bool> {
    let (Ok(meta_a), Ok(meta_b)) = (fs::metadata(a), fs::metadata(b)) else {
        return Ok(false);
    };
    if meta_a.len() != meta_b.len() || !meta_b.is_file() {
        return Ok(false);
    }
    let read = |path: &Path| -> Result<Vec<u8>> {
        let mut bytes = Vec::new();
        fs::File::open(path)
            .and_then(|mut f| f.read_to_end(&mut bytes))
            .with_context(|| format!("Unable to read {}", path.display()))?;
        Ok(bytes)
    };
    Ok(read(a)? == read(b)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn equal_bytes_keep_the_file_and_new_bytes_replace_it() {
        let dir = tempfile::tempdir().expect("tmp");
        let source = dir.path().join("built");
        let destination = dir.path().join("F/bootstrap");
        fs::write(&source, "one").expect("write");
        assert!(replace_file(&source, &destination, dir.path()).expect("placed"));
        let inode = fs::metadata(&destination).expect("meta").ino();
        assert!(!replace_file(&source, &destination, dir.path()).expect("same"));
        assert_eq!(fs::metadata(&destination).expect("meta").ino(), inode);
        fs::write(&source, "two").expect("write");
        assert!(replace_file(&source, &destination, dir.path()).expect("replaced"));
        assert_eq!(fs::read(&destination).expect("read"), b"two");
        assert_ne!(fs::metadata(&destination).expect("meta").ino(), inode);
        let mut names: Vec<_> = fs::read_dir(dir.path())
            .expect("ls")
            .map(|e| e.expect("entry").file_name())
            .collect();
        names.sort();
        assert_eq!(names, ["F", "built"], "no temp file left");
    }
}

//! What the watched files hold, by content: a SHA-256 of every input file, so a save that
//! changes nothing (or a `touch`) is no change, and a change is named with its kind.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::inputs::Inputs;

/// How a file changed since it was last seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChangeKind {
    Added,
    Modified,
    Removed,
}

/// One changed input file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Change {
    pub(crate) path: PathBuf,
    pub(crate) kind: ChangeKind,
}

/// The content hash of every input file.
#[derive(Debug, Default)]
pub(crate) struct ContentIndex {
    files: BTreeMap<PathBuf, [u8; 32]>,
}

impl ContentIndex {
    /// Number of files known.
    pub(crate) fn len(&self) -> usize {
        self.files.len()
    }

    /// Makes the index hold exactly the files `inputs` covers now. Files not seen before are
    /// taken as they are (not reported as changes); files no longer covered are forgotten.
    pub(crate) fn track(&mut self, inputs: &Inputs) {
        let current = inputs.walk_files();
        self.files.retain(|path, _| current.contains(path));
        for path in current {
            if !self.files.contains_key(&path)
                && let Some(hash) = hash_file(&path)
            {
                self.files.insert(path, hash);
            }
        }
    }

    /// Looks again at the reported paths (files or folders) and returns what changed by
    /// content; paths `inputs` does not cover are skipped.
    pub(crate) fn refresh(&mut self, paths: &[PathBuf], inputs: &Inputs) -> Vec<Change> {
        let mut changes = Vec::new();
        for path in paths {
            if !inputs.covers(path) {
                continue;
            }
            if path.is_dir() {
                let present = inputs.files_under(path);
                for file in &present {
                    self.look_at(file, &mut changes);
                }
                let gone: Vec<PathBuf> = self
                    .under(path)
                    .filter(|known| !present.contains(known))
                    .collect();
                for file in gone {
                    self.look_at(&file, &mut changes);
                }
            } else if path.exists() {
                self.look_at(path, &mut changes);
            } else {
                let gone: Vec<PathBuf> = self.under(path).collect();
                for file in gone {
                    self.look_at(&file, &mut changes);
                }
            }
        }
        changes.sort_by(|a, b| a.path.cmp(&b.path));
        changes.dedup();
        changes
    }

    /// Known files at `path` or below it.
    fn under<'a>(&'a self, path: &'a Path) -> impl Iterator<Item = PathBuf> + 'a {
        self.files
            .range(path.to_path_buf()..)
            .take_while(move |(known, _)| known.starts_with(path))
            .map(|(known, _)| known.clone())
    }

    fn look_at(&mut self, file: &Path, changes: &mut Vec<Change>) {
        let now = if file.is_file() {
            hash_file(file)
        } else {
            None
        };
        let before = self.files.get(file).copied();
        let kind = match (before, now) {
            (None, Some(hash)) => {
                self.files.insert(file.to_path_buf(), hash);
                ChangeKind::Added
            }
            (Some(_), None) => {
                self.files.remove(file);
                ChangeKind::Removed
            }
            (Some(old), Some(new)) if old != new => {
                self.files.insert(file.to_path_buf(), new);
                ChangeKind::Modified
            }
            _ => return,
        };
        changes.push(Change {
            path: file.to_path_buf(),
            kind,
        });
    }
}

fn hash_file(path: &Path) -> Option<[u8; 32]> {
    let bytes = std::fs::read(path).ok()?;
    Some(Sha256::digest(&bytes).into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn only_content_changes_count() {
        let dir = tempfile::tempdir().expect("tmp");
        let root = dir.path().canonicalize().expect("real");
        std::fs::create_dir_all(root.join("src")).expect("mkdir");
        std::fs::create_dir_all(root.join("target")).expect("mkdir");
        let main = root.join("src/main.rs");
        std::fs::write(&main, "fn main() {}").expect("write");
        let inputs = Inputs {
            roots: BTreeSet::from([root.clone()]),
            ..Inputs::default()
        };
        let mut index = ContentIndex::default();
        index.track(&inputs);
        assert_eq!(index.len(), 1);

        std::fs::write(&main, "fn main() {}").expect("same bytes");
        assert!(
            index
                .refresh(std::slice::from_ref(&main), &inputs)
                .is_empty()
        );
        std::fs::write(root.join("target/x"), "built").expect("write");
        assert!(index.refresh(&[root.join("target/x")], &inputs).is_empty());

        std::fs::write(&main, "fn main() { }").expect("edit");
        let changes = index.refresh(std::slice::from_ref(&main), &inputs);
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].kind, ChangeKind::Modified);

        std::fs::create_dir_all(root.join("src/bin")).expect("mkdir");
        std::fs::write(root.join("src/bin/b.rs"), "fn main() {}").expect("write");
        let changes = index.refresh(&[root.join("src/bin")], &inputs);
        assert_eq!(changes[0].kind, ChangeKind::Added);

        std::fs::remove_dir_all(root.join("src/bin")).expect("rm");
        let changes = index.refresh(&[root.join("src/bin")], &inputs);
        assert_eq!(changes[0].kind, ChangeKind::Removed);
        assert_eq!(changes[0].path, root.join("src/bin/b.rs"));
    }
}

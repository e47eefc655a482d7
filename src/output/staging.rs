//! The build folder is replaced in one step: a new build is assembled in a sibling staging
//! folder and swapped in only when complete, so a failed or interrupted build leaves the
//! previous one as it was. A lock file keeps two builds of one folder apart.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::paths;
use crate::settings::Settings;
use crate::ui::Ui;

/// Part of every staging folder's name (`.<build>.samrs-staging-<pid>`).
pub const STAGING_MARK: &str = ".samrs-staging-";

/// A staging folder next to the build folder, removed unless committed.
#[derive(Debug)]
pub struct Staging {
    /// The staging folder the new build is assembled in.
    pub dir: PathBuf,
    /// The build folder it replaces on commit.
    pub build_dir: PathBuf,
    committed: bool,
}

impl Staging {
    /// Creates `.<name>.samrs-staging-<pid>` beside `build_dir` (after removing stale ones).
    pub fn create(build_dir: &Path) -> Result<Staging> {
        let (parent, name) = split(build_dir)?;
        fs::create_dir_all(&parent).with_context(|| {
            format!(
                "Unable to use build dir {}: cannot create {}",
                build_dir.display(),
                parent.display()
            )
        })?;
        remove_stale_staging(&parent, &name);
        let dir = parent.join(format!(".{name}{STAGING_MARK}{}", std::process::id()));
        if dir.exists() {
            fs::remove_dir_all(&dir).with_context(|| {
                format!("Unable to remove old staging folder {}", dir.display())
            })?;
        }
        fs::create_dir(&dir).with_context(|| {
            format!(
                "Unable to use build dir {}: cannot create staging folder {}",
                build_dir.display(),
                dir.display()
            )
        })?;
        Ok(Staging {
            dir,
            build_dir: build_dir.to_path_buf(),
            committed: false,
        })
    }

    /// Puts the staged build in place of the build folder in one step and drops the old one.
    pub fn commit(mut self) -> Result<()> {
        if self.build_dir.exists() {
            if exchange(&self.dir, &self.build_dir).is_err() {
                let old = self.dir.with_extension("old");
                fs::rename(&self.build_dir, &old).with_context(|| {
                    format!("Unable to replace build dir {}", self.build_dir.display())
                })?;
                fs::rename(&self.dir, &self.build_dir).with_context(|| {
                    format!(
                        "Unable to move the new build to {}",
                        self.build_dir.display()
                    )
                })?;
                let _ = fs::remove_dir_all(&old);
            }
            // After the exchange the staging path holds the previous build.
            let _ = fs::remove_dir_all(&self.dir);
        } else {
            fs::rename(&self.dir, &self.build_dir).with_context(|| {
                format!(
                    "Unable to move the new build to {}",
                    self.build_dir.display()
                )
            })?;
        }
        self.committed = true;
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

fn split(build_dir: &Path) -> Result<(PathBuf, String)> {
    let parent = build_dir.parent().map(Path::to_path_buf);
    let name = build_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned());
    match (parent, name) {
        (Some(parent), Some(name)) => Ok((parent, name)),
        _ => bail!(
            "Unable to use build dir {}: it has no parent folder",
            build_dir.display()
        ),
    }
}

/// Removes staging folders of runs that are no longer alive (interrupted builds).
fn remove_stale_staging(parent: &Path, name: &str) {
    let prefix = format!(".{name}{STAGING_MARK}");
    let Ok(entries) = fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = file_name.strip_prefix(&prefix) else {
            continue;
        };
        let pid = rest.split('.').next().and_then(|p| p.parse::<u32>().ok());
        let alive = pid.is_some_and(|p| p == std::process::id() || process_alive(p));
        if !alive {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

fn process_alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let a = CString::new(a.as_os_str().as_bytes())?;
    let b = CString::new(b.as_os_str().as_bytes())?;
    // SAFETY: both paths are valid NUL-terminated strings that outlive the call.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
fn exchange(_a: &Path, _b: &Path) -> std::io::Result<()> {
    Err(std::io::Error::from(std::io::ErrorKind::Unsupported))
}

/// An exclusive lock on a build folder, held until dropped (or the process ends).
#[derive(Debug)]
pub struct BuildLock {
    _file: File,
}

/// Takes the lock of `build_dir`, calling `waiting` once if another build holds it. The lock is
/// an advisory `flock` on the build folder's parent (which also holds build.toml), so it leaves
/// no file behind and is released by the kernel when a build dies.
pub fn lock_build_dir(build_dir: &Path, waiting: impl FnOnce(&Path)) -> Result<BuildLock> {
    let (parent, _) = split(build_dir)?;
    fs::create_dir_all(&parent)
        .with_context(|| format!("Unable to use build dir {}", build_dir.display()))?;
    let file = File::open(&parent)
        .with_context(|| format!("Unable to open {} to lock it", parent.display()))?;
    if !try_lock(&file, false)? {
        waiting(&parent);
        try_lock(&file, true)?;
    }
    Ok(BuildLock { _file: file })
}

fn try_lock(file: &File, wait: bool) -> Result<bool> {
    match (wait, file.try_lock()) {
        (_, Ok(())) => Ok(true),
        (false, Err(fs::TryLockError::WouldBlock)) => Ok(false),
        (true, Err(fs::TryLockError::WouldBlock)) => {
            file.lock().context("Unable to lock the build folder")?;
            Ok(true)
        }
        (_, Err(fs::TryLockError::Error(e))) => Err(e).context("Unable to lock the build folder"),
    }
}

/// Checks the build folder (see [`check_build_dir`]) and takes its lock, saying so when another
/// build holds it.
pub fn claim_build_dir(settings: &Settings, ui: &Ui) -> Result<BuildLock> {
    let template_dir = settings.template_file.parent().unwrap_or(&settings.cwd);
    let mut protected: Vec<&Path> = vec![&settings.cwd, template_dir];
    if let Some(base) = &settings.base_dir {
        protected.push(base);
    }
    let aws_sam = settings.cwd.join(".aws-sam");
    let deps = aws_sam.join("deps");
    if let Some(warning) = check_build_dir(
        &settings.build_dir,
        &settings.build_dir_given,
        settings.env.home().as_deref(),
        &protected,
        &[&aws_sam, &deps, &settings.cache_dir],
    )? {
        ui.warn(&warning);
    }
    lock_build_dir(&settings.build_dir, |lock| {
        ui.log(&format!(
            "Waiting for another samrs build of {} to finish (it holds the lock on {})",
            settings.build_dir_shown,
            lock.display()
        ));
    })
}

/// Refuses build folders whose replacement would delete the project (spec §5.1), and returns
/// SAM's warning when the build folder holds SAM's own cache folders.
pub fn check_build_dir(
    build_dir: &Path,
    shown: &str,
    home: Option<&Path>,
    protected: &[&Path],
    sam_folders: &[&Path],
) -> Result<Option<String>> {
    let is_root_or_home =
        build_dir.parent().is_none() || home.is_some_and(|h| paths::is_within(h, build_dir));
    if is_root_or_home || protected.iter().any(|p| paths::is_within(p, build_dir)) {
        bail!(
            "Failing build: build-dir '{shown}' is or contains the current working directory, the template's directory, the base directory or your home folder, and the build-dir contents is first removed, which would delete them. This is not supported, please remove the '--build-dir' option from the command to allow the build artifacts to be placed in the directory your template is in, or choose a directory outside the project."
        );
    }
    if sam_folders.iter().any(|p| paths::is_within(p, build_dir)) {
        return Ok(Some(format!(
            "Warning: build-dir '{shown}' is or contains SAM CLI's own '.aws-sam' directory, its build cache or dependencies, and the build-dir contents is first removed, so these are deleted on every build. This will not be supported in a future release. Remove the '--build-dir' option to place the build artifacts in '.aws-sam/build', or choose a directory that does not contain these."
        )));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_replaces_the_old_build_whole() {
        let tmp = tempfile::tempdir().expect("tmp");
        let build = tmp.path().join("build");
        fs::create_dir(&build).expect("mkdir");
        fs::write(build.join("old.txt"), "old").expect("write");
        let staging = Staging::create(&build).expect("staging");
        fs::write(staging.dir.join("new.txt"), "new").expect("write");
        staging.commit().expect("commit");
        assert!(build.join("new.txt").exists());
        assert!(!build.join("old.txt").exists());
        let leftovers: Vec<_> = fs::read_dir(tmp.path()).expect("ls").collect();
        assert_eq!(leftovers.len(), 1, "only the build folder remains");
    }

    #[test]
    fn dropping_an_uncommitted_staging_keeps_the_old_build() {
        let tmp = tempfile::tempdir().expect("tmp");
        let build = tmp.path().join("build");
        fs::create_dir(&build).expect("mkdir");
        fs::write(build.join("old.txt"), "old").expect("write");
        let staging = Staging::create(&build).expect("staging");
        let dir = staging.dir.clone();
        drop(staging);
        assert!(!dir.exists());
        assert!(build.join("old.txt").exists());
    }

    #[test]
    fn stale_staging_of_dead_processes_is_removed() {
        let tmp = tempfile::tempdir().expect("tmp");
        let build = tmp.path().join("build");
        let stale = tmp.path().join(format!(".build{STAGING_MARK}999999999"));
        fs::create_dir(&stale).expect("mkdir");
        // sam build's folder of an interrupted mixed build.
        let stale_sam = tmp
            .path()
            .join(format!(".build{STAGING_MARK}999999999.sam"));
        fs::create_dir(&stale_sam).expect("mkdir");
        let _staging = Staging::create(&build).expect("staging");
        assert!(!stale.exists());
        assert!(!stale_sam.exists());
    }

    #[test]
    fn build_dir_containing_the_project_is_refused() {
        let err = check_build_dir(Path::new("/p"), ".", None, &[Path::new("/p")], &[])
            .expect_err("refused");
        assert!(err.to_string().starts_with("Failing build: build-dir '.'"));
        assert!(check_build_dir(Path::new("/"), "/", None, &[Path::new("/p")], &[]).is_err());
        assert!(
            check_build_dir(
                Path::new("/p/.aws-sam/build"),
                ".aws-sam/build",
                None,
                &[Path::new("/p")],
                &[]
            )
            .expect("fine")
            .is_none()
        );
        let warning = check_build_dir(
            Path::new("/p/.aws-sam"),
            ".aws-sam",
            None,
            &[Path::new("/p")],
            &[Path::new("/p/.aws-sam")],
        )
        .expect("allowed");
        assert!(warning.is_some());
    }

    #[test]
    fn a_second_lock_waits() {
        let tmp = tempfile::tempdir().expect("tmp");
        let build = tmp.path().join("build");
        let first = lock_build_dir(&build, |_| panic!("first lock must not wait")).expect("lock");
        let build2 = build.clone();
        let handle = std::thread::spawn(move || {
            let mut waited = false;
            let _second = lock_build_dir(&build2, |_| waited = true).expect("lock");
            waited
        });
        std::thread::sleep(std::time::Duration::from_millis(200));
        drop(first);
        assert!(handle.join().expect("thread"));
    }
}

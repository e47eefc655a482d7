//! The file system watcher: notify's native backend (inotify, FSEvents, …), one watch per
//! folder (so `target/` and other ignored trees cost no watches and no events), woken also by
//! an interrupt or a [`Stopper`]. Waiting costs no CPU: the thread sleeps in `recv`.
//!
//! Events are settled here rather than by notify's debouncers: the mini debouncer drops the
//! event kinds, so the reads of the watch itself (hashing) and of cargo would wake it forever,
//! and the full one wakes every few milliseconds while idle.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use notify::event::{AccessKind, AccessMode};
use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher as _};

/// How long the file system must stay quiet before a burst of saves counts as one change.
const SETTLE: Duration = Duration::from_millis(50);
/// The longest a steady stream of changes is held back.
const SETTLE_AT_MOST: Duration = Duration::from_millis(500);

enum Message {
    Paths(Vec<PathBuf>),
    /// The backend lost events (queue overflow): everything must be looked at again.
    Rescan,
    Stop,
}

/// What woke the watch up.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Wake {
    /// These paths changed (maybe only touched).
    Paths(Vec<PathBuf>),
    /// Events were lost: look at every input again.
    Rescan,
    /// Stop watching (interrupt or [`Stopper::stop`]).
    Stop,
}

/// Ends a watch from another thread.
#[derive(Clone)]
pub(crate) struct Stopper(Sender<Message>);

impl Stopper {
    /// Makes the waiting (or next) [`Watcher::next`] return [`Wake::Stop`].
    pub(crate) fn stop(&self) {
        let _ = self.0.send(Message::Stop);
    }
}

/// Watches a set of folders (each without its subfolders).
pub(crate) struct Watcher {
    backend: RecommendedWatcher,
    watched: BTreeSet<PathBuf>,
    sender: Sender<Message>,
    receiver: Receiver<Message>,
}

impl Watcher {
    pub(crate) fn new() -> Result<Watcher> {
        let (sender, receiver) = channel();
        let events = sender.clone();
        let backend = RecommendedWatcher::new(
            move |result: notify::Result<Event>| {
                let message = match result {
                    Ok(event) if is_read(event.kind) => return,
                    Ok(event) if event.need_rescan() => Message::Rescan,
                    Ok(event) => Message::Paths(event.paths),
                    Err(_) => Message::Rescan,
                };
                let _ = events.send(message);
            },
            notify::Config::default(),
        )
        .context("Unable to start watching files (the system's file watcher failed)")?;
        Ok(Watcher {
            backend,
            watched: BTreeSet::new(),
            sender,
            receiver,
        })
    }

    /// A handle that stops the watch.
    pub(crate) fn stopper(&self) -> Stopper {
        Stopper(self.sender.clone())
    }

    /// Watches exactly `folders` from now on. Returns the folders that exist but could not be
    /// watched (the system's limit of watches); one that is gone already is skipped, and its
    /// parent's watch sees it come back.
    pub(crate) fn watch_folders(&mut self, folders: BTreeSet<PathBuf>) -> Vec<PathBuf> {
        let gone: Vec<PathBuf> = self.watched.difference(&folders).cloned().collect();
        for folder in gone {
            let _ = self.backend.unwatch(&folder);
            self.watched.remove(&folder);
        }
        let mut failed = Vec::new();
        for folder in folders {
            if self.watched.contains(&folder) {
                continue;
            }
            match self.backend.watch(&folder, RecursiveMode::NonRecursive) {
                Ok(()) => {
                    self.watched.insert(folder);
                }
                Err(_) if folder.is_dir() => failed.push(folder),
                Err(_) => {}
            }
        }
        failed
    }

    /// Number of folders watched.
    pub(crate) fn folder_count(&self) -> usize {
        self.watched.len()
    }

    /// Waits for the next change (or a stop), then until the file system has been quiet for
    /// a moment; everything that arrived meanwhile (during a build, say) comes back as one
    /// wake-up, so a burst of changes costs one rebuild.
    pub(crate) fn next(&self) -> Wake {
        let Ok(first) = self.receiver.recv() else {
            return Wake::Stop;
        };
        let started = Instant::now();
        let mut paths = Vec::new();
        let mut rescan = false;
        let mut message = first;
        loop {
            match message {
                Message::Stop => return Wake::Stop,
                Message::Rescan => rescan = true,
                Message::Paths(more) => paths.extend(more),
            }
            if started.elapsed() >= SETTLE_AT_MOST {
                break;
            }
            message = match self.receiver.recv_timeout(SETTLE) {
                Ok(next) => next,
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => return Wake::Stop,
            };
        }
        if rescan {
            return Wake::Rescan;
        }
        paths.sort();
        paths.dedup();
        Wake::Paths(paths)
    }
}

/// Opening, reading and closing unwritten files (the watch's own hashing, cargo's reads)
/// change nothing.
fn is_read(kind: EventKind) -> bool {
    matches!(kind, EventKind::Access(access) if access != AccessKind::Close(AccessMode::Write))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_in_a_watched_folder_wakes_and_a_stop_ends() {
        let dir = tempfile::tempdir().expect("tmp");
        let root = dir.path().canonicalize().expect("real");
        let mut watcher = Watcher::new().expect("watcher");
        watcher.watch_folders(BTreeSet::from([root.clone()]));
        assert_eq!(watcher.folder_count(), 1);
        std::fs::write(root.join("a.rs"), "x").expect("write");
        match watcher.next() {
            Wake::Paths(paths) => assert!(paths.contains(&root.join("a.rs")), "{paths:?}"),
            other => panic!("unexpected {other:?}"),
        }
        watcher.stopper().stop();
        assert_eq!(watcher.next(), Wake::Stop);
    }
}

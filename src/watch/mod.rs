//! `samrs build --watch`: one normal build, then every change to what was built is rebuilt at
//! the cost of the cargo runs it touches, until Ctrl-C or SIGTERM. [`Session`] is the engine
//! (also for other commands that keep a build current): it owns the watcher and the last plan,
//! and each [`Session::next_rebuild`] waits for a change and says what its rebuild did.

mod content;
mod inputs;
mod session;
mod snapshot;
mod update;
mod watcher;

pub(crate) use session::{Rebuild, Session};
pub(crate) use watcher::Stopper;

use crate::cargo::interrupted;
use crate::error::Failure;
use crate::settings::Settings;
use crate::ui::Ui;

/// Builds, then rebuilds on every change until interrupted (exit code 0). `resolve` reads the
/// settings again when samconfig or a parameter file changes.
pub(crate) fn watch(
    settings: Settings,
    resolve: impl Fn() -> anyhow::Result<Settings> + Send + 'static,
    ui: &Ui,
) -> Result<(), Failure> {
    let (mut session, first) = Session::start(settings, Box::new(resolve), ui)?;
    if interrupted() {
        ui.watch_stopped();
        return Ok(());
    }
    if let Err(failure) = &first {
        if matches!(failure, Failure::Usage(_)) {
            return first;
        }
        ui.failure(failure);
    }
    let (files, folders) = session.watched();
    ui.watching(files, folders);
    while let Some(rebuild) = session.next_rebuild() {
        ui.rebuilt(&rebuild, &session.settings().build_dir_shown);
    }
    ui.watch_stopped();
    Ok(())
}

#[cfg(test)]
mod tests {
    /// Another command can drive a session from a thread of its own.
    #[test]
    fn a_session_can_move_to_another_thread() {
        fn is_send<T: Send>() {}
        is_send::<super::Session>();
        is_send::<super::watcher::Stopper>();
    }
}

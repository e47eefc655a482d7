//! `samrs local invoke`: one event through one process, printed as `sam local invoke` prints
//! it: the function's logs and Lambda's START/END/REPORT on stderr, then the response (or the
//! error object) on stdout, re-encoded with Python's separators and without a newline.

use std::io::{Read, Write};

use anyhow::{Context as _, Result, anyhow, bail};
use bytes::Bytes;

use super::sandbox::Invocation;
use super::settings::EventSource;
use super::{Runnable, Session, interrupt};
use crate::ui::{Ui, python_json_text};

/// Invokes function `index` with `payload` (read by `read_event`).
pub(crate) async fn run(
    session: &Session<'_>,
    index: usize,
    payload: Bytes,
    ui: &Ui,
) -> Result<()> {
    let function = &session.functions[index];
    match &session.runnables[index] {
        Some(Runnable::Yes(_)) => {}
        Some(Runnable::No(reason)) => bail!("{reason}"),
        None => bail!("{} was not prepared to run", function.logical_id),
    }
    let pool = session.engine.pools[index]
        .clone()
        .ok_or_else(|| anyhow!("{} has no process to run", function.logical_id))?;
    ui.log(&format!(
        "Invoking {} ({})",
        function.handler,
        function.runtime.as_deref().unwrap_or("provided")
    ));
    let invocation = Invocation {
        payload,
        ..Invocation::default()
    };
    let outcome = tokio::select! {
        outcome = pool.invoke(invocation) => outcome,
        () = interrupt() => bail!("Interrupted: {} was stopped", function.logical_id),
    };
    let body = outcome.payload();
    let text = match serde_json::from_slice::<serde_json::Value>(&body) {
        Ok(value) => python_json_text(&value).into_bytes(),
        Err(_) => body.to_vec(),
    };
    if !session.logs.write_raw_to_file(&text) {
        let mut out = std::io::stdout().lock();
        out.write_all(&text)
            .and_then(|()| out.flush())
            .context("Unable to write the response to stdout")?;
    }
    Ok(())
}

/// The event: the file's JSON, stdin's, or `{}`. Lambda accepts JSON events only.
pub(crate) fn read_event(event: &EventSource, ui: &Ui) -> Result<Bytes> {
    let (bytes, source) = match event {
        EventSource::Empty => return Ok(Bytes::from_static(b"{}")),
        EventSource::Stdin => {
            ui.log(
                "Reading invoke payload from stdin (you can also pass it from file with --event)",
            );
            let mut bytes = Vec::new();
            std::io::stdin()
                .read_to_end(&mut bytes)
                .context("Unable to read the event from stdin")?;
            (bytes, "stdin".to_string())
        }
        EventSource::File(path) => (
            std::fs::read(path)
                .with_context(|| format!("Unable to read the event file {}", path.display()))?,
            path.display().to_string(),
        ),
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Bytes::from_static(b"{}"));
    }
    if let Err(e) = serde_json::from_slice::<serde_json::Value>(&bytes) {
        bail!("The event from {source} is not JSON ({e}); Lambda accepts JSON events only");
    }
    Ok(Bytes::from(bytes))
}

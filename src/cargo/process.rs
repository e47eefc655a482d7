//! The one wrapper for external commands: argument lists (never a shell), stdin closed, output
//! streamed line by line to a callback and kept for the error message.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, mpsc};
use std::thread;

use anyhow::{Context, Result};

/// Children running now, so an interrupt can stop them.
static RUNNING: Mutex<Vec<u32>> = Mutex::new(Vec::new());
static INTERRUPTED: AtomicBool = AtomicBool::new(false);
/// Called on an interrupt after the children were stopped (a waiting `--watch` wakes up).
type Waker = Box<dyn Fn() + Send>;
static WAKERS: Mutex<Vec<Waker>> = Mutex::new(Vec::new());

/// On SIGINT or SIGTERM: remember it and stop the running children, so the build fails at once
/// and cleans up after itself instead of dying half-way.
pub(crate) fn install_interrupt_handler() {
    let _ = ctrlc::set_handler(|| {
        INTERRUPTED.store(true, Ordering::SeqCst);
        let running = RUNNING.lock().map(|r| r.clone()).unwrap_or_default();
        for pid in running {
            if let Ok(pid) = i32::try_from(pid) {
                // SAFETY: kill(2) on the process group our own child leads, with a valid signal.
                unsafe {
                    libc::kill(-pid, libc::SIGTERM);
                }
            }
        }
        if let Ok(wakers) = WAKERS.lock() {
            wakers.iter().for_each(|wake| wake());
        }
    });
}

/// Calls `wake` when SIGINT or SIGTERM arrives (after the running children were stopped).
pub(crate) fn on_interrupt(wake: impl Fn() + Send + 'static) {
    if let Ok(mut wakers) = WAKERS.lock() {
        wakers.push(Box::new(wake));
    }
}

/// True once SIGINT or SIGTERM arrived.
pub(crate) fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Which output stream a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stream {
    Stdout,
    Stderr,
}

/// What a finished command left behind.
#[derive(Debug)]
pub(crate) struct ProcessOutput {
    pub status: ExitStatus,
    pub stdout: Vec<String>,
    pub stderr: Vec<String>,
}

/// Runs `command` with stdin closed, calling `on_line` for each output line as it arrives. The
/// child leads its own process group, so an interrupt stops it with everything it started.
pub(crate) fn run_streaming(
    command: &mut Command,
    mut on_line: impl FnMut(Stream, &str),
) -> Result<ProcessOutput> {
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(command, 0);
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("Unable to start {}", describe_command(command)))?;
    let pid = child.id();
    if let Ok(mut running) = RUNNING.lock() {
        running.push(pid);
    }
    if interrupted() {
        let _ = child.kill();
    }
    let (sender, receiver) = mpsc::channel();
    let mut readers = Vec::new();
    if let Some(out) = child.stdout.take() {
        readers.push(spawn_reader(out, Stream::Stdout, sender.clone()));
    }
    if let Some(err) = child.stderr.take() {
        readers.push(spawn_reader(err, Stream::Stderr, sender.clone()));
    }
    drop(sender);
    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    for (stream, line) in receiver {
        on_line(stream, &line);
        match stream {
            Stream::Stdout => stdout.push(line),
            Stream::Stderr => stderr.push(line),
        }
    }
    for reader in readers {
        let _ = reader.join();
    }
    let status = child.wait();
    if let Ok(mut running) = RUNNING.lock() {
        running.retain(|p| *p != pid);
    }
    let status =
        status.with_context(|| format!("Unable to wait for {}", describe_command(command)))?;
    Ok(ProcessOutput {
        status,
        stdout,
        stderr,
    })
}

/// Sends each line of `source` as it ends. A progress bar redraws itself after a carriage
/// return without a newline (cargo's `Building [==> ] 54/144`), so a carriage return ends a line
/// too, and the blank drawings that erase a bar are dropped; `\r\n` ends one line.
fn spawn_reader(
    source: impl Read + Send + 'static,
    stream: Stream,
    sender: mpsc::Sender<(Stream, String)>,
) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        let mut reader = BufReader::new(source);
        let mut line = Vec::new();
        let mut after_return = false;
        loop {
            let (end, used) = match reader.fill_buf() {
                Ok([]) => break,
                Ok(bytes) => match bytes.iter().position(|b| matches!(b, b'\n' | b'\r')) {
                    Some(at) => {
                        line.extend_from_slice(&bytes[..at]);
                        (Some(bytes[at]), at + 1)
                    }
                    None => {
                        line.extend_from_slice(bytes);
                        (None, bytes.len())
                    }
                },
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            };
            reader.consume(used);
            let Some(end) = end else { continue };
            let text = String::from_utf8_lossy(&line).into_owned();
            line.clear();
            let keep = if end == b'\r' {
                !text.trim().is_empty()
            } else {
                !(after_return && text.is_empty())
            };
            after_return = end == b'\r';
            if keep && sender.send((stream, text)).is_err() {
                return;
            }
        }
        if !line.is_empty() {
            let _ = sender.send((stream, String::from_utf8_lossy(&line).into_owned()));
        }
    })
}

/// `program arg1 arg2 …` for messages.
pub(crate) fn describe_command(command: &Command) -> String {
    let mut text = command.get_program().to_string_lossy().into_owned();
    for arg in command.get_args() {
        text.push(' ');
        text.push_str(&arg.to_string_lossy());
    }
    text
}

/// True when the child died of SIGINT or SIGTERM: an interrupt reached it, possibly just before
/// samrs's own handler (which runs on a thread of its own) noted it.
pub(crate) fn stopped_by_interrupt(status: ExitStatus) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        matches!(status.signal(), Some(libc::SIGINT | libc::SIGTERM))
    }
    #[cfg(not(unix))]
    {
        let _ = status;
        false
    }
}

/// "exit code 101" or "killed by signal 9 (SIGKILL)".
pub(crate) fn describe_status(status: ExitStatus) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            let name = match signal {
                1 => " (SIGHUP)",
                2 => " (SIGINT)",
                6 => " (SIGABRT)",
                9 => " (SIGKILL)",
                11 => " (SIGSEGV)",
                15 => " (SIGTERM)",
                _ => "",
            };
            return format!("killed by signal {signal}{name}");
        }
    }
    match status.code() {
        Some(code) => format!("exit code {code}"),
        None => "an unknown status".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_of_both_streams_arrive_in_order_per_stream() {
        let mut command = Command::new("sh");
        command.args(["-c", "echo out1; echo err1 >&2; echo out2"]);
        let mut seen = Vec::new();
        let output =
            run_streaming(&mut command, |s, l| seen.push((s, l.to_string()))).expect("runs");
        assert!(output.status.success());
        assert_eq!(output.stdout, ["out1", "out2"]);
        assert_eq!(output.stderr, ["err1"]);
        assert_eq!(seen.len(), 3);
    }

    #[test]
    fn carriage_returns_split_lines_and_blank_redraws_are_dropped() {
        let mut command = Command::new("sh");
        command.args([
            "-c",
            "printf 'bar 1/2\\r      \\rbar 2/2\\rdone\\r\\n\\nlast\\n' >&2",
        ]);
        let output = run_streaming(&mut command, |_, _| {}).expect("runs");
        assert_eq!(output.stderr, ["bar 1/2", "bar 2/2", "done", "", "last"]);
    }

    /// Was: cargo's bar ends with a carriage return and no newline, so its count (and total)
    /// reached the display only with cargo's next full line, often at the very end.
    #[test]
    fn a_line_ended_by_a_carriage_return_arrives_before_the_next_newline() {
        let mut command = Command::new("sh");
        command.args([
            "-c",
            "printf 'bar 1/9\\r' >&2; sleep 3; printf 'done\\nno newline' >&2",
        ]);
        let started = std::time::Instant::now();
        let mut first = None;
        let output = run_streaming(&mut command, |_, line| {
            first.get_or_insert_with(|| (line.to_string(), started.elapsed()));
        })
        .expect("runs");
        let (line, when) = first.expect("a line");
        assert_eq!(line, "bar 1/9");
        assert!(
            when < std::time::Duration::from_secs(4),
            "arrived after {when:?}"
        );
        assert_eq!(output.stderr, ["bar 1/9", "done", "no newline"]);
    }

    #[test]
    fn stdin_is_closed() {
        let mut command = Command::new("sh");
        command.args(["-c", "read x || echo eof"]);
        let output = run_streaming(&mut command, |_, _| {}).expect("runs");
        assert_eq!(output.stdout, ["eof"]);
    }

    #[test]
    fn sigint_and_sigterm_count_as_an_interrupt_and_sigkill_does_not() {
        // Python restores the default action first: a shell started in the background of a
        // non-interactive shell (as CI runners may start the suite) ignores SIGINT for good.
        let status = |signal: &str| {
            let mut command = Command::new("python3");
            command.args([
                "-c",
                &format!(
                    "import os, signal; signal.signal(signal.SIG{signal}, signal.SIG_DFL); \
                     os.kill(os.getpid(), signal.SIG{signal})"
                ),
            ]);
            run_streaming(&mut command, |_, _| {}).expect("runs").status
        };
        assert!(stopped_by_interrupt(status("INT")));
        assert!(stopped_by_interrupt(status("TERM")));
        assert!(!stopped_by_interrupt(status("KILL")));
    }

    #[test]
    fn a_signal_is_named() {
        let mut command = Command::new("sh");
        command.args(["-c", "kill -9 $$"]);
        let output = run_streaming(&mut command, |_, _| {}).expect("runs");
        assert_eq!(
            describe_status(output.status),
            "killed by signal 9 (SIGKILL)"
        );
    }
}

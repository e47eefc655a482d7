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
    });
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

fn spawn_reader(
    source: impl Read + Send + 'static,
    stream: Stream,
    sender: mpsc::Sender<(Stream, String)>,
) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        let mut reader = BufReader::new(source);
        let mut buffer = Vec::new();
        loop {
            buffer.clear();
            match reader.read_until(b'\n', &mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let line = String::from_utf8_lossy(&buffer);
                    let line = line.trim_end_matches(['\n', '\r']).to_string();
                    if sender.send((stream, line)).is_err() {
                        break;
                    }
                }
            }
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
    fn stdin_is_closed() {
        let mut command = Command::new("sh");
        command.args(["-c", "read x || echo eof"]);
        let output = run_streaming(&mut command, |_, _| {}).expect("runs");
        assert_eq!(output.stdout, ["eof"]);
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

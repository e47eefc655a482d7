//! samrs at a terminal (a pseudo-terminal driven through Python's pty module): the progress
//! spinner shows the seconds and cargo's count out of its total, and is cleared when a run
//! succeeds, fails or is interrupted with Ctrl-C; cargo's diagnostics keep their colours there,
//! and lose them with NO_COLOR.

mod common;

use common::*;

/// What a terminal shows after `output`: text, carriage returns, newlines, cursor up/down,
/// erase line and erase below; colours and other sequences are dropped.
fn screen(output: &str) -> Vec<String> {
    let mut lines: Vec<Vec<char>> = vec![Vec::new()];
    let (mut row, mut col) = (0usize, 0usize);
    let mut chars = output.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\x1b' if chars.peek() == Some(&'[') => {
                chars.next();
                let mut param = String::new();
                let mut command = ' ';
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        command = c;
                        break;
                    }
                    param.push(c);
                }
                let n = param.trim_start_matches('?').parse::<usize>().unwrap_or(1);
                match command {
                    'A' => row = row.saturating_sub(n.max(1)),
                    'B' => row += n.max(1),
                    'K' => {
                        if let Some(line) = lines.get_mut(row) {
                            if param == "2" {
                                line.clear();
                            } else {
                                line.truncate(col);
                            }
                        }
                    }
                    'J' => {
                        if let Some(line) = lines.get_mut(row) {
                            line.truncate(col);
                        }
                        lines.truncate(row + 1);
                    }
                    _ => {}
                }
            }
            '\r' => col = 0,
            '\n' => {
                row += 1;
                col = 0;
            }
            c => {
                while lines.len() <= row {
                    lines.push(Vec::new());
                }
                let line = &mut lines[row];
                while line.len() < col {
                    line.push(' ');
                }
                if col < line.len() {
                    line[col] = c;
                } else {
                    line.push(c);
                }
                col += 1;
            }
        }
        while lines.len() <= row {
            lines.push(Vec::new());
        }
    }
    lines
        .into_iter()
        .map(|l| l.into_iter().collect::<String>().trim_end().to_string())
        .collect()
}

/// The spinner line of the run that builds FunctionA and FunctionB: `… (provided.al2 x86_64) [3s] …`.
const SPINNER: &str = "FunctionA, FunctionB (provided.al2 x86_64) [";

fn fake_setup() -> (tempfile::TempDir, tempfile::TempDir, tempfile::TempDir) {
    (
        copy_fixture("multi-function"),
        fake_cargo_lambda(),
        tempfile::tempdir().expect("tmp"),
    )
}

/// (name, fake's environment, Ctrl-C once the spinner shows, exit code, words at the end)
type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], bool, i32, &'a str);

#[test]
fn the_spinner_is_cleared_on_success_failure_and_ctrl_c() {
    let (project, fake, scratch) = fake_setup();
    let command = |extra: &[(&str, &str)]| {
        let mut c = samrs_with_fake(
            project.path(),
            fake.path(),
            &scratch.path().join("calls.log"),
            &scratch.path().join("target"),
        );
        c.env_remove("NO_COLOR")
            .env("FAKE_SLEEP", "2")
            .env("FAKE_BAR", "1/2");
        for (k, v) in extra {
            c.env(k, v);
        }
        c
    };
    let cases: [Case; 3] = [
        ("success", &[], false, 0, "Build Succeeded"),
        ("failure", &[("FAKE_FAIL", "1")], false, 1, "Build Failed"),
        ("ctrl-c", &[], true, 1, "Build interrupted"),
    ];
    for (name, env, interrupt, code, last_words) in cases {
        let ctrl_c = interrupt.then_some((SPINNER, "\x03"));
        let (got, raw) = at_a_terminal(&command(env), project.path(), &["build"], ctrl_c);
        assert_eq!(got, code, "{name}:\n{raw}");
        assert!(
            raw.contains(SPINNER),
            "{name}: the spinner was shown while cargo ran:\n{raw}"
        );
        if !interrupt {
            // Seconds, not minutes, and cargo's count out of its total as its bar drew it.
            let counted = format!("{SPINNER}1s] 1/2");
            assert!(raw.contains(&counted), "{name}: no {counted:?}:\n{raw}");
        }
        let shown = screen(&raw);
        assert!(
            !shown.iter().any(|l| l.contains(SPINNER)),
            "{name}: a spinner is left on the screen:\n{}",
            shown.join("\n")
        );
        assert!(
            shown.iter().any(|l| l.contains(last_words)),
            "{name}: {last_words:?} missing:\n{}",
            shown.join("\n")
        );
    }
}

/// A terminal that cannot move the cursor (`TERM=dumb`, as cargo reads it) gets the plain lines.
#[test]
fn a_dumb_terminal_gets_no_spinner() {
    let (project, fake, scratch) = fake_setup();
    let mut command = samrs_with_fake(
        project.path(),
        fake.path(),
        &scratch.path().join("calls.log"),
        &scratch.path().join("target"),
    );
    command
        .env("TERM", "dumb")
        .env("FAKE_SLEEP", "2")
        .env("FAKE_BAR", "1/2");
    let (code, raw) = at_a_terminal(&command, project.path(), &["build"], None);
    assert_eq!(code, 0, "{raw}");
    assert!(
        !raw.contains(SPINNER),
        "a spinner on a dumb terminal:\n{raw}"
    );
    assert!(raw.contains("Build Succeeded"), "{raw}");
}

/// Every `(seconds, done, total)` the spinner of `title` showed in `raw`.
fn counts_shown(raw: &str, title: &str) -> Vec<(u64, usize, usize)> {
    raw.split(title)
        .skip(1)
        .filter_map(|rest| {
            let (secs, rest) = rest.split_once("s] ")?;
            let counts = rest.split_whitespace().next()?;
            let (done, total) = counts.split_once('/')?;
            Some((secs.parse().ok()?, done.parse().ok()?, total.parse().ok()?))
        })
        .collect()
}

/// A real cargo-lambda build of both bins of one crate at a terminal: the spinner counts in
/// seconds and out of the total cargo's bar gives, and the summary's total is the same.
#[test]
fn a_real_build_counts_out_of_cargos_total_in_seconds() {
    require_tool("cargo-lambda");
    let _lock = cargo_lock();
    let project = copy_fixture("multi-function");
    let (code, raw) = at_a_terminal(&samrs(project.path()), project.path(), &["build"], None);
    assert_eq!(code, 0, "{raw}");
    let counts = counts_shown(&raw, SPINNER);
    let (_, done, total) = *counts
        .iter()
        .find(|(_, done, total)| done <= total && *total > 2)
        .unwrap_or_else(|| panic!("no done/total on the spinner:\n{raw}"));
    assert!(done > 0, "{counts:?}");
    let summary = format!(" of {total} crates compiled) in ");
    assert!(
        raw.contains(&summary),
        "the summary has cargo's total {total}:\n{raw}"
    );
    let shown = screen(&raw);
    assert!(
        !shown.iter().any(|l| l.contains(SPINNER))
            && shown.iter().any(|l| l.contains("Build Succeeded")),
        "{}",
        shown.join("\n")
    );
}

/// The line of cargo's diagnostic in the final error report (the spinner may show it earlier).
fn reported_diagnostic(raw: &str) -> &str {
    raw.lines()
        .rfind(|l| l.contains("mismatched types"))
        .unwrap_or_else(|| panic!("no diagnostic:\n{raw}"))
}

/// Whether `line` sets a colour or weight (an SGR sequence such as `ESC[1m` or `ESC[38;5;9m`).
fn has_colour(line: &str) -> bool {
    line.split('\x1b').skip(1).any(|sequence| {
        sequence
            .strip_prefix('[')
            .and_then(|rest| {
                rest.find(|c: char| c.is_ascii_alphabetic())
                    .map(|i| &rest[i..])
            })
            .is_some_and(|rest| rest.starts_with('m'))
    })
}

/// cargo's diagnostics keep their colours at a terminal (CARGO_TERM_COLOR=always), and have none
/// with NO_COLOR or in the JSON result. Real cargo-lambda on a tiny crate with a compile error.
#[test]
fn cargo_diagnostics_keep_colours_at_a_terminal_but_not_with_no_color() {
    require_tool("cargo-lambda");
    let _lock = cargo_lock();
    let project = copy_fixture("workspace-features");
    let main = project.path().join("plain/src/main.rs");
    let mut text = std::fs::read_to_string(&main).expect("read");
    text.push_str("\nfn broken() -> u32 { \"not a number\" }\n");
    std::fs::write(&main, text).expect("write");

    let mut coloured = samrs(project.path());
    coloured.env_remove("NO_COLOR");
    let (code, raw) = at_a_terminal(&coloured, project.path(), &["build", "PlainFunction"], None);
    assert_eq!(code, 1, "{raw}");
    let diagnostic = reported_diagnostic(&raw);
    assert!(
        has_colour(diagnostic),
        "cargo's diagnostic is coloured: {diagnostic:?}"
    );

    // --output json at a terminal: the JSON error message carries cargo's text, not its colours.
    let (code, raw) = at_a_terminal(
        &coloured,
        project.path(),
        &["build", "PlainFunction", "--output", "json"],
        None,
    );
    assert_eq!(code, 1, "{raw}");
    // On stdout, right after the spinner's erasure on the same terminal line.
    let json = raw
        .lines()
        .find_map(|l| l.find("{\"type\": \"result\"").map(|at| &l[at..]))
        .unwrap_or_else(|| panic!("no JSON result:\n{raw}"));
    assert!(json.contains("mismatched types"), "{json}");
    assert!(
        !json.contains("\\u001b") && !has_colour(json),
        "no colour in the JSON: {json}"
    );
    assert!(has_colour(reported_diagnostic(&raw)), "{raw}");

    let (code, raw) = at_a_terminal(
        &samrs(project.path()),
        project.path(),
        &["build", "PlainFunction"],
        None,
    );
    assert_eq!(code, 1, "{raw}");
    let diagnostic = reported_diagnostic(&raw);
    assert!(
        !has_colour(diagnostic),
        "NO_COLOR: no colour in {diagnostic:?}"
    );
}

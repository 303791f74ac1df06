//! Tests of the Runtime API answer handling against the real transcripts and answers
//! in `tests/fixtures/haproxy`, and of the injection checks of command building.

use proptest::prelude::*;

use super::*;

/// Read at run time, relative to the package root (where cargo runs tests).
const DIR: &str = "tests/fixtures/haproxy/";

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{DIR}{name}")).unwrap()
}

/// The (command, answer) pairs of a transcript. Commands are written
/// `$ echo "<cmd>" | socat ...` or `$ printf $'<cmd>\n' | socat ...`; each answer runs
/// up to the `--- (end of response)` line.
fn transcript(name: &str) -> Vec<(String, String)> {
    let text = fixture(name);
    let mut pairs = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let Some(shell) = line.strip_prefix("$ ") else {
            continue;
        };
        let command = shell
            .strip_prefix("echo \"")
            .and_then(|s| s.split_once('"'))
            .or_else(|| {
                shell
                    .strip_prefix("printf $'")
                    .and_then(|s| s.split_once("\\n"))
            })
            .unwrap()
            .0
            .to_string();
        let answer: Vec<&str> = lines
            .by_ref()
            .take_while(|l| *l != "--- (end of response)")
            .collect();
        pairs.push((command, answer.join("\n") + "\n"));
    }
    assert!(!pairs.is_empty());
    pairs
}

const ADMIN_ERRORS: [(&str, &str); 6] = [
    ("set server be_app/nosuch state drain", "No such server."),
    ("set server nosuch/app1 state drain", "No such backend."),
    (
        "set server be_app/app1 state bogus",
        "'set server <srv> state' expects 'ready', 'drain' and 'maint'.",
    ),
    ("disable server be_app", "Require 'backend/server'."),
    ("enable server be_app/nosuch", "No such server."),
    (
        "set weight be_app/app1 300",
        "Absolute weight can only be between 0 and 256 inclusive.",
    ),
];

#[test]
fn admin_transcripts_errors_and_successes() {
    let mut pairs = transcript("cli_admin_actions_transcript.txt");
    pairs.extend(transcript("cli_restore_actions_transcript.txt"));
    let mut errors = 0;
    for (command, answer) in &pairs {
        assert!(answer_complete(answer.as_bytes()), "{command}");
        let truncated = &answer.as_bytes()[..answer.len() - 1];
        assert!(!answer_complete(truncated), "{command}");
        let want = ADMIN_ERRORS.iter().find(|(c, _)| c == command).map(|e| e.1);
        assert_eq!(error_line(answer.as_bytes()).as_deref(), want, "{command}");
        errors += usize::from(want.is_some());
        if !command.starts_with("get ") && want.is_none() {
            assert_eq!(answer, "\n", "{command}: success is the empty answer");
        }
    }
    assert_eq!(errors, ADMIN_ERRORS.len());
}

#[test]
fn state_commands_are_built_as_in_the_transcripts() {
    let mut pairs = transcript("cli_admin_actions_transcript.txt");
    pairs.extend(transcript("cli_restore_actions_transcript.txt"));
    let mut built = 0;
    for (command, answer) in &pairs {
        let words: Vec<&str> = command.split(' ').collect();
        let ["set", "server", target, "state", word] = words.as_slice() else {
            continue;
        };
        let (backend, server) = target.split_once('/').unwrap();
        match AdminState::parse(word) {
            Some(state) => {
                let line = set_server_state_command(backend, server, state).unwrap();
                assert_eq!(line, format!("{command}\n"));
                built += 1;
            }
            None => assert!(error_line(answer.as_bytes()).is_some(), "{command}"),
        }
    }
    assert_eq!(
        built, 6,
        "drain, maint, two drains to unknown names, two readies"
    );
}

#[test]
fn map_transcripts_errors_and_data() {
    let mut pairs = transcript("cli_map_transactions_transcript.txt");
    pairs.extend(transcript("cli_map_transactions_by_id_transcript.txt"));
    let mut errors = 0;
    for (command, answer) in &pairs {
        assert!(answer_complete(answer.as_bytes()), "{command}");
        let first = answer.lines().next().unwrap_or("");
        let is_error =
            first.starts_with("Unknown map identifier") || first.starts_with("Version number");
        let got = error_line(answer.as_bytes());
        assert_eq!(got.is_some(), is_error, "{command}: {answer:?}");
        if let Some(text) = got {
            assert_eq!(text, first);
            errors += 1;
        }
    }
    assert_eq!(errors, 12);
}

#[test]
fn one_line_error_answers() {
    let errors = [
        ("cli_show_stat_unknown_proxy.txt", "No such proxy."),
        (
            "cli_show_servers_state_unknown_backend.txt",
            "Can't find backend.",
        ),
    ];
    for (name, want) in errors {
        let body = fixture(name);
        assert!(answer_complete(body.as_bytes()), "{name}");
        assert_eq!(error_line(body.as_bytes()).as_deref(), Some(want), "{name}");
    }
    for body in ["Permission denied\n\n", "Unknown command: 'sho stat'\n\n"] {
        assert_eq!(error_line(body.as_bytes()).as_deref(), Some(body.trim()));
    }
    let with_help = "Unknown command: 'bogus'\n\nThe following commands are valid at this level:\n  help : this message\n\n";
    assert_eq!(
        error_line(with_help.as_bytes()).as_deref(),
        Some("Unknown command: 'bogus'")
    );
}

#[test]
fn the_command_list_is_an_unknown_command() {
    let help = fixture("cli_help.txt");
    assert!(answer_complete(help.as_bytes()));
    let error = error_line(help.as_bytes()).unwrap();
    assert!(error.starts_with("Unknown command"), "{error}");
}

#[test]
fn data_answers_are_not_errors() {
    for name in [
        "cli_show_stat.csv",
        "cli_show_stat_after_admin_actions.csv",
        "cli_show_stat_backends_only.csv",
        "cli_show_stat_proxy_be_app.csv",
        "cli_show_servers_state.txt",
        "cli_show_servers_state_be_app.txt",
        "cli_show_backend.txt",
        "cli_show_info.txt",
        "cli_show_info_typed.txt",
        "cli_show_stat_typed.txt",
        "cli_multi_command_show_info_show_stat.txt",
        "cli_show_stat.json",
    ] {
        let body = fixture(name);
        assert!(answer_complete(body.as_bytes()), "{name}");
        assert_eq!(error_line(body.as_bytes()), None, "{name}");
    }
    for body in ["7 (initial 1)\n\n", "New version created: 2\n\n", "\n", ""] {
        assert_eq!(error_line(body.as_bytes()), None, "{body:?}");
    }
}

#[test]
fn completeness_of_partial_answers() {
    assert!(!answer_complete(b""));
    assert!(answer_complete(b"\n"));
    assert!(answer_complete(b"\r\n"));
    assert!(!answer_complete(b"No such server."));
    assert!(!answer_complete(b"No such server.\n"));
    assert!(answer_complete(b"No such server.\n\n"));
    assert!(answer_complete(b"No such server.\r\n\r\n"));
    let http = fixture("http_stats.csv");
    assert!(
        !answer_complete(http.as_bytes()),
        "HTTP CSV has no closing empty line"
    );
    let csv = fixture("cli_show_stat.csv");
    assert!(!answer_complete(&csv.as_bytes()[..csv.len() / 2]));
}

#[test]
fn names_that_could_inject_are_refused() {
    let bad = [
        "",
        "be app",
        "be;show",
        "be/app",
        "be\napp",
        "be\rapp",
        "be\tapp",
        "be\0",
        "be\\;x",
        "\"be\"",
        "'be'",
        "be\u{7f}",
        "be\u{85}x",
        "be\u{a0}x",
    ];
    for name in bad {
        assert!(
            set_server_state_command(name, "s", AdminState::Ready).is_err(),
            "{name:?}"
        );
        assert!(
            set_server_state_command("be", name, AdminState::Ready).is_err(),
            "{name:?}"
        );
    }
    let ok = set_server_state_command("be_app-1.x", "srv:2", AdminState::Maint).unwrap();
    assert_eq!(ok, "set server be_app-1.x/srv:2 state maint\n");
    let err = set_server_state_command("be;help", "s", AdminState::Drain).unwrap_err();
    assert!(err.contains("';'") && err.contains("backend"), "{err}");
}

#[test]
fn admin_state_words() {
    for (word, state) in [
        ("ready", AdminState::Ready),
        ("drain", AdminState::Drain),
        ("maint", AdminState::Maint),
    ] {
        assert_eq!(AdminState::parse(word), Some(state));
        assert_eq!(
            AdminState::parse(&format!(" {} ", word.to_uppercase())),
            Some(state)
        );
        assert_eq!(state.as_str(), word);
        assert_eq!(state.to_string(), word);
    }
    assert_eq!(AdminState::parse("bogus"), None);
    assert_eq!(AdminState::parse(""), None);
}

proptest! {
    #[test]
    fn answer_functions_never_panic(body in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = answer_complete(&body);
        let _ = error_line(&body);
    }

    #[test]
    fn built_commands_are_always_one_five_word_line(backend in "\\PC{0,12}", server in ".{0,12}") {
        if let Ok(line) = set_server_state_command(&backend, &server, AdminState::Drain) {
            prop_assert_eq!(line.matches('\n').count(), 1);
            prop_assert!(line.ends_with('\n'));
            prop_assert!(!line.contains(';'));
            let words: Vec<&str> = line.split_whitespace().collect();
            prop_assert_eq!(words.len(), 5);
            prop_assert_eq!(words[2].matches('/').count(), 1);
        }
    }
}

//! The README's examples, taken from README.md itself so that the document
//! cannot drift: the quick start's commands, then every example of the
//! command sections, run in order by the shell as a reader would type them,
//! against the fake server, on the store the quick start builds, with the
//! real clock (so that no example may lean on a fixed date a new store does
//! not hold).

use crate::common::*;
use std::path::Path;
use std::process::Command;

/// The sections whose examples run, in the README's order.
const QUICK_START: &str = "### Install from source with install.sh";
const COMMANDS: &str = "## Commands";

/// Examples this test does not run, and why: each is tested elsewhere, or
/// needs what the fake fixer server is not.
fn left_out(line: &str) -> bool {
    line.starts_with("./install.sh") // tests/it/install.rs runs it
        || line.starts_with("$EDITOR") // a person's edit, done below
        || line.contains("postgresql://") // needs a PostgreSQL server
}

/// The exit codes an example may end with: 0, or what its section
/// documents (`crosscheck` exits 1 when a rate deviates, as fixer's fake
/// rates do from the ECB's).
fn expected(line: &str) -> &'static [i32] {
    if line.contains("fxrates crosscheck") {
        &[0, 1]
    } else {
        &[0]
    }
}

/// The shell commands of the section that starts with the heading `title`
/// (up to the next heading of its level or above): in a block of a session
/// (`$ ` prompts) the prompted lines, else every line of an `sh` block; a
/// `text` block without prompts is output.
fn examples(readme: &str, title: &str) -> Vec<String> {
    let level = title.split(' ').next().unwrap().len();
    let mut out = Vec::new();
    // The block being read: whether it is `sh`, and its lines.
    let mut block: Option<(bool, Vec<&str>)> = None;
    for line in readme.lines().skip_while(|l| *l != title).skip(1) {
        if block.is_none() && line.starts_with('#') {
            let hashes = line.len() - line.trim_start_matches('#').len();
            if hashes <= level && line[hashes..].starts_with(' ') {
                break;
            }
        }
        match (&mut block, line) {
            (None, "```sh") => block = Some((true, Vec::new())),
            (None, "```text") => block = Some((false, Vec::new())),
            (Some((is_sh, lines)), "```") => {
                let session = lines.iter().any(|l| l.starts_with("$ "));
                out.extend(lines.iter().filter_map(|l| {
                    let l = if session {
                        l.strip_prefix("$ ")?
                    } else if *is_sh {
                        l
                    } else {
                        return None;
                    };
                    (!l.trim().is_empty() && !l.starts_with('#')).then(|| l.to_string())
                }));
                block = None;
            }
            (Some((_, lines)), l) => lines.push(l),
            (None, _) => {}
        }
    }
    out
}

/// Runs `line` with the shell, in `home`, as the user's shell would.
fn sh(line: &str, home: &Path, bin_dir: &Path, fixer: &str, ecb: &FakeFixer) -> (i32, String) {
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("/bin/sh")
        .arg("-c")
        .arg(line)
        .current_dir(home)
        .env_clear()
        .env("PATH", path)
        .env("HOME", home)
        .env("TZ", "UTC")
        .env("FIXER_ENDPOINT", fixer)
        .env("FXRATES_ECB_ENDPOINT", ecb.ecb_endpoint())
        .env("FXRATES_ECB_FILES", ecb.ecb_files())
        .env("FXRATES_RETRY_BASE_MS", "10")
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn the_quick_start_and_every_command_example_work_as_written() {
    require_tool("jq", "the status example pipes into jq: apt-get install jq");
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let quick = examples(&readme, QUICK_START);
    let commands = examples(&readme, COMMANDS);
    assert!(quick.len() >= 5, "{quick:?}");
    assert!(commands.len() >= 20, "{commands:?}");

    let today = chrono::Utc::now().date_naive();
    let fixer = paid_plan(&today.to_string());
    let year_ago = (today - chrono::Duration::days(400)).to_string();
    let ecb = FakeFixer::ecb(
        EcbHistory::published(&year_ago, &today.to_string(), &[]),
        EcbApi::Csv,
        EcbQuotes::Double,
    );
    let home = tempfile::tempdir().unwrap();
    let bin = Path::new(assert_cmd::cargo::cargo_bin!("fxrates"));
    // What `$EDITOR ~/.config/fxrates/env` does: the key in the template's
    // quotes.
    let config = home.path().join(".config/fxrates");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(config.join("env"), "FIXER_API_KEY='your-key'\n").unwrap();

    let mut ran = 0;
    for line in quick.iter().chain(&commands) {
        if left_out(line) {
            continue;
        }
        // The command sections take the key as the quick start left it:
        // exported from the settings file.
        let codes = expected(line);
        let line = format!("set -a; . ~/.config/fxrates/env; set +a; {line}");
        let (code, text) = sh(&line, home.path(), bin.parent().unwrap(), &fixer.url, &ecb);
        assert!(codes.contains(&code), "exit {code}: {line}\n{text}");
        assert!(!text.contains("fxrates: error"), "{line}\n{text}");
        ran += 1;
    }
    assert!(ran >= 25, "ran {ran}");
}

#[test]
fn the_examples_are_found_in_the_readme() {
    let readme = "## Commands\n\n```sh\nfxrates a   # x\n```\n\n```text\n$ fxrates b\nout\n```\n\n```text\nplain output\n```\n\n## Next\n```sh\nfxrates c\n```\n";
    assert_eq!(
        examples(readme, "## Commands"),
        ["fxrates a   # x", "fxrates b"]
    );
}

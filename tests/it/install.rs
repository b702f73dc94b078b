//! install.sh, run for real: into a temporary prefix and home, with a fake
//! `crontab` first on PATH. The release build shares the workspace's target
//! directory, so only the first run of the suite pays for it.
use crate::common::*;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A stand-in for crontab(1) that keeps the table in $FAKE_CRONTAB and
/// counts the times it is replaced.
const FAKE_CRONTAB: &str = r#"#!/bin/sh
case "$1" in
  -l) if [ -n "$FAKE_CRONTAB_BROKEN" ]; then echo "crontab: cannot open the spool: permission denied" >&2; exit 1; fi
      if [ -f "$FAKE_CRONTAB" ]; then cat "$FAKE_CRONTAB"; else echo "no crontab for tester" >&2; exit 1; fi ;;
  -*) echo "crontab: unexpected option $1" >&2; exit 2 ;;
  *) cat "${1:--}" >"$FAKE_CRONTAB.tmp" && mv "$FAKE_CRONTAB.tmp" "$FAKE_CRONTAB" && echo >>"$FAKE_CRONTAB.writes" ;;
esac
"#;

const FOREIGN: &str = "30 2 * * * /usr/local/bin/nightly-backup --quiet";
const MARKER: &str = "# fxrates: managed by install.sh";

struct Machine {
    dir: tempfile::TempDir,
}

impl Machine {
    fn new() -> Machine {
        let m = Machine {
            dir: tempfile::tempdir().unwrap(),
        };
        fs::create_dir_all(m.home()).unwrap();
        fs::create_dir_all(m.fake_bin()).unwrap();
        let crontab = m.fake_bin().join("crontab");
        fs::write(&crontab, FAKE_CRONTAB).unwrap();
        fs::set_permissions(&crontab, fs::Permissions::from_mode(0o755)).unwrap();
        m
    }

    fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }
    fn fake_bin(&self) -> PathBuf {
        self.dir.path().join("fake-bin")
    }
    fn prefix(&self) -> PathBuf {
        self.dir.path().join("opt")
    }
    fn bin(&self) -> PathBuf {
        self.prefix().join("bin/fxrates")
    }
    fn config(&self) -> PathBuf {
        self.dir.path().join("config")
    }
    fn env_file(&self) -> PathBuf {
        self.config().join("fxrates/env")
    }
    fn data_dir(&self) -> PathBuf {
        self.home().join(".local/share/fxrates")
    }
    fn crontab_file(&self) -> PathBuf {
        self.dir.path().join("crontab")
    }
    fn crontab(&self) -> String {
        fs::read_to_string(self.crontab_file()).unwrap_or_default()
    }
    fn crontab_writes(&self) -> usize {
        fs::read_to_string(self.dir.path().join("crontab.writes"))
            .unwrap_or_default()
            .lines()
            .count()
    }

    /// install.sh with a clean environment: this machine's home, the fake
    /// crontab first on PATH, and the toolchain of the caller.
    fn install(&self, args: &[&str]) -> (i32, String, String) {
        self.install_env(args, &[])
    }

    fn install_env(&self, args: &[&str], vars: &[(&str, &str)]) -> (i32, String, String) {
        let real_home = PathBuf::from(std::env::var_os("HOME").unwrap_or_default());
        let path = format!(
            "{}:{}",
            self.fake_bin().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut cmd = Command::new(bash());
        cmd.arg(install_sh())
            .args(args)
            .env_clear()
            .env("PATH", path)
            .env("HOME", self.home())
            // bash sets SHELL from the password file when it is unset.
            .env("SHELL", "/bin/sh")
            .env("XDG_CONFIG_HOME", self.config())
            .env("FAKE_CRONTAB", self.crontab_file())
            .env("CARGO_TARGET_DIR", target_dir())
            .env(
                "CARGO_HOME",
                std::env::var_os("CARGO_HOME").unwrap_or_else(|| real_home.join(".cargo").into()),
            )
            .env(
                "RUSTUP_HOME",
                std::env::var_os("RUSTUP_HOME").unwrap_or_else(|| real_home.join(".rustup").into()),
            );
        if let Some(toolchain) = std::env::var_os("RUSTUP_TOOLCHAIN") {
            cmd.env("RUSTUP_TOOLCHAIN", toolchain);
        }
        cmd.envs(vars.iter().copied());
        let out = cmd.output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// What cron would run for the managed line, run as cron does: by
    /// /bin/sh with a minimal PATH.
    fn run_cron_job(&self) -> (i32, String) {
        let table = self.crontab();
        let line = table.lines().find(|l| l.contains(MARKER)).expect(&table);
        let command = line.splitn(6, ' ').nth(5).unwrap();
        let out = Command::new("/bin/sh")
            .arg("-c")
            .arg(command)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", self.home())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert_no_key(&text);
        (out.status.code().unwrap_or(-1), text)
    }
}

fn install_sh() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("install.sh")
}

/// The workspace's target directory, so cargo's release build inside
/// install.sh is reused between runs.
fn target_dir() -> PathBuf {
    let exe = Path::new(env!("CARGO_BIN_EXE_fxrates"));
    exe.parent().unwrap().parent().unwrap().to_path_buf()
}

fn bash() -> PathBuf {
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|d| d.join("bash"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("/bin/bash"))
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().mode() & 0o777
}

fn stamp(path: &Path) -> (u64, i64, i64) {
    let m = fs::metadata(path).unwrap();
    (m.ino(), m.mtime(), m.mtime_nsec())
}

#[test]
fn install_twice_schedule_twice_run_the_job_and_uninstall() {
    let m = Machine::new();
    let prefix = m.prefix();
    let prefix = prefix.to_str().unwrap();

    // First run: everything is new.
    let (code, out, err) = m.install(&["--prefix", prefix]);
    assert_eq!(code, 0, "{out}\n{err}");
    let version = Command::new(m.bin()).arg("--version").output().unwrap();
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("fxrates "));
    assert!(m.prefix().join("share/man/man1/fxrates.1").is_file());
    assert!(m.prefix().join("share/man/man1/fxrates-ingest.1").is_file());
    assert!(
        m.prefix()
            .join("share/bash-completion/completions/fxrates")
            .is_file()
    );
    assert!(
        m.prefix()
            .join("share/zsh/site-functions/_fxrates")
            .is_file()
    );
    assert_eq!(mode(&m.data_dir()), 0o700);
    assert_eq!(mode(&m.env_file()), 0o600);
    let template = fs::read_to_string(m.env_file()).unwrap();
    // Values in single quotes: cron's line reads the file with the shell.
    assert!(template.contains("\nFIXER_API_KEY=''\n"), "{template}");
    for line in template
        .lines()
        .filter(|l| l.contains('=') && !l.starts_with("# "))
    {
        let value = line.split_once('=').unwrap().1;
        assert!(value.starts_with('\'') && value.ends_with('\''), "{line}");
    }
    // The bin directory is not on PATH: the line to add is printed.
    assert!(
        out.contains(&format!("Add this line to ~/.profile, then open a new shell:\n  export PATH=\"{prefix}/bin:$PATH\"\n")),
        "{out}"
    );
    assert!(template.lines().filter(|l| l.starts_with('#')).count() > 5);
    for step in ["FIXER_API_KEY", "backfill --days 31", "status", "--cron"] {
        assert!(out.contains(step), "next steps lack {step}: {out}");
    }
    assert!(!out.contains("nothing changed"), "{out}");
    assert_eq!(m.crontab_writes(), 0, "no --cron, no crontab change");

    // The user fills in the settings; the second run (PREFIX this time)
    // changes nothing, and says so.
    let settings =
        format!("{template}FIXER_API_KEY={FAKE_KEY}\nFXRATES_NOW=2024-09-20T09:00:00Z\nTZ=UTC\n");
    fs::write(m.env_file(), &settings).unwrap();
    let before = stamp(&m.bin());
    let man_before = stamp(&m.prefix().join("share/man/man1/fxrates.1"));
    let (code, out, err) = m.install_env(&[], &[("PREFIX", prefix)]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("nothing changed"), "{out}");
    assert!(!out.contains("installed"), "{out}");
    assert_eq!(stamp(&m.bin()), before, "the binary was rewritten");
    assert_eq!(
        stamp(&m.prefix().join("share/man/man1/fxrates.1")),
        man_before
    );
    assert_eq!(fs::read_to_string(m.env_file()).unwrap(), settings);
    assert!(!err.contains("warning"), "{err}");
    // On PATH, nothing to add.
    let on_path = format!(
        "{prefix}/bin:{}:{}",
        m.fake_bin().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let (code, out, err) = m.install_env(&["--prefix", prefix], &[("PATH", &on_path)]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(!out.contains("not on your PATH"), "{out}");

    // A value the shell would cut is named, line and variable, without
    // showing it.
    let url = "postgresql://fxrates@db.internal/finance?sslmode=require&application_name=x";
    fs::write(m.env_file(), format!("{settings}FXRATES_DB={url}\n")).unwrap();
    let (code, out, err) = m.install(&["--prefix", prefix]);
    assert_eq!(code, 0, "{out}\n{err}");
    let line = settings.lines().count() + 1;
    assert!(
        err.contains(&format!(
            "line {line}: the value of FXRATES_DB is not in single quotes"
        )),
        "{err}"
    );
    assert!(err.contains("FXRATES_DB='...'"), "{err}");
    assert!(!err.contains("sslmode"), "{err}");
    fs::write(m.env_file(), format!("{settings}FXRATES_DB='{url}'\n")).unwrap();
    let (code, _, err) = m.install(&["--prefix", prefix]);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("warning"), "{err}");
    fs::write(m.env_file(), &settings).unwrap();

    // --cron keeps the user's own entries and adds ours exactly once.
    fs::write(m.crontab_file(), format!("{FOREIGN}\n")).unwrap();
    let (code, out, err) = m.install(&["--prefix", prefix, "--cron"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("crontab"), "{out}");
    let table = m.crontab();
    assert!(table.starts_with(&format!("{FOREIGN}\n")), "{table}");
    let ours: Vec<&str> = table.lines().filter(|l| l.contains(MARKER)).collect();
    assert_eq!(ours.len(), 1, "{table}");
    assert!(ours[0].starts_with("0 9 * * 1-5 "), "{table}");
    assert!(ours[0].contains("flock' -n -E 73 "), "{table}");
    assert!(!table.contains(FAKE_KEY), "the key went into the crontab");
    // crontab.example documents the same line.
    let generic = ours[0]
        .replace(&format!(" {MARKER}"), "")
        .replace(
            m.env_file().to_str().unwrap(),
            "/home/you/.config/fxrates/env",
        )
        .replace(
            m.data_dir().to_str().unwrap(),
            "/home/you/.local/share/fxrates",
        )
        .replace(m.bin().to_str().unwrap(), "/home/you/.local/bin/fxrates");
    let example =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("crontab.example")).unwrap();
    let example = example.lines().find(|l| l.starts_with("0 9 ")).unwrap();
    // The path of flock differs between hosts.
    let strip_flock = |l: &str| {
        let (head, rest) = l.split_once("; '").unwrap();
        let (_, rest) = rest.split_once("' -n").unwrap();
        format!("{head}; FLOCK -n{rest}")
    };
    assert_eq!(strip_flock(&generic), strip_flock(example));

    let (code, out, err) = m.install(&["--prefix", prefix, "--cron"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("nothing changed"), "{out}");
    assert_eq!(m.crontab(), table);
    assert_eq!(m.crontab_writes(), 1);

    // The job as cron runs it: silent on success...
    let fixer = FakeFixer::free_plan("2024-09-20");
    fs::write(
        m.env_file(),
        format!("{settings}FIXER_ENDPOINT={}\n", fixer.url),
    )
    .unwrap();
    let (code, text) = m.run_cron_job();
    assert_eq!((code, text.as_str()), (0, ""));
    // Today's rates, and the rest of the month healed, without a word.
    assert!(fixer.requests().iter().any(|r| r.function() == "latest"));
    assert!(m.data_dir().join("rates.db").is_file());
    // A quoted value keeps its '&' through cron's shell.
    let db = m.dir.path().join("a&b").join("rates.db");
    fs::write(
        m.env_file(),
        format!(
            "{settings}FIXER_ENDPOINT='{}'\nFXRATES_DB='{}'\n",
            fixer.url,
            db.display()
        ),
    )
    .unwrap();
    let (code, text) = m.run_cron_job();
    assert_eq!((code, text.as_str()), (0, ""));
    assert!(db.is_file(), "{db:?}");
    // ...and loud on failure, with the exit code and the error.
    let broken = FakeFixer::start(|_| Reply::fixer_error(101, "invalid_access_key"));
    fs::write(
        m.env_file(),
        // The next business day, so that a request is needed.
        format!(
            "{settings}FIXER_ENDPOINT={}\nFXRATES_NOW=2024-09-23T09:00:00Z\n",
            broken.url
        ),
    )
    .unwrap();
    let (_, text) = m.run_cron_job();
    assert!(text.contains("failed with exit code 78"), "{text}");
    assert!(text.contains("fxrates: error:"), "{text}");

    // A run skipped because the previous one still holds the lock leaves
    // that run's log alone.
    let log = m.data_dir().join("last-run.log");
    fs::write(&log, "the previous run, still going\n").unwrap();
    let held = fs::File::create(m.data_dir().join("cron.lock")).unwrap();
    held.lock().unwrap();
    let (code, text) = m.run_cron_job();
    assert!(text.contains("failed with exit code 73"), "{code}: {text}");
    assert_eq!(
        fs::read_to_string(&log).unwrap(),
        "the previous run, still going\n"
    );
    drop(held);

    // --uninstall removes what was installed and our entry, nothing else.
    let (code, out, err) = m.install(&["--prefix", prefix, "--uninstall"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(!m.bin().exists());
    assert!(!m.prefix().join("share/man/man1/fxrates.1").exists());
    assert!(
        !m.prefix()
            .join("share/bash-completion/completions/fxrates")
            .exists()
    );
    assert_eq!(m.crontab(), format!("{FOREIGN}\n"));
    assert!(m.env_file().is_file(), "the settings must stay");
    assert!(
        m.data_dir().join("rates.db").is_file(),
        "the data must stay"
    );
    let (code, out, _) = m.install(&["--prefix", prefix, "--uninstall"]);
    assert_eq!(code, 0);
    assert!(out.contains("nothing changed"), "{out}");
}

#[test]
fn help_and_bad_options_need_no_build() {
    let m = Machine::new();
    let (code, out, _) = m.install(&["--help"]);
    assert_eq!(code, 0);
    for word in ["--prefix", "--cron", "--uninstall", "PREFIX"] {
        assert!(out.contains(word), "{out}");
    }
    let (code, _, err) = m.install(&["--frobnicate"]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown option '--frobnicate'"), "{err}");
    let (code, _, err) = m.install(&["--prefix"]);
    assert_eq!(code, 2);
    assert!(err.contains("--prefix needs a directory"), "{err}");
    assert!(!m.prefix().exists());
}

#[test]
fn a_machine_without_cargo_is_told_where_to_get_it() {
    let m = Machine::new();
    let empty = m.dir.path().join("empty-path");
    fs::create_dir(&empty).unwrap();
    let out = Command::new(bash())
        .arg(install_sh())
        .env_clear()
        .env("PATH", &empty)
        .env("HOME", m.home())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("cargo is not installed"), "{err}");
    assert!(err.contains("https://rustup.rs"), "{err}");
    assert!(!m.prefix().exists());
}

/// The systemd units load without complaint (systemd-analyze needs an
/// executable ExecStart, so a copy points at the built binary).
#[test]
#[ignore = "needs systemd-analyze"]
fn systemd_units_pass_systemd_analyze_verify() {
    require_tool(
        "systemd-analyze",
        "on Debian: apt-get install systemd (.ci/run does under CI=true)",
    );
    let dir = tempfile::tempdir().unwrap();
    let units = Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/systemd");
    for name in ["fxrates.service", "fxrates.timer"] {
        let text = fs::read_to_string(units.join(name))
            .unwrap()
            .replace("/usr/local/bin/fxrates", env!("CARGO_BIN_EXE_fxrates"))
            // No man page is installed here.
            .replace("Documentation=man:fxrates(1)\n", "");
        fs::write(dir.path().join(name), text).unwrap();
    }
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(dir.path().join("fxrates.service"))
        .arg(dir.path().join("fxrates.timer"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && err.trim().is_empty(), "{err}");
    let timer = fs::read_to_string(units.join("fxrates.timer")).unwrap();
    assert!(timer.contains("\nOnCalendar=Mon..Fri 09:00\n"));
    assert!(timer.contains("\nPersistent=true\n"));
}

/// A crontab that cannot be read is never replaced: that would drop every
/// entry the user has.
#[test]
fn an_unreadable_crontab_is_left_alone() {
    let m = Machine::new();
    fs::write(m.crontab_file(), format!("{FOREIGN}\n")).unwrap();
    let prefix = m.prefix();
    let (code, out, err) = m.install_env(
        &["--prefix", prefix.to_str().unwrap(), "--cron"],
        &[("FAKE_CRONTAB_BROKEN", "1")],
    );
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        err.contains("cannot read your crontab (crontab: cannot open the spool"),
        "{err}"
    );
    assert_eq!(m.crontab(), format!("{FOREIGN}\n"));
    assert_eq!(m.crontab_writes(), 0);
}

//! The Debian package, built by contrib/debian/build.sh and installed for
//! real with dpkg: its contents, lintian's verdict, the installed program,
//! man pages and units, an upgrade over changed settings, then removal and
//! purge, which must both keep the history in /var/lib/fxrates.
//!
//! It needs root, cargo-deb, dpkg, lintian, man-db and systemd-analyze, and
//! builds in release mode, so it is ignored by default. Since it installs and
//! purges a package on the machine it runs on, it also runs only when asked
//! with `FXRATES_TEST_PACKAGE=1`, which `.ci/run` sets; run without it (a
//! developer's `--include-ignored`), it fails saying so rather than install
//! anything or pass unchecked.
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Runs a command and returns its stdout; any failure ends the test with
/// the command and its stderr.
fn run(cmd: &mut Command) -> String {
    let out = output(cmd);
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn output(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

fn require_tool(name: &str, install: &str) {
    let found = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .any(|dir| dir.join(name).is_file());
    assert!(found, "{name} is not installed; {install}");
}

/// The workspace's target directory, so the release build is shared with
/// the rest of the suite.
fn target_dir() -> PathBuf {
    let exe = Path::new(env!("CARGO_BIN_EXE_fxrates"));
    exe.parent().unwrap().parent().unwrap().to_path_buf()
}

fn mode(path: &str) -> u32 {
    fs::metadata(path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .permissions()
        .mode()
        & 0o7777
}

/// dpkg's status of the package: empty or ending in `not-installed` when
/// the machine has never had it, or has purged it.
fn status() -> String {
    let out = output(Command::new("dpkg-query").args(["-W", "-f=${Status}", "fxrates"]));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn absent() -> bool {
    let status = status();
    status.is_empty() || status.ends_with(" not-installed")
}

/// Purges the package and the test's own file in /var/lib/fxrates, even
/// when the test fails half-way; never anything it did not create.
struct Cleanup {
    history_file: PathBuf,
    created_state_dir: bool,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = Command::new("systemctl")
            .args(["disable", "fxrates.timer"])
            .output();
        let _ = Command::new("dpkg").args(["--purge", "fxrates"]).output();
        let _ = fs::remove_file(&self.history_file);
        if self.created_state_dir {
            let _ = fs::remove_dir("/var/lib/fxrates");
        }
    }
}

/// dpkg, keeping man pages and docs even where the machine's dpkg
/// configuration leaves them out (as minimal container images do).
fn dpkg() -> Command {
    let mut cmd = Command::new("dpkg");
    cmd.args([
        "--path-include=/usr/share/man/man1/fxrates*",
        "--path-include=/usr/share/doc/fxrates/*",
    ]);
    cmd
}

/// The variable that lets the package test install and purge the package.
const ASKED: &str = "FXRATES_TEST_PACKAGE";

#[test]
fn ci_asks_for_the_package_test() {
    let ci = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/run")).unwrap();
    assert!(
        ci.lines().any(|l| l.trim() == format!("export {ASKED}=1")),
        ".ci/run must export {ASKED}=1, or CI never runs the package test"
    );
}

#[test]
#[ignore = "installs the package with dpkg: needs FXRATES_TEST_PACKAGE=1 (.ci/run sets it), root, cargo-deb, dpkg, lintian, man-db and systemd-analyze; builds in release mode"]
fn the_debian_package_installs_upgrades_and_removes_cleanly() {
    assert!(
        std::env::var_os(ASKED).is_some_and(|v| v == "1"),
        "this test installs, upgrades and purges the fxrates package on this machine with dpkg; \
         it runs only with {ASKED}=1 (.ci/run sets it). To run the other ignored tests, add \
         --skip package::the_debian_package"
    );
    assert!(
        is_root(),
        "this test installs a Debian package: run it as root"
    );
    for (tool, install) in [
        ("cargo-deb", "run: cargo install cargo-deb --locked"),
        ("dpkg", "this needs a Debian machine"),
        ("lintian", "run: apt-get install lintian"),
        ("man", "run: apt-get install man-db"),
        ("systemd-analyze", "run: apt-get install systemd"),
    ] {
        require_tool(tool, install);
    }
    assert!(
        absent(),
        "fxrates is installed on this machine ({}), and this test would replace and purge it; \
         run it where it is not (dpkg --purge fxrates)",
        status()
    );

    // Build it, into a directory of its own.
    let out_dir = tempfile::tempdir().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/debian/build.sh");
    run(Command::new(&script)
        .arg("--output")
        .arg(out_dir.path())
        .env("CARGO_TARGET_DIR", target_dir()));
    let arch = run(Command::new("dpkg").arg("--print-architecture"));
    let deb = out_dir
        .path()
        .join(format!("fxrates_{VERSION}-1_{}.deb", arch.trim()));
    assert!(deb.is_file(), "no {}", deb.display());

    // Its contents.
    let listing = run(Command::new("dpkg-deb").arg("--contents").arg(&deb));
    let entry = |path: &str| -> String {
        listing
            .lines()
            .find(|l| l.ends_with(&format!(" .{path}")))
            .unwrap_or_else(|| panic!("{path} is not in the package:\n{listing}"))
            .to_string()
    };
    assert!(entry("/usr/bin/fxrates").starts_with("-rwxr-xr-x 0/0 "));
    assert!(entry("/etc/fxrates/env").starts_with("-rw------- 0/0 "));
    for path in [
        "/usr/share/man/man1/fxrates.1.gz",
        "/usr/share/man/man1/fxrates-ingest.1.gz",
        "/usr/share/man/man1/fxrates-backfill.1.gz",
        "/usr/share/man/man1/fxrates-show.1.gz",
        "/usr/share/man/man1/fxrates-status.1.gz",
        "/usr/share/bash-completion/completions/fxrates",
        "/usr/share/zsh/vendor-completions/_fxrates",
        "/usr/share/fish/vendor_completions.d/fxrates.fish",
        "/usr/lib/systemd/system/fxrates.service",
        "/usr/lib/systemd/system/fxrates.timer",
        "/usr/lib/systemd/system/fxrates-serve.service",
        "/usr/share/man/man1/fxrates-serve.1.gz",
        "/usr/share/doc/fxrates/README.md",
        "/usr/share/doc/fxrates/DEPLOYMENT.md",
        "/usr/share/doc/fxrates/BENCHMARKS.md",
        "/usr/share/doc/fxrates/crontab.example",
        "/usr/share/doc/fxrates/copyright",
        "/usr/share/doc/fxrates/changelog.Debian.gz",
    ] {
        assert!(entry(path).starts_with("-rw-r--r-- 0/0 "), "{path}");
    }
    assert!(!listing.contains("/var/lib/fxrates"), "{listing}");
    let conffiles = run(Command::new("dpkg-deb")
        .arg("--info")
        .arg(&deb)
        .arg("conffiles"));
    assert_eq!(conffiles.trim(), "/etc/fxrates/env");
    let field = |name: &str| run(Command::new("dpkg-deb").arg("--field").arg(&deb).arg(name));
    assert_eq!(field("Version").trim(), format!("{VERSION}-1"));
    assert_eq!(field("Section").trim(), "utils");
    assert_eq!(field("Priority").trim(), "optional");
    assert!(field("Depends").contains("libc6"), "{}", field("Depends"));
    assert!(field("Maintainer").contains('<'), "{}", field("Maintainer"));
    let description = field("Description");
    let synopsis = description.lines().next().unwrap();
    assert!(
        synopsis.contains("exchange rates") && synopsis.len() <= 80,
        "{description}"
    );

    // lintian: no errors, and no warnings but the two DEPLOYMENT.md explains.
    let lint = output(
        Command::new("lintian")
            .args(["--tag-display-limit", "0"])
            .arg(&deb),
    );
    let report =
        String::from_utf8_lossy(&lint.stdout).into_owned() + &String::from_utf8_lossy(&lint.stderr);
    assert!(lint.status.success(), "lintian failed:\n{report}");
    assert!(!report.contains("E: "), "lintian reports errors:\n{report}");
    for warning in report.lines().filter(|l| l.starts_with("W: ")) {
        assert!(
            warning.contains(" initial-upload-closes-no-bugs ")
                || warning.contains(" non-standard-file-perm 0600 != 0644 [etc/fxrates/env]"),
            "a lintian warning DEPLOYMENT.md does not explain: {warning}"
        );
    }

    // Install it.
    let state_dir = Path::new("/var/lib/fxrates");
    let cleanup = Cleanup {
        history_file: state_dir.join(format!("package-test-{}.db", std::process::id())),
        created_state_dir: !state_dir.exists(),
    };
    run(dpkg().arg("--install").arg(&deb));
    let version = run(Command::new("/usr/bin/fxrates").arg("--version"));
    assert_eq!(version.trim(), format!("fxrates {VERSION}"));
    for page in ["fxrates", "fxrates-ingest"] {
        let path = run(Command::new("man").args(["-w", page]));
        assert_eq!(path.trim(), format!("/usr/share/man/man1/{page}.1.gz"));
    }
    let completions = run(Command::new("/usr/bin/fxrates").args(["completions", "bash"]));
    assert_eq!(
        completions,
        fs::read_to_string("/usr/share/bash-completion/completions/fxrates").unwrap(),
        "the packaged completions are the binary's own"
    );
    assert_eq!(mode("/etc/fxrates/env"), 0o600);

    let service = fs::read_to_string("/usr/lib/systemd/system/fxrates.service").unwrap();
    assert!(
        service.contains("\nExecStart=/usr/bin/fxrates ingest\n"),
        "{service}"
    );
    assert!(!service.contains("/usr/local"), "{service}");
    let server = fs::read_to_string("/usr/lib/systemd/system/fxrates-serve.service").unwrap();
    assert!(
        server.contains("\nExecStart=/usr/bin/fxrates serve\n"),
        "{server}"
    );
    assert!(!server.contains("/usr/local"), "{server}");
    let verify = output(Command::new("systemd-analyze").args([
        "verify",
        "/usr/lib/systemd/system/fxrates.service",
        "/usr/lib/systemd/system/fxrates.timer",
        "/usr/lib/systemd/system/fxrates-serve.service",
    ]));
    let complaints = String::from_utf8_lossy(&verify.stderr);
    assert!(
        verify.status.success() && complaints.trim().is_empty(),
        "{complaints}"
    );
    // Installed, not enabled and not started: the key is not there yet.
    assert!(!Path::new("/etc/systemd/system/timers.target.wants/fxrates.timer").exists());
    let enabled = output(Command::new("systemctl").args(["is-enabled", "fxrates.timer"]));
    assert_eq!(String::from_utf8_lossy(&enabled.stdout).trim(), "disabled");
    assert!(!Path::new("/etc/fxrates/fixer-api-key").exists());
    // The server too: serving is the operator's choice.
    let enabled = output(Command::new("systemctl").args(["is-enabled", "fxrates-serve.service"]));
    assert_eq!(String::from_utf8_lossy(&enabled.stdout).trim(), "disabled");
    assert!(
        !Path::new("/etc/systemd/system/multi-user.target.wants/fxrates-serve.service").exists()
    );

    // The operator enables the timer, changes a setting, and the service
    // keeps its history.
    run(Command::new("systemctl").args(["enable", "fxrates.timer"]));
    let wants = Path::new("/etc/systemd/system/timers.target.wants/fxrates.timer");
    assert!(wants.exists());
    fs::create_dir_all(state_dir).unwrap();
    fs::write(&cleanup.history_file, "the history").unwrap();
    let mut settings = fs::read_to_string("/etc/fxrates/env").unwrap();
    settings.push_str("FIXER_MONTHLY_QUOTA=1000\n");
    fs::write("/etc/fxrates/env", &settings).unwrap();

    // An upgrade (the same .deb again) keeps all three, without asking: no
    // terminal is there to answer a conffile question.
    run(dpkg()
        .arg("--install")
        .arg(&deb)
        .stdin(std::process::Stdio::null()));
    assert_eq!(fs::read_to_string("/etc/fxrates/env").unwrap(), settings);
    assert!(cleanup.history_file.is_file());
    let enabled = output(Command::new("systemctl").args(["is-enabled", "fxrates.timer"]));
    assert_eq!(String::from_utf8_lossy(&enabled.stdout).trim(), "enabled");

    // Removing takes the program and units, and keeps the settings and history.
    run(Command::new("dpkg").args(["--remove", "fxrates"]));
    for gone in [
        "/usr/bin/fxrates",
        "/usr/lib/systemd/system/fxrates.service",
        "/usr/lib/systemd/system/fxrates.timer",
        "/usr/lib/systemd/system/fxrates-serve.service",
        "/usr/share/man/man1/fxrates.1.gz",
    ] {
        assert!(!Path::new(gone).exists(), "{gone} is still there");
    }
    assert_eq!(fs::read_to_string("/etc/fxrates/env").unwrap(), settings);
    assert_eq!(
        fs::read_to_string(&cleanup.history_file).unwrap(),
        "the history"
    );

    // Purging takes the settings file and the timer's enablement, and still
    // never the history.
    run(Command::new("dpkg").args(["--purge", "fxrates"]));
    assert!(!Path::new("/etc/fxrates/env").exists());
    assert!(
        wants.symlink_metadata().is_err(),
        "{} is left",
        wants.display()
    );
    assert!(
        Path::new("/etc/systemd/system/fxrates.timer")
            .symlink_metadata()
            .is_err()
    );
    assert_eq!(
        fs::read_to_string(&cleanup.history_file).unwrap(),
        "the history"
    );
    assert!(absent(), "{}", status());
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

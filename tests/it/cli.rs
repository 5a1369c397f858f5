//! The `warroom` binary as an operator uses it: `--help`, `check-config`,
//! `migrate`, and `serve` on the embedded SQLite default, answering `/healthz`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const BINARY: &str = env!("CARGO_BIN_EXE_warroom");

pub fn shipped_config() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("config/warroom.toml")
}

/// The shipped config written into `dir` without sev2's scribe: a process the
/// lint warns about (sev2 pages).
pub fn unstaffed_config(dir: &Path) -> PathBuf {
    let path = dir.join("unstaffed.toml");
    let shipped = std::fs::read_to_string(shipped_config()).unwrap();
    let unstaffed = shipped.replacen("scribe = \"erin\"\n\n# ----", "\n# ----", 1);
    assert_ne!(unstaffed, shipped);
    std::fs::write(&path, unstaffed).unwrap();
    path
}

/// The binary with a clean environment: only what a test sets reaches it.
pub fn warroom(dir: &Path) -> Command {
    let mut command = Command::new(BINARY);
    command
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("RUST_LOG", "info");
    command
}

fn run(command: &mut Command) -> Output {
    command.output().expect("the binary runs")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn help_names_every_subcommand_and_each_has_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let help = run(warroom(dir.path()).arg("--help"));
    assert!(help.status.success());
    let shown = text(&help.stdout);
    for sub in ["serve", "migrate", "check-config", "console", "simulate"] {
        assert!(shown.contains(sub), "--help lists {sub}: {shown}");
        let own = run(warroom(dir.path()).args([sub, "--help"]));
        assert!(own.status.success(), "{sub} --help");
        assert!(text(&own.stdout).contains("Usage: warroom"), "{sub} --help");
    }
}

#[test]
fn check_config_accepts_the_shipped_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(warroom(dir.path())
        .arg("check-config")
        .arg("--config")
        .arg(shipped_config()));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).ends_with(": ok\n"));
}

#[test]
fn check_config_strict_fails_on_process_warnings() {
    let dir = tempfile::tempdir().unwrap();
    // The shipped process has nothing to warn about.
    let shipped = run(warroom(dir.path())
        .args(["check-config", "--strict", "--config"])
        .arg(shipped_config()));
    assert!(shipped.status.success(), "{}", text(&shipped.stderr));
    assert!(text(&shipped.stdout).ends_with(": ok\n"));

    // Without a scribe, sev2 still pages: a warning, and a failure with --strict.
    let path = unstaffed_config(dir.path());
    let lenient = run(warroom(dir.path())
        .arg("check-config")
        .arg("--config")
        .arg(&path));
    assert!(lenient.status.success());
    let warned = text(&lenient.stderr);
    assert!(
        warned.contains("warning: assign.sev2: nobody is assigned scribe"),
        "{warned}"
    );
    let strict = run(warroom(dir.path())
        .args(["check-config", "--strict", "--config"])
        .arg(&path));
    assert_eq!(strict.status.code(), Some(1));
    assert!(
        text(&strict.stderr).contains("1 warning(s)"),
        "{}",
        text(&strict.stderr)
    );
}

/// `check-config` on the shipped file as `break_it` changes it; what it printed
/// on stderr, once it has failed.
fn check_broken_config(break_it: impl FnOnce(&str) -> String) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.toml");
    let shipped = std::fs::read_to_string(shipped_config()).unwrap();
    let broken = break_it(&shipped);
    assert_ne!(broken, shipped);
    std::fs::write(&path, broken).unwrap();
    let out = run(warroom(dir.path())
        .arg("check-config")
        .arg("--config")
        .arg(&path));
    assert!(!out.status.success());
    text(&out.stderr)
}

#[test]
fn check_config_prints_every_problem_with_its_key_and_fails() {
    // Three unrelated mistakes: a bad duration, an unknown severity in `assign`,
    // and a phrase with a broken placeholder.
    let problems = check_broken_config(|shipped| {
        shipped
            .replacen("respond_within = \"15m\"", "respond_within = \"soon\"", 1)
            .replacen("[assign.sev1]", "[assign.sev9]", 1)
            .replacen("{service}", "{service", 1)
    });
    for expected in ["respond_within", "assign.sev9", "phrases."] {
        assert!(
            problems.contains(expected),
            "`{expected}` missing from:\n{problems}"
        );
    }
    assert!(problems.contains("3 problems"), "{problems}");
}

#[test]
fn check_config_refuses_a_retention_window_it_cannot_read() {
    let problems = check_broken_config(|shipped| {
        shipped.replacen(
            "delivered_operations = \"30d\"",
            "delivered_operations = \"forever\"",
            1,
        )
    });
    assert!(
        problems.contains("retention.delivered_operations: `forever` is not a duration"),
        "{problems}"
    );
    assert!(problems.contains("1 problem"), "{problems}");
}

#[test]
fn check_config_names_the_token_a_configured_tracker_lacks() {
    let tracker = "\n[trackers.github]\nrepository = \"acme/ops-followups\"\n";
    let problems = check_broken_config(|shipped| format!("{shipped}{tracker}"));
    assert!(
        problems.contains("GITHUB_TOKEN: not set, and [trackers.github] needs it"),
        "{problems}"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("github.toml");
    let shipped = std::fs::read_to_string(shipped_config()).unwrap();
    std::fs::write(&path, format!("{shipped}{tracker}")).unwrap();
    let out = run(warroom(dir.path())
        .env("GITHUB_TOKEN", "github_pat_x")
        .args(["check-config", "--strict", "--config"])
        .arg(&path));
    assert!(out.status.success(), "{}", text(&out.stderr));
}

/// A running `warroom serve`; killed when dropped.
struct Served {
    child: Child,
    address: SocketAddr,
    log: Vec<String>,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `serve` in `dir` (the embedded default: `sqlite://warroom.db` there) on
/// a free port, and waits for the line saying where it listens.
fn serve(dir: &Path) -> Result<Served, String> {
    let mut child = warroom(dir)
        .args(["serve", "--config"])
        .arg(shipped_config())
        .env("WARROOM_LISTEN", "127.0.0.1:0")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("serve starts");
    let stderr = child.stderr.take().expect("piped");
    let (lines, received) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let mut log = Vec::new();
    loop {
        match received.recv_timeout(Duration::from_secs(60)) {
            Ok(line) => {
                let address = line
                    .split_once("listening address=")
                    .and_then(|(_, at)| at.trim().parse().ok());
                log.push(line);
                if let Some(address) = address {
                    return Ok(Served {
                        child,
                        address,
                        log,
                    });
                }
            }
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(log.join("\n"));
            }
        }
    }
}

fn get(address: SocketAddr, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(address).expect("connect");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: warroom\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("response");
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

#[test]
fn serve_runs_on_the_sqlite_default_and_says_why_platforms_are_off() {
    let dir = tempfile::tempdir().unwrap();
    let served = serve(dir.path()).unwrap_or_else(|log| panic!("serve did not start:\n{log}"));
    assert!(
        dir.path().join("warroom.db").exists(),
        "the default database file was created"
    );
    let log = served.log.join("\n");
    assert!(log.contains("Slack disabled: SLACK_BOT_TOKEN"), "{log}");
    assert!(log.contains("Discord disabled: DISCORD_TOKEN"), "{log}");

    let (status, body) = get(served.address, "/healthz");
    assert_eq!(status, 200);
    assert!(body.contains(r#""status":"ok""#), "{body}");
    let (status, body) = get(served.address, "/readyz");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""database":"ok""#), "{body}");

    // SQLite is one process: a second `serve` on the same file refuses to start.
    let second = run(warroom(dir.path())
        .args(["serve", "--config"])
        .arg(shipped_config())
        .env("WARROOM_LISTEN", "127.0.0.1:0"));
    assert!(!second.status.success());
    assert!(
        text(&second.stderr).contains("another warroom process"),
        "{}",
        text(&second.stderr)
    );
    drop(served);

    // Once it has stopped, migrate runs on the same file (and has nothing left to do).
    let migrate = run(warroom(dir.path()).arg("migrate"));
    assert!(migrate.status.success(), "{}", text(&migrate.stderr));
    assert_eq!(text(&migrate.stdout), "Migrations applied.\n");
}

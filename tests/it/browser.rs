//! The status page in a real browser: headless Chromium loads it from a running
//! warroom, takes screenshots (kept under `target/test-artifacts/`) and dumps the
//! DOM it built, which must show what the seeded incidents say.
//!
//! Without Chromium the test says loudly that it was skipped; in CI (`CI=true`),
//! where `.ci/run` installs it, a missing Chromium fails the test.

use crate::common::app::TestApp;
use crate::common::test_backends;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// How long one Chromium run may take before the test gives up on it.
const CHROMIUM_DEADLINE: Duration = Duration::from_secs(90);

const SEV1_TITLE: &str = "Checkout API is down";
const SEV1_UPDATE: &str = "Card payments fail for some customers; a fix is rolling out.";
const SEV2_TITLE: &str = "Logins were slow";
const SEV2_SUMMARY: &str = "Cache setting rolled back; logins are fast again.";
const NOTE: &str = "internal: bob is restarting db-7";

fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser"].iter().find_map(|name| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    })
}

/// Where screenshots are kept: `target/test-artifacts/`.
fn artifacts() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("the target directory")
        .join("test-artifacts");
    std::fs::create_dir_all(&dir).expect("artifact directory");
    dir
}

/// Runs Chromium headless on a fresh profile with `args`, killing it at the deadline.
fn run_chromium(binary: &Path, args: &[String]) -> Output {
    let profile = tempfile::tempdir().expect("profile directory");
    let mut child = Command::new(binary)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-quic",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chromium starts");
    // Read both pipes on their own threads, so a chatty Chromium never blocks on a full pipe.
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out = std::thread::spawn(move || {
        let mut buffer = Vec::new();
        std::io::Read::read_to_end(&mut stdout, &mut buffer).map(|_| buffer)
    });
    let err = std::thread::spawn(move || {
        let mut buffer = Vec::new();
        std::io::Read::read_to_end(&mut stderr, &mut buffer).map(|_| buffer)
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("chromium status") {
            break status;
        }
        if started.elapsed() > CHROMIUM_DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within {CHROMIUM_DEADLINE:?}: {args:?}");
        }
        std::thread::park_timeout(Duration::from_millis(50));
    };
    Output {
        status,
        stdout: out.join().expect("stdout reader").expect("stdout"),
        stderr: err.join().expect("stderr reader").expect("stderr"),
    }
}

async fn chromium_async(binary: &Path, args: Vec<String>) -> Output {
    let binary = binary.to_path_buf();
    let output = tokio::task::spawn_blocking(move || run_chromium(&binary, &args))
        .await
        .expect("chromium task");
    assert!(
        output.status.success(),
        "chromium failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_page_renders_in_headless_chromium() {
    let Some(binary) = chromium() else {
        if std::env::var("CI").is_ok_and(|ci| ci == "true") {
            panic!(
                "chromium is not installed, and CI must run the browser test (.ci/run installs it)"
            );
        }
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: browser test — chromium not found on PATH (apt-get install chromium); \
             the status page was not checked in a browser"
        );
        return;
    };
    let backend = test_backends().await.remove(0);
    let app = TestApp::spawn(backend, None).await;
    let sev1 = app
        .declare("UALICE", &format!("sev1 {SEV1_TITLE} service=api"))
        .await;
    app.run("UALICE", "C-ops", &format!("update {sev1} {SEV1_UPDATE}"))
        .await;
    app.run("UBOB", "C-ops", &format!("note {sev1} {NOTE}"))
        .await;
    let sev2 = app
        .declare("UALICE", &format!("sev2 {SEV2_TITLE} service=auth"))
        .await;
    app.run("UALICE", "C-ops", &format!("resolve {sev2} {SEV2_SUMMARY}"))
        .await;
    let url = app.url("/");

    let dir = artifacts();
    for (file, size) in [
        ("status-page.png", "1280,1100"),
        ("status-page-phone.png", "390,1400"),
    ] {
        let shot = dir.join(file);
        let _ = std::fs::remove_file(&shot);
        chromium_async(
            &binary,
            vec![
                format!("--window-size={size}"),
                format!("--screenshot={}", shot.display()),
                url.clone(),
            ],
        )
        .await;
        let png = std::fs::read(&shot).unwrap_or_else(|e| panic!("{}: {e}", shot.display()));
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "{file} is a PNG");
        assert!(
            png.len() > 10_000,
            "{file} shows something ({} bytes)",
            png.len()
        );
        let _ = writeln!(std::io::stderr(), "screenshot: {}", shot.display());
    }

    let dom = chromium_async(&binary, vec!["--dump-dom".into(), url]).await;
    let dom = String::from_utf8(dom.stdout).expect("UTF-8 DOM");
    for shown in [
        "Example Status",
        "Major outage",
        SEV1_TITLE,
        SEV1_UPDATE,
        SEV2_TITLE,
        "Partial outage",
        "Active incidents",
        "Past incidents",
        "Operational",
    ] {
        assert!(dom.contains(shown), "the DOM shows `{shown}`: {dom}");
    }
    // In the DOM the browser built: the SEV2 is under past incidents, the SEV1 active.
    let past = dom.find("Past incidents").expect("past section");
    assert!(dom.find(SEV1_TITLE).is_some_and(|at| at < past));
    assert!(dom.rfind(SEV2_TITLE).is_some_and(|at| at > past));
    assert!(!dom.contains(NOTE) && !dom.contains("<script"), "{dom}");
    app.stop().await;
}

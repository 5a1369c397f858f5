//! The real `warroom serve` binary in a child process, for the tests that must
//! kill it: started with a clean environment, its log collected, killed with
//! SIGKILL when a test says so or when dropped.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

pub const BINARY: &str = env!("CARGO_BIN_EXE_warroom");

/// How long the binary may take to start listening.
const STARTUP: Duration = Duration::from_secs(60);

pub struct Served {
    pub child: Child,
    log: Arc<Mutex<Vec<String>>>,
    logged: Arc<Notify>,
}

impl Served {
    /// `warroom serve --config <config>` in `dir` on `database`, listening on a
    /// free port, with only `PATH`, `RUST_LOG` and `vars` in its environment.
    pub fn start(dir: &Path, config: &Path, database: &str, vars: &[(&str, String)]) -> Served {
        let mut command = Command::new(BINARY);
        command
            .current_dir(dir)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("RUST_LOG", "info")
            .env("DATABASE_URL", database)
            .env("WARROOM_LISTEN", "127.0.0.1:0");
        for (name, value) in vars {
            command.env(name, value);
        }
        let mut child = command
            .args(["serve", "--config"])
            .arg(config)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("serve starts");
        let log = Arc::new(Mutex::new(Vec::new()));
        let logged = Arc::new(Notify::new());
        if let Some(stderr) = child.stderr.take() {
            let (lines, logged) = (log.clone(), logged.clone());
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    lines.lock().unwrap().push(line);
                    logged.notify_waiters();
                }
                logged.notify_waiters();
            });
        }
        Served { child, log, logged }
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// The address it listens on, once it says so.
    pub async fn address(&self) -> SocketAddr {
        let listening = self.wait_for_log("warroom is listening").await;
        listening
            .split_whitespace()
            .find_map(|word| word.strip_prefix("address="))
            .and_then(|address| address.parse().ok())
            .unwrap_or_else(|| panic!("no address in `{listening}`"))
    }

    /// The first log line containing `text`, waiting for it as long as startup may take.
    pub async fn wait_for_log(&self, text: &str) -> String {
        let deadline = tokio::time::Instant::now() + STARTUP;
        loop {
            let logged = self.logged.notified();
            if let Some(line) = self.log.lock().unwrap().iter().find(|l| l.contains(text)) {
                return line.clone();
            }
            if tokio::time::timeout_at(deadline, logged).await.is_err() {
                panic!("warroom never logged `{text}`; it said:\n{}", self.log());
            }
        }
    }

    /// SIGKILL, then reaped: nothing of it runs on.
    pub fn kill(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

//! The `program` kind: exec the allow-listed executable directly (no shell),
//! with a cleared environment, in its own process group so that a timeout stops
//! everything it started, and (see [`spawner`]) never outliving warroom.

use super::output::Capture;
use super::spawner;
use super::{Cancel, RunError, RunResult, cancelled};
use crate::config::{ProgramAction, render};
use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

/// Runs one attempt; the output of both streams goes into `capture`.
pub(super) async fn run(
    program: &ProgramAction,
    params: &BTreeMap<String, String>,
    env: Vec<(String, String)>,
    (timeout, grace): (Duration, Duration),
    cancel: &mut Cancel,
    capture: &mut Capture,
) -> Result<(RunResult, String), RunError> {
    let args = program.args.iter().map(|arg| {
        render(arg, |name| {
            Some(params.get(name).cloned().unwrap_or_default())
        })
    });
    let mut command = Command::new(&program.program);
    command
        .args(args)
        .env_clear()
        .envs(env)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = spawner::spawn(command)
        .await
        .map_err(|source| RunError::Spawn {
            program: program.program.display().to_string(),
            source,
        })?;
    // The process group's id is the child's pid; kept now because the child
    // forgets it once reaped, while others in its group may still run.
    let group = child.id().and_then(|pid| libc::pid_t::try_from(pid).ok());

    // Both pipes are drained while the program runs, or one that prints a lot
    // would block on a full pipe and never exit.
    let (chunks, mut received) = mpsc::channel::<Vec<u8>>(16);
    if let Some(stdout) = child.stdout.take() {
        tokio::spawn(pump(stdout, chunks.clone()));
    }
    if let Some(stderr) = child.stderr.take() {
        tokio::spawn(pump(stderr, chunks.clone()));
    }
    drop(chunks);

    let deadline = tokio::time::sleep(timeout);
    tokio::pin!(deadline);
    let mut open = true;
    let ended = loop {
        tokio::select! {
            chunk = received.recv(), if open => match chunk {
                Some(chunk) => capture.push(&chunk),
                None => open = false,
            },
            status = child.wait() => break Ok(status),
            () = &mut deadline => break Err(RunResult::TimedOut),
            () = cancelled(cancel) => break Err(RunResult::Cancelled),
        }
    };
    let verdict = match ended {
        Ok(Ok(status)) if status.success() => (RunResult::Succeeded, status.to_string()),
        Ok(Ok(status)) => (RunResult::Failed, status.to_string()),
        Ok(Err(error)) => (
            RunResult::Failed,
            format!("could not wait for the program: {error}"),
        ),
        Err(result) => {
            stop(&mut child, group, grace).await;
            let detail = if result == RunResult::TimedOut {
                format!("no exit within {}", humantime::format_duration(timeout))
            } else {
                "stopped on request".to_owned()
            };
            (result, detail)
        }
    };
    // What is still in the pipes after the exit; a descendant that escaped the
    // process group and keeps them open is not waited for longer than the grace.
    let drain = async {
        while let Some(chunk) = received.recv().await {
            capture.push(&chunk);
        }
    };
    let _ = tokio::time::timeout(grace, drain).await;
    Ok(verdict)
}

async fn pump(mut stream: impl AsyncRead + Unpin, chunks: mpsc::Sender<Vec<u8>>) {
    let mut buffer = vec![0; 8192];
    while let Ok(read) = stream.read(&mut buffer).await {
        if read == 0 || chunks.send(buffer[..read].to_vec()).await.is_err() {
            break;
        }
    }
}

/// SIGTERM to the program's process group, then SIGKILL if it has not exited
/// within `grace`.
async fn stop(child: &mut Child, group: Option<libc::pid_t>, grace: Duration) {
    signal_group(group, libc::SIGTERM);
    if tokio::time::timeout(grace, child.wait()).await.is_err() {
        signal_group(group, libc::SIGKILL);
        let _ = child.wait().await;
    }
    // The leader may have gone at SIGTERM while others in its group ignored it.
    signal_group(group, libc::SIGKILL);
}

fn signal_group(group: Option<libc::pid_t>, signal: libc::c_int) {
    let Some(group) = group.filter(|group| *group > 0) else {
        return;
    };
    // SAFETY: kill(2) takes plain integers and touches no memory of ours.
    // Ownership: a pid is not handed out again while a process group with that
    // id exists, so while any member lives this reaches only what the program
    // started; the last call comes right after the leader was reaped, which
    // leaves no practical window for the id to be reused.
    unsafe {
        libc::kill(-group, signal);
    }
}

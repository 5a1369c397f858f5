//! Starting a program so that it cannot outlive warroom.
//!
//! On Linux each program gets the parent-death signal SIGKILL
//! (`prctl(PR_SET_PDEATHSIG)`): when warroom dies, even by `kill -9`, the
//! kernel kills the program instead of leaving it running unwatched, with no
//! run left to report it or stop it.
//!
//! That signal fires when the *thread* that forked the program ends, not the
//! process. Tokio's threads come and go (the blocking pool retires idle
//! threads; a worker that calls `block_in_place` hands its work to a new thread
//! and may then end), and a program forked from one of them would be killed
//! mid-run. So every program is forked by one thread that lives as long as the
//! process: it waits for spawn requests and never returns.
//!
//! The signal reaches the program itself, not processes it starts in turn; a
//! program that starts helpers should `exec` the last one or wait for them.

use std::io;
use tokio::process::{Child, Command};

/// Spawns `command` (inside the current tokio runtime) from the lifelong thread,
/// with the parent-death signal set.
#[cfg(target_os = "linux")]
pub(super) async fn spawn(mut command: Command) -> io::Result<Child> {
    use std::sync::OnceLock;
    use std::sync::mpsc::Sender;

    type Job = Box<dyn FnOnce() + Send>;
    /// `None` if the thread could not be started; every spawn then says so.
    static LIFELONG: OnceLock<Option<Sender<Job>>> = OnceLock::new();

    let warroom = libc::pid_t::try_from(std::process::id()).map_err(io::Error::other)?;
    let die_with_warroom = move || {
        // SAFETY: prctl and getppid are plain system calls, safe between fork
        // and exec; nothing here allocates or takes a lock.
        unsafe {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                return Err(io::Error::last_os_error());
            }
            // Had warroom died between the fork and the prctl, the signal would
            // never come: the parent is then already someone else.
            if libc::getppid() != warroom {
                return Err(io::Error::from_raw_os_error(libc::ESRCH));
            }
        }
        Ok(())
    };
    // SAFETY: the closure only makes async-signal-safe system calls (see above).
    unsafe {
        command.pre_exec(die_with_warroom);
    }

    let lifelong = LIFELONG.get_or_init(|| {
        let (jobs, received) = std::sync::mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("warroom-spawner".into())
            .spawn(move || received.into_iter().for_each(|job| job()))
            .ok()
            .map(|_| jobs)
    });
    let gone = || io::Error::other("the thread that starts programs is not running");
    let jobs = lifelong.as_ref().ok_or_else(gone)?;
    let runtime = tokio::runtime::Handle::current();
    let (reply, answer) = tokio::sync::oneshot::channel();
    jobs.send(Box::new(move || {
        let _inside = runtime.enter();
        let _ = reply.send(command.spawn());
    }))
    .map_err(|_| gone())?;
    answer.await.map_err(|_| gone())?
}

/// Elsewhere there is no parent-death signal: a program is spawned as is.
#[cfg(not(target_os = "linux"))]
pub(super) async fn spawn(mut command: Command) -> io::Result<Child> {
    command.spawn()
}

//! The recovery report a runbook posts when it ends: one table row per step
//! (its action, result, duration, and the fallback used with its result), and
//! the runbook's result in words.

use super::{Block, Inline, Message, duration};
use crate::config::RunbookConfig;
use crate::domain::{ActionRun, RunStatus, RunbookStatus};

/// A runbook's steps in one line: `1. a (on failure: b), 2. c`.
pub fn runbook_steps(runbook: &RunbookConfig) -> String {
    runbook
        .steps
        .iter()
        .enumerate()
        .map(|(index, step)| match &step.fallback {
            Some(fallback) => format!("{}. {} (on failure: {fallback})", index + 1, step.action),
            None => format!("{}. {}", index + 1, step.action),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The runs of the steps themselves, in step order (fallbacks left out).
fn main_steps(steps: &[ActionRun]) -> impl Iterator<Item = &ActionRun> {
    steps
        .iter()
        .filter(|run| run.step.is_some_and(|at| !at.fallback))
}

/// The run of the fallback of the step `main` is, if one was queued.
fn fallback_of<'a>(steps: &'a [ActionRun], main: &ActionRun) -> Option<&'a ActionRun> {
    let index = main.step?.index;
    steps
        .iter()
        .find(|run| run.step.is_some_and(|at| at.fallback && at.index == index))
}

/// How a step ended once its fallback is counted.
fn step_result(steps: &[ActionRun], main: &ActionRun) -> RunStatus {
    match fallback_of(steps, main) {
        Some(fallback) if main.status != RunStatus::Succeeded => fallback.status,
        _ => main.status,
    }
}

/// Whether every step succeeded, directly or through its fallback.
pub fn every_step_recovered(steps: &[ActionRun]) -> bool {
    main_steps(steps).all(|main| step_result(steps, main) == RunStatus::Succeeded)
}

/// Step numbers as people read them: `step 3`, `steps 3–4`, `steps 2, 4`.
fn step_numbers(numbers: &[usize]) -> String {
    let contiguous = numbers.windows(2).all(|pair| pair[1] == pair[0] + 1);
    match numbers {
        [one] => format!("step {one}"),
        [first, .., last] if contiguous => format!("steps {first}–{last}"),
        _ => {
            let all: Vec<String> = numbers.iter().map(usize::to_string).collect();
            format!("steps {}", all.join(", "))
        }
    }
}

/// The runbook's result in words: "recovered with 1 fallback", "failed at step
/// 2; steps 3–4 skipped", "completed; step 2 failed", "cancelled at step 1; …".
pub fn runbook_outcome(status: RunbookStatus, steps: &[ActionRun]) -> String {
    let number = |run: &ActionRun| run.step.map(|at| at.index + 1).unwrap_or_default();
    let skipped: Vec<usize> = main_steps(steps)
        .filter(|run| run.status == RunStatus::Skipped)
        .map(number)
        .collect();
    let reached = main_steps(steps)
        .filter(|run| !matches!(run.status, RunStatus::Skipped | RunStatus::Pending))
        .map(number)
        .last();
    let failed: Vec<usize> = main_steps(steps)
        .filter(|run| {
            !matches!(
                step_result(steps, run),
                RunStatus::Succeeded | RunStatus::Skipped | RunStatus::Pending
            )
        })
        .map(number)
        .collect();
    let fallbacks = steps
        .iter()
        .filter(|run| run.step.is_some_and(|at| at.fallback))
        .count();
    let skipped_note = if skipped.is_empty() {
        String::new()
    } else {
        format!("; {} skipped", step_numbers(&skipped))
    };
    let at = reached.map(|n| format!(" at step {n}")).unwrap_or_default();
    match status {
        RunbookStatus::Succeeded if fallbacks == 0 => "recovered: every step succeeded".into(),
        RunbookStatus::Succeeded => format!(
            "recovered with {fallbacks} fallback{}",
            if fallbacks == 1 { "" } else { "s" }
        ),
        RunbookStatus::Failed if !failed.is_empty() && failed.last() != reached.as_ref() => {
            format!("completed; {} failed", step_numbers(&failed))
        }
        RunbookStatus::Failed => format!("failed{at}{skipped_note}"),
        RunbookStatus::Cancelled => format!("cancelled{at}{skipped_note}"),
        RunbookStatus::Interrupted => format!("interrupted by a restart{at}{skipped_note}"),
        RunbookStatus::AwaitingApproval | RunbookStatus::Running => status.to_string(),
    }
}

/// How long a run took, to a tenth of a second under a minute; `—` if it never ran.
fn run_duration(run: &ActionRun) -> String {
    match (run.started_at, run.finished_at) {
        (Some(started), Some(finished)) => {
            let elapsed = finished - started;
            let millis = elapsed.num_milliseconds().max(0);
            if millis < 60_000 {
                format!("{}.{}s", millis / 1000, millis % 1000 / 100)
            } else {
                duration(elapsed)
            }
        }
        _ => "—".into(),
    }
}

/// The recovery report: the result as a heading, then the table of steps.
pub fn recovery_report(
    runbook: &str,
    runbook_run: i64,
    outcome: &str,
    steps: &[ActionRun],
) -> Message {
    let header = ["step", "action", "result", "duration", "fallback"].map(String::from);
    let rows = main_steps(steps)
        .map(|main| {
            let fallback = match fallback_of(steps, main) {
                Some(fallback) => format!(
                    "{} → {} ({})",
                    fallback.action,
                    fallback.status,
                    run_duration(fallback)
                ),
                None => "—".into(),
            };
            vec![
                main.step
                    .map(|at| (at.index + 1).to_string())
                    .unwrap_or_default(),
                main.action.clone(),
                main.status.to_string(),
                run_duration(main),
                fallback,
            ]
        })
        .collect();
    Message {
        blocks: vec![
            Block::Paragraph(vec![
                Inline::Text("Recovery report: runbook ".into()),
                Inline::Strong(runbook.to_owned()),
                Inline::Text(format!(" (#{runbook_run}) ")),
                Inline::Strong(outcome.to_owned()),
                Inline::Text(".".into()),
            ]),
            Block::Table {
                header: header.to_vec(),
                rows,
            },
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{StepRef, UserId};
    use chrono::{TimeZone, Utc};

    fn run(index: usize, fallback: bool, status: RunStatus, millis: i64) -> ActionRun {
        let start = Utc.with_ymd_and_hms(2026, 11, 23, 14, 0, 0).unwrap();
        let ran = !matches!(status, RunStatus::Skipped | RunStatus::Pending);
        ActionRun {
            id: 1,
            incident: "INC-20261123-001".parse().unwrap(),
            action: if fallback { "plan-b" } else { "step" }.into(),
            params: Default::default(),
            status,
            requested_by: UserId::new("U1"),
            approved_by: None,
            created_at: start,
            started_at: ran.then_some(start),
            finished_at: ran.then(|| start + chrono::TimeDelta::milliseconds(millis)),
            attempts: 1,
            result: None,
            output: None,
            output_hash: None,
            step: Some(StepRef {
                runbook_run: 1,
                index,
                fallback,
            }),
        }
    }

    #[test]
    fn outcomes_say_how_the_runbook_ended() {
        use RunStatus::*;
        // (how the runbook ended, its step runs, every step recovered, the outcome)
        let endings: [(RunbookStatus, &[ActionRun], bool, &str); 5] = [
            (
                RunbookStatus::Succeeded,
                &[
                    run(0, false, Failed, 10),
                    run(0, true, Succeeded, 10),
                    run(1, false, Succeeded, 10),
                ],
                true,
                "recovered with 1 fallback",
            ),
            (
                RunbookStatus::Failed,
                &[
                    run(0, false, Succeeded, 10),
                    run(1, false, Failed, 10),
                    run(2, false, Skipped, 0),
                    run(3, false, Skipped, 0),
                ],
                false,
                "failed at step 2; steps 3–4 skipped",
            ),
            (
                RunbookStatus::Failed,
                &[run(0, false, Failed, 10), run(1, false, Succeeded, 10)],
                false,
                "completed; step 1 failed",
            ),
            (
                RunbookStatus::Failed,
                &[run(0, false, Succeeded, 10), run(1, false, TimedOut, 10)],
                false,
                "failed at step 2",
            ),
            (
                RunbookStatus::Cancelled,
                &[run(0, false, Cancelled, 0), run(1, false, Skipped, 0)],
                false,
                "cancelled at step 1; step 2 skipped",
            ),
        ];
        for (status, runs, recovered, said) in endings {
            assert_eq!(every_step_recovered(runs), recovered, "{said}");
            assert_eq!(runbook_outcome(status, runs), said, "{runs:?}");
        }
    }

    #[test]
    fn the_report_has_a_row_per_step_with_its_fallback() {
        use RunStatus::*;
        let steps = [
            run(0, false, Failed, 1_250),
            run(0, true, Succeeded, 300),
            run(1, false, Skipped, 0),
        ];
        let report = recovery_report("recover", 7, "failed at step 1", &steps);
        let Block::Table { header, rows } = &report.blocks[1] else {
            panic!("a table: {report:?}");
        };
        assert_eq!(header.len(), 5);
        assert_eq!(
            rows,
            &vec![
                vec![
                    "1".to_owned(),
                    "step".into(),
                    "failed".into(),
                    "1.2s".into(),
                    "plan-b → succeeded (0.3s)".into()
                ],
                vec![
                    "2".to_owned(),
                    "step".into(),
                    "skipped".into(),
                    "—".into(),
                    "—".into()
                ],
            ]
        );
    }
}

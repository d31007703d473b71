//! Snapshots of the text report: one per outcome and per refusal rule, each the whole text a person sees.

use std::path::Path;

use group_membership::Error;
use group_membership::access::{GroupResult, RunKind, RunReport, Stop};
use group_membership::membership::{
    Drift, GroupReport, Member, Outcome, Plan, Refusal, Service, Step, StepReport, StepResult,
};

use super::super::Rendered;
use super::render;

use super::super::fixtures::{alice, member, set};

/// admin and bob now; admin and @alice wanted.
fn plan() -> Plan<Member> {
    Plan::new(
        set(&[member("admin"), member("bob")]),
        set(&[member("admin"), alice()]),
    )
}

fn word(run: &RunReport) -> &'static str {
    match run.kind {
        RunKind::Plan => "plan",
        RunKind::Apply => "apply",
    }
}

fn text(kind: RunKind, outcome: Outcome, with_plan: bool) -> String {
    let mut report = GroupReport::new(Service::Entuity, "config set s user group g", outcome);
    if with_plan {
        report = report.with_plan(plan());
    }
    let run = RunReport::new(kind, vec![GroupResult::new("netmon/s/g", "netmon", report)]);
    render(
        &Rendered::new(word(&run), Path::new("access.json"), &run, false),
        false,
    )
}

const HEAD: &str = "\nentuity netmon/s/g (config set s user group g)\n";
const PLAN: &str = "  + @alice = kim1\n  - bob\n  = admin\n";

fn expect(kind: &str, body: &str, summary: &str) -> String {
    format!(
        "{kind} access.json: 1 group(s){}\n{HEAD}{body}\n{summary}\n",
        if kind == "plan" {
            ", nothing is changed"
        } else {
            ""
        }
    )
}

#[test]
fn pending() {
    assert_eq!(
        text(RunKind::Plan, Outcome::Planned, true),
        expect(
            "plan",
            &format!("{PLAN}  pending\n"),
            "1 pending, 0 applied, 0 unchanged, 0 failed or refused"
        )
    );
}

#[test]
fn unchanged() {
    assert_eq!(
        text(RunKind::Plan, Outcome::Unchanged, false),
        expect(
            "plan",
            "  no changes\n",
            "0 pending, 0 applied, 1 unchanged, 0 failed or refused"
        )
    );
}

#[test]
fn read_failed() {
    let error = Error::IncompleteRead {
        what: "members".into(),
        returned: 50,
        total: 51,
    };
    assert_eq!(
        text(RunKind::Plan, Outcome::ReadFailed { error }, false),
        expect(
            "plan",
            "  READ FAILED, nothing written: the service returned 50 of 51 members: refusing to plan from a partial read\n",
            "0 pending, 0 applied, 0 unchanged, 1 failed or refused"
        )
    );
}

#[test]
fn resolve_failed() {
    let error = Error::UnknownMember {
        service: "traffic_ops",
        member: "username `nobody`".into(),
    };
    assert_eq!(
        text(RunKind::Plan, Outcome::ResolveFailed { error }, false),
        expect(
            "plan",
            "  UNKNOWN MEMBER, nothing written: no such member on traffic_ops: username `nobody` (nothing was written)\n",
            "0 pending, 0 applied, 0 unchanged, 1 failed or refused"
        )
    );
}

#[test]
fn changed_since_plan_names_who_appeared_and_vanished() {
    let outcome = Outcome::ChangedSincePlan {
        appeared: vec![member("mallory")],
        vanished: vec![member("bob")],
    };
    assert_eq!(
        text(RunKind::Apply, outcome, true),
        expect(
            "apply",
            &format!(
                "{PLAN}  CHANGED SINCE THE PLAN, nothing written: appeared [mallory], vanished [bob]; plan again and review\n"
            ),
            "0 pending, 0 applied, 0 unchanged, 1 failed or refused"
        )
    );
}

fn refused(refusal: Refusal) -> String {
    text(RunKind::Plan, Outcome::Refused { refusal }, true)
}

fn refused_text(line: &str) -> String {
    expect(
        "plan",
        &format!("{PLAN}  REFUSED, nothing written: {line}\n"),
        "0 pending, 0 applied, 0 unchanged, 1 failed or refused",
    )
}

#[test]
fn refused_emptying_names_the_flag() {
    assert_eq!(
        refused(Refusal::WouldEmpty { members: 2 }),
        refused_text(
            "the plan removes all 2 member(s) (rule: never empty a group; --allow-empty allows it)"
        )
    );
}

#[test]
fn refused_too_many_removals_names_the_flag() {
    assert_eq!(
        refused(Refusal::TooManyRemovals {
            removals: 1,
            limit: 0
        }),
        refused_text(
            "the plan removes 1 member(s), more than the limit of 0 (rule: --max-removals 0; raise it to allow this)"
        )
    );
}

#[test]
fn refused_changed_before_the_overwrite_names_who() {
    assert_eq!(
        refused(Refusal::ChangedBeforeOverwrite {
            appeared: vec![member("carol")],
            vanished: vec![],
        }),
        refused_text(
            "the group changed between the plan and the write (appeared [carol], vanished []); writing the list would undo that: plan again"
        )
    );
}

#[test]
fn refused_kept_changing() {
    assert_eq!(
        refused(Refusal::KeptChanging { reads: 3 }),
        refused_text("the group changed on each of 3 reads before the write: try again later")
    );
}

#[test]
fn refused_unusable_plan() {
    assert_eq!(
        refused(Refusal::UnusablePlan {
            reason: "it is for uplynk, this group is on entuity".into()
        }),
        refused_text(
            "the saved plan cannot be applied to this group: it is for uplynk, this group is on entuity; plan again"
        )
    );
}

fn applied(steps: Vec<StepReport>, read_back: Result<Drift, Error>) -> String {
    let mut run = RunReport::new(
        RunKind::Apply,
        vec![GroupResult::new(
            "netmon/s/g",
            "netmon",
            GroupReport::new(
                Service::Entuity,
                "config set s user group g",
                Outcome::Applied { steps, read_back },
            )
            .with_plan(plan()),
        )],
    );
    run.again = Some(vec![GroupResult::new(
        "netmon/s/g",
        "netmon",
        GroupReport::new(
            Service::Entuity,
            "config set s user group g",
            Outcome::Unchanged,
        ),
    )]);
    render(
        &Rendered::new(word(&run), Path::new("access.json"), &run, false),
        false,
    )
}

#[test]
fn applied_and_converged() {
    let steps = vec![StepReport {
        step: Step::Replace {
            members: vec![member("admin"), alice()],
        },
        result: StepResult::Applied,
    }];
    assert_eq!(
        applied(steps, Ok(Drift::default())),
        expect(
            "apply",
            &format!(
                "{PLAN}  applied: set members to [admin, @alice = kim1]\n  read back: as desired\n"
            ),
            "0 pending, 1 applied, 0 unchanged, 0 failed or refused\nplanned again: every group matches the file"
        )
    );
}

#[test]
fn a_failed_write_says_whether_it_may_have_reached_the_server_and_what_was_not_tried() {
    let steps = vec![
        StepReport {
            step: Step::Add {
                members: vec![alice()],
            },
            result: StepResult::Failed {
                error: Error::Internal("boom".into()),
                may_have_applied: false,
            },
        },
        StepReport {
            step: Step::Remove {
                member: member("bob"),
            },
            result: StepResult::NotAttempted,
        },
    ];
    let drift = Drift {
        unexpected: vec![member("bob")],
        missing: vec![alice()],
    };
    assert_eq!(
        applied(steps, Ok(drift)),
        expect(
            "apply",
            &format!(
                "{PLAN}  FAILED: add [@alice = kim1]: internal error (a bug in group-membership): boom (not applied)\n  \
                 not attempted: remove bob\n  read back: DRIFT: unexpected [bob], missing [@alice = kim1]\n"
            ),
            "0 pending, 0 applied, 0 unchanged, 1 failed or refused\nplanned again: every group matches the file"
        )
    );
}

#[test]
fn a_failed_read_back_is_shown() {
    let steps = vec![StepReport {
        step: Step::AddAndRemove {
            add: vec![alice()],
            remove: vec![member("bob")],
        },
        result: StepResult::Failed {
            error: Error::Internal("lost".into()),
            may_have_applied: true,
        },
    }];
    assert_eq!(
        applied(steps, Err(Error::Internal("no answer".into()))),
        expect(
            "apply",
            &format!(
                "{PLAN}  FAILED: add [@alice = kim1] and remove [bob]: internal error (a bug in group-membership): lost (may have reached the server)\n  \
                 read back FAILED: internal error (a bug in group-membership): no answer\n"
            ),
            "0 pending, 0 applied, 0 unchanged, 1 failed or refused\nplanned again: every group matches the file"
        )
    );
}

#[test]
fn an_apply_stopped_for_approval_says_how_to_approve() {
    let mut run = RunReport::new(
        RunKind::Apply,
        vec![GroupResult::new(
            "netmon/s/g",
            "netmon",
            GroupReport::new(
                Service::Entuity,
                "config set s user group g",
                Outcome::Planned,
            )
            .with_plan(plan()),
        )],
    );
    run.stopped = Some(Stop::NeedsApproval { removals: 1 });
    assert_eq!(
        render(
            &Rendered::new(word(&run), Path::new("access.json"), &run, false),
            false
        ),
        expect(
            "apply",
            &format!("{PLAN}  pending\n"),
            "1 pending, 0 applied, 0 unchanged, 0 failed or refused\nrefusing to apply: this plan removes 1 member(s) and no saved plan was reviewed. \
             Nothing was written. Review a saved plan (`plan FILE --out PLAN`, then `apply FILE --plan PLAN`) or pass --auto-approve."
        )
    );
}

#[test]
fn colour_only_when_asked() {
    let run = RunReport::new(
        RunKind::Plan,
        vec![GroupResult::new(
            "netmon/s/g",
            "netmon",
            GroupReport::new(Service::Entuity, "g", Outcome::Planned).with_plan(plan()),
        )],
    );
    let coloured = render(&Rendered::new("plan", Path::new("f"), &run, false), true);
    assert!(
        coloured.contains("\x1b[32m+ @alice = kim1\x1b[0m"),
        "{coloured}"
    );
    assert!(coloured.contains("\x1b[31m- bob\x1b[0m"), "{coloured}");
}

#[test]
fn refused_protected_names_the_rule() {
    assert_eq!(
        refused(Refusal::Protected {
            members: vec![member("bob")]
        }),
        refused_text(
            "the plan removes protected member(s) [bob] (rule: the file's `protected` list; take them off it to allow this)"
        )
    );
}

#[test]
fn refused_self_removal_names_the_flag() {
    assert_eq!(
        refused(Refusal::SelfRemoval {
            member: member("bob")
        }),
        refused_text(
            "the plan removes bob, the identity this connection logs in as (rule: no self-lockout; --allow-self-removal allows it)"
        )
    );
}

#[test]
fn refused_below_minimum_names_the_rule() {
    assert_eq!(
        refused(Refusal::BelowMinimum { members: 2, min: 3 }),
        refused_text(
            "the plan leaves 2 member(s) (rule: this group's `min_members` is 3; lower it in the file to allow this)"
        )
    );
}

#[test]
fn refused_plan_that_differs_from_the_file_shows_both() {
    assert_eq!(
        refused(Refusal::PlanDiffersFromFile {
            plan_add: vec![alice(), member("mallory")],
            plan_remove: vec![member("bob")],
            file_add: vec![alice()],
            file_remove: vec![member("bob")],
        }),
        refused_text(
            "the saved plan adds [@alice = kim1, mallory] and removes [bob], but the file gives adds [@alice = kim1] and removes [bob] from the members the plan observed (rule: apply exactly what was reviewed; the plan was edited or made by another version: plan again)"
        )
    );
}

#[test]
fn an_interrupted_run_says_what_was_not_written() {
    let mut run = RunReport::new(
        RunKind::Apply,
        vec![
            GroupResult::new(
                "netmon/s/g",
                "netmon",
                GroupReport::new(
                    Service::Entuity,
                    "config set s user group g",
                    Outcome::Applied {
                        steps: vec![
                            StepReport {
                                step: Step::Add {
                                    members: vec![alice()],
                                },
                                result: StepResult::Applied,
                            },
                            StepReport {
                                step: Step::Remove {
                                    member: member("bob"),
                                },
                                result: StepResult::Interrupted,
                            },
                        ],
                        read_back: Ok(Drift {
                            unexpected: vec![member("bob")],
                            missing: vec![],
                        }),
                    },
                )
                .with_plan(plan()),
            ),
            GroupResult::new(
                "netmon/s/h",
                "netmon",
                GroupReport::new(
                    Service::Entuity,
                    "config set s user group h",
                    Outcome::Interrupted,
                ),
            ),
        ],
    );
    run.interrupted = true;
    assert_eq!(
        render(
            &Rendered::new("apply", Path::new("access.json"), &run, false),
            false
        ),
        format!(
            "apply access.json: 2 group(s)\n{HEAD}{PLAN}  applied: add [@alice = kim1]\n  interrupted, not sent: remove bob\n  \
             read back: DRIFT: unexpected [bob], missing []\n\nentuity netmon/s/h (config set s user group h)\n  \
             INTERRUPTED before its first write, nothing written\n\n0 pending, 0 applied, 0 unchanged, 1 failed or refused, \
             1 not written (interrupted)\nINTERRUPTED: no write started after the signal; the groups above say what was applied\n"
        )
    );
}

#[test]
fn budget_stops_name_the_flag() {
    for (stop, line) in [
        (
            Stop::TooManyRemovals {
                removals: 30,
                limit: 25,
            },
            "refusing: this run removes 30 member(s), more than the run's budget of 25. Nothing was written. (rule: run-wide removal budget, --max-total-removals 25; raise it to allow this)",
        ),
        (
            Stop::RemovalFraction {
                removals: 4,
                members: 6,
                max_fraction: 0.25,
            },
            "refusing: this run removes 4 of the 6 current member(s) of its groups, more than 25%. Nothing was written. (rule: run-wide removal budget, --max-removal-fraction 0.25; raise it to allow this)",
        ),
    ] {
        let mut run = RunReport::new(RunKind::Plan, vec![]);
        run.stopped = Some(stop);
        assert_eq!(
            render(
                &Rendered::new("plan", Path::new("access.json"), &run, false),
                false
            ),
            format!(
                "plan access.json: 0 group(s), nothing is changed\n\n0 pending, 0 applied, 0 unchanged, 0 failed or refused\n{line}\n"
            )
        );
    }
}

#[test]
fn a_sandbox_run_says_so_in_its_first_line() {
    let run = RunReport::new(RunKind::Plan, vec![]);
    let text = render(&Rendered::new("plan", Path::new("f"), &run, true), false);
    assert!(
        text.starts_with(
            "SANDBOX: every connection used the embedded sandbox (--sandbox); nothing real was read or written\nplan f:"
        ),
        "{text}"
    );
}

//! Replays every input the fuzzers kept (`fuzz/corpus/<target>/`, the crashes they found included) through
//! the same entry points, on the stable toolchain: what once broke a parser stays fixed.

use std::path::Path;

fn replay(target: &str, run: fn(&[u8])) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut inputs = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        let outcome = std::panic::catch_unwind(|| run(&data));
        assert!(outcome.is_ok(), "{target} fails on {}", path.display());
        inputs += 1;
    }
    inputs
}

#[test]
fn service_answers() {
    assert!(replay("service_answer", group_membership::fuzzing::service_answer) > 0);
}

#[test]
fn bounded_errors() {
    assert!(replay("bounded_error", group_membership::fuzzing::bounded_error) > 0);
}

#[test]
fn desired_state_files() {
    assert!(replay("desired_state", group_membership::fuzzing::desired_state) > 0);
}

#[test]
fn saved_plans() {
    assert!(replay("saved_plan", group_membership::fuzzing::saved_plan) > 0);
}

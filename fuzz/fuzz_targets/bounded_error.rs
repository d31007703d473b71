//! Fuzz target: `group_membership::fuzzing::bounded_error` (its doc comment names the oracle).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    group_membership::fuzzing::bounded_error(data);
});

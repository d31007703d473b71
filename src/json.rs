//! JSON reading shared by every service: the bounded copy an error keeps, and the strict check that a 2xx
//! answer is a success.
//!
//! Two rules live here, once for all services:
//!
//! - **What an error keeps is bounded.** [`bounded`] reads a body into a `serde_json::Value` holding at most
//!   [`KEPT_JSON_BUDGET`] bytes of keys, strings and values, skipping the rest without storing it and
//!   leaving a [`CUT_MARKER`] where it stopped. Memory stays small whatever the body's size or shape.
//! - **A 2xx body is a success only when it was understood as one.** Each service's probe
//!   ([`SuccessCheck`]) reads only the few top-level keys that can report a failure, borrowing from the
//!   body (no tree is built). A body the probe cannot read (not JSON, truncated, nested past the parser's
//!   recursion limit, a failure marker of the wrong type) is [`Verdict::CouldNotTell`], which the pipeline
//!   turns into an error, never into a success.

use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// How many bytes of keys, strings and values a bounded read keeps (the order of the raw body copy).
pub(crate) const KEPT_JSON_BUDGET: usize = 8 * 1024;

/// Left where a bounded read stopped keeping: as the last array item, or as the value of the key `…`.
pub const CUT_MARKER: &str = "… (cut: the service sent more than an error keeps)";

/// What every value costs against the budget, however small (so a million `null`s are bounded too).
const VALUE_COST: usize = 16;

/// Kept apart for the top-level object's short scalar entries (a `status` or `code` after a huge `result`),
/// so that what says *which* error this is survives the cut.
const TOP_LEVEL_RESERVE: usize = 1024;

/// A bounded copy of a JSON body.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Bounded {
    /// The kept part.
    pub(crate) value: Value,
    /// True when something was not kept.
    pub(crate) cut: bool,
}

/// Reads `body` as JSON, keeping at most [`KEPT_JSON_BUDGET`] bytes; `None` when it is not JSON.
pub(crate) fn bounded(body: &[u8]) -> Option<Bounded> {
    let budget = Cell::new(KEPT_JSON_BUDGET);
    let reserve = Cell::new(TOP_LEVEL_RESERVE);
    let cut = Cell::new(false);
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = BoundedSeed {
        budget: &budget,
        cut: &cut,
        reserve: Some(&reserve),
    }
    .deserialize(&mut de)
    .ok()?;
    de.end().ok()?;
    Some(Bounded {
        value,
        cut: cut.get(),
    })
}

#[derive(Clone, Copy)]
struct BoundedSeed<'b> {
    budget: &'b Cell<usize>,
    cut: &'b Cell<bool>,
    /// Only for the top-level value: the reserve for its scalar entries once the budget is spent.
    reserve: Option<&'b Cell<usize>>,
}

impl<'b> BoundedSeed<'b> {
    /// The seed for a nested value (no top-level reserve).
    fn child(self) -> BoundedSeed<'b> {
        BoundedSeed {
            reserve: None,
            ..self
        }
    }

    /// Takes `n` bytes from the budget; false (and the cut noted) when it is spent.
    fn charge(&self, n: usize) -> bool {
        let left = self.budget.get();
        if left < n {
            self.budget.set(0);
            self.cut.set(true);
            return false;
        }
        self.budget.set(left - n);
        true
    }

    /// At most what the budget allows of `s` (cut on a character boundary).
    fn keep_str(&self, s: &str) -> String {
        let left = self.budget.get();
        if s.len() + VALUE_COST <= left {
            self.budget.set(left - s.len() - VALUE_COST);
            return s.to_string();
        }
        let mut end = left.saturating_sub(VALUE_COST).min(s.len());
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        self.budget.set(0);
        self.cut.set(true);
        format!("{}…", &s[..end])
    }
}

impl<'de> DeserializeSeed<'de> for BoundedSeed<'_> {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for BoundedSeed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        self.charge(VALUE_COST);
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        self.charge(VALUE_COST);
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        self.charge(VALUE_COST);
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        self.charge(VALUE_COST);
        Ok(Value::from(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(self.keep_str(v)))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        self.charge(VALUE_COST);
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        self.charge(VALUE_COST);
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        let child = self.child();
        while self.charge(VALUE_COST) {
            match seq.next_element_seed(child)? {
                Some(v) => items.push(v),
                None => return Ok(Value::Array(items)),
            }
        }
        // The budget is spent: skip the rest without keeping it.
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        items.push(Value::String(CUT_MARKER.into()));
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut kept = Map::new();
        let child = self.child();
        while self.charge(VALUE_COST) {
            let Some(key) = map.next_key_seed(KeySeed(child))? else {
                return Ok(Value::Object(kept));
            };
            let value = map.next_value_seed(child)?;
            kept.insert(key, value);
        }
        match self.reserve {
            // The top level: short scalar entries still fit in the reserve; everything else is skipped.
            Some(reserve) => {
                let spare = BoundedSeed {
                    budget: reserve,
                    cut: self.cut,
                    reserve: None,
                };
                while let Some(key) = map.next_key_seed(KeySeed(spare))? {
                    if let Some(value) = map.next_value_seed(ScalarOnly(spare))? {
                        kept.entry(key).or_insert(value);
                    }
                }
            }
            None => while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {},
        }
        kept.insert("…".into(), Value::String(CUT_MARKER.into()));
        Ok(Value::Object(kept))
    }
}

/// A scalar kept within the budget, or `None` for a container (skipped without being kept).
struct ScalarOnly<'b>(BoundedSeed<'b>);

impl<'de> DeserializeSeed<'de> for ScalarOnly<'_> {
    type Value = Option<Value>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<Value>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ScalarOnly<'_> {
    type Value = Option<Value>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Option<Value>, E> {
        Ok(self.0.charge(VALUE_COST).then_some(Value::Bool(v)))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Option<Value>, E> {
        Ok(self.0.charge(VALUE_COST).then(|| Value::from(v)))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Option<Value>, E> {
        Ok(self.0.charge(VALUE_COST).then(|| Value::from(v)))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Option<Value>, E> {
        Ok(self.0.charge(VALUE_COST).then(|| Value::from(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Option<Value>, E> {
        Ok(
            (v.len() + VALUE_COST <= self.0.budget.get())
                .then(|| Value::String(self.0.keep_str(v))),
        )
    }
    fn visit_unit<E>(self) -> Result<Option<Value>, E> {
        Ok(self.0.charge(VALUE_COST).then_some(Value::Null))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Option<Value>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<Value>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(None)
    }
}

/// A key, cut to the budget like any string.
struct KeySeed<'b>(BoundedSeed<'b>);

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = String;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = String;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(self.0.keep_str(v))
    }
}

/// What a service's probe found in a 2xx body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Nothing in it reports a failure (the typed decode still has to succeed).
    Success,
    /// The body says the call failed.
    Failure,
    /// The body could not be read well enough to tell: never a success.
    CouldNotTell(String),
}

/// A service's probe: reads a 2xx body and says whether it reports a failure.
pub(crate) type SuccessCheck = fn(&[u8]) -> Verdict;

/// Probes a 2xx body with `P`, a small `Deserialize` type that borrows the top-level keys that can report a
/// failure and skips everything else. An empty body is a success (204); a body that is not a JSON object is
/// checked to be JSON and otherwise left to the typed decode.
pub(crate) fn probe<'a, P: serde::Deserialize<'a>>(
    body: &'a [u8],
    judge: impl FnOnce(P) -> Verdict,
) -> Verdict {
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    match first {
        None => Verdict::Success,
        Some(b'{') => match serde_json::from_slice::<P>(body) {
            Ok(p) => judge(p),
            Err(e) => Verdict::CouldNotTell(e.to_string()),
        },
        Some(_) => match serde_json::from_slice::<IgnoredAny>(body) {
            Ok(_) => Verdict::Success,
            Err(e) => Verdict::CouldNotTell(e.to_string()),
        },
    }
}

/// The probe of the escape hatch: no failure markers are known, so any 2xx body passes.
pub(crate) fn no_failure_markers(_: &[u8]) -> Verdict {
    Verdict::Success
}

/// Refuses a JSON text in which any object, at any depth, has the same key twice (serde would silently keep
/// the last). The error names the key and where it stands (`at line L column C`).
pub(crate) fn refuse_duplicate_keys(text: &str) -> Result<(), serde_json::Error> {
    struct Unique;
    impl<'de> Visitor<'de> for Unique {
        type Value = ();
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("any JSON value")
        }
        fn visit_bool<E>(self, _: bool) -> Result<(), E> {
            Ok(())
        }
        fn visit_i64<E>(self, _: i64) -> Result<(), E> {
            Ok(())
        }
        fn visit_u64<E>(self, _: u64) -> Result<(), E> {
            Ok(())
        }
        fn visit_f64<E>(self, _: f64) -> Result<(), E> {
            Ok(())
        }
        fn visit_str<E>(self, _: &str) -> Result<(), E> {
            Ok(())
        }
        fn visit_unit<E>(self) -> Result<(), E> {
            Ok(())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            while seq.next_element_seed(UniqueSeed)?.is_some() {}
            Ok(())
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            let mut seen = std::collections::HashSet::new();
            while let Some(key) = map.next_key::<String>()? {
                if !seen.insert(key.clone()) {
                    return Err(de::Error::custom(format!("duplicate key `{key}`")));
                }
                map.next_value_seed(UniqueSeed)?;
            }
            Ok(())
        }
    }
    struct UniqueSeed;
    impl<'de> DeserializeSeed<'de> for UniqueSeed {
        type Value = ();
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_any(Unique)
        }
    }
    let mut de = serde_json::Deserializer::from_str(text);
    UniqueSeed.deserialize(&mut de)?;
    de.end()
}

/// The text of a string value (`None` for anything else).
pub(crate) fn text(value: Option<&Value>) -> Option<String> {
    match value {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_bodies_are_kept_whole() {
        let b = bounded(br#"{"a": [1, "x", null, true], "b": {"c": 2.5}}"#).unwrap();
        assert!(!b.cut);
        assert_eq!(
            b.value,
            serde_json::json!({"a": [1, "x", null, true], "b": {"c": 2.5}})
        );
        assert!(bounded(b"<html>").is_none());
        assert!(bounded(br#"{"a": 1} trailing"#).is_none());
    }

    #[test]
    fn large_bodies_are_cut_with_a_marker() {
        let big = format!("[{}0]", "0,".repeat(1_000_000));
        let b = bounded(big.as_bytes()).unwrap();
        assert!(b.cut);
        let items = b.value.as_array().unwrap();
        assert!(items.len() < KEPT_JSON_BUDGET / VALUE_COST + 2);
        assert_eq!(items.last().unwrap(), CUT_MARKER);

        // What says which error this is survives a huge entry before it.
        let late = format!(
            r#"{{"result": [{}1], "status": "FAILURE"}}"#,
            "1,".repeat(100_000)
        );
        let b = bounded(late.as_bytes()).unwrap();
        assert_eq!(b.value["status"], "FAILURE");
        assert_eq!(b.value["…"], CUT_MARKER);

        let long = format!(r#"{{"detail": "{}"}}"#, "é".repeat(100_000));
        let b = bounded(long.as_bytes()).unwrap();
        let kept = b.value["detail"].as_str().unwrap();
        assert!(b.cut && kept.len() <= KEPT_JSON_BUDGET && kept.ends_with('…'));
    }

    #[test]
    fn hostile_nesting_is_an_error_not_a_crash() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(bounded(deep.as_bytes()).is_none());
        // The probe skips what it does not look at without recursing, so a failure marker beside a hostile
        // field is still seen ...
        #[derive(serde::Deserialize)]
        struct Marker {
            status: String,
        }
        let padded = format!(r#"{{"pad": {deep}, "status": "FAILURE"}}"#);
        let judge = |m: Marker| match m.status.as_str() {
            "FAILURE" => Verdict::Failure,
            _ => Verdict::Success,
        };
        assert_eq!(probe(padded.as_bytes(), judge), Verdict::Failure);
        // ... and a body cut short in the middle of it cannot be told.
        let cut = &padded[..padded.len() / 2];
        assert!(matches!(
            probe(cut.as_bytes(), judge),
            Verdict::CouldNotTell(_)
        ));
    }

    #[test]
    fn duplicate_keys_are_named_with_their_line() {
        assert!(refuse_duplicate_keys(r#"{"a": {"b": 1, "c": [{"b": 2}]}, "b": 3}"#).is_ok());
        let e = refuse_duplicate_keys("{\n \"a\": {\"x\": 1,\n  \"x\": 2}}").unwrap_err();
        assert_eq!(e.line(), 3);
        assert!(e.to_string().starts_with("duplicate key `x`"), "{e}");
        assert!(refuse_duplicate_keys(r#"[{"k": 1, "k": 1}]"#).is_err());
    }

    #[test]
    fn probes_tell_empty_json_and_garbage_apart() {
        let ok = |_: IgnoredAny| Verdict::Success;
        assert_eq!(probe(b"  ", ok), Verdict::Success);
        assert_eq!(probe(b"[1]", ok), Verdict::Success);
        assert!(matches!(probe(b"<html>", ok), Verdict::CouldNotTell(_)));
        assert!(matches!(probe(br#"{"a": "#, ok), Verdict::CouldNotTell(_)));
    }
}

//! Everything about a desired-state file that needs no service, each problem with its place: the shape
//! (every connection, person and group read on its own by the same `serde` types, so one mistake does not
//! hide the next), then the references between them (connections, people), duplicates, dates and the
//! file's maximum grant length. [`DesiredState::from_json`](super::DesiredState::from_json) and
//! `group-membership validate` both come here.

use std::collections::{BTreeMap, HashMap};

use serde::de::DeserializeOwned;
use serde_json::Value;
use time::OffsetDateTime;

use super::file::{Connection, DesiredGroup, DesiredState};
use super::grant::MemberEntry;
use super::run::closest;
use super::source::{Problem, Source, escape};
use crate::membership::{Service, UserRef};

/// The keys a desired-state file may have at its top.
const TOP_KEYS: [&str; 6] = [
    "$schema",
    "connections",
    "people",
    "protected",
    "groups",
    "max_grant_days",
];

/// How many unknown keys of one object are reported before giving up on it.
const UNKNOWN_KEYS_PER_OBJECT: usize = 20;

/// Reads and checks `source` as of `now` (for `until` dates and `max_grant_days`); every problem, or the
/// state.
pub(crate) fn check(source: &Source, now: OffsetDateTime) -> Result<DesiredState, Vec<Problem>> {
    let mut c = Checker {
        source,
        problems: Vec::new(),
    };
    let state = c.parts(now);
    let mut problems = c.problems;
    // In the order of the text (a problem without a place last, stable otherwise).
    problems.sort_by_key(|p| {
        p.place.as_ref().map_or((1, None, 0, 0), |at| {
            (0, at.file.clone(), at.line, at.column)
        })
    });
    match (state, problems.is_empty()) {
        (Some(state), true) => Ok(state),
        _ => Err(problems),
    }
}

struct Checker<'s> {
    source: &'s Source,
    problems: Vec<Problem>,
}

impl Checker<'_> {
    fn problem(&mut self, pointer: &str, message: impl Into<String>) {
        self.problems.push(self.source.problem(pointer, message));
    }

    fn parts(&mut self, now: OffsetDateTime) -> Option<DesiredState> {
        let Value::Object(top) = &self.source.value else {
            self.problem(
                "",
                "a desired-state file is an object (`{\"connections\": ..., \"groups\": ...}`)",
            );
            return None;
        };
        for key in top.keys().filter(|k| !TOP_KEYS.contains(&k.as_str())) {
            let known: Vec<String> = TOP_KEYS.iter().map(|k| k.to_string()).collect();
            let hint = did_you_mean(key, &known);
            self.problem(
                &format!("/{}", escape(key)),
                format!("unknown key `{key}`{hint}"),
            );
        }
        let schema = self.optional::<String>(top, "$schema");
        let max_grant_days = self.optional::<u32>(top, "max_grant_days");
        let connections: BTreeMap<String, Option<Connection>> = self.map(top, "connections", true);
        let people: BTreeMap<String, Option<BTreeMap<String, UserRef>>> =
            self.map(top, "people", false);
        let protected: Vec<Option<UserRef>> = self.list(top, "protected", false);
        let groups: Vec<Option<DesiredGroup>> = self.list(top, "groups", true);

        let state = DesiredState::from_parts(
            connections
                .into_iter()
                .filter_map(|(k, v)| Some((k, v?)))
                .collect(),
            people
                .into_iter()
                .filter_map(|(k, v)| Some((k, v?)))
                .collect(),
            protected.into_iter().flatten().collect(),
            Vec::new(),
        )
        .with_schema(schema.flatten())
        .with_max_grant_days(max_grant_days.flatten());
        self.people(&state);
        self.protected(&state);
        let mut seen: HashMap<String, usize> = HashMap::new();
        for (i, group) in groups.iter().enumerate() {
            let Some(group) = group else { continue };
            let pointer = format!("/groups/{i}");
            if let Some(first) = seen.insert(group.key(), i) {
                let at = self.source.place(&format!("/groups/{first}"));
                let at = at.map_or_else(String::new, |p| format!(" (first at {p})"));
                self.problem(
                    &pointer,
                    format!("group {} is listed twice{at}", group.key()),
                );
            }
            self.group(&state, group, &pointer, now);
        }
        let mut state = state;
        state.groups = groups.into_iter().flatten().collect();
        Some(state)
    }

    /// An optional top-level value: `None` absent, `Some(None)` present but wrong.
    fn optional<T: DeserializeOwned>(
        &mut self,
        top: &serde_json::Map<String, Value>,
        key: &str,
    ) -> Option<Option<T>> {
        let value = top.get(key)?;
        Some(self.read(value, &format!("/{key}")))
    }

    /// A top-level object, each entry read on its own.
    fn map<T: DeserializeOwned>(
        &mut self,
        top: &serde_json::Map<String, Value>,
        key: &str,
        required: bool,
    ) -> BTreeMap<String, Option<T>> {
        let pointer = format!("/{key}");
        match top.get(key) {
            None if required => {
                self.problem("", format!("missing key `{key}`"));
                BTreeMap::new()
            }
            None => BTreeMap::new(),
            Some(Value::Object(entries)) => entries
                .iter()
                .map(|(name, v)| {
                    (
                        name.clone(),
                        self.read(v, &format!("{pointer}/{}", escape(name))),
                    )
                })
                .collect(),
            Some(_) => {
                self.problem(&pointer, format!("`{key}` is an object"));
                BTreeMap::new()
            }
        }
    }

    /// A top-level list, each item read on its own.
    fn list<T: DeserializeOwned>(
        &mut self,
        top: &serde_json::Map<String, Value>,
        key: &str,
        required: bool,
    ) -> Vec<Option<T>> {
        let pointer = format!("/{key}");
        match top.get(key) {
            None if required => {
                self.problem("", format!("missing key `{key}`"));
                Vec::new()
            }
            None => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, v)| self.read(v, &format!("{pointer}/{i}")))
                .collect(),
            Some(_) => {
                self.problem(&pointer, format!("`{key}` is a list"));
                Vec::new()
            }
        }
    }

    /// One value read by its `serde` type. An unknown key is reported at the key and the value read
    /// again without it, so every unknown key of the object is reported, then any other mistake.
    fn read<T: DeserializeOwned>(&mut self, value: &Value, pointer: &str) -> Option<T> {
        let mut value = value.clone();
        for _ in 0..UNKNOWN_KEYS_PER_OBJECT {
            let error = match serde_json::from_value::<T>(value.clone()) {
                Ok(read) => return Some(read),
                Err(e) => e.to_string(),
            };
            match unknown_key(&error) {
                Some(key) if value.get(&key).is_some() => {
                    let at = format!("{pointer}/{}", escape(&key));
                    let message = match expected_keys(&error) {
                        Some(known) => format!("unknown key `{key}`{}", did_you_mean(&key, &known)),
                        None => format!("unknown key `{key}`"),
                    };
                    self.problem(&at, message);
                    if let Value::Object(map) = &mut value {
                        map.remove(&key);
                    }
                }
                _ => {
                    let at = mentioned_key(&error, &value).map_or_else(
                        || pointer.to_string(),
                        |k| format!("{pointer}/{}", escape(&k)),
                    );
                    self.problem(&at, error);
                    return None;
                }
            }
        }
        None
    }

    fn people(&mut self, state: &DesiredState) {
        for (person, identities) in &state.people {
            for connection in identities.keys() {
                if !state.connections.contains_key(connection) {
                    let hint = did_you_mean(connection, &names(state.connections.keys()));
                    self.problem(
                        &format!("/people/{}/{}", escape(person), escape(connection)),
                        format!("person `{person}` names connection `{connection}`, which the file does not define{hint}"),
                    );
                }
            }
        }
    }

    fn protected(&mut self, state: &DesiredState) {
        for (i, reference) in state.protected.iter().enumerate() {
            if let Some(person) = person_of(reference)
                && !state.people.contains_key(person)
            {
                let hint = did_you_mean(&format!("@{person}"), &people(state));
                self.problem(
                    &format!("/protected/{i}"),
                    format!("`@{person}` is not one of the file's `people`{hint}"),
                );
            }
        }
    }

    fn group(
        &mut self,
        state: &DesiredState,
        group: &DesiredGroup,
        pointer: &str,
        now: OffsetDateTime,
    ) {
        let connection = group.connection();
        match state.connections.get(connection) {
            None => {
                let hint = did_you_mean(connection, &names(state.connections.keys()));
                self.problem(
                    &format!("{pointer}/connection"),
                    format!("no connection named `{connection}`{hint}"),
                );
                return;
            }
            Some(c) if c.service != group.service() => {
                self.problem(
                    &format!("{pointer}/connection"),
                    format!(
                        "connection `{connection}` is for {}, this group for {}",
                        c.service.as_str(),
                        group.service().as_str()
                    ),
                );
                return;
            }
            Some(_) => {}
        }
        let mut identities: HashMap<String, usize> = HashMap::new();
        for (j, entry) in group.members().iter().enumerate() {
            let at = format!("{pointer}/members/{j}");
            self.entry(state, group, entry, &at, now);
            let Ok(identity) = state.identity_of(&entry.member, connection, group) else {
                continue;
            };
            if let Some(first) = identities.insert(identity.to_string(), j) {
                self.problem(
                    &at,
                    format!(
                        "{identity} is listed twice (also members/{first}; perhaps once by name and once as a person)"
                    ),
                );
            }
        }
        let (_, unmanaged, _) = group.rules();
        for (j, member) in unmanaged.iter().enumerate() {
            self.reference(
                state,
                member,
                connection,
                &format!("{pointer}/unmanaged/{j}"),
            );
        }
    }

    fn entry(
        &mut self,
        state: &DesiredState,
        group: &DesiredGroup,
        entry: &MemberEntry,
        at: &str,
        now: OffsetDateTime,
    ) {
        if matches!(&entry.member, UserRef::Username(name) if name.trim().is_empty()) {
            self.problem(at, "a member is empty");
        }
        if matches!(entry.member, UserRef::Id(_)) && group.service() != Service::TrafficOps {
            self.problem(
                at,
                format!(
                    "a user ID (a number) is a Traffic Ops member; {} members are names",
                    group.service().as_str()
                ),
            );
        }
        self.reference(state, &entry.member, group.connection(), at);
        if let (Some(until), Some(days)) = (&entry.until, state.max_grant_days) {
            let limit = now + time::Duration::days(i64::from(days));
            if until.ends_at() > limit {
                self.problem(
                    &format!("{at}/until"),
                    format!("`until` {until} is more than `max_grant_days` ({days}) from today"),
                );
            }
        }
    }

    /// A member reference (`@person` or an identity) as the group's connection sees it.
    fn reference(&mut self, state: &DesiredState, member: &UserRef, connection: &str, at: &str) {
        let Some(person) = person_of(member) else {
            return;
        };
        match state.people.get(person) {
            None => {
                let hint = did_you_mean(&format!("@{person}"), &people(state));
                self.problem(
                    at,
                    format!("`@{person}` is not one of the file's `people`{hint}"),
                );
            }
            Some(ids) if !ids.contains_key(connection) => self.problem(
                at,
                format!("person `@{person}` has no identity on connection `{connection}`"),
            ),
            Some(_) => {}
        }
    }
}

/// `alice` for `@alice`.
pub(crate) fn person_of(member: &UserRef) -> Option<&str> {
    match member {
        UserRef::Username(name) => name.strip_prefix('@'),
        UserRef::Id(_) => None,
    }
}

fn names<'a>(keys: impl Iterator<Item = &'a String>) -> Vec<String> {
    keys.cloned().collect()
}

fn people(state: &DesiredState) -> Vec<String> {
    state.people.keys().map(|p| format!("@{p}")).collect()
}

/// `; did you mean `x`?` when a known name is close to `wanted`.
pub(crate) fn did_you_mean(wanted: &str, known: &[String]) -> String {
    closest(wanted, known).map_or_else(String::new, |k| format!("; did you mean `{k}`?"))
}

/// The key of serde's "unknown field `x`, expected ..." message.
fn unknown_key(error: &str) -> Option<String> {
    let rest = error.strip_prefix("unknown field `")?;
    Some(rest[..rest.find('`')?].to_string())
}

/// The keys serde lists after "expected one of" / "expected".
fn expected_keys(error: &str) -> Option<Vec<String>> {
    let (_, list) = error.split_once("expected ")?;
    Some(
        list.split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect(),
    )
}

/// The key a "missing field `x`" / "invalid type ... for key `x`" message concerns, when the value has it.
fn mentioned_key(error: &str, value: &Value) -> Option<String> {
    let start = error.find('`')? + 1;
    let key = &error[start..start + error[start..].find('`')?];
    value.get(key).is_some().then(|| key.to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn likely_typos_are_named() {
        let known: Vec<String> = ["video", "netmon", "cloud", "cdn"]
            .map(String::from)
            .to_vec();
        assert_eq!(super::did_you_mean("cnd", &known), "; did you mean `cdn`?");
        assert_eq!(
            super::did_you_mean("@alcie", &["@alice".to_string()]),
            "; did you mean `@alice`?"
        );
        assert_eq!(super::did_you_mean("zzz", &known), "");
    }
}

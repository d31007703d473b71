//! Who a member is: how callers name members, and how a name becomes the identity a service keys
//! membership by (Traffic Ops: a username becomes an integer user ID).

use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::fmt;
use std::hash::{Hash, Hasher};

use serde::{Deserialize, Serialize};

use crate::client::Client;
use crate::error::{Error, Result};

/// A Traffic Ops user named by the caller: by username or by integer user ID. In a desired-state file a
/// string is a username and a number an ID (`"members": ["admin", 7]`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(untagged)]
pub enum UserRef {
    /// An integer user ID.
    Id(u64),
    /// A username.
    Username(String),
}

/// A string is a username, a whole number an ID; anything else is refused in words a user understands
/// (serde's own message would speak of an "untagged enum").
impl<'de> Deserialize<'de> for UserRef {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = UserRef;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a username (a string) or a user ID (a whole number, 0 or more)")
            }
            fn visit_u64<E: serde::de::Error>(self, id: u64) -> Result<UserRef, E> {
                Ok(UserRef::Id(id))
            }
            fn visit_i64<E: serde::de::Error>(self, id: i64) -> Result<UserRef, E> {
                u64::try_from(id)
                    .map(UserRef::Id)
                    .map_err(|_| E::invalid_value(serde::de::Unexpected::Signed(id), &self))
            }
            fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<UserRef, E> {
                Ok(UserRef::Username(name.to_string()))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// A username (string) or user ID (whole number, 0 or more).
#[cfg(feature = "schema")]
impl schemars::JsonSchema for UserRef {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "UserRef".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A username, a person of the file's `people` as `@name`, or (Traffic Ops) an integer user ID.",
            "oneOf": [
                {"type": "string", "minLength": 1},
                {"type": "integer", "minimum": 0}
            ]
        })
    }
}

impl From<u64> for UserRef {
    fn from(id: u64) -> Self {
        UserRef::Id(id)
    }
}

impl From<&str> for UserRef {
    fn from(username: &str) -> Self {
        UserRef::Username(username.to_string())
    }
}

impl From<String> for UserRef {
    fn from(username: String) -> Self {
        UserRef::Username(username)
    }
}

impl fmt::Display for UserRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UserRef::Id(id) => write!(f, "{id}"),
            UserRef::Username(name) => f.write_str(name),
        }
    }
}

/// A Traffic Ops user as a federation member: the integer ID the federation keys membership by, and the
/// username when it is known. Two of them are the same member when their IDs are equal; plans and
/// reports show `admin (2)`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrafficOpsUser {
    /// The integer user ID.
    pub id: u64,
    /// The username, when known.
    #[serde(default)]
    pub username: Option<String>,
}

impl TrafficOpsUser {
    /// A user known only by ID.
    pub fn id(id: u64) -> Self {
        TrafficOpsUser { id, username: None }
    }
}

impl PartialEq for TrafficOpsUser {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}
impl Eq for TrafficOpsUser {}
impl PartialOrd for TrafficOpsUser {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for TrafficOpsUser {
    fn cmp(&self, other: &Self) -> Ordering {
        self.id.cmp(&other.id)
    }
}
impl Hash for TrafficOpsUser {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.id.hash(state);
    }
}

impl super::MemberId for TrafficOpsUser {
    fn identity(&self) -> String {
        self.id.to_string()
    }
    fn username(&self) -> Option<&str> {
        self.username.as_deref()
    }
}

impl fmt::Display for TrafficOpsUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.username {
            Some(name) => write!(f, "{name} ({})", self.id),
            None => write!(f, "{}", self.id),
        }
    }
}

/// From this many references not answered by the federation's own members on, they are resolved with one
/// `GET users` (every user the caller may see) instead of one filtered lookup each.
const ONE_LIST_FROM: usize = 4;

/// Resolves each reference to a user: from the federation's current members when one matches, otherwise
/// with a lookup — one `GET users?username=` or `GET users?id=` per reference, or, for
/// [`ONE_LIST_FROM`] references or more, one `GET users` for all of them (2,000 usernames: one request).
/// An unknown user is an error, so nothing is planned (or written) from a name that means nobody.
pub(super) async fn resolve_traffic_ops_users(
    client: &Client,
    wanted: &[UserRef],
    current: &BTreeSet<TrafficOpsUser>,
) -> Result<BTreeSet<TrafficOpsUser>> {
    // Every name is checked before any lookup is sent.
    if wanted
        .iter()
        .any(|r| matches!(r, UserRef::Username(name) if name.trim().is_empty()))
    {
        return Err(Error::invalid_input("Traffic Ops username", "is empty"));
    }
    let members = Directory::of(current.iter().cloned());
    let mut resolved = BTreeSet::new();
    let mut unknown = Vec::new();
    for reference in wanted {
        match members.find(reference) {
            Some(user) => {
                resolved.insert(user.clone());
            }
            None => unknown.push(reference),
        }
    }
    let users = client.traffic_ops().users();
    if unknown.len() >= ONE_LIST_FROM {
        let everyone = users.list(&crate::traffic_ops::UsersQuery::new()).await?;
        let directory = Directory::of(everyone.response.into_iter().map(|u| TrafficOpsUser {
            id: u.id,
            username: Some(u.username),
        }));
        for reference in unknown {
            if let UserRef::Username(name) = reference
                && directory.ambiguous.contains(name.as_str())
            {
                return Err(Error::AmbiguousMember {
                    service: "traffic_ops",
                    member: format!("username `{name}`"),
                });
            }
            let user = directory
                .find(reference)
                .ok_or_else(|| unknown_member(reference))?;
            resolved.insert(user.clone());
        }
        return Ok(resolved);
    }
    for reference in unknown {
        let found = match reference {
            UserRef::Id(id) => users.find_by_id(*id).await?,
            UserRef::Username(name) => users.find_by_username(name).await?,
        };
        let user = found.ok_or_else(|| unknown_member(reference))?;
        resolved.insert(TrafficOpsUser {
            id: user.id,
            username: Some(user.username),
        });
    }
    Ok(resolved)
}

/// Users by ID and by exact username (usernames two users share are set apart: refused, not guessed).
struct Directory {
    by_id: std::collections::BTreeMap<u64, TrafficOpsUser>,
    by_name: std::collections::BTreeMap<String, TrafficOpsUser>,
    ambiguous: BTreeSet<String>,
}

impl Directory {
    fn of(users: impl Iterator<Item = TrafficOpsUser>) -> Self {
        let mut directory = Directory {
            by_id: Default::default(),
            by_name: Default::default(),
            ambiguous: BTreeSet::new(),
        };
        for user in users {
            if let Some(name) = &user.username
                && directory
                    .by_name
                    .insert(name.clone(), user.clone())
                    .is_some()
            {
                directory.ambiguous.insert(name.clone());
            }
            directory.by_id.insert(user.id, user);
        }
        directory
    }

    fn find(&self, reference: &UserRef) -> Option<&TrafficOpsUser> {
        match reference {
            UserRef::Id(id) => self.by_id.get(id),
            UserRef::Username(name) if self.ambiguous.contains(name.as_str()) => None,
            UserRef::Username(name) => self.by_name.get(name),
        }
    }
}

fn unknown_member(reference: &UserRef) -> Error {
    Error::UnknownMember {
        service: "traffic_ops",
        member: match reference {
            UserRef::Id(id) => format!("user ID {id}"),
            UserRef::Username(name) => format!("username `{name}`"),
        },
    }
}

/// Members named by plain strings (usernames, user IDs): each must be non-empty.
pub(super) fn plain_names(wanted: &[String]) -> Result<BTreeSet<String>> {
    match wanted.iter().find(|m| m.trim().is_empty()) {
        Some(bad) => Err(Error::invalid_input("member", format!("{bad:?} is empty"))),
        None => Ok(wanted.iter().cloned().collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_member_that_is_neither_name_nor_id_is_refused_in_plain_words() {
        let ok: Vec<UserRef> = serde_json::from_str(r#"["admin", 7]"#).unwrap();
        assert_eq!(ok, [UserRef::from("admin"), UserRef::Id(7)]);
        for bad in ["[true]", "[-3]", "[1.5]", "[null]", "[[\"a\"]]"] {
            let err = serde_json::from_str::<Vec<UserRef>>(bad)
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("expected a username (a string) or a user ID"),
                "{bad}: {err}"
            );
            assert!(!err.contains("untagged"), "{err}");
        }
    }
}

//! One member entry of a group in the file: who, and until when (`"@alice"`, or
//! `{"member": "@alice", "until": "2027-01-31"}`).
//!
//! **Dates are UTC.** `until` is an RFC 3339 full date (`2027-01-31`: the membership holds through the end
//! of that day in UTC, and ends at `2027-02-01T00:00:00Z`) or an RFC 3339 date-time with its offset
//! (`2027-01-31T18:00:00+01:00`: it ends at that instant). From the moment it ends, a plan removes the
//! membership (in `additive` groups too), with the usual guards.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::membership::UserRef;

/// When a membership ends: parsed from an RFC 3339 date or date-time, kept as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Until {
    text: String,
    ends: OffsetDateTime,
}

impl Until {
    /// Parses `2027-01-31` (ends at the start of the next day, UTC) or an RFC 3339 date-time with offset
    /// (ends at that instant).
    ///
    /// # Errors
    /// A message saying which forms are accepted, for anything else.
    pub fn parse(text: &str) -> Result<Until, String> {
        let date = time::macros::format_description!("[year]-[month]-[day]");
        let ends = if let Ok(day) = time::Date::parse(text, &date) {
            day.next_day()
                .ok_or_else(|| format!("`{text}` is past the last date this tool can count"))?
                .midnight()
                .assume_utc()
        } else {
            OffsetDateTime::parse(text, &Rfc3339).map_err(|_| {
                format!(
                    "`{text}` is not an RFC 3339 date (`2027-01-31`, through the end of that day UTC) or \
                     date-time with offset (`2027-01-31T18:00:00Z`)"
                )
            })?
        };
        Ok(Until {
            text: text.to_string(),
            ends: ends.to_offset(time::UtcOffset::UTC),
        })
    }

    /// The first instant the membership no longer holds (UTC).
    pub fn ends_at(&self) -> OffsetDateTime {
        self.ends
    }

    /// True from the instant the membership ends.
    pub fn has_passed(&self, now: OffsetDateTime) -> bool {
        now >= self.ends
    }

    /// As written in the file.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for Until {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Serialize for Until {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Until {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Until::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(feature = "schema")]
impl schemars::JsonSchema for Until {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Until".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "When the membership ends, in UTC: an RFC 3339 date (`2027-01-31`: through the end of that day) or date-time with offset (`2027-01-31T18:00:00Z`).",
            "type": "string",
            "anyOf": [{"format": "date"}, {"format": "date-time"}]
        })
    }
}

#[cfg(feature = "schema")]
impl schemars::JsonSchema for MemberEntry {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "MemberEntry".into()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let member = generator.subschema_for::<UserRef>();
        let until = generator.subschema_for::<Until>();
        schemars::json_schema!({
            "description": "A member: a username, `@person` or (Traffic Ops) a user ID; or the same with an end date.",
            "oneOf": [
                member,
                {
                    "type": "object",
                    "properties": {"member": member, "until": until},
                    "required": ["member", "until"],
                    "additionalProperties": false
                }
            ]
        })
    }
}

/// The schema of a member entry of a service whose members are names (all but Traffic Ops): as
/// [`MemberEntry`], without integer IDs.
#[cfg(feature = "schema")]
pub(crate) struct NamedEntry;

#[cfg(feature = "schema")]
impl schemars::JsonSchema for NamedEntry {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "NamedEntry".into()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let until = generator.subschema_for::<Until>();
        let name = schemars::json_schema!({"type": "string", "minLength": 1});
        schemars::json_schema!({
            "description": "A member: a username or ID (a string), or `@person`; or the same with an end date.",
            "oneOf": [
                name,
                {
                    "type": "object",
                    "properties": {"member": name, "until": until},
                    "required": ["member", "until"],
                    "additionalProperties": false
                }
            ]
        })
    }
}

/// One member of a group as the file lists it: a username, user ID or person (`@alice`), and optionally
/// the end of the membership.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MemberEntry {
    /// Who.
    pub member: UserRef,
    /// Until when (`None`: no end).
    pub until: Option<Until>,
}

impl MemberEntry {
    /// A member with no end date.
    pub fn new(member: impl Into<UserRef>) -> Self {
        MemberEntry {
            member: member.into(),
            until: None,
        }
    }

    /// The same member, ending at `until`.
    pub fn until(mut self, until: Until) -> Self {
        self.until = Some(until);
        self
    }

    /// True when the entry has an end and it has passed at `now`.
    pub fn has_ended(&self, now: OffsetDateTime) -> bool {
        self.until.as_ref().is_some_and(|u| u.has_passed(now))
    }
}

impl<T: Into<UserRef>> From<T> for MemberEntry {
    fn from(member: T) -> Self {
        MemberEntry::new(member)
    }
}

/// Plain (`"@alice"`, `7`) without an end date; `{"member": ..., "until": ...}` with one.
impl Serialize for MemberEntry {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct WithEnd<'a> {
            member: &'a UserRef,
            until: &'a Until,
        }
        match &self.until {
            None => self.member.serialize(serializer),
            Some(until) => WithEnd {
                member: &self.member,
                until,
            }
            .serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for MemberEntry {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = MemberEntry;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a member (a username, a user ID or `@person`) or `{\"member\": ..., \"until\": \"YYYY-MM-DD\"}`",
                )
            }
            fn visit_u64<E: serde::de::Error>(self, id: u64) -> Result<MemberEntry, E> {
                Ok(MemberEntry::new(id))
            }
            fn visit_i64<E: serde::de::Error>(self, id: i64) -> Result<MemberEntry, E> {
                u64::try_from(id)
                    .map(MemberEntry::new)
                    .map_err(|_| E::invalid_value(serde::de::Unexpected::Signed(id), &self))
            }
            fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<MemberEntry, E> {
                Ok(MemberEntry::new(name))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<MemberEntry, A::Error> {
                #[derive(Deserialize)]
                #[serde(deny_unknown_fields)]
                struct WithEnd {
                    member: UserRef,
                    until: Until,
                }
                let entry =
                    WithEnd::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                Ok(MemberEntry::new(entry.member).until(entry.until))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn a_date_holds_through_its_last_day_in_utc() {
        let until = Until::parse("2027-01-31").unwrap();
        assert_eq!(until.ends_at(), datetime!(2027-02-01 00:00 UTC));
        assert!(!until.has_passed(datetime!(2027-01-31 23:59:59 UTC)));
        assert!(until.has_passed(datetime!(2027-02-01 00:00 UTC)));
        let instant = Until::parse("2027-01-31T18:00:00+01:00").unwrap();
        assert_eq!(instant.ends_at(), datetime!(2027-01-31 17:00 UTC));
        assert_eq!(instant.as_str(), "2027-01-31T18:00:00+01:00");
        for bad in [
            "31/01/2027",
            "2027-02-30",
            "2027-01-31T18:00:00",
            "tomorrow",
            "",
        ] {
            let e = Until::parse(bad).unwrap_err();
            assert!(e.contains("RFC 3339"), "{bad}: {e}");
        }
    }

    #[test]
    fn entries_read_and_write_both_forms() {
        let entries: Vec<MemberEntry> =
            serde_json::from_str(r#"["@alice", 7, {"member": "bob", "until": "2027-01-31"}]"#)
                .unwrap();
        assert_eq!(entries[0], MemberEntry::new("@alice"));
        assert_eq!(entries[1], MemberEntry::new(7));
        assert_eq!(entries[2].until.as_ref().unwrap().as_str(), "2027-01-31");
        assert_eq!(
            serde_json::to_string(&entries).unwrap(),
            r#"["@alice",7,{"member":"bob","until":"2027-01-31"}]"#
        );
        for bad in [
            r#"{"member": "bob"}"#,
            r#"{"member": "bob", "until": "2027-01-31", "why": "x"}"#,
            r#"{"member": "bob", "until": "soon"}"#,
            "-1",
            "true",
        ] {
            assert!(serde_json::from_str::<MemberEntry>(bad).is_err(), "{bad}");
        }
    }
}

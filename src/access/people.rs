//! People: one name for a person across services (`@alice`), replaced by their identity on each group's
//! connection when planning, and put back when reporting and exporting.

use std::collections::BTreeSet;

use crate::error::{Error, Result};
use crate::membership::{GroupPolicy, Member, UserRef};

use super::file::Mode;

use super::file::{DesiredGroup, DesiredState};

impl DesiredState {
    /// A group's members whose grant has not ended ([`now`](Self::now)), every person (`@name`) replaced
    /// by their identity on the group's connection.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a person the file does not declare, or one without an identity on the
    /// group's connection.
    pub fn expanded(&self, group: &DesiredGroup) -> Result<Vec<UserRef>> {
        self.identities(group, |ended| !ended)
    }

    /// A group's members whose grant has ended ([`now`](Self::now)), as identities: a plan removes them.
    ///
    /// # Errors
    /// As [`expanded`](Self::expanded).
    pub fn ended(&self, group: &DesiredGroup) -> Result<Vec<UserRef>> {
        self.identities(group, |ended| ended)
    }

    fn identities(&self, group: &DesiredGroup, keep: fn(bool) -> bool) -> Result<Vec<UserRef>> {
        group
            .members()
            .iter()
            .filter(|entry| keep(entry.has_ended(self.now())))
            .map(|entry| self.identity_of(&entry.member, group.connection(), group))
            .collect()
    }

    /// `member` as an identity on `connection`: a person (`@name`) replaced by theirs.
    pub(crate) fn identity_of(
        &self,
        member: &UserRef,
        connection: &str,
        group: &DesiredGroup,
    ) -> Result<UserRef> {
        match member {
            UserRef::Username(name) if name.starts_with('@') => {
                self.identity(&name[1..], connection, group)
            }
            _ => Ok(member.clone()),
        }
    }

    /// `group` names the group in an error (its key is built only then).
    fn identity(&self, person: &str, connection: &str, group: &DesiredGroup) -> Result<UserRef> {
        let what = || format!("group {}", group.key());
        let Some(identities) = self.people.get(person) else {
            return Err(Error::invalid_input(
                what(),
                format!("`@{person}` is not one of the file's `people`"),
            ));
        };
        identities.get(connection).cloned().ok_or_else(|| {
            Error::invalid_input(
                what(),
                format!("person `@{person}` has no identity on connection `{connection}`"),
            )
        })
    }

    /// A group's own rules as the engine takes them: its mode and minimum, its unmanaged members and the
    /// file's protected ones as identities on the group's connection (a protected person without one there
    /// protects nobody there), and the connection's `login` identity.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an unmanaged person the file does not declare, or without an identity on
    /// the group's connection.
    pub fn policy(&self, group: &DesiredGroup, login: Option<String>) -> Result<GroupPolicy> {
        let (mode, unmanaged, min_members) = group.rules();
        let connection = group.connection();
        let unmanaged: BTreeSet<String> = unmanaged
            .iter()
            .map(|member| match member {
                UserRef::Username(name) if name.starts_with('@') => self
                    .identity(&name[1..], connection, group)
                    .map(|id| id.to_string()),
                other => Ok(other.to_string()),
            })
            .collect::<Result<_>>()?;
        let protected: BTreeSet<String> = self
            .protected
            .iter()
            .filter_map(|member| match member {
                UserRef::Username(name) if name.starts_with('@') => self
                    .people
                    .get(&name[1..])
                    .and_then(|ids| ids.get(connection))
                    .map(UserRef::to_string),
                other => Some(other.to_string()),
            })
            .collect();
        let ended: Vec<String> = self.ended(group)?.iter().map(UserRef::to_string).collect();
        Ok(GroupPolicy::default()
            .additive(mode == Mode::Additive)
            .ended(ended)
            .unmanaged(unmanaged)
            .protected(protected)
            .login_identity(login)
            .min_members(min_members))
    }

    /// Labels `member` of a group on `connection` for people: a declared person's identity there becomes
    /// `@alice = gu137…` (or `@alice`, `@alice (7)` when the identity is the person's own name) and names
    /// the person; any other member keeps the label the service gave it. Matching is by identity (and a
    /// Traffic Ops user's username), never by parsing a label.
    pub fn label(&self, connection: &str, member: &mut Member) {
        let Some(person) = self.person_of(connection, member) else {
            return;
        };
        let own_name = member.id == person || member.username.as_deref() == Some(person);
        member.label = match (&member.username, own_name) {
            (Some(_), true) => format!("@{person} ({})", member.id),
            (None, true) => format!("@{person}"),
            (_, false) => format!("@{person} = {}", member.label),
        };
        member.person = Some(person.to_string());
    }

    /// The declared person whose identity on `connection` is `member`.
    pub fn person_of(&self, connection: &str, member: &Member) -> Option<&str> {
        self.people
            .iter()
            .find(|(_, ids)| match ids.get(connection) {
                Some(UserRef::Username(name)) => {
                    member.id == *name || member.username.as_deref() == Some(name)
                }
                Some(UserRef::Id(id)) => member.id == id.to_string(),
                None => false,
            })
            .map(|(name, _)| name.as_str())
    }
}

#[cfg(test)]
mod tests {
    use crate::membership::{Member, TrafficOpsUser};

    use super::*;

    const FILE: &str = r#"{
      "connections": {"video": {"service": "uplynk"}, "cdn": {"service": "traffic_ops", "base_url": "https://to"}},
      "people": {"alice": {"video": "gu137", "cdn": "operator"}, "bob": {"cdn": 7}},
      "groups": []
    }"#;

    fn labelled(connection: &str, mut member: Member) -> (String, Option<String>) {
        let state = DesiredState::from_json(FILE).unwrap();
        state.label(connection, &mut member);
        (member.label, member.person)
    }

    #[test]
    fn people_are_matched_by_identity_never_by_label() {
        let alice = Member::of(&"gu137".to_string());
        assert_eq!(
            labelled("video", alice),
            ("@alice = gu137".into(), Some("alice".into()))
        );
        let bob = Member::of(&TrafficOpsUser {
            id: 7,
            username: Some("robert".into()),
        });
        assert_eq!(
            labelled("cdn", bob),
            ("@bob = robert (7)".into(), Some("bob".into()))
        );
        // A label that merely looks like a person's identity is not one.
        let mut lookalike = Member::of(&"someone".to_string());
        lookalike.label = "gu137".into();
        assert_eq!(labelled("video", lookalike), ("gu137".into(), None));
        // Same identity on another connection: not that person there.
        assert_eq!(
            labelled("cdn", Member::of(&"gu137".to_string())),
            ("gu137".into(), None)
        );
    }
}

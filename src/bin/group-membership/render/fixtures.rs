//! Members the renderers' snapshot tests share.

use std::collections::BTreeSet;

use group_membership::membership::Member;

/// A member known by `id` alone.
pub fn member(id: &str) -> Member {
    Member::of(&id.to_string())
}

/// `kim1`, who is the file's person `@alice`.
pub fn alice() -> Member {
    let mut m = member("kim1");
    m.label = "@alice = kim1".into();
    m.person = Some("alice".into());
    m
}

/// A set of members.
pub fn set(members: &[Member]) -> BTreeSet<Member> {
    members.iter().cloned().collect()
}

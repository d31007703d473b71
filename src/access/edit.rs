//! Edits of a desired-state file's text that keep everything else as written (key order, spacing,
//! line breaks), for `group-membership offboard`.

use jsonc_parser::cst::{CstNode, CstRootNode};

use crate::error::{Error, Result};

/// Removes every member entry that names `@person` (`"@alice"`, or `{"member": "@alice", "until": ...}`)
/// from the `members` of every group of a JSON desired-state file's `text`; everything else stays as
/// written. Returns the new text and how many entries were removed (0: the text is returned unchanged).
///
/// Only `members` change: the person stays in `people` (and in `protected` or `unmanaged`, where the file
/// keeps them on purpose).
///
/// # Errors
/// [`Error::InvalidInput`] for text that is not JSON.
///
/// ```
/// let text = "{\"groups\": [\n  {\"members\": [\"@alice\", \"bob\"]}\n]}\n";
/// let (edited, removed) = group_membership::access::remove_person_from_json(text, "alice").unwrap();
/// assert_eq!(removed, 1);
/// assert_eq!(edited, "{\"groups\": [\n  {\"members\": [\"bob\"]}\n]}\n");
/// ```
pub fn remove_person_from_json(text: &str, person: &str) -> Result<(String, usize)> {
    let root = CstRootNode::parse(text, &super::source::strict_json())
        .map_err(|e| Error::invalid_input("desired-state file", e.to_string()))?;
    let wanted = format!("@{person}");
    let groups = root
        .object_value()
        .and_then(|top| top.array_value("groups"))
        .map(|groups| groups.elements())
        .unwrap_or_default();
    let mut removed = 0;
    for group in groups {
        let Some(members) = group.as_object().and_then(|g| g.array_value("members")) else {
            continue;
        };
        for entry in members.elements() {
            if names(&entry, &wanted) {
                entry.remove();
                removed += 1;
            }
        }
        tidy_opening(&members);
    }
    if removed == 0 {
        return Ok((text.to_string(), 0));
    }
    Ok((root.to_string(), removed))
}

/// `[ "bob"]` (the space that followed a removed first element) becomes `["bob"]`; a line break after `[`
/// stays.
fn tidy_opening(array: &jsonc_parser::cst::CstArray) {
    let children = array.children();
    if let [open, space, next, ..] = children.as_slice()
        && open.token_char() == Some('[')
        && space.is_whitespace()
        && !next.is_newline()
    {
        space.clone().remove();
    }
}

/// True when a member entry is `wanted` or `{"member": wanted, ...}`.
fn names(entry: &CstNode, wanted: &str) -> bool {
    let member = match entry.as_object() {
        Some(object) => object.get("member").and_then(|p| p.value()),
        None => Some(entry.clone()),
    };
    member
        .and_then(|m| m.as_string_lit())
        .and_then(|s| s.decoded_value().ok())
        .is_some_and(|value| value == wanted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_persons_entries_go_and_the_rest_stays_as_written() {
        let text = r#"{
  "connections": {"c": {"service": "danube", "base_url": "https://d"}},
  "people": {"alice": {"c": "alice"}},
  "groups": [
    {"service": "danube", "connection": "c", "group": "ops",
     "members": [
        "carol",
        {"member": "@alice", "until": "2027-01-31"},
        "dave"
     ]},
    {"service": "danube", "connection": "c", "group": "dev", "members": ["@alice"], "unmanaged": ["@alice"]}
  ]
}
"#;
        let (edited, removed) = remove_person_from_json(text, "alice").unwrap();
        assert_eq!(removed, 2);
        assert_eq!(
            edited,
            r#"{
  "connections": {"c": {"service": "danube", "base_url": "https://d"}},
  "people": {"alice": {"c": "alice"}},
  "groups": [
    {"service": "danube", "connection": "c", "group": "ops",
     "members": [
        "carol",
        "dave"
     ]},
    {"service": "danube", "connection": "c", "group": "dev", "members": [], "unmanaged": ["@alice"]}
  ]
}
"#
        );
        assert_eq!(
            remove_person_from_json(text, "bob").unwrap(),
            (text.to_string(), 0)
        );
        assert!(remove_person_from_json("{", "alice").is_err());
    }
}

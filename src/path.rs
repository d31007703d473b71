//! Request paths: fixed parts versus caller-supplied IDs, one-segment encoding, and the template tracing shows.

use std::borrow::Cow;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use url::Url;

use crate::error::{Error, Result};

/// Everything but RFC 3986 "unreserved" characters is escaped in a path segment, so a segment can never
/// add a `/`, start a query, or be read as a matrix parameter (`;`).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// An RFC 3986 "unreserved" byte: the bytes [`SEGMENT`] leaves as they are (a table: this runs on every
/// byte of every path).
fn is_unreserved(b: u8) -> bool {
    UNRESERVED[usize::from(b)]
}

static UNRESERVED: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~');
        b += 1;
    }
    table
};

/// One path segment: a fixed part of the service's route, or a value the caller supplied (an ID, a name).
///
/// Both are percent-encoded as exactly one segment; the difference is what the tracing span shows
/// (`/api/4.0/federations/{}/users`): fixed parts as they are, caller-supplied ones as `{}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Segment {
    /// Part of the route (`api`, `federations`, a configured API version).
    Fixed(Cow<'static, str>),
    /// A caller-supplied value.
    Id(String),
}

impl Segment {
    pub(crate) fn as_str(&self) -> &str {
        match self {
            Segment::Fixed(s) => s,
            Segment::Id(s) => s,
        }
    }
}

/// Splits a route template such as `federations/{}/users` into segments, taking one of `ids` for each `{}`.
/// A template with more `{}` than `ids` is a bug in the crate, reported as invalid input rather than a panic.
pub(crate) fn from_template(template: &'static str, ids: &[&str]) -> Result<Vec<Segment>> {
    let mut ids = ids.iter();
    let mut out = Vec::with_capacity(6);
    for part in template.split('/').filter(|p| !p.is_empty()) {
        if part == "{}" {
            let id = ids.next().ok_or_else(|| {
                Error::Internal(format!("path template `{template}` needs more IDs"))
            })?;
            out.push(Segment::Id((*id).to_string()));
        } else {
            out.push(Segment::Fixed(Cow::Borrowed(part)));
        }
    }
    Ok(out)
}

/// Checks that `value` can be used as one path segment, naming it `what` in the error.
///
/// Empty, `.` and `..` are refused: URL parsers collapse dot segments even when percent-encoded, so they
/// cannot be sent as data. Everything else is percent-encoded.
pub(crate) fn check_segment(what: &str, value: &str) -> Result<()> {
    if value.is_empty() {
        return Err(Error::invalid_input(what, "must not be empty"));
    }
    if value == "." || value == ".." {
        return Err(Error::invalid_input(
            what,
            format!("`{value}` cannot be sent as a path segment"),
        ));
    }
    Ok(())
}

/// `base` with `segments` appended below its path, each percent-encoded as exactly one segment.
pub(crate) fn url_with_segments<S: AsRef<str>>(
    base: &Url,
    segments: &[S],
    trailing_slash: bool,
) -> Result<Url> {
    let mut url = base.clone();
    let base_path = url.path().trim_end_matches('/');
    let encoded_len: usize = segments.iter().map(|s| s.as_ref().len() + 1).sum();
    let mut path = String::with_capacity(base_path.len() + encoded_len + 16);
    path.push_str(base_path);
    for segment in segments {
        let segment = segment.as_ref();
        check_segment("path segment", segment)?;
        path.push('/');
        if segment.bytes().all(is_unreserved) {
            // The usual ID or name: nothing to escape, one copy instead of a walk through the encoder.
            path.push_str(segment);
        } else {
            path.extend(utf8_percent_encode(segment, SEGMENT));
        }
    }
    if trailing_slash || path.is_empty() {
        path.push('/');
    }
    url.set_path(&path);
    Ok(url)
}

impl AsRef<str> for Segment {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

/// The path with caller-supplied segments shown as `{}` (what the tracing span records).
#[cfg_attr(not(feature = "tracing"), allow(dead_code))]
pub(crate) fn template(segments: &[Segment], trailing_slash: bool) -> String {
    let mut t = String::new();
    for s in segments {
        t.push('/');
        t.push_str(match s {
            Segment::Fixed(f) => f,
            Segment::Id(_) => "{}",
        });
    }
    if trailing_slash || t.is_empty() {
        t.push('/');
    }
    t
}

/// Percent-encodes one path segment (everything but `A-Z a-z 0-9 - . _ ~`).
pub fn encode_segment(segment: &str) -> String {
    utf8_percent_encode(segment, SEGMENT).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_encoded_as_one_segment() {
        assert_eq!(encode_segment("a/../b"), "a%2F..%2Fb");
        assert_eq!(
            encode_segment("Network Admins;x=1?y#z"),
            "Network%20Admins%3Bx%3D1%3Fy%23z"
        );
        assert_eq!(encode_segment("e8d6b5cb-_.~"), "e8d6b5cb-_.~");
        assert_eq!(encode_segment("ü%"), "%C3%BC%25");
    }

    #[test]
    fn the_shortcut_leaves_exactly_the_bytes_the_encoder_leaves() {
        for b in 0..=u8::MAX {
            let one = [b];
            let Ok(text) = std::str::from_utf8(&one) else {
                assert!(!is_unreserved(b), "{b}");
                continue;
            };
            let encoded: String = utf8_percent_encode(text, SEGMENT).collect();
            assert_eq!(is_unreserved(b), encoded == text, "byte {b}");
        }
    }

    #[test]
    fn dot_segments_and_empty_ids_are_refused() {
        for bad in ["", ".", ".."] {
            assert!(
                matches!(check_segment("group", bad), Err(Error::InvalidInput(_))),
                "{bad:?}"
            );
        }
        assert!(check_segment("group", "...").is_ok());
    }

    #[test]
    fn templates_mark_ids_and_keep_fixed_parts() {
        let mut segs = vec![
            Segment::Fixed("api".into()),
            Segment::Fixed(Cow::Owned("4.0".into())),
        ];
        segs.extend(from_template("federations/{}/users/{}", &["7", "a/b"]).unwrap());
        assert_eq!(template(&segs, false), "/api/4.0/federations/{}/users/{}");
        assert_eq!(segs[3], Segment::Id("7".into()));
        assert!(from_template("x/{}/{}", &["1"]).is_err());
        let url = url_with_segments(&Url::parse("http://h/p/").unwrap(), &segs, true).unwrap();
        assert_eq!(url.path(), "/p/api/4.0/federations/7/users/a%2Fb/");
    }
}

//! Request paths: fixed parts versus caller-supplied IDs, one-segment encoding, and the template tracing shows.

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

/// A request path under construction: each part percent-encoded as exactly one segment when it is
/// appended, and which parts the caller supplied remembered for the template tracing shows
/// (`/api/4.0/federations/{}/users`: fixed parts as they are, caller-supplied ones as `{}`).
///
/// Encoding as parts arrive keeps a call to one string: no list of segments, no copy of each ID.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Path {
    /// `/part/part…`, each part percent-encoded (so `/` separates exactly the parts appended).
    encoded: String,
    /// Bit `i` set: part `i` was supplied by the caller. Parts after the 64th are all taken as supplied.
    supplied: u64,
    /// How many parts were appended.
    parts: u32,
}

impl Path {
    /// An empty path with room for `bytes` of encoded text.
    pub(crate) fn with_capacity(bytes: usize) -> Self {
        Path {
            encoded: String::with_capacity(bytes),
            ..Path::default()
        }
    }

    /// Appends a fixed part of the service's route (`api`, `federations`, a configured API version).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an empty, `.` or `..` part.
    #[inline]
    pub(crate) fn fixed(&mut self, part: &str) -> Result<()> {
        self.push(part, false)
    }

    /// Appends a value the caller supplied (an ID, a name).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an empty, `.` or `..` value.
    #[inline]
    pub(crate) fn supplied(&mut self, value: &str) -> Result<()> {
        self.push(value, true)
    }

    /// Appends a route template such as `federations/{}/users`, each `{}` taking the next of `ids`. A
    /// template with more `{}` than `ids` is a bug in the crate, reported as an error rather than a panic.
    ///
    /// # Errors
    /// [`Error::Internal`] for too few IDs; [`Error::InvalidInput`] for an ID that cannot be a segment.
    #[inline]
    pub(crate) fn route(&mut self, template: &'static str, ids: &[&str]) -> Result<()> {
        let mut ids = ids.iter();
        for part in template.split('/').filter(|p| !p.is_empty()) {
            if part == "{}" {
                let id = ids.next().ok_or_else(|| {
                    Error::Internal(format!("path template `{template}` needs more IDs"))
                })?;
                self.supplied(id)?;
            } else {
                self.fixed(part)?;
            }
        }
        Ok(())
    }

    #[inline]
    fn push(&mut self, segment: &str, supplied: bool) -> Result<()> {
        push_encoded(&mut self.encoded, segment)?;
        if supplied && self.parts < u64::BITS {
            self.supplied |= 1 << self.parts;
        }
        self.parts = self.parts.saturating_add(1);
        Ok(())
    }

    fn is_supplied(&self, part: u32) -> bool {
        part >= u64::BITS || self.supplied & (1 << part) != 0
    }

    /// The path with caller-supplied parts shown as `{}` (what the tracing span and `Debug` show).
    pub(crate) fn template(&self, trailing_slash: bool) -> String {
        let mut t = String::with_capacity(self.encoded.len());
        for (i, part) in self.encoded.split('/').skip(1).enumerate() {
            t.push('/');
            let i = u32::try_from(i).unwrap_or(u32::MAX);
            t.push_str(if self.is_supplied(i) { "{}" } else { part });
        }
        if trailing_slash || t.is_empty() {
            t.push('/');
        }
        t
    }

    /// `base` with this path appended below its own path.
    #[inline]
    pub(crate) fn url(&self, base: &Url, trailing_slash: bool) -> Url {
        let mut url = base.clone();
        let base_path = url.path().trim_end_matches('/');
        let mut path = String::with_capacity(base_path.len() + self.encoded.len() + 1);
        path.push_str(base_path);
        path.push_str(&self.encoded);
        if trailing_slash || path.is_empty() {
            path.push('/');
        }
        url.set_path(&path);
        url
    }
}

/// Appends `/` and `segment` percent-encoded as exactly one segment, after [`check_segment`].
#[inline]
fn push_encoded(out: &mut String, segment: &str) -> Result<()> {
    check_segment("path segment", segment)?;
    out.push('/');
    if segment.bytes().all(is_unreserved) {
        // The usual ID or name: nothing to escape, one copy instead of a walk through the encoder.
        out.push_str(segment);
    } else {
        out.extend(utf8_percent_encode(segment, SEGMENT));
    }
    Ok(())
}

/// Checks that `value` can be used as one path segment, naming it `what` in the error.
///
/// Empty, `.` and `..` are refused: URL parsers collapse dot segments even when percent-encoded, so they
/// cannot be sent as data. Everything else is percent-encoded.
#[inline]
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
    let mut path = Path::with_capacity(64);
    for segment in segments {
        path.fixed(segment.as_ref())?;
    }
    Ok(path.url(base, trailing_slash))
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
        let mut path = Path::default();
        path.fixed("api").unwrap();
        path.fixed("4.0").unwrap();
        path.route("federations/{}/users/{}", &["7", "a/b"])
            .unwrap();
        assert_eq!(path.template(false), "/api/4.0/federations/{}/users/{}");
        assert_eq!(path.template(true), "/api/4.0/federations/{}/users/{}/");
        assert!(Path::default().route("x/{}/{}", &["1"]).is_err());
        let url = path.url(&Url::parse("http://h/p/").unwrap(), true);
        assert_eq!(url.path(), "/p/api/4.0/federations/7/users/a%2Fb/");
        assert_eq!(
            url.as_str(),
            "http://h/p/api/4.0/federations/7/users/a%2Fb/"
        );
    }

    #[test]
    fn an_empty_path_is_the_base_with_a_slash() {
        let path = Path::default();
        assert_eq!(path.template(false), "/");
        let url = path.url(&Url::parse("http://h").unwrap(), false);
        assert_eq!(url.as_str(), "http://h/");
    }

    #[test]
    fn a_refused_part_is_named_and_leaves_the_path_as_it_was() {
        let mut path = Path::default();
        path.fixed("api").unwrap();
        for bad in ["", ".", ".."] {
            let err = path.supplied(bad).unwrap_err();
            assert!(err.to_string().contains("path segment"), "{bad:?}: {err}");
        }
        assert_eq!(path.template(false), "/api");
        assert_eq!(
            path.url(&Url::parse("http://h").unwrap(), false).path(),
            "/api"
        );
    }

    #[test]
    fn parts_beyond_the_64th_are_shown_as_supplied() {
        let mut path = Path::default();
        for _ in 0..66 {
            path.fixed("f").unwrap();
        }
        let template = path.template(false);
        assert!(template.starts_with(&"/f".repeat(64)), "{template}");
        assert!(template.ends_with("/{}/{}"), "{template}");
    }
}

//! A desired-state file as written: its text (JSON, or TOML with the `toml` feature; one file, or every such
//! file of a directory merged) read into one JSON value, remembering where each value was written, so that
//! every problem found later names its file, line and column.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use serde::Serialize;
use serde_json::{Map, Value};

/// Where a value was written: the file (when read from one), line and column (both from 1; columns count
/// characters).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Place {
    /// The file, as given (`None` for text that came from no file).
    pub file: Option<String>,
    /// The line, from 1.
    pub line: usize,
    /// The column, from 1, in characters.
    pub column: usize,
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.file {
            Some(file) => write!(f, "{file}:{}:{}", self.line, self.column),
            None => write!(f, "line {}, column {}", self.line, self.column),
        }
    }
}

/// One thing wrong with a desired-state file: where, what (a JSON pointer into the file, `/groups/2/members/0`)
/// and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Problem {
    /// Where it was written, when known.
    pub place: Option<Place>,
    /// The value concerned, as a JSON pointer (`""` for the whole file).
    pub pointer: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(place) = &self.place {
            write!(f, "{place}: ")?;
        }
        if !self.pointer.is_empty() {
            write!(f, "{}: ", self.pointer)?;
        }
        f.write_str(&self.message)
    }
}

/// The text formats a desired-state file may be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FileFormat {
    /// JSON (strict: no comments, no trailing commas, no key twice).
    Json,
    /// TOML (with the crate's `toml` feature).
    Toml,
}

impl FileFormat {
    /// The format a file's extension names: `.json`, `.toml`; `None` for anything else.
    pub fn of_path(path: &Path) -> Option<FileFormat> {
        match path.extension()?.to_str()? {
            "json" => Some(FileFormat::Json),
            "toml" => Some(FileFormat::Toml),
            _ => None,
        }
    }
}

/// A file's content as one JSON value, and where each of its values was written.
#[derive(Debug, Clone)]
pub(crate) struct Source {
    pub(crate) value: Value,
    /// JSON pointer → where that value (for an object's member: its key) starts.
    places: HashMap<String, Place>,
    /// The text(s) it was read from, for the SHA-256 a saved plan names.
    pub(crate) texts: Vec<String>,
}

impl Source {
    /// Reads `text` in `format`; `file` names it in every place.
    pub(crate) fn parse(
        text: &str,
        format: FileFormat,
        file: Option<&str>,
    ) -> Result<Source, Vec<Problem>> {
        let lines = Lines::new(text, file);
        let mut source = Source {
            value: Value::Null,
            places: HashMap::new(),
            texts: vec![text.to_string()],
        };
        source.value = match format {
            FileFormat::Json => json::read(text, &lines, &mut source.places)?,
            FileFormat::Toml => toml_text::read(text, &lines, &mut source.places)?,
        };
        Ok(source)
    }

    /// Where the value at `pointer` was written, or the nearest enclosing value whose place is known.
    pub(crate) fn place(&self, pointer: &str) -> Option<Place> {
        place_in(&self.places, pointer)
    }

    /// A problem with the value at `pointer`.
    pub(crate) fn problem(&self, pointer: &str, message: impl Into<String>) -> Problem {
        Problem {
            place: self.place(pointer),
            pointer: pointer.to_string(),
            message: message.into(),
        }
    }

    /// Several files as one: their `connections` and `people` merged (a name defined twice is a problem
    /// naming both places), their `protected` and `groups` lists joined in the order given, any other key
    /// allowed in one file only.
    pub(crate) fn merge(sources: Vec<Source>) -> Result<Source, Vec<Problem>> {
        let mut merged = Source {
            value: Value::Object(Map::new()),
            places: HashMap::new(),
            texts: Vec::new(),
        };
        let mut problems = Vec::new();
        for source in sources {
            let Value::Object(top) = &source.value else {
                problems.push(source.problem("", "a desired-state file is an object"));
                continue;
            };
            for (key, value) in top {
                merged.merge_key(&source, key, value, &mut problems);
            }
            merged.texts.extend(source.texts);
        }
        if problems.is_empty() {
            Ok(merged)
        } else {
            Err(problems)
        }
    }

    fn merge_key(&mut self, from: &Source, key: &str, value: &Value, problems: &mut Vec<Problem>) {
        let top_pointer = format!("/{}", escape(key));
        let Source {
            value: into,
            places,
            ..
        } = self;
        let Value::Object(into) = into else {
            return;
        };
        match (key, value, into.get_mut(key)) {
            ("connections" | "people", Value::Object(entries), Some(Value::Object(existing))) => {
                for (name, entry) in entries {
                    let pointer = format!("{top_pointer}/{}", escape(name));
                    if existing.contains_key(name) {
                        problems.push(duplicate(from, &pointer, place_in(places, &pointer)));
                        continue;
                    }
                    existing.insert(name.clone(), entry.clone());
                    copy_places(places, from, &pointer, &pointer);
                }
            }
            ("protected" | "groups", Value::Array(items), Some(Value::Array(existing))) => {
                for (i, item) in items.iter().enumerate() {
                    let to = format!("{top_pointer}/{}", existing.len());
                    existing.push(item.clone());
                    copy_places(places, from, &format!("{top_pointer}/{i}"), &to);
                }
            }
            ("$schema", _, Some(_)) => {}
            (_, _, Some(_)) => {
                problems.push(duplicate(
                    from,
                    &top_pointer,
                    place_in(places, &top_pointer),
                ));
            }
            (_, _, None) => {
                into.insert(key.to_string(), value.clone());
                copy_places(places, from, &top_pointer, &top_pointer);
            }
        }
    }
}

/// Where the value at `pointer` was written, or the nearest enclosing value whose place is known.
fn place_in(places: &HashMap<String, Place>, pointer: &str) -> Option<Place> {
    let mut pointer = pointer;
    loop {
        if let Some(place) = places.get(pointer) {
            return Some(place.clone());
        }
        pointer = &pointer[..pointer.rfind('/')?];
    }
}

/// Copies the places of `from`'s value at `pointer` and below, renamed to start with `to`.
fn copy_places(places: &mut HashMap<String, Place>, from: &Source, pointer: &str, to: &str) {
    for (p, place) in &from.places {
        let rest = match p.strip_prefix(pointer) {
            Some(rest) if rest.is_empty() || rest.starts_with('/') => rest,
            _ => continue,
        };
        places.insert(format!("{to}{rest}"), place.clone());
    }
}

fn duplicate(from: &Source, pointer: &str, first: Option<Place>) -> Problem {
    let first = first.map_or_else(|| "another file".to_string(), |p| p.to_string());
    from.problem(pointer, format!("defined twice: also at {first}"))
}

/// `jsonc_parser`'s options for strict JSON: every JSONC leniency (comments, trailing commas, single quotes,
/// hexadecimal numbers, ...) off.
pub(crate) fn strict_json() -> jsonc_parser::ParseOptions {
    jsonc_parser::ParseOptions {
        allow_comments: false,
        allow_loose_object_property_names: false,
        allow_trailing_commas: false,
        allow_missing_commas: false,
        allow_single_quoted_strings: false,
        allow_hexadecimal_numbers: false,
        allow_unary_plus_numbers: false,
        ..jsonc_parser::ParseOptions::default()
    }
}

/// One segment of a JSON pointer (RFC 6901: `~` and `/` escaped).
pub(crate) fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

/// Byte offsets to lines and columns. Places are asked for in the order of the text, mostly: the last
/// answer is kept, so the next column on the same line counts only the characters in between (a file on
/// one line, minified JSON, stays linear instead of counting from the line's start every time).
struct Lines<'t> {
    text: &'t str,
    starts: Vec<usize>,
    file: Option<String>,
    /// The last place given: (byte offset, line, column).
    last: std::cell::Cell<(usize, usize, usize)>,
}

impl<'t> Lines<'t> {
    fn new(text: &'t str, file: Option<&str>) -> Self {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Lines {
            text,
            starts,
            file: file.map(str::to_string),
            last: std::cell::Cell::new((0, 1, 1)),
        }
    }

    fn place(&self, offset: usize) -> Place {
        let offset = offset.min(self.text.len());
        let line = self.starts.partition_point(|&s| s <= offset);
        let start = self.starts[line - 1];
        let (last_offset, last_line, last_column) = self.last.get();
        let (from, column) = if last_line == line && (start..=offset).contains(&last_offset) {
            (last_offset, last_column)
        } else {
            (start, 1)
        };
        let column = column + self.text.get(from..offset).map_or(0, |s| s.chars().count());
        self.last.set((offset, line, column));
        self.at(line, column)
    }

    fn at(&self, line: usize, column: usize) -> Place {
        Place {
            file: self.file.clone(),
            line,
            column,
        }
    }
}

mod json {
    use super::*;
    use jsonc_parser::ast;

    /// Strict JSON: `serde_json` decides what is JSON (the same parser every other read of the file uses),
    /// then `jsonc_parser` (with its leniencies off) gives every value's place. Every key written twice in
    /// one object is a problem.
    pub(super) fn read(
        text: &str,
        lines: &Lines<'_>,
        places: &mut HashMap<String, Place>,
    ) -> Result<Value, Vec<Problem>> {
        if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(text) {
            return Err(vec![Problem {
                place: Some(lines.at(e.line(), e.column())),
                pointer: String::new(),
                message: format!("not valid JSON: {}", strip_position(&e.to_string())),
            }]);
        }
        let options = strict_json();
        let parsed =
            jsonc_parser::parse_to_ast(text, &jsonc_parser::CollectOptions::default(), &options)
                .map_err(|e| {
                    vec![Problem {
                        place: Some(lines.place(e.range().start)),
                        pointer: String::new(),
                        message: format!("not valid JSON: {}", e.kind()),
                    }]
                })?;
        let mut problems = Vec::new();
        let value = match &parsed.value {
            Some(root) => walk(root, "", lines, places, &mut problems),
            None => Value::Null,
        };
        if problems.is_empty() {
            Ok(value)
        } else {
            Err(problems)
        }
    }

    fn walk(
        node: &ast::Value<'_>,
        pointer: &str,
        lines: &Lines<'_>,
        places: &mut HashMap<String, Place>,
        problems: &mut Vec<Problem>,
    ) -> Value {
        use jsonc_parser::common::Ranged;
        places
            .entry(pointer.to_string())
            .or_insert_with(|| lines.place(node.range().start));
        match node {
            ast::Value::StringLit(s) => Value::String(s.value.to_string()),
            ast::Value::NumberLit(n) => serde_json::from_str(n.value).unwrap_or(Value::Null),
            ast::Value::BooleanLit(b) => Value::Bool(b.value),
            ast::Value::NullKeyword(_) => Value::Null,
            ast::Value::Array(array) => Value::Array(
                array
                    .elements
                    .iter()
                    .enumerate()
                    .map(|(i, e)| walk(e, &format!("{pointer}/{i}"), lines, places, problems))
                    .collect(),
            ),
            ast::Value::Object(object) => {
                let mut map = Map::new();
                for prop in &object.properties {
                    let name = prop.name.as_str();
                    let child = format!("{pointer}/{}", escape(name));
                    let key_place = lines.place(prop.range.start);
                    if map.contains_key(name) {
                        let first = places.get(&child).map(|p| format!(" (first at {p})"));
                        problems.push(Problem {
                            place: Some(key_place),
                            pointer: child,
                            message: format!(
                                "key `{name}` is written twice in one object{}",
                                first.unwrap_or_default()
                            ),
                        });
                        continue;
                    }
                    places.insert(child.clone(), key_place);
                    let value = walk(&prop.value, &child, lines, places, problems);
                    map.insert(name.to_string(), value);
                }
                Value::Object(map)
            }
        }
    }

    /// serde_json's message without its own " at line L column C" (the place is given separately).
    fn strip_position(message: &str) -> &str {
        message
            .rfind(" at line ")
            .map_or(message, |i| &message[..i])
    }
}

#[cfg(feature = "toml")]
mod toml_text {
    use super::*;
    use toml::Spanned;
    use toml::de::{DeTable, DeValue};

    /// TOML, with every value's place. Dates and times become strings as written.
    pub(super) fn read(
        text: &str,
        lines: &Lines<'_>,
        places: &mut HashMap<String, Place>,
    ) -> Result<Value, Vec<Problem>> {
        let root = DeTable::parse(text).map_err(|e| {
            vec![Problem {
                place: e.span().map(|s| lines.place(s.start)),
                pointer: String::new(),
                message: format!("not valid TOML: {}", e.message()),
            }]
        })?;
        places.insert(String::new(), lines.place(root.span().start));
        Ok(table(root.get_ref(), "", lines, places))
    }

    fn table(
        table: &DeTable<'_>,
        pointer: &str,
        lines: &Lines<'_>,
        places: &mut HashMap<String, Place>,
    ) -> Value {
        let mut map = Map::new();
        for (key, value) in table.iter() {
            let child = format!("{pointer}/{}", escape(key.get_ref()));
            places.insert(child.clone(), lines.place(key.span().start));
            map.insert(
                key.get_ref().to_string(),
                self::value(value, &child, lines, places),
            );
        }
        Value::Object(map)
    }

    fn value(
        value: &Spanned<DeValue<'_>>,
        pointer: &str,
        lines: &Lines<'_>,
        places: &mut HashMap<String, Place>,
    ) -> Value {
        places
            .entry(pointer.to_string())
            .or_insert_with(|| lines.place(value.span().start));
        match value.get_ref() {
            DeValue::String(s) => Value::String(s.to_string()),
            DeValue::Integer(i) => {
                let digits = i.as_str().replace('_', "");
                i64::from_str_radix(&digits, i.radix())
                    .map(Value::from)
                    .or_else(|_| u64::from_str_radix(&digits, i.radix()).map(Value::from))
                    .unwrap_or(Value::Null)
            }
            DeValue::Float(f) => f
                .as_str()
                .replace('_', "")
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map_or(Value::Null, Value::Number),
            DeValue::Boolean(b) => Value::Bool(*b),
            DeValue::Datetime(d) => Value::String(d.to_string()),
            DeValue::Array(items) => Value::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| self::value(item, &format!("{pointer}/{i}"), lines, places))
                    .collect(),
            ),
            DeValue::Table(t) => table(t, pointer, lines, places),
        }
    }
}

#[cfg(not(feature = "toml"))]
mod toml_text {
    use super::*;

    pub(super) fn read(
        _text: &str,
        lines: &Lines<'_>,
        _places: &mut HashMap<String, Place>,
    ) -> Result<Value, Vec<Problem>> {
        Err(vec![Problem {
            place: Some(lines.at(1, 1)),
            pointer: String::new(),
            message: "a TOML file, but this build reads JSON only (build with the `toml` feature)"
                .to_string(),
        }])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_count_characters_on_long_lines_and_after_going_back() {
        let text = "{\"a\": \"déjà vu\", \"b\": [1, 2], \"c\": {\"d\": \"ü\"}}\n{\"e\": 1}";
        let lines = Lines::new(text, Some("f.json"));
        let column = |needle: &str| text[..text.find(needle).unwrap()].chars().count() + 1;
        // In order (the cached way), then backwards (counted from the line's start), then the next line.
        for key in ["\"b\"", "\"c\"", "\"d\"", "\"a\"", "\"c\""] {
            let offset = text.find(key).unwrap();
            let place = lines.place(offset);
            assert_eq!((place.line, place.column), (1, column(key)), "{key}");
        }
        let second = lines.place(text.find("\"e\"").unwrap());
        assert_eq!((second.line, second.column), (2, 2));
        assert_eq!(second.to_string(), "f.json:2:2");
    }
}

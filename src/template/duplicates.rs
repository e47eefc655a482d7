//! SAM's lenient reading of repeated map keys: PyYAML (and Python's json) keep the last value
//! at the first key's place. Templates are read into a `Value` that does the same while noting
//! every repeat, and the repeats are then located (line numbers) and described for a warning.

use std::cell::RefCell;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, Visitor};
use serde_yaml::value::{Tag, TaggedValue};
use serde_yaml::{Mapping, Value};
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// One step into a document: a map key or a list position.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
}

/// A key given more than once in one map: where, and the value that was dropped.
#[derive(Debug, Clone)]
struct Repeat {
    path: Vec<Step>,
    key: String,
    dropped: Value,
}

/// Reads a document with any serde deserializer (YAML or JSON) into a `Value`, keeping the last
/// of repeated keys at the first one's place; returns the value and a warning per repeat.
pub fn read_lenient<'de, D: Deserializer<'de>>(
    deserializer: D,
    text: &str,
    file: &str,
) -> Result<(Value, Vec<String>), D::Error> {
    let repeats = RefCell::new(Vec::new());
    let value = ValueSeed {
        path: Vec::new(),
        repeats: &repeats,
    }
    .deserialize(deserializer)?;
    let repeats = repeats.into_inner();
    let warnings = if repeats.is_empty() {
        Vec::new()
    } else {
        let lines = key_lines(text);
        let mut described: Vec<(usize, String)> = repeats
            .iter()
            .map(|repeat| describe(repeat, &lines, file))
            .collect();
        described.sort_by_key(|(line, _)| *line);
        described.into_iter().map(|(_, text)| text).collect()
    };
    Ok((value, warnings))
}

struct ValueSeed<'a> {
    path: Vec<Step>,
    repeats: &'a RefCell<Vec<Repeat>>,
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML or JSON value")
    }

    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }

    fn visit_i64<E>(self, i: i64) -> Result<Value, E> {
        Ok(Value::Number(i.into()))
    }

    fn visit_u64<E>(self, u: u64) -> Result<Value, E> {
        Ok(Value::Number(u.into()))
    }

    fn visit_f64<E>(self, f: f64) -> Result<Value, E> {
        Ok(Value::Number(f.into()))
    }

    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::String(s.to_owned()))
    }

    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(Value::String(s))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        self.deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        loop {
            let mut path = self.path.clone();
            path.push(Step::Index(items.len()));
            let seed = ValueSeed {
                path,
                repeats: self.repeats,
            };
            match seq.next_element_seed(seed)? {
                Some(item) => items.push(item),
                None => break,
            }
        }
        Ok(Value::Sequence(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut mapping = Mapping::new();
        loop {
            let key_seed = ValueSeed {
                path: self.path.clone(),
                repeats: self.repeats,
            };
            let Some(key) = map.next_key_seed(key_seed)? else {
                break;
            };
            let mut path = self.path.clone();
            path.push(Step::Key(key_text(&key)));
            let value = map.next_value_seed(ValueSeed {
                path,
                repeats: self.repeats,
            })?;
            // IndexMap's insert keeps the first key's place, as a Python dict does.
            if let Some(dropped) = mapping.insert(key.clone(), value) {
                self.repeats.borrow_mut().push(Repeat {
                    path: self.path.clone(),
                    key: key_text(&key),
                    dropped,
                });
            }
        }
        Ok(Value::Mapping(mapping))
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Value, A::Error> {
        use serde::de::VariantAccess;
        let (tag, contents): (String, _) = data.variant()?;
        let value = contents.newtype_variant_seed(self)?;
        Ok(Value::Tagged(Box::new(TaggedValue {
            tag: Tag::new(tag),
            value,
        })))
    }
}

fn key_text(key: &Value) -> String {
    match key {
        Value::String(s) => s.clone(),
        other => super::value_text(other),
    }
}

/// Every map key of the document with its path and 1-based line, in document order.
fn key_lines(text: &str) -> Vec<(Vec<Step>, String, usize)> {
    let mut recorder = KeyRecorder::default();
    // A document serde read but this parser cannot is reported without line numbers.
    let _ = Parser::new_from_str(text).load(&mut recorder, false);
    recorder.keys
}

#[derive(Debug)]
enum Frame {
    Map { key: Option<String> },
    Seq { next: usize },
}

#[derive(Default)]
struct KeyRecorder {
    frames: Vec<Frame>,
    keys: Vec<(Vec<Step>, String, usize)>,
}

impl KeyRecorder {
    fn path(&self) -> Vec<Step> {
        let mut path = Vec::new();
        for frame in &self.frames {
            match frame {
                Frame::Map { key: Some(key) } => path.push(Step::Key(key.clone())),
                Frame::Seq { next } => path.push(Step::Index(next.saturating_sub(1))),
                Frame::Map { key: None } => {}
            }
        }
        path
    }

    /// A node (scalar, alias, or collection start) begins: in a list it is the next item; in
    /// a map waiting for a key it is that key, recorded with the map's path and its line.
    fn node(&mut self, scalar: Option<&str>, mark: Marker) {
        let map_path = self.path();
        match self.frames.last_mut() {
            Some(Frame::Seq { next }) => *next += 1,
            Some(Frame::Map { key }) if key.is_none() => {
                let text = scalar.unwrap_or("?").to_string();
                *key = Some(text.clone());
                self.keys.push((map_path, text, mark.line()));
            }
            _ => {}
        }
    }

    /// A value node ended: the map (if that is where it was) waits for its next key.
    fn value_done(&mut self) {
        if let Some(Frame::Map { key }) = self.frames.last_mut() {
            *key = None;
        }
    }

    fn is_key_position(&self) -> bool {
        matches!(self.frames.last(), Some(Frame::Map { key: None }))
    }
}

impl MarkedEventReceiver for KeyRecorder {
    fn on_event(&mut self, event: Event, mark: Marker) {
        match event {
            Event::Scalar(text, ..) => {
                let was_key = self.is_key_position();
                self.node(Some(&text), mark);
                if !was_key {
                    self.value_done();
                }
            }
            Event::Alias(_) => {
                let was_key = self.is_key_position();
                self.node(None, mark);
                if !was_key {
                    self.value_done();
                }
            }
            Event::MappingStart(..) => {
                self.node(None, mark);
                self.frames.push(Frame::Map { key: None });
            }
            Event::SequenceStart(..) => {
                self.node(None, mark);
                self.frames.push(Frame::Seq { next: 0 });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.frames.pop();
                // A collection used as a key leaves the key slot "?" filled: a value follows.
                if !matches!(self.frames.last(), Some(Frame::Map { key: Some(k) }) if k == "?") {
                    self.value_done();
                }
            }
            _ => {}
        }
    }
}

/// The warning for one repeat, with the line it first appears on (for ordering).
fn describe(repeat: &Repeat, lines: &[(Vec<Step>, String, usize)], file: &str) -> (usize, String) {
    let found: Vec<usize> = lines
        .iter()
        .filter(|(path, key, _)| *path == repeat.path && *key == repeat.key)
        .map(|(_, _, line)| *line)
        .collect();
    let place = if repeat.path.is_empty() {
        "at the top level".to_string()
    } else {
        format!("under {}", show_path(&repeat.path))
    };
    let (kept, dropped_at) = match found.as_slice() {
        [.., before, last] => (format!("line {last}"), format!("line {before}")),
        _ => ("the last one".to_string(), "an earlier one".to_string()),
    };
    let lines_text = if found.len() >= 2 {
        let shown: Vec<String> = found.iter().map(ToString::to_string).collect();
        format!(" (lines {})", shown.join(" and "))
    } else {
        String::new()
    };
    let fix = match repeat.dropped {
        Value::Mapping(_) => format!("Merge them into one '{}:' entry.", repeat.key),
        _ => format!("Keep only one '{}:'.", repeat.key),
    };
    let text = format!(
        "{file}: key '{key}' appears more than once {place}{lines_text}. sam build (PyYAML) keeps only the last one, so samrs builds with the '{key}' at {kept} and ignores the one at {dropped_at}, dropping {what}. {fix}",
        key = repeat.key,
        what = dropped_summary(&repeat.dropped),
    );
    (found.first().copied().unwrap_or(usize::MAX), text)
}

fn show_path(path: &[Step]) -> String {
    let mut text = String::new();
    for step in path {
        match step {
            Step::Key(k) => {
                if !text.is_empty() {
                    text.push('.');
                }
                text.push_str(k);
            }
            Step::Index(i) => text.push_str(&format!("[{i}]")),
        }
    }
    text
}

/// How many dropped keys a warning lists.
const SHOWN: usize = 8;

/// What the dropped value held: its keys two levels deep, or the value itself.
fn dropped_summary(value: &Value) -> String {
    match value {
        Value::Mapping(map) if map.is_empty() => "an empty map".into(),
        Value::Mapping(map) => {
            let mut names = Vec::new();
            for (key, inner) in map {
                let key = key_text(key);
                match inner {
                    Value::Mapping(inner) if !inner.is_empty() => {
                        names.extend(inner.keys().map(|k| format!("{key}.{}", key_text(k))));
                    }
                    _ => names.push(key),
                }
            }
            let more = names.len().saturating_sub(SHOWN);
            names.truncate(SHOWN);
            let mut text = names.join(", ");
            if more > 0 {
                text.push_str(&format!(" and {more} more"));
            }
            text
        }
        Value::Sequence(items) => format!("a list of {} item(s)", items.len()),
        other => format!("the value '{}'", super::value_text(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_yaml(text: &str) -> (Value, Vec<String>) {
        read_lenient(serde_yaml::Deserializer::from_str(text), text, "t.yaml").expect("reads")
    }

    #[test]
    fn the_last_repeat_wins_at_the_first_place_and_is_reported_with_both_lines() {
        let text = "Globals:\n  Api:\n    Cors: '*'\n  Function:\n    Timeout: 3\nResources:\n  F: {Type: X}\nGlobals:\n  Function:\n    Timeout: 9\n";
        let (value, warnings) = read_yaml(text);
        let keys: Vec<&str> = value
            .as_mapping()
            .expect("map")
            .keys()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(keys, ["Globals", "Resources"]);
        assert_eq!(value["Globals"]["Function"]["Timeout"], Value::from(9));
        assert!(value["Globals"].get("Api").is_none());
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        let warning = &warnings[0];
        assert!(warning.contains("key 'Globals'"), "{warning}");
        assert!(warning.contains("lines 1 and 8"), "{warning}");
        assert!(warning.contains("at line 8"), "{warning}");
        assert!(warning.contains("Api.Cors, Function.Timeout"), "{warning}");
        assert!(warning.contains("t.yaml"), "{warning}");
    }

    #[test]
    fn nested_repeats_name_their_map_and_tags_keep_their_form() {
        let text = "Resources:\n  F:\n    Properties:\n      Runtime: provided.al2\n      Layers: [!Ref L]\n      Runtime: provided.al2023\n";
        let (value, warnings) = read_yaml(text);
        let properties = &value["Resources"]["F"]["Properties"];
        assert_eq!(properties["Runtime"], Value::from("provided.al2023"));
        assert!(matches!(properties["Layers"][0], Value::Tagged(_)));
        assert_eq!(warnings.len(), 1);
        assert!(
            warnings[0].contains("under Resources.F.Properties"),
            "{}",
            warnings[0]
        );
        assert!(warnings[0].contains("lines 4 and 6"), "{}", warnings[0]);
        assert!(
            warnings[0].contains("the value 'provided.al2'"),
            "{}",
            warnings[0]
        );
    }

    #[test]
    fn repeats_inside_lists_and_json_are_found() {
        let text = "{\n \"A\": [ {\"k\": 1,\n  \"k\": 2} ],\n \"A2\": 1\n}\n";
        let mut de = serde_json::Deserializer::from_str(text);
        let (value, warnings) = read_lenient(&mut de, text, "t.json").expect("reads");
        assert_eq!(value["A"][0]["k"], Value::from(2));
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("under A[0]"), "{}", warnings[0]);
        assert!(warnings[0].contains("lines 2 and 3"), "{}", warnings[0]);
    }

    #[test]
    fn documents_without_repeats_give_no_warning() {
        let (_, warnings) = read_yaml("a: 1\nb: {a: 1}\nc: [{a: 1}, {a: 2}]\n");
        assert!(warnings.is_empty(), "{warnings:?}");
    }
}

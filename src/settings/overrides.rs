//! `--parameter-overrides` as SAM reads it: `Key=Value` and `ParameterKey=K,ParameterValue=V`
//! words, and `file://` references to YAML or TOML files (with `$include`), into name → value.

use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde_yaml::Value;

use crate::template::intrinsics::scalar_text;
use crate::template::load::from_toml;

const OVERRIDES_EXAMPLES: &str = "It must look something like 'ParameterKey=KeyPairName,ParameterValue=MyKey ParameterKey=InstanceType,ParameterValue=t1.micro', 'KeyPairName=MyKey InstanceType=t1.micro', or 'file://MyParams.yaml'";

#[cfg(test)]
fn parse_parameter_overrides(
    items: &[String],
    base_dir: &Path,
) -> Result<IndexMap<String, String>, String> {
    parse_parameter_overrides_with_files(items, base_dir).map(|(parameters, _)| parameters)
}

/// Parses `--parameter-overrides` values (each CLI word is one item) into name → value, and
/// returns every parameter file read for them (`--watch` watches those).
/// Errors use SAM's wording: "<item> is not a valid format. It must look something like 'ParameterKey=KeyPairName,ParameterValue=MyKey ParameterKey=InstanceType,ParameterValue=t1.micro', 'KeyPairName=MyKey InstanceType=t1.micro', or 'file://MyParams.yaml'".
pub(super) fn parse_parameter_overrides_with_files(
    items: &[String],
    base_dir: &Path,
) -> Result<(IndexMap<String, String>, Vec<PathBuf>), String> {
    let values: Vec<Value> = items.iter().cloned().map(Value::String).collect();
    let mut parser = OverridesParser {
        seen: Vec::new(),
        read: Vec::new(),
    };
    let parameters = parser.convert(&Value::Sequence(values), base_dir)?;
    Ok((parameters, parser.read))
}

struct OverridesParser {
    seen: Vec<PathBuf>,
    read: Vec<PathBuf>,
}

impl OverridesParser {
    /// `relative_to` is the folder relative `file://` paths start from (the cwd, or the including file's folder).
    fn convert(
        &mut self,
        values: &Value,
        relative_to: &Path,
    ) -> Result<IndexMap<String, String>, String> {
        let mut parameters = IndexMap::new();
        let is_empty = match values {
            Value::Null => true,
            Value::String(s) => s.is_empty(),
            Value::Mapping(m) => m.is_empty(),
            Value::Sequence(items) => {
                items.is_empty() || (items.len() == 1 && items[0].as_str() == Some(""))
            }
            _ => false,
        };
        if is_empty {
            return Ok(parameters);
        }
        let mut flat = Vec::new();
        flatten(values, &mut flat);
        for value in flat {
            match value {
                Value::String(text) => match text.strip_prefix("file://") {
                    Some(path) => parameters.extend(self.convert_file(text, path, relative_to)?),
                    None => parameters.extend(parse_pairs(text).ok_or_else(|| {
                        format!("{text} is not a valid format. {OVERRIDES_EXAMPLES}")
                    })?),
                },
                Value::Mapping(map) => {
                    for (key, value) in map {
                        let key = python_str(key);
                        match value {
                            Value::Null => {
                                parameters.insert(key, String::new());
                            }
                            _ if key == "$include" => {
                                if !matches!(value, Value::String(_) | Value::Sequence(_)) {
                                    return Err(format!(
                                        "$include must be a string or list of strings, got {}",
                                        python_type(value)
                                    ));
                                }
                                parameters.extend(self.convert(value, relative_to)?);
                            }
                            Value::Sequence(items) => {
                                let joined = items
                                    .iter()
                                    .filter(|i| !i.is_null() && i.as_str() != Some(""))
                                    .map(|i| python_str(i).trim().to_string())
                                    .collect::<Vec<_>>()
                                    .join(",");
                                parameters.insert(key, joined);
                            }
                            _ => {
                                parameters.insert(key, python_str(value));
                            }
                        }
                    }
                }
                Value::Null => {}
                other => {
                    return Err(format!(
                        "{} is invalid in a way the code doesn't expect",
                        python_str(other)
                    ));
                }
            }
        }
        Ok(parameters
            .into_iter()
            .map(|(k, v)| (unquote(&k), unquote(&v)))
            .collect())
    }

    fn convert_file(
        &mut self,
        item: &str,
        path: &str,
        relative_to: &Path,
    ) -> Result<IndexMap<String, String>, String> {
        let path = relative_to.join(path);
        let path = std::fs::canonicalize(&path).unwrap_or(path);
        if !path.is_file() {
            return Err(format!("{item} was not found or is a directory"));
        }
        let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        if !matches!(extension, "toml" | "yaml" | "yml") {
            return Err(format!("{item} uses an unsupported extension"));
        }
        if self.seen.contains(&path) {
            return Err(format!(
                "Infinite recursion detected in file references: {}",
                path.display()
            ));
        }
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let content = if extension == "toml" {
            text.parse::<toml::Table>()
                .map(|t| from_toml(&toml::Value::Table(t)))
                .map_err(|e| format!("Failed to parse {item}: {e}"))?
        } else {
            serde_yaml::from_str::<Value>(&text)
                .map_err(|e| format!("Failed to parse {item}: {e}"))?
        };
        let folder = path.parent().unwrap_or(relative_to).to_path_buf();
        if !self.read.contains(&path) {
            self.read.push(path.clone());
        }
        self.seen.push(path);
        let result = self.convert(&content, &folder);
        self.seen.pop();
        result
    }
}

fn flatten<'v>(value: &'v Value, out: &mut Vec<&'v Value>) {
    match value {
        Value::Sequence(items) => items.iter().for_each(|i| flatten(i, out)),
        other => out.push(other),
    }
}

/// How Python's `str()` shows a value read from a parameters file.
fn python_str(value: &Value) -> String {
    match value {
        Value::Bool(true) => "True".to_string(),
        Value::Bool(false) => "False".to_string(),
        Value::Null => "None".to_string(),
        other => {
            scalar_text(other).unwrap_or_else(|| serde_json::to_string(other).unwrap_or_default())
        }
    }
}

fn python_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Sequence(_) => "list",
        Value::Mapping(_) | Value::Tagged(_) => "dict",
    }
}

/// Removes one pair of wrapping quotes, then unescapes `\ `, `\"` and `\'`.
fn unquote(text: &str) -> String {
    let bytes = text.as_bytes();
    let inner = match (bytes.first(), bytes.last()) {
        (Some(&first), Some(&last)) if first == last && (first == b'"' || first == b'\'') => {
            text.get(1..text.len().saturating_sub(1)).unwrap_or("")
        }
        _ => text,
    };
    inner
        .replace("\\ ", " ")
        .replace("\\\"", "\"")
        .replace("\\'", "'")
}

/// Finds every `ParameterKey=K,ParameterValue=V` pair in one item, or else every ` K=V` pair
/// (the item is stripped and a space put in front); `None` when neither form appears.
fn parse_pairs(item: &str) -> Option<Vec<(String, String)>> {
    let text: Vec<char> = format!(" {}", item.trim()).chars().collect();
    [pair_long_form as PairMatcher, pair_short_form]
        .into_iter()
        .map(|matcher| find_all(&text, matcher))
        .find(|pairs| !pairs.is_empty())
}

type PairMatcher = fn(&[char], usize) -> Option<(String, String, usize)>;

fn find_all(text: &[char], matcher: PairMatcher) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    let mut at = 0;
    while at < text.len() {
        match matcher(text, at) {
            Some((key, value, end)) => {
                pairs.push((key, value));
                at = end;
            }
            None => at += 1,
        }
    }
    pairs
}

fn literal(text: &[char], at: usize, expected: &str) -> Option<usize> {
    let mut end = at;
    for c in expected.chars() {
        if text.get(end) != Some(&c) {
            return None;
        }
        end += 1;
    }
    Some(end)
}

/// A key (letters, digits, quotes) starting at `at` and directly followed by `terminator`.
fn key_until(text: &[char], at: usize, terminator: char) -> Option<(String, usize)> {
    let length = text
        .get(at..)?
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric() || **c == '"' || **c == '\'')
        .count();
    let end = at + length;
    (length > 0 && text.get(end) == Some(&terminator))
        .then(|| (text[at..end].iter().collect(), end + 1))
}

fn pair_long_form(text: &[char], at: usize) -> Option<(String, String, usize)> {
    let at = literal(text, at, "ParameterKey=")?;
    let (key, at) = key_until(text, at, ',')?;
    let at = literal(text, at, "ParameterValue=")?;
    let end = value_end(text, at)?;
    Some((key, text[at..end].iter().collect(), end))
}

fn pair_short_form(text: &[char], at: usize) -> Option<(String, String, usize)> {
    let at = literal(text, at, " ")?;
    let (key, at) = key_until(text, at, '=')?;
    let end = value_end(text, at)?;
    Some((key, text[at..end].iter().collect(), end))
}

/// End of a value starting at `at`: a "double" or 'single' quoted string (backslash escapes allowed),
/// or else a run of characters other than space, `"` and backslash, plus backslash escapes.
fn value_end(text: &[char], at: usize) -> Option<usize> {
    let escape_at = |i: usize| text[i] == '\\' && text.get(i + 1).is_some_and(|c| *c != '\n');
    let first = *text.get(at)?;
    if first == '"' || first == '\'' {
        let mut i = at + 1;
        while i < text.len() {
            if text[i] == first {
                return Some(i + 1);
            }
            if escape_at(i) {
                i += 2;
            } else if text[i] == '\\' {
                break;
            } else {
                i += 1;
            }
        }
        if first == '"' {
            return None;
        }
    }
    let mut i = at;
    while i < text.len() {
        if escape_at(i) {
            i += 2;
        } else if text[i] != ' ' && text[i] != '"' && text[i] != '\\' {
            i += 1;
        } else {
            break;
        }
    }
    (i > at).then_some(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn overrides(items: &[&str]) -> Result<IndexMap<String, String>, String> {
        let items: Vec<String> = items.iter().map(std::string::ToString::to_string).collect();
        parse_parameter_overrides(&items, Path::new("/nonexistent"))
    }

    fn pairs(map: &IndexMap<String, String>) -> Vec<(&str, &str)> {
        map.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
    }

    #[test]
    fn overrides_short_and_long_forms() {
        let parsed = overrides(&["A=1", "B=two", "A=3"]).expect("valid");
        assert_eq!(pairs(&parsed), [("A", "3"), ("B", "two")]);
        let parsed = overrides(&["  Env=prod   Bin=fn2 "]).expect("valid");
        assert_eq!(pairs(&parsed), [("Env", "prod"), ("Bin", "fn2")]);
        let parsed = overrides(&[
            "ParameterKey=KeyPairName,ParameterValue=MyKey ParameterKey=InstanceType,ParameterValue=t1.micro",
        ])
        .expect("valid");
        assert_eq!(
            pairs(&parsed),
            [("KeyPairName", "MyKey"), ("InstanceType", "t1.micro")]
        );
        let parsed = overrides(&["ParameterKey=A,ParameterValue=1 B=2"]).expect("valid");
        assert_eq!(pairs(&parsed), [("A", "1")]);
        let parsed = overrides(&["junk Key=v A='x"]).expect("valid");
        assert_eq!(pairs(&parsed), [("Key", "v"), ("A", "'x")]);
        let parsed = overrides(&["Url=https://x/?a=b,c"]).expect("valid");
        assert_eq!(pairs(&parsed), [("Url", "https://x/?a=b,c")]);
        assert!(overrides(&[]).expect("valid").is_empty());
        assert!(overrides(&[""]).expect("valid").is_empty());
    }

    #[test]
    fn overrides_quotes_and_escapes() {
        let parsed = overrides(&[r#"A="a b" B='c d' C=e\ f D=\"g\" "E"=h"#]).expect("valid");
        assert_eq!(
            pairs(&parsed),
            [
                ("A", "a b"),
                ("B", "c d"),
                ("C", "e f"),
                ("D", "\"g\""),
                ("E", "h")
            ]
        );
        let parsed = overrides(&[r#"A="x \" y""#]).expect("valid");
        assert_eq!(pairs(&parsed), [("A", "x \" y")]);
    }

    #[test]
    fn overrides_bad_format_uses_sams_message() {
        let expected = "garbage is not a valid format. It must look something like 'ParameterKey=KeyPairName,ParameterValue=MyKey ParameterKey=InstanceType,ParameterValue=t1.micro', 'KeyPairName=MyKey InstanceType=t1.micro', or 'file://MyParams.yaml'";
        assert_eq!(overrides(&["garbage"]), Err(expected.to_string()));
        assert!(overrides(&["A=1", "Bad-Key=2"]).is_err());
        assert!(overrides(&["A=\"unterminated"]).is_err());
        assert!(overrides(&["=1"]).is_err());
    }

    #[test]
    fn overrides_from_files() {
        let dir = tempfile::tempdir().expect("temp dir");
        let write = |name: &str, text: &str| {
            std::fs::write(dir.path().join(name), text).expect("write");
        };
        write(
            "p.yaml",
            "Env: prod\nSubnets: [a, ' b', '']\nFlag: true\nEmpty:\n$include: file://more.yml\n",
        );
        write("more.yml", "- Extra=1\n- Env: dev\n");
        write("p.toml", "Count = 3\nNames = [\"x\", \"y\"]\n");
        write("p.json", "{}");
        write("loop.yaml", "$include: file://loop.yaml\n");

        let items = vec!["file://p.yaml".to_string(), "file://p.toml".to_string()];
        let parsed = parse_parameter_overrides(&items, dir.path()).expect("valid");
        assert_eq!(
            pairs(&parsed),
            [
                ("Env", "dev"),
                ("Subnets", "a,b"),
                ("Flag", "True"),
                ("Empty", ""),
                ("Extra", "1"),
                ("Count", "3"),
                ("Names", "x,y"),
            ]
        );
        let fail = |item: &str| parse_parameter_overrides(&[item.to_string()], dir.path());
        assert_eq!(
            fail("file://missing.yaml"),
            Err("file://missing.yaml was not found or is a directory".to_string())
        );
        assert_eq!(
            fail("file://p.json"),
            Err("file://p.json uses an unsupported extension".to_string())
        );
        assert!(
            fail("file://loop.yaml")
                .expect_err("recursion")
                .starts_with("Infinite recursion detected in file references: ")
        );
    }
}

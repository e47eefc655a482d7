//! Reads a template file into plain data: JSON first, then YAML with CloudFormation short tags
//! turned into their long form (`!Ref X` → `{Ref: X}`), merge keys flattened as PyYAML does.

use std::path::Path;

use anyhow::{Result, anyhow};
use serde_yaml::{Mapping, Value};

use super::duplicates::read_lenient;
use super::error::TemplateError;

/// A parsed template and what the user should hear about how it was read.
#[derive(Debug, Clone)]
pub struct Parsed {
    /// The template in long form.
    pub document: Value,
    /// Doubtful input that sam accepts (repeated keys, JSON only YAML reads): built, with a fix.
    pub warnings: Vec<String>,
}

/// Reads and parses the template at `path` into its long-form document.
pub fn load_template_file(path: &Path) -> Result<Parsed, TemplateError> {
    let bytes = std::fs::read(path).map_err(|error| TemplateError::Unreadable {
        path: path.to_path_buf(),
        error,
    })?;
    let text = String::from_utf8(bytes).map_err(|e| TemplateError::NotUtf8 {
        path: path.to_path_buf(),
        offset: e.utf8_error().valid_up_to(),
    })?;
    let json_file = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    read_template_at(&text, path, json_file)
}

/// [`read_template`] for the template at `path`, failing with the template stage's error.
pub fn read_template_at(text: &str, path: &Path, json_file: bool) -> Result<Parsed, TemplateError> {
    read_template(text, &path.display().to_string(), json_file).map_err(|e| TemplateError::Parse {
        path: path.to_path_buf(),
        problem: format!("{e:#}"),
    })
}

/// Parses template text: JSON when it is JSON, otherwise YAML.
pub fn parse_template(text: &str) -> Result<Value> {
    read_template(text, "template", false).map(|parsed| parsed.document)
}

/// Parses template text as sam does: JSON when it is JSON, otherwise YAML; repeated keys keep
/// the last value. `file` names the template in warnings; a `json_file` that only YAML reads
/// gets a warning naming the JSON problem.
pub fn read_template(text: &str, file: &str, json_file: bool) -> Result<Parsed> {
    let mut json = serde_json::Deserializer::from_str(text);
    let json_error = match read_lenient(&mut json, text, file).and_then(|read| {
        json.end()?;
        Ok(read)
    }) {
        Ok((document, warnings)) => return Ok(Parsed { document, warnings }),
        Err(e) => e,
    };
    let (raw, mut warnings) = read_lenient(serde_yaml::Deserializer::from_str(text), text, file)
        .map_err(|e| anyhow!("{e}"))?;
    if json_file {
        warnings.insert(
            0,
            format!(
                "{file} is not valid JSON ({json_error}); sam build then reads it as YAML, and so does samrs. Fix line {} so that tools reading JSON accept it too.",
                json_error.line()
            ),
        );
    }
    Ok(Parsed {
        document: normalize(raw)?,
        warnings,
    })
}

/// A TOML value as plain data (dates become strings); samconfig, build.toml and parameter
/// files are read through this, so everything after reads one kind of value.
pub fn from_toml(value: &toml::Value) -> Value {
    match value {
        toml::Value::String(s) => Value::String(s.clone()),
        toml::Value::Integer(i) => Value::Number((*i).into()),
        toml::Value::Float(f) => Value::Number((*f).into()),
        toml::Value::Boolean(b) => Value::Bool(*b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(items) => Value::Sequence(items.iter().map(from_toml).collect()),
        toml::Value::Table(table) => Value::Mapping(
            table
                .iter()
                .map(|(k, v)| (Value::String(k.clone()), from_toml(v)))
                .collect(),
        ),
    }
}

/// Turns short-form tags into long-form maps and flattens `<<` merge keys, recursively.
fn normalize(value: Value) -> Result<Value> {
    Ok(match value {
        Value::Tagged(tagged) => {
            let name = tagged.tag.to_string();
            let name = name.trim_start_matches('!');
            let inner = normalize(tagged.value)?;
            long_form(name, inner)
        }
        Value::Sequence(items) => {
            Value::Sequence(items.into_iter().map(normalize).collect::<Result<_>>()?)
        }
        Value::Mapping(map) => Value::Mapping(flatten_merges(map)?),
        other => other,
    })
}

fn long_form(tag: &str, inner: Value) -> Value {
    let (key, value) = match tag {
        "Ref" => ("Ref".to_string(), inner),
        "Condition" => ("Condition".to_string(), inner),
        "GetAtt" => {
            let value = match inner {
                Value::String(s) => match s.split_once('.') {
                    Some((resource, attribute)) => Value::Sequence(vec![
                        Value::String(resource.to_string()),
                        Value::String(attribute.to_string()),
                    ]),
                    None => Value::String(s),
                },
                other => other,
            };
            ("Fn::GetAtt".to_string(), value)
        }
        other => (format!("Fn::{other}"), inner),
    };
    let mut map = Mapping::new();
    map.insert(Value::String(key), value);
    Value::Mapping(map)
}

/// PyYAML puts merged keys first (in merge order), then the map's own keys; a key given in both
/// keeps the merged position and takes the map's own value.
fn flatten_merges(map: Mapping) -> Result<Mapping> {
    let mut merged = Mapping::new();
    let mut own = Mapping::new();
    for (key, value) in map {
        if key.as_str() == Some("<<") {
            let sources = match normalize(value)? {
                Value::Mapping(m) => vec![m],
                Value::Sequence(items) => items
                    .into_iter()
                    .map(|item| match item {
                        Value::Mapping(m) => Ok(m),
                        _ => Err(anyhow!(
                            "a merge key (<<) must refer to a map or a list of maps"
                        )),
                    })
                    .collect::<Result<_>>()?,
                _ => {
                    return Err(anyhow!(
                        "a merge key (<<) must refer to a map or a list of maps"
                    ));
                }
            };
            for source in sources {
                for (k, v) in source {
                    if !merged.contains_key(&k) {
                        merged.insert(k, v);
                    }
                }
            }
        } else {
            own.insert(normalize(key)?, normalize(value)?);
        }
    }
    for (key, value) in own {
        merged.insert(key, value);
    }
    Ok(merged)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(text: &str) -> Value {
        parse_template(text).expect("parses")
    }

    #[test]
    fn short_tags_become_long_form() {
        let doc = yaml(
            "a: !Ref X\nb: !GetAtt Fn.Arn\nc: !Sub 'x-${Y}'\nd: !If [C, 1, 2]\ne: !Condition C\n",
        );
        let expected = yaml(
            "a: {Ref: X}\nb: {'Fn::GetAtt': [Fn, Arn]}\nc: {'Fn::Sub': 'x-${Y}'}\nd: {'Fn::If': [C, 1, 2]}\ne: {Condition: C}\n",
        );
        assert_eq!(doc, expected);
    }

    #[test]
    fn nested_tags_are_converted() {
        let doc = yaml("a: !Join ['-', [!Ref A, !Select [0, !GetAZs '']]]\n");
        let expected =
            yaml("a: {'Fn::Join': ['-', [{Ref: A}, {'Fn::Select': [0, {'Fn::GetAZs': ''}]}]]}\n");
        assert_eq!(doc, expected);
    }

    #[test]
    fn merge_keys_come_first_and_own_values_win() {
        let doc = yaml("d: &d {T: 30, Tags: {a: b}}\nf:\n  <<: *d\n  C: x\n  T: 5\n");
        let f = doc.get("f").expect("f");
        let keys: Vec<_> = f
            .as_mapping()
            .expect("map")
            .keys()
            .map(|k| k.as_str().unwrap_or_default().to_string())
            .collect();
        assert_eq!(keys, ["T", "Tags", "C"]);
        assert_eq!(f.get("T"), Some(&Value::Number(5.into())));
    }

    #[test]
    fn json_is_read_with_key_order() {
        let doc = yaml(r#"{"b": 1, "a": {"Ref": "X"}, "c": [1.5, true, null]}"#);
        let keys: Vec<_> = doc
            .as_mapping()
            .expect("map")
            .keys()
            .map(|k| k.as_str().unwrap_or_default().to_string())
            .collect();
        assert_eq!(keys, ["b", "a", "c"]);
    }

    #[test]
    fn dates_stay_strings() {
        let doc = yaml("AWSTemplateFormatVersion: 2010-09-09\n");
        assert_eq!(
            doc.get("AWSTemplateFormatVersion"),
            Some(&Value::String("2010-09-09".into()))
        );
    }

    #[test]
    fn syntax_errors_carry_a_position() {
        let err = parse_template("a: [1, 2\n").expect_err("bad yaml");
        assert!(err.to_string().contains("line"), "{err}");
    }
}

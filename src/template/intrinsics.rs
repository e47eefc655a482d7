//! Resolving CloudFormation intrinsic functions the way `sam build` does before it builds.
//! Also works out each stack's parameter values.
//! Whatever cannot be resolved is left in its long map form for the caller to report.

use indexmap::IndexMap;
use serde_yaml::{Mapping, Value};

/// The names `Ref` and `Fn::Sub` can see, with the sections `Fn::FindInMap` and `Fn::If` read.
pub struct Scope<'a> {
    /// Pseudo-parameters and template parameters with their values (a string, or a list for CommaDelimitedList / List<...>).
    pub parameters: &'a IndexMap<String, Value>,
    /// The template's `Mappings` section, if any.
    pub mappings: Option<&'a Mapping>,
    /// The template's `Conditions` section (long form), if any.
    pub conditions: Option<&'a Mapping>,
}

const DEFAULT_REGION: &str = "us-east-1";
const ACCOUNT_ID: &str = "123456789012";
const NO_VALUE: &str = "AWS::NoValue";

/// Availability zones per region, as SAM CLI's `Fn::GetAZs` table has them.
const AVAILABILITY_ZONES: &[(&str, &[&str])] = &[
    (
        "us-east-1",
        &[
            "us-east-1a",
            "us-east-1b",
            "us-east-1c",
            "us-east-1d",
            "us-east-1e",
            "us-east-1f",
        ],
    ),
    ("us-west-1", &["us-west-1b", "us-west-1c"]),
    ("eu-north-1", &["eu-north-1a", "eu-north-1b", "eu-north-1c"]),
    ("ap-northeast-3", &["ap-northeast-3a"]),
    (
        "ap-northeast-2",
        &["ap-northeast-2a", "ap-northeast-2b", "ap-northeast-2c"],
    ),
    (
        "ap-northeast-1",
        &["ap-northeast-1a", "ap-northeast-1c", "ap-northeast-1d"],
    ),
    ("sa-east-1", &["sa-east-1a", "sa-east-1c"]),
    (
        "ap-southeast-1",
        &["ap-southeast-1a", "ap-southeast-1b", "ap-southeast-1c"],
    ),
    ("ca-central-1", &["ca-central-1a", "ca-central-1b"]),
    (
        "ap-southeast-2",
        &["ap-southeast-2a", "ap-southeast-2b", "ap-southeast-2c"],
    ),
    (
        "us-west-2",
        &["us-west-2a", "us-west-2b", "us-west-2c", "us-west-2d"],
    ),
    ("us-east-2", &["us-east-2a", "us-east-2b", "us-east-2c"]),
    ("ap-south-1", &["ap-south-1a", "ap-south-1b", "ap-south-1c"]),
    (
        "eu-central-1",
        &["eu-central-1a", "eu-central-1b", "eu-central-1c"],
    ),
    ("eu-west-1", &["eu-west-1a", "eu-west-1b", "eu-west-1c"]),
    ("eu-west-2", &["eu-west-2a", "eu-west-2b", "eu-west-2c"]),
    ("eu-west-3", &["eu-west-3a", "eu-west-3b", "eu-west-3c"]),
    ("cn-north-1", &[]),
    ("us-gov-west-1", &[]),
];

/// Pseudo-parameter values as `sam build` uses them (AWS::Region = `region` or us-east-1, ...).
pub fn pseudo_parameters(region: Option<&str>) -> IndexMap<String, Value> {
    let region = region.filter(|r| !r.is_empty()).unwrap_or(DEFAULT_REGION);
    [
        ("AWS::AccountId", ACCOUNT_ID),
        ("AWS::Partition", "aws"),
        ("AWS::Region", region),
        ("AWS::StackName", "local"),
        (
            "AWS::StackId",
            "arn:aws:cloudformation:us-east-1:123456789012:stack/local/51af3dc0-da77-11e4-872e-1234567db123",
        ),
        ("AWS::URLSuffix", "localhost"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
    .collect()
}

/// Parameter values for one stack: pseudo-parameters, then each `Parameters` entry's `Default`, then `overrides`
/// (names the template does not declare are ignored; CommaDelimitedList/List<> types become lists split on ',').
pub fn parameter_values(
    template: &Mapping,
    overrides: &IndexMap<String, String>,
    region: Option<&str>,
) -> IndexMap<String, Value> {
    let mut values = pseudo_parameters(region);
    let Some(Value::Mapping(declared)) = template.get("Parameters") else {
        return values;
    };
    for (name, decl) in declared {
        let (Some(name), Value::Mapping(decl)) = (name.as_str(), decl) else {
            continue;
        };
        let is_list = is_list_type(decl);
        if let Some(value) = overrides.get(name) {
            values.insert(
                name.to_string(),
                parameter_value(&Value::String(value.clone()), is_list),
            );
        } else if let Some(default) = decl.get("Default").filter(|d| !d.is_null()) {
            values.insert(name.to_string(), parameter_value(default, is_list));
        }
    }
    values
}

fn is_list_type(decl: &Mapping) -> bool {
    decl.get("Type")
        .and_then(Value::as_str)
        .is_some_and(|t| t == "CommaDelimitedList" || t.starts_with("List<"))
}

fn parameter_value(raw: &Value, is_list: bool) -> Value {
    match raw {
        Value::Sequence(items) if is_list => Value::Sequence(
            items
                .iter()
                .map(|i| scalar_text(i).map_or_else(|| i.clone(), Value::String))
                .collect(),
        ),
        _ => match scalar_text(raw) {
            Some(text) if is_list => Value::Sequence(
                text.split(',')
                    .map(|part| Value::String(part.trim().to_string()))
                    .collect(),
            ),
            Some(text) => Value::String(text),
            None => raw.clone(),
        },
    }
}

/// Resolves every intrinsic it can inside `value`; what cannot be resolved is left as it was (the map form).
pub fn resolve(value: &Value, scope: &Scope) -> Value {
    Resolver {
        scope,
        active_conditions: Vec::new(),
    }
    .value(value)
}

/// The text CloudFormation uses when a scalar is put into a string.
pub fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn intrinsic_call(map: &Mapping) -> Option<(&str, &Value)> {
    if map.len() != 1 {
        return None;
    }
    let (key, arg) = map.iter().next()?;
    let name = key.as_str()?;
    (name == "Ref" || name.starts_with("Fn::")).then_some((name, arg))
}

fn is_no_value(value: &Value) -> bool {
    matches!(value, Value::Mapping(m)
        if m.len() == 1 && m.get("Ref").and_then(Value::as_str) == Some(NO_VALUE))
}

/// True when no intrinsic call is left anywhere inside `value`.
fn is_plain(value: &Value) -> bool {
    match value {
        Value::Sequence(items) => items.iter().all(is_plain),
        Value::Mapping(map) => intrinsic_call(map).is_none() && map.values().all(is_plain),
        _ => true,
    }
}

/// Looks a key up in a Mappings level, also matching non-string YAML keys by their text.
fn lookup<'m>(map: &'m Mapping, key: &str) -> Option<&'m Value> {
    map.get(key).or_else(|| {
        map.iter()
            .find(|(k, _)| scalar_text(k).as_deref() == Some(key))
            .map(|(_, v)| v)
    })
}

struct Resolver<'s, 'a> {
    scope: &'s Scope<'a>,
    active_conditions: Vec<String>,
}

impl Resolver<'_, '_> {
    fn value(&mut self, value: &Value) -> Value {
        match value {
            Value::Sequence(items) => Value::Sequence(
                items
                    .iter()
                    .map(|item| self.value(item))
                    .filter(|item| !is_no_value(item))
                    .collect(),
            ),
            Value::Mapping(map) => match intrinsic_call(map) {
                Some((name, arg)) => self.call(name, arg).unwrap_or_else(|| value.clone()),
                None => Value::Mapping(
                    map.iter()
                        .map(|(k, v)| (k.clone(), self.value(v)))
                        .filter(|(_, v)| !is_no_value(v))
                        .collect(),
                ),
            },
            _ => value.clone(),
        }
    }

    /// Evaluates one intrinsic; `None` leaves its map as it was.
    fn call(&mut self, name: &str, arg: &Value) -> Option<Value> {
        match name {
            "Ref" => self.reference(arg.as_str()?),
            "Fn::Sub" => self.sub(arg),
            "Fn::Join" => self.join(arg),
            "Fn::Select" => self.select(arg),
            "Fn::Split" => self.split(arg),
            "Fn::FindInMap" => self.find_in_map(arg),
            "Fn::If" => self.fn_if(arg),
            "Fn::Base64" => {
                let text = scalar_text(&self.value(arg))?;
                Some(Value::String(base64(text.as_bytes())))
            }
            "Fn::GetAZs" => self.get_azs(arg),
            "Fn::GetAtt" => self.get_att(arg),
            _ => None,
        }
    }

    fn args<const N: usize>(&mut self, arg: &Value) -> Option<[Value; N]> {
        match self.value(arg) {
            Value::Sequence(items) => items.try_into().ok(),
            _ => None,
        }
    }

    fn region(&self) -> String {
        self.scope
            .parameters
            .get("AWS::Region")
            .and_then(Value::as_str)
            .unwrap_or(DEFAULT_REGION)
            .to_string()
    }

    fn reference(&self, name: &str) -> Option<Value> {
        self.scope.parameters.get(name).cloned()
    }

    fn sub(&mut self, arg: &Value) -> Option<Value> {
        let (template, vars) = match arg {
            Value::Sequence(items) if items.len() == 2 => {
                let Value::Mapping(vars) = self.value(&items[1]) else {
                    return None;
                };
                (self.value(&items[0]), vars)
            }
            Value::Sequence(_) => return None,
            other => (self.value(other), Mapping::new()),
        };
        let template = template.as_str()?;
        let mut out = String::with_capacity(template.len());
        let mut rest = template;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                out.push_str(&rest[start..]);
                rest = "";
                break;
            };
            let name = &after[..end];
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
            } else {
                out.push_str(&self.sub_variable(name, &vars)?);
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Some(Value::String(out))
    }

    fn sub_variable(&self, name: &str, vars: &Mapping) -> Option<String> {
        if let Some(value) = vars.get(name) {
            return scalar_text(value);
        }
        if let Some(value) = self.scope.parameters.get(name) {
            return scalar_text(value);
        }
        let (resource, attribute) = name.split_once('.')?;
        scalar_text(&self.attribute(resource, attribute)?)
    }

    fn join(&mut self, arg: &Value) -> Option<Value> {
        let [delimiter, items] = self.args(arg)?;
        let (Value::String(delimiter), Value::Sequence(items)) = (delimiter, items) else {
            return None;
        };
        let parts = items.iter().map(scalar_text).collect::<Option<Vec<_>>>()?;
        Some(Value::String(parts.join(&delimiter)))
    }

    fn select(&mut self, arg: &Value) -> Option<Value> {
        let [index, items] = self.args(arg)?;
        let index: usize = match &index {
            Value::Number(n) => usize::try_from(n.as_u64()?).ok()?,
            Value::String(s) => s.trim().parse().ok()?,
            _ => return None,
        };
        match items {
            Value::Sequence(items) => items.into_iter().nth(index),
            _ => None,
        }
    }

    fn split(&mut self, arg: &Value) -> Option<Value> {
        let [delimiter, source] = self.args(arg)?;
        let (Value::String(delimiter), Some(source)) = (delimiter, scalar_text(&source)) else {
            return None;
        };
        if delimiter.is_empty() {
            return None;
        }
        Some(Value::Sequence(
            source
                .split(delimiter.as_str())
                .map(|part| Value::String(part.to_string()))
                .collect(),
        ))
    }

    fn find_in_map(&mut self, arg: &Value) -> Option<Value> {
        let Value::Sequence(items) = self.value(arg) else {
            return None;
        };
        if items.len() != 3 && items.len() != 4 {
            return None;
        }
        let keys = items[..3]
            .iter()
            .map(scalar_text)
            .collect::<Option<Vec<_>>>()?;
        let found = self
            .scope
            .mappings
            .and_then(|m| lookup(m, &keys[0]))
            .and_then(Value::as_mapping)
            .and_then(|m| lookup(m, &keys[1]))
            .and_then(Value::as_mapping)
            .and_then(|m| lookup(m, &keys[2]));
        match (found, items.get(3)) {
            (Some(value), _) => Some(value.clone()),
            (None, Some(Value::Mapping(options))) if options.len() == 1 => {
                options.get("DefaultValue").filter(|v| is_plain(v)).cloned()
            }
            (None, _) => None,
        }
    }

    fn fn_if(&mut self, arg: &Value) -> Option<Value> {
        let Value::Sequence(items) = arg else {
            return None;
        };
        let [condition, when_true, when_false] = items.as_slice() else {
            return None;
        };
        let condition = self.value(condition);
        let chosen = if self.condition(condition.as_str()?)? {
            when_true
        } else {
            when_false
        };
        Some(self.value(chosen))
    }

    /// Evaluates a named condition; `None` when it is missing, cannot be worked out, or is part of a cycle.
    fn condition(&mut self, name: &str) -> Option<bool> {
        if self.active_conditions.iter().any(|c| c == name) {
            return None;
        }
        let expression = self.scope.conditions?.get(name)?;
        self.active_conditions.push(name.to_string());
        let result = self.condition_expression(expression);
        self.active_conditions.pop();
        result
    }

    fn condition_expression(&mut self, expression: &Value) -> Option<bool> {
        let Value::Mapping(map) = expression else {
            return expression.as_bool();
        };
        if let (1, Some(name)) = (map.len(), map.get("Condition")) {
            let name = self.value(name);
            return self.condition(name.as_str()?);
        }
        let (name, arg) = intrinsic_call(map)?;
        match name {
            "Fn::Equals" => {
                let [a, b] = self.args(arg)?;
                match (scalar_text(&a), scalar_text(&b)) {
                    (Some(a), Some(b)) => Some(a == b),
                    _ if is_plain(&a) && is_plain(&b) => Some(a == b),
                    _ => None,
                }
            }
            "Fn::And" | "Fn::Or" | "Fn::Not" => {
                let items = arg.as_sequence().filter(|items| !items.is_empty())?;
                let results = items
                    .iter()
                    .map(|item| self.condition_expression(item))
                    .collect::<Option<Vec<_>>>()?;
                match name {
                    "Fn::And" => Some(results.iter().all(|r| *r)),
                    "Fn::Or" => Some(results.iter().any(|r| *r)),
                    _ => match results.as_slice() {
                        [single] => Some(!single),
                        _ => None,
                    },
                }
            }
            _ => self.value(expression).as_bool(),
        }
    }

    fn get_azs(&mut self, arg: &Value) -> Option<Value> {
        let region = match self.value(arg) {
            Value::String(s) if s.is_empty() => self.region(),
            Value::String(s) => s,
            _ => return None,
        };
        let (_, zones) = AVAILABILITY_ZONES.iter().find(|(r, _)| *r == region)?;
        Some(Value::Sequence(
            zones.iter().map(|z| Value::String(z.to_string())).collect(),
        ))
    }

    fn get_att(&mut self, arg: &Value) -> Option<Value> {
        match self.value(arg) {
            Value::String(dotted) => {
                let (resource, attribute) = dotted.split_once('.')?;
                self.attribute(resource, attribute)
            }
            Value::Sequence(items) => match items.as_slice() {
                [Value::String(resource), Value::String(attribute)] => {
                    self.attribute(resource, attribute)
                }
                _ => None,
            },
            _ => None,
        }
    }

    /// SAM's made-up value for `resource.attribute`: only `Arn` has one (a Lambda function ARN).
    fn attribute(&self, resource: &str, attribute: &str) -> Option<Value> {
        if attribute != "Arn" {
            return None;
        }
        let region = self.region();
        let partition = if region.contains("cn") {
            "aws-cn"
        } else if region.contains("gov") {
            "aws-us-gov"
        } else {
            "aws"
        };
        let account = self
            .scope
            .parameters
            .get("AWS::AccountId")
            .and_then(Value::as_str)
            .unwrap_or(ACCOUNT_ID);
        Some(Value::String(format!(
            "arn:{partition}:lambda:{region}:{account}:function:{resource}"
        )))
    }
}

fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let bytes = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let group = (u32::from(bytes[0]) << 16) | (u32::from(bytes[1]) << 8) | u32::from(bytes[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(
                    ALPHABET[((group >> (18 - 6 * i)) & 0x3f) as usize],
                ));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(text: &str) -> Value {
        serde_yaml::from_str(text).expect("test YAML parses")
    }

    fn values(template: &Mapping, overrides: &[(&str, &str)]) -> IndexMap<String, Value> {
        let overrides = overrides
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        parameter_values(template, &overrides, None)
    }

    /// Resolves `value` against `template` (its Parameters, Mappings and Conditions).
    fn resolve_with(template: &str, overrides: &[(&str, &str)], value: &str) -> Value {
        let template = yaml(template);
        let template = template.as_mapping().expect("template is a map");
        let parameters = values(template, overrides);
        let scope = Scope {
            parameters: &parameters,
            mappings: template.get("Mappings").and_then(Value::as_mapping),
            conditions: template.get("Conditions").and_then(Value::as_mapping),
        };
        resolve(&yaml(value), &scope)
    }

    fn resolve_plain(value: &str) -> Value {
        resolve_with("{}", &[], value)
    }

    const TEMPLATE: &str = r#"
Parameters:
  Env: {Type: String, Default: prod}
  BinName: {Type: String, Default: fn2}
  NoDefault: {Type: String}
  Count: {Type: Number, Default: 5}
  Names: {Type: CommaDelimitedList, Default: "a, b,c"}
  Ids: {Type: "List<AWS::EC2::Subnet::Id>", Default: "s1,s2"}
Mappings:
  RT:
    prod: {rt: provided.al2023}
    dev: {rt: provided.al2}
Conditions:
  IsProd: {"Fn::Equals": [{Ref: Env}, prod]}
  IsDev: {"Fn::Not": [{Condition: IsProd}]}
  Both: {"Fn::And": [{Condition: IsProd}, {"Fn::Equals": [{Ref: Count}, "5"]}]}
  Either: {"Fn::Or": [{Condition: IsDev}, {Condition: Both}]}
  LoopA: {"Fn::Not": [{Condition: LoopB}]}
  LoopB: {"Fn::Not": [{Condition: LoopA}]}
  Self: {Condition: Self}
"#;

    #[test]
    fn pseudo_parameters_default_and_region() {
        let default = pseudo_parameters(None);
        assert_eq!(default["AWS::AccountId"], yaml("'123456789012'"));
        assert_eq!(default["AWS::Partition"], yaml("aws"));
        assert_eq!(default["AWS::Region"], yaml("us-east-1"));
        assert_eq!(default["AWS::StackName"], yaml("local"));
        assert_eq!(
            default["AWS::StackId"],
            yaml(
                "arn:aws:cloudformation:us-east-1:123456789012:stack/local/51af3dc0-da77-11e4-872e-1234567db123"
            )
        );
        assert_eq!(default["AWS::URLSuffix"], yaml("localhost"));
        assert!(!default.contains_key("AWS::NotificationARNs"));
        let west = pseudo_parameters(Some("eu-west-1"));
        assert_eq!(west["AWS::Region"], yaml("eu-west-1"));
        assert_eq!(west["AWS::StackId"], default["AWS::StackId"]);
    }

    #[test]
    fn parameter_values_defaults_then_overrides() {
        let template = yaml(TEMPLATE);
        let template = template.as_mapping().expect("map");
        let plain = values(template, &[]);
        assert_eq!(plain["Env"], yaml("prod"));
        assert_eq!(plain["Count"], yaml("'5'"));
        assert_eq!(plain["Names"], yaml("[a, b, c]"));
        assert_eq!(plain["Ids"], yaml("[s1, s2]"));
        assert!(!plain.contains_key("NoDefault"));
        let keys: Vec<_> = plain.keys().take(2).collect();
        assert_eq!(keys, ["AWS::AccountId", "AWS::Partition"]);

        let set = values(
            template,
            &[
                ("Env", "dev"),
                ("NoDefault", "x"),
                ("Names", "p,q"),
                ("Other", "1"),
            ],
        );
        assert_eq!(set["Env"], yaml("dev"));
        assert_eq!(set["NoDefault"], yaml("x"));
        assert_eq!(set["Names"], yaml("[p, q]"));
        assert!(!set.contains_key("Other"));

        let with_region = parameter_values(template, &IndexMap::new(), Some("eu-west-2"));
        assert_eq!(with_region["AWS::Region"], yaml("eu-west-2"));
    }

    #[test]
    fn spec_examples() {
        assert_eq!(
            resolve_with(TEMPLATE, &[], r#"{"Fn::FindInMap": [RT, {Ref: Env}, rt]}"#),
            yaml("provided.al2023")
        );
        assert_eq!(
            resolve_with(
                TEMPLATE,
                &[],
                r#"{"Fn::Sub": "./${Env}/${AWS::Region}/${AWS::AccountId}"}"#
            ),
            yaml("./prod/us-east-1/123456789012")
        );
        let runtime = r#"{"Fn::If": [IsProd, provided.al2023, provided.al2]}"#;
        assert_eq!(
            resolve_with(TEMPLATE, &[], runtime),
            yaml("provided.al2023")
        );
        assert_eq!(
            resolve_with(TEMPLATE, &[("Env", "dev")], runtime),
            yaml("provided.al2")
        );
        assert_eq!(
            resolve_with(TEMPLATE, &[], "{Binary: {Ref: BinName}}"),
            yaml("{Binary: fn2}")
        );
    }

    #[test]
    fn unresolved_ref_stays_a_map() {
        for name in ["MyFunction", "NoDefault", "AWS::NotificationARNs"] {
            let value = format!("{{Ref: '{name}'}}");
            assert_eq!(resolve_with(TEMPLATE, &[], &value), yaml(&value));
        }
        let join = r#"{"Fn::Join": ["-", [{Ref: Env}, {Ref: MyBucket}]]}"#;
        assert_eq!(resolve_with(TEMPLATE, &[], join), yaml(join));
        assert_eq!(
            resolve_with(TEMPLATE, &[], "[{Ref: Env}, {Ref: Res}]"),
            yaml("[prod, {Ref: Res}]")
        );
    }

    #[test]
    fn ref_to_list_parameter() {
        assert_eq!(
            resolve_with(TEMPLATE, &[], "{Ref: Names}"),
            yaml("[a, b, c]")
        );
    }

    #[test]
    fn sub_forms() {
        assert_eq!(
            resolve_with(
                TEMPLATE,
                &[],
                r#"{"Fn::Sub": ["${Dir}/${Env}-${N}", {Dir: {Ref: BinName}, N: 3, Env: over}]}"#
            ),
            yaml("fn2/over-3")
        );
        assert_eq!(
            resolve_plain(r#"{"Fn::Sub": "${!Literal} ${AWS::Partition} $x {y} ${"}"#),
            yaml("${Literal} aws $x {y} ${")
        );
        assert_eq!(
            resolve_plain(r#"{"Fn::Sub": "${MyFn.Arn}"}"#),
            yaml("arn:aws:lambda:us-east-1:123456789012:function:MyFn")
        );
        assert_eq!(
            resolve_with(TEMPLATE, &[], r#"{"Fn::Sub": "${Count}"}"#),
            yaml("'5'")
        );
        for unresolved in [
            r#"{"Fn::Sub": "${Env}-${Unknown}"}"#,
            r#"{"Fn::Sub": "${MyFn.Name}"}"#,
            r#"{"Fn::Sub": "${Names}"}"#,
            r#"{"Fn::Sub": ["${V}", {V: {Ref: Res}}]}"#,
            r#"{"Fn::Sub": ["${V}"]}"#,
        ] {
            assert_eq!(resolve_with(TEMPLATE, &[], unresolved), yaml(unresolved));
        }
    }

    #[test]
    fn join_stringifies_scalars_and_accepts_list_intrinsics() {
        assert_eq!(
            resolve_plain(r#"{"Fn::Join": [":", [a, 1, true, false, 2.5]]}"#),
            yaml("a:1:true:false:2.5")
        );
        assert_eq!(
            resolve_with(TEMPLATE, &[], r#"{"Fn::Join": ["+", {Ref: Names}]}"#),
            yaml("a+b+c")
        );
        assert_eq!(
            resolve_plain(r#"{"Fn::Join": ["", {"Fn::Split": [",", "x,y"]}]}"#),
            yaml("xy")
        );
        for unresolved in [
            r#"{"Fn::Join": ["", [a, [b]]]}"#,
            r#"{"Fn::Join": ["", {Ref: Missing}]}"#,
            r#"{"Fn::Join": [[], [a]]}"#,
            r#"{"Fn::Join": [""]}"#,
        ] {
            assert_eq!(resolve_plain(unresolved), yaml(unresolved));
        }
    }

    #[test]
    fn select_and_split() {
        assert_eq!(
            resolve_plain(r#"{"Fn::Select": [1, [a, b, c]]}"#),
            yaml("b")
        );
        assert_eq!(
            resolve_plain(r#"{"Fn::Select": ["2", [a, b, c]]}"#),
            yaml("c")
        );
        assert_eq!(
            resolve_plain(r#"{"Fn::Select": [0, {"Fn::Split": ["/", "x/y"]}]}"#),
            yaml("x")
        );
        assert_eq!(
            resolve_plain(r#"{"Fn::Split": [",", "a,,b"]}"#),
            yaml("[a, '', b]")
        );
        for unresolved in [
            r#"{"Fn::Select": [3, [a, b, c]]}"#,
            r#"{"Fn::Select": [-1, [a]]}"#,
            r#"{"Fn::Select": [x, [a]]}"#,
            r#"{"Fn::Select": [0, {Ref: Missing}]}"#,
            r#"{"Fn::Split": ["", "ab"]}"#,
            r#"{"Fn::Split": [",", {Ref: Missing}]}"#,
        ] {
            assert_eq!(resolve_plain(unresolved), yaml(unresolved));
        }
    }

    #[test]
    fn find_in_map_with_default_value_and_misses() {
        assert_eq!(
            resolve_with(
                TEMPLATE,
                &[],
                r#"{"Fn::FindInMap": [RT, test, rt, {DefaultValue: provided}]}"#
            ),
            yaml("provided")
        );
        assert_eq!(
            resolve_with(
                TEMPLATE,
                &[("Env", "dev")],
                r#"{"Fn::FindInMap": [RT, {Ref: Env}, rt, {DefaultValue: x}]}"#
            ),
            yaml("provided.al2")
        );
        for unresolved in [
            r#"{"Fn::FindInMap": [RT, test, rt]}"#,
            r#"{"Fn::FindInMap": [Nope, prod, rt]}"#,
            r#"{"Fn::FindInMap": [RT, {Ref: Missing}, rt]}"#,
            r#"{"Fn::FindInMap": [RT, prod]}"#,
        ] {
            assert_eq!(resolve_with(TEMPLATE, &[], unresolved), yaml(unresolved));
        }
        assert_eq!(
            resolve_with(
                "{Mappings: {M: {1: {2: three}}}}",
                &[],
                r#"{"Fn::FindInMap": [M, 1, "2"]}"#
            ),
            yaml("three")
        );
    }

    #[test]
    fn conditions_and_or_not_and_references() {
        let pick = |condition: &str, overrides: &[(&str, &str)]| {
            resolve_with(
                TEMPLATE,
                overrides,
                &format!(r#"{{"Fn::If": [{condition}, yes, no]}}"#),
            )
        };
        assert_eq!(pick("IsDev", &[]), yaml("no"));
        assert_eq!(pick("IsDev", &[("Env", "dev")]), yaml("yes"));
        assert_eq!(pick("Both", &[]), yaml("yes"));
        assert_eq!(pick("Both", &[("Count", "6")]), yaml("no"));
        assert_eq!(pick("Either", &[("Count", "6")]), yaml("no"));
        assert_eq!(pick("Either", &[("Env", "dev")]), yaml("yes"));
        for unresolved in ["LoopA", "Self", "Missing"] {
            assert_eq!(
                pick(unresolved, &[]),
                yaml(&format!(r#"{{"Fn::If": [{unresolved}, yes, no]}}"#))
            );
        }
        let template = r#"{Conditions: {C: {"Fn::Equals": [{Ref: Unknown}, x]}}}"#;
        let value = r#"{"Fn::If": [C, a, b]}"#;
        assert_eq!(resolve_with(template, &[], value), yaml(value));
    }

    #[test]
    fn if_branches_are_resolved() {
        assert_eq!(
            resolve_with(
                TEMPLATE,
                &[],
                r#"{"Fn::If": [IsProd, {Ref: BinName}, {Ref: Res}]}"#
            ),
            yaml("fn2")
        );
    }

    #[test]
    fn no_value_is_dropped_from_maps_and_lists() {
        assert_eq!(
            resolve_with(
                TEMPLATE,
                &[],
                r#"{A: {Ref: "AWS::NoValue"}, B: {"Fn::If": [IsProd, {Ref: "AWS::NoValue"}, x]}, C: [1, {Ref: "AWS::NoValue"}, 2]}"#
            ),
            yaml("{C: [1, 2]}")
        );
        assert_eq!(
            resolve_with(
                TEMPLATE,
                &[("Env", "dev")],
                r#"{B: {"Fn::If": [IsProd, {Ref: "AWS::NoValue"}, x]}}"#
            ),
            yaml("{B: x}")
        );
    }

    #[test]
    fn base64_encodes_standard_with_padding() {
        for (input, expected) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), expected);
        }
        assert_eq!(
            resolve_with(TEMPLATE, &[], r#"{"Fn::Base64": {"Fn::Sub": "${Env}!"}}"#),
            yaml("cHJvZCE=")
        );
    }

    #[test]
    fn get_azs_uses_sams_table() {
        assert_eq!(
            resolve_plain(r#"{"Fn::GetAZs": ""}"#),
            yaml("[us-east-1a, us-east-1b, us-east-1c, us-east-1d, us-east-1e, us-east-1f]")
        );
        assert_eq!(
            resolve_plain(r#"{"Fn::GetAZs": us-west-1}"#),
            yaml("[us-west-1b, us-west-1c]")
        );
        assert_eq!(
            resolve_plain(r#"{"Fn::Select": [0, {"Fn::GetAZs": {Ref: "AWS::Region"}}]}"#),
            yaml("us-east-1a")
        );
        let unknown = r#"{"Fn::GetAZs": mars-1}"#;
        assert_eq!(resolve_plain(unknown), yaml(unknown));
    }

    #[test]
    fn get_att_arn_only() {
        let arn = yaml("arn:aws:lambda:us-east-1:123456789012:function:MyFn");
        assert_eq!(resolve_plain(r#"{"Fn::GetAtt": [MyFn, Arn]}"#), arn);
        assert_eq!(resolve_plain(r#"{"Fn::GetAtt": MyFn.Arn}"#), arn);
        let other = r#"{"Fn::GetAtt": [MyFn, Name]}"#;
        assert_eq!(resolve_plain(other), yaml(other));

        let parameters = pseudo_parameters(Some("cn-north-1"));
        let scope = Scope {
            parameters: &parameters,
            mappings: None,
            conditions: None,
        };
        assert_eq!(
            resolve(&yaml(r#"{"Fn::GetAtt": [F, Arn]}"#), &scope),
            yaml("arn:aws-cn:lambda:cn-north-1:123456789012:function:F")
        );
    }

    #[test]
    fn unsupported_functions_are_left_whole() {
        for unresolved in [
            r#"{"Fn::ImportValue": {"Fn::Sub": "${AWS::Region}-x"}}"#,
            r#"{"Fn::Cidr": [{Ref: "AWS::Region"}, 1, 2]}"#,
            r#"{"Fn::Equals": [{Ref: "AWS::Region"}, x]}"#,
        ] {
            assert_eq!(resolve_plain(unresolved), yaml(unresolved));
        }
    }

    #[test]
    fn only_single_key_maps_are_intrinsics() {
        assert_eq!(
            resolve_plain(r#"{Ref: "AWS::Region", Other: {Ref: "AWS::Partition"}}"#),
            yaml(r#"{Ref: "AWS::Region", Other: aws}"#)
        );
        assert_eq!(
            resolve_plain("{Condition: IsProd, Properties: {R: {Ref: 'AWS::StackName'}}}"),
            yaml("{Condition: IsProd, Properties: {R: local}}")
        );
        assert_eq!(
            resolve_plain("{Condition: IsProd}"),
            yaml("{Condition: IsProd}")
        );
        assert_eq!(resolve_plain("{}"), yaml("{}"));
    }

    #[test]
    fn resolves_nested_structures_in_order() {
        let resolved = resolve_with(
            TEMPLATE,
            &[],
            r#"
Fn:
  Type: AWS::Serverless::Function
  Properties:
    Runtime: {"Fn::FindInMap": [RT, {Ref: Env}, rt]}
    Architectures: [{"Fn::If": [IsProd, arm64, x86_64]}]
    Handler: bootstrap
  Metadata:
    BuildProperties: {Binary: {"Fn::Join": ["-", [{Ref: BinName}, {Ref: Count}]]}}
"#,
        );
        let expected = yaml(
            r"
Fn:
  Type: AWS::Serverless::Function
  Properties:
    Runtime: provided.al2023
    Architectures: [arm64]
    Handler: bootstrap
  Metadata:
    BuildProperties: {Binary: fn2-5}
",
        );
        assert_eq!(resolved, expected);
        assert_eq!(
            serde_yaml::to_string(&resolved).expect("serialises"),
            serde_yaml::to_string(&expected).expect("serialises")
        );
    }
}

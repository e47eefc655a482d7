//! Property tests over the pure stages (the project's fuzzing, bounded for CI): template loading,
//! planning, the template rewrite and the YAML writer never panic on any input, and the writer's
//! output reads back as the same data. `PROPTEST_CASES=N` runs longer.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use proptest::prelude::*;
use serde_yaml::{Mapping, Value};

use samrs::output::template::rewrite_template;
use samrs::output::yaml::to_sam_yaml;
use samrs::plan::{build_definitions, check_functions, select_functions};
use samrs::template::load::parse_template;
use samrs::template::{ProjectOptions, load_project_with};

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| Value::Number(n.into())),
        (-1.0e6f64..1.0e6).prop_map(|f| Value::Number(f.into())),
        "[ -~]{0,12}".prop_map(Value::String),
        prop_oneof![
            Just("provided.al2"),
            Just("provided.al2023"),
            Just("x86_64"),
            Just("arm64"),
            Just("bootstrap"),
            Just("rust-cargolambda"),
            Just("./"),
            Just("s3://b/k.zip"),
            Just("yes"),
            Just("0123"),
            Just("a: b"),
            Just("héllo ✓\nline"),
        ]
        .prop_map(|s| Value::String(s.to_string())),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Sequence),
            prop::collection::vec(("[A-Za-z:]{1,10}", inner), 0..5).prop_map(|entries| {
                Value::Mapping(
                    entries
                        .into_iter()
                        .map(|(k, v)| (Value::String(k), v))
                        .collect(),
                )
            }),
        ]
    })
}

/// Templates shaped like SAM's, with any value in the properties samrs reads.
fn template() -> impl Strategy<Value = Mapping> {
    let property = || prop_oneof![3 => scalar(), 1 => value()];
    let resource = (
        prop_oneof![
            Just("AWS::Serverless::Function"),
            Just("AWS::Lambda::Function"),
            Just("AWS::Serverless::LayerVersion"),
            Just("AWS::S3::Bucket"),
        ],
        property(),
        property(),
        property(),
        property(),
        property(),
        property(),
    )
        .prop_map(|(kind, runtime, code, handler, arch, method, binary)| {
            let text = format!("Type: {kind}\n");
            let mut resource: Mapping = serde_yaml::from_str(&text).expect("yaml");
            let mut properties = Mapping::new();
            properties.insert("Runtime".into(), runtime);
            properties.insert("CodeUri".into(), code.clone());
            properties.insert("Code".into(), code);
            properties.insert("Handler".into(), handler);
            properties.insert("Architectures".into(), arch);
            let mut build_properties = Mapping::new();
            build_properties.insert("Binary".into(), binary);
            let mut metadata = Mapping::new();
            metadata.insert("BuildMethod".into(), method);
            metadata.insert("BuildProperties".into(), Value::Mapping(build_properties));
            resource.insert("Metadata".into(), Value::Mapping(metadata));
            resource.insert("Properties".into(), Value::Mapping(properties));
            Value::Mapping(resource)
        });
    (
        prop::collection::vec(("[A-Za-z0-9]{1,8}", resource), 1..6),
        prop::option::of(value()),
    )
        .prop_map(|(resources, globals)| {
            let mut template = Mapping::new();
            if let Some(globals) = globals {
                let mut g = Mapping::new();
                g.insert("Function".into(), globals);
                template.insert("Globals".into(), Value::Mapping(g));
            }
            template.insert(
                "Resources".into(),
                Value::Mapping(
                    resources
                        .into_iter()
                        .map(|(k, v)| (Value::String(k), v))
                        .collect(),
                ),
            );
            template
        })
}

fn run_pipeline(document: &Value) {
    let options = ProjectOptions {
        template_file: PathBuf::from("/p/template.yaml"),
        base_dir: None,
        parameter_overrides: IndexMap::new(),
        region: None,
        template_above: None,
    };
    let Ok(project) = load_project_with(&options, &|_: &Path| {
        Ok(samrs::template::load::Parsed {
            document: document.clone(),
            warnings: Vec::new(),
        })
    }) else {
        return;
    };
    let Ok(selection) = select_functions(&project, None, &[]) else {
        return;
    };
    if let Ok(checked) = check_functions(&project, &selection) {
        let definitions = build_definitions(&project, &checked, &[], false, || "u".into());
        assert!(definitions.len() <= checked.len());
    }
    let stack = &project.stacks[0];
    let rewritten = rewrite_template(
        &stack.raw,
        Path::new("/p"),
        Path::new("/p/.aws-sam/build"),
        &HashMap::new(),
    );
    let _ = to_sam_yaml(&Value::Mapping(rewritten));
}

proptest! {
    #[test]
    fn loading_arbitrary_text_never_panics(text in "\\PC{0,200}") {
        let _ = parse_template(&text);
    }

    #[test]
    fn loading_yaml_like_text_never_panics(text in "[-:!&*\\[\\]{}#|>'\" \\nA-Za-z0-9.<]{0,120}") {
        if let Ok(document) = parse_template(&text) {
            run_pipeline(&document);
        }
    }

    #[test]
    fn the_pipeline_never_panics_on_sam_shaped_templates(template in template()) {
        run_pipeline(&Value::Mapping(template));
    }

    #[test]
    fn written_yaml_reads_back_as_the_same_data(v in value()) {
        let mut document = Mapping::new();
        document.insert("Root".into(), v);
        let document = Value::Mapping(document);
        let text = to_sam_yaml(&document);
        let back = parse_template(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(normalise_floats(&back), normalise_floats(&document), "{}", text);
    }
}

/// Floats compare by value text: the writer prints Python's repr, which reads back exactly.
/// Strings that YAML 1.2 reads as numbers but YAML 1.1 does not (`1e0`: PyYAML's float needs a
/// dot) are written plain by PyYAML — and so by samrs — since the template's readers (SAM,
/// CloudFormation) use YAML 1.1; this test reads back with a YAML 1.2 reader, so such strings
/// and numbers compare by numeric value (found by a 500,000-case run).
#[expect(
    clippy::cast_possible_truncation,
    reason = "only integral floats below 1e15 become integers"
)]
fn normalise_floats(value: &Value) -> Value {
    match value {
        Value::String(s) if s.trim().parse::<f64>().is_ok_and(f64::is_finite) => {
            let f: f64 = s.trim().parse().unwrap_or_default();
            normalise_floats(&Value::Number(f.into()))
        }
        Value::Number(n) if !n.is_f64() => {
            normalise_floats(&Value::Number(n.as_f64().unwrap_or_default().into()))
        }
        Value::Number(n) if n.is_f64() => {
            let f = n.as_f64().unwrap_or_default();
            if f.fract() == 0.0 && f.abs() < 1e15 {
                Value::Number((f as i64).into())
            } else {
                Value::String(format!("{f:e}"))
            }
        }
        Value::Sequence(items) => Value::Sequence(items.iter().map(normalise_floats).collect()),
        Value::Mapping(m) => Value::Mapping(
            m.iter()
                .map(|(k, v)| (k.clone(), normalise_floats(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[test]
fn known_crashers_stay_fixed() {
    // Each input that once broke a stage is pinned here.
    let cases: BTreeMap<&str, &str> = BTreeMap::from([
        ("merge key to a scalar", "a: &x 1\nb:\n  <<: *x\n"),
        (
            "ForEach in Resources",
            "Resources:\n  Fn::ForEach::X: [a, [b], {}]\n",
        ),
        ("tag on a map key", "Resources: {!Ref X: 1}\n"),
    ]);
    for (name, text) in cases {
        if let Ok(document) = parse_template(text) {
            run_pipeline(&document);
        }
        eprintln!("ok: {name}");
    }
}

//! Pure: which resources `sam build` builds for samrs (every one it would build that is not a
//! Rust function or layer), and how it is asked to (one resource id, or everything with the
//! Rust resources excluded).

use std::ffi::OsString;
use std::path::PathBuf;

use serde_yaml::Value;

use crate::paths;
use crate::plan::{
    FunctionRef, PlanError, buildable_functions, builds_with_cargo, find_function,
    layer_builds_with_cargo,
};
use crate::settings::SamPassThrough;
use crate::template::{Function, FunctionKind, Layer, Project, value_text};

/// A resource built by `sam build`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SamResource {
    pub full_path: String,
    pub logical_id: String,
    /// Index of the declaring stack in `Project::stacks`.
    pub stack: usize,
    pub is_layer: bool,
    /// What it is, for messages: `python3.11`, `provided.al2023 makefile`, `layer python3.11`.
    pub what: String,
    /// A note when it looks like a Rust function that samrs would have built (a misspelt or
    /// missing BuildMethod).
    pub hint: Option<String>,
}

/// How `sam build` is called.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Invocation {
    /// `sam build <id>`: the user named a resource sam builds alone, with its layers.
    Resource(String),
    /// `sam build --exclude …`: everything but these logical ids (samrs's resources, and
    /// those the user excluded).
    AllBut(Vec<String>),
}

/// sam's part of a build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Handoff {
    pub resources: Vec<SamResource>,
    pub invocation: Invocation,
}

/// Plans sam's part for the user's selection (a resource id, or everything not excluded);
/// `None` when every resource to build is samrs's.
pub(crate) fn plan_handoff(
    project: &Project,
    resource_id: Option<&str>,
    exclude: &[String],
) -> Result<Option<Handoff>, PlanError> {
    let functions = buildable_functions(project);
    let layers: Vec<&Layer> = project
        .stacks
        .iter()
        .flat_map(|s| &s.layers)
        .filter(|l| is_buildable_layer(l))
        .collect();
    let sam_function = |r: &FunctionRef| !builds_with_cargo(r.get(project));

    let (resources, single): (Vec<SamResource>, Option<&str>) = match resource_id {
        None => {
            let mut resources: Vec<SamResource> = functions
                .iter()
                .filter(|r| sam_function(r) && !exclude.contains(&r.get(project).logical_id))
                .map(|r| function_resource(r.get(project)))
                .collect();
            resources.extend(
                layers
                    .iter()
                    .filter(|l| !layer_builds_with_cargo(l) && !exclude.contains(&l.logical_id))
                    .map(|l| layer_resource(l)),
            );
            (resources, None)
        }
        Some(id) => match find_function(project, &functions, id).0 {
            Some(found) => {
                let f = found.get(project);
                let own = (!builds_with_cargo(f)).then(|| function_resource(f));
                // Unlike `sam build <Function>`, an excluded layer is left out: the way to build
                // one Rust function without sam when its layers are sam's.
                let used: Vec<&&Layer> = layers
                    .iter()
                    .filter(|l| {
                        l.stack == f.stack
                            && f.layers.contains(&l.logical_id)
                            && !exclude.contains(&l.logical_id)
                    })
                    .collect();
                let mut resources: Vec<SamResource> = own.into_iter().collect();
                resources.extend(
                    used.iter()
                        .filter(|l| !layer_builds_with_cargo(l))
                        .map(|l| layer_resource(l)),
                );
                // `sam build <id>` builds the function with all its layers: fine unless one of
                // them is a Rust layer, which sam cannot build.
                let alone =
                    !builds_with_cargo(f) && used.iter().all(|l| !layer_builds_with_cargo(l));
                (resources, alone.then_some(id))
            }
            None => match layers
                .iter()
                .find(|l| l.full_path == id || l.logical_id == id)
            {
                Some(layer) if !layer_builds_with_cargo(layer) => {
                    (vec![layer_resource(layer)], Some(id))
                }
                _ => (Vec::new(), None),
            },
        },
    };
    if resources.is_empty() {
        return Ok(None);
    }
    let invocation = match single {
        Some(id) => Invocation::Resource(id.to_string()),
        None => Invocation::AllBut(exclusions(
            project, &functions, &layers, &resources, exclude,
        )?),
    };
    Ok(Some(Handoff {
        resources,
        invocation,
    }))
}

/// A layer `sam build` builds: one with a BuildMethod, not a `.zip`, not `SkipBuild`.
fn is_buildable_layer(layer: &Layer) -> bool {
    !matches!(layer.build_method(), None | Some(Value::Null))
        && !paths::is_zip(&layer.content_uri)
        && layer.metadata.get("SkipBuild") != Some(&Value::Bool(true))
}

/// The logical ids sam must leave alone: every buildable resource that is not sam's, plus the
/// user's own exclusions. `--exclude` matches logical ids in every stack, so an id that names
/// one of sam's resources too cannot be excluded: that is an error naming both.
fn exclusions(
    project: &Project,
    functions: &[FunctionRef],
    layers: &[&Layer],
    resources: &[SamResource],
    exclude: &[String],
) -> Result<Vec<String>, PlanError> {
    let others = functions
        .iter()
        .map(|r| r.get(project))
        .map(|f| (f.full_path.as_str(), f.logical_id.as_str()))
        .chain(
            layers
                .iter()
                .map(|l| (l.full_path.as_str(), l.logical_id.as_str())),
        )
        .filter(|(path, _)| !resources.iter().any(|r| r.full_path == *path));
    let mut ids: Vec<String> = exclude.to_vec();
    for (path, id) in others {
        if let Some(clash) = resources.iter().find(|r| r.logical_id == id) {
            return Err(PlanError {
                message: format!(
                    "{path} and {} have the same logical id '{id}': samrs hands {} to sam build and keeps {path} out of it with --exclude {id}, which would leave out both (sam matches --exclude in every stack); give one of them another logical id, or build them apart with `samrs build {path}` and `samrs build {}`",
                    clash.full_path, clash.full_path, clash.full_path
                ),
                before_build: true,
                notice: None,
            });
        }
        if !ids.iter().any(|x| x == id) {
            ids.push(id.to_string());
        }
    }
    Ok(ids)
}

fn function_resource(f: &Function) -> SamResource {
    let runtime = f.runtime.as_ref().map(value_text);
    let method = f.build_method().map(value_text);
    let what = if f.package_type == "Image" {
        "Image".to_string()
    } else {
        let mut parts: Vec<String> = Vec::new();
        if f.kind == FunctionKind::Web {
            parts.push("WebFunction".into());
        }
        parts.extend(runtime.clone());
        parts.extend(method.filter(|m| Some(m) != runtime.as_ref()));
        parts.join(" ")
    };
    SamResource {
        full_path: f.full_path.clone(),
        logical_id: f.logical_id.clone(),
        stack: f.stack,
        is_layer: false,
        what,
        hint: rust_hint(f),
    }
}

/// A note for functions that look meant for samrs: a BuildMethod close to rust-cargolambda, or
/// none on an OS-only runtime (which SAM builds with its makefile builder).
fn rust_hint(f: &Function) -> Option<String> {
    if f.kind == FunctionKind::Web || f.package_type == "Image" {
        return None;
    }
    match f.build_method() {
        Some(Value::String(m)) if m.starts_with("rust") => Some(format!(
            "{}: BuildMethod '{m}' is not rust-cargolambda, so sam build builds it (and has no builder of that name); for a Rust function write `BuildMethod: rust-cargolambda`",
            f.full_path
        )),
        None if f
            .runtime
            .as_ref()
            .and_then(Value::as_str)
            .is_some_and(|r| r.starts_with("provided")) =>
        {
            Some(format!(
                "{}: no Metadata.BuildMethod on a {} function, so sam build builds it with its makefile builder; for a Rust function add `Metadata: BuildMethod: rust-cargolambda`",
                f.full_path,
                f.runtime.as_ref().map(value_text).unwrap_or_default()
            ))
        }
        _ => None,
    }
}

fn layer_resource(layer: &Layer) -> SamResource {
    SamResource {
        full_path: layer.full_path.clone(),
        logical_id: layer.logical_id.clone(),
        stack: layer.stack,
        is_layer: true,
        what: format!(
            "layer {}",
            layer.build_method().map(value_text).unwrap_or_default()
        ),
        hint: None,
    }
}

/// The options of sam's part, from samrs's resolved settings: paths are absolute; sam's build
/// and cache folders are its own.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct SamOptions {
    pub template_file: PathBuf,
    pub build_dir: PathBuf,
    pub cache_dir: PathBuf,
    pub base_dir: Option<PathBuf>,
    /// A YAML file with the resolved `--parameter-overrides` (passed as `file://`).
    pub parameters_file: Option<PathBuf>,
    /// The samconfig samrs read (or an empty one), so sam reads the same values.
    pub config_file: PathBuf,
    pub config_env: String,
    pub region: Option<String>,
    pub cached: bool,
    pub parallel: bool,
    pub debug: bool,
    pub beta_features: Option<bool>,
    /// `--profile`, `--manifest`, `--build-in-source` and the container options, as given.
    pub passthrough: SamPassThrough,
}

/// The arguments after `sam`. The result is read from `--output json` on stdout.
pub(crate) fn sam_args(invocation: &Invocation, options: &SamOptions) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec!["build".into()];
    let flag = |args: &mut Vec<OsString>, name: &str, value: OsString| {
        args.push(name.into());
        args.push(value);
    };
    if let Invocation::Resource(id) = invocation {
        args.push(id.into());
    }
    flag(
        &mut args,
        "--template-file",
        options.template_file.clone().into(),
    );
    flag(&mut args, "--build-dir", options.build_dir.clone().into());
    flag(&mut args, "--cache-dir", options.cache_dir.clone().into());
    flag(
        &mut args,
        "--config-file",
        options.config_file.clone().into(),
    );
    flag(&mut args, "--config-env", options.config_env.clone().into());
    flag(&mut args, "--output", "json".into());
    if let Invocation::AllBut(excluded) = invocation {
        for id in excluded {
            flag(&mut args, "--exclude", id.into());
        }
    }
    if let Some(file) = &options.parameters_file {
        let mut value = OsString::from("file://");
        value.push(file);
        flag(&mut args, "--parameter-overrides", value);
    }
    if let Some(dir) = &options.base_dir {
        flag(&mut args, "--base-dir", dir.clone().into());
    }
    for (name, value) in [
        ("--region", &options.region),
        ("--profile", &options.passthrough.profile),
    ] {
        if let Some(value) = value {
            flag(&mut args, name, value.into());
        }
    }
    args.push(
        if options.cached {
            "--cached"
        } else {
            "--no-cached"
        }
        .into(),
    );
    for (on, name) in [
        (options.parallel, "--parallel"),
        (options.debug, "--debug"),
        (options.passthrough.use_container, "--use-container"),
        (options.passthrough.skip_pull_image, "--skip-pull-image"),
    ] {
        if on {
            args.push(name.into());
        }
    }
    for (value, on, off) in [
        (
            options.passthrough.build_in_source,
            "--build-in-source",
            "--no-build-in-source",
        ),
        (
            options.beta_features,
            "--beta-features",
            "--no-beta-features",
        ),
        (
            options.passthrough.mount_symlinks,
            "--mount-symlinks",
            "--no-mount-symlinks",
        ),
        (
            options.passthrough.use_buildkit,
            "--use-buildkit",
            "--no-use-buildkit",
        ),
    ] {
        match value {
            Some(true) => args.push(on.into()),
            Some(false) => args.push(off.into()),
            None => {}
        }
    }
    if let Some(manifest) = &options.passthrough.manifest {
        flag(&mut args, "--manifest", manifest.clone().into());
    }
    for value in &options.passthrough.container_env_vars {
        flag(&mut args, "--container-env-var", value.into());
    }
    if let Some(file) = &options.passthrough.container_env_var_file {
        flag(&mut args, "--container-env-var-file", file.clone().into());
    }
    for image in &options.passthrough.build_images {
        flag(&mut args, "--build-image", image.into());
    }
    if let Some(mode) = &options.passthrough.mount_with {
        flag(&mut args, "--mount-with", mode.into());
    }
    if let Some(network) = &options.passthrough.docker_network {
        flag(&mut args, "--docker-network", network.into());
    }
    args
}

/// The resolved parameter overrides as the YAML map sam reads from `file://`.
pub(crate) fn parameters_yaml(overrides: &indexmap::IndexMap<String, String>) -> String {
    let map: serde_yaml::Mapping = overrides
        .iter()
        .map(|(k, v)| (Value::String(k.clone()), Value::String(v.clone())))
        .collect();
    serde_yaml::to_string(&map).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::stacks::load_project_in_memory;
    use std::collections::BTreeMap;

    fn project(templates: &[(&str, &str)]) -> Project {
        load_project_in_memory(templates).expect("template loads")
    }

    const MIXED: &str = "Resources:
  Rust: {Type: AWS::Serverless::Function, Metadata: {BuildMethod: rust-cargolambda}, Properties: {CodeUri: r, Handler: bootstrap, Runtime: provided.al2, Layers: [{Ref: Config}]}}
  Config: {Type: AWS::Serverless::LayerVersion, Metadata: {BuildMethod: makefile}, Properties: {ContentUri: c}}
  Py: {Type: AWS::Serverless::Function, Properties: {CodeUri: py, Handler: app.h, Runtime: python3.11, Layers: [{Ref: PyLayer}]}}
  PyLayer: {Type: AWS::Serverless::LayerVersion, Metadata: {BuildMethod: python3.11}, Properties: {ContentUri: l}}
  Node: {Type: AWS::Serverless::Function, Properties: {CodeUri: n, Handler: index.h, Runtime: nodejs20.x}}
  Make: {Type: AWS::Serverless::Function, Metadata: {BuildMethod: makefile}, Properties: {CodeUri: m, Handler: b, Runtime: provided.al2023}}
  Web: {Type: AWS::Serverless::WebFunction, Properties: {CodeUri: w, Runtime: nodejs20.x}}
  Img: {Type: AWS::Serverless::Function, Metadata: {Dockerfile: Dockerfile, DockerContext: img}, Properties: {PackageType: Image}}
  Inline: {Type: AWS::Serverless::Function, Properties: {InlineCode: x, Handler: h, Runtime: python3.11}}
  Plain: {Type: AWS::Serverless::LayerVersion, Properties: {ContentUri: p}}
  Ext: {Type: AWS::Serverless::LayerVersion, Metadata: {BuildMethod: rust-cargolambda}, Properties: {ContentUri: e}}
";

    fn names(handoff: &Handoff) -> Vec<(&str, &str)> {
        handoff
            .resources
            .iter()
            .map(|r| (r.full_path.as_str(), r.what.as_str()))
            .collect()
    }

    #[test]
    fn every_resource_sam_would_build_but_rust_ones_goes_to_sam() {
        let p = project(&[("/p/template.yaml", MIXED)]);
        let handoff = plan_handoff(&p, None, &["Node".into()])
            .expect("plans")
            .expect("sam has work");
        assert_eq!(
            names(&handoff),
            [
                ("Py", "python3.11"),
                ("Make", "provided.al2023 makefile"),
                ("Web", "WebFunction nodejs20.x"),
                ("Img", "Image"),
                ("Config", "layer makefile"),
                ("PyLayer", "layer python3.11"),
            ]
        );
        assert_eq!(
            handoff.invocation,
            Invocation::AllBut(vec!["Node".into(), "Rust".into(), "Ext".into()])
        );
    }

    #[test]
    fn a_rust_only_template_needs_no_sam() {
        let p = project(&[(
            "/p/template.yaml",
            "Resources:\n  Rust: {Type: AWS::Serverless::Function, Metadata: {BuildMethod: rust-cargolambda}, Properties: {CodeUri: r, Handler: bootstrap, Runtime: provided.al2}}\n  S3: {Type: AWS::Serverless::Function, Properties: {CodeUri: 's3://b/k.zip', Handler: h, Runtime: python3.11}}\n",
        )]);
        assert_eq!(plan_handoff(&p, None, &[]).expect("plans"), None);
        let p = project(&[("/p/template.yaml", MIXED)]);
        let excluded: Vec<String> = ["Py", "Make", "Web", "Img", "Config", "PyLayer", "Node"]
            .iter()
            .map(std::string::ToString::to_string)
            .collect();
        assert_eq!(plan_handoff(&p, None, &excluded).expect("plans"), None);
    }

    #[test]
    fn a_named_resource_of_another_language_is_built_alone_by_sam() {
        let p = project(&[("/p/template.yaml", MIXED)]);
        let handoff = plan_handoff(&p, Some("Py"), &[])
            .expect("plans")
            .expect("sam has work");
        assert_eq!(
            names(&handoff),
            [("Py", "python3.11"), ("PyLayer", "layer python3.11")]
        );
        assert_eq!(handoff.invocation, Invocation::Resource("Py".into()));
        let layer = plan_handoff(&p, Some("Config"), &[]).expect("plans");
        assert_eq!(
            layer.map(|h| h.invocation),
            Some(Invocation::Resource("Config".into()))
        );
    }

    #[test]
    fn a_named_rust_function_has_sam_build_its_other_layers() {
        let p = project(&[("/p/template.yaml", MIXED)]);
        let handoff = plan_handoff(&p, Some("Rust"), &[])
            .expect("plans")
            .expect("sam builds the makefile layer");
        assert_eq!(names(&handoff), [("Config", "layer makefile")]);
        let Invocation::AllBut(excluded) = &handoff.invocation else {
            panic!("expected --exclude, got {:?}", handoff.invocation);
        };
        assert!(excluded.contains(&"Rust".to_string()) && excluded.contains(&"Py".to_string()));
        assert!(!excluded.contains(&"Config".to_string()));
        assert_eq!(
            plan_handoff(&p, Some("Rust"), &["Config".into()]).expect("plans"),
            None
        );
        assert_eq!(plan_handoff(&p, Some("Ext"), &[]).expect("plans"), None);
        assert_eq!(plan_handoff(&p, Some("Nope"), &[]).expect("plans"), None);
    }

    #[test]
    fn sam_gets_samrs_resolved_options_and_its_own_folders() {
        let options = SamOptions {
            template_file: "/p/template.yaml".into(),
            build_dir: "/p/.aws-sam/.build.samrs-sam-7/build".into(),
            cache_dir: "/p/.aws-sam/cache/sam".into(),
            parameters_file: Some("/p/.aws-sam/.build.samrs-sam-7/parameters.yaml".into()),
            config_file: "/p/samconfig.toml".into(),
            config_env: "dev".into(),
            region: Some("eu-west-1".into()),
            parallel: true,
            passthrough: SamPassThrough {
                build_in_source: Some(false),
                use_container: true,
                container_env_vars: vec!["Py.A=1".into()],
                ..SamPassThrough::default()
            },
            ..SamOptions::default()
        };
        let text = |args: Vec<OsString>| -> Vec<String> {
            args.iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect()
        };
        assert_eq!(
            text(sam_args(&Invocation::AllBut(vec!["Rust".into()]), &options)),
            [
                "build",
                "--template-file",
                "/p/template.yaml",
                "--build-dir",
                "/p/.aws-sam/.build.samrs-sam-7/build",
                "--cache-dir",
                "/p/.aws-sam/cache/sam",
                "--config-file",
                "/p/samconfig.toml",
                "--config-env",
                "dev",
                "--output",
                "json",
                "--exclude",
                "Rust",
                "--parameter-overrides",
                "file:///p/.aws-sam/.build.samrs-sam-7/parameters.yaml",
                "--region",
                "eu-west-1",
                "--no-cached",
                "--parallel",
                "--use-container",
                "--no-build-in-source",
                "--container-env-var",
                "Py.A=1",
            ]
        );
        let single = text(sam_args(&Invocation::Resource("Py".into()), &options));
        assert_eq!(single[..2], ["build", "Py"]);
        assert!(!single.contains(&"--exclude".to_string()));
    }

    #[test]
    fn parameter_values_survive_any_quoting() {
        let overrides: indexmap::IndexMap<String, String> = [
            ("Plain", "x"),
            ("Spaces", "a b,c=d"),
            ("Quote", "it's \"q\""),
            ("Number", "0123"),
            ("Empty", ""),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let back: BTreeMap<String, String> =
            serde_yaml::from_str(&parameters_yaml(&overrides)).expect("yaml");
        assert_eq!(back, overrides.into_iter().collect::<BTreeMap<_, _>>());
    }

    #[test]
    fn a_logical_id_shared_across_stacks_cannot_be_excluded_for_one_of_them() {
        let child = "Resources:\n  Fn: {Type: AWS::Serverless::Function, Properties: {CodeUri: py, Handler: app.h, Runtime: python3.11}}\n";
        let root = "Resources:\n  Fn: {Type: AWS::Serverless::Function, Metadata: {BuildMethod: rust-cargolambda}, Properties: {CodeUri: r, Handler: bootstrap, Runtime: provided.al2}}\n  Child: {Type: AWS::Serverless::Application, Properties: {Location: child/template.yaml}}\n";
        let p = project(&[
            ("/p/template.yaml", root),
            ("/p/child/template.yaml", child),
        ]);
        let err = plan_handoff(&p, None, &[]).expect_err("clash");
        assert!(err.before_build);
        assert!(
            err.message
                .starts_with("Fn and Child/Fn have the same logical id 'Fn'"),
            "{}",
            err.message
        );
    }
}

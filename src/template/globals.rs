//! `Globals.Function` merged into each `AWS::Serverless::Function`, as SAM's translator does.

use anyhow::{Result, bail};
use serde_yaml::{Mapping, Value};

/// Keys SAM accepts under `Globals.Function`.
const FUNCTION_GLOBAL_KEYS: &[&str] = &[
    "Handler",
    "Runtime",
    "CodeUri",
    "DeadLetterQueue",
    "Description",
    "MemorySize",
    "Timeout",
    "VpcConfig",
    "Environment",
    "Tags",
    "PropagateTags",
    "Tracing",
    "KmsKeyArn",
    "AutoPublishAlias",
    "AutoPublishAliasAllProperties",
    "Layers",
    "DeploymentPreference",
    "RolePath",
    "PermissionsBoundary",
    "ReservedConcurrentExecutions",
    "ProvisionedConcurrencyConfig",
    "AssumeRolePolicyDocument",
    "EventInvokeConfig",
    "FileSystemConfigs",
    "CodeSigningConfigArn",
    "Architectures",
    "SnapStart",
    "EphemeralStorage",
    "FunctionUrlConfig",
    "RuntimeManagementConfig",
    "LoggingConfig",
    "RecursiveLoop",
    "SourceKMSKeyArn",
    "TenancyConfig",
    "DurableConfig",
    "CapacityProviderConfig",
    "FunctionScalingConfig",
    "PublishToLatestPublished",
    "VersionDeletionPolicy",
];

/// Returns the template's `Globals.Function` map after checking its keys.
pub fn function_globals(template: &Mapping) -> Result<Mapping> {
    let Some(globals) = template.get("Globals") else {
        return Ok(Mapping::new());
    };
    let Some(globals) = globals.as_mapping() else {
        bail!(
            "'Globals' must be a map (found {})",
            super::kind_of(globals)
        );
    };
    let Some(function) = globals.get("Function") else {
        return Ok(Mapping::new());
    };
    let Some(function) = function.as_mapping() else {
        bail!(
            "'Globals.Function' must be a map (found {})",
            super::kind_of(function)
        );
    };
    for key in function.keys() {
        let name = key.as_str().unwrap_or_default();
        if !FUNCTION_GLOBAL_KEYS.contains(&name) {
            bail!(
                "'{}' is not a supported property of 'Function' in Globals. Must be one of the following values - {:?}",
                super::value_text(key),
                FUNCTION_GLOBAL_KEYS
            );
        }
    }
    Ok(function.clone())
}

/// Lays the function's own properties over the globals: maps merge key by key, lists join
/// (globals first) except `Architectures`, and anything else the function sets wins.
pub fn merge_function_globals(globals: &Mapping, properties: &Mapping) -> Mapping {
    let mut merged = globals.clone();
    for (key, own) in properties {
        let value = match (merged.get(key), own) {
            (Some(global), own) if key.as_str() != Some("Architectures") => {
                merge_value(global, own)
            }
            _ => own.clone(),
        };
        merged.insert(key.clone(), value);
    }
    // Properties the function sets come in its own order after the globals it did not set;
    // the result is only read by key, so the order does not reach the output template.
    merged
}

fn merge_value(global: &Value, own: &Value) -> Value {
    match (global, own) {
        (Value::Mapping(g), Value::Mapping(o)) if !is_intrinsic(g) && !is_intrinsic(o) => {
            let mut merged = g.clone();
            for (key, value) in o {
                let value = match merged.get(key) {
                    Some(existing) => merge_value(existing, value),
                    None => value.clone(),
                };
                merged.insert(key.clone(), value);
            }
            Value::Mapping(merged)
        }
        (Value::Sequence(g), Value::Sequence(o)) => {
            Value::Sequence(g.iter().chain(o.iter()).cloned().collect())
        }
        _ => own.clone(),
    }
}

fn is_intrinsic(map: &Mapping) -> bool {
    map.len() == 1
        && map
            .keys()
            .next()
            .and_then(Value::as_str)
            .is_some_and(|k| k == "Ref" || k == "Condition" || k.starts_with("Fn::"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(text: &str) -> Mapping {
        serde_yaml::from_str(text).expect("yaml")
    }

    #[test]
    fn function_values_win_and_maps_merge() {
        let globals =
            map("Runtime: provided.al2\nEnvironment: {Variables: {A: g, B: g}}\nTimeout: 3\n");
        let own = map("Runtime: provided.al2023\nEnvironment: {Variables: {B: f}}\n");
        let merged = merge_function_globals(&globals, &own);
        assert_eq!(
            merged,
            map("Runtime: provided.al2023\nEnvironment: {Variables: {A: g, B: f}}\nTimeout: 3\n")
        );
    }

    #[test]
    fn lists_join_but_architectures_are_replaced() {
        let globals = map("Layers: [a]\nArchitectures: [x86_64]\n");
        let own = map("Layers: [b]\nArchitectures: [arm64]\n");
        let merged = merge_function_globals(&globals, &own);
        assert_eq!(merged, map("Layers: [a, b]\nArchitectures: [arm64]\n"));
    }

    #[test]
    fn intrinsic_maps_are_replaced_not_merged() {
        let globals = map("CodeUri: {Ref: Src}\n");
        let own = map("CodeUri: {'Fn::Sub': x}\n");
        assert_eq!(merge_function_globals(&globals, &own), own);
    }

    #[test]
    fn unsupported_globals_key_is_refused() {
        let template = map("Globals: {Function: {Policies: []}}\n");
        let err = function_globals(&template).expect_err("Policies is not allowed");
        assert!(
            err.to_string()
                .contains("'Policies' is not a supported property of 'Function'")
        );
    }
}

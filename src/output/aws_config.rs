//! The AWS settings of an `s3://` remote cache, found where the AWS CLI finds them: the
//! environment (`AWS_ACCESS_KEY_ID`…, `AWS_REGION`, `AWS_ENDPOINT_URL`), then the profile
//! (`AWS_PROFILE`, else `default`) in `~/.aws/credentials` and `~/.aws/config`, then what
//! object_store resolves itself (web identity, ECS/EKS container credentials, the EC2 role).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use anyhow::{Context, Result, anyhow};

use crate::settings::Environment;

/// Where and as whom to reach S3.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AwsConfig {
    pub region: String,
    /// `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL` or the profile's `endpoint_url`.
    pub endpoint: Option<String>,
    pub credentials: Credentials,
    /// The `AWS_*` variables object_store reads itself (web identity, container credentials).
    pub passed_through: Vec<(String, String)>,
}

/// The credentials found, or what is left to object_store.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum Credentials {
    Static {
        key_id: String,
        secret: String,
        token: Option<String>,
    },
    /// Web identity, container or instance credentials: object_store fetches them.
    Ambient,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Static { key_id, .. } => write!(f, "Static({key_id})"),
            Credentials::Ambient => write!(f, "Ambient"),
        }
    }
}

/// Variables object_store understands and resolves credentials from on its own.
const PASSED_THROUGH: &[&str] = &[
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
];

/// Resolves region, endpoint and credentials as the AWS CLI would.
pub(crate) fn resolve(env: &Environment) -> Result<AwsConfig> {
    let profile_name = env
        .non_empty("AWS_PROFILE")
        .or_else(|| env.non_empty("AWS_DEFAULT_PROFILE"))
        .unwrap_or("default")
        .to_string();
    let home = env.home();
    let file = |variable: &str, default: &str| -> Option<PathBuf> {
        env.non_empty(variable)
            .map(PathBuf::from)
            .or_else(|| home.as_ref().map(|h| h.join(".aws").join(default)))
    };
    let config_profile = file("AWS_CONFIG_FILE", "config")
        .and_then(|path| std::fs::read_to_string(path).ok())
        .map(|text| profile_section(&text, &profile_name, true))
        .unwrap_or_default();
    let credentials_profile = file("AWS_SHARED_CREDENTIALS_FILE", "credentials")
        .and_then(|path| std::fs::read_to_string(path).ok())
        .map(|text| profile_section(&text, &profile_name, false))
        .unwrap_or_default();

    let region = env
        .non_empty("AWS_REGION")
        .or_else(|| env.non_empty("AWS_DEFAULT_REGION"))
        .or_else(|| config_profile.get("region").map(String::as_str))
        .unwrap_or("us-east-1")
        .to_string();
    let ignore_endpoints = env
        .non_empty("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let endpoint = if ignore_endpoints {
        None
    } else {
        env.non_empty("AWS_ENDPOINT_URL_S3")
            .or_else(|| env.non_empty("AWS_ENDPOINT_URL"))
            .or_else(|| config_profile.get("endpoint_url").map(String::as_str))
            .map(|e| e.trim_end_matches('/').to_string())
    };
    let passed_through: Vec<(String, String)> = PASSED_THROUGH
        .iter()
        .filter_map(|name| {
            env.non_empty(name)
                .map(|v| (name.to_string(), v.to_string()))
        })
        .collect();

    let credentials = if let (Some(key_id), Some(secret)) = (
        env.non_empty("AWS_ACCESS_KEY_ID"),
        env.non_empty("AWS_SECRET_ACCESS_KEY"),
    ) {
        Credentials::Static {
            key_id: key_id.to_string(),
            secret: secret.to_string(),
            token: env.non_empty("AWS_SESSION_TOKEN").map(str::to_string),
        }
    } else if !passed_through.is_empty() {
        Credentials::Ambient
    } else if let Some(found) = static_keys(&credentials_profile).or(static_keys(&config_profile)) {
        found
    } else if [
        "role_arn",
        "sso_session",
        "sso_start_url",
        "credential_process",
    ]
    .iter()
    .any(|k| config_profile.contains_key(*k) || credentials_profile.contains_key(*k))
    {
        export_credentials(&profile_name)?
    } else if env
        .non_empty("AWS_EC2_METADATA_DISABLED")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    {
        return Err(anyhow!(
            "no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE to a profile in ~/.aws/credentials"
        ));
    } else {
        Credentials::Ambient
    };
    Ok(AwsConfig {
        region,
        endpoint,
        credentials,
        passed_through,
    })
}

fn static_keys(profile: &BTreeMap<String, String>) -> Option<Credentials> {
    Some(Credentials::Static {
        key_id: profile.get("aws_access_key_id")?.clone(),
        secret: profile.get("aws_secret_access_key")?.clone(),
        token: profile.get("aws_session_token").cloned(),
    })
}

/// Role, SSO and credential_process profiles: the AWS CLI resolves them
/// (`aws configure export-credentials`), as `sam deploy` users have it installed.
fn export_credentials(profile: &str) -> Result<Credentials> {
    let output = Command::new("aws")
        .args([
            "configure",
            "export-credentials",
            "--profile",
            profile,
            "--format",
            "process",
        ])
        .stdin(Stdio::null())
        .output()
        .with_context(|| {
            format!("profile '{profile}' needs the AWS CLI (`aws`) to resolve its credentials, and it could not be started")
        })?;
    if !output.status.success() {
        return Err(anyhow!(
            "`aws configure export-credentials --profile {profile}` failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let value: serde_json::Value = serde_json::from_slice(&output.stdout)
        .context("`aws configure export-credentials` printed something that is not JSON")?;
    let text = |name: &str| value.get(name).and_then(|v| v.as_str()).map(str::to_string);
    match (text("AccessKeyId"), text("SecretAccessKey")) {
        (Some(key_id), Some(secret)) => Ok(Credentials::Static {
            key_id,
            secret,
            token: text("SessionToken"),
        }),
        _ => Err(anyhow!(
            "`aws configure export-credentials --profile {profile}` gave no AccessKeyId/SecretAccessKey"
        )),
    }
}

/// The keys of one profile in an AWS INI file: `[name]` in the credentials file,
/// `[profile name]` (or `[default]`) in the config file. Nested (indented) settings are skipped.
fn profile_section(text: &str, profile: &str, config_file: bool) -> BTreeMap<String, String> {
    let wanted = if config_file && profile != "default" {
        format!("profile {profile}")
    } else {
        profile.to_string()
    };
    let mut values = BTreeMap::new();
    let mut inside = false;
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        if let Some(name) = trimmed
            .strip_prefix('[')
            .and_then(|rest| rest.strip_suffix(']'))
        {
            inside = name.split_whitespace().collect::<Vec<_>>().join(" ") == wanted;
            continue;
        }
        if !inside || line.starts_with([' ', '\t']) {
            continue;
        }
        if let Some((key, value)) = trimmed.split_once('=') {
            let value = value.trim();
            if !value.is_empty() {
                values.insert(key.trim().to_ascii_lowercase(), value.to_string());
            }
        }
    }
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_keys_win_and_region_falls_back() {
        let env = Environment::from_pairs(&[
            ("AWS_ACCESS_KEY_ID", "AKID"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
            ("AWS_DEFAULT_REGION", "eu-west-3"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:9000/"),
            ("HOME", "/nonexistent"),
        ]);
        let config = resolve(&env).expect("resolves");
        assert_eq!(config.region, "eu-west-3");
        assert_eq!(config.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        assert_eq!(
            config.credentials,
            Credentials::Static {
                key_id: "AKID".into(),
                secret: "secret".into(),
                token: None
            }
        );
    }

    #[test]
    fn profiles_come_from_the_shared_files() {
        let home = tempfile::tempdir().expect("tmp");
        std::fs::create_dir(home.path().join(".aws")).expect("mkdir");
        std::fs::write(
            home.path().join(".aws/credentials"),
            "[default]\naws_access_key_id = D\naws_secret_access_key = d\n\n[ci]\naws_access_key_id=CI\naws_secret_access_key = ci-secret\naws_session_token = tok\n",
        )
        .expect("write");
        std::fs::write(
            home.path().join(".aws/config"),
            "[default]\nregion = us-west-2\n[profile ci]\nregion = ap-south-1\nendpoint_url = http://localhost:4566\ns3 =\n  addressing_style = path\n",
        )
        .expect("write");
        let home_text = home.path().to_string_lossy().into_owned();
        let env = Environment::from_pairs(&[("HOME", &home_text), ("AWS_PROFILE", "ci")]);
        let config = resolve(&env).expect("resolves");
        assert_eq!(config.region, "ap-south-1");
        assert_eq!(config.endpoint.as_deref(), Some("http://localhost:4566"));
        assert_eq!(
            config.credentials,
            Credentials::Static {
                key_id: "CI".into(),
                secret: "ci-secret".into(),
                token: Some("tok".into())
            }
        );
        let env = Environment::from_pairs(&[("HOME", &home_text)]);
        let config = resolve(&env).expect("resolves");
        assert_eq!(config.region, "us-west-2");
        assert_eq!(config.endpoint, None);
    }

    #[test]
    fn no_credentials_without_the_instance_role_is_an_error() {
        let env = Environment::from_pairs(&[
            ("HOME", "/nonexistent"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ]);
        let error = resolve(&env).expect_err("no credentials");
        assert!(error.to_string().contains("no AWS credentials found"));
        let env = Environment::from_pairs(&[
            ("HOME", "/nonexistent"),
            ("AWS_WEB_IDENTITY_TOKEN_FILE", "/t"),
            ("AWS_ROLE_ARN", "arn:aws:iam::1:role/r"),
        ]);
        let config = resolve(&env).expect("web identity");
        assert_eq!(config.credentials, Credentials::Ambient);
        assert_eq!(config.passed_through.len(), 2);
    }
}

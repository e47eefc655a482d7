//! `--remote-cache URL`: where a shared cache lives, as the user wrote it.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::paths;

/// Where a remote cache lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoteLocation {
    S3 { bucket: String, prefix: String },
    Folder(PathBuf),
}

impl RemoteLocation {
    /// `s3://bucket[/prefix]`, `file:///path` or a folder path (relative to `cwd`).
    pub fn parse(text: &str, cwd: &Path) -> std::result::Result<RemoteLocation, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("it is empty; give s3://bucket/prefix or a folder path".into());
        }
        if let Some(rest) = text.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() || bucket.contains(char::is_whitespace) {
                return Err(format!(
                    "'{text}' names no bucket; write it as s3://bucket/prefix"
                ));
            }
            return Ok(RemoteLocation::S3 {
                bucket: bucket.to_string(),
                prefix: prefix.trim_matches('/').to_string(),
            });
        }
        if let Some(path) = text.strip_prefix("file://") {
            return Ok(RemoteLocation::Folder(paths::absolute(
                Path::new(path),
                cwd,
            )));
        }
        if let Some((scheme, _)) = text.split_once("://") {
            return Err(format!(
                "'{scheme}://' is not supported; use s3://bucket/prefix or a folder path"
            ));
        }
        Ok(RemoteLocation::Folder(paths::absolute(
            Path::new(text),
            cwd,
        )))
    }
}

impl fmt::Display for RemoteLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RemoteLocation::S3 { bucket, prefix } if prefix.is_empty() => {
                write!(f, "s3://{bucket}")
            }
            RemoteLocation::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
            RemoteLocation::Folder(path) => write!(f, "{}", path.display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_parse() {
        let cwd = Path::new("/work/p");
        assert_eq!(
            RemoteLocation::parse("s3://bucket/some/prefix/", cwd),
            Ok(RemoteLocation::S3 {
                bucket: "bucket".into(),
                prefix: "some/prefix".into()
            })
        );
        assert_eq!(
            RemoteLocation::parse("s3://bucket", cwd).map(|l| l.to_string()),
            Ok("s3://bucket".to_string())
        );
        assert_eq!(
            RemoteLocation::parse("../share/cache", cwd),
            Ok(RemoteLocation::Folder(PathBuf::from("/work/share/cache")))
        );
        assert_eq!(
            RemoteLocation::parse("file:///mnt/cache", cwd),
            Ok(RemoteLocation::Folder(PathBuf::from("/mnt/cache")))
        );
        assert!(RemoteLocation::parse("s3://", cwd).is_err());
        assert!(
            RemoteLocation::parse("gs://b/p", cwd)
                .expect_err("refused")
                .contains("'gs://' is not supported")
        );
        assert!(RemoteLocation::parse(" ", cwd).is_err());
    }
}

//! `--remote-cache`: `--cached` artifacts shared between checkouts and machines, in an S3
//! bucket (`s3://bucket/prefix`) or a folder. Each file is stored once under its SHA-256
//! (`blobs/<sha256>`) and an entry (`entries/<key>.json`) naming them is written last, so a
//! reader never sees half an entry; every file is checked on the way back. Trouble with the
//! store is reported to the caller, which warns and builds: never a failure, never a wrong file.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use futures_util::stream::{self, StreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path as StorePath;
use object_store::{
    BackoffConfig, ClientOptions, ObjectStore, ObjectStoreExt, PutPayload, RetryConfig,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::output::aws_config::{self, Credentials};
use crate::paths;
use crate::settings::{Environment, RemoteLocation};
use crate::store::hex;

/// One file of an entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct EntryFile {
    /// Relative to the artifact folder, with `/`.
    pub path: String,
    pub size: u64,
    pub sha256: String,
    /// Unix permission bits (0o755 for a bootstrap).
    pub mode: u32,
}

/// What `entries/<key>.json` holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Entry {
    pub format: u32,
    pub key: String,
    pub files: Vec<EntryFile>,
}

/// Why the store could not be used for one entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The store did not answer, or refused: skip it for the rest of the run.
    Unreachable(String),
    /// The entry is damaged or incomplete: build this one.
    Corrupt(String),
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Unreachable(why) | Problem::Corrupt(why) => write!(f, "{why}"),
        }
    }
}

/// What a lookup found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    /// Every file arrived, checked, in the destination folder; the bytes downloaded.
    Restored(u64),
    Missing,
    Failed(Problem),
}

/// An open remote cache.
pub struct Remote {
    pub location: RemoteLocation,
    store: Arc<dyn ObjectStore>,
    root: StorePath,
    runtime: tokio::runtime::Runtime,
    /// Set after the first unreachable answer: later calls give up at once.
    down: AtomicBool,
}

/// Requests in flight at once.
const CONCURRENCY: usize = 16;

impl Remote {
    /// Connects nothing yet: builds the client for `location`.
    pub fn open(location: &RemoteLocation, env: &Environment) -> Result<Remote> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("Unable to start the remote cache's I/O runtime")?;
        let (store, root): (Arc<dyn ObjectStore>, StorePath) = match location {
            RemoteLocation::Folder(folder) => {
                // The folder itself may be created, not the folders above it: a share that is
                // not mounted must not silently become a local folder.
                if !folder.is_dir() {
                    let parent = folder.parent().unwrap_or(Path::new("/"));
                    if !parent.is_dir() {
                        return Err(anyhow!(
                            "{} does not exist (is the share mounted?)",
                            parent.display()
                        ));
                    }
                    std::fs::create_dir(folder).with_context(|| {
                        format!(
                            "Unable to create the remote cache folder {}",
                            folder.display()
                        )
                    })?;
                }
                let store = LocalFileSystem::new_with_prefix(folder).with_context(|| {
                    format!(
                        "Unable to open the remote cache folder {}",
                        folder.display()
                    )
                })?;
                (Arc::new(store), StorePath::default())
            }
            RemoteLocation::S3 { bucket, prefix } => (
                Arc::new(s3_store(bucket, env)?),
                StorePath::from(prefix.as_str()),
            ),
        };
        Ok(Remote {
            location: location.clone(),
            store,
            root,
            runtime,
            down: AtomicBool::new(false),
        })
    }

    fn entry_path(&self, key: &str) -> StorePath {
        self.root
            .clone()
            .join("entries")
            .join(format!("{key}.json"))
    }

    fn blob_path(&self, sha256: &str) -> StorePath {
        self.root.clone().join("blobs").join(sha256)
    }

    /// Looks up each `(key, destination)`; a found entry is downloaded, checked and moved into
    /// `destination` (replacing it) as a whole.
    pub fn fetch_all(&self, wanted: &[(String, PathBuf)]) -> Vec<Fetched> {
        self.runtime.block_on(
            stream::iter(wanted.iter().map(|(key, dest)| self.fetch(key, dest)))
                .buffered(CONCURRENCY)
                .collect(),
        )
    }

    async fn fetch(&self, key: &str, destination: &Path) -> Fetched {
        if self.down.load(Ordering::SeqCst) {
            return Fetched::Failed(Problem::Unreachable("skipped".into()));
        }
        let bytes = match self.store.get(&self.entry_path(key)).await {
            Ok(found) => found.bytes().await,
            Err(e) => Err(e),
        };
        let bytes = match bytes {
            Ok(bytes) => bytes,
            Err(object_store::Error::NotFound { .. }) => return Fetched::Missing,
            Err(e) => return Fetched::Failed(self.unreachable(&e)),
        };
        let entry = match parse_entry(&bytes, key) {
            Ok(entry) => entry,
            Err(why) => return Fetched::Failed(Problem::Corrupt(why)),
        };
        let temporary = temporary_sibling(destination);
        let _ = std::fs::remove_dir_all(&temporary);
        let result = self.download(&entry, &temporary).await;
        let result = result.and_then(|size| {
            let _ = std::fs::remove_dir_all(destination);
            std::fs::rename(&temporary, destination)
                .map(|()| size)
                .map_err(|e| {
                    Problem::Corrupt(format!(
                        "unable to move the download into {}: {e}",
                        destination.display()
                    ))
                })
        });
        match result {
            Ok(size) => Fetched::Restored(size),
            Err(problem) => {
                let _ = std::fs::remove_dir_all(&temporary);
                Fetched::Failed(problem)
            }
        }
    }

    async fn download(&self, entry: &Entry, folder: &Path) -> Result<u64, Problem> {
        let mut total = 0;
        for file in &entry.files {
            let bytes = match self.store.get(&self.blob_path(&file.sha256)).await {
                Ok(found) => found.bytes().await,
                Err(e) => Err(e),
            };
            let bytes = match bytes {
                Ok(bytes) => bytes,
                Err(object_store::Error::NotFound { .. }) => {
                    return Err(Problem::Corrupt(format!(
                        "{} is missing from the store (partial entry)",
                        file.path
                    )));
                }
                Err(e) => return Err(self.unreachable(&e)),
            };
            let digest = hex(&Sha256::digest(&bytes));
            if bytes.len() as u64 != file.size || digest != file.sha256 {
                return Err(Problem::Corrupt(format!(
                    "{} does not match its SHA-256 ({} bytes, sha256 {digest}; expected {} bytes, {})",
                    file.path,
                    bytes.len(),
                    file.size,
                    file.sha256
                )));
            }
            let target = folder.join(&file.path);
            write_file(&target, &bytes, file.mode).map_err(|e| {
                Problem::Corrupt(format!("unable to write {}: {e:#}", target.display()))
            })?;
            total += file.size;
        }
        Ok(total)
    }

    /// Stores the files of each `(key, folder)`: contents first, then the entry. Returns the
    /// bytes sent per item.
    pub fn upload_all(&self, items: &[(String, PathBuf)]) -> Vec<Result<u64, Problem>> {
        self.runtime.block_on(
            stream::iter(items.iter().map(|(key, folder)| self.upload(key, folder)))
                .buffered(CONCURRENCY)
                .collect(),
        )
    }

    async fn upload(&self, key: &str, folder: &Path) -> Result<u64, Problem> {
        if self.down.load(Ordering::SeqCst) {
            return Err(Problem::Unreachable("skipped".into()));
        }
        let files = read_folder(folder).map_err(|e| Problem::Corrupt(format!("{e:#}")))?;
        let mut entry = Entry {
            format: 1,
            key: key.to_string(),
            files: Vec::new(),
        };
        let mut total = 0;
        for (file, bytes) in files {
            total += file.size;
            // Always written, even when present: a damaged copy is replaced by a good one.
            self.store
                .put(&self.blob_path(&file.sha256), PutPayload::from(bytes))
                .await
                .map_err(|e| self.unreachable(&e))?;
            entry.files.push(file);
        }
        let json =
            serde_json::to_vec_pretty(&entry).map_err(|e| Problem::Corrupt(e.to_string()))?;
        total += json.len() as u64;
        self.store
            .put(&self.entry_path(key), PutPayload::from(json))
            .await
            .map_err(|e| self.unreachable(&e))?;
        Ok(total)
    }

    fn unreachable(&self, error: &object_store::Error) -> Problem {
        self.down.store(true, Ordering::SeqCst);
        Problem::Unreachable(first_line(error))
    }
}

/// The S3 client: region, endpoint and credentials as the AWS CLI finds them; short timeouts
/// and few retries, since a build should not wait long for a cache.
fn s3_store(bucket: &str, env: &Environment) -> Result<object_store::aws::AmazonS3> {
    // reqwest's TLS needs a process-wide crypto provider; ring is the one compiled in.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let config = aws_config::resolve(env)?;
    let mut builder = AmazonS3Builder::new();
    for (name, value) in &config.passed_through {
        if let Ok(key) = name.to_ascii_lowercase().parse() {
            builder = builder.with_config(key, value);
        }
    }
    builder = builder
        .with_bucket_name(bucket)
        .with_region(&config.region)
        .with_retry(RetryConfig {
            backoff: BackoffConfig {
                init_backoff: Duration::from_millis(100),
                max_backoff: Duration::from_secs(1),
                base: 2.0,
            },
            max_retries: 2,
            retry_timeout: Duration::from_secs(15),
        })
        .with_client_options(
            ClientOptions::new()
                .with_connect_timeout(Duration::from_secs(3))
                .with_timeout(Duration::from_secs(120))
                .with_allow_http(
                    config
                        .endpoint
                        .as_deref()
                        .is_some_and(|e| e.starts_with("http://")),
                ),
        );
    builder = match &config.endpoint {
        Some(endpoint) => builder.with_endpoint(endpoint),
        // AWS itself: virtual-hosted addresses, except for bucket names with dots.
        None => builder.with_virtual_hosted_style_request(!bucket.contains('.')),
    };
    if let Credentials::Static {
        key_id,
        secret,
        token,
    } = &config.credentials
    {
        builder = builder
            .with_access_key_id(key_id)
            .with_secret_access_key(secret);
        if let Some(token) = token {
            builder = builder.with_token(token);
        }
    }
    builder.build().map_err(|e| anyhow!("{}", first_line(&e)))
}

fn parse_entry(bytes: &[u8], key: &str) -> Result<Entry, String> {
    let entry: Entry =
        serde_json::from_slice(bytes).map_err(|e| format!("the entry is not valid JSON ({e})"))?;
    if entry.format != 1 || entry.key != key {
        return Err(format!(
            "the entry has format {} and key {}, expected format 1 and key {key}",
            entry.format, entry.key
        ));
    }
    if entry.files.is_empty() {
        return Err("the entry lists no files".into());
    }
    for file in &entry.files {
        let safe = !file.path.is_empty()
            && !file.path.starts_with('/')
            && file
                .path
                .split('/')
                .all(|part| !part.is_empty() && part != "." && part != "..");
        let hash_ok = file.sha256.len() == 64 && file.sha256.bytes().all(|b| b.is_ascii_hexdigit());
        if !safe || !hash_ok {
            return Err(format!("the entry names an unsafe file ({})", file.path));
        }
    }
    Ok(entry)
}

/// Every file under `folder` with its bytes and what the entry records about it.
fn read_folder(folder: &Path) -> Result<Vec<(EntryFile, Vec<u8>)>> {
    use std::os::unix::fs::PermissionsExt;
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(folder).sort_by_file_name() {
        let entry = entry.with_context(|| format!("Unable to read {}", folder.display()))?;
        if !entry.file_type().is_file() {
            continue;
        }
        let bytes = std::fs::read(entry.path())
            .with_context(|| format!("Unable to read {}", entry.path().display()))?;
        let relative = entry.path().strip_prefix(folder).unwrap_or(entry.path());
        let mode = entry
            .metadata()
            .map_or(0o644, |m| m.permissions().mode() & 0o777);
        files.push((
            EntryFile {
                path: paths::to_template_string(relative),
                size: bytes.len() as u64,
                sha256: hex(&Sha256::digest(&bytes)),
                mode,
            },
            bytes,
        ));
    }
    if files.is_empty() {
        return Err(anyhow!("{} holds no files", folder.display()));
    }
    Ok(files)
}

fn write_file(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, bytes)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o777))?;
    Ok(())
}

fn temporary_sibling(destination: &Path) -> PathBuf {
    let name = destination
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    destination.with_file_name(format!(".{name}.samrs-remote-{}", std::process::id()))
}

/// The first line of an error, without object_store's nested detail.
fn first_line(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        let more = inner.to_string();
        if !text.contains(&more) {
            text = format!("{text}: {more}");
        }
        source = inner.source();
    }
    text.lines().next().unwrap_or_default().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_entries_are_refused() {
        let good = "{\"format\":1,\"key\":\"k\",\"files\":[{\"path\":\"bootstrap\",\"size\":1,\"sha256\":\"0000000000000000000000000000000000000000000000000000000000000000\",\"mode\":493}]}";
        assert!(parse_entry(good.as_bytes(), "k").is_ok());
        assert!(parse_entry(good.as_bytes(), "other").is_err());
        assert!(parse_entry(good.replace("bootstrap", "../x").as_bytes(), "k").is_err());
        assert!(parse_entry(good.replace("bootstrap", "/etc/x").as_bytes(), "k").is_err());
        assert!(parse_entry(b"{not json", "k").is_err());
    }

    #[test]
    fn a_folder_store_round_trips_and_catches_damage() {
        let tmp = tempfile::tempdir().expect("tmp");
        let artifacts = tmp.path().join("F");
        write_file(&artifacts.join("bootstrap"), b"\x7fELF binary", 0o755).expect("write");
        let location = RemoteLocation::Folder(tmp.path().join("remote"));
        let remote = Remote::open(&location, &Environment::default()).expect("open");
        let sent = remote.upload_all(&[("k1".into(), artifacts.clone())]);
        assert!(matches!(sent[0], Ok(n) if n > 11), "{sent:?}");

        let out = tmp.path().join("cache/u1");
        let got = remote.fetch_all(&[
            ("k1".into(), out.clone()),
            ("k2".into(), tmp.path().join("cache/u2")),
        ]);
        assert_eq!(got, [Fetched::Restored(11), Fetched::Missing]);
        assert_eq!(
            std::fs::read(out.join("bootstrap")).expect("read"),
            b"\x7fELF binary"
        );
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(out.join("bootstrap"))
                .expect("meta")
                .permissions(),
        );
        assert_eq!(mode & 0o777, 0o755);

        let blob = tmp
            .path()
            .join("remote/blobs")
            .read_dir()
            .expect("blobs")
            .next()
            .expect("one blob")
            .expect("entry")
            .path();
        std::fs::write(&blob, b"\x7fELF bumpy").expect("damage");
        let out2 = tmp.path().join("cache/u3");
        let got = remote.fetch_all(&[("k1".into(), out2.clone())]);
        assert!(
            matches!(&got[0], Fetched::Failed(Problem::Corrupt(why)) if why.contains("SHA-256")),
            "{got:?}"
        );
        assert!(!out2.exists(), "nothing half-written is left");

        std::fs::remove_file(&blob).expect("delete");
        let got = remote.fetch_all(&[("k1".into(), out2.clone())]);
        assert!(
            matches!(&got[0], Fetched::Failed(Problem::Corrupt(why)) if why.contains("partial")),
            "{got:?}"
        );
    }
}

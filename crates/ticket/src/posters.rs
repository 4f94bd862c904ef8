//! Poster storage behind one trait, [`PosterStore`]: local disk (`UPLOAD_DIR`, the default for
//! local runs) and S3 (`AWS_S3_BUCKET`, with `AWS_S3_ENDPOINT` for S3-compatible servers).
//! What is an acceptable image is decided here too, by content (magic bytes), never by name.

use std::fmt::Debug;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;

use axum::body::Bytes;
use tiketi_core::config::StorageConfig;

/// Largest poster accepted.
pub const MAX_POSTER_BYTES: usize = 5 * 1024 * 1024;

/// A boxed future, so stores can sit behind `dyn PosterStore`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where posters are kept. Keys are `posters/<uuid>.<ext>`, chosen by the server.
pub trait PosterStore: Send + Sync + Debug {
    /// Stores `body` under `key`.
    fn put<'a>(
        &'a self,
        key: &'a str,
        body: Bytes,
        content_type: &'static str,
    ) -> BoxFuture<'a, anyhow::Result<()>>;
    /// Reads `key` back (`None` if absent).
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, anyhow::Result<Option<Bytes>>>;
    /// The URL clients load `key` from.
    fn public_url(&self, key: &str) -> String;
}

/// An image format we accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageKind {
    /// PNG.
    Png,
    /// JPEG.
    Jpeg,
    /// GIF.
    Gif,
    /// WebP.
    Webp,
}

impl ImageKind {
    /// Recognises an image by its first bytes.
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(Self::Png)
        } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(Self::Jpeg)
        } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
            Some(Self::Gif)
        } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
            Some(Self::Webp)
        } else {
            None
        }
    }

    /// The file extension of stored keys.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Png => "png",
            Self::Jpeg => "jpg",
            Self::Gif => "gif",
            Self::Webp => "webp",
        }
    }

    /// The content type served.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Png => "image/png",
            Self::Jpeg => "image/jpeg",
            Self::Gif => "image/gif",
            Self::Webp => "image/webp",
        }
    }

    /// The kind a stored key's extension names.
    pub fn from_extension(ext: &str) -> Option<Self> {
        [Self::Png, Self::Jpeg, Self::Gif, Self::Webp]
            .into_iter()
            .find(|k| k.extension() == ext)
    }
}

/// Validates a file name from a URL: `<uuid>.<known extension>`, nothing else (no traversal).
pub fn parse_file_name(name: &str) -> Option<(uuid::Uuid, ImageKind)> {
    let (stem, ext) = name.split_once('.')?;
    let id = uuid::Uuid::parse_str(stem).ok()?;
    // Only the canonical hyphenated form, so one file has one name.
    if id.hyphenated().to_string() != stem {
        return None;
    }
    Some((id, ImageKind::from_extension(ext)?))
}

/// The store the configuration asks for: S3 when `AWS_S3_BUCKET` is set, else local disk.
pub fn from_config(storage: &StorageConfig) -> Arc<dyn PosterStore> {
    match &storage.bucket {
        Some(bucket) => Arc::new(crate::posters_s3::S3Store::new(storage, bucket)),
        None => Arc::new(LocalStore::new(&storage.upload_dir)),
    }
}

/// Posters on local disk, served back by `GET /api/image/files/:name`.
#[derive(Debug, Clone)]
pub struct LocalStore {
    dir: PathBuf,
}

impl LocalStore {
    /// Files go under `dir` (created on first write).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }
}

impl PosterStore for LocalStore {
    fn put<'a>(
        &'a self,
        key: &'a str,
        body: Bytes,
        _content_type: &'static str,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let path = self.dir.join(key);
            if let Some(parent) = path.parent() {
                tokio::fs::create_dir_all(parent).await?;
            }
            // Write then rename: a reader never sees half a file.
            let partial = path.with_extension("partial");
            tokio::fs::write(&partial, &body).await?;
            tokio::fs::rename(&partial, &path).await?;
            Ok(())
        })
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, anyhow::Result<Option<Bytes>>> {
        Box::pin(async move {
            match tokio::fs::read(self.dir.join(key)).await {
                Ok(bytes) => Ok(Some(Bytes::from(bytes))),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(e.into()),
            }
        })
    }

    fn public_url(&self, key: &str) -> String {
        let name = key.rsplit('/').next().unwrap_or(key);
        format!("/api/image/files/{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_recognised_by_content() {
        assert_eq!(
            ImageKind::sniff(b"\x89PNG\r\n\x1a\nrest"),
            Some(ImageKind::Png)
        );
        assert_eq!(
            ImageKind::sniff(&[0xFF, 0xD8, 0xFF, 0xE0]),
            Some(ImageKind::Jpeg)
        );
        assert_eq!(ImageKind::sniff(b"GIF89a..."), Some(ImageKind::Gif));
        assert_eq!(
            ImageKind::sniff(b"RIFF\0\0\0\0WEBPVP8 "),
            Some(ImageKind::Webp)
        );
        assert_eq!(ImageKind::sniff(b"<svg xmlns="), None);
        assert_eq!(ImageKind::sniff(b"RIFF\0\0\0\0WAVE"), None);
        assert_eq!(ImageKind::sniff(b""), None);
    }

    #[test]
    fn only_canonical_uuid_file_names_are_served() {
        let id = uuid::Uuid::new_v4();
        assert_eq!(
            parse_file_name(&format!("{id}.png")),
            Some((id, ImageKind::Png))
        );
        assert_eq!(parse_file_name(&format!("{id}.exe")), None);
        assert_eq!(parse_file_name("../../etc/passwd"), None);
        assert_eq!(parse_file_name(&format!("{}.png", id.simple())), None);
        assert_eq!(parse_file_name(&format!("{id}.png.png")), None);
    }
}

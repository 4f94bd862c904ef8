//! The S3 implementation of [`PosterStore`](crate::posters::PosterStore), with the AWS SDK.
//! `AWS_S3_ENDPOINT` points it at an S3-compatible server (path-style addressing, which such
//! servers expect); credentials come from the SDK's default chain (environment, profile, web
//! identity on EKS, instance metadata).
//!
//! The client is built on first use: loading the AWS configuration is async, and a process that
//! never uploads never touches AWS.

use aws_sdk_s3::Client;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
use axum::body::Bytes;
use tiketi_core::config::StorageConfig;
use tokio::sync::OnceCell;

use crate::posters::{BoxFuture, PosterStore};

/// Posters in an S3 bucket.
#[derive(Debug)]
pub struct S3Store {
    bucket: String,
    region: String,
    endpoint: Option<String>,
    credentials: Option<Credentials>,
    client: OnceCell<Client>,
}

impl S3Store {
    /// A store for `bucket` with the region and endpoint of `storage`.
    pub fn new(storage: &StorageConfig, bucket: &str) -> Self {
        Self {
            bucket: bucket.to_owned(),
            region: storage.region.clone(),
            endpoint: storage
                .endpoint
                .as_ref()
                .map(|e| e.trim_end_matches('/').to_owned()),
            credentials: None,
            client: OnceCell::new(),
        }
    }

    /// The same store signing with fixed keys instead of the default credential chain (tests
    /// and S3-compatible servers with their own keys).
    pub fn with_static_credentials(mut self, access_key: &str, secret_key: &str) -> Self {
        self.credentials = Some(Credentials::new(
            access_key,
            secret_key,
            None,
            None,
            "tiketi-static",
        ));
        self
    }

    async fn client(&self) -> &Client {
        self.client
            .get_or_init(|| async {
                let http = aws_smithy_http_client::Builder::new()
                    .tls_provider(Provider::Rustls(CryptoMode::Ring))
                    .build_https();
                let shared = aws_config::defaults(BehaviorVersion::latest())
                    .region(Region::new(self.region.clone()))
                    .http_client(http)
                    // Every outbound call is bounded: a stuck S3 must not hold an admin's upload
                    // (and a request slot) until the route's own timeout.
                    .timeout_config(
                        aws_config::timeout::TimeoutConfig::builder()
                            .connect_timeout(std::time::Duration::from_secs(5))
                            .operation_attempt_timeout(std::time::Duration::from_secs(15))
                            .operation_timeout(std::time::Duration::from_secs(25))
                            .build(),
                    )
                    .load()
                    .await;
                let mut config = aws_sdk_s3::config::Builder::from(&shared);
                if let Some(credentials) = &self.credentials {
                    config = config.credentials_provider(credentials.clone());
                }
                if let Some(endpoint) = &self.endpoint {
                    config = config.endpoint_url(endpoint).force_path_style(true);
                }
                Client::from_conf(config.build())
            })
            .await
    }
}

impl PosterStore for S3Store {
    fn put<'a>(
        &'a self,
        key: &'a str,
        body: Bytes,
        content_type: &'static str,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            self.client()
                .await
                .put_object()
                .bucket(&self.bucket)
                .key(key)
                .content_type(content_type)
                .body(ByteStream::from(body))
                .send()
                .await
                .map_err(|e| {
                    anyhow::anyhow!(
                        "S3 put {key}: {}",
                        aws_sdk_s3::error::DisplayErrorContext(e)
                    )
                })?;
            Ok(())
        })
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, anyhow::Result<Option<Bytes>>> {
        Box::pin(async move {
            let result = self
                .client()
                .await
                .get_object()
                .bucket(&self.bucket)
                .key(key)
                .send()
                .await;
            match result {
                Ok(output) => Ok(Some(output.body.collect().await?.into_bytes())),
                Err(e) => {
                    if e.as_service_error().is_some_and(|s| s.is_no_such_key()) {
                        Ok(None)
                    } else {
                        Err(anyhow::anyhow!(
                            "S3 get {key}: {}",
                            aws_sdk_s3::error::DisplayErrorContext(e)
                        ))
                    }
                }
            }
        })
    }

    fn public_url(&self, key: &str) -> String {
        match &self.endpoint {
            Some(endpoint) => format!("{endpoint}/{}/{key}", self.bucket),
            None => format!(
                "https://{}.s3.{}.amazonaws.com/{key}",
                self.bucket, self.region
            ),
        }
    }
}

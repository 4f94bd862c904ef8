//! Outbound HTTP (auth's JWKS, Google, payment providers, service-to-service calls): one way to
//! build a client, always with timeouts, TLS through rustls with the ring provider.

use std::sync::Once;
use std::time::Duration;

static CRYPTO: Once = Once::new();

/// Installs rustls' ring provider as the process default (once; harmless when one is set).
pub fn install_crypto_provider() {
    CRYPTO.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// An HTTP client whose every request gives up after `timeout` (connecting after at most 3 s).
pub fn client(timeout: Duration) -> reqwest::Client {
    install_crypto_provider();
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(3).min(timeout))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("the HTTP client configuration is valid")
}

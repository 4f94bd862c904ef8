//! Outgoing mail: the [`Mailer`] trait the auth flows send through, an SMTP implementation
//! (`lettre` over tokio, TLS by rustls) chosen when `SMTP_URL` is set, and a log-only one for
//! local runs when it is not.
//!
//! Sending never holds up or fails the request that caused it: [`send_in_background`] hands the
//! message to a task, and a failure is logged (without the message's body, which may carry a
//! verification link) and counted.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use tiketi_core::config::{Environment, MailConfig};

/// One plain-text message.
#[derive(Debug, Clone)]
pub struct Mail {
    /// The recipient's address.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub body: String,
}

/// What the future of [`Mailer::send`] is.
pub type Sending<'a> = Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send + 'a>>;

/// Something that delivers mail. A trait so tests and local runs can capture or log messages
/// instead of speaking SMTP.
pub trait Mailer: Send + Sync + std::fmt::Debug {
    /// Delivers `mail`.
    fn send(&self, mail: Mail) -> Sending<'_>;
}

/// The mailer the configuration asks for: SMTP with `SMTP_URL`, else log-only.
pub fn from_config(mail: &MailConfig, environment: Environment) -> anyhow::Result<Arc<dyn Mailer>> {
    match (&mail.smtp_url, &mail.from) {
        (Some(url), Some(from)) => Ok(Arc::new(SmtpMailer::new(url.expose(), from)?)),
        _ => {
            if environment == Environment::Production {
                tracing::warn!(
                    "SMTP_URL is not set: verification mail is not sent, only noted in the log"
                );
            }
            Ok(Arc::new(LogMailer {
                show_body: environment != Environment::Production,
            }))
        }
    }
}

/// Delivers through an SMTP server.
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The transport holds the SMTP credentials: only the sender is shown.
        f.debug_struct("SmtpMailer")
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

impl SmtpMailer {
    /// A mailer for `url` (`smtp://` plain or `?tls=required` STARTTLS, `smtps://` TLS; user
    /// and password in the URL when the server wants them) sending as `from`.
    pub fn new(url: &str, from: &str) -> anyhow::Result<Self> {
        let from: Mailbox = from
            .parse()
            .map_err(|e| anyhow::anyhow!("MAIL_FROM is not a mailbox: {e}"))?;
        // The URL may carry a password: errors name the problem, never the value.
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| anyhow::anyhow!("SMTP_URL is not usable: {e}"))?
            .timeout(Some(std::time::Duration::from_secs(15)))
            .build();
        Ok(Self { transport, from })
    }
}

impl Mailer for SmtpMailer {
    fn send(&self, mail: Mail) -> Sending<'_> {
        Box::pin(async move {
            let to: Mailbox = mail
                .to
                .parse()
                .map_err(|e| anyhow::anyhow!("bad recipient: {e}"))?;
            let message = lettre::Message::builder()
                .from(self.from.clone())
                .to(to)
                .subject(mail.subject)
                .header(ContentType::TEXT_PLAIN)
                .body(mail.body)?;
            self.transport.send(message).await?;
            Ok(())
        })
    }
}

/// Writes messages to the log instead of sending them (no `SMTP_URL`). Outside production it
/// logs the body too, verification links included, so a developer can click them: that is
/// what it is for, and why production never shows bodies (there it only says a message was
/// dropped).
#[derive(Debug)]
pub struct LogMailer {
    /// Whether bodies (with their links) are logged.
    pub show_body: bool,
}

impl Mailer for LogMailer {
    fn send(&self, mail: Mail) -> Sending<'_> {
        Box::pin(async move {
            if self.show_body {
                tracing::info!(
                    to = mail.to,
                    subject = mail.subject,
                    body = mail.body,
                    "mail not sent (no SMTP_URL; local runs only): logged instead"
                );
            } else {
                tracing::warn!(subject = mail.subject, "mail not sent: SMTP_URL is not set");
            }
            Ok(())
        })
    }
}

/// Sends `mail` in a task of its own: the request that caused it is answered without waiting,
/// and a failure is logged and counted, never shown to the client.
pub fn send_in_background(mailer: &Arc<dyn Mailer>, kind: &'static str, mail: Mail) {
    let mailer = mailer.clone();
    tokio::spawn(async move {
        match mailer.send(mail).await {
            Ok(()) => metrics::counter!("auth_mail_sent_total", "kind" => kind).increment(1),
            Err(e) => {
                metrics::counter!("auth_mail_failed_total", "kind" => kind).increment(1);
                tracing::warn!(kind, error = %e, "mail could not be sent");
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    // The SMTP connection pool starts its idle-connection reaper on the runtime.
    #[tokio::test]
    async fn smtp_urls_and_senders_are_checked_and_credentials_never_shown() {
        let mailer = SmtpMailer::new(
            "smtps://mailer:hunter2-smtp@smtp.example:465",
            "Tiketi <no-reply@tiketi.example>",
        )
        .unwrap();
        assert!(!format!("{mailer:?}").contains("hunter2-smtp"));
        assert!(SmtpMailer::new("smtp://smtp.example?tls=required", "a@b.example").is_ok());
        let err = SmtpMailer::new(
            "smtp://u:hunter2-smtp@smtp.example?tls=bogus",
            "a@b.example",
        )
        .unwrap_err();
        assert!(!err.to_string().contains("hunter2-smtp"), "{err}");
        assert!(SmtpMailer::new("smtp://smtp.example", "not a mailbox").is_err());
    }

    #[test]
    fn without_smtp_local_runs_log_and_production_hides_bodies() {
        let local = tiketi_core::testing::test_config(&[]);
        let mailer = from_config(&local.mail, Environment::Development).unwrap();
        assert!(format!("{mailer:?}").contains("show_body: true"));
        let mailer = from_config(&local.mail, Environment::Production).unwrap();
        assert!(format!("{mailer:?}").contains("show_body: false"));
    }
}

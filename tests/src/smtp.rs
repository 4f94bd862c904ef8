//! A stand-in mail server for tests of the mail Tiketi sends (email verification, "someone tried
//! to register with your address"): just enough SMTP on 127.0.0.1:0 (EHLO/HELO, MAIL, RCPT,
//! DATA, RSET, NOOP, QUIT, no TLS, no auth) for the real SMTP transport to deliver to it, and
//! every delivered message kept for the test to read.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::Notify;

/// One delivered message.
#[derive(Debug, Clone)]
pub struct Delivered {
    /// The envelope recipients (`RCPT TO`).
    pub to: Vec<String>,
    /// The message as sent after `DATA` (headers and body, dot-stuffing undone).
    pub raw: String,
}

impl Delivered {
    /// The message with quoted-printable soft line breaks and `=3D` undone, which is all a
    /// plain-text mail with a link needs to be searched.
    pub fn text(&self) -> String {
        self.raw
            .replace("=\r\n", "")
            .replace("=\n", "")
            .replace("=3D", "=")
    }

    /// The first `http(s)://` link in the message that contains `needle`.
    pub fn link_containing(&self, needle: &str) -> Option<String> {
        let text = self.text();
        text.split(|c: char| c.is_whitespace() || c == '<' || c == '>' || c == '"')
            .find(|word| {
                (word.starts_with("http://") || word.starts_with("https://"))
                    && word.contains(needle)
            })
            .map(str::to_owned)
    }
}

#[derive(Default)]
struct Inbox {
    messages: Mutex<Vec<Delivered>>,
    arrived: Notify,
}

/// A running stand-in mail server.
pub struct FakeSmtp {
    /// Where it listens.
    pub addr: SocketAddr,
    inbox: Arc<Inbox>,
}

impl FakeSmtp {
    /// Starts the server on a free port.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let inbox = Arc::new(Inbox::default());
        let shared = inbox.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(session(stream, shared.clone()));
            }
        });
        Self { addr, inbox }
    }

    /// The `SMTP_URL` that points Tiketi at this server.
    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    /// Every message delivered so far.
    pub fn messages(&self) -> Vec<Delivered> {
        self.inbox.messages.lock().unwrap().clone()
    }

    /// Messages to `recipient` so far.
    pub fn messages_to(&self, recipient: &str) -> Vec<Delivered> {
        self.messages()
            .into_iter()
            .filter(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(recipient)))
            .collect()
    }

    /// Waits (up to 20 s) until `count` messages to `recipient` have arrived, and returns them.
    /// Mail is sent in the background after the request is answered, so tests wait for it.
    pub async fn wait_for(&self, recipient: &str, count: usize) -> Vec<Delivered> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let notified = self.inbox.arrived.notified();
            let got = self.messages_to(recipient);
            if got.len() >= count {
                return got;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!(
                    "{count} message(s) to {recipient} did not arrive; got {}: {:?}",
                    got.len(),
                    self.messages()
                );
            }
        }
    }
}

async fn session(stream: tokio::net::TcpStream, inbox: Arc<Inbox>) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    let mut to = Vec::new();
    if write.write_all(b"220 fake-smtp ready\r\n").await.is_err() {
        return;
    }
    while let Ok(Some(line)) = lines.next_line().await {
        let upper = line.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            b"250 fake-smtp\r\n"
        } else if upper.starts_with("MAIL FROM") {
            to.clear();
            b"250 ok\r\n"
        } else if upper.starts_with("RCPT TO") {
            let address = line[line.find(':').map_or(0, |i| i + 1)..]
                .trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_owned();
            to.push(address);
            b"250 ok\r\n"
        } else if upper == "DATA" {
            if write.write_all(b"354 go ahead\r\n").await.is_err() {
                return;
            }
            let mut raw = String::new();
            while let Ok(Some(line)) = lines.next_line().await {
                if line == "." {
                    break;
                }
                // Undo dot-stuffing (RFC 5321 4.5.2).
                let line = line.strip_prefix('.').unwrap_or(&line);
                raw.push_str(line);
                raw.push_str("\r\n");
            }
            inbox.messages.lock().unwrap().push(Delivered {
                to: std::mem::take(&mut to),
                raw,
            });
            inbox.arrived.notify_waiters();
            b"250 queued\r\n"
        } else if upper == "QUIT" {
            let _ = write.write_all(b"221 bye\r\n").await;
            return;
        } else if upper == "RSET" || upper == "NOOP" {
            b"250 ok\r\n"
        } else {
            b"502 not implemented\r\n"
        };
        if write.write_all(reply).await.is_err() {
            return;
        }
    }
}

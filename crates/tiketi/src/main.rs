//! The `tiketi` command: `serve` (the default) runs all four services in one process;
//! `migrate`, `admin create` and `seed-demo` prepare a database.

use std::io::BufRead;

use clap::{Parser, Subcommand};
use tiketi_core::{Infra, db, server, shutdown};
use tokio_util::sync::CancellationToken;

#[derive(Parser)]
#[command(
    name = "tiketi",
    about = "Tiketi: ticketing with a virtual waiting room",
    version
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run every service, the workers and the web client (the default).
    Serve,
    /// Create the database if it is missing and apply every pending migration.
    Migrate,
    /// Manage admin accounts.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Create the demo events (safe to run twice).
    SeedDemo,
    /// Manage the auth service's token signing keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Add a new signing key; older keys keep verifying until their tokens have expired.
    Rotate {
        /// Retire the older keys at once instead (a leaked key): their tokens stop verifying
        /// within 30 s plus JWT_JWKS_REFRESH_SECS; signed-in fans get new access tokens through
        /// their refresh tokens.
        #[arg(long)]
        retire_old: bool,
    },
    /// Stop trusting one key at once (a leaked key): it leaves the JWKS, and services stop
    /// accepting its tokens within JWT_JWKS_REFRESH_SECS, without a restart.
    Retire {
        /// The key's `kid` (as in the JWKS and in token headers).
        kid: String,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an admin account, or promote an existing account: set its password and sign out
    /// every session it had.
    Create {
        /// The admin's email address.
        #[arg(long)]
        email: String,
        /// The password. Prefer --password-stdin: arguments are visible to other local users.
        #[arg(long, conflicts_with = "password_stdin")]
        password: Option<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        /// Display name.
        #[arg(long)]
        name: Option<String>,
        /// Promote an existing account even though its email address was never verified
        /// (anyone could have registered it). Only when you know the account is yours.
        #[arg(long)]
        promote_unverified: bool,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = server::load_config(8080);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let infra = Infra::new(config)?;
            let listener = server::bind(&infra.config).await?;
            let token = CancellationToken::new();
            shutdown::cancel_on_signal(token.clone());
            tiketi::run(listener, infra, token).await
        }
        Command::Migrate => {
            if let Err(e) = db::create_database_if_missing(config.database_url.expose()).await {
                // Managed databases (RDS) exist already and may not let us look; go on.
                tracing::warn!(error = %e, "could not check or create the database; migrating anyway");
            }
            let infra = Infra::new(config)?;
            db::migrate(&infra.db).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Admin {
            command:
                AdminCommand::Create {
                    email,
                    password,
                    password_stdin,
                    name,
                    promote_unverified,
                },
        } => {
            let password = match (password, password_stdin) {
                (Some(p), false) => p,
                (None, true) => {
                    let mut line = String::new();
                    std::io::stdin().lock().read_line(&mut line)?;
                    line.trim_end_matches(['\r', '\n']).to_owned()
                }
                _ => anyhow::bail!("give the password with --password or --password-stdin"),
            };
            let infra = Infra::new(config)?;
            let outcome = tiketi_auth::admin::create_admin(
                &infra.db,
                &email,
                name.as_deref(),
                &password,
                promote_unverified,
            )
            .await?;
            if let Err(e) = tiketi_auth::admin::publish_ended_sessions(&infra.redis, &outcome).await
            {
                eprintln!(
                    "warning: Redis could not be told about the ended sessions ({e}); the \
                     running auth service publishes them within {} s of reaching Redis",
                    tiketi_auth::revocation::SYNC_EVERY.as_secs()
                );
            }
            match &outcome {
                tiketi_auth::admin::AdminOutcome::Created(id) => {
                    println!("admin created: {id} (email marked verified: you vouch for it)")
                }
                tiketi_auth::admin::AdminOutcome::Promoted {
                    id,
                    sessions_revoked,
                    google_unlinked,
                    ..
                } => {
                    println!(
                        "existing account {id} is now an admin (password updated; \
                         email marked verified: you vouch for it; {sessions_revoked} sessions signed out: every device signs in again)"
                    );
                    if *google_unlinked {
                        println!(
                            "its Google sign-in was unlinked: admins sign in with their password"
                        );
                    }
                }
            }
            Ok(())
        }
        Command::Keys {
            command: KeysCommand::Rotate { retire_old },
        } => {
            let ttl = config.jwt.access_ttl_secs;
            let refresh = config.jwt.jwks_refresh_secs;
            let infra = Infra::new(config)?;
            let kid = if retire_old {
                tiketi_auth::keys::KeyStore::rotate_retiring_old(&infra.db).await?
            } else {
                tiketi_auth::keys::KeyStore::rotate(&infra.db, ttl).await?
            };
            println!(
                "new signing key {kid}; running services pick it up within {} s",
                tiketi_auth::keys::RELOAD_EVERY.as_secs()
            );
            if retire_old {
                println!(
                    "older keys retired: their tokens stop verifying within {} s (auth reads its \
                     keys at least every {} s, the other services every JWT_JWKS_REFRESH_SECS); \
                     signed-in fans get new tokens through their refresh tokens",
                    retirement_delay(refresh),
                    tiketi_auth::keys::RELOAD_EVERY.as_secs().min(refresh)
                );
            }
            Ok(())
        }
        Command::Keys {
            command: KeysCommand::Retire { kid },
        } => {
            let refresh = config.jwt.jwks_refresh_secs;
            let infra = Infra::new(config)?;
            tiketi_auth::keys::KeyStore::retire(&infra.db, &kid).await?;
            println!(
                "signing key {kid} retired: its tokens stop verifying within {} s (auth reads its \
                 keys at least every {} s, the other services every JWT_JWKS_REFRESH_SECS); if it \
                 was the signing key, a new one signs from now on and signed-in fans get new tokens \
                 through their refresh tokens",
                retirement_delay(refresh),
                tiketi_auth::keys::RELOAD_EVERY.as_secs().min(refresh)
            );
            Ok(())
        }
        Command::SeedDemo => {
            let infra = Infra::new(config)?;
            let report = tiketi_ticket::demo::seed_demo(&infra.db).await?;
            println!(
                "demo data ready: {} events and {} seats created",
                report.events_created, report.seats_created
            );
            Ok(())
        }
    }
}

/// The longest a retired key keeps verifying somewhere: until auth reloads its key table (at
/// most every `RELOAD_EVERY`, or the refresh interval when shorter), then until the other
/// services read the JWKS again (`JWT_JWKS_REFRESH_SECS`).
fn retirement_delay(refresh_secs: u64) -> u64 {
    tiketi_auth::keys::RELOAD_EVERY.as_secs().min(refresh_secs) + refresh_secs
}

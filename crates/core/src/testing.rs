//! Test helpers shared by every crate's tests (feature `testing`): a configuration pointing at
//! the local Postgres and Redis with a Redis key prefix no other test uses.
//!
//! Databases come from [`test_db`]: each test gets its own database, copied from a template that
//! is migrated once per set of migrations, on the server named by `DATABASE_URL`, and dropped
//! when the test ends. (`#[sqlx::test]` keeps one master pool for the whole test binary across
//! per-test runtimes and runs out of connections after a dozen tests; copying a template is
//! also several times faster than migrating each database.)

use crate::config::Config;

/// A Redis key prefix unique to one test, so tests sharing a Redis never see each other's keys.
pub fn unique_redis_prefix() -> String {
    format!("test:{}:", uuid::Uuid::new_v4().simple())
}

/// Configuration for a test: the process environment (so `REDIS_URL` and friends apply), port 0,
/// a unique Redis prefix and a small queue tick, with `overrides` applied last.
pub fn test_config(overrides: &[(&str, &str)]) -> Config {
    let prefix = unique_redis_prefix();
    Config::from_lookup(0, |name| {
        if let Some((_, v)) = overrides.iter().find(|(k, _)| *k == name) {
            return Some((*v).to_owned());
        }
        match name {
            "REDIS_KEY_PREFIX" => Some(prefix.clone()),
            "PORT" => Some("0".to_owned()),
            "BIND_ADDR" => Some("127.0.0.1".to_owned()),
            _ => std::env::var(name).ok(),
        }
    })
    .expect("test configuration is valid")
}

/// A `DATABASE_URL` for the database `pool` is connected to (to hand to a child process).
pub fn database_url_of(pool: &sqlx::PgPool) -> String {
    let base = std::env::var("DATABASE_URL").expect("DATABASE_URL is set for tests");
    let name = pool
        .connect_options()
        .get_database()
        .expect("test pool names its database")
        .to_owned();
    let (base, query) = match base.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (base.as_str(), String::new()),
    };
    let (server, _) = base
        .rsplit_once('/')
        .expect("DATABASE_URL has a database part");
    format!("{server}/{name}{query}")
}

/// A TCP port on 127.0.0.1 that nothing listens on right now.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind port 0");
    listener.local_addr().expect("local addr").port()
}

/// Test identities: a signing key the test's server trusts, and tokens minted with it.
pub struct TestTokens {
    key: crate::auth::SigningKey,
}

impl TestTokens {
    /// Generates a key and makes `infra`'s verifier trust it, next to auth's own keys.
    pub fn install(infra: &crate::Infra) -> Self {
        let key = crate::auth::SigningKey::generate().expect("key generation");
        let public = jsonwebtoken::DecodingKey::from_jwk(&key.public_jwk().expect("public jwk"))
            .expect("decoding key");
        infra.verifier.keys.pin(&key.kid, public);
        Self { key }
    }

    /// Makes another server's verifier trust these tokens too (several replicas in one test).
    pub fn trusted_by(&self, infra: &crate::Infra) -> &Self {
        let public =
            jsonwebtoken::DecodingKey::from_jwk(&self.key.public_jwk().expect("public jwk"))
                .expect("decoding key");
        infra.verifier.keys.pin(&self.key.kid, public);
        self
    }

    /// An access token for a fan with a fresh id.
    pub fn fan(&self) -> (crate::auth::AuthUser, String) {
        self.token_for(crate::auth::Role::User)
    }

    /// An access token for an admin with a fresh id.
    pub fn admin(&self) -> (crate::auth::AuthUser, String) {
        self.token_for(crate::auth::Role::Admin)
    }

    fn token_for(&self, role: crate::auth::Role) -> (crate::auth::AuthUser, String) {
        let id = uuid::Uuid::new_v4();
        let user = crate::auth::AuthUser {
            id,
            email: format!("{}@test.tiketi.example", id.simple()),
            role,
        };
        let token = self.key.mint(&user, 900).expect("mint");
        (user, token)
    }

    /// The key itself, for tokens with unusual claims.
    pub fn key(&self) -> &crate::auth::SigningKey {
        &self.key
    }
}

/// A database of one test's own; dropped (with any connection still open) when this is dropped.
pub struct TestDb {
    /// A pool on the test's database.
    pub pool: sqlx::PgPool,
    name: String,
    master_url: String,
}

impl TestDb {
    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A `DATABASE_URL` for this database (to hand to a child process).
    pub fn url(&self) -> String {
        database_url_of(&self.pool)
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = std::mem::take(&mut self.name);
        let url = self.master_url.clone();
        // Drop cannot await; a short-lived thread with its own runtime does the DROP.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(rt) = rt {
                rt.block_on(async {
                    use sqlx::Connection;
                    if let Ok(mut conn) = sqlx::PgConnection::connect(&url).await {
                        let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                        let _ = sqlx::query(sqlx::AssertSqlSafe(sql))
                            .execute(&mut conn)
                            .await;
                        let _ = conn.close().await;
                    }
                });
            }
        })
        .join();
    }
}

fn master_url() -> String {
    std::env::var("DATABASE_URL")
        .expect("DATABASE_URL names the test database server (see scripts/test.sh)")
}

/// The template's name: it changes whenever a migration does.
fn template_name() -> String {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for migration in crate::db::MIGRATOR.iter() {
        migration.version.hash(&mut hasher);
        migration.checksum.hash(&mut hasher);
    }
    format!("tiketi_tpl_{:016x}", hasher.finish())
}

async fn ensure_template(master: &str) -> String {
    use sqlx::Connection;
    let name = template_name();
    let mut conn = sqlx::PgConnection::connect(master)
        .await
        .expect("connect to the test database server");
    // One builder at a time across every test process on this server.
    sqlx::query("SELECT pg_advisory_lock(hashtext('tiketi-test-template'))")
        .execute(&mut conn)
        .await
        .expect("template lock");
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(&name)
            .fetch_one(&mut conn)
            .await
            .expect("look for the template");
    if !exists {
        // Build under a temporary name and rename when complete, so a crash never leaves a
        // half-migrated template behind under the real name.
        let building = format!("{name}_building");
        let drop = format!("DROP DATABASE IF EXISTS \"{building}\" WITH (FORCE)");
        sqlx::query(sqlx::AssertSqlSafe(drop))
            .execute(&mut conn)
            .await
            .expect("drop stale template");
        let create = format!("CREATE DATABASE \"{building}\"");
        sqlx::query(sqlx::AssertSqlSafe(create))
            .execute(&mut conn)
            .await
            .expect("create template");
        {
            let url = replace_database(master, &building);
            let mut tpl = sqlx::PgConnection::connect(&url)
                .await
                .expect("connect to the template");
            crate::db::MIGRATOR
                .run(&mut tpl)
                .await
                .expect("migrate the template");
            tpl.close().await.expect("close the template connection");
        }
        let rename = format!("ALTER DATABASE \"{building}\" RENAME TO \"{name}\"");
        sqlx::query(sqlx::AssertSqlSafe(rename))
            .execute(&mut conn)
            .await
            .expect("publish the template");
    }
    let _ = sqlx::query("SELECT pg_advisory_unlock(hashtext('tiketi-test-template'))")
        .execute(&mut conn)
        .await;
    let _ = conn.close().await;
    name
}

static TEMPLATE: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();

fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let (server, _) = base
        .rsplit_once('/')
        .expect("DATABASE_URL has a database part");
    format!("{server}/{name}{query}")
}

async fn create_test_db(template: Option<&str>) -> TestDb {
    use sqlx::Connection;
    let master = master_url();
    let name = format!("tiketi_t_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(&master)
        .await
        .expect("connect to the test database server");
    let create = match template {
        Some(t) => format!("CREATE DATABASE \"{name}\" TEMPLATE \"{t}\""),
        None => format!("CREATE DATABASE \"{name}\""),
    };
    sqlx::query(sqlx::AssertSqlSafe(create))
        .execute(&mut conn)
        .await
        .expect("create the test database");
    let _ = conn.close().await;
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(10)
        .acquire_timeout(std::time::Duration::from_secs(30))
        .connect(&replace_database(&master, &name))
        .await
        .expect("connect to the test database");
    TestDb {
        pool,
        name,
        master_url: master,
    }
}

/// A migrated database of this test's own.
pub async fn test_db() -> TestDb {
    let master = master_url();
    let template = TEMPLATE.get_or_init(|| ensure_template(&master)).await;
    create_test_db(Some(template)).await
}

/// An empty database of this test's own (no migrations applied).
pub async fn empty_test_db() -> TestDb {
    create_test_db(None).await
}

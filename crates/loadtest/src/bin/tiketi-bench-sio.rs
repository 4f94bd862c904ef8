//! `tiketi-bench-sio`: bare socketioxide and the client that measures it, the waiting-room
//! benchmark's reference (see `tiketi_loadtest::sio_reference`).

use tiketi_loadtest::Parser;
use tiketi_loadtest::sio_reference::{SioArgs, run};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    if let Some(report) = run(SioArgs::parse()).await? {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    Ok(())
}

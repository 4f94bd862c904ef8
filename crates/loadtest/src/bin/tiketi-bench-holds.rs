//! `tiketi-bench-holds`: parses the flags and prints the hold benchmark's report as JSON (see
//! `tiketi_loadtest::holds`).

use tiketi_loadtest::Parser;
use tiketi_loadtest::holds::{HoldArgs, run};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let report = run(HoldArgs::parse()).await?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

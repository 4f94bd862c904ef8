//! `tiketi-loadtest`: parses the flags and prints the surge report as JSON (see the library).

use tiketi_loadtest::{Args, Parser};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if let Some(report) = tiketi_loadtest::run(args).await? {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    Ok(())
}

//! `sqlx::migrate!` embeds `database/migrations` at compile time; without this, adding a
//! migration would not rebuild the crate and binaries would carry the old list.
fn main() {
    println!("cargo:rerun-if-changed=../../database/migrations");
}

//! HTTP handlers, one module per concern.

pub mod accounts;
pub mod google;
pub mod tokens;
pub mod verification;

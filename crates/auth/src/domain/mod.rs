//! Validated values of the auth domain.

pub mod email;
pub mod password;

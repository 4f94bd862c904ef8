//! HTTP handlers, one module per resource.

pub mod history;
pub mod internal;
pub mod payments;
pub mod webhooks;

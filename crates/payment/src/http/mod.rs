//! HTTP handlers, one module per resource.

pub mod history;

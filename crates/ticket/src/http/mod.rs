//! HTTP handlers, one module per resource.

pub mod events;
pub mod seats;
pub mod tickets;

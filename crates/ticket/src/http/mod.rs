//! HTTP handlers, one module per resource.

pub mod events;
pub mod queue;
pub mod seats;
pub mod tickets;

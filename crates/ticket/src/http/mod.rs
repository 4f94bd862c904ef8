//! HTTP handlers, one module per resource.

pub mod events;
pub mod holds;
pub mod internal;
pub mod queue;
pub mod reservations;
pub mod seats;
pub mod tickets;

//! HTTP handlers, one module per resource.

pub mod admin_events;
pub mod admin_reservations;
pub mod events;
pub mod holds;
pub mod images;
pub mod internal;
pub mod news;
pub mod queue;
pub mod reservations;
pub mod seats;
pub mod tickets;

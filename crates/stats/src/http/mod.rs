//! HTTP handlers, one module per group of numbers. Every route is admin-only (`AdminUser`).

pub mod events;
pub mod funnel;
pub mod live;
pub mod overview;
pub mod params;
pub mod payments;
pub mod queue;
pub mod sales;
pub mod users;

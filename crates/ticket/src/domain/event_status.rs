//! An event's status follows its sale window: `upcoming` before the sale starts, `on_sale`
//! during it, `ended` after. `cancelled` is set by an admin and final; `sold_out` holds until
//! the window closes.
//!
//! Reads compute the status with [`EFFECTIVE_STATUS_SQL`], so an answer is never stale even
//! between two runs of the worker that stores it.

/// SQL expression for the current status of the event row aliased `e`.
pub const EFFECTIVE_STATUS_SQL: &str = "(CASE
    WHEN e.status = 'cancelled' THEN 'cancelled'
    WHEN now() < e.sale_start_date THEN 'upcoming'
    WHEN now() >= e.sale_end_date THEN 'ended'
    WHEN e.status = 'sold_out' THEN 'sold_out'
    ELSE 'on_sale' END)";

/// The statuses a client may filter by.
pub const STATUSES: &[&str] = &["upcoming", "on_sale", "sold_out", "ended", "cancelled"];

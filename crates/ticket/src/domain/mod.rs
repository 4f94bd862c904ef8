//! Rules of the ticket domain that are not tied to one HTTP resource.

pub mod event_status;
pub mod form;
pub mod reservation;
pub mod seat_status;

//! Background loops of the payment service.

pub mod reconciler;

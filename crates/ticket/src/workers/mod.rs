//! Background loops of the ticket service, each stopped by the shutdown token.

pub mod queue_processor;

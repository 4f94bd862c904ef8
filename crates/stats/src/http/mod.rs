//! HTTP handlers, one module per group of numbers.

pub mod overview;

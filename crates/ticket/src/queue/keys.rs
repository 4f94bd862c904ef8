//! The waiting room's Redis keys. The names are defined in [`tiketi_core::queue_keys`] (with the
//! table of every key, its type and what it holds), because the stats service reads the same
//! keys and must not depend on this crate; this module re-exports them so the queue code keeps
//! saying `keys::EventKeys` and `keys::registry`.

pub use tiketi_core::queue_keys::{EventKeys, registry};

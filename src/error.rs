//! The one error enum (placeholder; filled in by the host core).

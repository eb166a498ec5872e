//! Everything together, advanced by one clock; the conservation check.

//! The dashboard Lambda (being written).
fn main() {}

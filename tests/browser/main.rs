//! Browser tests of the dashboard (being written).

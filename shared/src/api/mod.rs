//! One module per wire contract: what each API surface promises on the wire (status, codes or messages spelled
//! exactly, their texts, `Retry-After`, the bytes a replay returns), without `lambda_http`. `http` reads requests
//! and writes these answers as responses.

pub mod lightotp;
pub mod verify;

//! RESP: request decoding, reply encoding, and reply frames for clients (resp layer, no actors).

pub mod decode;
pub mod encode;
pub mod frame;

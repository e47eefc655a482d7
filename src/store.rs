//! What samrs keeps between runs is named and checked the same way everywhere: stable
//! SHA-256 fingerprints in lower-case hex.

/// Lower-case hex of a digest.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

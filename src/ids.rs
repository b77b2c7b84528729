//! Random identifiers: request ids, response ids (`chatcmpl-…`, `msg_…`) and
//! upstream prompt ids.

/// 96 random bits as 24 lowercase hex digits: one `format!`, one allocation
/// (this runs two or three times per request).
pub fn random_hex_id() -> String {
    use rand::Rng;
    let bits: u128 = rand::rng().random::<u128>() >> 32;
    format!("{bits:024x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_24_hex_digits_and_differ() {
        let a = random_hex_id();
        let b = random_hex_id();
        assert_eq!(a.len(), 24);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        assert_ne!(a, b);
    }
}

//! Access tokens kept compactly in the in-memory session store.
//!
//! A session is mostly its access token (about 1.7 KB from XSUAA), and the tokens of one router
//! differ little: the same header, issuer, audiences, client, zone, attributes. The first token a
//! router sees becomes a dictionary; later tokens are stored as references into it plus the
//! parts that differ (user, ids, times) and the raw signature. That takes a session from about
//! 2 KB to well under 1 KB, which is what lets 10,000 sessions fit in a small process. Unpacking
//! is a few copies and a base64 encode per forwarded request.
//!
//! Packing is checked: a token that does not unpack to exactly itself is kept as it is.
//!
//! Measured on the real process (RSS over N logins: `cargo test -p approuter --test session_memory
//! -- --ignored --nocapture`): with packing the router holds 10,000 logged-in sessions in 18.4 MiB
//! RSS, 8.4 MiB idle (README, Benchmarks). Only the memory store packs; Redis keeps plain tokens
//! other instances can read. To switch it off, have `Sessions::new` (`session/mod.rs`) make no
//! [`Packer`], as it does for Redis: tokens are then kept plain.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::Secret;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

const MIN_MATCH: usize = 4;
const MAX_MATCH: usize = MIN_MATCH + 0x7F;
const MAX_LITERAL: usize = 0x80;

/// A JWT as the session keeps it. Serializes as the plain token (Redis sessions store it plain).
#[derive(Clone)]
pub enum PackedToken {
    /// A boxed `str` rather than a `Secret` (a `String`): one word less in every session.
    Plain(Box<str>),
    Packed {
        dictionary: Arc<Dictionary>,
        bytes: Box<[u8]>,
    },
}

impl std::fmt::Debug for PackedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl PackedToken {
    pub fn plain(token: Secret) -> Self {
        PackedToken::Plain(token.expose().into())
    }

    /// The token itself.
    pub fn unpack(&self) -> Secret {
        match self {
            PackedToken::Plain(token) => Secret::new(token.to_string()),
            PackedToken::Packed { dictionary, bytes } => {
                // Checked when packed, so this cannot fail; an empty token would only be refused upstream.
                Secret::new(dictionary.decode(bytes).unwrap_or_default())
            }
        }
    }

    pub fn stored_len(&self) -> usize {
        match self {
            PackedToken::Plain(token) => token.len(),
            PackedToken::Packed { bytes, .. } => bytes.len(),
        }
    }
}

impl Serialize for PackedToken {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.unpack().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for PackedToken {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Secret::deserialize(deserializer).map(PackedToken::plain)
    }
}

/// Packs tokens against the first token it was given.
#[derive(Default)]
pub struct Packer {
    dictionary: OnceLock<Arc<Dictionary>>,
}

impl Packer {
    pub fn pack(&self, token: Secret) -> PackedToken {
        let Some(parts) = Parts::split(token.expose()) else {
            return PackedToken::plain(token);
        };
        let dictionary = self
            .dictionary
            .get_or_init(|| Arc::new(Dictionary::new(parts.text())));
        let bytes = dictionary.encode(&parts);
        // Only what provably round-trips is packed.
        match dictionary.decode(&bytes) {
            Some(back) if back == token.expose() && bytes.len() < token.expose().len() => {
                PackedToken::Packed {
                    dictionary: dictionary.clone(),
                    bytes: bytes.into_boxed_slice(),
                }
            }
            _ => PackedToken::plain(token),
        }
    }
}

/// A JWT's header (as text), payload (decoded JSON) and signature (raw bytes).
struct Parts<'a> {
    header: &'a str,
    payload: Vec<u8>,
    signature: Vec<u8>,
}

impl<'a> Parts<'a> {
    fn split(token: &'a str) -> Option<Self> {
        let mut it = token.split('.');
        let (header, payload, signature) = (it.next()?, it.next()?, it.next()?);
        if it.next().is_some() || header.contains('\0') {
            return None;
        }
        let payload_bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
        let signature_bytes = URL_SAFE_NO_PAD.decode(signature).ok()?;
        // Non-canonical base64 would not come back the same.
        if URL_SAFE_NO_PAD.encode(&payload_bytes) != payload
            || URL_SAFE_NO_PAD.encode(&signature_bytes) != signature
        {
            return None;
        }
        if signature_bytes.len() > u16::MAX as usize {
            return None;
        }
        Some(Parts {
            header,
            payload: payload_bytes,
            signature: signature_bytes,
        })
    }

    /// What is matched against the dictionary: header, a zero byte, payload.
    fn text(&self) -> Vec<u8> {
        let mut text = Vec::with_capacity(self.header.len() + 1 + self.payload.len());
        text.extend_from_slice(self.header.as_bytes());
        text.push(0);
        text.extend_from_slice(&self.payload);
        text
    }
}

pub struct Dictionary {
    text: Vec<u8>,
    /// Positions in `text` of every 4-byte sequence.
    index: HashMap<[u8; MIN_MATCH], Vec<u16>>,
}

impl Dictionary {
    fn new(mut text: Vec<u8>) -> Self {
        text.truncate(u16::MAX as usize);
        let mut index: HashMap<[u8; MIN_MATCH], Vec<u16>> = HashMap::new();
        for (i, window) in text.windows(MIN_MATCH).enumerate() {
            let key = [window[0], window[1], window[2], window[3]];
            index.entry(key).or_default().push(i as u16);
        }
        Dictionary { text, index }
    }

    /// `[signature length u16 LE][signature][ops]`; an op is a literal run (tag < 0x80: tag+1
    /// bytes follow) or a dictionary match (tag >= 0x80: length (tag & 0x7F) + 4, offset u16 LE).
    fn encode(&self, parts: &Parts<'_>) -> Vec<u8> {
        let text = parts.text();
        let mut out = Vec::with_capacity(2 + parts.signature.len() + text.len() / 3);
        out.extend_from_slice(&(parts.signature.len() as u16).to_le_bytes());
        out.extend_from_slice(&parts.signature);
        let mut literal_start = 0;
        let mut i = 0;
        while i < text.len() {
            let (offset, length) = self.longest_match(&text[i..]);
            if length >= MIN_MATCH {
                flush_literals(&mut out, &text[literal_start..i]);
                out.push(0x80 | (length - MIN_MATCH) as u8);
                out.extend_from_slice(&offset.to_le_bytes());
                i += length;
                literal_start = i;
            } else {
                i += 1;
            }
        }
        flush_literals(&mut out, &text[literal_start..]);
        out
    }

    fn longest_match(&self, rest: &[u8]) -> (u16, usize) {
        if rest.len() < MIN_MATCH {
            return (0, 0);
        }
        let key = [rest[0], rest[1], rest[2], rest[3]];
        let mut best = (0u16, 0usize);
        for &pos in self.index.get(&key).map(Vec::as_slice).unwrap_or(&[]) {
            let candidate = &self.text[pos as usize..];
            let limit = candidate.len().min(rest.len()).min(MAX_MATCH);
            let length = candidate[..limit]
                .iter()
                .zip(rest)
                .take_while(|(a, b)| a == b)
                .count();
            if length > best.1 {
                best = (pos, length);
                if length == MAX_MATCH {
                    break;
                }
            }
        }
        best
    }

    fn decode(&self, bytes: &[u8]) -> Option<String> {
        let sig_len = u16::from_le_bytes([*bytes.first()?, *bytes.get(1)?]) as usize;
        let signature = bytes.get(2..2 + sig_len)?;
        let mut ops = &bytes[2 + sig_len..];
        let mut text = Vec::with_capacity(self.text.len() + 64);
        while let Some((&tag, rest)) = ops.split_first() {
            if tag < 0x80 {
                let n = tag as usize + 1;
                text.extend_from_slice(rest.get(..n)?);
                ops = &rest[n..];
            } else {
                let length = (tag & 0x7F) as usize + MIN_MATCH;
                let offset = u16::from_le_bytes([*rest.first()?, *rest.get(1)?]) as usize;
                text.extend_from_slice(self.text.get(offset..offset + length)?);
                ops = &rest[2..];
            }
        }
        let split = text.iter().position(|b| *b == 0)?;
        let header = std::str::from_utf8(&text[..split]).ok()?;
        let payload = &text[split + 1..];
        let mut token =
            String::with_capacity(header.len() + payload.len() * 4 / 3 + sig_len * 4 / 3 + 8);
        token.push_str(header);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(payload, &mut token);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(signature, &mut token);
        Some(token)
    }
}

fn flush_literals(out: &mut Vec<u8>, mut literals: &[u8]) {
    while !literals.is_empty() {
        let n = literals.len().min(MAX_LITERAL);
        out.push((n - 1) as u8);
        out.extend_from_slice(&literals[..n]);
        literals = &literals[n..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(claims: serde_json::Value, sig_seed: u8) -> String {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","jku":"http://127.0.0.1:4000/token_keys","kid":"key-1","typ":"JWT"}"#);
        let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
        let signature: Vec<u8> = (0..256u32)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(sig_seed))
            .collect();
        format!("{header}.{payload}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    fn claims(user: &str, jti: &str, exp: i64) -> serde_json::Value {
        serde_json::json!({
            "jti": jti, "ext_attr": {"enhancer": "XSUAA", "subaccountid": "7c1a0000-0000-4000-8000-000000000001", "zdn": "scenario"},
            "xs.system.attributes": {"xs.rolecollections": ["BackendServiceAllAccess", "UaaUser"]},
            "given_name": user, "xs.user.attributes": {}, "family_name": "Tester",
            "sub": format!("{user}-0000-4000-8000-000000000abc"), "scope": ["openid", "uaa.user", "Backend-service!t6131.AllAccess"],
            "client_id": "sb-XsuaaForScenario!t1", "cid": "sb-XsuaaForScenario!t1", "azp": "sb-XsuaaForScenario!t1",
            "grant_type": "authorization_code", "user_id": format!("{user}-0000-4000-8000-000000000abc"), "origin": "ldap",
            "user_name": user, "email": format!("{user}@example.com"), "auth_time": exp - 43199, "rev_sig": "a1b2c3d4",
            "iat": exp - 43199, "exp": exp, "iss": "http://127.0.0.1:4000/oauth/token", "zid": "7c1a0000-0000-4000-8000-000000000001",
            "aud": ["openid", "uaa", "sb-XsuaaForScenario!t1", "Backend-service!t6131"]
        })
    }

    #[test]
    fn similar_tokens_pack_small_and_come_back_exactly() {
        let packer = Packer::default();
        let first = jwt(
            claims("alice", "0123456789abcdef0123456789abcdef", 2_000_000_000),
            1,
        );
        let packed_first = packer.pack(Secret::new(first.clone()));
        assert_eq!(packed_first.unpack().expose(), first);

        let second = jwt(
            claims("bob", "fedcba9876543210fedcba9876543210", 2_000_000_100),
            7,
        );
        let packed = packer.pack(Secret::new(second.clone()));
        assert!(matches!(packed, PackedToken::Packed { .. }));
        assert_eq!(packed.unpack().expose(), second);
        assert!(
            packed.stored_len() * 2 < second.len(),
            "{} bytes for a {}-byte token",
            packed.stored_len(),
            second.len()
        );
    }

    #[test]
    fn anything_that_is_not_a_canonical_jwt_stays_plain() {
        let packer = Packer::default();
        for odd in [
            "opaque-token",
            "a.b",
            "a.b.c.d",
            "eyJ9.e30=.AAAA",
            "eyJ9.e30.AAB",
        ] {
            let packed = packer.pack(Secret::new(odd));
            assert!(matches!(packed, PackedToken::Plain(_)), "{odd}");
            assert_eq!(packed.unpack().expose(), odd);
        }
    }

    #[test]
    fn serializes_as_the_plain_token() {
        let packer = Packer::default();
        let token = jwt(claims("alice", "x", 1), 3);
        packer.pack(Secret::new(token.clone()));
        let packed = packer.pack(Secret::new(token.clone()));
        let json = serde_json::to_string(&packed).unwrap();
        assert_eq!(json, format!("\"{token}\""));
        let back: PackedToken = serde_json::from_str(&json).unwrap();
        assert_eq!(back.unpack().expose(), token);
        assert_eq!(format!("{packed:?}"), "***");
    }
}

//! From a session's secrets to the keys of its records, and the records opened.
//! The crypto is ring's (AEAD, HKDF, HMAC); what is here is the key schedules:
//! TLS 1.3's HKDF-Expand-Label (RFC 8446 §7.1, §7.3) and TLS 1.2's PRF key block
//! (RFC 5246 §5, §6.3), with the nonces of RFC 8446 §5.3, RFC 5288 §3 (AES-GCM in
//! TLS 1.2: a 4-byte salt and an 8-byte explicit nonce) and RFC 7905 §2 (ChaCha20).
//!
//! Decrypted: the AEAD suites (AES-128-GCM, AES-256-GCM, ChaCha20-Poly1305) of both
//! versions. Not: CBC suites with HMAC (TLS 1.2 and earlier), CCM, TLS 1.3 0-RTT data.

use ring::aead::{
    AES_128_GCM, AES_256_GCM, Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, UnboundKey,
};
use ring::{hkdf, hmac};

/// The record protection of a suite.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Cipher {
    Aes128Gcm,
    Aes256Gcm,
    ChaCha20Poly1305,
}

impl Cipher {
    fn key_len(self) -> usize {
        match self {
            Cipher::Aes128Gcm => 16,
            Cipher::Aes256Gcm | Cipher::ChaCha20Poly1305 => 32,
        }
    }

    fn algorithm(self) -> &'static ring::aead::Algorithm {
        match self {
            Cipher::Aes128Gcm => &AES_128_GCM,
            Cipher::Aes256Gcm => &AES_256_GCM,
            Cipher::ChaCha20Poly1305 => &CHACHA20_POLY1305,
        }
    }
}

/// A cipher suite wirelab decrypts.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Suite {
    pub id: u16,
    pub cipher: Cipher,
    /// The hash of the key schedule is SHA-384 (else SHA-256).
    pub sha384: bool,
    /// A TLS 1.3 suite (RFC 8446 §B.4).
    pub tls13: bool,
}

/// The suite `id`, if its records are decrypted here.
pub fn suite(id: u16) -> Option<Suite> {
    use Cipher::*;
    let (cipher, sha384, tls13) = match id {
        0x1301 => (Aes128Gcm, false, true),
        0x1302 => (Aes256Gcm, true, true),
        0x1303 => (ChaCha20Poly1305, false, true),
        // RSA, DHE_RSA, ECDHE_ECDSA, ECDHE_RSA with AES-GCM (RFC 5288, RFC 5289).
        0x009C | 0x009E | 0xC02B | 0xC02F => (Aes128Gcm, false, false),
        0x009D | 0x009F | 0xC02C | 0xC030 => (Aes256Gcm, true, false),
        // ECDHE_RSA, ECDHE_ECDSA, DHE_RSA with ChaCha20-Poly1305 (RFC 7905).
        0xCCA8..=0xCCAA => (ChaCha20Poly1305, false, false),
        _ => return None,
    };
    Some(Suite {
        id,
        cipher,
        sha384,
        tls13,
    })
}

/// ring's HKDF wants the output length as a type.
struct Len(usize);

impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

/// HKDF-Expand-Label(secret, label, "", len) of RFC 8446 §7.1.
fn expand_label(sha384: bool, secret: &[u8], label: &str, len: usize) -> Option<Vec<u8>> {
    let alg = if sha384 {
        hkdf::HKDF_SHA384
    } else {
        hkdf::HKDF_SHA256
    };
    let full = format!("tls13 {label}");
    let mut info = Vec::with_capacity(4 + full.len());
    info.extend_from_slice(&(len as u16).to_be_bytes());
    info.push(full.len() as u8);
    info.extend_from_slice(full.as_bytes());
    info.push(0); // an empty context
    let prk = hkdf::Prk::new_less_safe(alg, secret);
    let mut out = vec![0; len];
    prk.expand(&[&info], Len(len)).ok()?.fill(&mut out).ok()?;
    Some(out)
}

/// TLS 1.2's PRF (RFC 5246 §5): P_hash(secret, label + seed), `len` bytes.
fn prf(sha384: bool, secret: &[u8], label: &[u8], seed: &[u8], len: usize) -> Vec<u8> {
    let alg = if sha384 {
        hmac::HMAC_SHA384
    } else {
        hmac::HMAC_SHA256
    };
    let key = hmac::Key::new(alg, secret);
    let mut label_seed = label.to_vec();
    label_seed.extend_from_slice(seed);
    let mut a = hmac::sign(&key, &label_seed).as_ref().to_vec();
    let mut out = Vec::with_capacity(len + 48);
    while out.len() < len {
        let mut ctx = hmac::Context::with_key(&key);
        ctx.update(&a);
        ctx.update(&label_seed);
        out.extend_from_slice(ctx.sign().as_ref());
        a = hmac::sign(&key, &a).as_ref().to_vec();
    }
    out.truncate(len);
    out
}

/// The keys of one direction in one epoch, and the number of its next record.
pub struct RecordKeys {
    key: LessSafeKey,
    /// TLS 1.3 and ChaCha20: the 12-byte IV the sequence number is XORed into; TLS
    /// 1.2 AES-GCM: the 4-byte salt, then the record's explicit 8 bytes.
    iv: [u8; 12],
    seq: u64,
    suite: Suite,
    /// TLS 1.3's traffic secret, for a KeyUpdate (RFC 8446 §7.2).
    secret: Option<Vec<u8>>,
}

/// A record opened: its real content type (TLS 1.3 hides it inside) and plaintext.
pub struct Opened {
    pub content_type: u8,
    pub plaintext: Vec<u8>,
}

impl RecordKeys {
    /// TLS 1.3's keys from a traffic secret (RFC 8446 §7.3).
    pub fn tls13(suite: Suite, secret: &[u8]) -> Option<RecordKeys> {
        let key = expand_label(suite.sha384, secret, "key", suite.cipher.key_len())?;
        let iv = expand_label(suite.sha384, secret, "iv", 12)?;
        Some(RecordKeys {
            key: LessSafeKey::new(UnboundKey::new(suite.cipher.algorithm(), &key).ok()?),
            iv: iv.try_into().ok()?,
            seq: 0,
            suite,
            secret: Some(secret.to_vec()),
        })
    }

    /// The next generation after a KeyUpdate (RFC 8446 §7.2).
    pub fn updated(&self) -> Option<RecordKeys> {
        let secret = self.secret.as_ref()?;
        let hash_len = if self.suite.sha384 { 48 } else { 32 };
        let next = expand_label(self.suite.sha384, secret, "traffic upd", hash_len)?;
        RecordKeys::tls13(self.suite, &next)
    }

    /// TLS 1.2's keys of both directions from the master secret (RFC 5246 §6.3: the
    /// key block holds the client's then the server's key, then their IVs; AEAD
    /// suites have no MAC keys): (client, server).
    pub fn tls12(
        suite: Suite,
        master: &[u8],
        client_random: &[u8],
        server_random: &[u8],
    ) -> Option<(RecordKeys, RecordKeys)> {
        let key_len = suite.cipher.key_len();
        let iv_len = match suite.cipher {
            Cipher::ChaCha20Poly1305 => 12,
            _ => 4,
        };
        let mut seed = server_random.to_vec();
        seed.extend_from_slice(client_random);
        let block = prf(
            suite.sha384,
            master,
            b"key expansion",
            &seed,
            2 * (key_len + iv_len),
        );
        let (keys, ivs) = block.split_at(2 * key_len);
        let make = |key: &[u8], iv: &[u8]| -> Option<RecordKeys> {
            let mut fixed = [0u8; 12];
            fixed[..iv.len()].copy_from_slice(iv);
            Some(RecordKeys {
                key: LessSafeKey::new(UnboundKey::new(suite.cipher.algorithm(), key).ok()?),
                iv: fixed,
                seq: 0,
                suite,
                secret: None,
            })
        };
        Some((
            make(&keys[..key_len], &ivs[..iv_len])?,
            make(&keys[key_len..], &ivs[iv_len..])?,
        ))
    }

    /// The record of this epoch's next number whose 5-byte header is `header` and
    /// whose body is `body`; None when it does not open (wrong keys, or not this
    /// record). The number advances only when it opens.
    pub fn open(&mut self, header: &[u8; 5], body: &[u8]) -> Option<Opened> {
        let explicit = !self.suite.tls13 && self.suite.cipher != Cipher::ChaCha20Poly1305;
        let mut nonce = self.iv;
        let sealed = if explicit {
            // RFC 5288 §3: salt (4) || explicit nonce (8), sent before the ciphertext.
            nonce[4..].copy_from_slice(body.get(..8)?);
            &body[8..]
        } else {
            for (n, s) in nonce[4..].iter_mut().zip(self.seq.to_be_bytes()) {
                *n ^= s;
            }
            body
        };
        if sealed.len() < 16 {
            return None;
        }
        let aad: Vec<u8> = if self.suite.tls13 {
            header.to_vec() // RFC 8446 §5.2: the record header is the additional data
        } else {
            // RFC 5246 §6.2.3.3: seq_num + type + version + length of the plaintext.
            let mut a = self.seq.to_be_bytes().to_vec();
            a.extend_from_slice(&header[..3]);
            a.extend_from_slice(&((sealed.len() - 16) as u16).to_be_bytes());
            a
        };
        let mut buf = sealed.to_vec();
        let plain_len = self
            .key
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(&aad[..]),
                &mut buf,
            )
            .ok()?
            .len();
        buf.truncate(plain_len);
        self.seq += 1;
        if !self.suite.tls13 {
            return Some(Opened {
                content_type: header[0],
                plaintext: buf,
            });
        }
        // RFC 8446 §5.4: content, then the real type, then zeros.
        let last = buf.iter().rposition(|&b| b != 0)?;
        let content_type = buf[last];
        buf.truncate(last);
        Some(Opened {
            content_type,
            plaintext: buf,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 8448 §3 (a simple 1-RTT handshake): the server's handshake traffic secret,
    /// and the key and IV derived from it.
    #[test]
    fn tls13_keys_match_rfc_8448() {
        let secret =
            hex::decode("b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38")
                .unwrap();
        assert_eq!(
            hex::encode(expand_label(false, &secret, "key", 16).unwrap()),
            "3fce516009c21727d0f2e4e86ee403bc"
        );
        assert_eq!(
            hex::encode(expand_label(false, &secret, "iv", 12).unwrap()),
            "5d313eb2671276ee13000b30"
        );
    }

    /// RFC 5246's PRF against the widely used test vector for P_SHA256 (from the
    /// IETF TLS list, as in Go's and NSS's tests).
    #[test]
    fn tls12_prf_matches_the_known_vector() {
        let secret = hex::decode("9bbe436ba940f017b17652849a71db35").unwrap();
        let seed = hex::decode("a0ba9f936cda311827a6f796ffd5198c").unwrap();
        let out = prf(false, &secret, b"test label", &seed, 100);
        assert_eq!(
            hex::encode(&out[..32]),
            "e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a"
        );
    }

    #[test]
    fn a_record_sealed_with_the_keys_opens_and_a_wrong_key_does_not() {
        let s = suite(0x1301).unwrap();
        let secret = [7u8; 32];
        let key = expand_label(false, &secret, "key", 16).unwrap();
        let iv = expand_label(false, &secret, "iv", 12).unwrap();
        let sealer = LessSafeKey::new(UnboundKey::new(&AES_128_GCM, &key).unwrap());
        let mut inner = b"GET / HTTP/1.0\r\n\r\n".to_vec();
        inner.push(23);
        let header = [23, 3, 3, 0, (inner.len() + 16) as u8];
        let nonce: [u8; 12] = iv.try_into().unwrap();
        sealer
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(&header),
                &mut inner,
            )
            .unwrap();
        let mut wrong = RecordKeys::tls13(s, &[8u8; 32]).unwrap();
        assert!(wrong.open(&header, &inner).is_none());
        let mut keys = RecordKeys::tls13(s, &secret).unwrap();
        let opened = keys.open(&header, &inner).unwrap();
        assert_eq!(opened.content_type, 23);
        assert_eq!(opened.plaintext, b"GET / HTTP/1.0\r\n\r\n");
        // The second record of the epoch has another nonce: the same bytes do not open.
        assert!(keys.open(&header, &inner).is_none());
        assert!(suite(0x002F).is_none(), "CBC is not decrypted");
    }
}

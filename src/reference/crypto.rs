//! Key material per purpose and the Vault/OpenBao transit wire formats
//! (`vault:v<N>:<base64>`), see `notes/protocols.md` section 5.

use std::sync::{Arc, OnceLock};

use aes_gcm::aead::consts::U12;
use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, AesGcm, Nonce};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use parking_lot::{Condvar, Mutex};
use rand::rngs::OsRng;
use rand::RngCore;
use rsa::signature::{RandomizedSigner, SignatureEncoding, Verifier};
use rsa::RsaPrivateKey;
use sha2::Sha256;

/// ARIA-256 in GCM mode with the usual 96-bit nonce.
type Aria256Gcm = AesGcm<aria::Aria256, U12>;

/// RSASSA-PSS salt length: the SHA-256 digest length.
const PSS_SALT_LEN: usize = 32;

/// Largest RSA-OAEP (SHA-256) plaintext for a 2048-bit key: 256 - 2 * 32 - 2 bytes.
pub const RSA_OAEP_MAX_PLAINTEXT: usize = 190;

pub const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// The key purposes accepted by createKey.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Aes256Gcm96,
    Rsa2048,
    EcdsaP256,
    Hmac,
    Aria,
}

impl Purpose {
    pub const ALL: [Purpose; 5] = [
        Purpose::Aes256Gcm96,
        Purpose::Rsa2048,
        Purpose::EcdsaP256,
        Purpose::Hmac,
        Purpose::Aria,
    ];
    pub fn as_str(&self) -> &'static str {
        match self {
            Purpose::Aes256Gcm96 => "aes256-gcm96",
            Purpose::Rsa2048 => "rsa-2048",
            Purpose::EcdsaP256 => "ecdsa-p256",
            Purpose::Hmac => "hmac",
            Purpose::Aria => "aria",
        }
    }
    pub fn parse(s: &str) -> Option<Purpose> {
        Purpose::ALL.into_iter().find(|p| p.as_str() == s)
    }
    /// Symmetric encryption (encrypt, decrypt, rewrap, datakey). rsa-2048 encrypts only under
    /// the `rsa-encrypt` variant, decided in the data-plane handlers.
    pub fn can_encrypt(self) -> bool {
        matches!(self, Purpose::Aes256Gcm96 | Purpose::Aria)
    }
    pub fn can_sign(self) -> bool {
        matches!(self, Purpose::Rsa2048 | Purpose::EcdsaP256)
    }
}

/// The secret of one key version.
pub enum Material {
    Aes([u8; 32]),
    Aria([u8; 32]),
    Hmac([u8; 32]),
    /// Generated on first use: most rsa-2048 versions are never used to sign, and RSA key
    /// generation dominates the server's CPU time otherwise.
    Rsa(Box<OnceLock<RsaPrivateKey>>),
    Ecdsa(p256::ecdsa::SigningKey),
}

impl Material {
    /// Fresh random material. RSA keys come from the background pool.
    pub fn generate(p: Purpose) -> Material {
        let mut k = [0u8; 32];
        match p {
            Purpose::Aes256Gcm96 => {
                OsRng.fill_bytes(&mut k);
                Material::Aes(k)
            }
            Purpose::Aria => {
                OsRng.fill_bytes(&mut k);
                Material::Aria(k)
            }
            Purpose::Hmac => {
                OsRng.fill_bytes(&mut k);
                Material::Hmac(k)
            }
            Purpose::Rsa2048 => Material::Rsa(Box::default()),
            Purpose::EcdsaP256 => Material::Ecdsa(p256::ecdsa::SigningKey::random(&mut OsRng)),
        }
    }

    /// `nonce(12) || ciphertext || tag(16)`; for rsa-2048 (only reachable under the
    /// `rsa-encrypt` variant) the RSA-OAEP (SHA-256) ciphertext, as OpenBao transit makes it.
    pub fn encrypt(&self, plaintext: &[u8]) -> Result<Vec<u8>, &'static str> {
        if let Material::Rsa(k) = self {
            if plaintext.len() > RSA_OAEP_MAX_PLAINTEXT {
                return Err("plaintext is too long for rsa-2048 RSA-OAEP (at most 190 bytes)");
            }
            let k = k.get_or_init(|| rsa_pool().take());
            return k
                .to_public_key()
                .encrypt(&mut OsRng, rsa::Oaep::new::<Sha256>(), plaintext)
                .map_err(|_| "encryption failed");
        }
        let mut nonce = [0u8; 12];
        OsRng.fill_bytes(&mut nonce);
        let ct = match self {
            Material::Aes(k) => Aes256Gcm::new(k.into()).encrypt(&Nonce::from(nonce), plaintext),
            Material::Aria(k) => Aria256Gcm::new(k.into()).encrypt(&Nonce::from(nonce), plaintext),
            _ => return Err("key purpose does not support encryption"),
        }
        .map_err(|_| "encryption failed")?;
        let mut out = Vec::with_capacity(12 + ct.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    pub fn decrypt(&self, blob: &[u8]) -> Result<Vec<u8>, &'static str> {
        if let Material::Rsa(k) = self {
            let k = k.get_or_init(|| rsa_pool().take());
            return k
                .decrypt(rsa::Oaep::new::<Sha256>(), blob)
                .map_err(|_| "rsa-oaep: decryption error");
        }
        if blob.len() < 12 + 16 {
            return Err("ciphertext too short");
        }
        let (nonce, ct) = blob.split_at(12);
        let nonce: [u8; 12] = nonce.try_into().map_err(|_| "ciphertext too short")?;
        let nonce = Nonce::from(nonce);
        match self {
            Material::Aes(k) => Aes256Gcm::new(k.into()).decrypt(&nonce, ct),
            Material::Aria(k) => Aria256Gcm::new(k.into()).decrypt(&nonce, ct),
            _ => return Err("key purpose does not support decryption"),
        }
        .map_err(|_| "cipher: message authentication failed")
    }

    pub fn sign(&self, input: &[u8]) -> Result<Vec<u8>, &'static str> {
        match self {
            Material::Rsa(k) => {
                let k = k.get_or_init(|| rsa_pool().take());
                let sk = rsa::pss::SigningKey::<Sha256>::new_with_salt_len(k.clone(), PSS_SALT_LEN);
                Ok(sk.sign_with_rng(&mut OsRng, input).to_vec())
            }
            Material::Ecdsa(sk) => {
                let sig: p256::ecdsa::Signature = rsa::signature::Signer::sign(sk, input);
                Ok(sig.to_der().as_bytes().to_vec())
            }
            _ => Err("key purpose does not support signing"),
        }
    }

    /// `Ok(false)` for a well-formed signature that does not verify.
    pub fn verify(&self, input: &[u8], sig: &[u8]) -> Result<bool, &'static str> {
        match self {
            Material::Rsa(k) => {
                let k = k.get_or_init(|| rsa_pool().take());
                let vk = rsa::pss::VerifyingKey::<Sha256>::new_with_salt_len(
                    k.to_public_key(),
                    PSS_SALT_LEN,
                );
                let Ok(sig) = rsa::pss::Signature::try_from(sig) else {
                    return Ok(false);
                };
                Ok(vk.verify(input, &sig).is_ok())
            }
            Material::Ecdsa(sk) => {
                let Ok(sig) = p256::ecdsa::DerSignature::from_bytes(sig) else {
                    return Ok(false);
                };
                Ok(sk.verifying_key().verify(input, &sig).is_ok())
            }
            _ => Err("key purpose does not support verification"),
        }
    }

    fn hmac_mac(&self, input: &[u8]) -> Result<Hmac<Sha256>, &'static str> {
        match self {
            Material::Hmac(k) => {
                let mut mac =
                    <Hmac<Sha256> as Mac>::new_from_slice(k).map_err(|_| "invalid hmac key")?;
                mac.update(input);
                Ok(mac)
            }
            _ => Err("key purpose does not support hmac"),
        }
    }

    pub fn hmac(&self, input: &[u8]) -> Result<Vec<u8>, &'static str> {
        Ok(self.hmac_mac(input)?.finalize().into_bytes().to_vec())
    }

    /// Constant-time comparison (`Mac::verify_slice`).
    pub fn hmac_verify(&self, input: &[u8], mac: &[u8]) -> Result<bool, &'static str> {
        Ok(self.hmac_mac(input)?.verify_slice(mac).is_ok())
    }
}

/// Formats `vault:v<N>:<base64(bytes)>`.
pub fn transit_format(version: u32, bytes: &[u8]) -> String {
    format!("vault:v{version}:{}", B64.encode(bytes))
}

/// Parses `vault:v<N>:<base64>`; errors name what is malformed.
pub fn transit_parse(s: &str) -> Result<(u32, Vec<u8>), String> {
    let mut parts = s.splitn(3, ':');
    let (Some(prefix), Some(ver), Some(data)) = (parts.next(), parts.next(), parts.next()) else {
        return Err("invalid format: expected vault:v<N>:<base64>".into());
    };
    if prefix != "vault" {
        return Err("invalid format: missing vault prefix".into());
    }
    let digits = ver
        .strip_prefix('v')
        .filter(|d| !d.is_empty() && d.len() <= 9 && d.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| "invalid format: bad key version".to_string())?;
    let v: u32 = digits
        .parse()
        .map_err(|_| "invalid format: bad key version".to_string())?;
    if v == 0 {
        return Err("invalid format: key version must be >= 1".into());
    }
    let bytes = B64
        .decode(data)
        .map_err(|_| "invalid format: data is not valid base64".to_string())?;
    Ok((v, bytes))
}

/// Pre-generated RSA-2048 keys. Generation takes hundreds of milliseconds, so a background
/// thread keeps a few ready; every key is still fresh, random and used exactly once.
pub struct RsaPool {
    keys: Mutex<Vec<RsaPrivateKey>>,
    changed: Condvar,
    target: usize,
}

pub fn rsa_pool() -> &'static Arc<RsaPool> {
    static POOL: OnceLock<Arc<RsaPool>> = OnceLock::new();
    POOL.get_or_init(|| {
        let pool = Arc::new(RsaPool {
            keys: Mutex::new(Vec::new()),
            changed: Condvar::new(),
            target: 4,
        });
        let p = Arc::clone(&pool);
        let spawned = std::thread::Builder::new()
            .name("kmsconform-rsa-pool".into())
            .spawn(move || p.refill_forever());
        if spawned.is_err() {
            // No thread: `take` falls back to generating inline.
        }
        pool
    })
}

impl RsaPool {
    fn refill_forever(&self) {
        loop {
            {
                let mut keys = self.keys.lock();
                while keys.len() >= self.target {
                    self.changed.wait(&mut keys);
                }
            }
            if let Ok(k) = RsaPrivateKey::new(&mut OsRng, 2048) {
                self.keys.lock().push(k);
                self.changed.notify_all();
            }
        }
    }

    /// Takes a pooled key, or generates one inline when the pool is empty.
    pub fn take(&self) -> RsaPrivateKey {
        let pooled = self.keys.lock().pop();
        self.changed.notify_all();
        match pooled {
            Some(k) => k,
            None => loop {
                if let Ok(k) = RsaPrivateKey::new(&mut OsRng, 2048) {
                    break k;
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transit_round_trip_and_malformed() {
        let s = transit_format(3, b"abc");
        assert_eq!(transit_parse(&s).ok(), Some((3, b"abc".to_vec())));
        for bad in [
            "",
            "vault",
            "vault:v1",
            "vault:1:YQ==",
            "vault:v:YQ==",
            "vault:v0:YQ==",
            "vault:v-1:YQ==",
            "vault:v1:!!",
            "foo:v1:YQ==",
            "vault:v99999999999:YQ==",
        ] {
            assert!(transit_parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn symmetric_round_trips() {
        for p in [Purpose::Aes256Gcm96, Purpose::Aria] {
            let m = Material::generate(p);
            let ct = m.encrypt(b"hello").unwrap();
            assert_eq!(m.decrypt(&ct).unwrap(), b"hello");
            let mut bad = ct.clone();
            let last = bad.len() - 1;
            bad[last] ^= 1;
            assert!(m.decrypt(&bad).is_err());
            let other = Material::generate(p);
            assert!(other.decrypt(&ct).is_err());
        }
    }

    #[test]
    fn rsa_oaep_round_trip() {
        let m = Material::generate(Purpose::Rsa2048);
        for pt in [&b""[..], b"hello", &[7u8; RSA_OAEP_MAX_PLAINTEXT]] {
            let ct = m.encrypt(pt).unwrap();
            assert_eq!(ct.len(), 256);
            assert_eq!(m.decrypt(&ct).unwrap(), pt);
        }
        assert!(m.encrypt(&[0u8; RSA_OAEP_MAX_PLAINTEXT + 1]).is_err());
        let mut ct = m.encrypt(b"x").unwrap();
        ct[10] ^= 1;
        assert!(m.decrypt(&ct).is_err());
        assert!(m.decrypt(b"short").is_err());
    }

    #[test]
    fn ecdsa_and_hmac() {
        let m = Material::generate(Purpose::EcdsaP256);
        let sig = m.sign(b"msg").unwrap();
        assert!(m.verify(b"msg", &sig).unwrap());
        assert!(!m.verify(b"msh", &sig).unwrap());
        let h = Material::generate(Purpose::Hmac);
        let mac = h.hmac(b"x").unwrap();
        assert!(h.hmac_verify(b"x", &mac).unwrap());
        assert!(!h.hmac_verify(b"y", &mac).unwrap());
    }
}

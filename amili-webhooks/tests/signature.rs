//! The default verifier accepts exactly the HMAC-SHA256 of the raw body with the shared
//! secret (hex or base64, optional `sha256=`), refuses forged, truncated, malformed and
//! missing signatures, and never shows the secret.

use amili_webhooks::http::{HeaderMap, HeaderValue};
use amili_webhooks::{
    HmacSha256Verifier, Verifier, VerifyError, WebhookError, construct_event,
    insecure_no_verification,
};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

const SECRET: &str = "whsec-7f3a9c-never-print-me";
const BODY: &[u8] = br#"{"id":"897e1f80-ceb5-4b58-a2aa-c895aff6ce3e","type":"BATCH_COMPLETED","source":"COLLECTION","timeStamp":"2025-08-15T11:42:00Z","data":{"batchId":"db6a7ff4-3a20-4042-b271-a9485ded6333","status":"SUCCESS"}}"#;

fn headers(signature: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_str(signature) {
        headers.insert("X-Webhook-Signature", value);
    }
    headers
}

fn raw_signature(verifier: &HmacSha256Verifier, body: &[u8]) -> Vec<u8> {
    let hex = verifier.sign(body);
    (0..hex.len() / 2)
        .filter_map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok())
        .collect()
}

#[test]
fn every_encoding_of_the_right_signature_is_accepted() {
    let verifier = HmacSha256Verifier::new(SECRET);
    let hex = verifier.sign(BODY);
    let raw = raw_signature(&verifier, BODY);
    assert_eq!(raw.len(), 32);
    for signature in [
        hex.clone(),
        hex.to_uppercase(),
        format!("sha256={hex}"),
        format!("SHA256={hex}"),
        STANDARD.encode(&raw),
        URL_SAFE_NO_PAD.encode(&raw),
        format!("sha256={}", STANDARD.encode(&raw)),
        format!("  {hex}  "),
        // A rotation: the old secret's signature and the new one.
        format!("{},{hex}", HmacSha256Verifier::new("old-secret").sign(BODY)),
    ] {
        assert_eq!(
            verifier.verify(&headers(&signature), BODY),
            Ok(()),
            "{signature}"
        );
    }
}

#[test]
fn forged_signatures_are_refused() {
    let verifier = HmacSha256Verifier::new(SECRET);
    let forged = HmacSha256Verifier::new("guessed-secret").sign(BODY);
    assert_eq!(
        verifier.verify(&headers(&forged), BODY),
        Err(VerifyError::Mismatch)
    );
    // The right signature on a different body (one byte changed).
    let mut tampered = BODY.to_vec();
    if let Some(byte) = tampered.iter_mut().find(|b| **b == b'S') {
        *byte = b'F';
    }
    assert_eq!(
        verifier.verify(&headers(&verifier.sign(BODY)), &tampered),
        Err(VerifyError::Mismatch)
    );
    // Every single flipped bit of the signature.
    let raw = raw_signature(&verifier, BODY);
    for bit in 0..raw.len() * 8 {
        let mut flipped = raw.clone();
        flipped[bit / 8] ^= 1 << (bit % 8);
        assert_eq!(
            verifier.verify(&headers(&STANDARD.encode(&flipped)), BODY),
            Err(VerifyError::Mismatch)
        );
    }
    // Parsing a forged body is never reached.
    assert!(matches!(
        construct_event(&verifier, &headers(&forged), BODY),
        Err(WebhookError::Signature(VerifyError::Mismatch))
    ));
}

#[test]
fn truncated_signatures_are_refused() {
    let verifier = HmacSha256Verifier::new(SECRET);
    let hex = verifier.sign(BODY);
    let raw = raw_signature(&verifier, BODY);
    for truncated in [
        hex[..63].to_owned(),
        hex[..32].to_owned(),
        hex[..2].to_owned(),
        STANDARD.encode(&raw[..31]),
        STANDARD.encode(&raw[..16]),
        format!("sha256={}", &hex[..40]),
    ] {
        let verdict = verifier.verify(&headers(&truncated), BODY);
        assert!(verdict.is_err(), "{truncated} was accepted");
        assert_ne!(verdict, Err(VerifyError::Missing));
    }
    // Longer is not accepted either.
    assert!(
        verifier
            .verify(&headers(&format!("{hex}00")), BODY)
            .is_err()
    );
}

#[test]
fn missing_and_malformed_signatures_are_refused() {
    let verifier = HmacSha256Verifier::new(SECRET);
    assert_eq!(
        verifier.verify(&HeaderMap::new(), BODY),
        Err(VerifyError::Missing)
    );
    for malformed in ["", "sha256=", "not a signature", "zz".repeat(32).as_str()] {
        assert_eq!(
            verifier.verify(&headers(malformed), BODY),
            Err(VerifyError::Malformed),
            "{malformed:?}"
        );
    }
    let mut binary = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_bytes(b"\xff\xfe") {
        binary.insert("X-Webhook-Signature", value);
    }
    assert_eq!(verifier.verify(&binary, BODY), Err(VerifyError::Malformed));
    assert!(matches!(
        construct_event(&verifier, &HeaderMap::new(), BODY),
        Err(WebhookError::Signature(VerifyError::Missing))
    ));
}

#[test]
fn an_empty_body_is_signed_like_any_other() {
    let verifier = HmacSha256Verifier::new(SECRET);
    assert_eq!(verifier.verify(&headers(&verifier.sign(b"")), b""), Ok(()));
    assert!(
        verifier
            .verify(&headers(&verifier.sign(b"")), BODY)
            .is_err()
    );
}

#[test]
fn the_secret_is_never_shown() {
    let verifier = HmacSha256Verifier::new(SECRET);
    let mut shown = vec![format!("{verifier:?}"), format!("{verifier:#?}")];
    for error in [
        VerifyError::Missing,
        VerifyError::Malformed,
        VerifyError::Mismatch,
    ] {
        shown.push(error.to_string());
        shown.push(format!("{error:?}"));
        shown.push(WebhookError::from(error).to_string());
    }
    for bad in ["", "garbage", &HmacSha256Verifier::new("x").sign(BODY)] {
        if let Err(e) = verifier.verify(&headers(bad), BODY) {
            shown.push(e.to_string());
            shown.push(format!("{e:?}"));
        }
        if let Err(e) = construct_event(&verifier, &headers(bad), BODY) {
            shown.push(format!("{e} {e:?}"));
        }
    }
    let expected = verifier.sign(BODY);
    for text in &shown {
        assert!(!text.contains(SECRET), "the secret leaked: {text}");
        assert!(
            !text.contains(&expected),
            "the expected signature leaked: {text}"
        );
    }
}

#[test]
fn the_opt_out_is_named_and_accepts_anything() {
    let verifier = insecure_no_verification();
    assert!(verifier.is_insecure());
    assert!(!HmacSha256Verifier::new(SECRET).is_insecure());
    assert_eq!(verifier.verify(&HeaderMap::new(), b"\x00"), Ok(()));
    assert!(construct_event(&verifier, &HeaderMap::new(), BODY).is_ok());
}

//! Remote directives, the format (issue 25, section 3; applying them on the
//! device is not built yet): a directive verifies only for its device,
//! only under its own `typ`, only signed by a trusted key; forged,
//! tampered, malformed, other-typed and other-device directives are
//! refused, and a grant never passes for a directive nor a directive for a
//! grant.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)] // a panic is how a test fails

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use offline_auth_backend::{GrantIssuer, GrantPolicy};
use offline_auth_proto::directive::{verify_directive, DirectiveAction, DIRECTIVE_TYP};
use offline_auth_proto::grant::{verify_signature, TrustedIssuers};
use offline_auth_proto::ProtoError;

const NOW: i64 = 1_795_392_000;

fn trusted(issuer: &GrantIssuer) -> TrustedIssuers {
    TrustedIssuers::new(&[issuer.issuer_key()]).unwrap()
}

fn refused(token: &str, issuers: &TrustedIssuers, device: &str, what: &str) {
    assert!(
        matches!(verify_directive(token, issuers, device), Err(ProtoError::DirectiveInvalid(_))),
        "{what} must be refused"
    );
}

/// `token` with its claims (part 1) replaced by `claims`, signature kept.
fn with_claims(token: &str, claims: &str) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    format!("{}.{}.{}", parts[0], URL_SAFE_NO_PAD.encode(claims), parts[2])
}

#[test]
fn a_directive_verifies_for_its_device_with_its_action_id_and_time() {
    let issuer = GrantIssuer::generate("k1").unwrap();
    for action in [DirectiveAction::Wipe, DirectiveAction::LockUntilRenewal, DirectiveAction::BiometricsOff] {
        let token = issuer.issue_directive("tablet-1", action, NOW).unwrap();
        let directive = verify_directive(&token, &trusted(&issuer), "tablet-1").unwrap();
        assert_eq!((directive.action, directive.iat, directive.device_id.as_str()), (action, NOW, "tablet-1"));
        assert_eq!(directive.jti.len(), 32);
        let header = String::from_utf8(URL_SAFE_NO_PAD.decode(token.split('.').next().unwrap()).unwrap()).unwrap();
        assert!(header.contains(DIRECTIVE_TYP), "{header}");
    }
    let a = issuer.issue_directive("tablet-1", DirectiveAction::Wipe, NOW).unwrap();
    let b = issuer.issue_directive("tablet-1", DirectiveAction::Wipe, NOW).unwrap();
    let issuers = trusted(&issuer);
    let (a, b) = (verify_directive(&a, &issuers, "tablet-1"), verify_directive(&b, &issuers, "tablet-1"));
    assert_ne!(a.unwrap().jti, b.unwrap().jti, "each directive has its own jti");
}

#[test]
fn forged_tampered_other_device_and_malformed_directives_are_refused() {
    let issuer = GrantIssuer::generate("k1").unwrap();
    let issuers = trusted(&issuer);
    let token = issuer.issue_directive("tablet-1", DirectiveAction::LockUntilRenewal, NOW).unwrap();

    refused(&token, &issuers, "tablet-2", "another device's directive");
    let forger = GrantIssuer::generate("k1").unwrap();
    let forged = forger.issue_directive("tablet-1", DirectiveAction::Wipe, NOW).unwrap();
    refused(&forged, &issuers, "tablet-1", "a directive signed by an untrusted key under a trusted kid");
    let unknown = GrantIssuer::generate("k9").unwrap().issue_directive("tablet-1", DirectiveAction::Wipe, NOW);
    refused(&unknown.unwrap(), &issuers, "tablet-1", "an unknown kid");
    let upgraded = with_claims(&token, &format!(r#"{{"aud":"tablet-1","jti":"x","iat":{NOW},"act":"wipe"}}"#));
    refused(&upgraded, &issuers, "tablet-1", "claims changed under the signature");
    let parts: Vec<&str> = token.split('.').collect();
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"offline-directive+jwt","kid":"k1"}"#);
    refused(&format!("{header}.{}.", parts[1]), &issuers, "tablet-1", "alg none");
    let long = "x".repeat(5_000);
    for malformed in ["", "a.b", "a.b.c.d", "!!.??.**", long.as_str(), token.replace('.', "").as_str()] {
        refused(malformed, &issuers, "tablet-1", "a malformed token");
    }
}

#[test]
fn a_grant_is_never_a_directive_and_a_directive_is_never_a_grant() {
    let issuer = GrantIssuer::generate("k1").unwrap();
    let issuers = trusted(&issuer);
    let grant = issuer.issue("u", "tablet-1", &["notes".to_owned()], NOW, NOW + 3600).unwrap();
    refused(&grant, &issuers, "tablet-1", "a grant presented as a directive");
    let directive = issuer.issue_directive("tablet-1", DirectiveAction::Wipe, NOW).unwrap();
    let as_grant = verify_signature(&directive, &issuers, &GrantPolicy::default());
    assert!(as_grant.is_err(), "a directive presented as a grant: {as_grant:?}");
    let lenient = GrantPolicy { accept_untyped: true, ..GrantPolicy::default() };
    assert!(verify_signature(&directive, &issuers, &lenient).is_err(), "not even for a lenient backend");
}

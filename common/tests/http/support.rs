//! The fixtures of the HTTP tests: keys, a client's credentials, user claims and signing. The
//! loopback helpers are `testkit`'s.

use common::Secret;
use common::cf::XsuaaCredentials;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
pub use testkit::net::{closed_port_url, serve};
pub use testkit::tokens::now;

pub const KEY1: &str = include_str!("../fixtures/key1.pem");
pub const KEY1_PUB: &str = include_str!("../fixtures/key1.pub.pem");
pub const KEY1_NE: &str = include_str!("../fixtures/key1.ne.json");
pub const KEY2: &str = include_str!("../fixtures/key2.pem");
pub const KEY2_PUB: &str = include_str!("../fixtures/key2.pub.pem");

pub const CLIENT_ID: &str = "sb-Backend-service!t6131";
pub const XSAPPNAME: &str = "Backend-service!t6131";
pub const ZONE: &str = "zone-1";
pub const SCOPE: &str = "Backend-service!t6131.AllAccess";

pub fn xsuaa_creds(url: &str, uaadomain: &str) -> XsuaaCredentials {
    XsuaaCredentials {
        clientid: CLIENT_ID.into(),
        clientsecret: Secret::new("s3cret"),
        url: url.into(),
        uaadomain: uaadomain.into(),
        xsappname: XSAPPNAME.into(),
        identityzone: Some("scenario".into()),
        identityzoneid: Some(ZONE.into()),
        tenantid: Some(ZONE.into()),
        zoneid: None,
        verificationkey: Some(KEY1_PUB.into()),
        tenantmode: Some("dedicated".into()),
    }
}

/// Claims of a user token as XSUAA issues it for `iss_base` (`{url}`).
pub fn user_claims(iss_base: &str) -> Value {
    let now = now();
    json!({
        "iss": format!("{iss_base}/oauth/token"),
        "zid": ZONE, "sub": "u-1", "user_id": "u-1", "user_name": "alice", "email": "alice@example.com",
        "origin": "ldap", "given_name": "Alice", "family_name": "Doe",
        "client_id": CLIENT_ID, "cid": CLIENT_ID, "azp": CLIENT_ID,
        "aud": [CLIENT_ID, XSAPPNAME, "openid"],
        "scope": ["openid", SCOPE],
        "grant_type": "authorization_code", "iat": now, "exp": now + 600,
        "ext_attr": {"enhancer": "XSUAA", "subaccountid": "sa", "zdn": "scenario"},
        "xs.user.attributes": {},
        "xs.system.attributes": {"xs.rolecollections": ["BackendAccess"]}
    })
}

pub fn sign(claims: &Value, kid: &str, jku: Option<&str>, private_pem: &str) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.into());
    header.jku = jku.map(str::to_owned);
    jsonwebtoken::encode(
        &header,
        claims,
        &EncodingKey::from_rsa_pem(private_pem.as_bytes()).unwrap(),
    )
    .unwrap()
}

pub fn jwk_ne(kid: &str) -> Value {
    let mut v: Value = serde_json::from_str(KEY1_NE).unwrap();
    v["kid"] = kid.into();
    v["kty"] = "RSA".into();
    v["alg"] = "RS256".into();
    v["use"] = "sig".into();
    v
}

pub fn jwk_pem(kid: &str, public_pem: &str) -> Value {
    json!({"kid": kid, "kty": "RSA", "alg": "RS256", "use": "sig", "value": public_pem})
}

//! Issuing XSUAA tokens (RS256, header `kid` + `jku`, XSUAA's claims) and verifying tokens this
//! XSUAA issued (for the jwt-bearer grant, `/userinfo`, the Destination service and the Backend API).

use crate::clock::now;
use crate::ids::random_id;
use crate::model::{App, OPENID, UAA_RESOURCE, UAA_USER, User};
use crate::state::{PlatformState, VerifiedToken};
use jsonwebtoken::{Algorithm, Header, Validation};
use serde_json::{Map, Value, json};
use std::collections::BTreeSet;
use std::sync::Arc;

pub const GRANT_JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// What to put in a token.
pub struct TokenRequest<'a> {
    pub app: &'a App,
    /// None: a client-credentials token.
    pub user: Option<&'a User>,
    pub grant_type: &'a str,
    /// Scopes the client asked for (`scope` parameter); None: all it may get.
    pub requested: Option<&'a [String]>,
    /// Overrides the app's token validity (seconds, may be negative: `/__mock/token`).
    pub validity: Option<i64>,
    pub auth_time: Option<i64>,
    /// Replaces the resolved scopes (`/__mock/token`).
    pub scopes_override: Option<Vec<String>>,
    /// Claims merged over the generated ones (`/__mock/token`).
    pub extra_claims: Option<Map<String, Value>>,
}

pub struct IssuedToken {
    pub access_token: String,
    pub jti: String,
    pub scopes: Vec<String>,
    pub validity: i64,
}

/// The scopes a token for `app` gets: a user's scopes the app may hold plus `openid`, or for
/// client credentials `uaa.resource` plus the app's authorities. Asking for scopes it may not
/// get is an error (`invalid_scope`), as at XSUAA.
pub fn resolve_scopes(
    app: &App,
    user: Option<&User>,
    requested: Option<&[String]>,
) -> Result<Vec<String>, String> {
    let allowed: BTreeSet<String> = match user {
        Some(user) => {
            let mut s: BTreeSet<String> = user
                .scopes
                .iter()
                .filter(|s| app.may_hold(s))
                .cloned()
                .collect();
            s.insert(OPENID.to_string());
            s
        }
        None => {
            let mut s = app.authorities.clone();
            s.insert(UAA_RESOURCE.to_string());
            s
        }
    };
    match requested {
        None => Ok(allowed.into_iter().collect()),
        Some(requested) => {
            let missing: Vec<&String> =
                requested.iter().filter(|s| !allowed.contains(*s)).collect();
            if missing.is_empty() {
                Ok(requested
                    .iter()
                    .cloned()
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect())
            } else {
                Err(format!(
                    "Invalid scope: {}. Did you know that you can get default scopes by simply sending no value?",
                    missing
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(" ")
                ))
            }
        }
    }
}

/// `aud`: the client plus, per scope, the part before its first dot (`uaa.user` -> `uaa`,
/// `Backend-service!t6131.AllAccess` -> `Backend-service!t6131`).
fn audience(client_id: &str, scopes: &[String]) -> Vec<String> {
    let mut aud: Vec<String> = Vec::new();
    for scope in scopes {
        let a = scope.split('.').next().unwrap_or(scope).to_string();
        if !aud.contains(&a) {
            aud.push(a);
        }
    }
    if !aud.iter().any(|a| a == client_id) {
        aud.push(client_id.to_string());
    }
    aud
}

impl PlatformState {
    fn sign(&self, claims: &Value) -> Result<String, String> {
        let key = self.keys.current();
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(key.kid.clone());
        header.jku = Some(format!("{}/token_keys", self.urls.xsuaa));
        jsonwebtoken::encode(&header, claims, &key.encoding)
            .map_err(|e| format!("cannot sign a token: {e}"))
    }

    fn base_claims(
        &self,
        app: &App,
        grant_type: &str,
        iat: i64,
        exp: i64,
        jti: &str,
    ) -> Map<String, Value> {
        let zone = &self.model.zone;
        let Value::Object(map) = json!({
            "jti": jti,
            "ext_attr": {"enhancer": "XSUAA", "subaccountid": zone.id, "zdn": zone.subdomain},
            "client_id": app.client_id,
            "cid": app.client_id,
            "azp": app.client_id,
            "grant_type": grant_type,
            "rev_sig": random_id(8),
            "iat": iat,
            "exp": exp,
            "iss": self.urls.issuer(),
            "zid": zone.id,
        }) else {
            unreachable!("json! of an object literal is an object")
        };
        map
    }

    pub fn issue(&self, request: TokenRequest<'_>) -> Result<IssuedToken, String> {
        let app = request.app;
        let scopes = match request.scopes_override {
            Some(scopes) => scopes,
            None => resolve_scopes(app, request.user, request.requested)?,
        };
        let validity = request.validity.unwrap_or(app.token_validity);
        let iat = now();
        let exp = iat + validity;
        let jti = random_id(32).to_lowercase();
        let mut claims = self.base_claims(app, request.grant_type, iat, exp, &jti);
        claims.insert("scope".into(), json!(scopes));
        claims.insert("aud".into(), json!(audience(&app.client_id, &scopes)));
        match request.user {
            Some(user) => {
                insert_user_claims(&mut claims, user, request.auth_time.unwrap_or(iat));
                claims.insert("xs.user.attributes".into(), json!(user.attributes));
                claims.insert(
                    "xs.system.attributes".into(),
                    json!({"xs.rolecollections": user.role_collections}),
                );
            }
            None => {
                claims.insert("sub".into(), json!(app.client_id));
                claims.insert("authorities".into(), json!(scopes));
            }
        }
        if let Some(extra) = request.extra_claims {
            claims.extend(extra);
        }
        let access_token = self.sign(&Value::Object(claims))?;
        Ok(IssuedToken {
            access_token,
            jti,
            scopes,
            validity,
        })
    }

    /// The OpenID Connect ID token for a user login.
    pub fn id_token(
        &self,
        app: &App,
        user: &User,
        grant_type: &str,
        auth_time: i64,
        nonce: Option<&str>,
    ) -> Result<String, String> {
        let iat = now();
        let jti = random_id(32).to_lowercase();
        let mut claims = self.base_claims(app, grant_type, iat, iat + app.token_validity, &jti);
        insert_user_claims(&mut claims, user, auth_time);
        claims.insert("amr".into(), json!(["pwd"]));
        claims.insert("aud".into(), json!([app.client_id]));
        if let Some(nonce) = nonce {
            claims.insert("nonce".into(), json!(nonce));
        }
        self.sign(&Value::Object(claims))
    }

    /// Verifies a token this XSUAA issued: RS256 with a published `kid`, signature, `exp`/`nbf`
    /// with `leeway` seconds, issuer and zone. Returns its claims or why it is invalid.
    ///
    /// A token verified before skips the signature check while its key is still published and
    /// its `exp` (with `leeway`) has not passed: see [`crate::signature_cache`].
    pub fn verify(&self, token: &str, leeway: u64) -> Result<Arc<VerifiedToken>, String> {
        let now = now();
        if let Some(hit) = self.verified.get(token, now, leeway)
            && self.keys.find(&hit.kid).is_some()
        {
            return Ok(hit);
        }
        let verified = Arc::new(self.verify_signature(token, leeway)?);
        if let Some(exp) = verified.claims.get("exp").and_then(Value::as_i64) {
            self.verified.insert(token, exp, verified.clone(), now);
        }
        Ok(verified)
    }

    fn verify_signature(&self, token: &str, leeway: u64) -> Result<VerifiedToken, String> {
        let header =
            jsonwebtoken::decode_header(token).map_err(|e| format!("malformed token: {e}"))?;
        if header.alg != Algorithm::RS256 {
            return Err(format!(
                "unsupported algorithm {:?} (only RS256)",
                header.alg
            ));
        }
        let kid = header.kid.ok_or("the token header has no kid")?;
        let key = self
            .keys
            .find(&kid)
            .ok_or_else(|| format!("unknown key id {kid:?}"))?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.leeway = leeway;
        validation.validate_aud = false;
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp"]);
        let data = jsonwebtoken::decode::<Map<String, Value>>(token, &key.decoding, &validation)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => {
                    "the token has expired".to_string()
                }
                jsonwebtoken::errors::ErrorKind::ImmatureSignature => {
                    "the token is not valid yet".to_string()
                }
                jsonwebtoken::errors::ErrorKind::InvalidSignature => {
                    "invalid token signature".to_string()
                }
                _ => format!("invalid token: {e}"),
            })?;
        let claims = data.claims;
        if claims.get("iss").and_then(Value::as_str) != Some(self.urls.issuer().as_str()) {
            return Err("the token was issued by another XSUAA (iss)".into());
        }
        if claims.get("zid").and_then(Value::as_str) != Some(self.model.zone.id.as_str()) {
            return Err("the token is for another identity zone (zid)".into());
        }
        Ok(VerifiedToken { kid, claims })
    }
}

/// The claims that name the user, in access and ID tokens alike.
fn insert_user_claims(claims: &mut Map<String, Value>, user: &User, auth_time: i64) {
    for (k, v) in [
        ("sub", json!(user.id)),
        ("user_id", json!(user.id)),
        ("user_name", json!(user.name)),
        ("email", json!(user.email)),
        ("origin", json!(user.origin)),
        ("given_name", json!(user.given_name)),
        ("family_name", json!(user.family_name)),
        ("auth_time", json!(auth_time)),
    ] {
        claims.insert(k.into(), v);
    }
}

/// Convenience accessors on verified claims.
pub trait ClaimsExt {
    fn str_claim(&self, name: &str) -> Option<&str>;
    fn scopes(&self) -> Vec<&str>;
    fn has_scope(&self, scope: &str) -> bool {
        self.scopes().contains(&scope)
    }
    /// A user token (as opposed to a client-credentials token).
    fn is_user_token(&self) -> bool {
        self.str_claim("user_id").is_some()
            && self.str_claim("grant_type") != Some("client_credentials")
    }
    fn client_id(&self) -> Option<&str> {
        self.str_claim("cid")
            .or_else(|| self.str_claim("client_id"))
    }
}

impl ClaimsExt for Map<String, Value> {
    fn str_claim(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(Value::as_str)
    }

    fn scopes(&self) -> Vec<&str> {
        self.get("scope")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    }
}

/// Whether `claims` carries what the jwt-bearer grant needs from its assertion.
pub fn assertion_has_uaa_user(claims: &Map<String, Value>) -> bool {
    claims.has_scope(UAA_USER)
}

// SAP's own Node.js libraries against the running mock platform (run by tests/node_compat.rs).
// Input: VCAP_SERVICES (the mock's bindings), NODE_EXTRA_CA_CERTS (the mock's CA), COMPAT_INPUT
// (JSON: tokens and URLs). Output: one JSON line with each check's outcome; the Rust test asserts.
'use strict';

const xssec = require('@sap/xssec');
const { getDestination } = require('@sap-cloud-sdk/connectivity');

const vcap = JSON.parse(process.env.VCAP_SERVICES);
const input = JSON.parse(process.env.COMPAT_INPUT);
const xsuaaCredentials = vcap.xsuaa[0].credentials;

async function outcome(fn) {
  try {
    return { ok: true, value: await fn() };
  } catch (e) {
    return { ok: false, error: String((e && (e.message || e)) || e) };
  }
}

async function validate(jwt) {
  const service = new xssec.XsuaaService(xsuaaCredentials);
  const context = await xssec.createSecurityContext(service, { jwt });
  return {
    logonName: context.getLogonName(),
    zoneId: context.getZoneId(),
    backendScope: context.checkScope(input.backendScope),
    uaaUser: context.checkScope('uaa.user'),
  };
}

async function main() {
  const results = {};
  results.xssec_alice = await outcome(() => validate(input.alice));
  results.xssec_bob = await outcome(() => validate(input.bob));
  results.xssec_expired = await outcome(() => validate(input.expired));
  results.xssec_foreign_key = await outcome(() => validate(input.foreignKey));
  results.xssec_client_credentials = await outcome(async () => {
    const service = new xssec.XsuaaService(xsuaaCredentials);
    const token = await service.fetchClientCredentialsToken();
    return { scope: token.scope, hasAccessToken: typeof token.access_token === 'string' };
  });

  results.sdk_alice = await outcome(async () => {
    const destination = await getDestination({ destinationName: input.destinationName, jwt: input.alice, useCache: false });
    if (!destination) {
      return null;
    }
    const token = (destination.authTokens || [])[0] || {};
    const header = token.http_header ? token.http_header.value : undefined;
    let backendStatus;
    if (header) {
      const response = await fetch(destination.url, { headers: { Authorization: header, Accept: 'application/json' } });
      backendStatus = response.status;
    }
    return {
      url: destination.url,
      authentication: destination.authentication,
      tokenType: token.type,
      tokenError: token.error || null,
      headerIsBearer: typeof header === 'string' && header.startsWith('Bearer '),
      backendStatus,
    };
  });
  results.sdk_unknown = await outcome(() =>
    getDestination({ destinationName: 'NoSuchDestination', jwt: input.alice, useCache: false }));

  process.stdout.write('COMPAT_RESULT ' + JSON.stringify(results) + '\n');
}

main().catch((e) => {
  process.stdout.write('COMPAT_RESULT ' + JSON.stringify({ fatal: String(e && e.stack || e) }) + '\n');
  process.exitCode = 1;
});

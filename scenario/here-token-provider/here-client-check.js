// HERE's own client (`@here/olp-sdk-authentication`) against the mock HERE token endpoint.
// argv: <credentials.properties> <demo url>. Prints one JSON line per check; exits 1 on a failed one.
const { requestToken, loadCredentialsFromFile } = require("@here/olp-sdk-authentication");
const fs = require("fs");

const [file, demoUrl] = process.argv.slice(2);
const text = fs.readFileSync(file, "utf8");
const url = /here\.token\.endpoint\.url\s*=\s*(\S*)/.exec(text)[1];
const results = {};

async function refused(name, args) {
    // requestToken rejects with HttpError(status, statusText) and drops the body (checked from Rust).
    try {
        await requestToken(args);
        results[name] = { refused: false };
    } catch (e) {
        results[name] = { refused: true, status: e.status };
    }
}


(async () => {
    const creds = loadCredentialsFromFile(file);
    const ok = await requestToken({
        url, consumerKey: creds.accessKeyId, secretKey: creds.accessKeySecret, expiresIn: 600,
    });
    results.loadCredentialsFromFile = { accessKeyId: creds.accessKeyId, secretLength: creds.accessKeySecret.length };
    results.requestToken = { tokenType: ok.tokenType, expiresIn: ok.expiresIn, parts: ok.accessToken.split(".").length };
    const demo = await fetch(demoUrl, { headers: { Authorization: `Bearer ${ok.accessToken}` } });
    results.demo = { status: demo.status, body: await demo.json() };

    const long = await requestToken({
        url, consumerKey: creds.accessKeyId, secretKey: creds.accessKeySecret, expiresIn: 999999,
    });
    results.clamped = { expiresIn: long.expiresIn };

    await refused("wrongSecret", {
        url, consumerKey: creds.accessKeyId, secretKey: creds.accessKeySecret + "x", expiresIn: 60,
    });
    await refused("staleTimestamp", {
        url, consumerKey: creds.accessKeyId, secretKey: creds.accessKeySecret, expiresIn: 60,
        timestamp: Math.floor(Date.now() / 1000) - 600,
    });
    const nonce = require("crypto").randomBytes(16).toString("hex");
    const again = {
        url, consumerKey: creds.accessKeyId, secretKey: creds.accessKeySecret, expiresIn: 60,
    };
    await requestToken({ ...again, nonce, timestamp: Math.floor(Date.now() / 1000) });
    await refused("replayedNonce", { ...again, nonce, timestamp: Math.floor(Date.now() / 1000) });
    console.log(JSON.stringify(results));
})().catch((e) => {
    console.log(JSON.stringify({ error: String(e && e.message || e), status: e && e.status, results }));
    process.exit(1);
});

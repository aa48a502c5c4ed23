// Seed 003's client: getBearerToken() fetches a token from the token provider; here the token
// provider is bsclient behind the App Router (same origin, the login session's cookie), and the
// token is handed to a protected API of its issuer, as the seed hands it to its DataInspector.

/** Time to live of the token, in seconds. */
const TTL = 3600;

async function getBearerToken() {
    const response = await fetch(`/getToken?ttl=${TTL}`, {
        credentials: "same-origin",
        headers: { "X-Requested-With": "XMLHttpRequest" },
    });
    if (!response.ok) {
        throw new Error(`/getToken: ${response.status} ${response.statusText}`);
    }
    return response.text();
}

/** The `exp` claim of a JWT, or null for another kind of token. */
function expiryOf(token) {
    try {
        const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
        const exp = JSON.parse(atob(payload)).exp;
        return typeof exp === "number" ? new Date(exp * 1000) : null;
    } catch (e) {
        return null;
    }
}

function show(id, text) {
    document.getElementById(id).textContent = text;
}

function status(state, text) {
    const element = document.getElementById("status");
    element.dataset.state = state;
    element.textContent = text;
}

(async () => {
    try {
        const token = await getBearerToken();
        show("token", `${token.slice(0, 24)}... (${token.length} characters)`);
        const expires = expiryOf(token);
        show("expires", expires ? `${expires.toISOString()} (in ${Math.round((expires - Date.now()) / 60000)} min)` : "unknown");

        const config = await (await fetch("config.json", { credentials: "same-origin" })).json();
        const demo = await fetch(config.demoUrl, { headers: { Authorization: `Bearer ${token}` } });
        const body = await demo.json();
        if (!demo.ok) {
            throw new Error(`demo API: ${demo.status} ${body.message || ""}`);
        }
        show("demo", `${demo.status}: token of ${body.userId} (access key ${body.accessKeyId}), valid until ${new Date(body.expiresAt * 1000).toISOString()}`);
        status("ok", "Got a token and used it.");
    } catch (e) {
        status("error", `Failed: ${e.message}`);
    }
})();

// Seed 003's token-provider.js ("Use Token from Server Token Provider"), unchanged. The published
// listing lost some lines; only those are restored, each marked "restored":
// the file name in readFileSync, the Express set-up, the arguments of requestToken in the
// handler, `Date.now()`, sending the token, the 500 answer and the closing brackets.
const express = require("express"); // restored
const app = express(); // restored
const requestToken = require("@here/olp-sdk-authentication").requestToken;

const credentials = require("fs").readFileSync("./credentials.properties"); // restored: file name
const url = (/here\.token\.endpoint\.url\s*=\s*([\S]*)/g).exec(credentials)[1];
const consumerKey = (/here\.access\.key\.id\s*=\s*([\S]*)/g).exec(credentials)[1];
const secretKey = (/here\.access\.key\.secret\s*=\s*([\S]*)/g).exec(credentials)[1];
const scope = ((/here\.token\.scope\s*=\s*([\S]*)/g).exec(credentials) || [])[1];

// Cached data
let tokenExpirationTime = new Date();
let tokenInfo = null;

// Add GET endpoint on this server, that will fetch the token from the token endpoint.
// API format: /getToken?ttl={number}, where ttl is an optional parameter which defines the time to
// live of a token in seconds.
app.get("/getToken", async (request, response) => {
    try {
        if (new Date() >= tokenExpirationTime) {
            console.log('Request a new token...');

            tokenInfo = await requestToken({
                // Set the token endpoint
                url: url, // restored

                // Set the time to live of the token. If not defined, then 3600 sec will be used by default.
                expiresIn: request.query.ttl,

                // Pass credential data.
                consumerKey: consumerKey, // restored
                secretKey: secretKey, // restored
                scope: scope // restored
            }); // restored

            tokenExpirationTime = new Date(Date.now() + tokenInfo.expiresIn * 1000); // restored: Date.now()

            console.log(`The token expires on: ${tokenExpirationTime}`);
        } // restored

        // Allow CORS. Optional, if token provider and client application will be hosted on different server
        response.set("Access-Control-Allow-Origin", "*");

        // Send back token to the requestor.
        response.send(tokenInfo.accessToken); // restored
    } catch (e) {
        // For code brevity, we don't analyze error type and return HTTP 500 response.
        console.error(`Error acquiring new token: ${e.message}`);
        response.sendStatus(500); // restored
    } // restored
}); // restored

// Define the server port.
const PORT = 3000;

// Start the server.
app.listen(PORT, () => {
    console.log(`Token provider is listening port ${PORT}`);
}); // restored

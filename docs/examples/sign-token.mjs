// Sign a cStar identity token in Node with jose (npm install jose).
// Your backend does this once a visitor is signed in to your site, and hands
// the token to CStarChat.identify({token}) on the page.
import { SignJWT } from "jose";

const secret = new TextEncoder().encode(process.env.CSTAR_IDENTITY_SECRET); // isec_… of the mode
const token = await new SignJWT({ email: "ada@example.com", name: "Ada Lovelace" })
  .setProtectedHeader({ alg: "HS256", typ: "JWT" })
  .setSubject(process.env.USER_ID ?? "user-42") // your own user id
  .setIssuedAt()
  .setExpirationTime("10m") // at most 24 h after iat
  .setJti(crypto.randomUUID()) // optional: each token works once
  .sign(secret);
console.log(token);

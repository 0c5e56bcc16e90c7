// A local OpenID Connect provider for the dashboard's sign-in tests: panva's oidc-provider (certified OpenID Provider
// library) with its development login and consent pages, one confidential client, and accounts whose claims a test can
// change while the provider runs (PUT /test/accounts/:id) to see a role change or removal reach the gateway on refresh.
// Environment: PORT, CLIENT_ID, CLIENT_SECRET, REDIRECT_URIS and POST_LOGOUT_REDIRECT_URIS (space separated),
// ACCOUNTS (JSON: id -> claims), TOKEN_TTL (seconds of access and ID tokens), CALLMESH_OIDC_TOOLS (the npm install).
import { createRequire } from "node:module";

const require = createRequire(process.env.CALLMESH_OIDC_TOOLS ? process.env.CALLMESH_OIDC_TOOLS + "/package.json" : import.meta.url);
const { default: Provider } = await import(require.resolve("oidc-provider"));

const port = Number(process.env.PORT);
const issuer = `http://127.0.0.1:${port}`;
const accounts = new Map(Object.entries(JSON.parse(process.env.ACCOUNTS ?? "{}")));
const ttl = Number(process.env.TOKEN_TTL ?? 300);

const provider = new Provider(issuer, {
  clients: [{
    client_id: process.env.CLIENT_ID,
    client_secret: process.env.CLIENT_SECRET,
    token_endpoint_auth_method: "client_secret_post",
    grant_types: ["authorization_code", "refresh_token"],
    response_types: ["code"],
    redirect_uris: process.env.REDIRECT_URIS.split(" "),
    post_logout_redirect_uris: (process.env.POST_LOGOUT_REDIRECT_URIS ?? "").split(" ").filter(Boolean),
  }],
  pkce: { required: () => true },
  scopes: ["openid", "offline_access", "profile", "callmesh"],
  claims: { openid: ["sub"], profile: ["name"], callmesh: ["tenant", "callmesh_role", "locations", "markets", "groups"] },
  conformIdTokenClaims: false,   // claims in the ID token too, as Entra ID and Okta put groups there
  features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
  issueRefreshToken: async (ctx, client) => client.grantTypeAllowed("refresh_token"),
  ttl: { AccessToken: ttl, IdToken: ttl, RefreshToken: 3600, Grant: 3600, Session: 3600, Interaction: 600 },
  async findAccount(ctx, id) {
    if (!accounts.has(id)) accounts.set(id, {});   // the development login takes any name
    return { accountId: id, claims: async () => ({ sub: id, name: id, ...accounts.get(id) }) };
  },
  async loadExistingGrant(ctx) {
    // Consent is given once per client and kept; this test provider grants what is asked.
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope("openid offline_access profile callmesh");
    await grant.save();
    return grant;
  },
});

// The test's hand on the directory: change an account's claims (a role granted or taken away).
provider.use(async (ctx, next) => {
  const match = /^\/test\/accounts\/([^/]+)$/.exec(ctx.path);
  if (!match || ctx.method !== "PUT") return next();
  const chunks = [];
  for await (const chunk of ctx.req) chunks.push(chunk);
  accounts.set(decodeURIComponent(match[1]), JSON.parse(Buffer.concat(chunks).toString("utf8")));
  ctx.status = 204;
});

provider.listen(port, "127.0.0.1", () => console.log(`oidc-provider listening on ${issuer}`));

// A local stand-in for an Auth0 tenant's token side, for `npm start` and the tests: its own RSA
// key, a JWKS at /.well-known/jwks.json, and POST /oauth/token issuing client-credentials
// access tokens with Auth0's claims (iss with trailing slash, aud, sub=<client>@clients, azp,
// gty, scope, iat, exp). Listens on 127.0.0.1 only.
import http from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';

export interface DevClient {
  clientId: string;
  clientSecret: string;
  /** Scopes this client is granted for the audience. */
  scopes: string[];
}

export interface DevTokenIssuerOptions {
  audience: string;
  clients: DevClient[];
  /** Seconds a token from /oauth/token lives. Default 86400, as Auth0's default. */
  tokenLifetimeSeconds?: number;
}

export interface MintOptions {
  clientId?: string;
  scope?: string;
  /** Claims to add, replace, or (with undefined) remove. */
  claims?: Record<string, unknown>;
  expiresInSeconds?: number;
  kid?: string;
}

export interface DevTokenIssuer {
  issuer: string;
  jwksUrl: string;
  tokenUrl: string;
  audience: string;
  /** Requests to /oauth/token so far (the tests count them: Auth0 meters machine tokens). */
  readonly tokenRequests: number;
  /** Requests to the JWKS so far. */
  readonly jwksRequests: number;
  /** A signed token as /oauth/token would issue it, with optional changes for tests. */
  mint(options?: MintOptions): Promise<string>;
  /** Replaces the signing key (new kid); the JWKS then serves only the new key. */
  rotateKey(): Promise<void>;
  /** Makes the JWKS endpoint answer 503 (true) or normally (false). */
  setJwksDown(down: boolean): void;
  stop(): Promise<void>;
}

interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

async function newSigningKey(): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const kid = `dev-${crypto.randomUUID().slice(0, 8)}`;
  return { kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } };
}

export async function startDevTokenIssuer(options: DevTokenIssuerOptions): Promise<DevTokenIssuer> {
  let key = await newSigningKey();
  let jwksDown = false;
  let tokenRequests = 0;
  let jwksRequests = 0;
  let issuer = '';
  const lifetime = options.tokenLifetimeSeconds ?? 86_400;

  const mint = async (mintOptions: MintOptions = {}): Promise<string> => {
    const client = options.clients.find(
      (candidate) => candidate.clientId === (mintOptions.clientId ?? options.clients[0]?.clientId),
    );
    const clientId = mintOptions.clientId ?? client?.clientId ?? 'unknown-client';
    const now = Math.floor(Date.now() / 1000);
    const claims: Record<string, unknown> = {
      iss: issuer,
      sub: `${clientId}@clients`,
      aud: options.audience,
      iat: now,
      exp: now + (mintOptions.expiresInSeconds ?? lifetime),
      scope: mintOptions.scope ?? client?.scopes.join(' ') ?? '',
      gty: 'client-credentials',
      azp: clientId,
      ...mintOptions.claims,
    };
    for (const [name, value] of Object.entries(claims)) if (value === undefined) delete claims[name];
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: mintOptions.kid ?? key.kid })
      .sign(key.privateKey);
  };

  const server = http.createServer(async (request, response) => {
    const send = (status: number, body: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      response.end(JSON.stringify(body));
    };
    const url = new URL(request.url ?? '/', 'http://issuer.local');
    if (request.method === 'GET' && url.pathname === '/.well-known/jwks.json') {
      jwksRequests += 1;
      if (jwksDown) return send(503, { error: 'unavailable' });
      return send(200, { keys: [key.publicJwk] });
    }
    if (request.method === 'POST' && url.pathname === '/oauth/token') {
      tokenRequests += 1;
      const form = await readForm(request);
      const client = options.clients.find((candidate) => candidate.clientId === form.client_id);
      if (form.grant_type !== 'client_credentials') return send(400, { error: 'unsupported_grant_type' });
      if (!client || !sameSecret(client.clientSecret, form.client_secret ?? '')) {
        return send(401, { error: 'access_denied', error_description: 'Unauthorized' });
      }
      if (form.audience !== options.audience)
        return send(403, { error: 'access_denied', error_description: 'Service not enabled within domain' });
      const scope = client.scopes.join(' ');
      return send(200, {
        access_token: await mint({ clientId: client.clientId, scope }),
        scope,
        expires_in: lifetime,
        token_type: 'Bearer',
      });
    }
    return send(404, { error: 'not_found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  issuer = `http://127.0.0.1:${port}/`;

  return {
    issuer,
    jwksUrl: `${issuer}.well-known/jwks.json`,
    tokenUrl: `${issuer}oauth/token`,
    audience: options.audience,
    get tokenRequests() {
      return tokenRequests;
    },
    get jwksRequests() {
      return jwksRequests;
    },
    mint,
    async rotateKey() {
      key = await newSigningKey();
    },
    setJwksDown(down) {
      jwksDown = down;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Auth0 accepts both JSON and form-encoded token requests. */
async function readForm(request: http.IncomingMessage): Promise<Record<string, string | undefined>> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if ((request.headers['content-type'] ?? '').includes('application/json')) {
    try {
      const parsed = JSON.parse(text) as Record<string, unknown>;
      return Object.fromEntries(
        Object.entries(parsed).map(([name, value]) => [name, typeof value === 'string' ? value : undefined]),
      );
    } catch {
      return {};
    }
  }
  return Object.fromEntries(new URLSearchParams(text));
}

function sameSecret(expected: string, offered: string): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(offered);
  return a.length === b.length && timingSafeEqual(a, b);
}

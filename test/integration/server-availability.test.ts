// The on-prem server stays available to Auth0 whatever other clients do: uploads cut off mid-body,
// requests that never finish their body or their headers, and more connections than it keeps.
// Real sockets against the real server (test/support/stack.ts); deadlines below only say "still
// answers at all", never how fast.
import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_USERS } from '../support/fixtures.ts';
import { startTestStack, type TestStack } from '../support/stack.ts';

const alice = DEMO_USERS[0]!;
const LOGIN_BODY = JSON.stringify({ username: alice.uid, password: alice.password });
const HALF_BODY = LOGIN_BODY.slice(0, Math.floor(LOGIN_BODY.length / 2));
/** How long anything below may take before the server counts as not answering. */
const LIVENESS_MS = 5_000;

/** A client on a raw socket: what it sent is up to the test, what it got is collected. */
class RawClient {
  received = '';
  open = true;
  readonly closed: Promise<void>;

  private constructor(readonly socket: net.Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      this.received += chunk;
    });
    // A refused connection may end in a reset: that is a close like any other here.
    socket.on('error', () => {});
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.open = false;
        resolve();
      }),
    );
  }

  static connect(url: string, text = ''): Promise<RawClient> {
    const { hostname, port } = new URL(url);
    return new Promise((resolve, reject) => {
      const socket = net.connect(Number(port), hostname, () => {
        socket.off('error', reject);
        const client = new RawClient(socket);
        if (text) socket.write(text);
        resolve(client);
      });
      socket.once('error', reject);
    });
  }

  /** The first response on the connection. */
  response(): { status: number; headers: Record<string, string>; body: string } {
    const [head = '', body = ''] = this.received.split('\r\n\r\n');
    const [statusLine = '', ...lines] = head.split('\r\n');
    const headers = Object.fromEntries(
      lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]),
    );
    return { status: Number(statusLine.split(' ')[1]), headers, body };
  }
}

/** The head of a login request whose body is LOGIN_BODY, with or without a token. */
function loginHead(token: string | null): string {
  return [
    'POST /login HTTP/1.1',
    'Host: 127.0.0.1',
    'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(LOGIN_BODY)}`,
    ...(token === null ? [] : [`Authorization: Bearer ${token}`]),
    '',
    '',
  ].join('\r\n');
}

/** Waits until the condition holds; fails naming what did not happen within LIVENESS_MS. */
async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + LIVENESS_MS;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`not within ${LIVENESS_MS} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function withinLiveness<T>(promise: Promise<T>, what: string): Promise<T> {
  return Promise.race([
    promise,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`not within ${LIVENESS_MS} ms: ${what}`)), LIVENESS_MS).unref(),
    ),
  ]);
}

async function expectLogin(stack: TestStack): Promise<void> {
  const response = await stack.post('/login', LOGIN_BODY);
  expect(response.status).toBe(200);
  expect(((await response.json()) as { username: string }).username).toBe(alice.uid);
}

async function expectIdle(stack: TestStack): Promise<void> {
  await until(() => {
    const load = stack.load();
    return load.requests === 0 && load.receiving === 0 && load.inFlight === 0;
  }, 'every request settled and every slot given back');
}

/** A login over a connection of the agent's; says whether the agent reused a kept-open one. */
function loginOn(stack: TestStack, agent: http.Agent, token: string): Promise<{ status: number; reused: boolean }> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      `${stack.url}/login`,
      {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(LOGIN_BODY),
          authorization: `Bearer ${token}`,
        },
      },
      (response) => {
        response.resume();
        response.once('end', () => resolve({ status: response.statusCode ?? 0, reused: request.reusedSocket }));
      },
    );
    request.once('error', reject);
    request.end(LOGIN_BODY);
  });
}

describe('uploads cut off mid-body', () => {
  let stack: TestStack;
  beforeAll(async () => {
    // Few slots, so that any slot lost would show at once; a body deadline that never fires here.
    stack = await startTestStack({ MAX_IN_FLIGHT: '8', BODY_TIMEOUT_MS: '30000' });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('gives every slot back after 2000 uploads cut off mid-body, with a valid token and without', async () => {
    const token = await stack.issuer.mint();
    for (let batch = 0; batch < 20; batch += 1) {
      // Without a token: hang up right after half the body (the server answers 401 to nobody).
      const anonymous = await Promise.all(
        Array.from({ length: 50 }, () => RawClient.connect(stack.url, loginHead(null) + HALF_BODY)),
      );
      for (const client of anonymous) client.socket.destroy();
      // With a token: hang up once the server is waiting for the rest of the body.
      const authorized = await Promise.all(
        Array.from({ length: 50 }, () => RawClient.connect(stack.url, loginHead(token) + HALF_BODY)),
      );
      await until(() => stack.load().receiving === 50, 'the server waits for 50 bodies');
      for (const client of authorized) client.socket.destroy();
      await expectIdle(stack);
    }
    await expectLogin(stack);
    await expectIdle(stack);
    expect(stack.load().inFlight).toBe(0);
  });

  it('gives the slot back when the client hangs up while its login is with the directory', async () => {
    const token = await stack.issuer.mint();
    for (let round = 0; round < 25; round += 1) {
      const clients = await Promise.all(
        Array.from({ length: 8 }, () => RawClient.connect(stack.url, loginHead(token) + LOGIN_BODY)),
      );
      for (const client of clients) client.socket.destroy();
    }
    await expectIdle(stack);
    await expectLogin(stack);
    await expectIdle(stack);
  });

  it('answers 401 and closes the connection without waiting for the body when the token is missing', async () => {
    const client = await RawClient.connect(stack.url, loginHead(null) + HALF_BODY);
    await withinLiveness(client.closed, 'the connection closed');
    const response = client.response();
    expect(response.status).toBe(401);
    expect(response.headers.connection).toBe('close');
    expect(response.body).toBe('{"error":"invalid_token"}');
  });
});

describe('requests that never finish their body', () => {
  let stack: TestStack;
  beforeAll(async () => {
    // Fewer slots than held requests: a held body must not take one.
    stack = await startTestStack({ MAX_IN_FLIGHT: '8', BODY_TIMEOUT_MS: '5000' });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('answers a login while 300 requests with a valid token and 300 without hold half a body, then closes the held ones with 408', async () => {
    const token = await stack.issuer.mint();
    const anonymous = await Promise.all(
      Array.from({ length: 300 }, () => RawClient.connect(stack.url, loginHead(null) + HALF_BODY)),
    );
    const held = await Promise.all(
      Array.from({ length: 300 }, () => RawClient.connect(stack.url, loginHead(token) + HALF_BODY)),
    );
    await until(() => stack.load().receiving === 300, 'the server waits for 300 bodies');

    await withinLiveness(expectLogin(stack), 'a login answered while 300 bodies are held');
    // The login was served while every held request was still open.
    expect(stack.load().receiving).toBe(300);
    expect(held.every((client) => client.open)).toBe(true);

    // Without a token: 401 at once, connection closed, the body never waited for.
    await withinLiveness(Promise.all(anonymous.map((client) => client.closed)), 'the 300 without a token closed');
    for (const client of anonymous) {
      expect(client.response().status).toBe(401);
      expect(client.response().body).toBe('{"error":"invalid_token"}');
    }
    // With a token: the body deadline answers 408 in the bridge's format and closes.
    await withinLiveness(Promise.all(held.map((client) => client.closed)), 'the 300 held ones closed');
    for (const client of held) {
      const response = client.response();
      expect(response.status).toBe(408);
      expect(response.headers.connection).toBe('close');
      expect(response.body).toBe('{"error":"request_timeout"}');
    }
    await expectIdle(stack);
    expect(stack.logs.some((line) => line.includes('BODY_TIMEOUT_MS'))).toBe(true);
  }, 20_000);
});

describe('slow headers and idle connections', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack({ HEADERS_TIMEOUT_MS: '500', KEEP_ALIVE_TIMEOUT_MS: '500' });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('drops a client that never finishes its headers (slowloris) with 408 request_timeout', async () => {
    const client = await RawClient.connect(stack.url, 'POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    const drip = setInterval(() => client.socket.write('X-Slow: a\r\n'), 100);
    try {
      await withinLiveness(client.closed, 'the slow client dropped');
    } finally {
      clearInterval(drip);
    }
    const response = client.response();
    expect(response.status).toBe(408);
    expect(response.headers.connection).toBe('close');
    expect(response.body).toBe('{"error":"request_timeout"}');
  });

  it('drops a connection that never sends a byte', async () => {
    const client = await RawClient.connect(stack.url);
    await withinLiveness(client.closed, 'the silent connection dropped');
    expect(client.response().status).toBe(408);
  });

  it('answers 400 invalid_request in its own format to something that is not HTTP, and closes', async () => {
    const client = await RawClient.connect(stack.url, 'HELLO\r\n\r\n');
    await withinLiveness(client.closed, 'the connection closed');
    expect(client.response().status).toBe(400);
    expect(JSON.parse(client.response().body)).toMatchObject({ error: 'invalid_request' });
  });

  it('closes a kept-open connection idle past KEEP_ALIVE_TIMEOUT_MS', async () => {
    const client = await RawClient.connect(stack.url, loginHead(await stack.issuer.mint()) + LOGIN_BODY);
    await withinLiveness(client.closed, 'the idle connection closed');
    const response = client.response();
    expect(response.status).toBe(200);
    expect(response.headers.connection).toBe('keep-alive');
  });

  it('still logs in while slow clients hold connections', async () => {
    const slow = await Promise.all(
      Array.from({ length: 100 }, () => RawClient.connect(stack.url, 'POST /login HTTP/1.1\r\n')),
    );
    await withinLiveness(expectLogin(stack), 'a login answered');
    await withinLiveness(Promise.all(slow.map((client) => client.closed)), 'the slow clients dropped');
  });
});

describe('the connection bound (MAX_CONNECTIONS)', () => {
  const BOUND = 20;
  // Deadlines that never fire here: the connections stay until the test closes them.
  const settings = {
    MAX_CONNECTIONS: String(BOUND),
    HEADERS_TIMEOUT_MS: '30000',
    BODY_TIMEOUT_MS: '30000',
    KEEP_ALIVE_TIMEOUT_MS: '30000',
  };

  it('lets a newcomer in past the bound by closing the oldest connection that never showed a valid token', async () => {
    const stack = await startTestStack(settings);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const slow: RawClient[] = [];
    try {
      const token = await stack.issuer.mint();
      expect((await loginOn(stack, agent, token)).status).toBe(200);
      for (let index = 1; index < BOUND; index += 1) {
        slow.push(await RawClient.connect(stack.url, 'POST /login HTTP/1.1\r\n'));
        await until(() => stack.load().connections === index + 1, 'the server holds the connection');
      }

      const newcomer = await loginOn(stack, new http.Agent({ keepAlive: false }), token);
      expect(newcomer.status).toBe(200);
      await withinLiveness(slow[0]!.closed, 'the oldest connection without a token closed');
      expect(slow.slice(1).every((client) => client.open)).toBe(true);
      expect(await loginOn(stack, agent, token)).toEqual({ status: 200, reused: true });
    } finally {
      for (const client of slow) client.socket.destroy();
      agent.destroy();
      await stack.stop();
    }
  });

  it('refuses a newcomer when every connection has shown a valid token, and keeps serving the kept-open ones', async () => {
    const stack = await startTestStack(settings);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const held: RawClient[] = [];
    try {
      const token = await stack.issuer.mint();
      expect((await loginOn(stack, agent, token)).status).toBe(200);
      for (let index = 1; index < BOUND; index += 1) {
        held.push(await RawClient.connect(stack.url, loginHead(token) + HALF_BODY));
      }
      await until(() => stack.load().receiving === BOUND - 1, 'the server waits for every held body');
      expect(stack.load().connections).toBe(BOUND);

      const refused = await RawClient.connect(stack.url, loginHead(token) + LOGIN_BODY);
      await withinLiveness(refused.closed, 'the newcomer refused');
      expect(refused.received).toBe('');
      expect(held.every((client) => client.open)).toBe(true);
      expect(await loginOn(stack, agent, token)).toEqual({ status: 200, reused: true });
    } finally {
      for (const client of held) client.socket.destroy();
      agent.destroy();
      await stack.stop();
    }
  });
});

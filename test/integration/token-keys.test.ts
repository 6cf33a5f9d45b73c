// The token issuer's signing keys (JWKS) as the bridge fetches them: an outage is 503, never
// 401; unknown kids cannot make the bridge hammer the JWKS; a rotated key is picked up.
import { afterEach, describe, expect, it } from 'vitest';
import { DEMO_USERS } from '../support/fixtures.ts';
import { startTestStack, type TestStack } from '../support/stack.ts';

const alice = DEMO_USERS[0]!;
let stack: TestStack | undefined;
afterEach(async () => {
  await stack?.stop();
  stack = undefined;
});

describe('JWKS', () => {
  it('answers 503 jwks_unavailable when the JWKS is down on a cold start, then recovers', async () => {
    stack = await startTestStack({ AUTH_JWKS_COOLDOWN_SECONDS: '1' });
    stack.issuer.setJwksDown(true);
    const response = await stack.post('/get-user', { username: alice.uid });
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({ error: 'jwks_unavailable' });
    expect(response.headers.get('retry-after')).toBe('5');
    stack.issuer.setJwksDown(false);
    expect((await stack.post('/get-user', { username: alice.uid })).status).toBe(200);
  });

  it('fetches the JWKS once for many tokens, and at most once more for a burst of forged kids', async () => {
    stack = await startTestStack();
    for (let index = 0; index < 5; index += 1)
      expect((await stack.post('/get-user', { username: alice.uid })).status).toBe(200);
    expect(stack.issuer.jwksRequests).toBe(1);
    const forged = await Promise.all(
      Array.from({ length: 50 }, (_, index) => stack!.issuer.mint({ kid: `forged-${index}` })),
    );
    const responses = await Promise.all(
      forged.map((token) => stack!.post('/get-user', { username: alice.uid }, { token })),
    );
    expect(responses.every((response) => response.status === 401)).toBe(true);
    expect(stack.issuer.jwksRequests).toBeLessThanOrEqual(2);
  });

  it('picks up a rotated signing key once the cooldown has passed', async () => {
    stack = await startTestStack({ AUTH_JWKS_COOLDOWN_SECONDS: '1' });
    expect((await stack.post('/get-user', { username: alice.uid })).status).toBe(200);
    await stack.issuer.rotateKey();
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const fetchesBefore = stack.issuer.jwksRequests;
    const token = await stack.issuer.mint();
    for (let index = 0; index < 3; index += 1)
      expect((await stack.post('/get-user', { username: alice.uid }, { token })).status).toBe(200);
    expect(stack.issuer.jwksRequests - fetchesBefore).toBe(1);
  });
});

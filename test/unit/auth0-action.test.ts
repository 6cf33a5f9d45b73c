// auth0/actions/deny-bridge-audience.js, run with Actions' event/api shapes.
import { readFileSync } from 'node:fs';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';

type PostLogin = (event: unknown, api: unknown) => Promise<void>;

function loadAction(): PostLogin {
  const module = { exports: {} as { onExecutePostLogin?: PostLogin } };
  vm.runInNewContext(readFileSync('auth0/actions/deny-bridge-audience.js', 'utf8'), {
    exports: module.exports,
    module,
  });
  return module.exports.onExecutePostLogin!;
}

async function run(event: Record<string, unknown>): Promise<string[]> {
  const denials: string[] = [];
  await loadAction()(
    { secrets: { BRIDGE_AUDIENCE: 'https://bridge.example/' }, request: {}, ...event },
    { access: { deny: (reason: string) => denials.push(reason) } },
  );
  return denials;
}

describe('deny-bridge-audience Action', () => {
  it('denies a user login that asks for the bridge audience', async () => {
    expect(await run({ resource_server: { identifier: 'https://bridge.example/' } })).toHaveLength(1);
    expect(await run({ request: { query: { audience: 'https://bridge.example/' } } })).toHaveLength(1);
  });

  it('lets every other login through', async () => {
    expect(await run({ resource_server: { identifier: 'https://app.example/api' } })).toEqual([]);
    expect(await run({})).toEqual([]);
  });

  it('fails closed when its secret is missing', async () => {
    expect(await run({ secrets: {} })).toEqual([expect.stringContaining('BRIDGE_AUDIENCE')]);
  });
});

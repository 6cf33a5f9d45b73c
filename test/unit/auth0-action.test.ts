// auth0/actions/deny-bridge-audience.js, run with Actions' event/api shapes.
import { readFileSync } from 'node:fs';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';

type PostLogin = (event: unknown, api: unknown) => Promise<void>;

function loadAction(console: { error: (...args: unknown[]) => void }): PostLogin {
  const module = { exports: {} as { onExecutePostLogin?: PostLogin } };
  vm.runInNewContext(readFileSync('auth0/actions/deny-bridge-audience.js', 'utf8'), {
    exports: module.exports,
    module,
    console,
  });
  return module.exports.onExecutePostLogin!;
}

/** Runs the Action once; resolves with the reasons it denied the login for and what it logged as errors. */
async function run(event: Record<string, unknown>): Promise<{ denials: string[]; errors: string[] }> {
  const denials: string[] = [];
  const errors: string[] = [];
  const onExecutePostLogin = loadAction({ error: (...args) => errors.push(args.join(' ')) });
  await onExecutePostLogin(
    { secrets: { BRIDGE_AUDIENCE: 'https://bridge.example/' }, request: {}, ...event },
    { access: { deny: (reason: string) => denials.push(reason) } },
  );
  return { denials, errors };
}

describe('deny-bridge-audience Action', () => {
  it('denies a user login that asks for the bridge audience', async () => {
    expect((await run({ resource_server: { identifier: 'https://bridge.example/' } })).denials).toHaveLength(1);
    expect((await run({ request: { query: { audience: 'https://bridge.example/' } } })).denials).toHaveLength(1);
  });

  it('lets every other login through', async () => {
    expect(await run({ resource_server: { identifier: 'https://app.example/api' } })).toEqual({
      denials: [],
      errors: [],
    });
    expect(await run({})).toEqual({ denials: [], errors: [] });
  });

  it.each([
    ['missing', {}],
    ['empty', { BRIDGE_AUDIENCE: '' }],
    ['blank', { BRIDGE_AUDIENCE: '  ' }],
  ])('lets the login through and logs an error naming BRIDGE_AUDIENCE when the secret is %s', async (_, secrets) => {
    const { denials, errors } = await run({
      secrets,
      resource_server: { identifier: 'https://bridge.example/' },
    });
    expect(denials).toEqual([]);
    expect(errors).toEqual([expect.stringContaining('BRIDGE_AUDIENCE is missing')]);
  });
});

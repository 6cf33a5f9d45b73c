// What `npm start` does with the configuration it finds (see dev/start.ts): the demo, the real
// server, or a refusal that names the missing half.
import { RUNTIME_SETTINGS as S } from '../lambdas/contract/settings.ts';

/** Which half of the configuration a variable belongs to. */
const DIRECTORY_HALF = [S.LDAP_URLS, S.LDAP_BASE_DN, S.LDAP_BIND_DN, S.LDAP_BIND_PASSWORD, S.LDAP_BIND_SECRET_ARN].map(
  (setting) => setting.env,
);
const ISSUER_HALF = [S.AUTH_ISSUER, S.AUTH_AUDIENCE, S.AUTH_ALLOWED_CLIENT_IDS, S.AUTH_JWKS_URL].map(
  (setting) => setting.env,
);

export type StartMode = { kind: 'demo' } | { kind: 'serve' } | { kind: 'refuse'; message: string };

export function chooseStartMode(env: Readonly<Record<string, string | undefined>>): StartMode {
  const setIn = (names: string[]) => names.filter((name) => env[name]?.trim());
  const directory = setIn(DIRECTORY_HALF);
  const issuer = setIn(ISSUER_HALF);
  if (directory.length === 0 && issuer.length === 0) return { kind: 'demo' };
  if (directory.length > 0 && issuer.length > 0) return { kind: 'serve' };
  const [present, missing] =
    directory.length > 0
      ? [`the directory (${directory.join(', ')})`, `a token issuer: set ${ISSUER_HALF.slice(0, 3).join(', ')}`]
      : [`a token issuer (${issuer.join(', ')})`, `a directory: set ${DIRECTORY_HALF.slice(0, 4).join(', ')}`];
  return {
    kind: 'refuse',
    message: `npm start: ${present} is configured but not ${missing}. Configure both to serve them, or neither for the demo with a throwaway directory and a local issuer.`,
  };
}

// The synthesized templates of every shipped environment (and one with every optional feature on)
// against the templates from before the LdapBridge construct was split: the same logical ids and
// the same properties, apart from the intended fixes listed below, each with its reason.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { build, environment } from './support.ts';
import { EVERYTHING_ON, normalizeTemplate } from './template-snapshot.ts';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Every leaf that differs, as "path: before -> after" (absent is undefined). */
function differences(before: Json | undefined, after: Json | undefined, path = ''): string[] {
  const isObject = (value: Json | undefined): value is { [key: string]: Json } | Json[] =>
    value !== null && typeof value === 'object';
  if (isObject(before) && isObject(after) && Array.isArray(before) === Array.isArray(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((key) =>
      differences((before as Record<string, Json>)[key], (after as Record<string, Json>)[key], `${path}/${key}`),
    );
  }
  return JSON.stringify(before) === JSON.stringify(after)
    ? []
    : [`${path}: ${JSON.stringify(before)} -> ${JSON.stringify(after)}`];
}

/**
 * The authorizer-denies alarm counts denials by the structured log field `error` (InvalidToken's
 * code), no longer by the wording of the log message.
 */
const AUTHORIZER_DENIES_BY_ERROR_CODE =
  '/Resources/LdapBridgeAuthorizerDenies03D900FC/Properties/FilterPattern: "{ $.message = \\"token denied\\" }" -> "{ $.error = \\"invalid_token\\" }"';

/** Intended fixes, by environment: the exact differences the split is allowed to make. */
/**
 * The token authorizer's header check is the runtime's (one pattern in lambdas/contract/routes.ts):
 * the scheme in any case and spaces around the token, as the runtime always accepted.
 */
const AUTHORIZATION_HEADER_AS_THE_RUNTIME_READS_IT =
  '/Resources/LdapBridgeTokenAuthorizerCA572818/Properties/IdentityValidationExpression: "^Bearer [A-Za-z0-9_.~+/-]+=*$" -> "^[Bb][Ee][Aa][Rr][Ee][Rr] +([A-Za-z0-9_.~+/-]+=*) *$"';

const INTENDED: Record<string, string[]> = {
  demo: [AUTHORIZER_DENIES_BY_ERROR_CODE, AUTHORIZATION_HEADER_AS_THE_RUNTIME_READS_IT],
  prod: [AUTHORIZER_DENIES_BY_ERROR_CODE, AUTHORIZATION_HEADER_AS_THE_RUNTIME_READS_IT],
  'prod-everything-on': [AUTHORIZER_DENIES_BY_ERROR_CODE, AUTHORIZATION_HEADER_AS_THE_RUNTIME_READS_IT],
};

const CASES = [
  { name: 'demo', envName: 'demo', env: () => environment('demo') },
  { name: 'prod', envName: 'prod', env: () => environment('prod') },
  { name: 'prod-everything-on', envName: 'prod', env: () => environment('prod', EVERYTHING_ON) },
];

describe('the synthesized templates after the construct split', () => {
  for (const { name, envName, env } of CASES) {
    it(`keeps every logical id and property of ${name}, apart from the listed fixes`, () => {
      const before = JSON.parse(readFileSync(`test/infra/templates-before-split/${name}.json`, 'utf8')) as Json;
      const after = normalizeTemplate(build(envName, env()).template.toJSON());
      const beforeIds = Object.keys((before as { Resources: Record<string, Json> }).Resources).sort();
      const afterIds = Object.keys((after as { Resources: Record<string, Json> }).Resources).sort();
      expect(afterIds).toEqual(beforeIds);
      expect(differences(before, after)).toEqual(INTENDED[name]);
    });
  }
});

import { describe, expect, it } from 'vitest';
import { firstRdnValue } from '../../lambdas/core/directory/dn.ts';

describe('firstRdnValue', () => {
  it.each([
    ['cn=engineering,ou=groups,dc=example,dc=test', 'engineering'],
    ['CN=Domain Users,CN=Users,DC=example,DC=test', 'Domain Users'],
    ['cn=Sales\\2C EMEA,ou=groups,dc=example', 'Sales, EMEA'],
    ['cn=Sales\\, EMEA,ou=groups,dc=example', 'Sales, EMEA'],
    ['cn=R\\C3\\A9seau,ou=groups', 'Réseau'],
    ['cn=Réseau,ou=groups', 'Réseau'],
    ['cn=a\\+b+sn=c,ou=x', 'a+b'],
    ['cn=\\#hash,ou=x', '#hash'],
    ['cn=😀 team,ou=x', '😀 team'],
  ])('reads %j as %j', (dn, expected) => {
    expect(firstRdnValue(dn)).toBe(expected);
  });

  it.each(['', 'no-equals-sign', '=value', 'cn=,ou=x'])('gives undefined for %j', (dn) => {
    expect(firstRdnValue(dn)).toBeUndefined();
  });
});

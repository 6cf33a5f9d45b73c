import { describe, expect, it } from 'vitest';
import { FilterParser, EqualityFilter, AndFilter, OrFilter } from 'ldapts';
import {
  buildUserFilter,
  describeFilterTemplateProblem,
  escapeFilterValue,
} from '../../lambdas/core/directory/ldap-filter.ts';

const TEMPLATE = '(&(objectClass=inetOrgPerson)(|(uid={username})(mail={username})))';

describe('escapeFilterValue (RFC 4515)', () => {
  it.each([
    ['*', '\\2a'],
    ['(', '\\28'],
    [')', '\\29'],
    ['\\', '\\5c'],
    ['\0', '\\00'],
    ['a*b(c)d\\e', 'a\\2ab\\28c\\29d\\5ce'],
    ['plain.user@example.com', 'plain.user@example.com'],
    ['zoë Łukasz 日本', 'zoë Łukasz 日本'],
    ['=,+<>#;"', '=,+<>#;"'],
  ])('escapes %j as %j', (input, expected) => {
    expect(escapeFilterValue(input)).toBe(expected);
  });
});

describe('buildUserFilter', () => {
  it('puts the escaped username into every placeholder', () => {
    expect(buildUserFilter(TEMPLATE, 'a*')).toBe('(&(objectClass=inetOrgPerson)(|(uid=a\\2a)(mail=a\\2a)))');
  });

  it.each(['*)(uid=*', 'admin)(|(objectClass=*', '\\2a', 'x)(&', 'zoë*(x)\\,y', '日本語', 'a\u0000b'])(
    'keeps the filter structure for %j: ldapts parses it to the same equality assertions on the literal value',
    (username) => {
      const parsed = FilterParser.parseString(buildUserFilter(TEMPLATE, username));
      expect(parsed).toBeInstanceOf(AndFilter);
      const or = (parsed as AndFilter).filters[1] as OrFilter;
      expect(or).toBeInstanceOf(OrFilter);
      expect(or.filters).toHaveLength(2);
      for (const filter of or.filters) {
        expect(filter).toBeInstanceOf(EqualityFilter);
        // ldapts decodes escapes byte by byte into Latin-1; compare the wire bytes.
        expect(Buffer.from((filter as EqualityFilter).value as string, 'utf8').toString('utf8')).toBe(username);
      }
    },
  );
});

describe('describeFilterTemplateProblem', () => {
  it('accepts the presets and a custom filter', () => {
    expect(describeFilterTemplateProblem(TEMPLATE)).toBeUndefined();
    expect(describeFilterTemplateProblem('(sAMAccountName={username})')).toBeUndefined();
  });
  it.each([
    ['(uid=alice)', 'must contain {username}'],
    ['uid={username}', 'must be enclosed in parentheses'],
    ['(uid={username}', 'must be enclosed in parentheses'],
    ['((uid={username})', 'unbalanced'],
    ['(uid={username}))', 'without a matching'],
    ['(uid={username})(mail={username})', 'single filter'],
  ])('rejects %j', (template, problem) => {
    expect(describeFilterTemplateProblem(template)).toContain(problem);
  });
});

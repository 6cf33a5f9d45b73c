import { describe, expect, it } from 'vitest';
import { attributesForProfile, mapEntryToProfile, type DirectoryEntry } from '../../lambdas/core/profile/map-entry.ts';
import { PRESETS } from '../../lambdas/core/directory/presets.ts';
import { DirectoryDataError } from '../../lambdas/contract/errors.ts';

const mapping = PRESETS.openldap.mapping;
const entry: DirectoryEntry = {
  dn: 'uid=alice,ou=people,dc=example,dc=test',
  attributes: {
    entryuuid: ['6d0f3c2e-0c54-103f-8a9e-6b5e1d9f0a11'],
    uid: ['alice'],
    mail: ['alice@example.test', 'a.anderson@example.test'],
    cn: ['Alice Anderson'],
    givenname: ['Alice'],
    sn: ['Anderson'],
  },
};
/** Group DNs as groups.ts hands them over (here unsorted and repeated, to show the mapper's own ordering). */
const GROUPS = [
  'cn=staff,ou=groups,dc=example,dc=test',
  'cn=engineering,ou=groups,dc=example,dc=test',
  'cn=staff,ou=groups,dc=example,dc=test',
];

describe('mapEntryToProfile', () => {
  it('maps the OpenLDAP preset, groups sorted and de-duplicated, in a fixed key order', () => {
    const profile = mapEntryToProfile(entry, mapping, GROUPS);
    expect(JSON.stringify(profile)).toBe(
      JSON.stringify({
        user_id: '6d0f3c2e-0c54-103f-8a9e-6b5e1d9f0a11',
        email: 'alice@example.test',
        email_verified: false,
        username: 'alice',
        name: 'Alice Anderson',
        given_name: 'Alice',
        family_name: 'Anderson',
        nickname: 'alice',
        app_metadata: { dn: entry.dn, groups: ['engineering', 'staff'] },
      }),
    );
  });

  it('prefixes user_id when configured', () => {
    expect(mapEntryToProfile(entry, { ...mapping, userIdPrefix: 'ldap-' }, GROUPS).user_id).toBe(
      'ldap-6d0f3c2e-0c54-103f-8a9e-6b5e1d9f0a11',
    );
  });

  it('refuses an entry without its stable identifier rather than fall back to the DN', () => {
    expect(() => mapEntryToProfile({ dn: entry.dn, attributes: { uid: ['alice'] } }, mapping, [])).toThrow(
      DirectoryDataError,
    );
  });

  it('omits absent, empty and blank attributes, and email_verified without email', () => {
    const profile = mapEntryToProfile(
      { dn: 'uid=x', attributes: { entryuuid: ['id-1'], mail: [], cn: ['  '] } },
      mapping,
      [' '],
    );
    expect(profile).toEqual({ user_id: 'id-1', app_metadata: { dn: 'uid=x' } });
  });

  it('gives groups as DNs when configured', () => {
    const profile = mapEntryToProfile(entry, { ...mapping, groupsAs: 'dn' }, GROUPS);
    expect(profile.app_metadata.groups).toEqual([
      'cn=engineering,ou=groups,dc=example,dc=test',
      'cn=staff,ou=groups,dc=example,dc=test',
    ]);
  });

  it('maps metadata: one value as a string, several as an array, none left out', () => {
    const withExtras = {
      ...entry,
      attributes: { ...entry.attributes, employeenumber: ['42'], telephonenumber: ['1', '2'] },
    };
    const profile = mapEntryToProfile(
      withExtras,
      {
        ...mapping,
        appMetadata: { employee_number: 'employeeNumber', department: 'departmentNumber' },
        userMetadata: { phones: 'telephoneNumber' },
      },
      GROUPS,
    );
    expect(profile.app_metadata).toEqual({ dn: entry.dn, groups: ['engineering', 'staff'], employee_number: '42' });
    expect(profile.user_metadata).toEqual({ phones: ['1', '2'] });
  });

  it('leaves out a field mapped to null and honours email_verified: true', () => {
    const profile = mapEntryToProfile(
      entry,
      { ...mapping, fields: { ...mapping.fields, nickname: null }, emailVerified: true },
      GROUPS,
    );
    expect(profile).not.toHaveProperty('nickname');
    expect(profile.email_verified).toBe(true);
  });
});

describe('attributesForProfile', () => {
  it('asks for every mapped attribute once, the operational entryUUID included', () => {
    const attributes = attributesForProfile({ ...mapping, appMetadata: { a: 'MAIL' } });
    expect(attributes).toContain('entryUUID');
    expect(attributes.filter((name) => name.toLowerCase() === 'mail')).toHaveLength(1);
  });
});

// Directory presets: the user filter and profile mapping that suit each kind of server.
// Every field can be overridden (LDAP_USER_FILTER, LDAP_PROFILE_MAPPING, LDAP_USER_ID_PREFIX).
import type { ProfileMapping } from './profile.ts';

export const PRESET_NAMES = ['openldap'] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

export interface DirectoryPreset {
  userFilter: string;
  mapping: ProfileMapping;
}

export const PRESETS: Record<PresetName, DirectoryPreset> = {
  openldap: {
    userFilter: '(&(objectClass=inetOrgPerson)(|(uid={username})(mail={username})))',
    mapping: {
      userIdAttribute: 'entryUUID',
      userIdPrefix: '',
      fields: {
        email: 'mail',
        username: 'uid',
        name: 'cn',
        given_name: 'givenName',
        family_name: 'sn',
        nickname: 'uid',
      },
      emailVerified: false,
      groupsAttribute: 'memberOf',
      groupsAs: 'name',
      appMetadata: {},
      userMetadata: {},
    },
  },
};

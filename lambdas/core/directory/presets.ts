// Directory presets: the user filter, profile mapping, account-state rules and group lookup that
// suit each kind of server. Every field can be overridden (LDAP_USER_FILTER,
// LDAP_PROFILE_MAPPING, LDAP_USER_ID_PREFIX, LDAP_ACCOUNT_STATES, LDAP_GROUPS, LDAP_GROUP_*).
import type { AccountStateRules } from './account-states.ts';
import type { GroupMode } from './groups.ts';
import type { ProfileMapping } from '../profile/map-entry.ts';

import { PRESET_NAMES } from '../../contract/settings.ts';
export { PRESET_NAMES };
export type PresetName = (typeof PRESET_NAMES)[number];

export interface DirectoryPreset {
  userFilter: string;
  mapping: ProfileMapping;
  accountStates: AccountStateRules;
  groups: {
    mode: GroupMode;
    objectFilter: string;
    memberAttributes: string[];
    memberUidAttribute: string | undefined;
  };
}

// groupOfNames / groupOfUniqueNames list members by DN; RFC 2307 posixGroup lists them by uid in
// memberUid (and, with the rfc2307bis schema, may also carry member).
const LDAP_GROUP_CLASSES = '(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)(objectClass=posixGroup))';

/** OpenLDAP and 389-ds keep groups the same way: walked by the bridge, by DN and by memberUid. */
const NESTED_LDAP_GROUPS: DirectoryPreset['groups'] = {
  mode: 'nested',
  objectFilter: LDAP_GROUP_CLASSES,
  memberAttributes: ['member', 'uniqueMember'],
  memberUidAttribute: 'memberUid',
};

const inetOrgPersonFields: ProfileMapping['fields'] = {
  email: 'mail',
  username: 'uid',
  name: 'cn',
  given_name: 'givenName',
  family_name: 'sn',
  nickname: 'uid',
};

/**
 * OpenLDAP and 389-ds keep people the same way (inetOrgPerson, groups walked by the bridge);
 * they differ in the stable identifier and in how an account is switched off.
 */
function inetOrgPersonPreset(userIdAttribute: string, accountStates: AccountStateRules): DirectoryPreset {
  return {
    userFilter: '(&(objectClass=inetOrgPerson)(|(uid={username})(mail={username})))',
    mapping: {
      userIdAttribute,
      userIdFormat: 'text',
      userIdPrefix: '',
      fields: inetOrgPersonFields,
      emailVerified: false,
      groupsAs: 'name',
      appMetadata: {},
      userMetadata: {},
    },
    accountStates,
    groups: NESTED_LDAP_GROUPS,
  };
}

export const PRESETS: Record<PresetName, DirectoryPreset> = {
  openldap: inetOrgPersonPreset('entryUUID', 'openldap'),
  // 389 Directory Server: nsUniqueId is its stable identifier, nsAccountLock its "disabled".
  '389ds': inetOrgPersonPreset('nsUniqueId', '389ds'),
  // Active Directory (and Samba AD): log in with sAMAccountName, userPrincipalName or mail;
  // objectGUID as the identifier; nesting resolved by the server's in-chain matching rule.
  'active-directory': {
    userFilter:
      '(&(objectCategory=person)(objectClass=user)(|(sAMAccountName={username})(userPrincipalName={username})(mail={username})))',
    mapping: {
      userIdAttribute: 'objectGUID',
      userIdFormat: 'guid',
      userIdPrefix: '',
      fields: {
        email: 'mail',
        username: 'sAMAccountName',
        name: 'displayName',
        given_name: 'givenName',
        family_name: 'sn',
        nickname: 'sAMAccountName',
      },
      emailVerified: false,
      groupsAs: 'name',
      appMetadata: {},
      userMetadata: {},
    },
    accountStates: 'active-directory',
    groups: {
      mode: 'in-chain',
      objectFilter: '(objectClass=group)',
      memberAttributes: ['member'],
      memberUidAttribute: undefined,
    },
  },
};

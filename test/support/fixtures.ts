// The users and groups the shared test directory holds. Names exercise escaping (`* ( ) \ ,`)
// and non-ASCII characters; some entries lack attributes, two share an email on purpose.
import { DEMO_GROUPS, DEMO_USERS, type SeedGroup, type SeedUser } from '../../dev/directory-data.ts';

export const SPECIAL_USER: SeedUser = {
  uid: 'zoë*(x)\\,y',
  password: 'pässwörd with spaces ',
  cn: 'Zoë Ömer-Łukasz',
  givenName: 'Zoë',
  sn: 'Ömer-Łukasz',
  mail: 'zoe@example.test',
};

/** No mail, no givenName: the profile must omit them, not send "". */
export const SPARSE_USER: SeedUser = { uid: 'sparse', password: 'sparse-password-1', cn: 'Sparse', sn: 'Sparse' };

/** Two entries that one username (their shared mail) matches. */
export const DUPLICATE_MAIL = 'shared@example.test';
export const DUPLICATE_USERS: SeedUser[] = [
  { uid: 'twin1', password: 'twin-password-1', cn: 'Twin One', sn: 'One', mail: DUPLICATE_MAIL },
  { uid: 'twin2', password: 'twin-password-2', cn: 'Twin Two', sn: 'Two', mail: DUPLICATE_MAIL },
];

/** Users whose name is an LDAP injection attempt against another user's entry. */
export const INJECTION_TARGET: SeedUser = {
  uid: 'admin',
  password: 'admin-password-1',
  cn: 'Admin',
  sn: 'Admin',
  mail: 'admin@example.test',
};

export const MULTI_VALUE_USER: SeedUser = {
  uid: 'multi',
  password: 'multi-password-1',
  cn: 'Multi Value',
  sn: 'Value',
  givenName: 'Multi',
  mail: 'multi@example.test',
  extra: { telephoneNumber: ['+1 555 0100', '+1 555 0101'], employeeNumber: '7' },
};

export const TEST_USERS: SeedUser[] = [
  ...DEMO_USERS,
  SPECIAL_USER,
  SPARSE_USER,
  ...DUPLICATE_USERS,
  INJECTION_TARGET,
  MULTI_VALUE_USER,
];

export const TEST_GROUPS: SeedGroup[] = [
  ...DEMO_GROUPS,
  { cn: 'Sales, EMEA', members: ['bob', SPECIAL_USER.uid] },
  { cn: 'admins', members: ['admin'] },
];

export { DEMO_USERS };

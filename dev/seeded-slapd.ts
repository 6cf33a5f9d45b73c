// A throwaway slapd with the tree, the service accounts and the given users and groups, and the
// LDAP_* environment that points the bridge at it. One place for what `npm start`, the tests and
// the benchmarks all need.
import {
  addGroups,
  addUsers,
  peopleDN,
  seedTree,
  type DirectoryAdmin,
  type SeedGroup,
  type SeedUser,
} from './directory-data.ts';
import {
  randomSecret,
  startThrowawaySlapd,
  type ThrowawaySlapd,
  type ThrowawaySlapdOptions,
} from './throwaway-slapd.ts';

export interface SeededSlapd {
  slapd: ThrowawaySlapd;
  admin: DirectoryAdmin;
  /** The password of the read-only service account (bridge-reader). */
  servicePassword: string;
  /** LDAP_* variables for the bridge: LDAPS with the directory's CA, the people base, the service account. */
  bridgeEnv(overrides?: Record<string, string | undefined>): Record<string, string | undefined>;
  stop(): Promise<void>;
}

export async function startSeededSlapd(
  options: ThrowawaySlapdOptions & { users: SeedUser[]; groups?: SeedGroup[]; servicePassword?: string },
): Promise<SeededSlapd> {
  const slapd = await startThrowawaySlapd(options);
  try {
    const servicePassword = options.servicePassword ?? randomSecret();
    const admin: DirectoryAdmin = {
      url: slapd.ldapUrl,
      suffix: slapd.suffix,
      rootDN: slapd.rootDN,
      rootPassword: slapd.rootPassword,
    };
    await seedTree(admin, servicePassword);
    await addUsers(admin, options.users);
    if (options.groups) await addGroups(admin, options.groups);
    return {
      slapd,
      admin,
      servicePassword,
      bridgeEnv: (overrides = {}) => ({
        LDAP_URLS: slapd.ldapsUrl,
        LDAP_CA_CERT: slapd.caCertPath,
        LDAP_BASE_DN: peopleDN(slapd.suffix),
        LDAP_BIND_DN: slapd.serviceDN,
        LDAP_BIND_PASSWORD: servicePassword,
        ...overrides,
      }),
      stop: () => slapd.stop(),
    };
  } catch (error) {
    await slapd.stop();
    throw error;
  }
}

// Starts one real OpenLDAP (Debian's slapd) on 127.0.0.1 for the whole run, seeded with the
// test fixtures, and stops it afterwards. Tests that stop or freeze a directory start their own.
import type { TestProject } from 'vitest/node';
import { peopleDN } from '../../dev/directory-data.ts';
import { startSeededSlapd } from '../../dev/seeded-slapd.ts';
import { TEST_GROUPS, TEST_USERS } from './fixtures.ts';

export interface SharedDirectory {
  ldapUrl: string;
  ldapsUrl: string;
  caCertPath: string;
  suffix: string;
  baseDN: string;
  serviceDN: string;
  servicePassword: string;
  rootDN: string;
  rootPassword: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    directory: SharedDirectory;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const { slapd, servicePassword } = await startSeededSlapd({ users: TEST_USERS, groups: TEST_GROUPS });
  project.provide('directory', {
    ldapUrl: slapd.ldapUrl,
    ldapsUrl: slapd.ldapsUrl,
    caCertPath: slapd.caCertPath,
    suffix: slapd.suffix,
    baseDN: peopleDN(slapd.suffix),
    serviceDN: slapd.serviceDN,
    servicePassword,
    rootDN: slapd.rootDN,
    rootPassword: slapd.rootPassword,
  });
  return () => slapd.stop();
}

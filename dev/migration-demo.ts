// `npm run demo:migration`: the end of a migration, rehearsed on this machine. Starts a throwaway
// OpenLDAP with the demo users and a few more, and the Management API emulator on 127.0.0.1 as the
// tenant: the database connection ldap-bridge running the bridge's scripts, import mode on, some
// users already migrated on different days (Auth0 ids as a login created them, from the bridge's own
// mapping), one of them since disabled in the directory (a leaver). Prints the environment to
// export and the commands to run in another terminal, in the README's order (progress, the final
// bulk import of the long tail, leavers, cut-over, rollback). Ctrl-C stops everything.
//
// test/integration/migration-sequence.test.ts starts the same demo through startMigrationDemo and
// runs the same steps (demoSteps) as child processes, so what is printed here is what is tested.
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Attribute, Change } from 'ldapts';
import { JsonLogger } from '../lambdas/adapters/json-logger.ts';
import { loadDirectoryConfig } from '../lambdas/core/config/bridge-config.ts';
import type { Auth0Profile } from '../lambdas/core/profile/map-entry.ts';
import { readDirectoryUsers } from '../lambdas/entry/run-migration-checks.ts';
import {
  ALL_SCOPES,
  type ManagementApiEmulator,
  startManagementApiEmulator,
} from '../test/support/management-api-emulator.ts';
import { DEMO_GROUPS, DEMO_USERS, type SeedUser, userDN, withAdmin } from './directory-data.ts';
import { type SeededSlapd, startSeededSlapd } from './seeded-slapd.ts';
import { randomSecret } from './throwaway-slapd.ts';

/** The database connection the demo's tenant serves through the bridge. */
export const DEMO_CONNECTION = 'ldap-bridge';

/** The demo users of `npm start`, and the rest of a small company. */
export const MIGRATION_DEMO_USERS: SeedUser[] = [
  ...DEMO_USERS,
  ...(
    [
      ['carol', 'Carol', 'Clark', '1003'],
      ['dave', 'Dave', 'Davis', '1004'],
      ['erin', 'Erin', 'Evans', '1005'],
      ['frank', 'Frank', 'Fischer', '1006'],
      ['grace', 'Grace', 'Garcia', '1007'],
    ] as const
  ).map(([uid, givenName, sn, employeeNumber]) => ({
    uid,
    password: `${uid}-demo-password`,
    cn: `${givenName} ${sn}`,
    givenName,
    sn,
    mail: `${uid}@example.test`,
    extra: { employeeNumber },
  })),
];

/** Who logged in (and so migrated) how many days ago. */
export const MIGRATED_DAYS_AGO: Readonly<Record<string, number>> = { alice: 20, bob: 10, carol: 6, dave: 2 };
/** Migrated, then disabled in the directory: sync-leavers blocks them in Auth0. */
export const DEMO_LEAVER = 'carol';

const DAY_MS = 86_400_000;
const REPOSITORY = fileURLToPath(new URL('..', import.meta.url));

/** One command of the sequence: `npm run <command> -- <args>`, with `env` set for it alone. */
export interface DemoStep {
  title: string;
  command: 'progress' | 'export' | 'import' | 'sync-leavers' | 'cutover';
  args: string[];
  env?: Record<string, string>;
}

export interface MigrationDemo {
  seeded: SeededSlapd;
  emulator: ManagementApiEmulator;
  /** Where the CA file lives and the commands write (progress/, export/, sync-leavers/, the cutover save). */
  workDir: string;
  /** The environment a migration lead exports before running the steps. */
  environment: Record<string, string>;
  /** The database connection's options as the demo set them up (what rollback must restore). */
  connectionOptions: Record<string, unknown>;
  /** user_id (without auth0|) by uid, from the bridge's own mapping. */
  userIds: ReadonlyMap<string, string>;
  /** Secrets the demo made; none may appear in a command's output. */
  secrets: string[];
  steps: DemoStep[];
  stop(): Promise<void>;
}

export async function startMigrationDemo(): Promise<MigrationDemo> {
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'auth0-ldap-bridge-migration-demo-'));
  let seeded: SeededSlapd | undefined;
  let emulator: ManagementApiEmulator | undefined;
  const stop = async () => {
    await Promise.all([seeded?.stop(), emulator?.stop()]);
    rmSync(workDir, { recursive: true, force: true });
  };
  try {
    const directoryServer = await startSeededSlapd({ users: MIGRATION_DEMO_USERS, groups: DEMO_GROUPS });
    seeded = directoryServer;
    // The profiles exactly as /login answered them when these users migrated (before the leaver left).
    const { directory } = loadDirectoryConfig(seeded.bridgeEnv());
    const entries = await readDirectoryUsers(directory, new JsonLogger('error', () => undefined), {
      pageSize: 100,
      passwords: false,
      groups: true,
      now: new Date(),
    });
    const profiles = new Map<string, Auth0Profile>();
    for (const entry of entries)
      if ('user_id' in entry.profile && entry.profile.username) profiles.set(entry.profile.username, entry.profile);
    const userIds = new Map([...profiles].map(([uid, profile]) => [uid, profile.user_id]));

    const client = { clientId: 'migration-lead', clientSecret: randomSecret(), scopes: ALL_SCOPES };
    const bridgeClientSecret = randomSecret();
    emulator = await startManagementApiEmulator({
      clients: [client],
      // Faster than the Free plan's 2 requests/s, so that the rehearsal does not wait on it.
      ratePerSecond: 10,
      burst: 10,
    });
    const connectionOptions: Record<string, unknown> = {
      import_mode: true,
      enabledDatabaseCustomization: true,
      customScripts: {
        login: readFileSync(path.join(REPOSITORY, 'auth0/login.js'), 'utf8'),
        get_user: readFileSync(path.join(REPOSITORY, 'auth0/get_user.js'), 'utf8'),
      },
      configuration: {
        AUTH0_DOMAIN: emulator.host,
        BRIDGE_CLIENT_ID: 'ldap-bridge-scripts',
        BRIDGE_CLIENT_SECRET: bridgeClientSecret,
        BRIDGE_AUDIENCE: 'https://ldap-bridge.example.test/',
        BRIDGE_URL: 'https://ldap-bridge.example.test',
      },
      disable_signup: true,
      brute_force_protection: true,
      passwordPolicy: 'good',
      password_complexity_options: { min_length: 12 },
      strategy_version: 2,
    };
    emulator.addConnection({
      id: `con_${randomBytes(8).toString('hex')}`,
      name: DEMO_CONNECTION,
      options: connectionOptions,
      enabled_clients: [client.clientId],
    });
    for (const [uid, days] of Object.entries(MIGRATED_DAYS_AGO)) {
      const profile = profiles.get(uid);
      if (!profile) throw new Error(`the demo directory has no user ${uid}`);
      const migratedAt = new Date(Date.now() - days * DAY_MS).toISOString();
      const { app_metadata, user_metadata, email, ...fields } = profile;
      if (!email) throw new Error(`the demo user ${uid} has no email`);
      emulator.addUser(DEMO_CONNECTION, {
        ...fields,
        email,
        app_metadata,
        ...(user_metadata ? { user_metadata } : {}),
        created_at: migratedAt,
        last_login: migratedAt,
        logins_count: 1,
      });
    }
    // The leaver: disabled for good (ppolicy's permanent lock), as the openldap account rules read it.
    await withAdmin(seeded.admin, (ldap) =>
      ldap.modify(
        userDN(DEMO_LEAVER, directoryServer.slapd.suffix),
        new Change({
          operation: 'replace',
          modification: new Attribute({ type: 'pwdAccountLockedTime', values: ['000001010000Z'] }),
        }),
      ),
    );

    const caFile = path.join(workDir, 'management-api-ca.pem');
    writeFileSync(caFile, emulator.ca, { mode: 0o600 });
    chmodSync(caFile, 0o600);
    const environment: Record<string, string> = {
      ...(seeded.bridgeEnv() as Record<string, string>),
      AUTH0_DOMAIN: emulator.host,
      AUTH0_CLIENT_ID: client.clientId,
      AUTH0_CLIENT_SECRET: client.clientSecret,
      NODE_EXTRA_CA_CERTS: caFile,
    };
    const at = (name: string) => path.join(workDir, name);
    const connection = ['--connection', DEMO_CONNECTION];
    const cutover = [...connection, '--import-dir', at('export'), '--save', at('cutover-save.json')];
    const steps: DemoStep[] = [
      { title: 'How far the migration is', command: 'progress', args: [...connection, '--out', at('progress')] },
      {
        title: 'Export the users who have not logged in yet (an account that may read password hashes)',
        command: 'export',
        args: ['--only', at('progress/not-migrated.json'), '--out', at('export')],
        env: { LDAP_BIND_DN: `cn=bridge-exporter,ou=services,${seeded.slapd.suffix}` },
      },
      { title: 'Import them into Auth0', command: 'import', args: [...connection, '--dir', at('export')] },
      {
        title: 'Leavers: what would be blocked',
        command: 'sync-leavers',
        args: [...connection, '--out', at('sync-leavers')],
      },
      {
        title: 'Leavers: block them',
        command: 'sync-leavers',
        args: [...connection, '--out', at('sync-leavers'), '--apply'],
      },
      {
        title: 'Progress again: nobody left to migrate, no leaver unblocked',
        command: 'progress',
        args: [...connection, '--out', at('progress')],
      },
      { title: 'Cut-over: what would change', command: 'cutover', args: cutover },
      { title: 'Cut-over', command: 'cutover', args: [...cutover, '--apply'] },
      {
        title: 'Rollback: the options as they were before the cut-over',
        command: 'cutover',
        args: [...connection, '--rollback', at('cutover-save.json'), '--apply'],
      },
    ];
    return {
      seeded,
      emulator,
      workDir,
      environment,
      connectionOptions: structuredClone(connectionOptions),
      userIds,
      secrets: [client.clientSecret, seeded.servicePassword, bridgeClientSecret, seeded.slapd.rootPassword],
      steps,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** A word as a POSIX shell reads it back unchanged. */
const shellWord = (word: string) =>
  /^[A-Za-z0-9_./:=@%+,-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;

/** One step as a migration lead types it. */
export function stepCommandLine(step: DemoStep): string {
  const prefix = Object.entries(step.env ?? {}).map(([name, value]) => `${name}=${shellWord(value)} `);
  return `${prefix.join('')}npm run ${step.command} -- ${step.args.map(shellWord).join(' ')}`;
}

function banner(demo: MigrationDemo): string {
  const migrated = Object.entries(MIGRATED_DAYS_AGO).map(([uid, days]) => `${uid} (${days} days ago)`);
  const rest = MIGRATION_DEMO_USERS.map((user) => user.uid).filter((uid) => !(uid in MIGRATED_DAYS_AGO));
  return [
    `auth0-ldap-bridge migration demo: a throwaway directory and Management API, on 127.0.0.1 only`,
    `  directory: ${demo.seeded.slapd.ldapsUrl}  base ${demo.environment.LDAP_BASE_DN}  users ${MIGRATION_DEMO_USERS.map((user) => user.uid).join(', ')}`,
    `  tenant:    ${demo.emulator.url} (the Management API emulator), connection ${DEMO_CONNECTION}: the bridge's scripts, import mode on`,
    `  migrated:  ${migrated.join(', ')}; ${DEMO_LEAVER} has since been disabled in the directory (a leaver)`,
    `  not yet:   ${rest.join(', ')}`,
    `  files:     ${demo.workDir}`,
    '',
    'In another terminal, in this repository, export this environment (throwaway credentials made for this run):',
    '',
    `cd ${shellWord(REPOSITORY)}`,
    ...Object.entries(demo.environment).map(([name, value]) => `export ${name}=${shellWord(value)}`),
    '',
    'then run the sequence:',
    '',
    ...demo.steps.flatMap((step, index) => [`# ${index + 1}. ${step.title}`, stepCommandLine(step), '']),
    'Ctrl-C stops the directory and the emulator and deletes their files.',
  ].join('\n');
}

async function main(): Promise<void> {
  let demo: MigrationDemo;
  try {
    demo = await startMigrationDemo();
  } catch (error) {
    console.error(`npm run demo:migration: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.error(`\n${signal}: stopping the throwaway directory and the Management API emulator...`);
    await demo.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  console.error(banner(demo));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();

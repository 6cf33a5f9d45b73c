// not-migrated.json: the users `progress` found in the directory but not in Auth0, which
// `export --only not-migrated.json` turns into the final bulk import of the long tail. Owns its
// shape, written and read back strictly (a file that is not one is refused, never half-used):
//   {
//     "format": "auth0-ldap-bridge/not-migrated", "version": 1,
//     "generatedAt": "<ISO time>", "connection": "<Auth0 connection name>",
//     "count": <number of users>,
//     "users": [ { "user_id": "<profile user_id, LDAP_USER_ID_PREFIX included>", "dn": "...",
//                  "username"?: "...", "email"?: "..." }, ... ]
//   }
// Export selects by user_id alone; dn, username and email are there for a person reading it.
import type { NotMigratedUser, ProgressReport } from './progress.ts';

export const NOT_MIGRATED_FORMAT = 'auth0-ldap-bridge/not-migrated';
export const NOT_MIGRATED_VERSION = 1;
export const NOT_MIGRATED_FILE = 'not-migrated.json';

export interface NotMigratedFile {
  format: typeof NOT_MIGRATED_FORMAT;
  version: typeof NOT_MIGRATED_VERSION;
  generatedAt: string;
  connection: string;
  count: number;
  users: NotMigratedUser[];
}

/** A file that is not a not-migrated.json this version can use; the message says what is wrong. */
export class NotMigratedFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotMigratedFileError';
  }
}

export function notMigratedFile(report: ProgressReport): NotMigratedFile {
  return {
    format: NOT_MIGRATED_FORMAT,
    version: NOT_MIGRATED_VERSION,
    generatedAt: report.generatedAt,
    connection: report.connection,
    count: report.notMigratedUsers.length,
    users: report.notMigratedUsers,
  };
}

/** The file read back: every user checked, the count matching, no user_id twice. */
export function parseNotMigratedFile(text: string): NotMigratedFile {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new NotMigratedFileError('it is not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new NotMigratedFileError('it is not a JSON object');
  const file = parsed as Record<string, unknown>;
  if (file.format !== NOT_MIGRATED_FORMAT)
    throw new NotMigratedFileError(
      `its "format" is ${JSON.stringify(file.format)}, not "${NOT_MIGRATED_FORMAT}" (progress writes it)`,
    );
  if (file.version !== NOT_MIGRATED_VERSION)
    throw new NotMigratedFileError(
      `its "version" is ${JSON.stringify(file.version)}; this auth0-ldap-bridge reads version ${NOT_MIGRATED_VERSION}`,
    );
  if (typeof file.generatedAt !== 'string' || Number.isNaN(Date.parse(file.generatedAt)))
    throw new NotMigratedFileError('"generatedAt" is not a time');
  if (typeof file.connection !== 'string' || file.connection === '')
    throw new NotMigratedFileError('"connection" is not a connection name');
  if (!Array.isArray(file.users)) throw new NotMigratedFileError('"users" is not a list');
  const seen = new Set<string>();
  const users = file.users.map((user, index): NotMigratedUser => {
    if (typeof user !== 'object' || user === null || Array.isArray(user))
      throw new NotMigratedFileError(`users[${index}] is not an object`);
    const { user_id, dn, username, email } = user as Record<string, unknown>;
    if (typeof user_id !== 'string' || user_id === '') throw new NotMigratedFileError(`users[${index}] has no user_id`);
    if (typeof dn !== 'string') throw new NotMigratedFileError(`users[${index}] has no dn`);
    if (seen.has(user_id)) throw new NotMigratedFileError(`users[${index}]: user_id ${user_id} is listed twice`);
    seen.add(user_id);
    return {
      user_id,
      dn,
      ...(typeof username === 'string' ? { username } : {}),
      ...(typeof email === 'string' ? { email } : {}),
    };
  });
  if (file.count !== users.length)
    throw new NotMigratedFileError(`"count" says ${JSON.stringify(file.count)} but "users" lists ${users.length}`);
  return {
    format: NOT_MIGRATED_FORMAT,
    version: NOT_MIGRATED_VERSION,
    generatedAt: file.generatedAt,
    connection: file.connection,
    count: users.length,
    users,
  };
}

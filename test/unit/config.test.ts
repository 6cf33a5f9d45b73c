import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../lambdas/core/config/bridge-config.ts';
import { groupAttributes } from '../../lambdas/core/directory/groups.ts';

const VALID = {
  LDAP_URLS: 'ldaps://dc1.corp.example:636, ldaps://dc2.corp.example:636',
  LDAP_BASE_DN: 'ou=people,dc=corp,dc=example',
  LDAP_BIND_DN: 'cn=bridge,ou=services,dc=corp,dc=example',
  LDAP_BIND_PASSWORD: 'service-password-value',
  AUTH_ISSUER: 'https://tenant.eu.auth0.com/',
  AUTH_AUDIENCE: 'https://ldap-bridge.corp.example/',
  AUTH_ALLOWED_CLIENT_IDS: 'AbC123xyz',
};

function problemsOf(env: Record<string, string | undefined>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('loadConfig', () => {
  it('reads a valid configuration with its documented defaults', () => {
    const config = loadConfig(VALID);
    expect(config.directory.urls).toEqual(['ldaps://dc1.corp.example:636', 'ldaps://dc2.corp.example:636']);
    expect(config.directory.userFilter).toBe('(&(objectClass=inetOrgPerson)(|(uid={username})(mail={username})))');
    expect(config.directory.connectTimeoutMs).toBe(2000);
    expect(config.directory.operationTimeoutMs).toBe(3000);
    expect(config.auth.jwksUrl).toBe('https://tenant.eu.auth0.com/.well-known/jwks.json');
    expect(config.auth.scopes).toEqual({ login: 'users:login', 'get-user': 'users:read' });
    expect(config.server).toEqual({
      host: '127.0.0.1',
      port: 8080,
      maxInFlight: 256,
      maxConnections: 1024,
      headersTimeoutMs: 5000,
      bodyTimeoutMs: 5000,
      keepAliveTimeoutMs: 5000,
      metricsHost: '127.0.0.1',
    });
    expect(config.logLevel).toBe('info');
    expect(config.directory.mapping.userIdAttribute).toBe('entryUUID');
  });

  it('reports every problem at once, naming variable, value and expectation', () => {
    const problems = problemsOf({
      ...VALID,
      LDAP_TIMEOUT_MS: 'soon',
      PORT: '70000',
      LOG_LEVEL: 'loud',
      LDAP_PRESET: 'novell',
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        'LDAP_TIMEOUT_MS: "soon" expected a whole number of milliseconds from 100 to 60000',
        'PORT: "70000" expected a whole number of a TCP port from 0 to 65535',
        'LOG_LEVEL: "loud" expected one of debug, info, warn, error',
        'LDAP_PRESET: "novell" expected one of openldap, active-directory, 389ds',
      ]),
    );
  });

  it.each([['LDAP_URLS', 'AUTH_ISSUER', 'AUTH_AUDIENCE', 'AUTH_ALLOWED_CLIENT_IDS', 'LDAP_BASE_DN']])(
    'requires %s and the other essentials',
    (...names) => {
      const env: Record<string, string | undefined> = { ...VALID };
      for (const name of names) delete env[name];
      const problems = problemsOf(env).join('\n');
      for (const name of names) expect(problems).toContain(`${name}: is required`);
    },
  );

  it.each([
    ['http://dc1.corp.example', 'must start with ldap:// or ldaps://'],
    ['ldap://dc1.corp.example', 'would send passwords in clear text'],
    ['ldaps://dc1.corp.example/dc=corp', 'must be only scheme, host and port'],
    ['not a url', 'is not a URL'],
  ])('rejects LDAP_URLS %j', (url, problem) => {
    expect(problemsOf({ ...VALID, LDAP_URLS: url }).join('\n')).toContain(problem);
  });

  it('accepts plain ldap:// to loopback, with StartTLS, or when plaintext is knowingly allowed', () => {
    expect(problemsOf({ ...VALID, LDAP_URLS: 'ldap://127.0.0.1:389' })).toEqual([]);
    expect(problemsOf({ ...VALID, LDAP_URLS: 'ldap://dc1.corp.example', LDAP_STARTTLS: 'true' })).toEqual([]);
    expect(problemsOf({ ...VALID, LDAP_URLS: 'ldap://dc1.corp.example', LDAP_ALLOW_PLAINTEXT: 'true' })).toEqual([]);
  });

  it.each([
    ['http://tenant.eu.auth0.com/', 'must be an https:// URL'],
    ['https://tenant.eu.auth0.com', 'must end with "/"'],
    ['tenant.eu.auth0.com', 'is not a URL'],
  ])('rejects AUTH_ISSUER %j', (issuer, problem) => {
    expect(problemsOf({ ...VALID, AUTH_ISSUER: issuer }).join('\n')).toContain(problem);
  });

  it('never prints the bind password, even when it is invalid', () => {
    const problems = problemsOf({ ...VALID, LDAP_BIND_PASSWORD: '   ', LDAP_BIND_DN: undefined });
    expect(problems.join('\n')).toContain('LDAP_BIND_DN and LDAP_BIND_PASSWORD: both are required');
    const blank = problemsOf({ ...VALID, LDAP_BIND_PASSWORD: '   ' });
    expect(blank).toEqual(['LDAP_BIND_PASSWORD: must not be blank (a blank password is an anonymous bind)']);
  });

  it('keeps a bind password exactly as given (no trimming)', () => {
    const config = loadConfig({ ...VALID, LDAP_BIND_PASSWORD: ' padded ' });
    expect(config.directory.bindCredentials).toEqual({
      kind: 'static',
      bindDN: VALID.LDAP_BIND_DN,
      password: ' padded ',
    });
  });

  it('takes a Secrets Manager ARN instead of a static password, not both', () => {
    const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:ldap-bridge/bind-AbCdEf';
    const { LDAP_BIND_DN: _dn, LDAP_BIND_PASSWORD: _pw, ...withoutStatic } = VALID;
    expect(loadConfig({ ...withoutStatic, LDAP_BIND_SECRET_ARN: arn }).directory.bindCredentials).toEqual({
      kind: 'secrets-manager',
      secretArn: arn,
    });
    expect(problemsOf({ ...VALID, LDAP_BIND_SECRET_ARN: arn }).join('\n')).toContain('not both');
    expect(problemsOf({ ...withoutStatic, LDAP_BIND_SECRET_ARN: 'my-secret' }).join('\n')).toContain(
      '"my-secret" expected a complete Secrets Manager secret ARN',
    );
  });

  it('rejects a user filter without the placeholder', () => {
    expect(problemsOf({ ...VALID, LDAP_USER_FILTER: '(uid=*)' })).toEqual([
      'LDAP_USER_FILTER: "(uid=*)" must contain {username}',
    ]);
  });

  describe('LDAP_PROFILE_MAPPING', () => {
    it('overrides fields, groups, email_verified and metadata over the preset', () => {
      const config = loadConfig({
        ...VALID,
        LDAP_PROFILE_MAPPING: JSON.stringify({
          email: 'userPrincipalName',
          nickname: null,
          groups_as: 'dn',
          email_verified: true,
          app_metadata: { employee_id: 'employeeNumber' },
          user_metadata: { phone: 'telephoneNumber' },
        }),
      });
      const { mapping } = config.directory;
      expect(mapping.fields.email).toBe('userPrincipalName');
      expect(mapping.fields.nickname).toBeNull();
      expect(mapping.fields.given_name).toBe('givenName');
      expect(mapping.groupsAs).toBe('dn');
      expect(mapping.emailVerified).toBe(true);
      expect(mapping.appMetadata).toEqual({ employee_id: 'employeeNumber' });
      expect(mapping.userMetadata).toEqual({ phone: 'telephoneNumber' });
    });

    it.each([
      ['not json', '"not json" expected a JSON object'],
      ['[]', 'expected a JSON object'],
      ['{"user_id":"dn"}', 'not the DN'],
      ['{"user_id":null}', 'user_id is mandatory'],
      ['{"email":"mail)(x"}', 'an LDAP attribute name'],
      ['{"app_metadata":{"blocked":"nsAccountLock"}}', 'does not reserve'],
      ['{"app_metadata":{"a.b":"mail"}}', 'Auth0 forbids . and $'],
      ['{"picture":"jpegPhoto"}', 'one of the keys'],
      ['{"email_verified":"yes"}', 'true or false'],
    ])('rejects %s', (value, problem) => {
      expect(problemsOf({ ...VALID, LDAP_PROFILE_MAPPING: value }).join('\n')).toContain(problem);
    });
  });
});

describe('directory kinds: presets, account states, groups', () => {
  it('the Active Directory preset: sAMAccountName / UPN / mail filter, objectGUID as a GUID, in-chain groups under the domain', () => {
    const { directory } = loadConfig({
      ...VALID,
      LDAP_PRESET: 'active-directory',
      LDAP_BASE_DN: 'OU=Staff,DC=corp,DC=example',
    });
    expect(directory.userFilter).toContain(
      '(sAMAccountName={username})(userPrincipalName={username})(mail={username})',
    );
    expect(directory.mapping).toMatchObject({ userIdAttribute: 'objectGUID', userIdFormat: 'guid' });
    expect(directory.accountStates).toBe('active-directory');
    expect(directory.groups).toMatchObject({
      mode: 'in-chain',
      baseDN: 'DC=corp,DC=example',
      objectFilter: '(objectClass=group)',
      maxCount: 1000,
    });
    expect(directory.hideInactiveUsers).toBe(true);
  });

  it('389-ds: nsUniqueId, nested groups; every setting overridable', () => {
    const { directory } = loadConfig({
      ...VALID,
      LDAP_PRESET: '389ds',
      LDAP_GROUPS: 'member-of',
      LDAP_GROUPS_ATTRIBUTE: 'isMemberOf',
      LDAP_ACCOUNT_STATES: 'none',
      LDAP_HIDE_INACTIVE_USERS: 'false',
      LDAP_GROUP_MAX_DEPTH: '3',
    });
    expect(directory.mapping.userIdAttribute).toBe('nsUniqueId');
    expect(directory.groups).toMatchObject({
      mode: 'member-of',
      memberOfAttribute: 'isMemberOf',
      maxDepth: 3,
      cacheSeconds: 60,
    });
    expect(loadConfig({ ...VALID, LDAP_GROUP_CACHE_SECONDS: '0' }).directory.groups.cacheSeconds).toBe(0);
    // RFC 2307 groups (memberUid) by default on OpenLDAP and 389-ds, not on AD; none turns them off.
    expect(loadConfig(VALID).directory.groups).toMatchObject({
      memberUidAttribute: 'memberUid',
      objectFilter: expect.stringContaining('(objectClass=posixGroup)'),
    });
    expect(
      loadConfig({ ...VALID, LDAP_GROUP_MEMBER_UID_ATTRIBUTE: 'none' }).directory.groups.memberUidAttribute,
    ).toBeUndefined();
    expect(
      loadConfig({ ...VALID, LDAP_PRESET: 'active-directory' }).directory.groups.memberUidAttribute,
    ).toBeUndefined();
    // The user search then asks for uid, whatever the profile mapping needs.
    expect(groupAttributes(loadConfig(VALID).directory.groups)).toEqual(['uid']);
    expect(groupAttributes(loadConfig({ ...VALID, LDAP_GROUP_MEMBER_UID_ATTRIBUTE: 'none' }).directory.groups)).toEqual(
      [],
    );
    expect(directory).toMatchObject({ accountStates: 'none', hideInactiveUsers: false });
  });

  it('a new user_id brings its own format; objectGUID read as text is refused', () => {
    const ad = { ...VALID, LDAP_PRESET: 'active-directory' };
    expect(loadConfig({ ...ad, LDAP_PROFILE_MAPPING: '{"user_id":"employeeID"}' }).directory.mapping.userIdFormat).toBe(
      'text',
    );
    expect(
      loadConfig({ ...VALID, LDAP_PROFILE_MAPPING: '{"user_id":"objectGUID"}' }).directory.mapping.userIdFormat,
    ).toBe('guid');
    expect(problemsOf({ ...ad, LDAP_PROFILE_MAPPING: '{"user_id_format":"text"}' }).join('\n')).toContain(
      '"guid": objectGUID is 16 binary bytes',
    );
  });

  it.each([
    [{ LDAP_GROUPS: 'recursive' }, 'LDAP_GROUPS: "recursive" expected one of none, member-of, nested, in-chain'],
    [{ LDAP_GROUP_FILTER: 'cn=app-*' }, 'LDAP_GROUP_FILTER: "cn=app-*" must be enclosed in parentheses'],
    [
      { LDAP_GROUPS: 'none', LDAP_GROUP_FILTER: '(cn=app-*)' },
      'LDAP_GROUP_FILTER: needs LDAP_GROUPS nested or in-chain',
    ],
    [
      { LDAP_GROUP_OBJECT_FILTER: '(objectClass=group' },
      'LDAP_GROUP_OBJECT_FILTER: "(objectClass=group" must be enclosed in parentheses',
    ],
    [
      { LDAP_GROUP_MEMBER_ATTRIBUTES: 'member,bad attr' },
      'LDAP_GROUP_MEMBER_ATTRIBUTES: "member,bad attr" expected LDAP attribute names ("bad attr" is not)',
    ],
    [{ LDAP_GROUP_MAX_COUNT: '0' }, 'LDAP_GROUP_MAX_COUNT: "0" expected a whole number of groups from 1 to 10000'],
    [
      { LDAP_GROUP_MEMBER_UID_ATTRIBUTE: 'member uid' },
      'LDAP_GROUP_MEMBER_UID_ATTRIBUTE: "member uid" expected an LDAP attribute name, or none',
    ],
    [
      { LDAP_GROUP_CACHE_SECONDS: '-1' },
      'LDAP_GROUP_CACHE_SECONDS: "-1" expected a whole number of seconds from 0 to 3600',
    ],
    [
      { LDAP_GROUP_CACHE_SECONDS: '1h' },
      'LDAP_GROUP_CACHE_SECONDS: "1h" expected a whole number of seconds from 0 to 3600',
    ],
    [
      { LDAP_ACCOUNT_STATES: 'novell' },
      'LDAP_ACCOUNT_STATES: "novell" expected one of active-directory, 389ds, openldap, none',
    ],
    [{ LDAP_HIDE_INACTIVE_USERS: 'yes' }, 'LDAP_HIDE_INACTIVE_USERS: "yes" expected true or false'],
  ])('rejects %j', (overrides, problem) => {
    expect(problemsOf({ ...VALID, ...overrides }).join('\n')).toContain(problem);
  });
});

describe('LDAP_URLS carrying credentials', () => {
  it('is refused without echoing the password', () => {
    const problems = problemsOf({ ...VALID, LDAP_URLS: 'ldaps://reader:s3cret-pw@dc1.corp.example:636' }).join('\n');
    expect(problems).toContain('LDAP_URLS: "ldaps://***@dc1.corp.example:636" must not carry credentials');
    expect(problems).not.toContain('s3cret-pw');
    expect(problemsOf({ ...VALID, LDAP_URLS: 'ldaps://:pw@dc1.corp.example:636' }).join('\n')).toContain(
      'must not carry credentials',
    );
  });
});

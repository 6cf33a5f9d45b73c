// The doctor's judgement of what its probes saw: each failure names the link's evidence and what
// usually fixes it; thresholds (certificate expiry, clock skew, the lockout reserve) are exact.
import { describe, expect, it } from 'vitest';
import type { LockoutShieldSettings } from '../../lambdas/core/directory/lockout-shield.ts';
import {
  judgeAttributes,
  judgeBaseDn,
  judgeLockoutPolicy,
  judgeServiceBind,
  judgeUserSearch,
  type WantedAttributes,
} from '../../lambdas/core/doctor/directory-advice.ts';
import { clockSkewMs, judgeClock, judgeJwks } from '../../lambdas/core/doctor/issuer-advice.ts';
import { judgeDns, judgeTcp, judgeTls } from '../../lambdas/core/doctor/network-advice.ts';
import {
  type CertificateSummary,
  directoryServer,
  type IssuerObservation,
  type ServiceAccount,
  type TlsObservation,
} from '../../lambdas/core/doctor/observations.ts';
import { judgeLogin, judgeUser } from '../../lambdas/core/doctor/request-advice.ts';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 5, 1, 12);
const dc1 = directoryServer('ldaps://dc1.corp.example');
const dc2 = directoryServer('ldaps://dc2.corp.example:1636');

function certificate(daysLeft: number, names = ['DNS:dc1.corp.example']): CertificateSummary {
  return {
    subject: 'CN=dc1.corp.example',
    issuer: 'CN=Corp Issuing CA',
    notBefore: new Date(NOW - 300 * DAY),
    notAfter: new Date(NOW + daysLeft * DAY),
    names,
  };
}

const tlsSettings = { caCertPath: undefined, allowPlaintext: false, now: NOW };

function verified(daysLeft: number): TlsObservation {
  return {
    server: dc1,
    kind: 'ldaps',
    durationMs: 3,
    ok: true,
    protocol: 'TLSv1.3',
    certificate: certificate(daysLeft),
  };
}

function refused(code: string, cert?: CertificateSummary): TlsObservation {
  return { server: dc1, kind: 'ldaps', durationMs: 3, ok: false, failure: { code, message: code }, certificate: cert };
}

describe('dns, tcp', () => {
  it('names a host that does not resolve and where DNS for the directory comes from', () => {
    const result = judgeDns([
      {
        server: dc1,
        kind: 'failed',
        failure: { code: 'ENOTFOUND', message: 'getaddrinfo ENOTFOUND dc1.corp.example' },
        durationMs: 4,
      },
    ]);
    expect(result).toMatchObject({ status: 'fail', server: 'ldaps://dc1.corp.example' });
    expect(result.summary).toBe('dc1.corp.example: getaddrinfo ENOTFOUND dc1.corp.example');
    expect(result.fix).toContain('check its spelling in LDAP_URLS');
  });

  it('warns when one server is down and another answers (failover), fails when none answers', () => {
    const refusedConnection = { code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 10.0.0.5:636' };
    const oneDown = judgeTcp([
      { server: dc1, ok: false, failure: refusedConnection, durationMs: 1 },
      { server: dc2, ok: true, durationMs: 12.4 },
    ]);
    expect(oneDown.status).toBe('warn');
    expect(oneDown.summary).toBe(
      'ldaps://dc1.corp.example: connect ECONNREFUSED 10.0.0.5:636; ldaps://dc2.corp.example:1636 answered in 12 ms (the bridge fails over to the servers that answer)',
    );
    expect(oneDown.fix).toBe(
      "nothing listening on dc1.corp.example:636: is the server up, is the port right (LDAP 389, LDAPS 636; Active Directory's global catalog 3268 / 3269)?",
    );
    const allDown = judgeTcp([
      { server: dc1, ok: false, failure: refusedConnection, durationMs: 1 },
      { server: dc2, ok: false, failure: { code: 'timeout', message: 'no answer within 3000 ms' }, durationMs: 3000 },
    ]);
    expect(allDown.status).toBe('fail');
    const timedOut = judgeTcp([
      { server: dc2, ok: false, failure: { code: 'timeout', message: 'no answer' }, durationMs: 1 },
    ]);
    expect(timedOut.fix).toContain('a firewall or security group drops the packets');
  });
});

describe('tls', () => {
  it('warns under 30 days before the certificate expires, and is ok from 30 days on', () => {
    expect(judgeTls([verified(30)], tlsSettings)).toMatchObject({ status: 'ok' });
    expect(judgeTls([verified(30)], tlsSettings).summary).toBe(
      'ldaps://dc1.corp.example (LDAPS, TLSv1.3): CN=dc1.corp.example, issued by CN=Corp Issuing CA, valid until 2026-07-01 (30 days)',
    );
    const soon = judgeTls([verified(29)], tlsSettings);
    expect(soon.status).toBe('warn');
    expect(soon.summary).toContain('expires 2026-06-30 (in 29 days)');
    expect(soon.fix).toBe(
      "renew the directory's certificate before 2026-06-30: from then on the bridge refuses it and every login fails",
    );
  });

  it('names the verification error and LDAP_CA_CERT when the certificate comes from an unknown CA', () => {
    const unknown = judgeTls([refused('UNABLE_TO_VERIFY_LEAF_SIGNATURE', certificate(200))], tlsSettings);
    expect(unknown.status).toBe('fail');
    expect(unknown.summary).toBe(
      'ldaps://dc1.corp.example: the certificate is not trusted (UNABLE_TO_VERIFY_LEAF_SIGNATURE) (CN=dc1.corp.example, issued by CN=Corp Issuing CA)',
    );
    expect(unknown.fix).toBe(
      "set LDAP_CA_CERT to the PEM file of the CA that signed the directory's certificate, CN=Corp Issuing CA: this machine's system CAs do not include it",
    );
    const foreign = judgeTls([refused('SELF_SIGNED_CERT_IN_CHAIN')], { ...tlsSettings, caCertPath: '/etc/ca.pem' });
    expect(foreign.fix).toBe(
      "LDAP_CA_CERT (/etc/ca.pem) is not the CA that signed the directory's certificate: set it to the PEM file of that CA",
    );
  });

  it("lists the certificate's names when it is not for the host in LDAP_URLS", () => {
    const result = judgeTls(
      [refused('ERR_TLS_CERT_ALTNAME_INVALID', certificate(200, ['DNS:localhost', 'IP:127.0.0.1']))],
      tlsSettings,
    );
    expect(result.summary).toBe(
      'ldaps://dc1.corp.example: the certificate is not for dc1.corp.example (it names DNS:localhost, IP:127.0.0.1)',
    );
    expect(result.fix).toBe(
      'use a name the certificate holds in LDAP_URLS (localhost, 127.0.0.1), or reissue the certificate with dc1.corp.example in its subjectAltName',
    );
  });

  it('fails for an expired or not yet valid certificate', () => {
    expect(judgeTls([refused('CERT_HAS_EXPIRED', certificate(-2))], tlsSettings).summary).toContain(
      'the certificate has expired (on 2026-05-30)',
    );
    expect(judgeTls([refused('CERT_NOT_YET_VALID')], tlsSettings).fix).toContain("check this machine's clock");
  });

  it('says when StartTLS is refused, and when the port does not speak TLS', () => {
    const startTls = directoryServer('ldap://dc1.corp.example');
    const noStartTls = judgeTls(
      [
        {
          server: startTls,
          kind: 'starttls',
          durationMs: 1,
          ok: false,
          failure: { resultCode: 2, message: 'unsupported extended operation' },
        },
      ],
      tlsSettings,
    );
    expect(noStartTls.summary).toBe(
      'ldap://dc1.corp.example: the server refused StartTLS (2 unsupported extended operation)',
    );
    const plainPort = judgeTls([refused('ERR_SSL_WRONG_VERSION_NUMBER')], tlsSettings);
    expect(plainPort.fix).toContain("is 636 the server's LDAPS port (usually 636)?");
  });

  it('warns that passwords travel in clear with LDAP_ALLOW_PLAINTEXT, and accepts loopback without TLS', () => {
    const plain = [{ server: directoryServer('ldap://dc1.corp.example'), kind: 'plaintext' } as const];
    expect(judgeTls(plain, { ...tlsSettings, allowPlaintext: true })).toMatchObject({
      status: 'warn',
      summary: 'ldap://dc1.corp.example: no TLS, passwords travel in clear (LDAP_ALLOW_PLAINTEXT=true)',
    });
    expect(judgeTls([{ server: directoryServer('ldap://127.0.0.1:389'), kind: 'plaintext' }], tlsSettings).status).toBe(
      'ok',
    );
  });
});

const staticAccount: ServiceAccount = { source: 'LDAP_BIND_DN', bindDN: 'cn=reader,dc=corp,dc=example' };
const secretAccount: ServiceAccount = {
  source: 'LDAP_BIND_SECRET_ARN',
  secretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:bind-AbCdEf',
  bindDN: 'CN=svc-bridge,OU=Service,DC=corp,DC=example',
};

describe('service bind', () => {
  const bindFailure = (account: ServiceAccount, resultCode: number, message: string) =>
    judgeServiceBind(
      { stage: 'bind', account, url: dc1.url, durationMs: 2, ok: false, failure: { resultCode, message } },
      [dc1],
    );

  it('names the account and the settings for a wrong password or DN (49)', () => {
    const result = bindFailure(staticAccount, 49, 'invalid credentials');
    expect(result.summary).toBe(
      'the directory refused the service account cn=reader,dc=corp,dc=example (LDAP_BIND_DN): wrong password or DN (49 invalid credentials)',
    );
    expect(result.fix).toContain('check LDAP_BIND_DN and LDAP_BIND_PASSWORD');
    expect(result.server).toBe(dc1.url);
  });

  it("reads Active Directory's reason, and names the secret when the account comes from one", () => {
    const result = bindFailure(
      secretAccount,
      49,
      '80090308: LdapErr: DSID-0C09042A, comment: AcceptSecurityContext error, data 533, v3839',
    );
    expect(result.summary).toBe(
      `the directory refused the service account CN=svc-bridge,OU=Service,DC=corp,DC=example from the secret ${secretAccount.source === 'LDAP_BIND_SECRET_ARN' ? secretAccount.secretArn : ''} (LDAP_BIND_SECRET_ARN): account disabled (49, data 533)`,
    );
    expect(result.fix).toContain('enable the service account');
    expect(result.fix).toContain('the secret\'s "bindDN" and "password"');
  });

  it('says the directory wants TLS first (13), and how an unreadable secret is fixed', () => {
    expect(bindFailure(staticAccount, 13, 'confidentiality required').fix).toBe(
      'use ldaps:// or set LDAP_STARTTLS=true',
    );
    const secret = judgeServiceBind(
      { stage: 'credentials', account: secretAccount, failure: { message: 'AccessDeniedException: not authorized' } },
      [dc1],
    );
    expect(secret.status).toBe('fail');
    expect(secret.fix).toContain('secretsmanager:GetSecretValue on arn:aws:secretsmanager:eu-west-1');
  });

  it('passes the connection failure on when no server could be reached', () => {
    const result = judgeServiceBind(
      {
        stage: 'connect',
        account: staticAccount,
        url: dc1.url,
        failure: { code: 'ECONNREFUSED', message: 'connect ECONNREFUSED' },
      },
      [dc1],
    );
    expect(result.fix).toContain('nothing listening on dc1.corp.example:636');
  });
});

describe('base DN, user filter, attributes', () => {
  it("lists the directory's naming contexts when LDAP_BASE_DN does not exist", () => {
    const result = judgeBaseDn(
      {
        ok: false,
        stage: 'base',
        durationMs: 1,
        failure: { resultCode: 32, message: 'no such object' },
        namingContexts: ['dc=corp,dc=example'],
      },
      'ou=peple,dc=corp,dc=example',
    );
    expect(result.summary).toBe(
      "LDAP_BASE_DN ou=peple,dc=corp,dc=example does not exist, or the service account may not see it (32 no such object); the directory's naming contexts are: dc=corp,dc=example",
    );
    expect(result.fix).toBe('set LDAP_BASE_DN to the subtree that holds the users, under dc=corp,dc=example');
  });

  it('fails for no read access (50) and warns for a base with nothing visible below it', () => {
    const denied = judgeBaseDn(
      { ok: false, stage: 'below', durationMs: 1, failure: { resultCode: 50, message: 'insufficient access' } },
      'ou=people,dc=corp,dc=example',
    );
    expect(denied.summary).toBe(
      'the service account may not read under LDAP_BASE_DN ou=people,dc=corp,dc=example (50 insufficient access rights)',
    );
    expect(judgeBaseDn({ ok: true, entriesBelow: 0, durationMs: 1 }, 'ou=people,dc=corp,dc=example').status).toBe(
      'warn',
    );
  });

  it('fails naming LDAP_USER_FILTER when the directory refuses the search', () => {
    const result = judgeUserSearch(
      {
        filter: '(uid:1.2.3:=x)',
        ok: false,
        durationMs: 1,
        failure: { resultCode: 18, message: 'inappropriate matching' },
      },
      '(uid:1.2.3:={username})',
    );
    expect(result.fix).toContain('correct LDAP_USER_FILTER');
  });

  const wanted: WantedAttributes = {
    userId: 'objectGUID',
    profile: ['mail', 'sAMAccountName'],
    state: ['userAccountControl', 'accountExpires'],
    groups: [],
    lockout: ['badPwdCount'],
  };
  const entry = (attributes: Record<string, string[]>) => ({ dn: 'CN=Ann,OU=Staff,DC=corp,DC=example', attributes });
  const ad = { accountStates: 'active-directory', preset: 'active-directory' } as const;

  it('fails when the user id attribute cannot be read: no profile can be built', () => {
    const result = judgeAttributes(
      { filter: '(x=*)', durationMs: 1, ok: true, entry: entry({ mail: ['a@x'] }) },
      wanted,
      ad,
    );
    expect(result.status).toBe('fail');
    expect(result.summary).toContain('has no objectGUID, or the service account may not read it');
    expect(result.fix).toContain('LDAP_PROFILE_MAPPING');
  });

  it("warns when Active Directory's account state cannot be read, and lists what is present", () => {
    const result = judgeAttributes(
      { filter: '(x=*)', durationMs: 1, ok: true, entry: entry({ objectguid: ['g'], mail: ['a@x'] }) },
      wanted,
      ad,
    );
    expect(result.status).toBe('warn');
    expect(result.summary).toBe(
      'sample entry CN=Ann,OU=Staff,DC=corp,DC=example: user_id objectGUID present; profile: mail present, sAMAccountName absent; account state: userAccountControl, accountExpires absent; lockout: badPwdCount absent; userAccountControl, accountExpires cannot be read: disabled and expired accounts would not be recognised',
    );
    const healthy = judgeAttributes(
      {
        filter: '(x=*)',
        durationMs: 1,
        ok: true,
        entry: entry({ objectguid: ['g'], useraccountcontrol: ['512'], accountexpires: ['0'] }),
      },
      wanted,
      ad,
    );
    expect(healthy.status).toBe('ok');
  });

  it('fails when the filter finds no user at all', () => {
    const result = judgeAttributes({ filter: '(uid=*)', durationMs: 1, ok: true, entry: undefined }, wanted, ad);
    expect(result.summary).toContain('no entry under LDAP_BASE_DN matches LDAP_USER_FILTER with any username');
  });
});

describe('lockout policy', () => {
  const settings: LockoutShieldSettings = {
    enabled: true,
    reserve: 2,
    threshold: undefined,
    policyDN: undefined,
    kind: 'openldap',
  };
  const policySource = 'cn=default,ou=policies,dc=corp,dc=example';

  it('says at how many failures the shield stops, and where the threshold was read', () => {
    const result = judgeLockoutPolicy(
      { kind: 'policy', source: policySource, policy: { threshold: 5, windowMs: 900_000 } },
      settings,
    );
    expect(result).toEqual({
      status: 'ok',
      summary: `lockout after 5 failures (read from ${policySource}), counted over 900 s; the shield stops binding as a user at 3 counted failures (LDAP_LOCKOUT_RESERVE 2)`,
    });
  });

  it('fails when the reserve leaves the bridge no attempt', () => {
    const result = judgeLockoutPolicy(
      { kind: 'policy', source: policySource, policy: { threshold: 2, windowMs: undefined } },
      settings,
    );
    expect(result.status).toBe('fail');
    expect(result.summary).toContain('every login is answered as a wrong password');
  });

  it("warns that logins are not shielded with the shield's own fix when no policy can be read", () => {
    const result = judgeLockoutPolicy(
      {
        kind: 'policy',
        source: policySource,
        policy: undefined,
        unreadable: {
          reason: `${policySource} cannot be read`,
          fix: 'set LDAP_LOCKOUT_POLICY_DN or LDAP_LOCKOUT_THRESHOLD',
        },
      },
      settings,
    );
    expect(result).toMatchObject({
      status: 'warn',
      fix: 'set LDAP_LOCKOUT_POLICY_DN or LDAP_LOCKOUT_THRESHOLD',
    });
    expect(result.summary).toContain(`no lockout policy found (${policySource} cannot be read)`);
    expect(judgeLockoutPolicy({ kind: 'off' }, settings).status).toBe('warn');
    expect(
      judgeLockoutPolicy({ kind: 'policy', source: policySource, policy: undefined }, { ...settings, threshold: 0 })
        .status,
    ).toBe('ok');
  });
});

function issuerAnswer(overrides: Partial<Extract<IssuerObservation, { ok: true }>> = {}): IssuerObservation {
  return {
    url: 'https://t.eu.auth0.com/.well-known/jwks.json',
    durationMs: 40,
    ok: true,
    status: 200,
    body: JSON.stringify({ keys: [{ kty: 'RSA', kid: 'k1', use: 'sig', alg: 'RS256', n: 'xx', e: 'AQAB' }] }),
    date: new Date(NOW).toUTCString(),
    sentAt: NOW + 100,
    receivedAt: NOW + 300,
    ...overrides,
  };
}

describe('jwks and clock', () => {
  it('lists the RS256 signing keys, and fails for a key set without one', () => {
    expect(judgeJwks(issuerAnswer())).toMatchObject({
      status: 'ok',
      summary: 'https://t.eu.auth0.com/.well-known/jwks.json: 1 RS256 signing key (kid k1)',
    });
    const ecOnly = judgeJwks(
      issuerAnswer({ body: JSON.stringify({ keys: [{ kty: 'EC', kid: 'e1', alg: 'ES256', crv: 'P-256' }] }) }),
    );
    expect(ecOnly.summary).toBe(
      'https://t.eu.auth0.com/.well-known/jwks.json holds no RS256 signing key (e1 (EC ES256))',
    );
    expect(ecOnly.fix).toContain('RS256');
  });

  it('fails for an HTTP error, a body that is not a key set, and an issuer that does not answer', () => {
    expect(judgeJwks(issuerAnswer({ status: 503 })).summary).toContain('answered HTTP 503');
    expect(judgeJwks(issuerAnswer({ body: '<html>' })).summary).toContain('is not a JSON Web Key Set (not JSON)');
    const down = judgeJwks({
      url: 'http://127.0.0.1:9/.well-known/jwks.json',
      durationMs: 1,
      ok: false,
      failure: { code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:9' },
    });
    expect(down.status).toBe('fail');
    expect(down.fix).toBe('nothing answers there: check AUTH_ISSUER and AUTH_JWKS_URL');
  });

  it('counts no skew while the Date second overlaps the time the request was under way', () => {
    expect(clockSkewMs(new Date(NOW), NOW + 100, NOW + 300)).toBe(0);
    expect(clockSkewMs(new Date(NOW), NOW - 500, NOW + 300)).toBe(0);
    // Issuer at NOW..NOW+1s, this machine already at NOW+3s: 2 s ahead.
    expect(clockSkewMs(new Date(NOW), NOW + 3000, NOW + 3100)).toBe(-2000);
    // Issuer at NOW, this machine still at NOW-10s: 10 s behind.
    expect(clockSkewMs(new Date(NOW), NOW - 10_100, NOW - 10_000)).toBe(10_000);
  });

  it('is ok within 5 s, warns above, and fails above AUTH_CLOCK_TOLERANCE_SECONDS', () => {
    const at = (skewSeconds: number) =>
      judgeClock(issuerAnswer({ sentAt: NOW - skewSeconds * 1000, receivedAt: NOW - skewSeconds * 1000 }), 30);
    expect(at(0).status).toBe('ok');
    expect(at(5).status).toBe('ok');
    expect(at(5.5)).toMatchObject({ status: 'warn' });
    expect(at(5.5).summary).toContain("this machine's clock is 5.5 s behind the issuer's");
    expect(at(30).status).toBe('warn');
    expect(at(31)).toMatchObject({ status: 'fail' });
    expect(at(31).summary).toContain('more than AUTH_CLOCK_TOLERANCE_SECONDS 30 s');
    expect(at(-40).summary).toContain('ahead of');
    expect(judgeClock(issuerAnswer({ date: undefined }), 30).status).toBe('warn');
  });
});

describe('user and login', () => {
  it('shows the user found, and why not when not', () => {
    expect(
      judgeUser({ status: 200, body: { user_id: 'u1', app_metadata: { groups: ['a', 'b'] } }, logged: {} }, 'ann'),
    ).toEqual({ status: 'ok', summary: 'found ann: user_id u1, 2 groups' });
    const hidden = judgeUser(
      {
        status: 404,
        body: { error: 'user_not_found' },
        logged: { reason: 'account_disabled: inactive accounts are hidden (LDAP_HIDE_INACTIVE_USERS)' },
      },
      'ann',
    );
    expect(hidden.summary).toBe(
      'no user ann (404 user_not_found: account_disabled: inactive accounts are hidden (LDAP_HIDE_INACTIVE_USERS))',
    );
    expect(hidden.fix).toContain('LDAP_HIDE_INACTIVE_USERS keeps such accounts out');
  });

  it('tells a wrong password from a login the lockout shield held and an account state', () => {
    expect(judgeLogin({ status: 401, body: { error: 'invalid_credentials' }, logged: {} }, 'ann').summary).toBe(
      '401 invalid_credentials for ann: a wrong password, or no entry matches the username',
    );
    expect(
      judgeLogin(
        {
          status: 401,
          body: { error: 'invalid_credentials' },
          logged: { lockout_shield: 'held', lockout_failures: 3, lockout_threshold: 5 },
        },
        'ann',
      ).summary,
    ).toBe('the lockout shield held the login of ann (3 of 5 failures counted): no bind was made');
    expect(judgeLogin({ status: 403, body: { error: 'account_disabled' }, logged: {} }, 'ann').summary).toBe(
      'the password of ann is right, but the account may not log in: account_disabled',
    );
    expect(
      judgeLogin(
        { status: 503, body: { error: 'directory_unavailable' }, logged: { reason: 'user search: timed out' } },
        'ann',
      ).summary,
    ).toBe('the bridge answered 503 directory_unavailable: user search: timed out');
  });
});

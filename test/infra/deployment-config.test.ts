import { describe, expect, it } from 'vitest';
import { DeploymentConfigError, lambdaEnvironment, readDeploymentConfig } from '../../lib/config.ts';
import { CDK_CONTEXT, environment } from './support.ts';

function problems(name: string, env: Record<string, unknown>): string {
  try {
    readDeploymentConfig({ [name]: env }, name);
  } catch (error) {
    if (error instanceof DeploymentConfigError) return error.problems.join('\n');
    throw error;
  }
  return '';
}

describe('deployment configuration', () => {
  it('reads the environments shipped in cdk.json', () => {
    for (const name of Object.keys(CDK_CONTEXT.environments)) {
      expect(readDeploymentConfig(CDK_CONTEXT.environments, name).envName).toBe(name);
    }
  });

  it('derives the LDAP ports from the URLs and defaults the rest', () => {
    const config = readDeploymentConfig(CDK_CONTEXT.environments, 'demo');
    expect(config.directory.ports).toEqual([636]);
    expect(config).toMatchObject({
      reservedConcurrency: 10,
      functionTimeoutSeconds: 10,
      authorizerCacheSeconds: 60,
      logRetentionDays: 90,
      throttling: { rateLimit: 50, burstLimit: 100 },
    });
  });

  it('fails for an unknown environment, naming the known ones', () => {
    expect(() => readDeploymentConfig(CDK_CONTEXT.environments, 'staging')).toThrow(
      '"staging" expected one of demo, prod',
    );
  });

  it('fails if the audience is missing', () => {
    const env = environment('demo');
    env.auth0 = { ...(env.auth0 as object), audience: undefined };
    expect(problems('demo', env)).toContain('environments.demo.auth0.audience: is required');
  });

  it.each(['http://tenant.eu.auth0.com/', 'https://tenant.eu.auth0.com', 'tenant.eu.auth0.com'])(
    'fails if the issuer is malformed: %s',
    (issuer) => {
      const env = environment('demo');
      env.auth0 = { ...(env.auth0 as object), issuer };
      expect(problems('demo', env)).toContain(`environments.demo.auth0.issuer: ${JSON.stringify(issuer)} `);
    },
  );

  it.each(['0.0.0.0/0', '10.0.0.0/4', 'not-a-cidr'])(
    'fails if the directory network range is open or malformed: %s',
    (range) => {
      const env = environment('demo');
      env.directory = { ...(env.directory as object), networkRanges: [range] };
      expect(problems('demo', env)).toContain(`environments.demo.directory.networkRanges: ${JSON.stringify(range)}`);
    },
  );

  it('fails if public subnets are configured for the functions', () => {
    const env = environment('prod');
    env.network = { ...(env.network as object), publicSubnetIds: ['subnet-0123456789abcdef0'] };
    expect(problems('prod', env)).toContain('the directory functions run only in private subnets');
  });

  it('fails if subnets and availability zones do not pair up', () => {
    const env = environment('prod');
    env.network = {
      ...(env.network as object),
      privateSubnetIds: ['subnet-0a1b2c3d4e5f60718'],
      privateSubnetRouteTableIds: ['rtb-0a1b2c3d4e5f60718'],
    };
    expect(problems('prod', env)).toContain('1 subnet(s) for 2 availability zone(s)');
  });

  it('fails if the bind secret ARN is partial (the grant would need a wildcard)', () => {
    const env = environment('prod', {
      bindSecret: { secretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:ldap-bridge/bind' },
    });
    expect(problems('prod', env)).toContain('expected a complete secret ARN');
  });

  it("fails if the function timeout reaches Auth0's script limit or cannot fit the directory timeouts", () => {
    expect(problems('demo', environment('demo', { functionTimeoutSeconds: 20 }))).toContain(
      'environments.demo.functionTimeoutSeconds: 20 expected a whole number of seconds from 3 to 15',
    );
    const env = environment('demo', { functionTimeoutSeconds: 5 });
    env.directory = { ...(env.directory as object), operationTimeoutMs: 3000 };
    expect(problems('demo', env)).toContain(
      'must exceed directory.connectTimeoutMs + 2 x directory.operationTimeoutMs',
    );
  });

  it("fails with the runtime's own message when the functions would reject their configuration", () => {
    const env = environment('demo');
    env.directory = { ...(env.directory as object), userFilter: '(uid=*)' };
    expect(problems('demo', env)).toContain(
      'environments.demo.directory.userFilter: "(uid=*)" must contain {username}',
    );
  });

  it('passes the Active Directory preset, groups and inactive-account settings to the functions, checked by the runtime', () => {
    const env = environment('demo');
    env.directory = {
      ...(env.directory as object),
      preset: 'active-directory',
      baseDN: 'DC=corp,DC=example',
      accountStates: 'active-directory',
      hideInactiveUsers: false,
      groups: {
        filter: '(cn=auth0-*)',
        maxCount: 200,
        memberAttributes: ['member'],
        cacheSeconds: 0,
        memberUidAttribute: 'none',
      },
    };
    const config = readDeploymentConfig({ demo: env }, 'demo');
    const functionEnv = lambdaEnvironment(config, 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:x-AbCdEf');
    expect(functionEnv).toMatchObject({
      LDAP_PRESET: 'active-directory',
      LDAP_ACCOUNT_STATES: 'active-directory',
      LDAP_HIDE_INACTIVE_USERS: 'false',
      LDAP_GROUP_FILTER: '(cn=auth0-*)',
      LDAP_GROUP_MAX_COUNT: '200',
      LDAP_GROUP_CACHE_SECONDS: '0',
      LDAP_GROUP_MEMBER_UID_ATTRIBUTE: 'none',
      LDAP_GROUP_MEMBER_ATTRIBUTES: 'member',
    });
    env.directory = { ...(env.directory as object), groups: { mode: 'member-of', filter: 'cn=x' } };
    const found = problems('demo', env);
    expect(found).toContain('environments.demo.directory.groups.filter: "cn=x" must be enclosed in parentheses');
    expect(found).toContain(
      'environments.demo.directory.groups.filter: needs environments.demo.directory.groups.mode nested or in-chain',
    );
  });

  it("derives the WAF's per-IP limit from the stage's throttle: 2 x (throttling.rateLimit x 300 + burstLimit)", () => {
    expect(readDeploymentConfig(CDK_CONTEXT.environments, 'demo').wafRateLimitPer5Minutes).toBe(2 * (50 * 300 + 100));
    expect(readDeploymentConfig(CDK_CONTEXT.environments, 'prod').wafRateLimitPer5Minutes).toBe(2 * (100 * 300 + 200));
    const faster = environment('demo', { throttling: { rateLimit: 400, burstLimit: 800 } });
    expect(readDeploymentConfig({ demo: faster }, 'demo').wafRateLimitPer5Minutes).toBe(241_600);
  });

  it('fails if wafRateLimitPer5Minutes would block what the stage accepts, naming both keys', () => {
    expect(problems('prod', environment('prod', { wafRateLimitPer5Minutes: 2000 }))).toBe(
      'environments.prod.wafRateLimitPer5Minutes: 2000 is below throttling.rateLimit 100 x 300 + throttling.burstLimit 200 = 30200: the WAF would block a source the stage still accepts (leave it out to derive it)',
    );
    expect(problems('prod', environment('prod', { wafRateLimitPer5Minutes: 30_200 }))).toBe('');
    expect(
      readDeploymentConfig({ prod: environment('prod', { wafRateLimitPer5Minutes: 100_000 }) }, 'prod')
        .wafRateLimitPer5Minutes,
    ).toBe(100_000);
  });

  it('reports every problem at once', () => {
    const found = problems(
      'demo',
      environment('demo', { logRetentionDays: 42, reservedConcurrency: 0, allowedSourceIps: ['300.1.1.1'] }),
    ).split('\n');
    expect(found).toHaveLength(3);
  });

  it("puts no secret into the functions' environment", () => {
    const config = readDeploymentConfig(CDK_CONTEXT.environments, 'prod');
    const env = lambdaEnvironment(config, 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:x-AbCdEf');
    expect(Object.keys(env).filter((key) => /PASSWORD|SECRET(?!_ARN)|TOKEN/.test(key))).toEqual([]);
  });
});

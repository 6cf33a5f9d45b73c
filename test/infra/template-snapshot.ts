// The synthesized templates as they were before the LdapBridge construct was split into focused
// constructs (test/infra/templates-before-split/), and how to compare a template with them:
// construct ids are a contract, so a refactoring must leave every logical id and property as it
// was, apart from the intended fixes that template-identity.test.ts lists one by one.

/** Optional features off in both shipped environments, switched on so their resources are compared too. */
export const EVERYTHING_ON: Record<string, unknown> = {
  customDomain: {
    domainName: 'ldap-bridge.corp.example',
    certificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9',
  },
  bindSecret: {
    secretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:ldap-bridge/bind-AbCdEf',
    kmsKeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9',
  },
  alarms: { email: 'security@corp.example' },
  syncLeavers: {
    enabled: true,
    connection: 'ldap-bridge',
    schedule: 'cron(15 2 * * ? *)',
    apply: true,
    maxBlock: '25',
  },
};

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * Drops what says where a resource came from rather than what it is: construct paths in
 * Metadata, and asset hashes (without bundling they hash the source tree, which any edit changes).
 */
export function normalizeTemplate(template: unknown): Json {
  const walk = (value: Json, key?: string): Json => {
    if (Array.isArray(value)) return value.map((item) => walk(item));
    if (value !== null && typeof value === 'object') {
      const result: { [key: string]: Json } = {};
      for (const [name, child] of Object.entries(value)) {
        if (name === 'Metadata') continue;
        result[name] = walk(child, name);
      }
      return result;
    }
    if (typeof value === 'string' && (key === 'S3Key' || /^[0-9a-f]{64}\.zip$/.test(value))) return '<asset>.zip';
    return value;
  };
  return walk(template as Json);
}

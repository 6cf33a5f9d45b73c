// Sources of the service account's bind credentials: static configuration (local server), or a
// Secrets Manager secret {"bindDN","password"} (Lambda). The AWS SDK is loaded only when a
// secret is configured, so it stays out of the local server and off the hot path.
import type { ServiceCredentials, ServiceCredentialsSource } from './ldap-directory.ts';

export class StaticServiceCredentials implements ServiceCredentialsSource {
  constructor(private readonly credentials: ServiceCredentials) {}
  async current(): Promise<ServiceCredentials> {
    return this.credentials;
  }
  async refresh(): Promise<undefined> {
    return undefined;
  }
}

/** The subset of the Secrets Manager client this source uses, so tests can pass a mocked client. */
export interface SecretValueReader {
  getSecretString(secretArn: string): Promise<string | undefined>;
}

export class SecretsManagerServiceCredentials implements ServiceCredentialsSource {
  private cached: Promise<ServiceCredentials> | undefined;
  private lastFetchAt = 0;

  constructor(
    private readonly secretArn: string,
    private readonly reader: SecretValueReader,
    /** Milliseconds between two fetches forced by a refused bind. Default 30000. */
    private readonly refreshCooldownMs = 30_000,
  ) {}

  current(): Promise<ServiceCredentials> {
    this.cached ??= this.fetch();
    return this.cached;
  }

  async refresh(): Promise<ServiceCredentials | undefined> {
    if (Date.now() - this.lastFetchAt < this.refreshCooldownMs) return undefined;
    this.cached = this.fetch();
    return this.cached;
  }

  private async fetch(): Promise<ServiceCredentials> {
    this.lastFetchAt = Date.now();
    try {
      const text = await this.reader.getSecretString(this.secretArn);
      return parseCredentialsSecret(text);
    } catch (error) {
      this.cached = undefined; // a failed fetch is not cached: the next request tries again
      throw error;
    }
  }
}

/** The secret must be JSON {"bindDN": string, "password": string}; the error never quotes it. */
export function parseCredentialsSecret(text: string | undefined): ServiceCredentials {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text ?? '');
  } catch {
    throw new Error('bind secret is not JSON (expected {"bindDN": "...", "password": "..."})');
  }
  const { bindDN, password } = (parsed ?? {}) as Record<string, unknown>;
  if (typeof bindDN !== 'string' || bindDN.trim() === '' || typeof password !== 'string' || password.trim() === '') {
    throw new Error('bind secret must hold non-empty string fields "bindDN" and "password"');
  }
  return { bindDN, password };
}

/** Reads a secret with the AWS SDK, imported on first use. */
export async function createSecretsManagerReader(): Promise<SecretValueReader> {
  const { SecretsManagerClient, GetSecretValueCommand } = await import('@aws-sdk/client-secrets-manager');
  const client = new SecretsManagerClient({});
  return {
    async getSecretString(secretArn: string) {
      const output = await client.send(new GetSecretValueCommand({ SecretId: secretArn }));
      return output.SecretString;
    },
  };
}

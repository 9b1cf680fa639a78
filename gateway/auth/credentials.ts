// Credential store built from the config's [[auth]] entries.
import type { SecretLookup } from '../../shared/sigv4/index.ts';

/** A policy statement: the actions allowed on a bucket (or bucket pattern: `*`, `logs-*`). */
export interface PolicyStatement {
  readonly bucket: string;
  readonly actions: readonly string[];
}

/** One `[[auth]]` entry (camel-cased, as shared/config's AuthConfig gives it). */
export interface AuthEntry {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** Defaults to DEFAULT_ACCOUNT_ID. */
  readonly accountId?: string;
  /** Empty or absent: no restriction inside the account (see docs/auth.md). */
  readonly policy?: readonly PolicyStatement[];
}

/** The account a key belongs to, and what it may do. */
export interface Account {
  readonly accessKeyId: string;
  readonly accountId: string;
  readonly policy: readonly PolicyStatement[];
}

export const DEFAULT_ACCOUNT_ID = '000000000000';

export class CredentialConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CredentialConfigError';
  }
}

export class CredentialStore {
  private readonly secrets = new Map<string, string>();
  private readonly accounts = new Map<string, Account>();

  /** Throws CredentialConfigError for an empty key or secret, or an access key listed twice. */
  constructor(entries: readonly AuthEntry[]) {
    entries.forEach((entry, index) => {
      const where = `[[auth]] entry ${index + 1}`;
      if (!entry.accessKeyId) throw new CredentialConfigError(`${where}: access_key_id is empty`);
      if (!entry.secretAccessKey) throw new CredentialConfigError(`${where}: secret_access_key is empty`);
      if (this.secrets.has(entry.accessKeyId)) {
        throw new CredentialConfigError(`${where}: access_key_id ${entry.accessKeyId} is listed twice`);
      }
      for (const statement of entry.policy ?? []) {
        if (!statement.bucket) throw new CredentialConfigError(`${where}: a policy statement has no bucket`);
        if (statement.actions.length === 0) {
          throw new CredentialConfigError(
            `${where}: the policy statement for ${statement.bucket} lists no actions`,
          );
        }
      }
      this.secrets.set(entry.accessKeyId, entry.secretAccessKey);
      this.accounts.set(entry.accessKeyId, {
        accessKeyId: entry.accessKeyId,
        accountId: entry.accountId || DEFAULT_ACCOUNT_ID,
        policy: entry.policy ?? [],
      });
    });
  }

  get size(): number {
    return this.secrets.size;
  }

  secretFor(accessKeyId: string): string | undefined {
    return this.secrets.get(accessKeyId);
  }

  account(accessKeyId: string): Account | undefined {
    return this.accounts.get(accessKeyId);
  }

  /** A SecretLookup for the shared/sigv4 verifiers. */
  readonly lookup: SecretLookup = (accessKeyId) => this.secretFor(accessKeyId);
}

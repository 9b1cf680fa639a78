// Garbage records a move no longer needs (every old shard was deleted at once), removed from s3db in
// batches instead of one Raft write per moved chunk. A record whose removal is lost (crash, failed
// batch) is harmless: the garbage worker finds its shards already gone and removes it then.
import type { S3dbClient } from '../../../shared/s3db-client/index.ts';
import { TABLES } from '../../../shared/metadata/keys.ts';

export class GarbageBatch {
  private keys: Buffer[] = [];
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: Pick<S3dbClient, 'batch'>,
    /** Keys gathered before a batch goes out on its own. */
    private readonly size = 64,
  ) {}

  add(key: Buffer): void {
    this.keys.push(key);
    if (this.keys.length >= this.size) void this.flush();
  }

  /** Sends what is gathered; resolves when every batch sent so far has been answered (never rejects). */
  flush(): Promise<void> {
    const keys = this.keys;
    this.keys = [];
    if (keys.length > 0) {
      const sent = this.db
        .batch(
          [],
          keys.map((key) => ({ kind: 'delete' as const, table: TABLES.garbage, key })),
        )
        .then(
          () => undefined,
          () => undefined,
        );
      this.flushing = Promise.all([this.flushing, sent]).then(() => undefined);
    }
    return this.flushing;
  }
}

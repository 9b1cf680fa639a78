// An in-memory stand-in for the s3db client's get/put/delete/batch/scan, with the same precondition
// semantics (absent, exists, valueEquals, versionEquals) and per-key versions. Tests only.
import type {
  BatchOp,
  BatchResult,
  KeyInput,
  Precondition,
  ScanOptions,
  ScanPage,
} from '../../../shared/s3db-client/index.ts';

const bytes = (k: KeyInput): Buffer => (typeof k === 'string' ? Buffer.from(k, 'utf8') : Buffer.from(k));

export class MemoryDb {
  private readonly tables = new Map<string, Map<string, { value: Uint8Array; version: number }>>();
  private index = 0;
  /** Called before every batch is applied (to interleave a competing write in a test). */
  beforeBatch: (() => void) | undefined;

  private table(name: string): Map<string, { value: Uint8Array; version: number }> {
    let t = this.tables.get(name);
    if (!t) this.tables.set(name, (t = new Map()));
    return t;
  }

  async get(table: string, key: KeyInput): Promise<{ value: Uint8Array; version: number } | undefined> {
    const got = this.table(table).get(bytes(key).toString('hex'));
    return got ? { value: new Uint8Array(got.value), version: got.version } : undefined;
  }

  async put(table: string, key: KeyInput, value: Uint8Array): Promise<{ version: number }> {
    const version = ++this.index;
    this.table(table).set(bytes(key).toString('hex'), { value: new Uint8Array(value), version });
    return { version };
  }

  async delete(table: string, key: KeyInput): Promise<{ deleted: boolean }> {
    ++this.index;
    return { deleted: this.table(table).delete(bytes(key).toString('hex')) };
  }

  async batch(preconditions: Precondition[], ops: BatchOp[]): Promise<BatchResult> {
    const hook = this.beforeBatch;
    this.beforeBatch = undefined;
    hook?.();
    for (const [i, p] of preconditions.entries()) {
      const cur = this.table(p.table).get(bytes(p.key).toString('hex'));
      const holds =
        p.kind === 'absent'
          ? !cur
          : p.kind === 'exists'
            ? !!cur
            : p.kind === 'valueEquals'
              ? !!cur && Buffer.from(cur.value).equals(Buffer.from(p.value))
              : (cur?.version ?? 0) === p.version;
      if (!holds) return { ok: false, failed: i, reason: `${p.kind} does not hold` };
    }
    const version = ++this.index;
    for (const o of ops) {
      const k = bytes(o.key).toString('hex');
      if (o.kind === 'put') this.table(o.table).set(k, { value: new Uint8Array(o.value), version });
      else this.table(o.table).delete(k);
    }
    return { ok: true, version };
  }

  async scan(table: string, opts: ScanOptions = {}): Promise<ScanPage> {
    const prefix = opts.prefix === undefined ? '' : bytes(opts.prefix).toString('hex');
    const after = opts.startAfter === undefined ? undefined : bytes(opts.startAfter).toString('hex');
    const keys = [...this.table(table).keys()]
      .filter(
        (k) =>
          k.startsWith(prefix) &&
          (after === undefined || Buffer.compare(Buffer.from(k, 'hex'), Buffer.from(after, 'hex')) > 0),
      )
      .sort((a, b) => Buffer.compare(Buffer.from(a, 'hex'), Buffer.from(b, 'hex')));
    const limit = opts.limit ?? 1000;
    const page = keys.slice(0, limit);
    const items = page.map((k) => {
      const v = this.table(table).get(k)!;
      return {
        key: new Uint8Array(Buffer.from(k, 'hex')),
        value: new Uint8Array(v.value),
        version: v.version,
      };
    });
    const out: ScanPage = { items, truncated: keys.length > limit };
    const last = items.at(-1);
    if (out.truncated && last) out.nextStartAfter = last.key;
    return out;
  }

  /** Every key of a table (hex), for assertions. */
  keys(table: string): string[] {
    return [...this.table(table).keys()];
  }
}

/**
 * Appending one commit's records to a volume with early write-back: the bytes go in pieces, and once the
 * first piece is in the page cache an fdatasync starts in the background (another each time one finishes
 * while pieces remain), so the disk works while later pieces are still being copied. The commit's final
 * fdatasync still covers every byte; an early sync only moves work earlier, it never replaces the final one.
 */
import type { FileHandle } from 'node:fs/promises';
import { DiskFullError, StoreIoError } from './errors.ts';

/** writev takes at most IOV_MAX buffers per call on some platforms; libuv splits, but keep calls moderate. */
const MAX_BUFFERS_PER_WRITE = 512;

export interface WritePiece {
  buffers: Buffer[];
  bytes: number;
}

/**
 * Splits `buffers` into consecutive pieces that grow: the first holds at least `pieceBytes`, each later one at
 * least as much as everything before it (so a commit takes a few writes, not one per `pieceBytes`); no piece
 * has more than MAX_BUFFERS_PER_WRITE buffers. `pieceBytes` 0 (or less): pieces of MAX_BUFFERS_PER_WRITE
 * buffers. Pure.
 */
export function splitIntoPieces(buffers: readonly Buffer[], pieceBytes: number): WritePiece[] {
  const pieces: WritePiece[] = [];
  let current: WritePiece = { buffers: [], bytes: 0 };
  let before = 0;
  for (const b of buffers) {
    current.buffers.push(b);
    current.bytes += b.byteLength;
    const full = pieceBytes > 0 && current.bytes >= Math.max(pieceBytes, before);
    if (full || current.buffers.length >= MAX_BUFFERS_PER_WRITE) {
      pieces.push(current);
      before += current.bytes;
      current = { buffers: [], bytes: 0 };
    }
  }
  if (current.buffers.length > 0) pieces.push(current);
  return pieces;
}

export interface AppendOptions {
  /** Piece size for early write-back; 0 turns it off (one writev per 512 buffers, no early sync). */
  pieceBytes: number;
  /**
   * Called with a piece's size (and the next one's, 0 after the last) right after its write was handed to the
   * thread pool and before it is awaited: CPU work done here (the commit computes deferred CRCs, one piece
   * ahead) runs while the kernel copies the piece.
   */
  whileWriting?: (pieceBytes: number, nextPieceBytes: number) => void;
}

export interface AppendResult {
  /**
   * Settles when the last early sync finished: resolves, or rejects with its error. A failed early sync
   * fails the commit even if the final sync succeeds (Linux reports a write-back error to one fsync only).
   * Always handled internally, so leaving it unawaited on an error path raises no unhandled rejection.
   */
  earlySyncs: Promise<void>;
}

/** Writes `buffers` at `position` (exactly `bytes` bytes), starting write-back early; see the module note. */
export async function appendWithEarlyWriteBack(
  fh: FileHandle,
  buffers: readonly Buffer[],
  position: number,
  bytes: number,
  options: AppendOptions,
): Promise<AppendResult> {
  const pieces = splitIntoPieces(buffers, options.pieceBytes);
  let inFlight: Promise<void> | null = null;
  let syncError: unknown = null;
  let lastSync: Promise<void> = Promise.resolve();
  const startSync = (): void => {
    const run: Promise<void> = fh.datasync().then(
      () => {
        if (inFlight === run) inFlight = null;
      },
      (err: unknown) => {
        syncError ??= err;
        if (inFlight === run) inFlight = null;
      },
    );
    inFlight = run;
    lastSync = run;
  };
  let written = 0;
  try {
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i] as WritePiece;
      const writing = fh.writev(piece.buffers, position + written);
      if (options.whileWriting !== undefined) {
        try {
          options.whileWriting(piece.bytes, pieces[i + 1]?.bytes ?? 0);
        } catch (err) {
          await writing.catch(() => undefined);
          throw err;
        }
      }
      const { bytesWritten } = await writing;
      if (bytesWritten !== piece.bytes) {
        // A short write to a regular file means the disk is full.
        throw new DiskFullError(`short write: ${bytesWritten} of ${piece.bytes} bytes`);
      }
      written += bytesWritten;
      if (syncError !== null) break;
      const more = i + 1 < pieces.length;
      if (options.pieceBytes > 0 && more && inFlight === null) startSync();
    }
  } catch (err) {
    await lastSync; // never leave a sync running on a handle the caller may truncate or close
    throw err;
  }
  if (syncError === null && written !== bytes)
    throw new StoreIoError(`wrote ${written} bytes, expected ${bytes}`);
  const earlySyncs = (async (): Promise<void> => {
    await lastSync;
    if (syncError !== null) throw syncError;
  })();
  earlySyncs.catch(() => undefined);
  return { earlySyncs };
}

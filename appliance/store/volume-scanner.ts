/**
 * Walks the records of one volume file in order (index rebuild, compaction, scrub). Tolerates damage: a bad
 * header is skipped by searching for the next valid one; a record cut short at the end of the file is reported
 * as a torn tail.
 */
import type { FileHandle } from 'node:fs/promises';
import { RecordFormatError } from './errors.ts';
import {
  RECORD_HEADER_BYTES,
  RECORD_MAGIC,
  SEGMENT_ENTRY_BYTES,
  VOLUME_HEADER_BYTES,
  decodeRecordHeader,
  decodeSegmentTable,
  decodeVolumeHeader,
  recordLength,
} from './record-codec.ts';
import type { RecordHeader, SegmentEntry } from './record-codec.ts';
import { decodeSegment } from './segment-codec.ts';

export interface ScannedRecord {
  type: 'record';
  offset: number;
  length: number;
  header: RecordHeader;
  segments: SegmentEntry[];
  /** 'unchecked' unless payload verification was asked for. */
  payload: 'ok' | 'unchecked' | { badSegment: number; segmentOffset: number; reason: string };
  /** The record's bytes exactly as stored, when `raw` was asked for. */
  raw?: Buffer;
}

export interface ScannedDamage {
  type: 'damage';
  offset: number;
  length: number;
  reason: string;
}

export interface ScanEnd {
  type: 'end';
  /** End of the last intact record (or resynchronised region): the volume's valid length. */
  validEnd: number;
  /** Set when bytes after `validEnd` do not form a complete record (torn write or tail garbage). */
  tail?: { offset: number; reason: string };
}

export type ScanItem = ScannedRecord | ScannedDamage | ScanEnd;

export interface ScanOptions {
  verifyPayload?: boolean;
  raw?: boolean;
  /** Stop scanning at this byte (default: file size). */
  end?: number;
  /** Start at this byte (default: just after the volume header). */
  start?: number;
}

const WINDOW = 8 * 1024 * 1024;

/** Reads through a sliding window so scanning many small records does not cost one syscall each. */
class WindowReader {
  private window = Buffer.alloc(0);
  private windowStart = 0;
  constructor(
    private readonly fh: FileHandle,
    readonly size: number,
  ) {}

  async read(position: number, length: number): Promise<Buffer> {
    const end = Math.min(position + length, this.size);
    if (position >= this.windowStart && end <= this.windowStart + this.window.byteLength) {
      return this.window.subarray(position - this.windowStart, end - this.windowStart);
    }
    const want = Math.max(end - position, Math.min(WINDOW, this.size - position));
    const buf = Buffer.allocUnsafe(Math.max(0, want));
    let got = 0;
    while (got < want) {
      const { bytesRead } = await this.fh.read(buf, got, want - got, position + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    this.window = buf.subarray(0, got);
    this.windowStart = position;
    return this.window.subarray(0, Math.min(got, end - position));
  }
}

interface Parsed {
  header: RecordHeader;
  segments: SegmentEntry[];
  length: number;
}

/** Tries to parse a record at `offset`; RecordFormatError with truncated=true means the file ends inside it. */
async function parseAt(reader: WindowReader, offset: number): Promise<Parsed> {
  const headerBytes = await reader.read(offset, RECORD_HEADER_BYTES);
  const header = decodeRecordHeader(headerBytes);
  const tableBytes = await reader.read(
    offset + RECORD_HEADER_BYTES,
    header.segmentCount * SEGMENT_ENTRY_BYTES,
  );
  const segments = decodeSegmentTable(tableBytes, header);
  const length = recordLength(header);
  if (offset + length > reader.size)
    throw new RecordFormatError('record extends past the end of the volume', true);
  return { header, segments, length };
}

/** Finds the next offset after `from` where a complete, valid record header and table start. */
async function resync(reader: WindowReader, from: number): Promise<number | null> {
  const magic = Buffer.alloc(4);
  magic.writeUInt32LE(RECORD_MAGIC);
  let pos = from;
  while (pos + RECORD_HEADER_BYTES <= reader.size) {
    const chunk = await reader.read(pos, WINDOW);
    const hit = chunk.indexOf(magic);
    if (hit < 0) {
      pos += Math.max(1, chunk.byteLength - 3);
      continue;
    }
    const candidate = pos + hit;
    try {
      await parseAt(reader, candidate);
      return candidate;
    } catch {
      pos = candidate + 1;
    }
  }
  return null;
}

export async function* scanVolume(fh: FileHandle, options: ScanOptions = {}): AsyncGenerator<ScanItem> {
  const size = options.end ?? (await fh.stat()).size;
  const reader = new WindowReader(fh, size);
  if (options.start === undefined) {
    const vh = await reader.read(0, VOLUME_HEADER_BYTES);
    decodeVolumeHeader(vh); // throws RecordFormatError: the caller decides what a bad volume header means
  }
  let offset = options.start ?? VOLUME_HEADER_BYTES;
  while (offset < size) {
    let parsed: Parsed;
    try {
      parsed = await parseAt(reader, offset);
    } catch (err) {
      if (!(err instanceof RecordFormatError)) throw err;
      const next = err.truncated ? null : await resync(reader, offset + 1);
      if (next === null) {
        yield { type: 'end', validEnd: offset, tail: { offset, reason: err.message } };
        return;
      }
      yield { type: 'damage', offset, length: next - offset, reason: err.message };
      offset = next;
      continue;
    }
    const item: ScannedRecord = {
      type: 'record',
      offset,
      length: parsed.length,
      header: parsed.header,
      segments: parsed.segments,
      payload: 'unchecked',
    };
    if (options.verifyPayload || options.raw) {
      const raw = await reader.read(offset, parsed.length);
      if (options.raw) item.raw = Buffer.from(raw);
      if (options.verifyPayload) {
        item.payload = 'ok';
        let at = RECORD_HEADER_BYTES + parsed.segments.length * SEGMENT_ENTRY_BYTES;
        for (let i = 0; i < parsed.segments.length; i++) {
          const entry = parsed.segments[i] as SegmentEntry;
          const result = decodeSegment(raw.subarray(at, at + entry.storedLength), entry);
          if (!result.ok) {
            item.payload = { badSegment: i, segmentOffset: offset + at, reason: result.reason };
            break;
          }
          at += entry.storedLength;
        }
      }
    }
    yield item;
    offset += parsed.length;
  }
  yield { type: 'end', validEnd: offset };
}

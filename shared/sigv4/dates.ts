// The two date forms SigV4 uses: 20130524T000000Z (x-amz-date) and 20130524 (credential scope).

const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

// Every signed request formats the current second: the last answer is kept (it changes once a second).
let lastSecond = NaN;
let lastText = '';

export function formatAmzDate(date: Date): string {
  const second = Math.floor(date.getTime() / 1000);
  if (second === lastSecond) return lastText;
  const text = date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
  lastSecond = second;
  lastText = text;
  return text;
}

/** Parses `YYYYMMDDTHHMMSSZ`; undefined when malformed or not a real date. */
export function parseAmzDate(text: string): Date | undefined {
  const m = AMZ_DATE.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number) as [number, number, number, number, number, number, number];
  const ms = Date.UTC(y, mo - 1, d, h, mi, s);
  const date = new Date(ms);
  if (date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d || h > 23 || mi > 59 || s > 60)
    return undefined;
  return date;
}

/** Parses an HTTP date (RFC 7231, e.g. `Fri, 24 May 2013 00:00:00 GMT`); undefined when malformed. */
export function parseHttpDate(text: string): Date | undefined {
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : new Date(ms);
}

export function toEpochMs(now: Date | number | undefined): number {
  if (now === undefined) return Date.now();
  return typeof now === 'number' ? now : now.getTime();
}

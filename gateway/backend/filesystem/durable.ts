// Durable file-system steps: write + fsync, atomic rename, directory fsync.
import { open, rename, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';

export async function fsyncDirectory(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Writes `data` to `tempPath`, fsyncs it, renames it over `finalPath` and fsyncs the directory. */
export async function writeFileAtomic(
  tempPath: string,
  finalPath: string,
  data: Buffer | string,
): Promise<void> {
  const handle = await open(tempPath, 'wx', 0o644);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tempPath, finalPath);
  await fsyncDirectory(dirname(finalPath));
}

/** mkdir -p that fsyncs the parent of every directory it creates. */
export async function ensureDirectory(path: string): Promise<void> {
  const created = await mkdir(path, { recursive: true });
  if (created === undefined) return;
  // `created` is the first directory made; fsync its parent and every new level below it.
  let dir = path;
  const levels: string[] = [];
  while (dir.length >= created.length) {
    levels.push(dirname(dir));
    if (dir === created) break;
    dir = dirname(dir);
  }
  for (const level of levels.reverse()) await fsyncDirectory(level);
}

// Loads a config from TOML text through a temp file (the real loader, normalisation included).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../../shared/config/index.ts';
import type { ClusterConfig } from '../../../shared/config/index.ts';

export async function loadConfigText(text: string): Promise<ClusterConfig> {
  const dir = await mkdtemp(join(tmpdir(), 'pd-admin-config-'));
  try {
    const path = join(dir, 'cluster.toml');
    await writeFile(path, text);
    return await loadConfig(path, { cwd: dir });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

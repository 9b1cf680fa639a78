#!/usr/bin/env node
// `npm run build [-- lambda|appliance]`: esbuild bundles (ESM, Node 20, linux-x64).
//   dist/lambda/index.mjs     handler (function URL) + albHandler (ALB) — the Lambda code
//   dist/lambda/local.mjs     the local function URL emulator (`npm run lambda:local`)
//   dist/appliance/s3d.mjs    the s3d command as one file (appliance daemons, s3db, gateway server)
// Node-native addons cannot be inlined: they stay external and their packages (with the prebuilt
// .node files and their JavaScript dependencies) are copied into dist/<bundle>/node_modules.
import { build } from 'esbuild';
import { cp, mkdir, readFile, rm, stat, readdir } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Packages that load compiled .node files (or pick a platform package that does). */
export const NATIVE_PACKAGES = [
  '@ronomon/reed-solomon',
  'classic-level',
  'lz4-napi',
  'sse4_crc32',
  '@node-rs/crc32',
  '@matrixai/quic',
];

// CommonJS dependencies call require() for Node built-ins; an ESM bundle needs a real require.
const BANNER = [
  "import { createRequire as __predastoreCreateRequire } from 'node:module';",
  'const require = __predastoreCreateRequire(import.meta.url);',
].join('\n');

const TARGETS = {
  lambda: {
    out: 'dist/lambda',
    entries: { index: 'gateway/lambda/handler.ts', local: 'gateway/lambda/emulator/main.ts' },
  },
  appliance: { out: 'dist/appliance', entries: { s3d: 'infra/appliance-entry.ts' } },
};

async function exists(path) {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

async function packageDir(name, from) {
  // Node's resolution: the nearest node_modules up from the requiring package.
  for (let dir = from; ; dir = dirname(dir)) {
    // As Node does, never look in node_modules/node_modules (a stray symlink there would be found).
    const candidate = join(dir, 'node_modules', name);
    if (basename(dir) !== 'node_modules' && (await exists(join(candidate, 'package.json')))) return candidate;
    if (dir === dirname(dir) || !dir.startsWith(ROOT)) return undefined;
  }
}

/** The package directories `names` need at run time: themselves and their (optional) dependencies. */
async function runtimeClosure(names) {
  const found = new Map();
  const queue = names.map((name) => ({ name, from: ROOT, optional: false }));
  for (let guard = 0; queue.length > 0 && guard < 10_000; guard++) {
    const { name, from, optional } = queue.shift();
    const dir = await packageDir(name, from);
    if (dir === undefined) {
      if (optional) continue; // e.g. another platform's prebuilt package
      throw new Error(
        `package ${name} (needed by ${relative(ROOT, from) || 'the project'}) is not installed`,
      );
    }
    if (found.has(dir)) continue;
    found.set(dir, name);
    const manifest = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8'));
    for (const dep of Object.keys(manifest.dependencies ?? {}))
      queue.push({ name: dep, from: dir, optional: false });
    for (const dep of Object.keys(manifest.optionalDependencies ?? {}))
      queue.push({ name: dep, from: dir, optional: true });
  }
  return found;
}

async function copyPackages(outDir, metafile) {
  const used = new Set();
  // Some modules load addons through createRequire(import.meta.url)('name'), which esbuild does not
  // follow: a native package named as a string literal in an output counts as used too.
  for (const file of Object.keys(metafile.outputs).filter((f) => f.endsWith('.mjs'))) {
    const text = await readFile(join(ROOT, file), 'utf8');
    for (const name of NATIVE_PACKAGES)
      if (text.includes(`'${name}'`) || text.includes(`"${name}"`)) used.add(name);
  }
  for (const output of Object.values(metafile.outputs))
    for (const imp of output.imports)
      if (imp.external) {
        const match = /^(@[^/]+\/[^/]+|[^@/][^/]*)/.exec(imp.path);
        if (match && NATIVE_PACKAGES.includes(match[1])) used.add(match[1]);
      }
  const closure = await runtimeClosure([...used]);
  for (const dir of closure.keys()) {
    const target = join(outDir, relative(ROOT, dir));
    await mkdir(dirname(target), { recursive: true });
    await cp(dir, target, {
      recursive: true,
      dereference: true,
      // Compiler leftovers of addons built here are not needed at run time.
      filter: (src) =>
        !/^(\.git|deps|build[\\/]Release[\\/](obj\.target|\.deps))([\\/]|$)/.test(relative(dir, src)),
    });
  }
  return [...used].sort();
}

async function directorySize(dir) {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    total += entry.isDirectory() ? await directorySize(path) : (await stat(path)).size;
  }
  return total;
}

const mib = (bytes) => `${(bytes / 1024 / 1024).toFixed(2)} MiB`;

/** Builds one bundle into `outDirOverride` (default dist/<name>); returns its sizes. */
export async function buildTarget(name, outDirOverride = undefined) {
  const target = TARGETS[name];
  if (target === undefined)
    throw new Error(`unknown bundle ${name}; choose ${Object.keys(TARGETS).join(' or ')}`);
  const outDir = outDirOverride ?? join(ROOT, target.out);
  await rm(outDir, { recursive: true, force: true });
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: target.entries,
    outdir: outDir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: NATIVE_PACKAGES,
    banner: { js: BANNER },
    sourcemap: 'linked',
    metafile: true,
    logLevel: 'warning',
    legalComments: 'linked',
  });
  const natives = await copyPackages(outDir, result.metafile);
  // The host bootstrap (systemd unit, install.sh) travels with the appliance bundle.
  if (name === 'appliance') await cp(join(ROOT, 'infra/host'), join(outDir, 'host'), { recursive: true });
  const sizes = {};
  for (const [file, info] of Object.entries(result.metafile.outputs))
    if (file.endsWith('.mjs')) sizes[relative(ROOT, file)] = info.bytes;
  const modules = join(outDir, 'node_modules');
  const nativeBytes = (await exists(modules)) ? await directorySize(modules) : 0;
  return { name, outDir, sizes, natives, nativeBytes, total: await directorySize(outDir) };
}

async function main() {
  const names = process.argv.slice(2).length > 0 ? process.argv.slice(2) : Object.keys(TARGETS);
  for (const name of names) {
    const report = await buildTarget(name);
    for (const [file, bytes] of Object.entries(report.sizes)) console.log(`${file}  ${mib(bytes)}`);
    console.log(
      `${relative(ROOT, report.outDir)}/node_modules  ${mib(report.nativeBytes)}  (${report.natives.join(', ') || 'no native packages'})`,
    );
    console.log(`${relative(ROOT, report.outDir)}  total ${mib(report.total)}`);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((error) => {
    console.error(error.message ?? error);
    process.exit(1);
  });
}

// Long simulation run, outside `npm test`.
//   SEED=1234 node --import tsx test/sim/long-run.ts            replay one seed (3 nodes if odd, 5 if even)
//   START=1 COUNT=2000 TICKS=2000 node --import tsx test/sim/long-run.ts
//   DURATION_S=600 node --import tsx test/sim/long-run.ts        run consecutive seeds for ten minutes
// Optional: NODES=3|5 forces the cluster size; DROP_PCT / DUP_PCT set the message drop / duplicate rates (%). Exits 1 on the first failing seed and prints it.
import { Simulation, type SimStats } from './cluster.ts';

function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) {
    console.error(`${name} must be a non-negative integer, got ${raw}`);
    process.exit(2);
  }
  return n;
}

const single = process.env.SEED !== undefined && process.env.SEED !== '';
const start = single ? envInt('SEED', 1) : envInt('START', 1);
const count = single ? 1 : envInt('COUNT', 500);
const ticks = envInt('TICKS', 2000);
const durationMs = envInt('DURATION_S', 0) * 1000;
const forcedNodes = envInt('NODES', 0);
const dropRate = envInt('DROP_PCT', 5) / 100;
const duplicateRate = envInt('DUP_PCT', 2) / 100;

const began = Date.now();
const totals: Record<string, number> = {};
let runs = 0;
for (let seed = start; durationMs > 0 || seed < start + count; seed++) {
  if (durationMs > 0 && Date.now() - began > durationMs) break;
  const nodes: 3 | 5 = forcedNodes === 3 || forcedNodes === 5 ? forcedNodes : seed % 2 === 1 ? 3 : 5;
  let stats: SimStats;
  try {
    stats = new Simulation({ seed, nodes, chaosTicks: ticks, dropRate, duplicateRate }).run();
  } catch (err) {
    console.error(
      `FAILED seed ${seed} (${nodes} nodes, ${ticks} ticks): ${(err as Error).stack ?? String(err)}`,
    );
    console.error(
      `replay: SEED=${seed} NODES=${nodes} TICKS=${ticks} node --import tsx test/sim/long-run.ts`,
    );
    process.exit(1);
  }
  runs++;
  for (const [k, v] of Object.entries(stats)) if (k !== 'seed') totals[k] = (totals[k] ?? 0) + v;
  if (single) console.log(JSON.stringify(stats));
}
console.log(`ok: ${runs} seeds from ${start}, ${ticks} chaos ticks each, ${Date.now() - began} ms`);
console.log(JSON.stringify(totals));

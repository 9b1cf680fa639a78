// Registers rebalance, drain and migrate-rs with the appliance job runner (imported once by
// appliance/maintenance/executors.ts).
import { registerJobExecutor } from '../registry.ts';
import { registerRebalanceExecutors } from './executors.ts';

registerRebalanceExecutors((kind, executor) => registerJobExecutor(kind, executor));

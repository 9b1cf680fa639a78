export { startMember } from './member.ts';
export type { RunningMember, MemberPart } from './member.ts';
export { startAppliance } from './appliance.ts';
export type { RunningAppliance } from './appliance.ts';
export { shardStoreBackend } from './store-backend.ts';
export { applianceTls, applianceCertName } from './tls.ts';

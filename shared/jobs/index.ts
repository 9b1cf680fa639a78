// Background jobs coordinated through s3db (table pd.jobs): the record codec and the client helpers
// the admin API (create/list/stop/resume) and the appliances' job runner (claim/renew) use.
export * from './record.ts';
export * from './client.ts';

// Health endpoints. Bucket names may contain only a-z, 0-9, '.' and '-' (never '_'), so a first path
// segment containing '_' can never address a bucket: these paths cannot collide with S3 requests.
export const HEALTH_PATH = '/_predastore/health';
export const READY_PATH = '/_predastore/ready';

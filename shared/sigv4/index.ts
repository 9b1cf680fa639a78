// AWS Signature Version 4: pure signing and verification shared by gateway, s3db server and s3db client.
export * from './errors.ts';
export * from './encoding.ts';
export * from './canonical.ts';
export * from './dates.ts';
export * from './keys.ts';
export * from './chunk-signing.ts';
export * from './sign.ts';
export * from './verify.ts';

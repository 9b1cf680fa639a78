// The gateway's S3 behaviour suite, run through the Lambda function URL code path: SDK → local
// function URL emulator → payload v2 event → @fastify/aws-lambda → the same app → streamed response.
import { defineS3BehaviourSuite } from '../gateway/s3-behaviour.ts';
import { startSourceEmulator } from './emulator-process.ts';

defineS3BehaviourSuite('filesystem, through the Lambda function URL handler', startSourceEmulator);

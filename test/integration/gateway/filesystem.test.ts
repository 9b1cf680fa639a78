// The S3 behaviour suite against a gateway process on the filesystem backend.
import { defineS3BehaviourSuite } from './s3-behaviour.ts';
import { startFilesystemGateway } from './harness.ts';

defineS3BehaviourSuite('filesystem', startFilesystemGateway);

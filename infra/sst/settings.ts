// What a stage of the AWS app is made of; sst.config.ts fills it in per stage.
export interface ClusterShape {
  /** Availability zones the VPC and the appliance hosts span. */
  azCount: number;
  /** Appliance hosts (shard server + s3db member each); spread round-robin over the AZs. */
  hostCount: number;
  instanceType: string;
  /** gp3 EBS volume per host for volumes + index (GiB); instance-store types may use 0. */
  dataVolumeGiB: number;
  /** Ports: shard protocol (QUIC over UDP or TLS over TCP, same number) and s3db's HTTPS API. */
  shardPort: number;
  dbPort: number;
  /** Long-running gateway port on the hosts (large objects, multipart parts). */
  gatewayPort: number;
  /** Lambda memory (MB); CPU scales with it, and erasure coding is CPU-bound. */
  gatewayMemoryMB: number;
  /** ARN of the AWS Parameters and Secrets Lambda Extension layer for the region. */
  parametersLayerArn: string;
}

export function shapeFor(stage: string): ClusterShape {
  const production = stage === 'production';
  return {
    azCount: 3,
    hostCount: production ? 6 : 3,
    instanceType: production ? 'i4i.large' : 't3.large',
    dataVolumeGiB: production ? 0 : 50,
    shardPort: 9991,
    dbPort: 6660,
    gatewayPort: 8443,
    gatewayMemoryMB: production ? 3008 : 1769,
    // us-east-1, x86_64; see docs/deploy.md for other regions.
    parametersLayerArn:
      'arn:aws:lambda:us-east-1:177933569100:layer:AWS-Parameters-and-Secrets-Lambda-Extension:12',
  };
}

/** SSM parameter names for the stage's secrets (SecureString). */
export function parameterNames(app: string, stage: string): { config: string; tlsPrefix: string } {
  return { config: `/${app}/${stage}/cluster.toml`, tlsPrefix: `/${app}/${stage}/tls` };
}

/**
 * A value produced by a Pulumi resource (an Output). Typed loosely because these files are also
 * compiled by the project-wide check, which has no Pulumi types; `npm run sst:check` checks the
 * calls it flows into against the real ones.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type PulumiValue = any;

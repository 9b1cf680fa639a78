// VPC across AZs and the security groups: appliances admit the shard protocol (UDP for QUIC and
// TCP for TLS, same port) and s3db's API only from the gateways and from each other.
import type { ClusterShape, PulumiValue } from './settings.ts';

export function createNetwork(shape: ClusterShape) {
  const vpc = new sst.aws.Vpc('Vpc', { az: shape.azCount, nat: 'ec2' });
  const gatewaySg = new aws.ec2.SecurityGroup('GatewaySg', {
    vpcId: vpc.id,
    description: 'Predastore gateway functions',
    egress: [{ protocol: '-1', fromPort: 0, toPort: 0, cidrBlocks: ['0.0.0.0/0'] }],
  });
  const albSg = new aws.ec2.SecurityGroup('AlbSg', {
    vpcId: vpc.id,
    description: 'Predastore ALB (S3 clients)',
    ingress: [{ protocol: 'tcp', fromPort: 443, toPort: 443, cidrBlocks: ['0.0.0.0/0'] }],
    egress: [{ protocol: '-1', fromPort: 0, toPort: 0, cidrBlocks: ['0.0.0.0/0'] }],
  });
  const applianceSg = new aws.ec2.SecurityGroup('ApplianceSg', {
    vpcId: vpc.id,
    description: 'Predastore appliances: shard protocol and s3db',
    egress: [{ protocol: '-1', fromPort: 0, toPort: 0, cidrBlocks: ['0.0.0.0/0'] }],
  });
  const rules: Array<[string, string, number, PulumiValue]> = [
    ['ShardUdpFromGateway', 'udp', shape.shardPort, gatewaySg.id],
    ['ShardTcpFromGateway', 'tcp', shape.shardPort, gatewaySg.id],
    ['DbFromGateway', 'tcp', shape.dbPort, gatewaySg.id],
    ['ShardUdpFromPeers', 'udp', shape.shardPort, applianceSg.id],
    ['ShardTcpFromPeers', 'tcp', shape.shardPort, applianceSg.id],
    ['DbFromPeers', 'tcp', shape.dbPort, applianceSg.id],
    ['HostGatewayFromAlb', 'tcp', shape.gatewayPort, albSg.id],
  ];
  for (const [name, protocol, port, source] of rules)
    new aws.vpc.SecurityGroupIngressRule(name, {
      securityGroupId: applianceSg.id,
      ipProtocol: protocol,
      fromPort: port,
      toPort: port,
      referencedSecurityGroupId: source,
    });
  return { vpc, gatewaySg, albSg, applianceSg };
}

// Secrets live in SSM Parameter Store (SecureString), never in a bundle or a plain variable:
// the cluster config (with [[auth]] keys and s3db credentials) and the cluster CA + node keys.
// Values are set per stage with `npx sst secret set <Name> <value> --stage <stage>`.
import { parameterNames } from './settings.ts';

export function createSecrets() {
  const names = parameterNames($app.name, $app.stage);
  const clusterToml = new sst.Secret('ClusterToml');
  const caPem = new sst.Secret('ClusterCaPem');
  const gatewayCert = new sst.Secret('GatewayCertPem');
  const gatewayKey = new sst.Secret('GatewayKeyPem');
  const parameters = [
    new aws.ssm.Parameter('ClusterTomlParam', {
      name: names.config,
      type: 'SecureString',
      value: clusterToml.value,
    }),
    new aws.ssm.Parameter('CaParam', {
      name: `${names.tlsPrefix}/ca.crt`,
      type: 'SecureString',
      value: caPem.value,
    }),
    new aws.ssm.Parameter('GatewayCertParam', {
      name: `${names.tlsPrefix}/gateway.crt`,
      type: 'SecureString',
      value: gatewayCert.value,
    }),
    new aws.ssm.Parameter('GatewayKeyParam', {
      name: `${names.tlsPrefix}/gateway.key`,
      type: 'SecureString',
      value: gatewayKey.value,
    }),
  ];
  return { names, parameters };
}

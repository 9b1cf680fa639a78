// eslint-disable-next-line @typescript-eslint/triple-slash-reference -- SST's platform types are globals
/// <reference path="./.sst/platform/config.d.ts" />
// Predastore on AWS (docs/deploy.md): VPC; the gateway Lambda (function URL with response
// streaming, and an ALB target) in the VPC; appliance hosts across AZs; secrets in SSM.
// Build first (`npm run build`), then `npx sst deploy --stage <stage>`. Check offline: `npm run sst:check`.
export default $config({
  app(input) {
    return {
      name: 'predastore',
      home: 'aws',
      removal: input?.stage === 'production' ? 'retain' : 'remove',
      protect: input?.stage === 'production',
      providers: { aws: '7.48.0' },
    };
  },
  async run() {
    const { shapeFor } = await import('./infra/sst/settings.ts');
    const { createNetwork } = await import('./infra/sst/network.ts');
    const { createSecrets } = await import('./infra/sst/secrets.ts');
    const { createAppliances } = await import('./infra/sst/appliances.ts');
    const { createGateway } = await import('./infra/sst/gateway.ts');
    const shape = shapeFor($app.stage);
    const production = $app.stage === 'production';
    const network = createNetwork(shape);
    const secrets = createSecrets();
    const appliances = createAppliances({
      shape,
      vpc: network.vpc,
      applianceSg: network.applianceSg,
      names: secrets.names,
      protect: production,
    });
    const gateway = createGateway({
      shape,
      vpc: network.vpc,
      hosts: appliances.hosts,
      gatewaySg: network.gatewaySg,
      albSg: network.albSg,
      names: secrets.names,
      ...(process.env.PREDASTORE_CERTIFICATE_ARN
        ? { certificateArn: process.env.PREDASTORE_CERTIFICATE_ARN }
        : {}),
      ...(process.env.PREDASTORE_SIGNED_HOST ? { signedHost: process.env.PREDASTORE_SIGNED_HOST } : {}),
    });
    return {
      functionUrl: gateway.urlFunction.url,
      albDns: gateway.alb.dnsName,
      applianceIds: appliances.hosts.map((h) => h.id),
    };
  },
});

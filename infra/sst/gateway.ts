// The gateway: the Lambda bundle (dist/lambda) as two functions in the VPC — one behind a function
// URL with response streaming, one as the target of an Application Load Balancer (buffered) — plus
// the ALB listener that also forwards large-object traffic to the long-running gateways on the hosts.
import { hostRoutingRules } from './alb-routing.ts';
import type { ClusterShape, PulumiValue } from './settings.ts';

interface GatewayInputs {
  shape: ClusterShape;
  vpc: { id: PulumiValue; publicSubnets: PulumiValue; privateSubnets: PulumiValue };
  /** Appliance hosts (EC2 instances); each runs a long-running gateway on shape.gatewayPort. */
  hosts: Array<{ id: PulumiValue }>;
  gatewaySg: { id: PulumiValue };
  albSg: { id: PulumiValue };
  names: { config: string; tlsPrefix: string };
  /** ACM certificate for the ALB's HTTPS listener (custom domain), if any. */
  certificateArn?: string;
  /** The host name clients use when it is not the function URL or ALB host (e.g. behind CloudFront). */
  signedHost?: string;
}

export function createGateway(input: GatewayInputs) {
  const { shape, names } = input;
  const account = aws.getCallerIdentityOutput({}).accountId;
  const region = aws.getRegionOutput({}).name;
  const environment: Record<string, string> = {
    PREDASTORE_CONFIG_PARAMETER: names.config,
    PREDASTORE_TLS_PARAMETER_PREFIX: names.tlsPrefix,
    PREDASTORE_BACKEND: 'distributed',
    PREDASTORE_LOG_LEVEL: 'warn',
    ...(input.signedHost === undefined ? {} : { PREDASTORE_SIGNED_HOST: input.signedHost }),
  };
  const common = {
    bundle: 'dist/lambda',
    runtime: 'nodejs20.x' as const,
    architecture: 'x86_64' as const,
    memory: `${shape.gatewayMemoryMB} MB` as const,
    timeout: '900 seconds' as const,
    environment,
    layers: [shape.parametersLayerArn],
    vpc: { privateSubnets: input.vpc.privateSubnets, securityGroups: [input.gatewaySg.id] },
    permissions: [
      {
        actions: ['ssm:GetParameter'],
        resources: [
          $interpolate`arn:aws:ssm:${region}:${account}:parameter${names.config}`,
          $interpolate`arn:aws:ssm:${region}:${account}:parameter${names.tlsPrefix}/*`,
        ],
      },
      { actions: ['kms:Decrypt'], resources: ['*'] },
    ],
  };
  const urlFunction = new sst.aws.Function('GatewayUrl', {
    ...common,
    handler: 'index.handler',
    streaming: true,
    url: true,
  });
  const albFunction = new sst.aws.Function('GatewayAlb', { ...common, handler: 'index.albHandler' });

  const alb = new aws.lb.LoadBalancer('GatewayAlb', {
    loadBalancerType: 'application',
    subnets: input.vpc.publicSubnets,
    securityGroups: [input.albSg.id],
    idleTimeout: 900,
  });
  const targetGroup = new aws.lb.TargetGroup('GatewayAlbTarget', {
    targetType: 'lambda',
    lambdaMultiValueHeadersEnabled: true,
  });
  const invoke = new aws.lambda.Permission('GatewayAlbInvoke', {
    action: 'lambda:InvokeFunction',
    function: albFunction.name,
    principal: 'elasticloadbalancing.amazonaws.com',
    sourceArn: targetGroup.arn,
  });
  new aws.lb.TargetGroupAttachment(
    'GatewayAlbAttachment',
    { targetGroupArn: targetGroup.arn, targetId: albFunction.arn },
    { dependsOn: [invoke] },
  );
  const listener =
    input.certificateArn === undefined
      ? new aws.lb.Listener('GatewayAlbHttp', {
          loadBalancerArn: alb.arn,
          port: 80,
          protocol: 'HTTP',
          defaultActions: [{ type: 'forward', targetGroupArn: targetGroup.arn }],
        })
      : new aws.lb.Listener('GatewayAlbHttps', {
          loadBalancerArn: alb.arn,
          port: 443,
          protocol: 'HTTPS',
          certificateArn: input.certificateArn,
          defaultActions: [{ type: 'forward', targetGroupArn: targetGroup.arn }],
        });
  // Uploads the Lambda target cannot take go to the long-running gateways on the hosts.
  const hostGroup = new aws.lb.TargetGroup('GatewayHostsTarget', {
    targetType: 'instance',
    vpcId: input.vpc.id,
    port: shape.gatewayPort,
    protocol: 'HTTP',
    healthCheck: { path: '/_predastore/health', matcher: '200', interval: 15 },
  });
  input.hosts.forEach((host, i) => {
    new aws.lb.TargetGroupAttachment(`GatewayHost${i + 1}`, {
      targetGroupArn: hostGroup.arn,
      targetId: host.id,
      port: shape.gatewayPort,
    });
  });
  for (const rule of hostRoutingRules())
    new aws.lb.ListenerRule(`GatewayAlbToHosts-${rule.reason}`, {
      listenerArn: listener.arn,
      priority: rule.priority,
      conditions: [rule.condition],
      actions: [{ type: 'forward', targetGroupArn: hostGroup.arn }],
      tags: { Name: rule.reason },
    });
  return { urlFunction, albFunction, alb, listener, hostGroup };
}

// Appliance hosts: one EC2 instance per host id, spread round-robin over the VPC's AZs (private
// subnets), each with its data disk, bootstrapped by infra/host/cloud-init.sh: the appliance bundle
// from S3, secrets from SSM, then the systemd unit from infra/host/.
import { readFileSync } from 'node:fs';
import type { ClusterShape, PulumiValue } from './settings.ts';

interface ApplianceInputs {
  shape: ClusterShape;
  vpc: { privateSubnets: PulumiValue };
  applianceSg: { id: PulumiValue };
  names: { config: string; tlsPrefix: string };
  protect: boolean;
}

export function createAppliances(input: ApplianceInputs) {
  const { shape, names } = input;
  const bucket = new sst.aws.Bucket('ApplianceBundles');
  const bundle = new aws.s3.BucketObjectv2('ApplianceBundle', {
    bucket: bucket.name,
    key: 'appliance.zip',
    // `npm run build` first: dist/appliance holds s3d.mjs, its native node_modules and host/.
    source: new $util.asset.FileArchive('dist/appliance'),
  });
  const account = aws.getCallerIdentityOutput({}).accountId;
  const region = aws.getRegionOutput({}).name;
  const role = new aws.iam.Role('ApplianceRole', {
    assumeRolePolicy: aws.iam.assumeRolePolicyForPrincipal({ Service: 'ec2.amazonaws.com' }),
    managedPolicyArns: ['arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore'],
    inlinePolicies: [
      {
        name: 'predastore-bootstrap',
        policy: $jsonStringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Action: ['s3:GetObject'],
              Resource: [$interpolate`${bucket.arn}/appliance.zip`],
            },
            {
              Effect: 'Allow',
              Action: ['ssm:GetParameter'],
              Resource: [
                $interpolate`arn:aws:ssm:${region}:${account}:parameter${names.config}`,
                $interpolate`arn:aws:ssm:${region}:${account}:parameter${names.tlsPrefix}/*`,
              ],
            },
          ],
        }),
      },
    ],
  });
  const profile = new aws.iam.InstanceProfile('ApplianceProfile', { role: role.name });
  const ami = aws.ec2.getAmiOutput({
    mostRecent: true,
    owners: ['amazon'],
    filters: [{ name: 'name', values: ['al2023-ami-2023*-x86_64'] }],
  });
  const template = readFileSync('infra/host/cloud-init.sh', 'utf8');
  const useEbs = shape.dataVolumeGiB > 0;
  const hosts = [];
  for (let id = 1; id <= shape.hostCount; id++) {
    const userData = $resolve([region, bucket.name, bundle.key]).apply(([r, b, k]: string[]) =>
      template
        .replaceAll('__REGION__', r as string)
        .replaceAll('__BUNDLE_URI__', `s3://${b}/${k}`)
        .replaceAll('__CONFIG_PARAM__', names.config)
        .replaceAll('__TLS_PREFIX__', names.tlsPrefix)
        .replaceAll('__NODE_ID__', String(id))
        .replaceAll('__GATEWAY_PORT__', String(shape.gatewayPort))
        // Nitro instances expose EBS and instance store as NVMe; the root disk is nvme0n1.
        .replaceAll('__DATA_DEVICE__', '/dev/nvme1n1'),
    );
    const subnet = $resolve([input.vpc.privateSubnets]).apply(
      ([subnets]: string[][]) => (subnets as string[])[(id - 1) % (subnets as string[]).length],
    );
    hosts.push(
      new aws.ec2.Instance(
        `Appliance${id}`,
        {
          ami: ami.id,
          instanceType: shape.instanceType,
          subnetId: subnet,
          vpcSecurityGroupIds: [input.applianceSg.id],
          iamInstanceProfile: profile.name,
          userData,
          userDataReplaceOnChange: false,
          metadataOptions: { httpTokens: 'required' },
          rootBlockDevice: { volumeSize: 16, volumeType: 'gp3', encrypted: true },
          ebsBlockDevices: useEbs
            ? [
                {
                  deviceName: '/dev/sdf',
                  volumeSize: shape.dataVolumeGiB,
                  volumeType: 'gp3',
                  encrypted: true,
                  deleteOnTermination: !input.protect,
                },
              ]
            : [],
          tags: { Name: `${$app.name}-${$app.stage}-appliance-${id}`, 'predastore:node': String(id) },
        },
        { protect: input.protect },
      ),
    );
  }
  return { hosts, bucket };
}

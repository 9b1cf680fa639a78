#!/bin/bash
# EC2 user data for an appliance host (Amazon Linux 2023). The SST app fills in the __NAMES__.
# Fetches the appliance bundle from S3 and the secrets from SSM (instance role), then runs install.sh.
set -euo pipefail
REGION='__REGION__'
BUNDLE_URI='__BUNDLE_URI__'
CONFIG_PARAM='__CONFIG_PARAM__'
TLS_PREFIX='__TLS_PREFIX__'
NODE_ID='__NODE_ID__'
DATA_DEVICE='__DATA_DEVICE__'
GATEWAY_PORT='__GATEWAY_PORT__'

dnf install -y nodejs20 unzip
ln -sf /usr/bin/node-20 /usr/local/bin/node 2>/dev/null || true

# Data disk: EBS volume or the first instance-store NVMe device, mounted where s3d keeps its data.
mkdir -p /var/lib/predastore
if [ -n "$DATA_DEVICE" ] && [ -b "$DATA_DEVICE" ]; then
  blkid "$DATA_DEVICE" >/dev/null 2>&1 || mkfs.xfs -q "$DATA_DEVICE"
  grep -q /var/lib/predastore /etc/fstab || echo "$DATA_DEVICE /var/lib/predastore xfs defaults,noatime,nofail 0 2" >> /etc/fstab
  mount -a
fi

work=$(mktemp -d)
aws s3 cp --region "$REGION" "$BUNDLE_URI" "$work/appliance.zip"
unzip -q "$work/appliance.zip" -d "$work/bundle"
param() { aws ssm get-parameter --region "$REGION" --with-decryption --name "$1" --query Parameter.Value --output text; }
umask 077
mkdir -p "$work/tls"
param "$CONFIG_PARAM" > "$work/cluster.toml"
# The cluster CA and this host's identities (`s3d certs` names: node-N for the appliance, s3db-N for s3db).
for name in ca.crt "node-$NODE_ID.crt" "node-$NODE_ID.key" "s3db-$NODE_ID.crt" "s3db-$NODE_ID.key"; do
  param "$TLS_PREFIX/$name" > "$work/tls/$name"
done
sh "$work/bundle/host/install.sh" -bundle "$work/bundle" -config "$work/cluster.toml" \
  -node "$NODE_ID" -db-node "$NODE_ID" -tls-dir "$work/tls" -port "$GATEWAY_PORT"
rm -rf "$work"

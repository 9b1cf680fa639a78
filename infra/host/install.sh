#!/bin/sh
# One-command install of a Predastore appliance on a plain VM or bare-metal Linux host (systemd, Node >= 20):
#   sudo sh install.sh -bundle DIR -config cluster.toml -node N [-db-node N] [-tls-dir DIR] [-port P]
# -port is the long-running gateway's HTTP port on the host (default 8443; the ALB forwards large
# uploads and multipart requests to it).
# DIR is the appliance bundle (`npm run build` → dist/appliance, which also carries this script).
# Copies the bundle to /opt/predastore, the config and TLS material to /etc/predastore, creates the
# `predastore` user, installs predastore-s3d.service and starts it. Safe to re-run (upgrades in place).
set -eu

usage() { echo "usage: sudo sh install.sh -bundle DIR -config FILE -node N [-db-node N] [-tls-dir DIR] [-port P]" >&2; exit 2; }
BUNDLE='' CONFIG='' NODE='' DB_NODE='' TLS_DIR='' PORT=8443
while [ $# -gt 0 ]; do
  case "$1" in
    -bundle) BUNDLE=$2; shift 2 ;;
    -config) CONFIG=$2; shift 2 ;;
    -node) NODE=$2; shift 2 ;;
    -db-node) DB_NODE=$2; shift 2 ;;
    -tls-dir) TLS_DIR=$2; shift 2 ;;
    -port) PORT=$2; shift 2 ;;
    *) usage ;;
  esac
done
[ -n "$BUNDLE" ] && [ -n "$CONFIG" ] && [ -n "$NODE" ] || usage
[ -f "$BUNDLE/s3d.mjs" ] || { echo "install.sh: $BUNDLE/s3d.mjs not found (run npm run build)" >&2; exit 1; }
[ -f "$CONFIG" ] || { echo "install.sh: config $CONFIG not found" >&2; exit 1; }
case "$NODE$DB_NODE$PORT" in *[!0-9]*) echo "install.sh: -node, -db-node and -port take numbers" >&2; exit 2 ;; esac
command -v node >/dev/null || { echo "install.sh: Node.js >= 20 is required" >&2; exit 1; }
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' ||
  { echo "install.sh: Node.js >= 20 is required, found $(node -v)" >&2; exit 1; }
[ "$(uname -m)" = x86_64 ] || echo "install.sh: warning: the bundled addons are built for linux-x64" >&2

id predastore >/dev/null 2>&1 || useradd --system --home-dir /var/lib/predastore --shell /usr/sbin/nologin predastore
mkdir -p /opt/predastore.new /etc/predastore /var/lib/predastore
cp -R "$BUNDLE"/. /opt/predastore.new/
rm -rf /opt/predastore.old
[ -d /opt/predastore ] && mv /opt/predastore /opt/predastore.old
mv /opt/predastore.new /opt/predastore
install -m 0640 -o root -g predastore "$CONFIG" /etc/predastore/cluster.toml
if [ -n "$TLS_DIR" ]; then
  mkdir -p /etc/predastore/tls
  cp -R "$TLS_DIR"/. /etc/predastore/tls/
  chown -R root:predastore /etc/predastore/tls
  chmod -R u=rwX,g=rX,o= /etc/predastore/tls
fi
FLAGS="-node $NODE -port $PORT"
[ -n "$DB_NODE" ] && FLAGS="$FLAGS -db-node $DB_NODE"
printf 'S3D_ROLE_FLAGS=%s\n' "$FLAGS" > /etc/predastore/s3d.env
chown -R predastore:predastore /var/lib/predastore
install -m 0644 /opt/predastore/host/predastore-s3d.service /etc/systemd/system/predastore-s3d.service
systemctl daemon-reload
systemctl enable predastore-s3d.service
systemctl restart predastore-s3d.service
echo "install.sh: predastore-s3d running as $FLAGS (journalctl -u predastore-s3d -f)"

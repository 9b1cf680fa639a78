// What s3d prints once S3 requests succeed. Pure.
import type { StartPlan } from '../shared/config/plan.ts';

export function readyLines(plan: StartPlan, url: string): string[] {
  const lines = [`s3d: ready: S3 endpoint ${url}`];
  const auth = plan.config.auth[0];
  if (auth === undefined) {
    lines.push('s3d:   no [[auth]] entries: only anonymous requests to public buckets are served');
  } else {
    // The secret is shown only for dev mode, whose whole cluster is this machine and its config file.
    const secret = plan.mode === 'dev' ? `, secret access key ${auth.secretAccessKey}` : '';
    lines.push(`s3d:   access key id ${auth.accessKeyId}${secret}, region ${plan.config.region}`);
    if (plan.config.auth.length > 1)
      lines.push(`s3d:   ${plan.config.auth.length - 1} more access key(s) in ${plan.config.file}`);
  }
  lines.push(`s3d:   e.g. aws --endpoint-url ${url} s3 ls`);
  return lines;
}

// The gateway's request metrics as CloudWatch Embedded Metric Format (EMF) log lines, for the Lambda
// gateway, which cannot be scraped: requests are gathered per (operation, HTTP status) and written
// as one JSON line per group at the end of each invocation; CloudWatch Logs turns each line into
// metric data points (namespace `Predastore/Gateway`, dimensions Operation + Status).
// Format: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
import type { RequestSample } from './gateway-metrics.ts';
import { statusLabel } from './labels.ts';

export const EMF_NAMESPACE = 'Predastore/Gateway';

/** Metric names and units of every line (the values are top-level members of the line). */
export const EMF_METRICS = [
  { Name: 'Requests', Unit: 'Count' },
  { Name: 'Errors', Unit: 'Count' },
  { Name: 'Latency', Unit: 'Milliseconds' },
  { Name: 'BytesIn', Unit: 'Bytes' },
  { Name: 'BytesOut', Unit: 'Bytes' },
] as const;

/** EMF allows at most 100 values in one metric array. */
const MAX_VALUES = 100;

export interface EmfLine {
  _aws: {
    Timestamp: number;
    CloudWatchMetrics: {
      Namespace: string;
      Dimensions: string[][];
      Metrics: { Name: string; Unit: string }[];
    }[];
  };
  Operation: string;
  Status: string;
  Requests: number;
  Errors: number;
  /** One value per request (milliseconds), or a single number for one request. */
  Latency: number | number[];
  BytesIn: number;
  BytesOut: number;
  /** Extra properties (not metrics): e.g. the function name; searchable in CloudWatch Logs. */
  [property: string]: unknown;
}

interface Group {
  operation: string;
  status: string;
  requests: number;
  errors: number;
  latencies: number[];
  bytesIn: number;
  bytesOut: number;
}

export class EmfRecorder {
  private groups = new Map<string, Group>();

  constructor(
    private readonly properties: Readonly<Record<string, string>> = {},
    private readonly namespace = EMF_NAMESPACE,
  ) {}

  record(sample: RequestSample): void {
    const status = statusLabel(sample.status);
    const id = `${sample.operation}\u0000${status}`;
    let group = this.groups.get(id);
    if (group === undefined) {
      group = {
        operation: sample.operation,
        status,
        requests: 0,
        errors: 0,
        latencies: [],
        bytesIn: 0,
        bytesOut: 0,
      };
      this.groups.set(id, group);
    }
    group.requests++;
    if (sample.status >= 500) group.errors++;
    // Beyond 100 values the latency array stops growing; Requests still counts every request.
    if (group.latencies.length < MAX_VALUES) group.latencies.push(Math.round(sample.seconds * 1e6) / 1e3);
    group.bytesIn += sample.bytesIn;
    group.bytesOut += sample.bytesOut;
  }

  /** Requests recorded since the last flush. */
  get pending(): number {
    let n = 0;
    for (const g of this.groups.values()) n += g.requests;
    return n;
  }

  /** The EMF lines (JSON text, one per group) of everything recorded since the last flush. */
  flush(now = Date.now()): string[] {
    const groups = [...this.groups.values()];
    this.groups = new Map();
    return groups.map((g) => {
      const line: EmfLine = {
        ...this.properties,
        _aws: {
          Timestamp: now,
          CloudWatchMetrics: [
            {
              Namespace: this.namespace,
              Dimensions: [['Operation', 'Status']],
              Metrics: EMF_METRICS.map((m) => ({ ...m })),
            },
          ],
        },
        Operation: g.operation,
        Status: g.status,
        Requests: g.requests,
        Errors: g.errors,
        Latency: g.latencies.length === 1 ? (g.latencies[0] as number) : g.latencies,
        BytesIn: g.bytesIn,
        BytesOut: g.bytesOut,
      };
      return JSON.stringify(line);
    });
  }
}

// For the project-wide `tsc -p .` only (tsconfig includes infra/): the SST/Pulumi globals these
// components use exist only after `npx sst install`. `npm run sst:check` type-checks the same
// files against the real platform types (infra/sst/tsconfig.json does not include this file).
/* eslint-disable @typescript-eslint/no-explicit-any */
declare const sst: any;
declare const aws: any;
declare const $app: { name: string; stage: string };
declare function $interpolate(strings: TemplateStringsArray, ...values: unknown[]): any;
declare function $jsonStringify(value: unknown): any;
declare function $resolve(values: unknown[]): any;
declare const $util: any;

// Entry of the single-file appliance bundle (dist/appliance/s3d.mjs): the s3d command without tsx.
// A dev cluster re-runs this same file for its children (bin/run.ts resolves ./s3d.mjs next to it).
import { main } from '../bin/s3d.ts';

const code = await main(process.argv.slice(2), process.env);
process.exitCode = code;
// Everything s3d started is closed by now; a handle some library left open must not keep us alive.
setTimeout(() => process.exit(code), 2000).unref();

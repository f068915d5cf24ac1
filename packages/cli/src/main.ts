// The process entry of the `halftone` command (bin/halftone.js imports the built file). All
// behaviour lives in run(); this file only connects it to the process.
import { run } from './run.js';

process.exitCode = await run(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
});

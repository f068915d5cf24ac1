// Loaded into the server child with `node --import ./bench/profile-hook.mjs …` when
// BENCH_PROFILE=DIR is set: each SIGUSR2 toggles the V8 CPU profiler, and every stop writes
// DIR/check-N.cpuprofile. check.bench.mjs toggles it around the check rounds only, so the profile
// shows the check path and not the data load. Summarise with `node bench/profile-top.mjs FILE`.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import path from 'node:path';

const dir = process.env.BENCH_PROFILE_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  const post = (method, params) =>
    new Promise((resolve, reject) => session.post(method, params, (err, res) => (err ? reject(err) : resolve(res))));
  let running = false;
  let n = 0;
  let busy = Promise.resolve();
  process.on('SIGUSR2', () => {
    busy = busy.then(async () => {
      if (!running) {
        await post('Profiler.enable');
        await post('Profiler.setSamplingInterval', { interval: 200 });
        await post('Profiler.start');
        running = true;
      } else {
        const { profile } = await post('Profiler.stop');
        running = false;
        writeFileSync(path.join(dir, `check-${++n}.cpuprofile`), JSON.stringify(profile));
      }
    }, (err) => process.stderr.write(`profile-hook: ${err}\n`));
  });
}

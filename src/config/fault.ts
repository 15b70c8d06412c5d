// Fault injection for scenario tests: MEGALOG_FAULT="point:N" kills the process with SIGKILL the Nth
// time `point` is reached (e.g. "commit:3" inside the 3rd commit transaction). Unset in production.
import { faultSpec } from './load.js';

const spec = faultSpec();
let hits = 0;

export function fault(point: string): void {
  if (!spec || spec.point !== point) return;
  if (++hits === spec.n) process.kill(process.pid, 'SIGKILL');
}

/** Path (a): straight to the target services, the baseline for every ratio. */
import type { PathSpec } from './path.js';

export const directPath: PathSpec = {
  id: 'a',
  label: 'direct',
  start: async (targets) => ({
    iperfPort: targets.iperf,
    echoPort: targets.echo,
    notes: [],
    health: () => undefined,
    stop: async () => {},
  }),
};

/** Resolves on SIGINT/SIGTERM; other signals run their handlers (e.g. SIGHUP reload). */
export function untilSignal(handlers: Partial<Record<NodeJS.Signals, () => void>> = {}): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals) => () => {
      for (const [s, h] of Object.entries(handlers)) process.off(s, h);
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      resolve(signal);
    };
    const onInt = stop('SIGINT');
    const onTerm = stop('SIGTERM');
    process.once('SIGINT', onInt);
    process.once('SIGTERM', onTerm);
    for (const [s, h] of Object.entries(handlers)) process.on(s, h);
  });
}

// Structured logging: one JSON line per event on stdout (errors on stderr).

export type Logger = (event: string, fields?: Record<string, unknown>) => void;

export const jsonLogger: Logger = (event, fields = {}) => {
  const line = JSON.stringify({ time: new Date().toISOString(), event, ...fields });
  if (event.endsWith("error") || event.endsWith("failed")) process.stderr.write(`${line}\n`);
  else process.stdout.write(`${line}\n`);
};

export const silentLogger: Logger = () => {};

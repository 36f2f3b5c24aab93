// Structured logging through pino: one JSON line per event ({level, time, event, ...fields}), info and below on
// stdout, warnings and errors on stderr; the call sites name events, middleware/access-log.ts adds the access lines.
import pino, { type DestinationStream, type Level, type LevelWithSilent } from "pino";

/** Logs one event; `event` is the line's name, `fields` its data (a requestId among them when there is one). */
export interface Logger {
  (event: string, fields?: Record<string, unknown>): void;
  /** The pino logger underneath, when there is one (the access lines are written through it). */
  readonly pino?: pino.Logger;
}

/** The level an event is logged at: failures are errors, a few conditions warnings, the rest info. */
export function eventLevel(event: string): Level {
  if (event.endsWith("error") || event.endsWith("failed")) return "error";
  if (event.endsWith("_aborted") || event.endsWith("_forced") || event === "not_ready") {
    return "warn";
  }
  if (event.endsWith("_skipped")) return "debug";
  return "info";
}

const OPTIONS: pino.LoggerOptions = {
  messageKey: "event",
  base: undefined,
  timestamp: pino.stdTimeFunctions.isoTime,
  formatters: { level: (label) => ({ level: label }) },
};

/** Wraps a pino logger as a Logger. */
export function fromPino(logger: pino.Logger): Logger & { pino: pino.Logger } {
  const log = (event: string, fields: Record<string, unknown> = {}) => {
    const level = eventLevel(event);
    if (logger.isLevelEnabled(level)) logger[level](fields, event);
  };
  return Object.assign(log, { pino: logger });
}

/**
 * Logs a step at debug level, through pino only: function loggers (tests that follow the story of
 * reload_started / reload_done) do not see the steps in between.
 */
export function logStep(log: Logger, event: string, fields: Record<string, unknown> = {}): void {
  if (log.pino?.isLevelEnabled("debug")) log.pino.debug(fields, event);
}

/** The pino logger of `log`, or one whose lines come back to `log` as events (a plain function logger). */
export function pinoOf(log: Logger, level: LevelWithSilent = "trace"): pino.Logger {
  if (log.pino) return log.pino;
  const back: DestinationStream = {
    write(line: string) {
      const { event, ...fields } = JSON.parse(line);
      log(String(event), fields);
    },
  };
  return pino({ ...OPTIONS, level }, back);
}

/** A Logger writing to `destination` (tests read its lines), or to stdout/stderr by level. */
export function createLogger(
  level: LevelWithSilent = "info",
  destination?: DestinationStream,
): Logger {
  const stream =
    destination ??
    pino.multistream(
      [
        { level: "trace", stream: pino.destination({ fd: 1, sync: true }) },
        { level: "warn", stream: pino.destination({ fd: 2, sync: true }) },
      ],
      { dedupe: true },
    );
  return fromPino(pino({ ...OPTIONS, level }, stream));
}

/** Logs at info to stdout/stderr (the service before its config is read, and scripts). */
export const jsonLogger: Logger = createLogger("info");

/** Logs nothing. */
export const silentLogger: Logger = fromPino(pino({ ...OPTIONS, level: "silent" }));

// The minimal logger the gRPC platform writes to; services pass their own (actor/run tagged) logger.
export interface GrpcLog {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

function line(level: string, message: string, fields?: Record<string, unknown>): string {
  const safe = Object.fromEntries(
    Object.entries(fields ?? {}).map(([k, v]) => [k, v instanceof Error ? { message: v.message, stack: v.stack } : v]),
  );
  return JSON.stringify({ level, msg: message, ...safe });
}

/** JSON lines on stderr. */
export const stderrLog: GrpcLog = {
  info: (m, f) => console.error(line('info', m, f)),
  warn: (m, f) => console.error(line('warn', m, f)),
  error: (m, f) => console.error(line('error', m, f)),
};

export const silentLog: GrpcLog = { info: () => {}, warn: () => {}, error: () => {} };

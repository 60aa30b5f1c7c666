/**
 * The slice of pino's API the event backbone logs through: a service passes its own pino logger
 * (or Fastify's `app.log`), so every line lands where the service's do, in the same format.
 */
export interface EventLogger {
  debug(object: object, message?: string): void;
  info(object: object, message?: string): void;
  warn(object: object, message?: string): void;
  error(object: object, message?: string): void;
}

const ignore = () => {};

export const silentLogger: EventLogger = { debug: ignore, info: ignore, warn: ignore, error: ignore };

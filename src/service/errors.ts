// Typed HTTP errors and the one mapping from any thrown error to a status and {error: {code, message}}.

export class HttpError extends Error {
  override name = "HttpError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export const unprocessable = (code: string, message: string) => new HttpError(422, code, message);
export const notFound = (message: string) => new HttpError(404, "not_found", message);
export const notReady = (message = "models are not loaded yet") =>
  new HttpError(503, "not_ready", message);
export const unsupportedType = (message: string) => new HttpError(415, "unsupported_type", message);

/** Multer's error codes (MulterError.code) and how a client should read them. */
const MULTER_STATUS: Record<string, [number, string]> = {
  LIMIT_FILE_SIZE: [413, "too_large"],
  LIMIT_PART_COUNT: [413, "too_large"],
  LIMIT_FIELD_VALUE: [413, "too_large"],
  LIMIT_FILE_COUNT: [422, "too_many_files"],
  LIMIT_FIELD_COUNT: [422, "unexpected_field"],
  LIMIT_FIELD_KEY: [422, "unexpected_field"],
  LIMIT_UNEXPECTED_FILE: [422, "unexpected_field"],
  MISSING_FIELD_NAME: [422, "unexpected_field"],
};

interface ErrorLike {
  name?: string;
  message?: string;
  code?: string;
  type?: string;
  status?: number;
  field?: string;
}

/** Maps anything thrown to an HttpError; unknown errors become a 500 without internals. */
export function toHttpError(thrown: unknown): HttpError {
  if (thrown instanceof HttpError) return thrown;
  const e = (thrown ?? {}) as ErrorLike;
  const message = e.message ?? String(thrown);
  if (e.name === "ImageError") {
    return new HttpError(e.status ?? 400, e.code ?? "undecodable", message);
  }
  if (e.name === "MulterError" && e.code && MULTER_STATUS[e.code]) {
    const [status, code] = MULTER_STATUS[e.code];
    const detail = e.field ? `${message} (field "${e.field}")` : message;
    return new HttpError(status, code, detail);
  }
  if (e.type === "entity.too.large") return new HttpError(413, "too_large", message);
  if (e.type === "entity.parse.failed") return new HttpError(400, "bad_json", message);
  if (e.type === "encoding.unsupported" || e.type === "charset.unsupported") {
    return new HttpError(415, "unsupported_type", message);
  }
  if (typeof e.status === "number" && e.status >= 400 && e.status < 500) {
    return new HttpError(e.status, e.type ?? "bad_request", message);
  }
  if (message.startsWith("Multipart: ") || message === "Unexpected end of form") {
    return new HttpError(400, "bad_multipart", message);
  }
  return new HttpError(500, "internal", "internal error");
}

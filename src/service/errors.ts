// Typed HTTP errors and the one mapping from any thrown error to a status and {error: {code, message}}.

export class HttpError extends Error {
  override name = "HttpError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Extra response headers (Retry-After on a 503). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const badRequest = (code: string, message: string) => new HttpError(400, code, message);
export const unprocessable = (code: string, message: string) => new HttpError(422, code, message);
export const notFound = (message: string) => new HttpError(404, "not_found", message);
export const notReady = (message = "models are not loaded yet") =>
  new HttpError(503, "not_ready", message);
export const unsupportedType = (message: string) => new HttpError(415, "unsupported_type", message);
export const tooLarge = (code: string, message: string) => new HttpError(413, code, message);

/** nginx's status for a request the client gave up on: never sent (the socket is gone), only logged and counted. */
export const CLIENT_CLOSED_STATUS = 499;
export const clientClosed = () =>
  new HttpError(
    CLIENT_CLOSED_STATUS,
    "client_closed_request",
    "the client closed the connection before the request was complete",
  );

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
  LIMIT_FIELD_NESTING: [422, "unexpected_field"],
  LIMIT_FIELD_ARRAY_INDEX: [422, "unexpected_field"],
  INVALID_FIELD_NAME: [422, "unexpected_field"],
  STREAM_DESTROYED: [400, "bad_multipart"],
};

/** busboy's messages for a body that is not well-formed multipart (all the client's doing). */
const MALFORMED_MULTIPART = [
  /^Multipart: /,
  /^Malformed part header$/,
  /^Malformed content type$/,
  /^Missing Content-Type$/,
  /^Unsupported content type: /,
  /^Unexpected end of (form|file)$/,
];

/** How multer (Request aborted/closed), node (ECONNRESET "aborted") and raw-body report a client abort. */
function isClientAbort(e: ErrorLike): boolean {
  if (e.type === "request.aborted") return true;
  if (e.code === "ECONNRESET" && e.message === "aborted") return true;
  return e.message === "Request aborted" || e.message === "Request closed";
}

interface ErrorLike {
  name?: string;
  message?: string;
  code?: string;
  type?: string;
  status?: number;
  field?: string;
  retryAfterSeconds?: number;
}

/** Maps anything thrown to an HttpError; unknown errors become a 500 without internals. */
export function toHttpError(thrown: unknown): HttpError {
  if (thrown instanceof HttpError) return thrown;
  const e = (thrown ?? {}) as ErrorLike;
  const message = e.message ?? String(thrown);
  if (isClientAbort(e)) return clientClosed();
  if (e.name === "EngineUnavailableError") {
    const retryAfter = String(e.retryAfterSeconds ?? 1);
    return new HttpError(503, e.code ?? "unavailable", message, { "retry-after": retryAfter });
  }
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
  if (MALFORMED_MULTIPART.some((pattern) => pattern.test(message))) {
    return new HttpError(400, "bad_multipart", `malformed multipart body: ${message}`);
  }
  return new HttpError(500, "internal", "internal error");
}

// Reads an infer request body: a byte limit checked before and while reading, any Content-Type the protocol's
// clients send (none, JSON, octet-stream), and the binary tensor data extension's JSON header + tensor bytes.
import type { Request } from "express";
import { badRequest, HttpError, unsupportedType } from "../errors.js";

export interface InferBody {
  /** The JSON inference request (the whole body, or the header the binary extension's length names). */
  json: Buffer;
  /** The bytes after the JSON header (binary tensor data extension); empty without it. */
  binary: Buffer;
}

/** Bytes a JSON number may take in a reasonably written body ("-0.123456789012345678e-10, " plus spacing). */
const JSON_BYTES_PER_VALUE = 32;
const JSON_SLACK_BYTES = 64 * 1024;

/** The largest body a valid request to a model taking `maxElements` numbers can need, JSON or binary. */
export function inferBodyLimit(maxElements: number): number {
  return maxElements * JSON_BYTES_PER_VALUE + JSON_SLACK_BYTES;
}

const ACCEPTED = ["application/json", "application/octet-stream"];

const tooLarge = (limit: number) =>
  new HttpError(
    413,
    "too_large",
    `request body exceeds ${limit} bytes, the most a valid tensor needs`,
  );

/** A 413 that also closes the connection, so the unread rest of the body is never read. */
function refuse(req: Request, limit: number): HttpError {
  req.res?.setHeader("Connection", "close");
  return tooLarge(limit);
}

function readRaw(req: Request, limit: number): Promise<Buffer> {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(refuse(req, limit));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        req.pause();
        reject(refuse(req, limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = () => {
      cleanup();
      // The client went away mid-body: its doing, not a server error.
      reject(badRequest("client_aborted", "the client aborted the request body"));
    };
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
  });
}

function headerLength(req: Request, total: number): number | undefined {
  const value = req.headers["inference-header-content-length"];
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(String(value)) || n > total) {
    throw badRequest(
      "bad_header",
      `Inference-Header-Content-Length: ${value} is not a byte count within the ${total}-byte body`,
    );
  }
  return n;
}

/**
 * Reads and splits the body. A body over `limit` is refused with 413 before (Content-Length) or as soon as
 * (chunked) the limit is crossed; `limit` fits the largest valid tensor, which keeps JSON.parse short.
 */
export async function readInferBody(req: Request, limit: number): Promise<InferBody> {
  const type = req.headers["content-type"];
  const mediaType = type?.split(";")[0].trim().toLowerCase();
  if (mediaType !== undefined && !ACCEPTED.includes(mediaType)) {
    throw unsupportedType(`content type ${type} is not accepted; send ${ACCEPTED.join(" or ")}`);
  }
  const encoding = req.headers["content-encoding"];
  if (encoding !== undefined && encoding.toLowerCase() !== "identity") {
    throw unsupportedType(
      `Content-Encoding ${encoding} is not supported; send the body uncompressed`,
    );
  }
  const raw = await readRaw(req, limit);
  const jsonBytes = headerLength(req, raw.length) ?? raw.length;
  return { json: raw.subarray(0, jsonBytes), binary: raw.subarray(jsonBytes) };
}

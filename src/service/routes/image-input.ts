// Reads the uploaded image(s) of a request: multipart fields `image` / `images`, or a raw image body.
import express, {
  type NextFunction,
  type Request,
  type RequestHandler,
  type Response,
} from "express";
import multer from "multer";
import { type Config, requestByteLimit, requestPixelLimit } from "../../config.js";
import { declaredPixels } from "../../data/image.js";
import { tooLarge, unprocessable, unsupportedType } from "../errors.js";
import { boundedBody } from "./body-limit.js";

export type UploadLimits = Pick<
  Config,
  | "maxUploadBytes"
  | "maxImagesPerRequest"
  | "maxImagePixels"
  | "maxRequestBytes"
  | "maxRequestPixels"
>;

export interface ImageUpload {
  images: Buffer[];
  /** True when the client used the `images` field: the answer is an array. */
  many: boolean;
}

const isMultipart = (req: Request) => req.is("multipart/form-data") === "multipart/form-data";
const isImage = (req: Request) => typeof req.is("image/*") === "string";
const isJson = (req: Request) => req.is("application/json") === "application/json";

/**
 * Body parsing for image endpoints: multer (memory, size-limited, no text fields) for multipart,
 * a size-limited raw buffer for image/* bodies, and JSON when `json` is set; anything else is 415.
 * A multipart body is bounded in all by requestByteLimit; a raw or JSON body by the smaller limit.
 */
export function imageBody(limits: UploadLimits, json = false): RequestHandler[] {
  const requestBytes = requestByteLimit(limits);
  const bodyBytes = Math.min(limits.maxUploadBytes, requestBytes);
  const multipart = multer({
    storage: multer.memoryStorage(),
    limits: {
      fileSize: limits.maxUploadBytes,
      files: limits.maxImagesPerRequest,
      fields: 0,
      parts: limits.maxImagesPerRequest,
    },
  }).fields([
    { name: "image", maxCount: 1 },
    { name: "images", maxCount: limits.maxImagesPerRequest },
  ]);
  const upload = boundedBody(requestBytes, multipart);
  // raw-body bounds these itself (Content-Length first, then the bytes read) at one image's size.
  const raw = express.raw({ type: () => true, limit: bodyBytes });
  const parseJson = express.json({ limit: bodyBytes, strict: true });
  const none = (_req: Request, _res: Response, next: NextFunction) => next();
  return [
    (req, res, next) => {
      if (!req.headers["content-type"] && !hasBody(req)) return none(req, res, next);
      if (isMultipart(req)) return upload(req, res, next);
      if (isImage(req)) return raw(req, res, next);
      if (json && isJson(req)) return parseJson(req, res, next);
      const allowed = json
        ? "multipart/form-data, image/*, or application/json"
        : "multipart/form-data or image/*";
      next(
        unsupportedType(
          `content type ${req.headers["content-type"] ?? "(none)"} is not accepted; send ${allowed}`,
        ),
      );
    },
  ];
}

function hasBody(req: Request): boolean {
  const length = req.headers["content-length"];
  return req.headers["transfer-encoding"] !== undefined || (length !== undefined && length !== "0");
}

type Files = Record<string, Express.Multer.File[]> | undefined;

/** The uploaded images, in order, or a 422 naming what is missing. */
export function uploadedImages(req: Request): ImageUpload {
  if (isMultipart(req)) {
    const files = req.files as Files;
    const single = files?.image ?? [];
    const many = files?.images ?? [];
    if (single.length && many.length) {
      throw unprocessable(
        "unexpected_field",
        'send either one "image" field or several "images" fields, not both',
      );
    }
    if (!single.length && !many.length) {
      throw unprocessable(
        "missing_field",
        'multipart body has no "image" (or "images") file field',
      );
    }
    return many.length
      ? { images: many.map((f) => f.buffer), many: true }
      : { images: [single[0].buffer], many: false };
  }
  if (Buffer.isBuffer(req.body)) {
    if (req.body.length === 0) throw unprocessable("missing_field", "the request body is empty");
    return { images: [req.body], many: false };
  }
  throw unprocessable(
    "missing_field",
    'no image: send multipart field "image" (or "images"), or the image bytes with an image/* content type',
  );
}

/**
 * uploadedImages, refused with 413 when the sizes their headers declare add up to more pixels than
 * one request may decode (requestPixelLimit): checked before any image is decoded.
 */
export async function requestImages(req: Request, limits: UploadLimits): Promise<ImageUpload> {
  const upload = uploadedImages(req);
  const limit = requestPixelLimit(limits);
  const sizes = await Promise.all(upload.images.map((bytes) => declaredPixels(bytes)));
  const total = sizes.reduce((a, b) => a + b, 0);
  if (total > limit) {
    throw tooLarge(
      "too_many_pixels",
      `the request's ${sizes.length} image(s) declare ${total} pixels in all, more than the ${limit} allowed per request (--max-request-pixels)`,
    );
  }
  return upload;
}

export function isJsonRequest(req: Request): boolean {
  return isJson(req);
}

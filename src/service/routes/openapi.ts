// GET /openapi.json: the service's OpenAPI 3.1 contract, built once.
import { Router } from "express";
import { openApiDocument } from "../openapi/document.js";

export function openApiRouter(): Router {
  const router = Router();
  const document = openApiDocument();
  router.get("/openapi.json", (_req, res) => {
    res.json(document);
  });
  return router;
}

// Reads a cgnn ONNX model's metadata from its bytes or file without starting a session, so the
// exporter and the scripts need no onnxruntime to check what a file holds; errors name the file.
import { readFile } from "node:fs/promises";
import { type OnnxModelMetadata, propsToMetadata } from "./metadata.js";
import { decodeModel } from "./proto.js";

/** Parses a model file's bytes and cgnn metadata; errors name the file. */
export function readOnnxMetadata(bytes: Uint8Array, path: string): OnnxModelMetadata {
  let props: { key?: string | null; value?: string | null }[];
  try {
    const model = decodeModel(bytes);
    if (!model.graph) throw new Error("no graph");
    props = model.metadataProps ?? [];
  } catch (error) {
    throw new Error(
      `${path}: not a valid ONNX model, the file is corrupted or truncated (${(error as Error).message})`,
    );
  }
  return propsToMetadata(props, path);
}

/** Reads only the metadata of a model file (no session). */
export async function readOnnxModelMetadata(path: string): Promise<OnnxModelMetadata> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new Error(`${path}: cannot read ONNX model (${(error as Error).message})`);
  }
  return readOnnxMetadata(bytes, path);
}

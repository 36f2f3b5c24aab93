// Infer body decoding, inline and in the worker thread: values lifted out of the JSON, walks capped by the
// shape, errors kept for after the header checks, and bad JSON refused as the client's fault.
import assert from "node:assert/strict";
import { test } from "node:test";
import { HttpError } from "../src/service/errors.js";
import { decodeInferJson } from "../src/service/kserve/decode.js";
import { decodeInferBody, OFF_LOOP_BYTES } from "../src/service/kserve/decode-off-loop.js";

function body(n: number, data: unknown = undefined) {
  const values = Array.from({ length: n * 784 }, (_, i) => (i % 97) / 97);
  const input = { name: "input", shape: [n, 28, 28, 1], datatype: "FP32", data: data ?? values };
  return { bytes: Buffer.from(JSON.stringify({ id: "x", inputs: [input] })), values };
}

test("a large body is decoded in the worker, a small one inline, to the same values and JSON", async () => {
  const large = body(8);
  const small = body(1);
  assert.ok(large.bytes.length >= OFF_LOOP_BYTES && small.bytes.length < OFF_LOOP_BYTES);
  for (const { bytes, values } of [large, small]) {
    // Inline decoding resolves before any timer can run; the worker's answer comes in a later turn.
    let turned = false;
    setTimeout(() => {
      turned = true;
    }, 0);
    const decoded = await decodeInferBody(bytes, 8 * 784);
    assert.equal(turned, bytes === large.bytes, "large bodies leave the event loop free meanwhile");
    assert.deepEqual(decoded.json, {
      id: "x",
      inputs: [{ name: "input", shape: [values.length / 784, 28, 28, 1], datatype: "FP32" }],
    });
    const [tensor] = decoded.tensors;
    assert.ok(tensor && "values" in tensor);
    assert.deepEqual(Array.from(tensor.values), Array.from(Float32Array.from(values)));
    assert.deepEqual(decodeInferJson(bytes, 8 * 784).json, decoded.json);
  }
});

test("walk errors are kept per input; bad JSON is a 400 from the worker too", async () => {
  const nested = body(
    8,
    Array.from({ length: 30_000 }, () => []),
  );
  assert.ok(nested.bytes.length >= OFF_LOOP_BYTES);
  const decoded = await decodeInferBody(nested.bytes, 8 * 784);
  assert.match(
    (decoded.tensors[0] as { error: string }).error,
    /nested deeper or wider than its shape/,
  );
  const oversize = body(9);
  const skipped = await decodeInferBody(oversize.bytes, 8 * 784);
  assert.match((skipped.tensors[0] as { error: string }).error, /data not read/);
  for (const bytes of [
    Buffer.from("{nope"),
    Buffer.from(`{"inputs": [${" ".repeat(OFF_LOOP_BYTES)}`),
  ]) {
    await assert.rejects(decodeInferBody(bytes, 784), (e: unknown) => {
      assert.ok(e instanceof HttpError);
      assert.equal(e.status, 400);
      assert.equal(e.code, "bad_json");
      return true;
    });
  }
});
